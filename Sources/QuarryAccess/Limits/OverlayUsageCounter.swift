import Synchronization

/// Monthly usage for a store that takes no writes (a read-only store): what the store holds,
/// plus what this process used, which is kept in memory and lost when the process ends.
///
/// Quotas still hold within the process, and an LLM answer is not refused for want of a
/// writable counter; a replica's usage is not added to the primary's.
public final class OverlayUsageCounter: UsageCounter {
    private let base: any UsageCounter
    private let added = Mutex<[String: UsageAmount]>([:])

    /// Reads `base`, adds in memory.
    public init(base: any UsageCounter) {
        self.base = base
    }

    public func used(tenant: String, period: UsagePeriod) async throws -> UsageAmount {
        var total = try await base.used(tenant: tenant, period: period)
        let extra = added.withLock { $0[Self.key(tenant, period)] } ?? .zero
        total.requests += extra.requests
        total.tokens += extra.tokens
        total.costUSD += extra.costUSD
        return total
    }

    public func add(_ amount: UsageAmount, tenant: String, period: UsagePeriod) async throws {
        added.withLock { added in
            var total = added[Self.key(tenant, period)] ?? .zero
            total.requests += amount.requests
            total.tokens += amount.tokens
            total.costUSD += amount.costUSD
            added[Self.key(tenant, period)] = total
        }
    }

    private static func key(_ tenant: String, _ period: UsagePeriod) -> String { "\(period.id)/\(tenant)" }
}
