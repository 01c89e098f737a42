import Foundation
import QuarryCore
import QuarryStore
import QuarryTestSupport
import Testing

/// Usage counters on both backends: they add up under concurrent adds from several connections,
/// and they are still there when the store is opened again.
@Suite struct UsageStoreTests {
    func usageStore(_ fixture: StoreFixture) async throws -> any ChunkStore & UsageStore {
        try await fixture.open()
    }

    @Test(arguments: StoreBackend.allCases)
    func addsAccumulatePerTenantAndPeriod(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await usageStore(fixture)
        #expect(try await store.usage(tenant: "acme", period: "2026-12") == UsageRecord(tenant: "acme", period: "2026-12"))
        try await store.addUsage(tenant: "acme", period: "2026-12", requests: 1, tokens: 1200, cost: 0.25)
        try await store.addUsage(tenant: "acme", period: "2026-12", requests: 2, tokens: 800, cost: 1.5)
        try await store.addUsage(tenant: "acme", period: "2027-01", requests: 1, tokens: 5, cost: 0)
        try await store.addUsage(tenant: "globex", period: "2026-12", requests: 1, tokens: 7, cost: 0.125)
        #expect(
            try await store.usage(tenant: "acme", period: "2026-12")
                == UsageRecord(tenant: "acme", period: "2026-12", requests: 3, tokens: 2000, cost: 1.75)
        )
        #expect(try await store.listUsage(tenant: nil, period: nil) == [
            UsageRecord(tenant: "acme", period: "2026-12", requests: 3, tokens: 2000, cost: 1.75),
            UsageRecord(tenant: "acme", period: "2027-01", requests: 1, tokens: 5, cost: 0),
            UsageRecord(tenant: "globex", period: "2026-12", requests: 1, tokens: 7, cost: 0.125),
        ])
        #expect(try await store.listUsage(tenant: "acme", period: nil).map(\.period) == ["2026-12", "2027-01"])
        #expect(try await store.listUsage(tenant: nil, period: "2026-12").map(\.tenant) == ["acme", "globex"])
        #expect(try await store.listUsage(tenant: "globex", period: "2027-01").isEmpty)
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func concurrentAddsFromTwoConnectionsAllCount(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        // Two handles on the same store: two processes, or two nodes of a PostgreSQL deployment.
        let first = try await usageStore(fixture)
        let second = try await usageStore(fixture)
        // Eight writers per handle, each adding in turn: as many concurrent adds as a handle has
        // connections, so none of them waits in a pool queue behind a hundred others (on a loaded
        // machine that wait, not the counting, is what a test of 200 simultaneous adds measured).
        let writers = 16
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                let store = writer.isMultiple(of: 2) ? first : second
                group.addTask {
                    for index in stride(from: writer, to: 200, by: writers) {
                        try await store.addUsage(tenant: "acme", period: "2026-12", requests: 1, tokens: Int64(index), cost: 0.25)
                    }
                }
            }
            try await group.waitForAll()
        }
        let total = try await first.usage(tenant: "acme", period: "2026-12")
        #expect(total == UsageRecord(tenant: "acme", period: "2026-12", requests: 200, tokens: Int64(199 * 200 / 2), cost: 50))
        await first.close()
        await second.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func countersSurviveReopeningTheStore(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await usageStore(fixture)
        try await store.addUsage(tenant: "acme", period: "2026-12", requests: 4, tokens: 999_999, cost: 4.5)
        await store.close()
        let reopened = try await usageStore(fixture)
        #expect(
            try await reopened.usage(tenant: "acme", period: "2026-12")
                == UsageRecord(tenant: "acme", period: "2026-12", requests: 4, tokens: 999_999, cost: 4.5)
        )
        try await reopened.addUsage(tenant: "acme", period: "2026-12", requests: 1, tokens: 1, cost: 0.5)
        #expect(try await reopened.usage(tenant: "acme", period: "2026-12").tokens == 1_000_000)
        await reopened.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func badPeriodsAndNegativeAmountsAreRefused(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await usageStore(fixture)
        for period in ["2026-13", "2026-1", "2026/12", "", "2026-12-01"] {
            await #expect(throws: QuarryError.self, "\(period)") {
                try await store.addUsage(tenant: "acme", period: period, requests: 1, tokens: 1, cost: 0)
            }
            await #expect(throws: QuarryError.self, "\(period)") { try await store.usage(tenant: "acme", period: period) }
        }
        for (requests, tokens, cost) in [(Int64(-1), Int64(0), 0.0), (0, -1, 0), (0, 0, -0.5), (0, 0, .nan), (0, 0, .infinity)] {
            await #expect(throws: QuarryError.self) {
                try await store.addUsage(tenant: "acme", period: "2026-12", requests: requests, tokens: tokens, cost: cost)
            }
        }
        #expect(try await store.listUsage(tenant: nil, period: nil).isEmpty)
        await store.close()
    }
}
