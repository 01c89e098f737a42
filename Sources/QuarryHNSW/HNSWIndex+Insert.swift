import Foundation
import QuarryKernels
import Synchronization

/// Insert: claim a slot, descend greedily through the upper levels, choose neighbours on each
/// level by the paper's heuristic, then publish the links bottom-up.
extension HNSWIndex {
    /// Inserts a vector under `label`.
    /// - Throws: `HNSWError.invalidArgument` for a wrong dimension or a non-finite value or when
    ///   the index is full, `.duplicateLabel` when the label is present, `.outOfMemory` when the
    ///   records cannot be allocated.
    public func insert(_ vector: [Float], label: UInt64) throws {
        guard vector.count == dimension else {
            throw HNSWError(.invalidArgument, "vector has dimension \(vector.count), the index \(dimension)")
        }
        guard vector.allSatisfy(\.isFinite) else {
            throw HNSWError(.invalidArgument, "vector for label \(label) has a NaN or infinite value")
        }
        var prepared = vector
        if metric == .cosine { Distance.normalize(&prepared) }
        try prepared.withUnsafeBufferPointer { try insertPrepared($0, label: label) }
    }

    /// Inserts many vectors using `threads` cores.
    /// - Parameter vectors: `labels.count × dimension` floats, row by row.
    /// - Throws: as `insert`; on an error some vectors may already be in.
    public func insert(batch vectors: [Float], labels: [UInt64], threads: Int = 2) throws {
        guard vectors.count == labels.count * dimension else {
            throw HNSWError(.invalidArgument, "\(vectors.count) floats are not \(labels.count) vectors of \(dimension)")
        }
        let failure = Mutex<HNSWError?>(nil)
        let workers = max(1, min(threads, labels.count))
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < labels.count, failure.withLock({ $0 == nil }) else { return }
                do {
                    try insert(Array(vectors[i * dimension..<(i + 1) * dimension]), label: labels[i])
                } catch let error as HNSWError {
                    failure.withLock { $0 = $0 ?? error }
                } catch {
                    failure.withLock { $0 = $0 ?? HNSWError(.invalidArgument, "\(error)") }
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    func insertPrepared(_ vector: UnsafeBufferPointer<Float>, label: UInt64) throws {
        let level = drawLevel(label)
        let claimed: (id: UInt32, entry: UInt32, topLevel: Int)? = try state.withLock { s in
            guard s.labels[label] == nil else {
                throw HNSWError(.duplicateLabel, "label \(label) is already in the index")
            }
            let id: UInt32
            if let free = s.freeIDs.popLast() {
                id = free
                s.deletedCount -= 1
            } else {
                guard s.count < Self.maxSegments * Self.segmentCapacity - 1 else {
                    throw HNSWError(.invalidArgument, "the index is full")
                }
                id = UInt32(s.count)
                try ensureSegment(for: s.count)
                s.count += 1
            }
            s.labels[label] = id
            writeNode(id, label: label, level: level, vector: vector)
            if s.entryPoint == .max {
                s.entryPoint = id
                s.maxLevel = level
                return nil
            }
            return (id, s.entryPoint, s.maxLevel)
        }
        guard let (id, entry, topLevel) = claimed else { return }
        let q = vectorOf(id)
        var current = entry
        var currentDistance = distance(q, vectorOf(current))
        if topLevel > level {
            for l in stride(from: topLevel, to: level, by: -1) {
                (current, currentDistance) = greedyClosest(q, from: current, distance: currentDistance, level: l, locked: true)
            }
        }
        // Choose the neighbours top-down (each level's nearest seeds the next), then publish
        // bottom-up: a search that reaches the new node through a link on level l finds its links
        // on l and on every level below already in place, so it never meets a half-linked node.
        let linkedTop = min(level, topLevel)
        var chosen = [[Candidate]](repeating: [], count: linkedTop + 1)
        for l in stride(from: linkedTop, through: 0, by: -1) {
            let candidates = searchLevelForInsert(q, entry: current, entryDistance: currentDistance, level: l, exclude: id)
            chosen[l] = selectNeighbours(candidates, limit: maxLinks)
            if let closest = candidates.first {
                current = closest.id
                currentDistance = closest.distance
            }
        }
        for l in 0...linkedTop {
            let neighbours = chosen[l]
            lock(id)
            links(id, level: l).assign(neighbours)
            unlock(id)
            for n in neighbours { link(n.id, to: id, distance: n.distance, level: l) }
        }
        if level > topLevel {
            state.withLock { s in
                if level > s.maxLevel {
                    s.maxLevel = level
                    s.entryPoint = id
                }
            }
        }
    }

    /// Adds `newID` to the links of `node` at `level`, pruning by the heuristic when full.
    func link(_ node: UInt32, to newID: UInt32, distance newDistance: Float, level: Int) {
        lock(node)
        defer { unlock(node) }
        guard levelOf(node) >= level else { return }
        let list = links(node, level: level)
        let count = list.count
        for i in 0..<count where list[i] == newID { return }
        if count < capacity(level: level) {
            list.append(newID)
            return
        }
        let base = vectorOf(node)
        var candidates = [Candidate]()
        candidates.reserveCapacity(count + 1)
        candidates.append(Candidate(distance: newDistance, id: newID))
        for i in 0..<count {
            let other = list[i]
            candidates.append(Candidate(distance: distance(base, vectorOf(other)), id: other))
        }
        candidates.sort { $0.distance < $1.distance }
        list.assign(selectNeighbours(candidates, limit: capacity(level: level)))
    }

    /// The paper's heuristic: walking candidates nearest first, keep one only if it is closer to
    /// the base than to every neighbour kept so far. `candidates` must be sorted by distance.
    func selectNeighbours(_ candidates: [Candidate], limit: Int) -> [Candidate] {
        guard candidates.count > limit else { return candidates }
        var kept: [Candidate] = []
        kept.reserveCapacity(limit)
        for candidate in candidates {
            let v = vectorOf(candidate.id)
            var good = true
            for selected in kept where distance(v, vectorOf(selected.id)) < candidate.distance {
                good = false
                break
            }
            if good {
                kept.append(candidate)
                if kept.count == limit { break }
            }
        }
        return kept
    }

    /// A reproducible level for `label`: ⌊−ln U · mult⌋ with U drawn from the seed and the label.
    func drawLevel(_ label: UInt64) -> Int {
        var z = parameters.seed ^ (label &* 0x9E37_79B9_7F4A_7C15)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let u = (Double(z >> 11) + 0.5) / Double(1 << 53)
        return min(Int(-log(u) * levelMultiplier), 30)
    }
}
