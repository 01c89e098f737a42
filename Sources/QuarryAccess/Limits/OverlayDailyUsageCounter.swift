import Synchronization

/// Daily usage for a store that takes no writes (a read-only store): what the store holds, plus
/// what this process used, which is kept in memory and lost when the process ends.
///
/// Budgets still hold within the process, and an LLM answer is not refused for want of a
/// writable counter; a replica's usage is not added to the primary's. Only the days a budget
/// can still look at are kept: the current and the previous month.
public final class OverlayDailyUsageCounter: DailyUsageCounter {
    private let base: any DailyUsageCounter
    private let added = Mutex<[DailyUsageKey: DailyUsageAmount]>([:])

    /// Reads `base`, adds in memory.
    public init(base: any DailyUsageCounter) {
        self.base = base
    }

    public func used(tenant: String, keyID: String?, from: UsageDay, through: UsageDay) async throws -> DailyUsageAmount {
        let stored = try await base.used(tenant: tenant, keyID: keyID, from: from, through: through)
        let extra = added.withLock { added in
            DailyUsageKey.sum(of: added, tenant: tenant, keyID: keyID, from: from, through: through)
        }
        return stored + extra
    }

    public func add(_ amount: DailyUsageAmount, tenant: String, keyID: String, model: String, day: UsageDay) async throws {
        // The first day of the previous month: nothing a budget reads is older.
        let oldest = day.firstOfMonth.adding(days: -1).firstOfMonth
        added.withLock { added in
            let key = DailyUsageKey(tenant: tenant, keyID: keyID, model: model, day: day)
            added[key] = (added[key] ?? .zero) + amount
            if added.keys.contains(where: { $0.day < oldest }) {
                added = added.filter { $0.key.day >= oldest }
            }
        }
    }
}
