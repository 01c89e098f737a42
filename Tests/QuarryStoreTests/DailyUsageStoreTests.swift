import Foundation
import QuarryCore
import QuarryStore
import QuarryTestSupport
import Testing

/// Usage per tenant, key, model and day on both backends: adds accumulate per row, listings and
/// totals cover an inclusive range of days, concurrent adds from several connections all count,
/// the counters survive a reopen, and malformed days and amounts are refused.
@Suite struct DailyUsageStoreTests {
    static func usage(
        _ tenant: String, _ keyID: String, _ model: String, _ day: String, requests: Int64 = 1, prompt: Int64 = 0, completion: Int64 = 0,
        embedding: Int64 = 0, cost: Double = 0
    ) -> DailyUsageRecord {
        DailyUsageRecord(
            tenant: tenant, keyID: keyID, model: model, day: day, requests: requests, promptTokens: prompt, completionTokens: completion,
            embeddingTokens: embedding, cost: cost
        )
    }

    @Test(arguments: StoreBackend.allCases)
    func addsAccumulateAndListByDayTenantKeyAndModel(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        try await store.addDailyUsage(Self.usage("acme", "k1", "gpt-a", "2026-12-01", prompt: 100, completion: 20, cost: 0.25))
        try await store.addDailyUsage(Self.usage("acme", "k1", "gpt-a", "2026-12-01", requests: 2, prompt: 50, completion: 5, cost: 0.5))
        try await store.addDailyUsage(Self.usage("acme", "k1", "minilm", "2026-12-01", embedding: 900))
        try await store.addDailyUsage(Self.usage("acme", "", "gpt-a", "2026-12-02", prompt: 7, completion: 3, cost: 0.125))
        try await store.addDailyUsage(Self.usage("acme", "k2", "gpt-b", "2026-12-31", prompt: 1, cost: 1))
        try await store.addDailyUsage(Self.usage("globex", "k9", "gpt-a", "2026-12-02", prompt: 4, cost: 2))
        try await store.addDailyUsage(Self.usage("acme", "k1", "gpt-a", "2027-01-01", prompt: 1_000, cost: 8))

        let december = try await store.listDailyUsage(tenant: nil, keyID: nil, from: "2026-12-01", through: "2026-12-31")
        #expect(december == [
            Self.usage("acme", "k1", "gpt-a", "2026-12-01", requests: 3, prompt: 150, completion: 25, cost: 0.75),
            Self.usage("acme", "k1", "minilm", "2026-12-01", embedding: 900),
            Self.usage("acme", "", "gpt-a", "2026-12-02", prompt: 7, completion: 3, cost: 0.125),
            Self.usage("globex", "k9", "gpt-a", "2026-12-02", prompt: 4, cost: 2),
            Self.usage("acme", "k2", "gpt-b", "2026-12-31", prompt: 1, cost: 1),
        ])
        // Both ends of the range are included; a one-day range is that day.
        #expect(try await store.listDailyUsage(tenant: "acme", keyID: nil, from: "2026-12-02", through: "2026-12-02").map(\.keyID) == [""])
        #expect(
            try await store.listDailyUsage(tenant: "acme", keyID: nil, from: "2026-12-31", through: "2027-01-01").map(\.day)
                == ["2026-12-31", "2027-01-01"]
        )
        #expect(
            try await store.listDailyUsage(tenant: "acme", keyID: "k1", from: "2026-01-01", through: "2027-12-31").map(\.model)
                == ["gpt-a", "minilm", "gpt-a"]
        )
        #expect(try await store.listDailyUsage(tenant: nil, keyID: "k9", from: "2026-12-01", through: "2026-12-31").map(\.tenant) == ["globex"])
        #expect(try await store.listDailyUsage(tenant: "globex", keyID: nil, from: "2027-01-01", through: "2027-01-31").isEmpty)
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func totalsSumEveryModelOverTheRange(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        try await store.addDailyUsage(Self.usage("acme", "k1", "gpt-a", "2026-11-30", prompt: 1_000, completion: 1_000, cost: 100))
        try await store.addDailyUsage(Self.usage("acme", "k1", "gpt-a", "2026-12-01", prompt: 100, completion: 20, cost: 0.25))
        try await store.addDailyUsage(Self.usage("acme", "k1", "minilm", "2026-12-15", embedding: 900))
        try await store.addDailyUsage(Self.usage("acme", "k2", "gpt-b", "2026-12-31", requests: 2, prompt: 10, completion: 2, cost: 1.5))
        try await store.addDailyUsage(Self.usage("acme", "k2", "gpt-b", "2027-01-01", prompt: 1_000, cost: 100))
        try await store.addDailyUsage(Self.usage("globex", "k1", "gpt-a", "2026-12-10", prompt: 1_000, cost: 100))

        let month = try await store.dailyUsageTotal(tenant: "acme", keyID: nil, from: "2026-12-01", through: "2026-12-31")
        #expect(month == DailyUsageRecord(
            tenant: "acme", keyID: "", model: "", day: "", requests: 4, promptTokens: 110, completionTokens: 22, embeddingTokens: 900,
            cost: 1.75
        ))
        #expect(month.llmTokens == 132)
        let key = try await store.dailyUsageTotal(tenant: "acme", keyID: "k2", from: "2026-12-01", through: "2026-12-31")
        #expect(key == DailyUsageRecord(tenant: "acme", keyID: "k2", model: "", day: "", requests: 2, promptTokens: 10, completionTokens: 2, cost: 1.5))
        let day = try await store.dailyUsageTotal(tenant: "acme", keyID: nil, from: "2026-12-15", through: "2026-12-15")
        #expect(day.requests == 1 && day.embeddingTokens == 900 && day.cost == 0)
        // Nothing used: zeros, not an error.
        #expect(
            try await store.dailyUsageTotal(tenant: "initech", keyID: nil, from: "2026-12-01", through: "2026-12-31")
                == DailyUsageRecord(tenant: "initech", model: "", day: "")
        )
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func concurrentAddsFromTwoConnectionsAllCount(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        // Two handles on the same store: two processes, or two nodes of a PostgreSQL deployment.
        let first = try await fixture.open()
        let second = try await fixture.open()
        // Sixteen writers, eight per handle (as many as a handle has connections), 200 adds in all.
        let writers = 16
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                let store = writer.isMultiple(of: 2) ? first : second
                group.addTask {
                    for index in stride(from: writer, to: 200, by: writers) {
                        try await store.addDailyUsage(
                            Self.usage("acme", "k1", "gpt-a", "2026-12-01", prompt: Int64(index), completion: 1, embedding: 2, cost: 0.25)
                        )
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(
            try await first.listDailyUsage(tenant: "acme", keyID: "k1", from: "2026-12-01", through: "2026-12-01")
                == [Self.usage("acme", "k1", "gpt-a", "2026-12-01", requests: 200, prompt: Int64(199 * 200 / 2), completion: 200, embedding: 400, cost: 50)]
        )
        await first.close()
        await second.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func countersSurviveReopeningTheStore(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        try await store.addDailyUsage(Self.usage("acme", "k1", "gpt-a", "2026-12-01", requests: 4, prompt: 999_999, cost: 4.5))
        await store.close()
        let reopened = try await fixture.open()
        try await reopened.addDailyUsage(Self.usage("acme", "k1", "gpt-a", "2026-12-01", prompt: 1, cost: 0.5))
        #expect(
            try await reopened.listDailyUsage(tenant: "acme", keyID: nil, from: "2026-12-01", through: "2026-12-01")
                == [Self.usage("acme", "k1", "gpt-a", "2026-12-01", requests: 5, prompt: 1_000_000, cost: 5)]
        )
        await reopened.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func badDaysRangesAndAmountsAreRefused(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        let badDays = [
            "2026-02-29", "2100-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-12-00", "2026-12-32", "2026-1-01", "2026-12-1",
            "2026/12/01", "2026-12-01T00", "20261201", "", "abcd-12-01", "２０２６-12-01", "+026-12-01",
        ]
        for day in badDays {
            await #expect(throws: QuarryError.self, "\(day)") { try await store.addDailyUsage(Self.usage("acme", "k1", "m", day)) }
            await #expect(throws: QuarryError.self, "\(day)") {
                _ = try await store.listDailyUsage(tenant: nil, keyID: nil, from: day, through: "2026-12-31")
            }
            await #expect(throws: QuarryError.self, "\(day)") {
                _ = try await store.dailyUsageTotal(tenant: "acme", keyID: nil, from: "2026-01-01", through: day)
            }
        }
        // Leap days that exist are days.
        for day in ["2028-02-29", "2000-02-29", "2026-12-31", "2026-04-30"] {
            try await store.addDailyUsage(Self.usage("acme", "k1", "m", day, requests: 0))
        }
        await #expect(throws: QuarryError.self, "a range that ends before it starts") {
            _ = try await store.listDailyUsage(tenant: nil, keyID: nil, from: "2026-12-02", through: "2026-12-01")
        }
        let negatives = [
            Self.usage("acme", "k1", "m", "2026-12-01", requests: -1), Self.usage("acme", "k1", "m", "2026-12-01", prompt: -1),
            Self.usage("acme", "k1", "m", "2026-12-01", completion: -1), Self.usage("acme", "k1", "m", "2026-12-01", embedding: -1),
            Self.usage("acme", "k1", "m", "2026-12-01", cost: -0.5), Self.usage("acme", "k1", "m", "2026-12-01", cost: .nan),
            Self.usage("acme", "k1", "m", "2026-12-01", cost: .infinity),
        ]
        for record in negatives {
            await #expect(throws: QuarryError.self, "\(record)") { try await store.addDailyUsage(record) }
        }
        #expect(try await store.listDailyUsage(tenant: nil, keyID: nil, from: "2026-12-01", through: "2026-12-01").isEmpty)
        #expect(try await store.listDailyUsage(tenant: nil, keyID: nil, from: "2000-01-01", through: "2028-12-31").count == 4)
        await store.close()
    }
}
