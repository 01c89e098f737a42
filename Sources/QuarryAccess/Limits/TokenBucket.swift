import QuarryCore

/// A request rate: a bucket that holds `burst` requests and refills at `rate` requests a second.
public struct RateLimit: Sendable, Hashable {
    /// Requests per second the bucket refills at.
    public let rate: Double
    /// Requests the bucket holds: how many may arrive at once after a quiet spell.
    public let burst: Int

    /// Creates a rate limit.
    /// - Throws: `QuarryError(.invalidRequest)` when `rate` is not a positive finite number or
    ///   `burst` is less than 1.
    public init(rate: Double, burst: Int) throws {
        guard rate.isFinite, rate > 0 else {
            throw QuarryError(.invalidRequest, "a rate limit needs a positive number of requests per second, got \(rate)")
        }
        guard burst >= 1 else {
            throw QuarryError(.invalidRequest, "a rate limit needs a burst of at least 1 request, got \(burst)")
        }
        self.rate = rate
        self.burst = burst
    }

    /// Seconds an empty bucket takes to fill, rounded up (at least 1): the window over which the
    /// bucket grants `burst` requests, `w` of the `RateLimit-Policy` header.
    public var windowSeconds: Int { max(1, WholeSeconds.roundedUp(Double(burst) / rate)) }
}

/// A token bucket: it holds up to `burst` tokens, refills at `rate` tokens a second, and a
/// request takes `cost` tokens or waits until there are enough.
///
/// A value type that knows no clock: every call says what time it is, from a `MonotonicClock`
/// (`RateLimiter` reads one; tests pass instants by hand).
public struct TokenBucket: Sendable, Hashable {
    /// What `take(cost:at:)` decided.
    public enum Outcome: Sendable, Hashable {
        /// The tokens were taken.
        case allowed
        /// Not enough tokens: `wait` from now there will be.
        case denied(wait: Duration)
        /// `cost` is more than the bucket can ever hold; waiting does not help.
        case exceedsBurst
    }

    /// Slack for floating-point refills: 2.9999999999 tokens are 3.
    static let tolerance = 1e-9

    /// The rate and burst.
    public let limit: RateLimit
    /// Tokens as of `updatedAt`.
    public private(set) var tokens: Double
    /// When `tokens` was last brought up to date.
    public private(set) var updatedAt: MonotonicInstant

    /// A full bucket at `now`.
    public init(limit: RateLimit, at now: MonotonicInstant) {
        self.limit = limit
        self.tokens = Double(limit.burst)
        self.updatedAt = now
    }

    /// The tokens at `now`, refilled for the time since `updatedAt` (an instant before it counts
    /// as no time at all).
    public func available(at now: MonotonicInstant) -> Double {
        let elapsed = max(0, now.seconds(since: updatedAt))
        return min(Double(limit.burst), tokens + elapsed * limit.rate)
    }

    /// Whole requests the bucket would grant at `now`.
    public func remaining(at now: MonotonicInstant) -> Int {
        min(limit.burst, Int((available(at: now) + Self.tolerance).rounded(.down)))
    }

    /// Whether the bucket is full at `now`, so that it is no different from a new one.
    public func isFull(at now: MonotonicInstant) -> Bool {
        available(at: now) + Self.tolerance >= Double(limit.burst)
    }

    /// Time from `now` until `remaining` grows by one: the client can use no more than
    /// `remaining` requests before then (`t` of the `RateLimit` header). For a full bucket, the
    /// time one token takes to come back.
    public func timeUntilNextToken(at now: MonotonicInstant) -> Duration {
        let tokens = available(at: now)
        let whole = (tokens + Self.tolerance).rounded(.down)
        return .seconds(max(0, whole + 1 - tokens) / limit.rate)
    }

    /// Time from `now` until the bucket is full again.
    public func timeUntilFull(at now: MonotonicInstant) -> Duration {
        .seconds(max(0, Double(limit.burst) - available(at: now)) / limit.rate)
    }

    /// Takes `cost` tokens at `now` when there are enough.
    /// - Parameters:
    ///   - cost: tokens the request takes; a negative cost counts as 0 (it never adds tokens).
    ///   - now: the current instant.
    /// - Returns: `.allowed`, or how long until `cost` tokens are there, or `.exceedsBurst`.
    public mutating func take(cost: Int = 1, at now: MonotonicInstant) -> Outcome {
        refill(at: now)
        let cost = max(0, cost)
        guard cost <= limit.burst else { return .exceedsBurst }
        let needed = Double(cost)
        if tokens + Self.tolerance >= needed {
            tokens = max(0, tokens - needed)
            return .allowed
        }
        return .denied(wait: .seconds((needed - tokens) / limit.rate))
    }

    /// The same bucket under another limit: the tokens it has at `now`, capped at the new burst.
    public func changed(to limit: RateLimit, at now: MonotonicInstant) -> TokenBucket {
        var bucket = TokenBucket(limit: limit, at: max(now, updatedAt))
        bucket.tokens = min(Double(limit.burst), available(at: now))
        return bucket
    }

    private mutating func refill(at now: MonotonicInstant) {
        tokens = available(at: now)
        updatedAt = max(updatedAt, now)
    }
}
