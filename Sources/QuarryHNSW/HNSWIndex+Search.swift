import QuarryKernels

/// Search: greedy descent through the upper levels, then a beam search on level 0 that walks
/// through every node and keeps only live ones the filter accepts; a filter that keeps few
/// vectors is served by an exact scan instead (`HNSWExactSearch.swift`).
extension HNSWIndex {
    /// The `k` nearest live vectors to `query`, nearest first.
    /// - Parameters:
    ///   - query: a vector of `dimension` floats.
    ///   - k: how many results.
    ///   - ef: candidate list size (at least `k`); `nil` uses the default.
    ///   - filter: when given, only labels it accepts are returned. The graph is still traversed
    ///     through rejected nodes, so that accepted ones behind them are found.
    ///   - expectedMatches: how many labels the filter accepts, when the caller knows; when it
    ///     is small (see `exactSearchThreshold`) the search is exact instead. When `nil` and a
    ///     filter is given, the selectivity is estimated from a sample.
    /// - Throws: `HNSWError.invalidArgument` for a wrong dimension.
    public func search(
        _ query: [Float], k: Int, ef: Int? = nil, filter: (@Sendable (UInt64) -> Bool)? = nil, expectedMatches: Int? = nil
    ) throws -> [HNSWResult] {
        guard query.count == dimension else {
            throw HNSWError(.invalidArgument, "query has dimension \(query.count), the index \(dimension)")
        }
        guard k > 0 else { return [] }
        var prepared = query
        if metric == .cosine { Distance.normalize(&prepared) }
        let (entry, topLevel, allocated, live, deletions) = state.withLock {
            ($0.entryPoint, $0.maxLevel, $0.count, $0.labels.count, $0.deletedCount > 0 || !$0.freeIDs.isEmpty)
        }
        guard entry != .max, live > 0 else { return [] }
        let width = max(k, ef ?? parameters.ef)
        if let filter {
            let matches = expectedMatches ?? estimateMatches(filter, allocated: allocated, live: live)
            if matches <= exactSearchThreshold(live: live, ef: width) {
                return prepared.withUnsafeBufferPointer { exactSearch($0, k: k, filter: filter, allocated: allocated) }
            }
        }
        return prepared.withUnsafeBufferPointer { q -> [HNSWResult] in
            var current = entry
            var currentDistance = distance(q, vectorOf(current))
            if topLevel > 0 {
                for level in stride(from: topLevel, to: 0, by: -1) {
                    (current, currentDistance) = greedyClosest(q, from: current, distance: currentDistance, level: level, locked: false)
                }
            }
            let found = searchLevel0(
                q, entry: current, entryDistance: currentDistance, ef: width, filter: filter, allocated: allocated,
                hasDeletions: deletions
            )
            return found.prefix(k).map { HNSWResult(label: labelOf($0.id), distance: $0.distance) }
        }
    }

    /// The largest expected number of filter matches for which `search` scans the matches exactly
    /// instead of walking the graph: `20·ef` (1,280 at ef 64) or 2 % of the live vectors, whichever
    /// is larger. A filtered walk must expand about `ef / selectivity` nodes, scoring up to `2m`
    /// neighbours each, before it has collected `ef` matches; at or below this many matches that
    /// is more distance computations than scoring every match directly, and the scan is exact.
    /// Without a caller-given count the matches are estimated from 512 evenly spaced slots.
    public func exactSearchThreshold(live: Int, ef: Int) -> Int {
        max(20 * ef, live / 50)
    }

    /// Greedy descent on one upper level: move to a closer neighbour until none is closer.
    func greedyClosest(
        _ q: UnsafeBufferPointer<Float>, from start: UInt32, distance startDistance: Float, level: Int, locked: Bool
    ) -> (UInt32, Float) {
        var current = start
        var currentDistance = startDistance
        var changed = true
        while changed {
            changed = false
            if levelOf(current) < level { break }
            if locked { lock(current) }
            let list = links(current, level: level)
            let count = min(list.count, capacity(level: level))
            var best = current
            var bestDistance = currentDistance
            for i in 0..<count {
                let candidate = list[i]
                let d = distance(q, vectorOf(candidate))
                if d < bestDistance {
                    bestDistance = d
                    best = candidate
                }
            }
            if locked { unlock(current) }
            if best != current {
                current = best
                currentDistance = bestDistance
                changed = true
            }
        }
        return (current, currentDistance)
    }

    /// Beam search on one level while inserting: live nodes only, nearest first, at most
    /// `efConstruction`.
    func searchLevelForInsert(
        _ q: UnsafeBufferPointer<Float>, entry: UInt32, entryDistance: Float, level: Int, exclude: UInt32
    ) -> [Candidate] {
        let (allocated, hasDeletions) = state.withLock { ($0.count, $0.deletedCount > 0) }
        let visitedList = visitedLists.acquire(size: allocated)
        defer { visitedLists.release(visitedList) }
        var candidates = Heap<NearestFirst>(minimumCapacity: 256)
        var results = Heap<FarthestFirst>(minimumCapacity: 256)
        let visited = visitedList.current
        visited.insert(entry)
        visited.insert(exclude)
        candidates.push(Candidate(distance: entryDistance, id: entry))
        if !isDeleted(entry), entry != exclude, levelOf(entry) >= level {
            results.push(Candidate(distance: entryDistance, id: entry))
        }
        var bound = results.isEmpty ? Float.infinity : entryDistance
        let ef = parameters.efConstruction
        let scratch = LinkBuffer(capacity: maxLinks0)
        while let nearest = candidates.popTop() {
            let (d, current) = (nearest.distance, nearest.id)
            if d > bound, results.count >= ef { break }
            // A stale upper-level link can lead to a slot reused by a node of a lower level.
            if level > 0, levelOf(current) < level { continue }
            lock(current)
            let list = links(current, level: level)
            let count = min(list.count, capacity(level: level))
            scratch.load(list, count: count)
            unlock(current)
            if let next = candidates.top?.id { record(next).prefetchLinks() }
            if count > 0, Int(scratch[0]) < allocated {
                visited.prefetch(scratch[0])
                record(scratch[0]).prefetchVector()
            }
            for i in 0..<count {
                let n = scratch[i]
                if i + 1 < count, Int(scratch[i + 1]) < allocated {
                    visited.prefetch(scratch[i + 1])
                    record(scratch[i + 1]).prefetchVector()
                }
                guard Int(n) < allocated, !visited.contains(n) else { continue }
                visited.insert(n)
                if level > 0, levelOf(n) < level { continue }
                let dn = distance(q, vectorOf(n))
                if results.count < ef || dn < bound {
                    candidates.push(Candidate(distance: dn, id: n))
                    // Without removals no record is flagged: skip reading the header. (A removal
                    // racing this insert may slip in as a neighbour; searches pass through it.)
                    if !hasDeletions || !isDeleted(n) {
                        results.push(Candidate(distance: dn, id: n))
                        if results.count > ef { results.popTop() }
                        bound = results.top?.distance ?? .infinity
                    }
                }
            }
        }
        return results.removeAllTopLast()
    }

    /// Beam search on level 0 for a query: traverse every node, collect only live nodes the filter
    /// accepts; nearest first, at most `ef`.
    func searchLevel0(
        _ q: UnsafeBufferPointer<Float>, entry: UInt32, entryDistance: Float, ef: Int,
        filter: (@Sendable (UInt64) -> Bool)?, allocated: Int, hasDeletions: Bool
    ) -> [Candidate] {
        let visitedList = visitedLists.acquire(size: allocated)
        defer { visitedLists.release(visitedList) }
        var candidates = Heap<NearestFirst>(minimumCapacity: 256)
        var results = Heap<FarthestFirst>(minimumCapacity: 256)
        // Without removals and filters every node is accepted: skip reading its flags.
        let checks = hasDeletions || filter != nil
        func accepts(_ id: UInt32) -> Bool {
            !checks || (!isDeleted(id) && (filter?(labelOf(id)) ?? true))
        }
        let visited = visitedList.current
        visited.insert(entry)
        candidates.push(Candidate(distance: entryDistance, id: entry))
        if accepts(entry) { results.push(Candidate(distance: entryDistance, id: entry)) }
        var bound = results.isEmpty ? Float.infinity : entryDistance
        while let nearest = candidates.popTop() {
            let (d, current) = (nearest.distance, nearest.id)
            if d > bound, results.count >= ef { break }
            let list = links(current, level: 0)
            let count = min(list.count, maxLinks0)
            // The next node to expand is likely the current top: fetch its links during this round.
            if let next = candidates.top?.id { record(next).prefetchLinks() }
            // Ask for the next neighbour's visited mark and vector while this one is scored.
            if count > 0, Int(list[0]) < allocated {
                visited.prefetch(list[0])
                record(list[0]).prefetchVector()
            }
            for i in 0..<count {
                let n = list[i]
                if i + 1 < count, Int(list[i + 1]) < allocated {
                    visited.prefetch(list[i + 1])
                    record(list[i + 1]).prefetchVector()
                }
                guard Int(n) < allocated, !visited.contains(n) else { continue }
                visited.insert(n)
                let dn = distance(q, vectorOf(n))
                if results.count < ef || dn < bound {
                    candidates.push(Candidate(distance: dn, id: n))
                    if accepts(n) {
                        results.push(Candidate(distance: dn, id: n))
                        if results.count > ef { results.popTop() }
                        bound = results.top?.distance ?? .infinity
                    }
                }
            }
        }
        return results.removeAllTopLast()
    }

    /// Estimates how many live labels `filter` accepts from a sample of at most 512 slots.
    func estimateMatches(_ filter: (@Sendable (UInt64) -> Bool), allocated: Int, live: Int) -> Int {
        let sample = min(512, allocated)
        guard sample > 0 else { return 0 }
        let step = max(1, allocated / sample)
        var seen = 0, accepted = 0
        var id = 0
        while id < allocated, seen < sample {
            if !isDeleted(UInt32(id)) {
                seen += 1
                if filter(labelOf(UInt32(id))) { accepted += 1 }
            }
            id += step
        }
        return seen == 0 ? 0 : Int((Double(accepted) / Double(seen) * Double(live)).rounded(.up))
    }
}
