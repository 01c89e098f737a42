import QuarryCore

/// A tenant's usage counters for one period (a calendar month in UTC, `YYYY-MM`).
public struct UsageRecord: Sendable, Hashable, Codable {
    /// The tenant.
    public var tenant: String
    /// The period, `YYYY-MM`.
    public var period: String
    /// LLM calls.
    public var requests: Int64
    /// LLM tokens, prompt and completion.
    public var tokens: Int64
    /// LLM cost, US dollars.
    public var cost: Double

    /// Creates a record.
    public init(tenant: String, period: String, requests: Int64 = 0, tokens: Int64 = 0, cost: Double = 0) {
        self.tenant = tenant
        self.period = period
        self.requests = requests
        self.tokens = tokens
        self.cost = cost
    }
}

/// Where usage counters live: in the store, so the counters that guard money survive a restart
/// and every node of a PostgreSQL deployment adds to the same ones.
public protocol UsageStore: Sendable {
    /// Adds to the counters of `tenant` in `period` in one statement (an insert that adds to the
    /// existing row on conflict), so concurrent adds, from any connection or node, all count.
    /// - Throws: `QuarryError(.invalidRequest)` for a period that is not `YYYY-MM` or a negative
    ///   or non-finite amount; `QuarryError(.storage)` when the store fails.
    func addUsage(tenant: String, period: String, requests: Int64, tokens: Int64, cost: Double) async throws
    /// The counters of `tenant` in `period`; zeros when it used nothing.
    func usage(tenant: String, period: String) async throws -> UsageRecord
    /// The counters of `tenant` (every tenant when `nil`) in `period` (every period when `nil`),
    /// by tenant, then period.
    func listUsage(tenant: String?, period: String?) async throws -> [UsageRecord]
}

/// What both backends check and share.
enum UsageSQL {
    /// The select list, in the order `UsageRecord`s are read.
    static let select = "SELECT tenant, period, requests, tokens, cost FROM quarry_usage"

    /// Checks an add before it reaches the store.
    static func validate(period: String, requests: Int64, tokens: Int64, cost: Double) throws {
        try validate(period: period)
        guard requests >= 0, tokens >= 0, cost.isFinite, cost >= 0 else {
            throw QuarryError(
                .invalidRequest, "usage must not be negative (requests \(requests), tokens \(tokens), cost \(cost))"
            )
        }
    }

    /// Checks that `period` is `YYYY-MM` with a month of 01-12.
    static func validate(period: String) throws {
        let bytes = Array(period.utf8)
        let digits = bytes.enumerated().allSatisfy { index, byte in index == 4 ? byte == UInt8(ascii: "-") : (0x30...0x39).contains(byte) }
        let month = bytes.count == 7 ? Int(period.suffix(2)) ?? 0 : 0
        guard bytes.count == 7, digits, (1...12).contains(month) else {
            throw QuarryError(.invalidRequest, "usage period '\(period)' is not a month written YYYY-MM")
        }
    }

    /// The `WHERE` clause and its values for a listing; `placeholder` makes the n-th parameter.
    static func filter(tenant: String?, period: String?, placeholder: (Int) -> String) -> (sql: String, values: [String]) {
        var conditions: [String] = []
        var values: [String] = []
        if let tenant {
            values.append(tenant)
            conditions.append("tenant = \(placeholder(values.count))")
        }
        if let period {
            values.append(period)
            conditions.append("period = \(placeholder(values.count))")
        }
        let sql = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return (sql + " ORDER BY tenant, period", values)
    }
}
