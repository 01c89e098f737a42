import Foundation
import QuarryKernels
import Testing

@testable import QuarryHNSW

/// Exact search, single-query (SIMD pairs) and batched (strided sgemm), against a scalar twin.
@Suite struct HNSWExactSearchTests {
    static func scalarDot(_ a: [Float], _ b: [Float]) -> Float {
        var sum: Double = 0
        for i in a.indices { sum += Double(a[i]) * Double(b[i]) }
        return Float(sum)
    }

    static func scalarSquaredL2(_ a: [Float], _ b: [Float]) -> Float {
        var sum: Double = 0
        for i in a.indices { sum += Double(a[i] - b[i]) * Double(a[i] - b[i]) }
        return Float(sum)
    }

    static func randomVector(_ count: Int, _ g: inout SplitMix) -> [Float] {
        (0..<count).map { _ in g.normal() }
    }

    /// The single-query scan (SIMD pairs) and the batch scan (strided sgemm per segment) must
    /// both agree with a scalar scan over the same vectors.
    @Test(arguments: [HNSWMetric.cosine, .innerProduct, .l2])
    func exactSearchPathsMatchScalarTwin(metric: HNSWMetric) throws {
        // More than one segment, so the strided scan crosses a segment boundary.
        let count = HNSWIndex.segmentCapacity + 300
        let dimension = 8
        var g = SplitMix(state: 3)
        let vectors = (0..<count).map { _ in Self.randomVector(dimension, &g) }
        let index = try HNSWIndex(dimension: dimension, metric: metric, parameters: HNSWParameters(m: 4, efConstruction: 8))
        // Fill the records directly: the scan reads records, it does not need the graph's links.
        try index.state.withLock { s in
            for (i, v) in vectors.enumerated() {
                try index.ensureSegment(for: i)
                var prepared = v
                if metric == .cosine { Distance.normalize(&prepared) }
                prepared.withUnsafeBufferPointer { index.writeNode(UInt32(i), label: UInt64(i), level: 0, vector: $0) }
                s.labels[UInt64(i)] = UInt32(i)
            }
            s.count = count
            s.entryPoint = 0
            s.maxLevel = 0
        }
        index.record(5).isDeleted = true
        index.state.withLock { s in
            s.labels[5] = nil
            s.deletedCount = 1
        }
        func twin(_ query: [Float], k: Int, accept: (UInt64) -> Bool) -> [UInt64] {
            var q = query
            if metric == .cosine { Distance.normalize(&q) }
            let scored = vectors.indices.filter { $0 != 5 && accept(UInt64($0)) }.map { i -> (UInt64, Float) in
                var v = vectors[i]
                if metric == .cosine { Distance.normalize(&v) }
                return (UInt64(i), metric == .l2 ? Self.scalarSquaredL2(v, q) : 1 - Self.scalarDot(v, q))
            }
            return scored.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(k).map(\.0)
        }
        let broad: @Sendable (UInt64) -> Bool = { $0 % 2 == 0 }
        let narrow: @Sendable (UInt64) -> Bool = { $0 % 97 == 1 }
        let queries = (0..<5).map { _ in Self.randomVector(dimension, &g) }
        let batches = try [nil, broad, narrow].map { filter in try index.exactSearch(batch: queries.flatMap { $0 }, k: 10, filter: filter) }
        for (round, query) in queries.enumerated() {
            let all = try index.exactSearch(query, k: 10)
            let even = try index.exactSearch(query, k: 10, filter: broad)
            let few = try index.exactSearch(query, k: 10, filter: narrow)
            let expected = [twin(query, k: 10) { _ in true }, twin(query, k: 10) { $0 % 2 == 0 }, twin(query, k: 10) { $0 % 97 == 1 }]
            // Float sums in another order may swap near-ties: compare as sets of the first 10,
            // and the nearest exactly.
            for (i, found) in [all, even, few, batches[0][round], batches[1][round], batches[2][round]].enumerated() {
                let truth = expected[i % 3]
                #expect(found.count == 10, "round \(round), case \(i)")
                #expect(Set(found.map(\.label)).intersection(truth).count >= 9, "round \(round), case \(i)")
                #expect(found.first?.label == truth.first, "round \(round), case \(i)")
            }
            for (single, batch) in [(all, batches[0][round]), (even, batches[1][round]), (few, batches[2][round])] {
                for (a, b) in zip(single, batch) where a.label == b.label { #expect(abs(a.distance - b.distance) < 1e-3) }
            }
            #expect(all.allSatisfy { $0.label != 5 } && batches[0][round].allSatisfy { $0.label != 5 })
            #expect(even.allSatisfy { $0.label % 2 == 0 } && batches[1][round].allSatisfy { $0.label % 2 == 0 })
            #expect(few.allSatisfy { $0.label % 97 == 1 } && batches[2][round].allSatisfy { $0.label % 97 == 1 })
        }
        #expect(throws: HNSWError.self) { try index.exactSearch(batch: [1, 2, 3], k: 10) }
        #expect(try index.exactSearch(batch: [], k: 10).isEmpty)
    }
}
