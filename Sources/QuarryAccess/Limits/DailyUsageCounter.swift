/// What was used of the models on one or more days: calls, tokens by kind, and cost.
public struct DailyUsageAmount: Sendable, Hashable {
    /// Model calls.
    public var requests: Int64
    /// Prompt tokens.
    public var promptTokens: Int64
    /// Completion tokens.
    public var completionTokens: Int64
    /// Tokens embedded.
    public var embeddingTokens: Int64
    /// Cost in US dollars of the calls whose price is known.
    public var costUSD: Double

    /// Creates an amount; with no arguments, nothing.
    public init(requests: Int64 = 0, promptTokens: Int64 = 0, completionTokens: Int64 = 0, embeddingTokens: Int64 = 0, costUSD: Double = 0) {
        self.requests = requests
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.embeddingTokens = embeddingTokens
        self.costUSD = costUSD
    }

    /// Nothing used.
    public static let zero = DailyUsageAmount()

    /// LLM tokens, prompt and completion: what the token budgets count.
    public var llmTokens: Int64 { promptTokens + completionTokens }

    /// The sum of two amounts.
    public static func + (lhs: DailyUsageAmount, rhs: DailyUsageAmount) -> DailyUsageAmount {
        DailyUsageAmount(
            requests: lhs.requests + rhs.requests, promptTokens: lhs.promptTokens + rhs.promptTokens,
            completionTokens: lhs.completionTokens + rhs.completionTokens, embeddingTokens: lhs.embeddingTokens + rhs.embeddingTokens,
            costUSD: lhs.costUSD + rhs.costUSD
        )
    }
}

/// One daily counter: a tenant's key's use of a model on a day (the counters kept in memory by
/// `OverlayDailyUsageCounter` and `DeferredDailyUsageCounter`).
struct DailyUsageKey: Hashable {
    var tenant: String
    var keyID: String
    var model: String
    var day: UsageDay

    /// The sum of the `amounts` that `used(tenant:keyID:from:through:)` counts.
    static func sum(
        of amounts: [DailyUsageKey: DailyUsageAmount], tenant: String, keyID: String?, from: UsageDay, through: UsageDay
    ) -> DailyUsageAmount {
        amounts.reduce(.zero) { sum, entry in
            let key = entry.key
            guard key.tenant == tenant, keyID.map({ $0 == key.keyID }) ?? true, from <= key.day, key.day <= through else { return sum }
            return sum + entry.value
        }
    }
}

/// Where `BudgetLedger` keeps the daily counters, per tenant, key, model and day: in the store
/// (`quarry_daily_usage`), so that budgets survive a restart and every node of a PostgreSQL
/// deployment adds to the same counters.
///
/// The server adapts the store's `DailyUsageStore` with `StoreDailyUsageCounter`, and wraps it in
/// `OverlayDailyUsageCounter` when the store takes no writes.
public protocol DailyUsageCounter: Sendable {
    /// What `tenant` used from `from` through `through` (both included), over every model: only
    /// with key `keyID` when it is given, with every key (and none) when it is `nil`.
    func used(tenant: String, keyID: String?, from: UsageDay, through: UsageDay) async throws -> DailyUsageAmount
    /// Adds `amount` to the counters of `tenant`, `keyID` (`""` for requests without a key),
    /// `model` and `day`, atomically: concurrent adds from any number of requests and nodes all
    /// count.
    func add(_ amount: DailyUsageAmount, tenant: String, keyID: String, model: String, day: UsageDay) async throws
    /// Adds `amount` as `add` does, but may write it later, together with others
    /// (`DeferredDailyUsageCounter`); `used` counts it at once all the same. By default, `add`.
    func addSoon(_ amount: DailyUsageAmount, tenant: String, keyID: String, model: String, day: UsageDay) async throws
    /// Writes what `addSoon` held back. By default, nothing to do.
    func flush() async throws
}

extension DailyUsageCounter {
    public func addSoon(_ amount: DailyUsageAmount, tenant: String, keyID: String, model: String, day: UsageDay) async throws {
        try await add(amount, tenant: tenant, keyID: keyID, model: model, day: day)
    }

    public func flush() async throws {}
}
