@testable import QuarryStore
import QuarryTestSupport
import Testing

/// The allowed-chunk set answers as a plain `Set` would, in its bitmap form (dense ids) and its
/// hashed form (ids spread far apart), at the edges of its range and beyond.
@Suite struct ChunkIDSetTests {
    @Test(arguments: [(1, 40), (1_000_000, 3), (-50, 1), (0, 100_000)])
    func answersAsASetWould(base: Int64, stride: Int64) {
        var generator = SplitMix64(seed: UInt64(bitPattern: base &+ stride))
        var ids = Set<Int64>()
        for _ in 0..<500 { ids.insert(base + Int64(generator.next() % 2_000) * stride) }
        let set = ChunkIDSet(Array(ids))
        #expect(set.count == ids.count)
        let low = ids.min()!, high = ids.max()!
        for probe in [low - 1, low, high, high + 1, high + 64, low - 64, Int64.min, Int64.max] {
            #expect(set.contains(probe) == ids.contains(probe), "\\(probe)")
        }
        for _ in 0..<5_000 {
            let probe = base + Int64(generator.next() % 2_100) * stride - stride
            #expect(set.contains(probe) == ids.contains(probe), "\\(probe)")
        }
    }

    @Test func anEmptySetHoldsNothing() {
        let set = ChunkIDSet([Int64]())
        #expect(set.isEmpty && set.count == 0)
        #expect(!set.contains(0) && !set.contains(Int64.min))
    }

    @Test func idsAtTheEndsOfTheRangeDoNotOverflow() {
        let set = ChunkIDSet([Int64.min, Int64.max])
        #expect(set.contains(Int64.min) && set.contains(Int64.max) && !set.contains(0))
    }
}
