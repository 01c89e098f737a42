/// A quota policy as the `RateLimit-Policy` header states it: `quota` requests per
/// `windowSeconds`.
public struct RateLimitPolicy: Sendable, Hashable {
    /// The policy's name, which `RateLimit` items refer to (`"burst"`).
    public var name: String
    /// Requests the policy allows in its window (`q`).
    public var quota: Int
    /// The window in seconds (`w`); `nil` when it has no fixed length.
    public var windowSeconds: Int?

    /// Creates a policy.
    public init(name: String, quota: Int, windowSeconds: Int? = nil) {
        self.name = name
        self.quota = quota
        self.windowSeconds = windowSeconds
    }
}

/// What is left under one policy, as the `RateLimit` header states it.
public struct ServiceLimit: Sendable, Hashable {
    /// The policy's name.
    public var policy: String
    /// Quota still available (`r`).
    public var remaining: Int
    /// Seconds within which the client can use no more than `remaining` (`t`); `nil` to leave
    /// it out.
    public var resetSeconds: Int?

    /// Creates a service limit.
    public init(policy: String, remaining: Int, resetSeconds: Int? = nil) {
        self.policy = policy
        self.remaining = remaining
        self.resetSeconds = resetSeconds
    }
}

/// What `RateLimiter.check` decided for one request, with everything the `RateLimit`,
/// `RateLimit-Policy` and `Retry-After` headers say.
public struct RateLimitDecision: Sendable, Hashable {
    /// Whether the request may go ahead.
    public var isAllowed: Bool
    /// The key's policy: its burst, over the time an empty bucket takes to fill.
    public var policy: RateLimitPolicy
    /// What is left after this request.
    public var serviceLimit: ServiceLimit
    /// For a denied request, how long until it would be allowed; `nil` when it is allowed, or
    /// when waiting cannot help (a cost above the burst).
    public var retryAfter: Duration?
    /// The rate and burst the decision was made under.
    public var rateLimit: RateLimit

    /// Creates a decision.
    public init(isAllowed: Bool, policy: RateLimitPolicy, serviceLimit: ServiceLimit, retryAfter: Duration?, rateLimit: RateLimit) {
        self.isAllowed = isAllowed
        self.policy = policy
        self.serviceLimit = serviceLimit
        self.retryAfter = retryAfter
        self.rateLimit = rateLimit
    }

    /// The requests the bucket holds (the policy's quota).
    public var limit: Int { policy.quota }
    /// Whole requests left after this one.
    public var remaining: Int { serviceLimit.remaining }
    /// Seconds until `remaining` grows by one.
    public var resetSeconds: Int { serviceLimit.resetSeconds ?? 0 }
}
