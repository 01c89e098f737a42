import Foundation
import QuarryAccess
import QuarryCore
import QuarryStore
import Synchronization
import Testing

@Suite struct DeferredDailyUsageCounterTests {
    let day = UsageDay(containing: Date(timeIntervalSince1970: 1_797_336_000))

    func embedding(_ tokens: Int64) -> DailyUsageAmount {
        DailyUsageAmount(requests: 1, embeddingTokens: tokens)
    }

    /// Many small additions are one write per counter, made by the flush; until then they are
    /// counted from memory, and after it from the store, never twice. An LLM call's `add` is
    /// written at once.
    @Test func heldBackAdditionsCountAtOnceAndReachTheStoreTogether() async throws {
        let store = MemoryDailyUsageStore()
        let counter = DeferredDailyUsageCounter(base: StoreDailyUsageCounter(store: store))
        for _ in 0..<50 { try await counter.addSoon(embedding(7), tenant: "acme", keyID: "k1", model: "minilm", day: day) }
        try await counter.addSoon(embedding(3), tenant: "acme", keyID: "k2", model: "minilm", day: day)
        try await counter.addSoon(.zero, tenant: "acme", keyID: "k3", model: "minilm", day: day)
        try await counter.add(DailyUsageAmount(requests: 1, promptTokens: 10), tenant: "acme", keyID: "k1", model: "chat", day: day)
        #expect(store.rows.map(\.model) == ["chat"])
        #expect(counter.heldBack == 2)
        let k1 = try await counter.used(tenant: "acme", keyID: "k1", from: day, through: day)
        #expect(k1.embeddingTokens == 350 && k1.requests == 51 && k1.promptTokens == 10)
        #expect(try await counter.used(tenant: "acme", keyID: nil, from: day, through: day).embeddingTokens == 353)
        #expect(try await counter.used(tenant: "beta", keyID: nil, from: day, through: day) == .zero)
        #expect(try await counter.used(tenant: "acme", keyID: nil, from: day.adding(days: 1), through: day.adding(days: 1)) == .zero)

        try await counter.flush()
        #expect(counter.heldBack == 0)
        let rows = store.rows.filter { $0.model == "minilm" }
        #expect(rows.map(\.keyID) == ["k1", "k2"])
        #expect(rows.map(\.embeddingTokens) == [350, 3] && rows.map(\.requests) == [50, 1])
        #expect(try await counter.used(tenant: "acme", keyID: "k1", from: day, through: day) == k1)
        try await counter.flush()
        #expect(store.rows.filter { $0.model == "minilm" } == rows, "nothing left to write twice")
    }

    /// A store that refuses the write keeps nothing from being counted: the amount is held back
    /// again (with what was added since) and written by the next flush that can.
    @Test func aFailedWriteIsHeldBackForTheNextFlush() async throws {
        let store = MemoryDailyUsageStore()
        let failures = Mutex(0)
        let counter = DeferredDailyUsageCounter(base: StoreDailyUsageCounter(store: store)) { _ in failures.withLock { $0 += 1 } }
        try await counter.addSoon(embedding(5), tenant: "acme", keyID: "k1", model: "minilm", day: day)
        try await counter.addSoon(embedding(6), tenant: "acme", keyID: "k2", model: "minilm", day: day)
        store.makeReadOnly()
        await #expect(throws: QuarryError.self) { try await counter.flush() }
        #expect(failures.withLock { $0 } == 1, "one failure reported, not one per counter")
        #expect(counter.heldBack == 2 && store.rows.isEmpty)
        try await counter.addSoon(embedding(4), tenant: "acme", keyID: "k1", model: "minilm", day: day)
        #expect(try await counter.used(tenant: "acme", keyID: nil, from: day, through: day).embeddingTokens == 15)
        store.makeWritable()
        try await counter.flush()
        #expect(store.rows.map(\.embeddingTokens) == [9, 6])
        #expect(try await counter.used(tenant: "acme", keyID: nil, from: day, through: day).embeddingTokens == 15)
    }

    /// Flushes that overlap write everything between them, whatever order they finish in.
    @Test func concurrentAdditionsAndFlushesLoseNothing() async throws {
        let store = MemoryDailyUsageStore()
        let counter = DeferredDailyUsageCounter(base: StoreDailyUsageCounter(store: store))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for index in 0..<100 {
                        try await counter.addSoon(embedding(1), tenant: "acme", keyID: "k\(writer % 3)", model: "minilm", day: day)
                        if index % 10 == 0 { try await counter.flush() }
                    }
                }
            }
            try await group.waitForAll()
        }
        try await counter.flush()
        #expect(store.rows.reduce(0) { $0 + $1.embeddingTokens } == 800)
        #expect(store.rows.reduce(0) { $0 + $1.requests } == 800)
        #expect(try await counter.used(tenant: "acme", keyID: nil, from: day, through: day).embeddingTokens == 800)
    }
}
