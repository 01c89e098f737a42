import QuarryCore
import QuarryStore
import Synchronization

/// The daily usage table in memory, as both stores keep it (one row per tenant, key, model and
/// day, adds summed), with a count of reads to show when it is not asked; once read-only, it
/// refuses writes as a read-only store does.
final class MemoryDailyUsageStore: DailyUsageStore {
    private struct Key: Hashable {
        var tenant: String
        var keyID: String
        var model: String
        var day: String
    }

    private let state = Mutex<(rows: [Key: DailyUsageRecord], reads: Int, readOnly: Bool)>(([:], 0, false))

    var reads: Int { state.withLock { $0.reads } }

    /// From now on, refuse writes.
    func makeReadOnly() {
        state.withLock { $0.readOnly = true }
    }

    /// From now on, take writes again.
    func makeWritable() {
        state.withLock { $0.readOnly = false }
    }

    var rows: [DailyUsageRecord] {
        state.withLock { Array($0.rows.values) }.sorted { ($0.day, $0.tenant, $0.keyID, $0.model) < ($1.day, $1.tenant, $1.keyID, $1.model) }
    }

    func addDailyUsage(_ record: DailyUsageRecord) async throws {
        try state.withLock { state in
            guard !state.readOnly else { throw QuarryError(.readOnly, "the store is read-only") }
            let key = Key(tenant: record.tenant, keyID: record.keyID, model: record.model, day: record.day)
            var row = state.rows[key] ?? DailyUsageRecord(tenant: record.tenant, keyID: record.keyID, model: record.model, day: record.day)
            row.requests += record.requests
            row.promptTokens += record.promptTokens
            row.completionTokens += record.completionTokens
            row.embeddingTokens += record.embeddingTokens
            row.cost += record.cost
            state.rows[key] = row
        }
    }

    func listDailyUsage(tenant: String?, keyID: String?, from: String, through: String) async throws -> [DailyUsageRecord] {
        state.withLock { $0.reads += 1 }
        return rows.filter { row in
            (tenant.map { $0 == row.tenant } ?? true) && (keyID.map { $0 == row.keyID } ?? true) && from <= row.day && row.day <= through
        }
    }

    func dailyUsageTotal(tenant: String, keyID: String?, from: String, through: String) async throws -> DailyUsageRecord {
        var total = DailyUsageRecord(tenant: tenant, keyID: keyID ?? "", model: "", day: "")
        for row in try await listDailyUsage(tenant: tenant, keyID: keyID, from: from, through: through) {
            total.requests += row.requests
            total.promptTokens += row.promptTokens
            total.completionTokens += row.completionTokens
            total.embeddingTokens += row.embeddingTokens
            total.cost += row.cost
        }
        return total
    }
}
