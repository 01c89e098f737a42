import QuarryCore

/// A named set of limits. Every limit is optional: `nil` means unlimited.
///
/// In the configuration (snake_case keys, unknown keys refused):
/// `{"rate": 5, "burst": 10, "ingest_jobs": 1, "max_chunks": 100000, "monthly_tokens": 1000000,
/// "monthly_cost_usd": 5}`.
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

    enum CodingKeys: String, CodingKey, CaseIterable {
        case rate
        case burst
        case ingestJobs = "ingest_jobs"
        case maxChunks = "max_chunks"
        case monthlyTokens = "monthly_tokens"
        case monthlyCostUSD = "monthly_cost_usd"
    }

    /// Creates a tier; with no arguments, one without limits.
    public init(
        rate: Double? = nil, burst: Int? = nil, ingestJobs: Int? = nil, maxChunks: Int? = nil, monthlyTokens: Int? = nil,
        monthlyCostUSD: Double? = nil
    ) {
        self.rate = rate
        self.burst = burst
        self.ingestJobs = ingestJobs
        self.maxChunks = maxChunks
        self.monthlyTokens = monthlyTokens
        self.monthlyCostUSD = monthlyCostUSD
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
        if let monthlyTokens, monthlyTokens < 1 {
            problems.append("\(path).monthly_tokens must be at least 1, got \(monthlyTokens)\(leaveOut)")
        }
        if let monthlyCostUSD, !(monthlyCostUSD.isFinite && monthlyCostUSD > 0) {
            problems.append(
                "\(path).monthly_cost_usd must be a positive number of US dollars, got \(LimitFormat.number(monthlyCostUSD))\(leaveOut)"
            )
        }
        return problems
    }
}
