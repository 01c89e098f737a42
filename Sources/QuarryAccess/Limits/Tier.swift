import QuarryCore

/// A named set of limits. Every limit is optional: `nil` means unlimited.
///
/// In the configuration (snake_case keys, unknown keys refused):
/// `{"rate": 5, "burst": 10, "ingest_jobs": 1, "max_chunks": 100000, "monthly_tokens": 1000000,
/// "monthly_cost_usd": 5}`.
///
/// The LLM budgets come in three scopes, named by prefix: one request (`max_prompt_tokens`,
/// `max_context_tokens`, `max_completion_tokens`), one key (`key_daily_*`, `key_monthly_*`) and
/// the key's tenant (`tenant_daily_*`; the tenant's month is `monthly_tokens` and
/// `monthly_cost_usd`). Tokens are LLM tokens, prompt and completion; dollars are what every
/// priced model call cost, embeddings included (see `PriceTable`). Days and months are UTC.
public struct Tier: Sendable, Hashable, Codable {
    /// Requests per second each key of the tier may make, on average.
    public var rate: Double?
    /// Requests a key may make at once after a quiet spell; `nil` for one second's worth of
    /// `rate` (at least 1).
    public var burst: Int?
    /// Ingest jobs a tenant may have queued or running at once.
    public var ingestJobs: Int?
    /// Chunks a tenant may store, over all its collections.
    public var maxChunks: Int?
    /// LLM tokens (prompt and completion) a tenant may use in a calendar month (UTC).
    public var monthlyTokens: Int?
    /// LLM cost in US dollars a tenant may run up in a calendar month (UTC).
    public var monthlyCostUSD: Double?
    /// Most tokens one request's prompt may have, its retrieved context included.
    public var maxPromptTokens: Int?
    /// Most tokens of retrieved context one request may put in the prompt.
    public var maxContextTokens: Int?
    /// Most tokens one answer may have (a request's `max_tokens`).
    public var maxCompletionTokens: Int?
    /// LLM tokens one key may use in a day (UTC).
    public var keyDailyTokens: Int?
    /// US dollars one key may spend in a day (UTC).
    public var keyDailyCostUSD: Double?
    /// LLM tokens one key may use in a calendar month (UTC).
    public var keyMonthlyTokens: Int?
    /// US dollars one key may spend in a calendar month (UTC).
    public var keyMonthlyCostUSD: Double?
    /// LLM tokens a tenant, all its keys together, may use in a day (UTC).
    public var tenantDailyTokens: Int?
    /// US dollars a tenant, all its keys together, may spend in a day (UTC).
    public var tenantDailyCostUSD: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case rate
        case burst
        case ingestJobs = "ingest_jobs"
        case maxChunks = "max_chunks"
        case monthlyTokens = "monthly_tokens"
        case monthlyCostUSD = "monthly_cost_usd"
        case maxPromptTokens = "max_prompt_tokens"
        case maxContextTokens = "max_context_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case keyDailyTokens = "key_daily_tokens"
        case keyDailyCostUSD = "key_daily_cost_usd"
        case keyMonthlyTokens = "key_monthly_tokens"
        case keyMonthlyCostUSD = "key_monthly_cost_usd"
        case tenantDailyTokens = "tenant_daily_tokens"
        case tenantDailyCostUSD = "tenant_daily_cost_usd"
    }

    /// Creates a tier; with no arguments, one without limits.
    public init(
        rate: Double? = nil, burst: Int? = nil, ingestJobs: Int? = nil, maxChunks: Int? = nil, monthlyTokens: Int? = nil,
        monthlyCostUSD: Double? = nil, maxPromptTokens: Int? = nil, maxContextTokens: Int? = nil, maxCompletionTokens: Int? = nil,
        keyDailyTokens: Int? = nil, keyDailyCostUSD: Double? = nil, keyMonthlyTokens: Int? = nil, keyMonthlyCostUSD: Double? = nil,
        tenantDailyTokens: Int? = nil, tenantDailyCostUSD: Double? = nil
    ) {
        self.rate = rate
        self.burst = burst
        self.ingestJobs = ingestJobs
        self.maxChunks = maxChunks
        self.monthlyTokens = monthlyTokens
        self.monthlyCostUSD = monthlyCostUSD
        self.maxPromptTokens = maxPromptTokens
        self.maxContextTokens = maxContextTokens
        self.maxCompletionTokens = maxCompletionTokens
        self.keyDailyTokens = keyDailyTokens
        self.keyDailyCostUSD = keyDailyCostUSD
        self.keyMonthlyTokens = keyMonthlyTokens
        self.keyMonthlyCostUSD = keyMonthlyCostUSD
        self.tenantDailyTokens = tenantDailyTokens
        self.tenantDailyCostUSD = tenantDailyCostUSD
    }

    /// Decodes a tier, refusing unknown keys (a misspelt limit would otherwise mean no limit).
    public init(from decoder: any Decoder) throws {
        try LimitsConfiguration.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rate = try c.decodeIfPresent(Double.self, forKey: .rate)
        burst = try c.decodeIfPresent(Int.self, forKey: .burst)
        ingestJobs = try c.decodeIfPresent(Int.self, forKey: .ingestJobs)
        maxChunks = try c.decodeIfPresent(Int.self, forKey: .maxChunks)
        monthlyTokens = try c.decodeIfPresent(Int.self, forKey: .monthlyTokens)
        monthlyCostUSD = try c.decodeIfPresent(Double.self, forKey: .monthlyCostUSD)
        maxPromptTokens = try c.decodeIfPresent(Int.self, forKey: .maxPromptTokens)
        maxContextTokens = try c.decodeIfPresent(Int.self, forKey: .maxContextTokens)
        maxCompletionTokens = try c.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)
        keyDailyTokens = try c.decodeIfPresent(Int.self, forKey: .keyDailyTokens)
        keyDailyCostUSD = try c.decodeIfPresent(Double.self, forKey: .keyDailyCostUSD)
        keyMonthlyTokens = try c.decodeIfPresent(Int.self, forKey: .keyMonthlyTokens)
        keyMonthlyCostUSD = try c.decodeIfPresent(Double.self, forKey: .keyMonthlyCostUSD)
        tenantDailyTokens = try c.decodeIfPresent(Int.self, forKey: .tenantDailyTokens)
        tenantDailyCostUSD = try c.decodeIfPresent(Double.self, forKey: .tenantDailyCostUSD)
    }

    /// Every problem with the tier's limits, one line each, each starting with `path` (the
    /// tier's place in the configuration, `limits.tiers.free`).
    public func problems(at path: String) -> [String] {
        var problems: [String] = []
        let leaveOut = "; leave it out for no limit"
        if let rate, !(rate.isFinite && rate > 0) {
            problems.append("\(path).rate must be a positive number of requests per second, got \(LimitFormat.number(rate))\(leaveOut)")
        }
        if let burst {
            if burst < 1 { problems.append("\(path).burst must be at least 1 request, got \(burst)") }
            if rate == nil { problems.append("\(path).burst needs a rate: without one, requests are not limited") }
        }
        if let ingestJobs, ingestJobs < 1 {
            problems.append("\(path).ingest_jobs must be at least 1, got \(ingestJobs)\(leaveOut)")
        }
        if let maxChunks, maxChunks < 1 {
            problems.append("\(path).max_chunks must be at least 1, got \(maxChunks)\(leaveOut)")
        }
        let tokenLimits: [(String, Int?)] = [
            ("monthly_tokens", monthlyTokens), ("max_prompt_tokens", maxPromptTokens), ("max_context_tokens", maxContextTokens),
            ("max_completion_tokens", maxCompletionTokens), ("key_daily_tokens", keyDailyTokens), ("key_monthly_tokens", keyMonthlyTokens),
            ("tenant_daily_tokens", tenantDailyTokens),
        ]
        let dollarLimits: [(String, Double?)] = [
            ("monthly_cost_usd", monthlyCostUSD), ("key_daily_cost_usd", keyDailyCostUSD), ("key_monthly_cost_usd", keyMonthlyCostUSD),
            ("tenant_daily_cost_usd", tenantDailyCostUSD),
        ]
        for (name, value) in tokenLimits {
            if let value, value < 1 { problems.append("\(path).\(name) must be at least 1, got \(value)\(leaveOut)") }
        }
        for (name, value) in dollarLimits {
            if let value, !(value.isFinite && value > 0) {
                problems.append("\(path).\(name) must be a positive number of US dollars, got \(LimitFormat.number(value))\(leaveOut)")
            }
        }
        // A budget smaller than one of its parts can never be used in full: the larger part
        // could never be reached. Said rather than silently meaning the smaller one.
        if let maxPromptTokens, let maxContextTokens, maxPromptTokens >= 1, maxContextTokens > maxPromptTokens {
            problems.append(
                "\(path).max_context_tokens (\(maxContextTokens)) must not be more than max_prompt_tokens (\(maxPromptTokens)): "
                    + "the context is part of the prompt"
            )
        }
        let periods: [(day: String, Int?, month: String, Int?)] = [
            ("key_daily_tokens", keyDailyTokens, "key_monthly_tokens", keyMonthlyTokens),
            ("tenant_daily_tokens", tenantDailyTokens, "monthly_tokens", monthlyTokens),
        ]
        for (dayName, day, monthName, month) in periods {
            if let day, let month, month >= 1, day > month {
                problems.append("\(path).\(dayName) (\(day)) must not be more than \(monthName) (\(month)): a day is part of its month")
            }
        }
        let costPeriods: [(day: String, Double?, month: String, Double?)] = [
            ("key_daily_cost_usd", keyDailyCostUSD, "key_monthly_cost_usd", keyMonthlyCostUSD),
            ("tenant_daily_cost_usd", tenantDailyCostUSD, "monthly_cost_usd", monthlyCostUSD),
        ]
        for (dayName, day, monthName, month) in costPeriods {
            if let day, let month, month.isFinite, month > 0, day > month {
                problems.append(
                    "\(path).\(dayName) (\(LimitFormat.dollars(day))) must not be more than \(monthName) (\(LimitFormat.dollars(month))): "
                        + "a day is part of its month"
                )
            }
        }
        return problems
    }
}
