/// Selection of the k best-scoring entries without sorting everything.
public enum TopK {
    /// The order of the selection heap: the weakest kept entry on top (the lower score, and of
    /// equal scores the higher index), so that ties go to the lower index.
    enum WeakestFirst: HeapOrder {
        static func ranksAbove(_ a: (index: Int, score: Float), _ b: (index: Int, score: Float)) -> Bool {
            a.score < b.score || (a.score == b.score && a.index > b.index)
        }
    }

    /// The indices and scores of the `k` largest values of `scores`, best first; ties go to the
    /// lower index so results are deterministic.
    public static func largest(_ scores: UnsafeBufferPointer<Float>, k: Int) -> [(index: Int, score: Float)] {
        let k = min(k, scores.count)
        guard k > 0 else { return [] }
        var heap = Heap<WeakestFirst>(minimumCapacity: k)
        for i in 0..<scores.count {
            heap.insert((index: i, score: scores[i]), keepingBest: k)
        }
        return heap.removeAllTopLast()
    }

    /// The indices and scores of the `k` largest values of `scores`, best first.
    public static func largest(_ scores: [Float], k: Int) -> [(index: Int, score: Float)] {
        scores.withUnsafeBufferPointer { largest($0, k: k) }
    }
}

extension TopK {
    /// A selection of the `k` best-scoring entries fed one at a time (a scan of rows from the
    /// store), without keeping or sorting the rest; ties go to the lower index.
    public struct Running {
        private var heap: Heap<WeakestFirst>
        /// How many entries are kept.
        public let k: Int

        /// An empty selection of at most `k` entries.
        public init(k: Int) {
            self.k = max(0, k)
            self.heap = Heap(minimumCapacity: self.k)
        }

        /// Offers one entry; it is kept if it is among the `k` best so far.
        public mutating func offer(index: Int, score: Float) {
            guard k > 0 else { return }
            heap.insert((index: index, score: score), keepingBest: k)
        }

        /// The kept entries, best first.
        public consuming func best() -> [(index: Int, score: Float)] {
            heap.removeAllTopLast()
        }
    }
}
