import Foundation
import QuarryKernels
import Testing

/// Scalar twins the SIMD and BLAS kernels are checked against.
enum Scalar {
    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        var sum: Double = 0
        for i in a.indices { sum += Double(a[i]) * Double(b[i]) }
        return Float(sum)
    }

    static func squaredL2(_ a: [Float], _ b: [Float]) -> Float {
        var sum: Double = 0
        for i in a.indices { sum += Double(a[i] - b[i]) * Double(a[i] - b[i]) }
        return Float(sum)
    }
}

struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A standard normal draw (Box–Muller).
    mutating func normal() -> Float {
        let u1 = Double(next() >> 11) / Double(1 << 53) + 1e-12, u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
}

func randomVector(_ n: Int, _ rng: inout SeededGenerator) -> [Float] {
    (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }
}

@Suite struct DistanceTests {
    @Test(arguments: [1, 7, 16, 17, 128, 383, 384])
    func dotMatchesScalarTwin(dimension: Int) throws {
        var rng = SeededGenerator(state: UInt64(dimension))
        let a = randomVector(dimension, &rng), b = randomVector(dimension, &rng)
        #expect(abs(try Distance.dot(a, b) - Scalar.dot(a, b)) < 1e-4)
        #expect(abs(try Distance.squaredL2(a, b) - Scalar.squaredL2(a, b)) < 1e-3)
    }

    @Test(arguments: [1, 7, 8, 9, 31, 32, 33, 40, 64, 100, 128, 383, 384])
    func pairKernelsMatchScalarTwins(length: Int) throws {
        var g = SeededGenerator(state: UInt64(length))
        for _ in 0..<20 {
            let a = (0..<length).map { _ in g.normal() }, b = (0..<length).map { _ in g.normal() }
            let tolerance = 1e-4 * Float(length)
            #expect(abs(try Distance.dot(a, b) - Scalar.dot(a, b)) <= tolerance)
            #expect(abs(try Distance.squaredL2(a, b) - Scalar.squaredL2(a, b)) <= tolerance)
        }
        #expect(try Distance.dot([], []) == 0)
    }

    @Test func mismatchedLengthsThrow() {
        #expect(throws: KernelError.self) { try Distance.dot([1, 2], [1]) }
        #expect(throws: KernelError.self) { try Distance.squaredL2([1], []) }
        #expect(throws: KernelError.self) { try Distance.dot([1, 2], [1, 2, 3]) }
    }

    @Test func normalizeGivesUnitLength() {
        var v: [Float] = [3, 4]
        Distance.normalize(&v)
        #expect(v == [0.6, 0.8])
        var zero: [Float] = [0, 0]
        Distance.normalize(&zero)
        #expect(zero == [0, 0])
    }
}

@Suite struct VectorMatrixTests {
    @Test func sgemvScoresMatchScalarTwin() throws {
        var rng = SeededGenerator(state: 42)
        let dimension = 384
        var matrix = VectorMatrix(dimension: dimension)
        var rows: [[Float]] = []
        for _ in 0..<257 {
            let row = randomVector(dimension, &rng)
            rows.append(row)
            try matrix.append(row)
        }
        let query = randomVector(dimension, &rng)
        let scores = try matrix.innerProducts(query)
        #expect(scores.count == 257)
        for (row, score) in zip(rows, scores) {
            #expect(abs(score - Scalar.dot(row, query)) < 1e-3)
        }
        let expected = rows.indices.sorted { Scalar.dot(rows[$0], query) > Scalar.dot(rows[$1], query) }.prefix(10)
        #expect(try matrix.nearest(to: query, k: 10).map(\.index) == Array(expected))
    }

    @Test func sgemmBatchMatchesSgemv() throws {
        var rng = SeededGenerator(state: 7)
        let matrix = try VectorMatrix(dimension: 32, values: randomVector(32 * 50, &rng))
        let queries = randomVector(32 * 3, &rng)
        let batch = try matrix.innerProducts(queries: queries)
        for q in 0..<3 {
            let single = try matrix.innerProducts(Array(queries[q * 32..<(q + 1) * 32]))
            for i in 0..<50 { #expect(abs(batch[q * 50 + i] - single[i]) < 1e-4) }
        }
    }

    @Test func shapeErrorsThrow() throws {
        #expect(throws: KernelError.self) { try VectorMatrix(dimension: 3, values: [1, 2]) }
        var matrix = VectorMatrix(dimension: 3)
        #expect(throws: KernelError.self) { try matrix.append([1]) }
        #expect(throws: KernelError.self) { try matrix.innerProducts([1, 2]) }
        #expect(try matrix.innerProducts([1, 2, 3]).isEmpty)
    }

    @Test func batchedStridedProductMatchesScalarTwin() throws {
        var g = SeededGenerator(state: 12)
        let dimension = 13, stride = 21, rows = 30, queryCount = 7
        let block = (0..<(rows - 1) * stride + dimension).map { i in i % stride < dimension ? g.normal() : .nan }
        let queries = (0..<queryCount * dimension).map { _ in g.normal() }
        var scores = [Float](repeating: -1, count: queryCount * rows)
        try block.withUnsafeBufferPointer { b in
            try queries.withUnsafeBufferPointer { q in
                try scores.withUnsafeMutableBufferPointer { s in
                    try VectorMatrix.stridedInnerProducts(
                        rows: b, rowCount: rows, stride: stride, dimension: dimension, queries: q, queryCount: queryCount, scores: s
                    )
                    // Shapes that do not fit are refused before BLAS sees them.
                    #expect(throws: KernelError.self) {
                        try VectorMatrix.stridedInnerProducts(
                            rows: b, rowCount: rows, stride: stride, dimension: dimension, queries: q, queryCount: queryCount + 1, scores: s
                        )
                    }
                    #expect(throws: KernelError.self) {  // stride shorter than a row
                        try VectorMatrix.stridedInnerProducts(
                            rows: b, rowCount: 2, stride: dimension - 1, dimension: dimension, queries: q, queryCount: queryCount, scores: s
                        )
                    }
                    #expect(throws: KernelError.self) {  // rows far past the end of the block
                        try VectorMatrix.stridedInnerProducts(
                            rows: b, rowCount: Int(Int32.max), stride: Int(Int32.max), dimension: dimension, queries: q,
                            queryCount: queryCount, scores: s
                        )
                    }
                    #expect(throws: KernelError.self) {
                        try VectorMatrix.stridedInnerProducts(
                            rows: b, rowCount: rows + 1, stride: stride, dimension: dimension, queries: q, queryCount: queryCount, scores: s
                        )
                    }
                    #expect(throws: KernelError.self) {
                        try VectorMatrix.stridedInnerProducts(
                            rows: b, rowCount: rows, stride: stride, dimension: dimension, queries: q, queryCount: queryCount,
                            scores: UnsafeMutableBufferPointer(rebasing: s[0..<(queryCount * rows - 1)])
                        )
                    }
                }
            }
        }
        for qi in 0..<queryCount {
            let query = Array(queries[qi * dimension..<(qi + 1) * dimension])
            for r in 0..<rows {
                let row = Array(block[r * stride..<r * stride + dimension])
                #expect(abs(scores[qi * rows + r] - Scalar.dot(row, query)) <= 1e-3)
            }
        }
    }
}

@Suite struct TopKTests {
    @Test func selectsLargestBestFirstWithStableTies() {
        let scores: [Float] = [0.1, 0.9, 0.5, 0.9, -1, 0.7]
        let top = TopK.largest(scores, k: 3)
        #expect(top.map(\.index) == [1, 3, 5])
        #expect(top.map(\.score) == [0.9, 0.9, 0.7])
        #expect(TopK.largest(scores, k: 0).isEmpty)
        #expect(TopK.largest(scores, k: 100).count == 6)
    }

    @Test func matchesFullSortOnRandomInput() {
        var rng = SeededGenerator(state: 3)
        let scores = randomVector(1000, &rng)
        let expected = scores.indices.sorted { scores[$0] > scores[$1] }.prefix(25)
        #expect(TopK.largest(scores, k: 25).map(\.index) == Array(expected))
    }

    @Test func aRunningSelectionKeepsWhatTheWholeSelectionKeeps() {
        var rng = SeededGenerator(state: 11)
        let scores = randomVector(1000, &rng)
        for k in [0, 1, 25, 2000] {
            var running = TopK.Running(k: k)
            // Fed out of index order, as rows of a store arrive.
            for index in scores.indices.reversed() { running.offer(index: index, score: scores[index]) }
            let kept = running.best()
            #expect(kept.map(\.index) == TopK.largest(scores, k: k).map(\.index), "k \(k)")
        }
    }
}

@Suite struct HeapTests {
    enum SmallestFirst: HeapOrder {
        static func ranksAbove(_ a: Float, _ b: Float) -> Bool { a < b }
    }

    enum LargestFirst: HeapOrder {
        static func ranksAbove(_ a: Float, _ b: Float) -> Bool { a > b }
    }

    @Test func popsInTheOrderOfASort() {
        var rng = SeededGenerator(state: 5)
        let values = randomVector(500, &rng)
        var heap = Heap<SmallestFirst>()
        for v in values { heap.push(v) }
        #expect(heap.count == 500)
        #expect(heap.top == values.min())
        var popped: [Float] = []
        while let v = heap.popTop() { popped.append(v) }
        #expect(popped == values.sorted())
        #expect(heap.isEmpty && heap.top == nil && heap.popTop() == nil)
    }

    @Test(arguments: [1, 10, 100, 500, 600])
    func keepsTheBestLikeASort(k: Int) {
        var rng = SeededGenerator(state: 6)
        let values = randomVector(500, &rng)
        // The worst kept on top: the k smallest stay, the largest of them on top.
        var heap = Heap<LargestFirst>(minimumCapacity: k)
        for v in values { heap.insert(v, keepingBest: k) }
        let expected = Array(values.sorted().prefix(k))
        #expect(heap.count == expected.count)
        #expect(heap.top == expected.last)
        #expect(heap.removeAllTopLast() == expected)
        #expect(heap.isEmpty)
    }
}
