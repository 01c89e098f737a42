import CPrefetch
import Foundation
import QuarryKernels
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A hierarchical navigable small-world graph (Malkov & Yashunin) over float vectors.
///
/// Layout, as hnswlib keeps it for locality: every node is one fixed-size record holding its
/// label, level, level-0 link count and links (up to `2m`), and its vector, so that a hop reads one
/// contiguous block. Records live in segments that never move, so searches can run while the
/// index grows. Upper-level links (rare: a node reaches level 1 with probability `1/m`) are kept
/// per node in a separate allocation.
///
/// Concurrency: any number of `search` calls may run while `insert`/`remove` run on other
/// threads. Writers serialise per node on striped link locks and take the global lock only for the
/// label table and the entry point; a node's vector and links are written before any other node
/// links to it, and its levels are published bottom-up, so a search that reaches it on any level
/// finds it linked on that level and every level below. Searches take no locks on the graph;
/// they read link lists that writers may be replacing, which on the platforms Quarry runs on
/// (x86-64 and arm64, 4-byte aligned loads) yields the old or the new neighbour id, both valid.
public final class HNSWIndex: @unchecked Sendable {
    /// Length of every vector.
    public let dimension: Int
    /// The distance.
    public let metric: HNSWMetric
    /// Construction and default search parameters.
    public let parameters: HNSWParameters

    let maxLinks: Int
    let maxLinks0: Int
    let recordSize: Int
    let vectorOffset: Int
    let levelMultiplier: Double

    static let segmentShift = 14
    static let segmentCapacity = 1 << segmentShift
    static let maxSegments = 1 << 16
    static let lockCount = 4096

    let segments: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private let upperSegments: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>?>
    private let linkLocks: UnsafeMutablePointer<pthread_mutex_t>

    struct State {
        var count = 0
        var entryPoint: UInt32 = .max
        var maxLevel = -1
        var labels: [UInt64: UInt32] = [:]
        var freeIDs: [UInt32] = []
        var deletedCount = 0
        var lastStoreRowID: Int64 = 0
    }

    let state = Mutex(State())
    private let visitedPool = Mutex<[VisitedList]>([])

    /// Creates an empty index.
    /// - Throws: `HNSWError.invalidArgument` for a dimension outside 1…65,536.
    public init(dimension: Int, metric: HNSWMetric, parameters: HNSWParameters = HNSWParameters()) throws {
        guard (1...65_536).contains(dimension) else {
            throw HNSWError(.invalidArgument, "dimension \(dimension) is outside 1...65536")
        }
        self.dimension = dimension
        self.metric = metric
        self.parameters = parameters
        maxLinks = parameters.m
        maxLinks0 = 2 * parameters.m
        let linksEnd = 16 + 4 * maxLinks0
        vectorOffset = (linksEnd + 15) & ~15
        recordSize = (vectorOffset + 4 * dimension + 15) & ~15
        levelMultiplier = 1 / log(Double(parameters.m))
        segments = .allocate(capacity: Self.maxSegments)
        segments.initialize(repeating: nil, count: Self.maxSegments)
        upperSegments = .allocate(capacity: Self.maxSegments)
        upperSegments.initialize(repeating: nil, count: Self.maxSegments)
        linkLocks = .allocate(capacity: Self.lockCount)
        for i in 0..<Self.lockCount { pthread_mutex_init(linkLocks + i, nil) }
    }

    deinit {
        for s in 0..<Self.maxSegments {
            guard let segment = segments[s] else { break }
            HugePages.deallocate(segment)
            if let upper = upperSegments[s] {
                for i in 0..<Self.segmentCapacity { upper[i]?.deallocate() }
                upper.deallocate()
            }
        }
        segments.deallocate()
        upperSegments.deallocate()
        for i in 0..<Self.lockCount { pthread_mutex_destroy(linkLocks + i) }
        linkLocks.deallocate()
    }

    // MARK: Public API

    /// Number of live (not removed) vectors.
    public var count: Int {
        state.withLock { $0.labels.count }
    }

    /// The store row id the index is known to be up to date with (persisted in the file).
    public var lastStoreRowID: Int64 {
        get { state.withLock { $0.lastStoreRowID } }
        set { state.withLock { $0.lastStoreRowID = newValue } }
    }

    /// Whether `label` is in the index.
    public func contains(_ label: UInt64) -> Bool {
        state.withLock { $0.labels[label] != nil }
    }

    /// Every live label.
    public var labels: [UInt64] {
        state.withLock { Array($0.labels.keys) }
    }

    /// Bytes held by the graph and vectors (records, upper links, label table).
    public var memoryBytes: Int {
        let (allocated, upperLinks, labelCount) = state.withLock { s -> (Int, Int, Int) in
            var upper = 0
            for id in 0..<s.count {
                let level = levelOf(UInt32(id))
                if level > 0 { upper += level * (1 + maxLinks) * 4 }
            }
            return (s.count, upper, s.labels.count)
        }
        return allocated * recordSize + upperLinks + labelCount * 16
    }

    /// Inserts a vector under `label`.
    /// - Throws: `HNSWError.invalidArgument` for a wrong dimension or a non-finite value,
    ///   `.duplicateLabel` when the label is present.
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

    /// Removes `label`: it is no longer returned, its neighbours are re-linked around it, and
    /// its slot is reused by a later insert. Removing an absent label does nothing.
    /// - Returns: whether the label was present.
    @discardableResult
    public func remove(_ label: UInt64) -> Bool {
        guard let id = state.withLock({ $0.labels[label] }) else { return false }
        setDeleted(id, true)
        repairAround(id)
        state.withLock { s in
            s.labels[label] = nil
            s.deletedCount += 1
            if s.entryPoint == id { replaceEntryPoint(&s, removed: id) }
            s.freeIDs.append(id)
        }
        return true
    }

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

    /// Exact nearest neighbours over every live vector the filter accepts, as ground truth and as
    /// the fallback for selective filters.
    public func exactSearch(_ query: [Float], k: Int, filter: (@Sendable (UInt64) -> Bool)? = nil) throws -> [HNSWResult] {
        guard query.count == dimension else {
            throw HNSWError(.invalidArgument, "query has dimension \(query.count), the index \(dimension)")
        }
        var prepared = query
        if metric == .cosine { Distance.normalize(&prepared) }
        let allocated = state.withLock { $0.count }
        return prepared.withUnsafeBufferPointer { exactSearch($0, k: k, filter: filter, allocated: allocated) }
    }

    // MARK: Records

    @inline(__always)
    func record(_ id: UInt32) -> UnsafeMutableRawPointer {
        let index = Int(id)
        // Segments exist for every id below `count`, which is all a caller can hold.
        return segments[index >> Self.segmentShift].unsafelyUnwrapped + (index & (Self.segmentCapacity - 1)) * recordSize
    }

    @inline(__always)
    func labelOf(_ id: UInt32) -> UInt64 { record(id).load(as: UInt64.self) }

    @inline(__always)
    func levelOf(_ id: UInt32) -> Int { Int(record(id).load(fromByteOffset: 8, as: UInt32.self) & 0xFF) }

    @inline(__always)
    func isDeleted(_ id: UInt32) -> Bool { record(id).load(fromByteOffset: 8, as: UInt32.self) & 0x8000_0000 != 0 }

    func setDeleted(_ id: UInt32, _ deleted: Bool) {
        let flags = record(id).load(fromByteOffset: 8, as: UInt32.self)
        record(id).storeBytes(of: deleted ? flags | 0x8000_0000 : flags & 0x7FFF_FFFF, toByteOffset: 8, as: UInt32.self)
    }

    @inline(__always)
    func vectorOf(_ id: UInt32) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: (record(id) + vectorOffset).assumingMemoryBound(to: Float.self), count: dimension)
    }

    /// The link list of `id` at `level`: a count followed by up to `maxLinks(level)` ids.
    @inline(__always)
    func links(_ id: UInt32, level: Int) -> UnsafeMutablePointer<UInt32> {
        if level == 0 { return (record(id) + 12).assumingMemoryBound(to: UInt32.self) }
        let index = Int(id)
        let upper = upperSegments[index >> Self.segmentShift].unsafelyUnwrapped[index & (Self.segmentCapacity - 1)]
        return upper.unsafelyUnwrapped + (level - 1) * (1 + maxLinks)
    }

    @inline(__always)
    func capacity(level: Int) -> Int { level == 0 ? maxLinks0 : maxLinks }

    func lock(_ id: UInt32) { pthread_mutex_lock(linkLocks + Int(id) % Self.lockCount) }
    func unlock(_ id: UInt32) { pthread_mutex_unlock(linkLocks + Int(id) % Self.lockCount) }

    @inline(__always)
    func distance(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        // Both are `dimension` floats: the query was checked on entry, stored vectors are records.
        let x = a.baseAddress.unsafelyUnwrapped, y = b.baseAddress.unsafelyUnwrapped
        switch metric {
        case .l2: return Distance.squaredL2Unchecked(x, y, count: dimension)
        case .cosine, .innerProduct: return 1 - Distance.dotUnchecked(x, y, count: dimension)
        }
    }

    /// Makes sure the segment holding `id` exists. Called under the state lock.
    func ensureSegment(for id: Int) {
        let s = id >> Self.segmentShift
        guard segments[s] == nil else { return }
        // Left untouched: a record is written whole when its slot is claimed, so the pages of a
        // large segment become resident only as the index grows into them.
        let segment = HugePages.allocate(byteCount: Self.segmentCapacity * recordSize)
        let upper = UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>.allocate(capacity: Self.segmentCapacity)
        upper.initialize(repeating: nil, count: Self.segmentCapacity)
        upperSegments[s] = upper
        segments[s] = segment
    }

    /// Writes a node's record (and upper-link storage) for a fresh or reused slot.
    func writeNode(_ id: UInt32, label: UInt64, level: Int, vector: UnsafeBufferPointer<Float>) {
        let r = record(id)
        r.initializeMemory(as: UInt8.self, repeating: 0, count: recordSize)
        r.storeBytes(of: label, as: UInt64.self)
        r.storeBytes(of: UInt32(level), toByteOffset: 8, as: UInt32.self)
        r.storeBytes(of: UInt32(0), toByteOffset: 12, as: UInt32.self)
        if let base = vector.baseAddress { (r + vectorOffset).copyMemory(from: base, byteCount: 4 * dimension) }
        let index = Int(id)
        let upperTable = upperSegments[index >> Self.segmentShift].unsafelyUnwrapped
        upperTable[index & (Self.segmentCapacity - 1)]?.deallocate()
        upperTable[index & (Self.segmentCapacity - 1)] = nil
        if level > 0 {
            let storage = UnsafeMutablePointer<UInt32>.allocate(capacity: level * (1 + maxLinks))
            storage.initialize(repeating: 0, count: level * (1 + maxLinks))
            upperTable[index & (Self.segmentCapacity - 1)] = storage
        }
    }

    /// Installs a loaded node's upper-level links (`level × (1 + m)` little-endian UInt32s).
    func installUpperLinks(_ id: UInt32, level: Int, from bytes: UnsafeRawBufferPointer) {
        let index = Int(id)
        let table = upperSegments[index >> Self.segmentShift].unsafelyUnwrapped
        let count = level * (1 + maxLinks)
        let storage = UnsafeMutablePointer<UInt32>.allocate(capacity: count)
        for i in 0..<count { storage[i] = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        table[index & (Self.segmentCapacity - 1)]?.deallocate()
        table[index & (Self.segmentCapacity - 1)] = storage
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

    // MARK: Insert

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
                ensureSegment(for: s.count)
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
            let own = links(id, level: l)
            own.pointee = UInt32(neighbours.count)
            for (i, n) in neighbours.enumerated() { own[1 + i] = n.id }
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
        let count = Int(list.pointee)
        for i in 0..<count where list[1 + i] == newID { return }
        if count < capacity(level: level) {
            list[1 + count] = newID
            list.pointee = UInt32(count + 1)
            return
        }
        let base = vectorOf(node)
        var candidates = [Candidate]()
        candidates.reserveCapacity(count + 1)
        candidates.append(Candidate(distance: newDistance, id: newID))
        for i in 0..<count {
            let other = list[1 + i]
            candidates.append(Candidate(distance: distance(base, vectorOf(other)), id: other))
        }
        candidates.sort { $0.distance < $1.distance }
        let kept = selectNeighbours(candidates, limit: capacity(level: level))
        for (i, n) in kept.enumerated() { list[1 + i] = n.id }
        list.pointee = UInt32(kept.count)
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

    // MARK: Search

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
            let count = min(Int(list.pointee), capacity(level: level))
            var best = current
            var bestDistance = currentDistance
            for i in 0..<count {
                let candidate = list[1 + i]
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
        let visited = acquireVisited(allocated)
        defer { releaseVisited(visited) }
        var candidates = Heap<NearestFirst>(minimumCapacity: 256)
        var results = Heap<FarthestFirst>(minimumCapacity: 256)
        let (marks, stamp) = visited.raw
        marks[Int(entry)] = stamp
        marks[Int(exclude)] = stamp
        candidates.push(Candidate(distance: entryDistance, id: entry))
        if !isDeleted(entry), entry != exclude, levelOf(entry) >= level {
            results.push(Candidate(distance: entryDistance, id: entry))
        }
        var bound = results.isEmpty ? Float.infinity : entryDistance
        let ef = parameters.efConstruction
        let scratch = UnsafeMutablePointer<UInt32>.allocate(capacity: maxLinks0)
        defer { scratch.deallocate() }
        while let nearest = candidates.popTop() {
            let (d, current) = (nearest.distance, nearest.id)
            if d > bound, results.count >= ef { break }
            // A stale upper-level link can lead to a slot reused by a node of a lower level.
            if level > 0, levelOf(current) < level { continue }
            lock(current)
            let list = links(current, level: level)
            let count = min(Int(list.pointee), capacity(level: level))
            scratch.update(from: list + 1, count: count)
            unlock(current)
            if let next = candidates.top?.id {
                quarry_prefetch(record(next))
                quarry_prefetch(record(next) + 64)
            }
            if count > 0, Int(scratch[0]) < allocated {
                quarry_prefetch(marks + Int(scratch[0]))
                quarry_prefetch(record(scratch[0]) + vectorOffset)
            }
            for i in 0..<count {
                let n = scratch[i]
                if i + 1 < count, Int(scratch[i + 1]) < allocated {
                    quarry_prefetch(marks + Int(scratch[i + 1]))
                    quarry_prefetch(record(scratch[i + 1]) + vectorOffset)
                }
                guard Int(n) < allocated, marks[Int(n)] != stamp else { continue }
                marks[Int(n)] = stamp
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
        let visited = acquireVisited(allocated)
        defer { releaseVisited(visited) }
        var candidates = Heap<NearestFirst>(minimumCapacity: 256)
        var results = Heap<FarthestFirst>(minimumCapacity: 256)
        // Without removals and filters every node is accepted: skip reading its flags.
        let checks = hasDeletions || filter != nil
        func accepts(_ id: UInt32) -> Bool {
            !checks || (!isDeleted(id) && (filter?(labelOf(id)) ?? true))
        }
        let (marks, stamp) = visited.raw
        marks[Int(entry)] = stamp
        candidates.push(Candidate(distance: entryDistance, id: entry))
        if accepts(entry) { results.push(Candidate(distance: entryDistance, id: entry)) }
        var bound = results.isEmpty ? Float.infinity : entryDistance
        while let nearest = candidates.popTop() {
            let (d, current) = (nearest.distance, nearest.id)
            if d > bound, results.count >= ef { break }
            let list = links(current, level: 0)
            let count = min(Int(list.pointee), maxLinks0)
            // The next node to expand is likely the current top: fetch its links during this round.
            if let next = candidates.top?.id {
                quarry_prefetch(record(next))
                quarry_prefetch(record(next) + 64)
            }
            // Ask for the next neighbour's visited mark and vector while this one is scored.
            if count > 0, Int(list[1]) < allocated {
                quarry_prefetch(marks + Int(list[1]))
                quarry_prefetch(record(list[1]) + vectorOffset)
            }
            for i in 0..<count {
                let n = list[1 + i]
                if i + 1 < count, Int(list[2 + i]) < allocated {
                    quarry_prefetch(marks + Int(list[2 + i]))
                    quarry_prefetch(record(list[2 + i]) + vectorOffset)
                }
                guard Int(n) < allocated, marks[Int(n)] != stamp else { continue }
                marks[Int(n)] = stamp
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

    // MARK: Deletes

    /// Re-links the neighbours of a removed node around it, at every level, with the heuristic.
    func repairAround(_ removed: UInt32) {
        let top = levelOf(removed)
        for level in 0...top {
            lock(removed)
            let list = links(removed, level: level)
            let removedNeighbours = (0..<min(Int(list.pointee), capacity(level: level))).map { list[1 + $0] }
            unlock(removed)
            for neighbour in removedNeighbours where !isDeleted(neighbour) && levelOf(neighbour) >= level {
                lock(neighbour)
                let own = links(neighbour, level: level)
                let count = min(Int(own.pointee), capacity(level: level))
                let current = (0..<count).map { own[1 + $0] }
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
                let kept = selectNeighbours(candidates, limit: capacity(level: level))
                for (i, n) in kept.enumerated() { own[1 + i] = n.id }
                own.pointee = UInt32(kept.count)
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

    /// A new index holding only the live vectors (tombstones and their slots gone), built with
    /// the same parameters.
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

    // MARK: Visited lists

    func acquireVisited(_ size: Int) -> VisitedList {
        let list = visitedPool.withLock { $0.popLast() } ?? VisitedList()
        list.reset(size: size)
        return list
    }

    func releaseVisited(_ list: VisitedList) {
        visitedPool.withLock { $0.append(list) }
    }
}

/// A reusable visited set: a generation stamp per node, so clearing is one increment. Stamps are
/// 16-bit, as in hnswlib, so that the marks of a few hundred thousand nodes stay in L2 cache.
final class VisitedList: @unchecked Sendable {
    private var marks: UnsafeMutablePointer<UInt16> = .allocate(capacity: 1)
    private var size = 0
    private var generation: UInt16 = 0

    init() {
        marks.initialize(to: 0)
        size = 1
    }

    deinit { marks.deallocate() }

    func reset(size needed: Int) {
        if needed > size {
            marks.deallocate()
            let newSize = max(needed, size * 2)
            marks = .allocate(capacity: newSize)
            marks.initialize(repeating: 0, count: newSize)
            size = newSize
            generation = 0
        }
        generation &+= 1
        if generation == 0 {
            marks.update(repeating: 0, count: size)
            generation = 1
        }
    }

    @inline(__always) func mark(_ id: UInt32) { marks[Int(id)] = generation }
    @inline(__always) func isMarked(_ id: UInt32) -> Bool { marks[Int(id)] == generation }
    /// The marks and the current stamp, for loops that hoist them out of the object.
    var raw: (marks: UnsafeMutablePointer<UInt16>, generation: UInt16) { (marks, generation) }
}
