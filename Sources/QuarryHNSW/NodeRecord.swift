import CPrefetch

/// Where the fields of a node's record lie, for one dimension and level-0 link capacity: the one
/// place the record layout is decided (and the index file stores records as laid out here).
///
/// A record is `label: UInt64`, `flags: UInt32` (level in the low byte, the removed flag in the
/// top bit), the level-0 link list (a `UInt32` count, then room for `maxLinks0` ids), then the
/// vector, 16-byte aligned; the whole record is padded to 16 bytes.
struct NodeLayout {
    static let labelOffset = 0
    static let flagsOffset = 8
    static let linksOffset = 12
    static let levelMask: UInt32 = 0xFF
    static let deletedFlag: UInt32 = 0x8000_0000

    /// Floats in the vector.
    let dimension: Int
    /// Byte offset of the vector.
    let vectorOffset: Int
    /// Bytes in one record.
    let size: Int

    init(dimension: Int, maxLinks0: Int) {
        self.dimension = dimension
        let linksEnd = Self.linksOffset + 4 * (1 + maxLinks0)
        vectorOffset = (linksEnd + 15) & ~15
        size = (vectorOffset + 4 * dimension + 15) & ~15
    }
}

/// A typed view of one node's record in a segment: the only code that reads or writes a record's
/// bytes. It holds no memory of its own; the index keeps the segments alive.
struct NodeRecord {
    let raw: UnsafeMutableRawPointer
    let layout: NodeLayout

    @inline(__always)
    init(_ raw: UnsafeMutableRawPointer, _ layout: NodeLayout) {
        self.raw = raw
        self.layout = layout
    }

    /// The caller's label.
    @inline(__always)
    var label: UInt64 { raw.load(fromByteOffset: NodeLayout.labelOffset, as: UInt64.self) }

    @inline(__always)
    var flags: UInt32 { raw.load(fromByteOffset: NodeLayout.flagsOffset, as: UInt32.self) }

    /// The highest level the node is linked on.
    @inline(__always)
    var level: Int { Int(flags & NodeLayout.levelMask) }

    /// Whether the node was removed (a tombstone until its slot is reused).
    @inline(__always)
    var isDeleted: Bool {
        get { flags & NodeLayout.deletedFlag != 0 }
        nonmutating set {
            let flags = self.flags
            raw.storeBytes(
                of: newValue ? flags | NodeLayout.deletedFlag : flags & ~NodeLayout.deletedFlag,
                toByteOffset: NodeLayout.flagsOffset, as: UInt32.self
            )
        }
    }

    /// Whether flag bits other than the level and the removed flag are set (never, in a record
    /// this build wrote).
    var hasUnknownFlags: Bool { flags & ~(NodeLayout.levelMask | NodeLayout.deletedFlag) != 0 }

    /// The level-0 link list.
    @inline(__always)
    var links: LinkList { LinkList((raw + NodeLayout.linksOffset).assumingMemoryBound(to: UInt32.self)) }

    /// The vector.
    @inline(__always)
    var vector: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: (raw + layout.vectorOffset).assumingMemoryBound(to: Float.self), count: layout.dimension)
    }

    /// The record's bytes as they sit in memory (and in the index file).
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: raw, count: layout.size) }

    /// Writes a fresh record: the label, the level, no links, and `vector` (`dimension` floats).
    func initialize(label: UInt64, level: Int, vector: UnsafeBufferPointer<Float>) {
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: layout.size)
        raw.storeBytes(of: label, toByteOffset: NodeLayout.labelOffset, as: UInt64.self)
        raw.storeBytes(of: UInt32(level), toByteOffset: NodeLayout.flagsOffset, as: UInt32.self)
        raw.storeBytes(of: UInt32(0), toByteOffset: NodeLayout.linksOffset, as: UInt32.self)
        if let base = vector.baseAddress { (raw + layout.vectorOffset).copyMemory(from: base, byteCount: 4 * layout.dimension) }
    }

    /// Overwrites the record with `bytes` (a record read from an index file, `layout.size` bytes).
    func overwrite(with bytes: UnsafeRawBufferPointer) {
        UnsafeMutableRawBufferPointer(start: raw, count: layout.size).copyMemory(from: bytes)
    }

    /// Asks the CPU for the record's first two cache lines (label, flags and level-0 links), for
    /// a node about to be expanded.
    @inline(__always)
    func prefetchLinks() {
        quarry_prefetch(raw)
        quarry_prefetch(raw + 64)
    }

    /// Asks the CPU for the start of the vector, for a node about to be scored.
    @inline(__always)
    func prefetchVector() {
        quarry_prefetch(raw + layout.vectorOffset)
    }
}

/// A typed view of one link list, on level 0 inside a record or on an upper level in the node's
/// own allocation: a `UInt32` count, then room for the level's capacity of node ids.
///
/// Searches read link lists without a lock while writers replace them: a writer stores the ids
/// before the count, so a reader sees the old count or the new one, each with valid ids.
struct LinkList {
    let base: UnsafeMutablePointer<UInt32>

    @inline(__always)
    init(_ base: UnsafeMutablePointer<UInt32>) { self.base = base }

    /// Number of links, as stored (callers clamp it to the level's capacity where a stale or
    /// damaged count must not send them past the list).
    @inline(__always)
    var count: Int { Int(base.pointee) }

    /// The `i`-th neighbour.
    @inline(__always)
    subscript(i: Int) -> UInt32 { base[1 + i] }

    /// Replaces the links with `neighbours`: the ids first, then the count.
    func assign(_ neighbours: [Candidate]) {
        for (i, n) in neighbours.enumerated() { base[1 + i] = n.id }
        base.pointee = UInt32(neighbours.count)
    }

    /// Appends `id` to a list with room for it.
    func append(_ id: UInt32) {
        let count = base.pointee
        base[1 + Int(count)] = id
        base.pointee = count + 1
    }
}

/// Room for the ids of one link list, copied out under the node's lock so that they can be
/// scored after the lock is released.
struct LinkBuffer: ~Copyable {
    private let ids: UnsafeMutablePointer<UInt32>

    init(capacity: Int) { ids = .allocate(capacity: capacity) }

    deinit { ids.deallocate() }

    /// Copies the first `count` ids of `list` (at most the capacity).
    @inline(__always)
    func load(_ list: LinkList, count: Int) {
        ids.update(from: list.base + 1, count: count)
    }

    /// The `i`-th id copied.
    @inline(__always)
    subscript(i: Int) -> UInt32 { ids[i] }
}
