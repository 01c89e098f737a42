import Synchronization

/// Visited lists kept between searches, so that a search allocates none: each takes one and
/// gives it back.
extension HNSWIndex {
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
