import QuarryAccess
import QuarryCore
import Testing

@Suite struct RateLimiterTests {
    @Test func decisionsCarryTheDraftValues() throws {
        let clock = ManualClock()
        let limiter = RateLimiter(clock: clock)
        let limit = try RateLimit(rate: 20, burst: 40)
        var decision = limiter.check(key: "k1", limit: limit)
        #expect(decision.isAllowed)
        #expect(decision.limit == 40)
        #expect(decision.remaining == 39)
        #expect(decision.resetSeconds == 1)
        #expect(decision.policy == RateLimitPolicy(name: "burst", quota: 40, windowSeconds: 2))
        #expect(decision.retryAfter == nil)
        for _ in 0..<27 { decision = limiter.check(key: "k1", limit: limit) }
        #expect(decision.remaining == 12)
        #expect(RateLimitHeaders.fields(for: decision).map(\.description) == [
            "RateLimit-Policy: \"burst\";q=40;w=2", "RateLimit: \"burst\";r=12;t=1",
        ])
        // 0.1 s later, two tokens came back.
        clock.advance(by: .milliseconds(100))
        #expect(limiter.check(key: "k1", limit: limit).remaining == 13)
    }

    @Test func anEmptyBucketIsRefusedUntilItsNextToken() throws {
        let clock = ManualClock()
        let limiter = RateLimiter(clock: clock)
        let limit = try RateLimit(rate: 0.5, burst: 2)
        #expect(limiter.check(key: "k", limit: limit).remaining == 1)
        #expect(limiter.check(key: "k", limit: limit).remaining == 0)
        var denied = limiter.check(key: "k", limit: limit)
        #expect(!denied.isAllowed)
        #expect(denied.retryAfter == .seconds(2))
        #expect(denied.remaining == 0)
        #expect(denied.resetSeconds == 2)
        #expect(RateLimitHeaders.fields(for: denied).map(\.description) == [
            "RateLimit-Policy: \"burst\";q=2;w=4", "RateLimit: \"burst\";r=0;t=2", "Retry-After: 2",
        ])
        clock.advance(by: .milliseconds(1500))
        denied = limiter.check(key: "k", limit: limit)
        #expect(!denied.isAllowed)
        #expect(denied.retryAfter == .seconds(0.5))
        #expect(denied.resetSeconds == 1)
        #expect(RateLimitHeaders.fields(for: denied).last?.description == "Retry-After: 1")
        let exceeded = try #require(LimitExceeded(denied, keyID: "0123456789abcdef"))
        #expect(exceeded.limit == .rate)
        #expect(exceeded.message == "key '0123456789abcdef' is over its rate limit (0.5 requests per second, burst 2); retry in 1 s")
        #expect(throws: QuarryError.self) { try denied.requireAllowed(keyID: "0123456789abcdef") }
        clock.advance(by: .milliseconds(500))
        let allowed = limiter.check(key: "k", limit: limit)
        #expect(allowed.isAllowed)
        #expect(allowed.remaining == 0)
        #expect(allowed.resetSeconds == 2)
        #expect(LimitExceeded(allowed, keyID: "k") == nil)
        try allowed.requireAllowed(keyID: "k")
    }

    @Test func keysHaveBucketsOfTheirOwn() throws {
        let limiter = RateLimiter(clock: ManualClock())
        let limit = try RateLimit(rate: 1, burst: 1)
        #expect(limiter.check(key: "a", limit: limit).isAllowed)
        #expect(!limiter.check(key: "a", limit: limit).isAllowed)
        #expect(limiter.check(key: "b", limit: limit).isAllowed)
        #expect(limiter.trackedKeys == 2)
    }

    @Test func aChangedLimitAppliesAtOnceAndKeepsWhatWasUsed() throws {
        let limiter = RateLimiter(clock: ManualClock())
        for _ in 0..<5 { _ = limiter.check(key: "a", limit: try RateLimit(rate: 1, burst: 10)) }
        #expect(limiter.check(key: "a", limit: try RateLimit(rate: 1, burst: 20)).remaining == 4)
        #expect(limiter.check(key: "a", limit: try RateLimit(rate: 1, burst: 2)).remaining == 1)
    }

    @Test func aCostAboveTheBurstIsRefusedWithoutRetryAfter() throws {
        let limiter = RateLimiter(clock: ManualClock(), policyName: "requests")
        let decision = limiter.check(key: "a", limit: try RateLimit(rate: 1, burst: 3), cost: 4)
        #expect(!decision.isAllowed)
        #expect(decision.retryAfter == nil)
        #expect(decision.remaining == 3)
        #expect(RateLimitHeaders.fields(for: decision).map(\.name) == ["RateLimit-Policy", "RateLimit"])
        #expect(decision.policy.name == "requests")
        let exceeded = try #require(LimitExceeded(decision, keyID: "a"))
        #expect(exceeded.retryAfter == nil)
        #expect(exceeded.message.contains("more than key 'a' may send at once"))
    }

    @Test func idleBucketsAreDroppedOnceFullAndBusyOnesKept() throws {
        let clock = ManualClock()
        let limiter = RateLimiter(clock: clock, sweepInterval: .seconds(60))
        let limit = try RateLimit(rate: 1, burst: 100)
        for index in 0..<50 { _ = limiter.check(key: "idle\(index)", limit: limit) }
        #expect(limiter.trackedKeys == 50)
        clock.advance(by: .seconds(30))
        for _ in 0..<100 { _ = limiter.check(key: "busy", limit: limit) }
        // 61 s after the first requests: a sweep is due; the idle buckets refilled after 1 s,
        // the busy one (empty 31 s ago) has 31 of its 100 tokens.
        clock.advance(by: .seconds(31))
        let decision = limiter.check(key: "other", limit: limit)
        #expect(decision.remaining == 99)
        #expect(limiter.trackedKeys == 2)
        #expect(limiter.check(key: "busy", limit: limit).remaining == 30)
        // A dropped key starts again with a full bucket, exactly as if it had been kept.
        #expect(limiter.check(key: "idle7", limit: limit).remaining == 99)
        clock.advance(by: .seconds(200))
        limiter.sweep()
        #expect(limiter.trackedKeys == 0)
    }

    @Test func aTableThatDoublesIsSweptBeforeTheTimerIsDue() throws {
        let clock = ManualClock()
        let limiter = RateLimiter(clock: clock, sweepInterval: .seconds(3600))
        let limit = try RateLimit(rate: 10, burst: 1)
        for index in 0..<1024 { _ = limiter.check(key: "k\(index)", limit: limit) }
        #expect(limiter.trackedKeys == 1024)
        clock.advance(by: .seconds(1))
        _ = limiter.check(key: "new", limit: limit)
        #expect(limiter.trackedKeys == 1)
    }

    @Test func concurrentRequestsNeverGetMoreThanTheBurst() async throws {
        let limiter = RateLimiter(clock: ManualClock())
        let limit = try RateLimit(rate: 1, burst: 500)
        let allowed = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<100).reduce(0) { count, _ in count + (limiter.check(key: "shared", limit: limit).isAllowed ? 1 : 0) } }
            }
            return await group.reduce(0, +)
        }
        #expect(allowed == 500)
        #expect(limiter.check(key: "shared", limit: limit).remaining == 0)
    }
}
