import QuarryCore

/// What one key of a tenant used of one model on one day (UTC): the counters behind cost
/// reports and daily and monthly budgets.
public struct DailyUsageRecord: Sendable, Hashable, Codable {
    /// The tenant.
    public var tenant: String
    /// The key; `""` for requests without one (the local identity).
    public var keyID: String
    /// The model: a chat model's name as the API reported it, or the embedding model's.
    public var model: String
    /// The day, `YYYY-MM-DD` (UTC).
    public var day: String
    /// Calls made.
    public var requests: Int64
    /// Prompt tokens.
    public var promptTokens: Int64
    /// Completion tokens.
    public var completionTokens: Int64
    /// Tokens embedded (questions, and documents at ingest).
    public var embeddingTokens: Int64
    /// Cost, US dollars, from the price table.
    public var cost: Double

    /// Creates a record.
    public init(
        tenant: String, keyID: String = "", model: String, day: String, requests: Int64 = 0, promptTokens: Int64 = 0,
        completionTokens: Int64 = 0, embeddingTokens: Int64 = 0, cost: Double = 0
    ) {
        self.tenant = tenant
        self.keyID = keyID
        self.model = model
        self.day = day
        self.requests = requests
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.embeddingTokens = embeddingTokens
        self.cost = cost
    }

    /// Prompt and completion tokens.
    public var llmTokens: Int64 { promptTokens + completionTokens }

    enum CodingKeys: String, CodingKey {
        case tenant, model, day, requests, cost
        case keyID = "key_id"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case embeddingTokens = "embedding_tokens"
    }
}

/// Where daily usage counters live: in the store, so budgets survive a restart and every node
/// of a PostgreSQL deployment adds to the same counters.
public protocol DailyUsageStore: Sendable {
    /// Adds `record`'s amounts to the counters of its tenant, key, model and day in one
    /// statement (an insert that adds to the existing row on conflict), so concurrent adds all
    /// count.
    /// - Throws: `QuarryError(.invalidRequest)` for a day that is not `YYYY-MM-DD` or a negative
    ///   or non-finite amount; `QuarryError(.storage)` when the store fails.
    func addDailyUsage(_ record: DailyUsageRecord) async throws
    /// The counters from day `from` through day `through` (both `YYYY-MM-DD`, inclusive), of
    /// `tenant` (every tenant when `nil`) and `keyID` (every key when `nil`), one record per
    /// tenant, key, model and day, ordered by day, tenant, key, model.
    func listDailyUsage(tenant: String?, keyID: String?, from: String, through: String) async throws -> [DailyUsageRecord]
    /// The sums of the counters of `tenant` (only `keyID`'s when given) from `from` through
    /// `through`, over every model: one record whose `model` and `day` are `""`.
    func dailyUsageTotal(tenant: String, keyID: String?, from: String, through: String) async throws -> DailyUsageRecord
}

/// What both backends check and share.
enum DailyUsageSQL {
    /// The select list, in the order `DailyUsageRecord`s are read.
    static let select = """
        SELECT tenant, key_id, model, day, requests, prompt_tokens, completion_tokens, embedding_tokens, cost FROM quarry_usage_daily
        """

    /// The sums, in the order `dailyUsageTotal` reads them (zeros over no rows).
    static let sums = """
        SELECT coalesce(sum(requests), 0), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0),
            coalesce(sum(embedding_tokens), 0), coalesce(sum(cost), 0) FROM quarry_usage_daily
        """

    /// Checks an add before it reaches the store.
    static func validate(_ record: DailyUsageRecord) throws {
        try validate(day: record.day)
        guard record.requests >= 0, record.promptTokens >= 0, record.completionTokens >= 0, record.embeddingTokens >= 0,
            record.cost.isFinite, record.cost >= 0
        else {
            throw QuarryError(
                .invalidRequest,
                """
                usage must not be negative (requests \(record.requests), prompt tokens \(record.promptTokens), completion tokens \
                \(record.completionTokens), embedding tokens \(record.embeddingTokens), cost \(record.cost))
                """
            )
        }
    }

    /// Checks a range of days: both `YYYY-MM-DD`, the first not after the last.
    static func validate(from: String, through: String) throws {
        try validate(day: from)
        try validate(day: through)
        // Days written YYYY-MM-DD order as text as they do in time.
        guard from <= through else { throw QuarryError(.invalidRequest, "usage range from \(from) through \(through) ends before it starts") }
    }

    /// Checks that `day` is a real day of the Gregorian calendar written `YYYY-MM-DD`.
    static func validate(day: String) throws {
        let bytes = Array(day.utf8)
        let digits = bytes.enumerated().allSatisfy { index, byte in
            index == 4 || index == 7 ? byte == UInt8(ascii: "-") : (0x30...0x39).contains(byte)
        }
        guard bytes.count == 10, digits, let year = Int(day.prefix(4)), let month = Int(day.dropFirst(5).prefix(2)),
            let date = Int(day.suffix(2)), (1...12).contains(month), (1...days(in: month, of: year)).contains(date)
        else {
            throw QuarryError(.invalidRequest, "usage day '\(day)' is not a day written YYYY-MM-DD")
        }
    }

    /// The number of days in `month` (1-12) of `year`.
    static func days(in month: Int, of year: Int) -> Int {
        switch month {
        case 2: year.isMultiple(of: 4) && (!year.isMultiple(of: 100) || year.isMultiple(of: 400)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// The `WHERE` clause and its values for a range of days, of one tenant and key when given;
    /// `placeholder` makes the n-th parameter.
    static func filter(tenant: String?, keyID: String?, from: String, through: String, placeholder: (Int) -> String) -> (
        sql: String, values: [String]
    ) {
        var values = [from, through]
        var sql = " WHERE day >= \(placeholder(1)) AND day <= \(placeholder(2))"
        if let tenant {
            values.append(tenant)
            sql += " AND tenant = \(placeholder(values.count))"
        }
        if let keyID {
            values.append(keyID)
            sql += " AND key_id = \(placeholder(values.count))"
        }
        return (sql, values)
    }

    /// The listing's order.
    static let order = " ORDER BY day, tenant, key_id, model"
}
