import QuarryCore

/// A limit a request ran into: which one, a message a user can act on, and when trying again
/// can help.
///
/// It travels as the `underlying` error of a `QuarryError(.rateLimited)` (`error`), so every
/// layer that maps `QuarryError`s already turns it into a 429. The HTTP edge should look for it
/// with `LimitExceeded.find(in:)` and then:
/// - answer 429 Too Many Requests with the body
///   `{"error": {"code": "rate_limited", "message": message, "limit": limit.rawValue}}`;
/// - add the header fields of `RateLimitHeaders.fields(for:)`: `Retry-After` when `retryAfter`
///   is set (absent for the ingest-job and storage limits, where only finishing a job or
///   deleting documents helps), `RateLimit-Policy` and `RateLimit` where they apply;
/// - do nothing half-way: the checks that throw it run before any work of the request.
public struct LimitExceeded: NamedLimitError, Sendable, Hashable, CustomStringConvertible {
    /// The limits there are, named as in the configuration (`limits.tiers.NAME.*`).
    public enum Limit: String, Sendable, Hashable, Codable, CaseIterable {
        /// A key's requests per second and burst.
        case rate
        /// A tenant's concurrent ingest jobs.
        case ingestJobs = "ingest_jobs"
        /// A tenant's stored chunks.
        case maxChunks = "max_chunks"
        /// A tenant's LLM tokens this month.
        case monthlyTokens = "monthly_tokens"
        /// A tenant's LLM cost this month, in US dollars.
        case monthlyCost = "monthly_cost_usd"
        /// The tokens of one request's prompt.
        case maxPromptTokens = "max_prompt_tokens"
        /// The tokens of retrieved context one request asked for.
        case maxContextTokens = "max_context_tokens"
        /// The tokens of the answer one request asked for.
        case maxCompletionTokens = "max_completion_tokens"
        /// A key's LLM tokens today.
        case keyDailyTokens = "key_daily_tokens"
        /// A key's cost today, in US dollars.
        case keyDailyCost = "key_daily_cost_usd"
        /// A key's LLM tokens this month.
        case keyMonthlyTokens = "key_monthly_tokens"
        /// A key's cost this month, in US dollars.
        case keyMonthlyCost = "key_monthly_cost_usd"
        /// A tenant's LLM tokens today.
        case tenantDailyTokens = "tenant_daily_tokens"
        /// A tenant's cost today, in US dollars.
        case tenantDailyCost = "tenant_daily_cost_usd"

        /// Whether the limit counts use over a day or a month, which waiting resets (and which
        /// `limits.on_budget_exceeded` applies to), rather than the size of one request.
        public var isUsageBudget: Bool {
            switch self {
            case .monthlyTokens, .monthlyCost, .keyDailyTokens, .keyDailyCost, .keyMonthlyTokens, .keyMonthlyCost, .tenantDailyTokens,
                .tenantDailyCost:
                true
            case .rate, .ingestJobs, .maxChunks, .maxPromptTokens, .maxContextTokens, .maxCompletionTokens:
                false
            }
        }
    }

    /// The limit that was reached.
    public var limit: Limit
    /// What happened and what to do, naming the limit.
    public var message: String
    /// How long until trying again can succeed; `nil` when waiting alone does not help.
    public var retryAfter: Duration?
    /// The policy for `RateLimit-Policy`, when there is one.
    public var policy: RateLimitPolicy?
    /// What is left, for `RateLimit`, when it can be said.
    public var serviceLimit: ServiceLimit?

    /// Creates the error.
    public init(
        limit: Limit, message: String, retryAfter: Duration? = nil, policy: RateLimitPolicy? = nil, serviceLimit: ServiceLimit? = nil
    ) {
        self.limit = limit
        self.message = message
        self.retryAfter = retryAfter
        self.policy = policy
        self.serviceLimit = serviceLimit
    }

    /// The error to throw: `QuarryError(.rateLimited, message)` carrying this one as its cause.
    public var error: QuarryError {
        QuarryError(.rateLimited, message, underlying: self)
    }

    public var description: String { "\(limit.rawValue) limit" }

    public var limitName: String { limit.rawValue }

    /// The `LimitExceeded` in `error`: the error itself, or the cause of a `QuarryError`.
    public static func find(in error: any Error) -> LimitExceeded? {
        if let exceeded = error as? LimitExceeded { return exceeded }
        if let error = error as? QuarryError, let underlying = error.underlying { return find(in: underlying) }
        return nil
    }

    /// The error for a request `RateLimiter` denied; `nil` when it was allowed.
    /// - Parameters:
    ///   - decision: what the limiter decided.
    ///   - keyID: the key's id, for the message.
    public init?(_ decision: RateLimitDecision, keyID: String) {
        guard !decision.isAllowed else { return nil }
        let limit = decision.rateLimit
        let allowance = "\(LimitFormat.number(limit.rate)) requests per second, burst \(limit.burst)"
        let message =
            if let wait = decision.retryAfter {
                "key '\(keyID)' is over its rate limit (\(allowance)); retry in \(RateLimitHeaders.retryAfterSeconds(wait)) s"
            } else {
                "this request counts for more than key '\(keyID)' may send at once (\(allowance))"
            }
        self.init(
            limit: .rate, message: message, retryAfter: decision.retryAfter, policy: decision.policy,
            serviceLimit: decision.serviceLimit
        )
    }
}

extension RateLimitDecision {
    /// Throws when the request was denied.
    /// - Throws: `QuarryError(.rateLimited)` carrying a `LimitExceeded` (`LimitExceeded.find(in:)`).
    public func requireAllowed(keyID: String) throws {
        if let exceeded = LimitExceeded(self, keyID: keyID) { throw exceeded.error }
    }
}

/// Numbers in limit messages: integers without a fraction, money with cents.
enum LimitFormat {
    /// `20` for 20.0, `0.5` for 0.5.
    static func number(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }

    /// `$5.00`, `$0.25`, rounded to the cent.
    static func dollars(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e13 else { return "$\(value)" }
        let cents = Int((value * 100).rounded())
        let sign = cents < 0 ? "-" : ""
        let magnitude = abs(cents)
        let fraction = magnitude % 100
        return "\(sign)$\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
