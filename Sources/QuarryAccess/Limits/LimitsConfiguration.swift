import QuarryCore

/// The limits section of the configuration: the tiers by name, and the one that applies when
/// neither a key nor its tenant names one.
///
/// ```json
/// {"tiers": {"free": {"rate": 5, "burst": 10, "ingest_jobs": 1, "max_chunks": 100000,
///                     "monthly_tokens": 1000000, "monthly_cost_usd": 5,
///                     "max_completion_tokens": 512, "key_daily_cost_usd": 0.5},
///            "team": {"rate": 50, "burst": 100}},
///  "default_tier": "free",
///  "on_budget_exceeded": "refuse"}
/// ```
///
/// With no tiers and no default tier (the default), nothing is limited, as before limits existed.
public struct LimitsConfiguration: Sendable, Hashable, Codable {
    /// The tiers by name.
    public var tiers: [String: Tier]
    /// The tier of keys and tenants that name none; `nil` for no limits.
    public var defaultTier: String?
    /// What a request gets once a daily or monthly LLM budget of its key or tenant is used up.
    public var onBudgetExceeded: BudgetAction

    enum CodingKeys: String, CodingKey, CaseIterable {
        case tiers
        case defaultTier = "default_tier"
        case onBudgetExceeded = "on_budget_exceeded"
    }

    /// Creates a configuration; with no arguments, one that limits nothing.
    public init(tiers: [String: Tier] = [:], defaultTier: String? = nil, onBudgetExceeded: BudgetAction = .refuse) {
        self.tiers = tiers
        self.defaultTier = defaultTier
        self.onBudgetExceeded = onBudgetExceeded
    }

    /// Decodes the section, refusing unknown keys; `validate()` or `problems()` check the values.
    public init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tiers = try c.decodeIfPresent([String: Tier].self, forKey: .tiers) ?? [:]
        defaultTier = try c.decodeIfPresent(String.self, forKey: .defaultTier)
        if let action = try c.decodeIfPresent(String.self, forKey: .onBudgetExceeded) {
            guard let known = BudgetAction(rawValue: action) else {
                let path = (decoder.codingPath.map(\.stringValue) + [CodingKeys.onBudgetExceeded.rawValue]).joined(separator: ".")
                let choices = BudgetAction.allCases.map { "'\($0.rawValue)'" }.joined(separator: " or ")
                throw QuarryError(.invalidRequest, "\(path) must be \(choices), got '\(action)'")
            }
            onBudgetExceeded = known
        } else {
            onBudgetExceeded = .refuse
        }
    }

    /// Every problem with the section, one line each, each naming its setting
    /// (`limits.tiers.free.rate`); empty when it can be used.
    /// - Parameter path: where the section sits in the configuration file.
    public func problems(at path: String = "limits") -> [String] {
        var problems: [String] = []
        for name in tiers.keys.sorted() {
            if name.isEmpty { problems.append("\(path).tiers: a tier needs a name") }
            problems += tiers[name, default: Tier()].problems(at: "\(path).tiers.\(name)")
        }
        if let defaultTier, tiers[defaultTier] == nil {
            problems.append("\(path).default_tier '\(defaultTier)' is not one of \(path).tiers (\(tierList))")
        }
        return problems
    }

    /// Checks the section.
    /// - Throws: `QuarryError(.invalidRequest)` listing every problem.
    public func validate() throws {
        let problems = problems()
        if !problems.isEmpty { throw QuarryError(.invalidRequest, problems.joined(separator: "; ")) }
    }

    /// The tier called `name`.
    /// - Throws: `QuarryError(.invalidRequest)` when the configuration defines none of that name
    ///   (for `quarry keys create --tier`, and for keys or tenants whose tier was removed from the
    ///   configuration: the server should check the stored ones at start).
    public func tier(named name: String) throws -> Tier {
        guard let tier = tiers[name] else {
            throw QuarryError(.invalidRequest, "tier '\(name)' is not configured (limits.tiers has \(tierList))")
        }
        return tier
    }

    /// The limits that apply to a key: its tier, else its tenant's, else the default tier (else
    /// none); the key's own rate and burst, when it has them, override the tier's.
    /// - Parameters:
    ///   - keyTier: the tier the key names (`KeyRecord.tier`, `Principal.tier`).
    ///   - tenantTier: the tier its tenant names (`TenantRecord.tier`).
    ///   - keyRate: the key's own requests per second (`KeyRecord.rate`).
    ///   - keyBurst: the key's own burst (`KeyRecord.burst`).
    /// - Returns: the effective limits; the rate limit's burst is the key's, else the tier's,
    ///   else one second's worth of the rate (at least 1).
    /// - Throws: `QuarryError(.invalidRequest)` when the tier named is not configured, or the
    ///   key's own rate or burst is out of range.
    public func limits(keyTier: String?, tenantTier: String?, keyRate: Double? = nil, keyBurst: Int? = nil) throws -> EffectiveLimits {
        let name = keyTier ?? tenantTier ?? defaultTier
        let tier = try name.map(tier(named:)) ?? Tier()
        var rateLimit: RateLimit?
        if let rate = keyRate ?? tier.rate {
            rateLimit = try RateLimit(rate: rate, burst: keyBurst ?? tier.burst ?? Self.defaultBurst(for: rate))
        }
        var limits = tier
        // The rate and burst are the resolved `rateLimit` from here on.
        (limits.rate, limits.burst) = (nil, nil)
        return EffectiveLimits(tier: name, rate: rateLimit, limits: limits, onBudgetExceeded: onBudgetExceeded)
    }

    /// One second's worth of `rate`, at least 1.
    static func defaultBurst(for rate: Double) -> Int {
        max(1, min(WholeSeconds.maximum, WholeSeconds.roundedUp(rate)))
    }

    private var tierList: String {
        tiers.isEmpty ? "no tiers" : tiers.keys.sorted().joined(separator: ", ")
    }

    static func refuseUnknownKeys(in decoder: any Decoder, known: [String]) throws {
        try UnknownKeys.refuse(in: decoder, known: known)
    }
}

/// The limits that apply to one request's key and tenant; `nil` means unlimited. Every limit
/// of the tier is read through it as the tier has it (`limits.maxChunks`), so that a limit added
/// to `Tier` needs no second declaration here; the rate is the one resolved for the key.
@dynamicMemberLookup
public struct EffectiveLimits: Sendable, Hashable {
    /// The tier they come from; `nil` when none applies.
    public var tier: String?
    /// The key's rate limit: its own rate and burst, else the tier's.
    public var rate: RateLimit?
    /// The tier's limits (its `rate` and `burst` are resolved into `rate`).
    public var limits: Tier
    /// What a request gets once a daily or monthly budget (or the monthly quota) is used up.
    public var onBudgetExceeded: BudgetAction

    /// A limit of the tier.
    public subscript<Value>(dynamicMember keyPath: KeyPath<Tier, Value>) -> Value { limits[keyPath: keyPath] }

    /// Limits of `tier` named `name`, with the rate limit resolved for the key.
    public init(tier name: String?, rate: RateLimit?, limits: Tier, onBudgetExceeded: BudgetAction = .refuse) {
        self.tier = name
        self.rate = rate
        self.limits = limits
        self.onBudgetExceeded = onBudgetExceeded
    }

    /// Creates limits; with no arguments, none.
    public init(
        tier: String? = nil, rate: RateLimit? = nil, ingestJobs: Int? = nil, maxChunks: Int? = nil, monthlyTokens: Int? = nil,
        monthlyCostUSD: Double? = nil, maxPromptTokens: Int? = nil, maxContextTokens: Int? = nil, maxCompletionTokens: Int? = nil,
        keyDailyTokens: Int? = nil, keyDailyCostUSD: Double? = nil, keyMonthlyTokens: Int? = nil, keyMonthlyCostUSD: Double? = nil,
        tenantDailyTokens: Int? = nil, tenantDailyCostUSD: Double? = nil, onBudgetExceeded: BudgetAction = .refuse
    ) {
        self.init(
            tier: tier, rate: rate,
            limits: Tier(
                ingestJobs: ingestJobs, maxChunks: maxChunks, monthlyTokens: monthlyTokens, monthlyCostUSD: monthlyCostUSD,
                maxPromptTokens: maxPromptTokens, maxContextTokens: maxContextTokens, maxCompletionTokens: maxCompletionTokens,
                keyDailyTokens: keyDailyTokens, keyDailyCostUSD: keyDailyCostUSD, keyMonthlyTokens: keyMonthlyTokens,
                keyMonthlyCostUSD: keyMonthlyCostUSD, tenantDailyTokens: tenantDailyTokens, tenantDailyCostUSD: tenantDailyCostUSD
            ),
            onBudgetExceeded: onBudgetExceeded
        )
    }

    /// No limits at all.
    public static let unlimited = EffectiveLimits()

    /// Whether a monthly LLM quota applies, so that checking it is worth a read of the store.
    public var hasMonthlyQuota: Bool { limits.monthlyTokens != nil || limits.monthlyCostUSD != nil }

    /// Whether a daily budget of the tenant applies.
    public var hasTenantDailyBudget: Bool { limits.tenantDailyTokens != nil || limits.tenantDailyCostUSD != nil }

    /// Whether a daily budget of the key applies.
    public var hasKeyDailyBudget: Bool { limits.keyDailyTokens != nil || limits.keyDailyCostUSD != nil }

    /// Whether a monthly budget of the key applies.
    public var hasKeyMonthlyBudget: Bool { limits.keyMonthlyTokens != nil || limits.keyMonthlyCostUSD != nil }

    /// Whether any budget over time applies (the tenant's monthly quota included), so that
    /// checking them is worth reading the counters.
    public var hasUsageBudget: Bool { hasMonthlyQuota || hasTenantDailyBudget || hasKeyDailyBudget || hasKeyMonthlyBudget }
}

/// What a request that wants an LLM answer gets once a daily or monthly budget of its key or
/// tenant is used up (`limits.on_budget_exceeded`).
public enum BudgetAction: String, Sendable, Hashable, Codable, CaseIterable {
    /// A 429 naming the budget, with `Retry-After` until it resets (the default).
    case refuse
    /// An extractive answer, which calls no LLM, with the budget named in the answer.
    case extractive
}
