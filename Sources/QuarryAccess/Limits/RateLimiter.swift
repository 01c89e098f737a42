import Synchronization

/// Per-key request rates: a token bucket for each key id, behind one lock.
///
/// Memory stays bounded by the keys that are busy: a bucket that has been idle long enough to
/// be full again is no different from a new one, so sweeps drop it. A sweep runs when
/// `sweepInterval` has passed since the last one, or when the table has doubled since then, so
/// its cost is spread over the requests that grew it. Buckets live in this process only: a
/// restart, or another node, starts every key with a full bucket (request rates may reset; the
/// monthly quotas that guard money are in the store).
public final class RateLimiter: Sendable {
    /// The policy name the headers use when none is given.
    public static let defaultPolicyName = "burst"

    /// The name of the policy in `RateLimit` and `RateLimit-Policy`.
    public let policyName: String
    private let clock: any MonotonicClock
    private let sweepInterval: Duration
    private let state: Mutex<State>

    private struct State {
        var buckets: [String: TokenBucket] = [:]
        var lastSweep: MonotonicInstant
        var sweepAtCount: Int
    }

    /// The table size below which only the timer triggers sweeps.
    static let minimumSweepCount = 1024

    /// Creates a limiter.
    /// - Parameters:
    ///   - clock: where the time comes from (tests pass a clock they drive by hand).
    ///   - policyName: the policy's name in the headers.
    ///   - sweepInterval: how often full buckets are dropped at the latest.
    public init(
        clock: any MonotonicClock = SystemMonotonicClock(), policyName: String = RateLimiter.defaultPolicyName,
        sweepInterval: Duration = .seconds(60)
    ) {
        self.clock = clock
        self.policyName = policyName
        self.sweepInterval = sweepInterval
        self.state = Mutex(State(lastSweep: clock.now(), sweepAtCount: Self.minimumSweepCount))
    }

    /// Takes `cost` requests from the bucket of `key` under `limit`.
    ///
    /// A key seen for the first time starts with a full bucket. When `limit` differs from the
    /// one the key's bucket was made with (the key or its tier changed), the bucket keeps its
    /// tokens, capped at the new burst.
    /// - Parameters:
    ///   - key: the key's id (never its secret).
    ///   - limit: the key's effective rate and burst.
    ///   - cost: requests this one counts for.
    /// - Returns: whether the request may go ahead, and what the headers say.
    public func check(key: String, limit: RateLimit, cost: Int = 1) -> RateLimitDecision {
        let now = clock.now()
        return state.withLock { state in
            sweepIfDue(&state, at: now)
            var bucket = state.buckets[key].map { $0.limit == limit ? $0 : $0.changed(to: limit, at: now) }
                ?? TokenBucket(limit: limit, at: now)
            let outcome = bucket.take(cost: cost, at: now)
            state.buckets[key] = bucket
            return decision(outcome, bucket, at: now)
        }
    }

    /// How many keys have a bucket: the ones that made a request and whose bucket was not full
    /// at the last sweep (for metrics and tests).
    public var trackedKeys: Int {
        state.withLock { $0.buckets.count }
    }

    /// Drops the buckets that are full now, whether or not a sweep is due.
    public func sweep() {
        let now = clock.now()
        state.withLock { sweep(&$0, at: now) }
    }

    private func sweepIfDue(_ state: inout State, at now: MonotonicInstant) {
        if state.buckets.count >= state.sweepAtCount || now.sinceOrigin - state.lastSweep.sinceOrigin >= sweepInterval {
            sweep(&state, at: now)
        }
    }

    private func sweep(_ state: inout State, at now: MonotonicInstant) {
        state.buckets = state.buckets.filter { !$0.value.isFull(at: now) }
        state.lastSweep = now
        state.sweepAtCount = max(Self.minimumSweepCount, 2 * state.buckets.count)
    }

    private func decision(_ outcome: TokenBucket.Outcome, _ bucket: TokenBucket, at now: MonotonicInstant) -> RateLimitDecision {
        let policy = RateLimitPolicy(name: policyName, quota: bucket.limit.burst, windowSeconds: bucket.limit.windowSeconds)
        let serviceLimit = ServiceLimit(
            policy: policyName, remaining: bucket.remaining(at: now),
            resetSeconds: max(1, bucket.timeUntilNextToken(at: now).wholeSecondsRoundedUp)
        )
        let (allowed, retryAfter): (Bool, Duration?) =
            switch outcome {
            case .allowed: (true, nil)
            case .denied(let wait): (false, wait)
            case .exceedsBurst: (false, nil)
            }
        return RateLimitDecision(
            isAllowed: allowed, policy: policy, serviceLimit: serviceLimit, retryAfter: retryAfter, rateLimit: bucket.limit
        )
    }
}
