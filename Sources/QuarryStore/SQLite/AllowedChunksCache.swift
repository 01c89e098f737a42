import Synchronization

/// The chunks a filter keeps, remembered per collection generation: the same caller (the same
/// principals, the same filter) asks again and again, and computing the set reads every chunk
/// row of the collection. Any write to the collection moves its generation on, so a remembered
/// set is never used after the data it was computed from changed.
final class AllowedChunksCache: Sendable {
    struct Key: Hashable, Sendable {
        var collectionID: Int64
        var generation: Int64
        var filter: SearchFilter
    }

    private struct State {
        var entries: [Key: (allowed: ChunkIDSet?, used: UInt64)] = [:]
        var clock: UInt64 = 0
        var ids = 0
    }

    private let state = Mutex(State())
    /// Most sets remembered.
    let capacity: Int
    /// Most chunk ids remembered over all sets (8 bytes each, and the set's overhead).
    let idBudget: Int

    init(capacity: Int = 64, idBudget: Int = 4_000_000) {
        self.capacity = capacity
        self.idBudget = idBudget
    }

    /// The remembered set for `key`, or the one `compute` makes (then remembered).
    func allowed(for key: Key, compute: () throws -> ChunkIDSet?) rethrows -> ChunkIDSet? {
        if let hit = state.withLock({ state -> ChunkIDSet?? in
            guard let entry = state.entries[key] else { return nil }
            state.clock += 1
            state.entries[key]?.used = state.clock
            return .some(entry.allowed)
        }) {
            return hit
        }
        let allowed = try compute()
        state.withLock { state in
            let size = allowed?.count ?? 0
            guard size <= idBudget else { return }
            // Sets of older generations are never asked for again: they go first, then the
            // least recently used.
            state.entries = state.entries.filter { $0.key.collectionID != key.collectionID || $0.key.generation >= key.generation }
            state.ids = state.entries.values.reduce(0) { $0 + ($1.allowed?.count ?? 0) }
            while state.entries.count >= capacity || state.ids + size > idBudget,
                let oldest = state.entries.min(by: { $0.value.used < $1.value.used })
            {
                state.ids -= oldest.value.allowed?.count ?? 0
                state.entries[oldest.key] = nil
            }
            state.clock += 1
            state.entries[key] = (allowed, state.clock)
            state.ids += size
        }
        return allowed
    }
}
