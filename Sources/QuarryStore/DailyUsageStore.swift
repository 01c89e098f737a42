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
