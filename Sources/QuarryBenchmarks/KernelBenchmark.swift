import CBLAS
import QuarryKernels

/// Timings of the distance kernels against their BLAS counterparts, for `quarry bench kernels`:
/// where a SIMD loop wins and where BLAS does.
public enum KernelBenchmark {
    /// One comparison: nanoseconds per operation for the SIMD loop and for BLAS.
    public struct Row: Sendable, Codable {
        /// What was measured.
        public var operation: String
        /// Nanoseconds per operation with Quarry's SIMD loop.
        public var simdNanoseconds: Double
        /// Nanoseconds per operation with CBLAS.
        public var blasNanoseconds: Double
    }

    /// Runs the comparisons at `dimension` over `rows` stored vectors and `batch` queries.
    public static func run(dimension: Int = 384, rows: Int = 5_000, batch: Int = 32) -> [Row] {
        var seed: UInt32 = 1
        func next() -> Float {
            seed = seed &* 1_664_525 &+ 1_013_904_223
            return Float(seed >> 8) / Float(1 << 24) - 0.5
        }
        let matrix = (0..<rows * dimension).map { _ in next() }
        let queries = (0..<batch * dimension).map { _ in next() }
        var sink: Float = 0
        var results: [Row] = []

        // One pair: the traversal step of HNSW.
        let pairs = 200_000
        let pairSIMD = time(repeats: pairs) { i in
            matrix.withUnsafeBufferPointer { m in
                queries.withUnsafeBufferPointer { q in
                    let offset = (i % rows) * dimension
                    sink += Distance.dotUnchecked(
                        UnsafeBufferPointer(rebasing: m[offset..<offset + dimension]), UnsafeBufferPointer(rebasing: q[0..<dimension])
                    )
                }
            }
        }
        let pairBLAS = time(repeats: pairs) { i in
            matrix.withUnsafeBufferPointer { m in
                queries.withUnsafeBufferPointer { q in
                    sink += cblas_sdot(Int32(dimension), m.baseAddress! + (i % rows) * dimension, 1, q.baseAddress!, 1)
                }
            }
        }
        results.append(Row(operation: "one \(dimension)-d pair (dot)", simdNanoseconds: pairSIMD, blasNanoseconds: pairBLAS))

        // One query against every row: exact search.
        var scores = [Float](repeating: 0, count: rows)
        let scanSIMD = time(repeats: 200) { _ in
            matrix.withUnsafeBufferPointer { m in
                queries.withUnsafeBufferPointer { q in
                    let query = UnsafeBufferPointer(rebasing: q[0..<dimension])
                    for r in 0..<rows {
                        scores[r] = Distance.dotUnchecked(UnsafeBufferPointer(rebasing: m[r * dimension..<(r + 1) * dimension]), query)
                    }
                }
            }
        }
        let scanBLAS = time(repeats: 200) { _ in
            matrix.withUnsafeBufferPointer { m in
                queries.withUnsafeBufferPointer { q in
                    scores.withUnsafeMutableBufferPointer { s in
                        cblas_sgemv(
                            CblasRowMajor, CblasNoTrans, Int32(rows), Int32(dimension), 1, m.baseAddress, Int32(dimension),
                            q.baseAddress, 1, 0, s.baseAddress, 1
                        )
                    }
                }
            }
        }
        results.append(Row(operation: "1 query x \(rows) rows (exact scan)", simdNanoseconds: scanSIMD, blasNanoseconds: scanBLAS))

        // A batch of queries against every row: exact search for many queries, or re-ranking.
        var block = [Float](repeating: 0, count: rows * batch)
        let batchSIMD = time(repeats: 20) { _ in
            matrix.withUnsafeBufferPointer { m in
                queries.withUnsafeBufferPointer { q in
                    for b in 0..<batch {
                        let query = UnsafeBufferPointer(rebasing: q[b * dimension..<(b + 1) * dimension])
                        for r in 0..<rows {
                            block[b * rows + r] = Distance.dotUnchecked(
                                UnsafeBufferPointer(rebasing: m[r * dimension..<(r + 1) * dimension]), query
                            )
                        }
                    }
                }
            }
        }
        let batchBLAS = time(repeats: 20) { _ in
            matrix.withUnsafeBufferPointer { m in
                queries.withUnsafeBufferPointer { q in
                    block.withUnsafeMutableBufferPointer { out in
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(rows), Int32(dimension), 1,
                            q.baseAddress, Int32(dimension), m.baseAddress, Int32(dimension), 0, out.baseAddress, Int32(rows)
                        )
                    }
                }
            }
        }
        results.append(
            Row(operation: "\(batch) queries x \(rows) rows (batched scan)", simdNanoseconds: batchSIMD, blasNanoseconds: batchBLAS)
        )
        if sink.isNaN { results.removeAll() }  // keeps the work observable to the optimiser
        return results
    }

    /// Median nanoseconds per call of `body` over 5 rounds of `repeats` calls.
    private static func time(repeats: Int, _ body: (Int) -> Void) -> Double {
        var rounds: [Double] = []
        for _ in 0..<5 {
            let start = ContinuousClock.now
            for i in 0..<repeats { body(i) }
            let (s, a) = (ContinuousClock.now - start).components
            rounds.append((Double(s) * 1e9 + Double(a) / 1e9) / Double(repeats))
        }
        return rounds.sorted()[2]
    }
}
