import CPrefetch
import Synchronization

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

    /// Starts a new search over `needed` slots: nothing is marked.
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

    /// The marks of the current search, for loops that hoist them out of the object.
    var current: VisitedMarks { VisitedMarks(marks: marks, stamp: generation) }
}

/// The marks of one search, valid until its list is reset: a node is visited when its mark
/// equals the stamp. The caller keeps ids below the size the list was reset to.
struct VisitedMarks {
    let marks: UnsafeMutablePointer<UInt16>
    let stamp: UInt16

    /// Whether `id` was visited in this search.
    @inline(__always)
    func contains(_ id: UInt32) -> Bool { marks[Int(id)] == stamp }

    /// Marks `id` visited.
    @inline(__always)
    func insert(_ id: UInt32) { marks[Int(id)] = stamp }

    /// Asks the CPU for the mark of `id`, for a node about to be checked.
    @inline(__always)
    func prefetch(_ id: UInt32) { quarry_prefetch(marks + Int(id)) }
}

/// Visited lists kept between searches, so that a search allocates none: each takes one and
/// gives it back.
struct VisitedListPool: ~Copyable {
    private let lists = Mutex<[VisitedList]>([])

    init() {}

    /// A list reset for `size` slots, from the pool or new.
    func acquire(size: Int) -> VisitedList {
        let list = lists.withLock { $0.popLast() } ?? VisitedList()
        list.reset(size: size)
        return list
    }

    /// Returns `list` to the pool.
    func release(_ list: VisitedList) {
        lists.withLock { $0.append(list) }
    }
}
