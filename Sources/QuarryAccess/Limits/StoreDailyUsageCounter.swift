import QuarryStore

/// Daily usage counted in the store (`DailyUsageStore`), so it survives restarts and every node
/// of a PostgreSQL deployment adds to the same counters.
public struct StoreDailyUsageCounter: DailyUsageCounter {
    private let store: any DailyUsageStore

    /// Counts in `store`.
    public init(store: any DailyUsageStore) {
        self.store = store
    }

    public func used(tenant: String, keyID: String?, from: UsageDay, through: UsageDay) async throws -> DailyUsageAmount {
        let total = try await store.dailyUsageTotal(tenant: tenant, keyID: keyID, from: from.id, through: through.id)
        return DailyUsageAmount(
            requests: total.requests, promptTokens: total.promptTokens, completionTokens: total.completionTokens,
            embeddingTokens: total.embeddingTokens, costUSD: total.cost
        )
    }

    public func add(_ amount: DailyUsageAmount, tenant: String, keyID: String, model: String, day: UsageDay) async throws {
        try await store.addDailyUsage(
            DailyUsageRecord(
                tenant: tenant, keyID: keyID, model: model, day: day.id, requests: amount.requests, promptTokens: amount.promptTokens,
                completionTokens: amount.completionTokens, embeddingTokens: amount.embeddingTokens, cost: amount.costUSD
            )
        )
    }
}
