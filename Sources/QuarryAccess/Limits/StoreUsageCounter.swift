import QuarryStore

/// Monthly usage counted in the store (`quarry_usage`), so it survives restarts and every node
/// of a PostgreSQL deployment adds to the same counters.
public struct StoreUsageCounter: UsageCounter {
    private let store: any UsageStore

    /// Counts in `store`.
    public init(store: any UsageStore) {
        self.store = store
    }

    public func used(tenant: String, period: UsagePeriod) async throws -> UsageAmount {
        let record = try await store.usage(tenant: tenant, period: period.id)
        return UsageAmount(requests: record.requests, tokens: record.tokens, costUSD: record.cost)
    }

    public func add(_ amount: UsageAmount, tenant: String, period: UsagePeriod) async throws {
        try await store.addUsage(tenant: tenant, period: period.id, requests: amount.requests, tokens: amount.tokens, cost: amount.costUSD)
    }
}
