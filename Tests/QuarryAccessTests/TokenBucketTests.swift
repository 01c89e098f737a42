import QuarryAccess
import QuarryCore
import Testing

@Suite struct TokenBucketTests {
    let start = MonotonicInstant.origin

    func at(_ seconds: Double) -> MonotonicInstant { start.advanced(by: .seconds(seconds)) }

    @Test func aFullBucketGrantsItsBurstThenRefillsAtItsRate() throws {
        var bucket = TokenBucket(limit: try RateLimit(rate: 2, burst: 4), at: start)
        #expect(bucket.remaining(at: start) == 4)
        for expected in [3, 2, 1, 0] {
            #expect(bucket.take(at: start) == .allowed)
            #expect(bucket.remaining(at: start) == expected)
        }
        // Empty: one token comes back every half second.
        #expect(bucket.take(at: start) == .denied(wait: .seconds(0.5)))
        #expect(bucket.take(at: at(0.25)) == .denied(wait: .seconds(0.25)))
        #expect(bucket.available(at: at(0.25)) == 0.5)
        #expect(bucket.timeUntilNextToken(at: at(0.25)) == .seconds(0.25))
        #expect(bucket.timeUntilFull(at: at(0.25)) == .seconds(1.75))
        #expect(bucket.take(at: at(0.5)) == .allowed)
        #expect(bucket.remaining(at: at(0.5)) == 0)
        // Refilling stops at the burst, however long the bucket waits.
        #expect(bucket.remaining(at: at(1.5)) == 2)
        #expect(bucket.available(at: at(1000)) == 4)
        #expect(bucket.isFull(at: at(2.5)))
        #expect(!bucket.isFull(at: at(2.25)))
    }

    @Test func costsTakeSeveralTokensAndACostAboveTheBurstNeverPasses() throws {
        var bucket = TokenBucket(limit: try RateLimit(rate: 1, burst: 5), at: start)
        #expect(bucket.take(cost: 3, at: start) == .allowed)
        #expect(bucket.take(cost: 3, at: start) == .denied(wait: .seconds(1)))
        #expect(bucket.take(cost: 6, at: at(100)) == .exceedsBurst)
        #expect(bucket.take(cost: 0, at: at(100)) == .allowed)
        #expect(bucket.take(cost: -5, at: at(100)) == .allowed)
        #expect(bucket.remaining(at: at(100)) == 5)
    }

    @Test func aClockThatGoesBackRefillsNothing() throws {
        var bucket = TokenBucket(limit: try RateLimit(rate: 1, burst: 2), at: at(10))
        #expect(bucket.take(at: at(10)) == .allowed)
        #expect(bucket.take(at: at(10)) == .allowed)
        #expect(bucket.take(at: at(5)) == .denied(wait: .seconds(1)))
        #expect(bucket.updatedAt == at(10))
        #expect(bucket.take(at: at(11)) == .allowed)
    }

    @Test func fullBucketsReportTheTimeOneTokenTakes() throws {
        let bucket = TokenBucket(limit: try RateLimit(rate: 4, burst: 8), at: start)
        #expect(bucket.timeUntilNextToken(at: start) == .seconds(0.25))
        #expect(bucket.timeUntilFull(at: start) == .zero)
    }

    @Test func changingTheLimitKeepsTheTokensUpToTheNewBurst() throws {
        var bucket = TokenBucket(limit: try RateLimit(rate: 1, burst: 10), at: start)
        #expect(bucket.take(cost: 4, at: start) == .allowed)
        let smaller = bucket.changed(to: try RateLimit(rate: 1, burst: 3), at: start)
        #expect(smaller.remaining(at: start) == 3)
        let larger = bucket.changed(to: try RateLimit(rate: 1, burst: 20), at: start)
        #expect(larger.remaining(at: start) == 6)
        #expect(larger.limit.burst == 20)
    }

    @Test func ratesMustBePositiveAndBurstsAtLeastOne() throws {
        for (rate, burst) in [(0.0, 1), (-1.0, 1), (Double.nan, 1), (Double.infinity, 1), (1.0, 0), (1.0, -3)] {
            #expect(throws: QuarryError.self, "\(rate) \(burst)") { try RateLimit(rate: rate, burst: burst) }
        }
        #expect(try RateLimit(rate: 20, burst: 40).windowSeconds == 2)
        #expect(try RateLimit(rate: 3, burst: 10).windowSeconds == 4)
        #expect(try RateLimit(rate: 100, burst: 1).windowSeconds == 1)
        // One request a century still fits a header.
        #expect(try RateLimit(rate: 1e-300, burst: 1).windowSeconds == 1_000_000_000)
    }
}
