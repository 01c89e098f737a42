/// Removal: a removed node is flagged, its neighbours are re-linked around it, and its slot is
/// reused by a later insert; compaction rebuilds the index without the tombstones.
extension HNSWIndex {
    /// Removes `label`: it is no longer returned, its neighbours are re-linked around it, and
    /// its slot is reused by a later insert. Removing an absent label does nothing.
    /// - Returns: whether the label was present.
    @discardableResult
    public func remove(_ label: UInt64) -> Bool {
        guard let id = state.withLock({ $0.labels[label] }) else { return false }
        record(id).isDeleted = true
        repairAround(id)
        state.withLock { s in
            s.labels[label] = nil
            s.deletedCount += 1
            if s.entryPoint == id { replaceEntryPoint(&s, removed: id) }
            s.freeIDs.append(id)
        }
        return true
    }

    /// A new index holding only the live vectors (tombstones and their slots gone), built with
    /// the same parameters.
    /// - Throws: what `insert(batch:labels:threads:)` throws (`HNSWError.outOfMemory` when the
    ///   new index cannot be allocated).
    public func compacted(threads: Int = 2) throws -> HNSWIndex {
        let fresh = try HNSWIndex(dimension: dimension, metric: metric, parameters: parameters)
        let ids = state.withLock { Array($0.labels.values) }.sorted()
        var vectors: [Float] = []
        vectors.reserveCapacity(ids.count * dimension)
        var labels: [UInt64] = []
        for id in ids {
            vectors.append(contentsOf: vectorOf(id))
            labels.append(labelOf(id))
        }
        try fresh.insert(batch: vectors, labels: labels, threads: threads)
        fresh.lastStoreRowID = lastStoreRowID
        return fresh
    }

    /// Fraction of slots held by removed vectors (0 when none).
    public var tombstoneRatio: Double {
        state.withLock { s in s.count == 0 ? 0 : Double(s.deletedCount) / Double(s.count) }
    }

    /// Re-links the neighbours of a removed node around it, at every level, with the heuristic.
    func repairAround(_ removed: UInt32) {
        let top = levelOf(removed)
        for level in 0...top {
            lock(removed)
            let list = links(removed, level: level)
            let removedNeighbours = (0..<min(list.count, capacity(level: level))).map { list[$0] }
            unlock(removed)
            for neighbour in removedNeighbours where !isDeleted(neighbour) && levelOf(neighbour) >= level {
                lock(neighbour)
                let own = links(neighbour, level: level)
                let count = min(own.count, capacity(level: level))
                let current = (0..<count).map { own[$0] }
                guard current.contains(removed) else {
                    unlock(neighbour)
                    continue
                }
                let base = vectorOf(neighbour)
                var pool = Set(current.filter { $0 != removed && !isDeleted($0) })
                for candidate in removedNeighbours where candidate != neighbour && !isDeleted(candidate) {
                    pool.insert(candidate)
                }
                let candidates = pool.map { Candidate(distance: distance(base, vectorOf($0)), id: $0) }
                    .sorted { ($0.distance, $0.id) < ($1.distance, $1.id) }
                own.assign(selectNeighbours(candidates, limit: capacity(level: level)))
                unlock(neighbour)
            }
        }
    }

    /// Picks a new entry point when the current one is removed: the live node of highest level.
    func replaceEntryPoint(_ s: inout State, removed: UInt32) {
        var best: UInt32 = .max
        var bestLevel = -1
        for (_, id) in s.labels where id != removed {
            let level = levelOf(id)
            if level > bestLevel {
                bestLevel = level
                best = id
            }
        }
        s.entryPoint = best
        s.maxLevel = bestLevel
    }
}
