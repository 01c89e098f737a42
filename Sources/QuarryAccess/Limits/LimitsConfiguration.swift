import QuarryCore

/// The limits section of the configuration: the tiers by name, and the one that applies when
/// neither a key nor its tenant names one.
///
/// ```json
/// {"tiers": {"free": {"rate": 5, "burst": 10, "ingest_jobs": 1, "max_chunks": 100000,
///                     "monthly_tokens": 1000000, "monthly_cost_usd": 5},
///            "team": {"rate": 50, "burst": 100}},
///  "default_tier": "free"}
/// ```
///
/// With no tiers and no default tier (the default), nothing is limited, as before limits existed.
public struct LimitsConfiguration: Sendable, Hashable, Codable {
    /// The tiers by name.
    public var tiers: [String: Tier]
    /// The tier of keys and tenants that name none; `nil` for no limits.
    public var defaultTier: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case tiers
        case defaultTier = "default_tier"
    }

    /// Creates a configuration; with no arguments, one that limits nothing.
    public init(tiers: [String: Tier] = [:], defaultTier: String? = nil) {
        self.tiers = tiers
        self.defaultTier = defaultTier
    }

    /// Decodes the section, refusing unknown keys; `validate()` or `problems()` check the values.
    public init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tiers = try c.decodeIfPresent([String: Tier].self, forKey: .tiers) ?? [:]
        defaultTier = try c.decodeIfPresent(String.self, forKey: .defaultTier)
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
        return EffectiveLimits(
            tier: name, rate: rateLimit, ingestJobs: tier.ingestJobs, maxChunks: tier.maxChunks,
            monthlyTokens: tier.monthlyTokens, monthlyCostUSD: tier.monthlyCostUSD
        )
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

/// The limits that apply to one request's key and tenant; `nil` means unlimited.
public struct EffectiveLimits: Sendable, Hashable {
    /// The tier they come from; `nil` when none applies.
    public var tier: String?
    /// The key's rate limit.
    public var rate: RateLimit?
    /// The tenant's concurrent ingest jobs.
    public var ingestJobs: Int?
    /// The tenant's stored chunks.
    public var maxChunks: Int?
    /// The tenant's LLM tokens per month.
    public var monthlyTokens: Int?
    /// The tenant's LLM cost per month, US dollars.
    public var monthlyCostUSD: Double?

    /// Creates limits; with no arguments, none.
    public init(
        tier: String? = nil, rate: RateLimit? = nil, ingestJobs: Int? = nil, maxChunks: Int? = nil, monthlyTokens: Int? = nil,
        monthlyCostUSD: Double? = nil
    ) {
        self.tier = tier
        self.rate = rate
        self.ingestJobs = ingestJobs
        self.maxChunks = maxChunks
        self.monthlyTokens = monthlyTokens
        self.monthlyCostUSD = monthlyCostUSD
    }

    /// No limits at all.
    public static let unlimited = EffectiveLimits()

    /// Whether a monthly LLM quota applies, so that checking it is worth a read of the store.
    public var hasMonthlyQuota: Bool { monthlyTokens != nil || monthlyCostUSD != nil }
}
