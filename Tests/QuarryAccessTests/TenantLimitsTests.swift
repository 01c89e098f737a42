import QuarryAccess
import QuarryCore
import Testing

@Suite struct IngestJobLimiterTests {
    func refusal(_ body: () throws -> Void) -> LimitExceeded? {
        do {
            try body()
            return nil
        } catch {
            return LimitExceeded.find(in: error)
        }
    }

    @Test func aTenantAtItsLimitGetsNoMoreJobsUntilOneEnds() throws {
        let limiter = IngestJobLimiter()
        let first = try limiter.acquire(tenant: "acme", limit: 2)
        let second = try limiter.acquire(tenant: "acme", limit: 2)
        #expect(limiter.jobs(tenant: "acme") == 2)
        let refused = try #require(refusal { _ = try limiter.acquire(tenant: "acme", limit: 2) })
        #expect(refused.limit == .ingestJobs)
        #expect(refused.retryAfter == nil)
        #expect(refused.message.hasPrefix("tenant 'acme' already has 2 ingest jobs queued or running, as many as its limit allows"))
        // Another tenant counts its own.
        let other = try limiter.acquire(tenant: "globex", limit: 1)
        #expect(refusal { _ = try limiter.acquire(tenant: "globex", limit: 1) }?.message.contains("already has 1 ingest job queued") == true)

        first.release()
        first.release()
        #expect(limiter.jobs(tenant: "acme") == 1)
        let third = try limiter.acquire(tenant: "acme", limit: 2)
        #expect(limiter.jobs(tenant: "acme") == 2)
        second.release()
        third.release()
        other.release()
        #expect(limiter.jobs(tenant: "acme") == 0)
        #expect(limiter.jobs(tenant: "globex") == 0)
    }

    @Test func aDroppedSlotReleasesItself() throws {
        let limiter = IngestJobLimiter()
        do {
            let slot = try limiter.acquire(tenant: "acme", limit: 1)
            #expect(slot.tenant == "acme")
            #expect(limiter.jobs(tenant: "acme") == 1)
        }
        #expect(limiter.jobs(tenant: "acme") == 0)
        _ = try limiter.acquire(tenant: "acme", limit: 1)
    }

    @Test func withoutALimitJobsAreCountedButNeverRefused() throws {
        let limiter = IngestJobLimiter()
        let slots = try (0..<50).map { _ in try limiter.acquire(tenant: "acme", limit: nil) }
        #expect(limiter.jobs(tenant: "acme") == 50)
        // A limit lowered below the running jobs refuses new ones.
        #expect(refusal { _ = try limiter.acquire(tenant: "acme", limit: 10) }?.limit == .ingestJobs)
        slots.forEach { $0.release() }
        #expect(limiter.jobs(tenant: "acme") == 0)
    }

    @Test func concurrentAcquiresNeverExceedTheLimit() async throws {
        let limiter = IngestJobLimiter()
        let slots = await withTaskGroup(of: IngestJobSlot?.self) { group in
            for _ in 0..<64 { group.addTask { try? limiter.acquire(tenant: "acme", limit: 5) } }
            var slots: [IngestJobSlot] = []
            for await slot in group { if let slot { slots.append(slot) } }
            return slots
        }
        #expect(slots.count == 5)
        #expect(limiter.jobs(tenant: "acme") == 5)
    }
}

@Suite struct StorageLimitTests {
    @Test func aWriteThatWouldPassTheLimitIsRefused() throws {
        try StorageLimit.check(tenant: "acme", currentChunks: 99_000, newChunks: 1_000, limit: 100_000)
        try StorageLimit.check(tenant: "acme", currentChunks: 5, newChunks: 1_000_000, limit: nil)
        do {
            try StorageLimit.check(tenant: "acme", currentChunks: 99_800, newChunks: 450, limit: 100_000)
            Issue.record("accepted")
        } catch let error as QuarryError {
            #expect(error.code == .rateLimited)
            #expect(
                error.message == "tenant 'acme' may store 100000 chunks; it stores 99800 and this would add 450 (100250 in all). "
                    + "Delete documents or collections, or move the tenant to a larger tier"
            )
            #expect(LimitExceeded.find(in: error)?.limit == .maxChunks)
            #expect(LimitExceeded.find(in: error)?.retryAfter == nil)
        }
    }

    @Test func writesThatDoNotGrowATenantAlwaysPass() throws {
        try StorageLimit.check(tenant: "acme", currentChunks: 200, newChunks: 0, limit: 100)
        try StorageLimit.check(tenant: "acme", currentChunks: 200, newChunks: -50, limit: 100)
        #expect(throws: QuarryError.self) { try StorageLimit.check(tenant: "acme", currentChunks: 200, newChunks: 1, limit: 100) }
        #expect(throws: QuarryError.self) { try StorageLimit.check(tenant: "acme", currentChunks: .max, newChunks: 1, limit: .max) }
    }
}
