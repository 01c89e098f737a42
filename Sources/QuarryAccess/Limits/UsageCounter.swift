/// What a tenant used in a period: LLM calls, tokens and cost.
public struct UsageAmount: Sendable, Hashable {
    /// LLM calls.
    public var requests: Int64
    /// LLM tokens, prompt and completion.
    public var tokens: Int64
    /// LLM cost in US dollars.
    public var costUSD: Double

    /// Creates an amount; with no arguments, nothing.
    public init(requests: Int64 = 0, tokens: Int64 = 0, costUSD: Double = 0) {
        self.requests = requests
        self.tokens = tokens
        self.costUSD = costUSD
    }

    /// Nothing used.
    public static let zero = UsageAmount()
}

/// Where `QuotaLedger` keeps the counters: in the store, so they survive a restart and every node
/// of a PostgreSQL deployment adds to the same ones.
///
/// QuarryAccess does not depend on QuarryStore; the server adapts the store's `UsageStore`
/// (`addUsage(tenant:period:requests:tokens:cost:)`, `usage(tenant:period:)`) to this protocol
/// with `period.id` as the store's period.
public protocol UsageCounter: Sendable {
    /// What `tenant` used in `period`; zero when it used nothing.
    func used(tenant: String, period: UsagePeriod) async throws -> UsageAmount
    /// Adds `amount` to what `tenant` used in `period`, atomically: concurrent adds from any
    /// number of requests and nodes all count.
    func add(_ amount: UsageAmount, tenant: String, period: UsagePeriod) async throws
}
