/// Selection of the k best-scoring entries without sorting everything.
public enum TopK {
    /// The indices and scores of the `k` largest values of `scores`, best first; ties go to the
    /// lower index so results are deterministic.
    public static func largest(_ scores: UnsafeBufferPointer<Float>, k: Int) -> [(index: Int, score: Float)] {
        let k = min(k, scores.count)
        guard k > 0 else { return [] }
        // A min-heap of the best k so far: the root is the weakest kept entry.
        var heap: [(index: Int, score: Float)] = []
        heap.reserveCapacity(k)
        func worse(_ a: (index: Int, score: Float), _ b: (index: Int, score: Float)) -> Bool {
            a.score < b.score || (a.score == b.score && a.index > b.index)
        }
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let left = 2 * i + 1, right = left + 1
                var smallest = i
                if left < heap.count, worse(heap[left], heap[smallest]) { smallest = left }
                if right < heap.count, worse(heap[right], heap[smallest]) { smallest = right }
                if smallest == i { return }
                heap.swapAt(i, smallest)
                i = smallest
            }
        }
        for i in 0..<scores.count {
            let entry = (index: i, score: scores[i])
            if heap.count < k {
                heap.append(entry)
                var child = heap.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard worse(heap[child], heap[parent]) else { break }
                    heap.swapAt(child, parent)
                    child = parent
                }
            } else if worse(heap[0], entry) {
                heap[0] = entry
                siftDown(0)
            }
        }
        return heap.sorted { worse($1, $0) }
    }

    /// The indices and scores of the `k` largest values of `scores`, best first.
    public static func largest(_ scores: [Float], k: Int) -> [(index: Int, score: Float)] {
        scores.withUnsafeBufferPointer { largest($0, k: k) }
    }
}
