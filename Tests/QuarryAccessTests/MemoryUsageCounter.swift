import QuarryAccess
import Synchronization

/// Usage counters in memory, with a count of reads to show when the store is not asked.
final class MemoryUsageCounter: UsageCounter {
    private let state = Mutex<(amounts: [String: UsageAmount], reads: Int)>(([:], 0))

    var reads: Int { state.withLock { $0.reads } }

    func used(tenant: String, period: UsagePeriod) async throws -> UsageAmount {
        state.withLock { state in
            state.reads += 1
            return state.amounts["\(tenant)/\(period.id)"] ?? .zero
        }
    }

    func add(_ amount: UsageAmount, tenant: String, period: UsagePeriod) async throws {
        state.withLock { state in
            var total = state.amounts["\(tenant)/\(period.id)"] ?? .zero
            total.requests += amount.requests
            total.tokens += amount.tokens
            total.costUSD += amount.costUSD
            state.amounts["\(tenant)/\(period.id)"] = total
        }
    }
}
