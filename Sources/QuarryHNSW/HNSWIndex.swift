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
/// contiguous block (`NodeRecord`). Records live in segments that never move, so searches can run
/// while the index grows. Upper-level links (rare: a node reaches level 1 with probability `1/m`)
/// are kept per node in a separate allocation.
///
/// Concurrency: any number of `search` calls may run while `insert`/`remove` run on other
/// threads. Writers serialise per node on striped link locks and take the global lock only for the
/// label table and the entry point; a node's vector and links are written before any other node
/// links to it, and its levels are published bottom-up, so a search that reaches it on any level
/// finds it linked on that level and every level below. Searches take no locks on the graph;
/// they read link lists that writers may be replacing, which on the platforms Quarry runs on
/// (x86-64 and arm64, 4-byte aligned loads) yields the old or the new neighbour id, both valid.
///
/// The algorithms live beside this file: `HNSWIndex+Insert.swift`, `HNSWIndex+Search.swift`,
/// `HNSWIndex+Delete.swift`, `HNSWExactSearch.swift` and `HNSWPersistence.swift`.
public final class HNSWIndex: @unchecked Sendable {
    /// Length of every vector.
    public let dimension: Int
    /// The distance.
    public let metric: HNSWMetric
    /// Construction and default search parameters.
    public let parameters: HNSWParameters

    let maxLinks: Int
    let maxLinks0: Int
    let layout: NodeLayout
    let levelMultiplier: Double

    static let segmentShift = 14
    static let segmentCapacity = 1 << segmentShift
    static let maxSegments = 1 << 16
    static let lockCount = 4096

    private let segments: UnsafeMutablePointer<UnsafeMutableRawPointer?>
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
    let visitedLists = VisitedListPool()

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
        layout = NodeLayout(dimension: dimension, maxLinks0: maxLinks0)
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
        return allocated * layout.size + upperLinks + labelCount * 16
    }

    // MARK: Records

    /// The record of slot `id`.
    @inline(__always)
    func record(_ id: UInt32) -> NodeRecord {
        let index = Int(id)
        // Segments exist for every id below `count`, which is all a caller can hold.
        let segment = segments[index >> Self.segmentShift].unsafelyUnwrapped
        return NodeRecord(segment + (index & (Self.segmentCapacity - 1)) * layout.size, layout)
    }

    @inline(__always)
    func labelOf(_ id: UInt32) -> UInt64 { record(id).label }

    @inline(__always)
    func levelOf(_ id: UInt32) -> Int { record(id).level }

    @inline(__always)
    func isDeleted(_ id: UInt32) -> Bool { record(id).isDeleted }

    @inline(__always)
    func vectorOf(_ id: UInt32) -> UnsafeBufferPointer<Float> { record(id).vector }

    /// The link list of `id` at `level`: in the record on level 0, in the node's upper-link
    /// allocation above.
    @inline(__always)
    func links(_ id: UInt32, level: Int) -> LinkList {
        if level == 0 { return record(id).links }
        return LinkList(upperLinks(id).unsafelyUnwrapped + (level - 1) * (1 + maxLinks))
    }

    /// Links a level can hold: `2m` on level 0, `m` above.
    @inline(__always)
    func capacity(level: Int) -> Int { level == 0 ? maxLinks0 : maxLinks }

    /// The vectors of the segment holding slot `first` (a multiple of the segment capacity), as
    /// rows `stride` floats apart for a strided BLAS product; `nil` when the segment is missing.
    func segmentVectors(from first: Int) -> (rows: UnsafeBufferPointer<Float>, stride: Int)? {
        guard let segment = segments[first >> Self.segmentShift] else { return nil }
        let stride = layout.size / MemoryLayout<Float>.stride
        let floats = Self.segmentCapacity * stride - layout.vectorOffset / MemoryLayout<Float>.stride
        let base = (segment + layout.vectorOffset).assumingMemoryBound(to: Float.self)
        return (UnsafeBufferPointer(start: base, count: floats), stride)
    }

    /// The upper-level links of `id` as stored: `level × (1 + m)` `UInt32`s, for the index file.
    func upperLinkBytes(_ id: UInt32, level: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: upperLinks(id), count: level * (1 + maxLinks) * 4)
    }

    @inline(__always)
    private func upperLinks(_ id: UInt32) -> UnsafeMutablePointer<UInt32>? {
        let index = Int(id)
        return upperSegments[index >> Self.segmentShift].unsafelyUnwrapped[index & (Self.segmentCapacity - 1)]
    }

    func lock(_ id: UInt32) { pthread_mutex_lock(linkLocks + Int(id) % Self.lockCount) }
    func unlock(_ id: UInt32) { pthread_mutex_unlock(linkLocks + Int(id) % Self.lockCount) }

    /// The distance between two vectors of `dimension` floats under the index's metric.
    @inline(__always)
    func distance(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        // Both are `dimension` floats: the query was checked on entry, stored vectors are records.
        let x = a.baseAddress.unsafelyUnwrapped, y = b.baseAddress.unsafelyUnwrapped
        switch metric {
        case .l2: return Distance.squaredL2Unchecked(x, y, count: dimension)
        case .cosine, .innerProduct: return 1 - Distance.dotUnchecked(x, y, count: dimension)
        }
    }

    // MARK: Allocation

    /// Makes sure the segment holding `id` exists. Called under the state lock.
    /// - Throws: `HNSWError.outOfMemory` when the segment cannot be allocated.
    func ensureSegment(for id: Int) throws {
        let s = id >> Self.segmentShift
        guard segments[s] == nil else { return }
        // Left untouched: a record is written whole when its slot is claimed, so the pages of a
        // large segment become resident only as the index grows into them.
        let segment = try HugePages.allocate(byteCount: Self.segmentCapacity * layout.size)
        let upper = UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>.allocate(capacity: Self.segmentCapacity)
        upper.initialize(repeating: nil, count: Self.segmentCapacity)
        upperSegments[s] = upper
        segments[s] = segment
    }

    /// Writes a node's record (and upper-link storage) for a fresh or reused slot.
    func writeNode(_ id: UInt32, label: UInt64, level: Int, vector: UnsafeBufferPointer<Float>) {
        record(id).initialize(label: label, level: level, vector: vector)
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
}
