import CBLAS
import Foundation
import QuarryEmbedding

/// Measures embedding throughput and the machine's `sgemm` speed, for `quarry bench embed`.
public enum EmbeddingBenchmark {
    /// Throughput at one batch size.
    public struct Row: Sendable, Codable {
        /// Texts per `embedBatch` call.
        public var batchSize: Int
        /// Texts embedded.
        public var passages: Int
        /// Word pieces embedded, special tokens included.
        public var wordPieces: Int
        /// Wall-clock seconds for all of them.
        public var seconds: Double
        /// Word pieces per second.
        public var wordPiecesPerSecond: Double
        /// Texts per second.
        public var passagesPerSecond: Double
        /// Floating-point operations per second the encoder achieved.
        public var encoderGFLOPS: Double

        enum CodingKeys: String, CodingKey {
            case batchSize = "batch_size"
            case passages
            case wordPieces = "word_pieces"
            case seconds
            case wordPiecesPerSecond = "word_pieces_per_s"
            case passagesPerSecond = "passages_per_s"
            case encoderGFLOPS = "encoder_gflops"
        }
    }

    /// Embeds `texts` at each batch size (after one warm-up batch) and reports throughput.
    /// - Throws: what the embedder throws.
    public static func run(embedder: MiniLMEmbedder, texts: [String], batchSizes: [Int]) throws -> [Row] {
        let sequences = texts.map { embedder.tokenizer.encode($0, maxLength: embedder.maxInputTokens) }
        let wordPieces = sequences.reduce(0) { $0 + $1.count }
        _ = try embedder.embed(tokenized: Array(sequences.prefix(max(8, batchSizes.max() ?? 8))))
        var rows: [Row] = []
        for batchSize in batchSizes where batchSize > 0 {
            let start = ContinuousClock.now
            var flops = 0.0
            var index = 0
            while index < texts.count {
                let batch = Array(texts[index..<min(index + batchSize, texts.count)])
                // Tokenising is part of the work a caller pays for, so it is inside the timing.
                _ = try embedder.embedBatch(batch)
                flops += embedder.encoder.flops(lengths: sequences[index..<index + batch.count].map(\.count))
                index += batchSize
            }
            let seconds = seconds(ContinuousClock.now - start)
            rows.append(
                Row(
                    batchSize: batchSize, passages: texts.count, wordPieces: wordPieces, seconds: seconds,
                    wordPiecesPerSecond: Double(wordPieces) / seconds, passagesPerSecond: Double(texts.count) / seconds,
                    encoderGFLOPS: flops / seconds / 1e9
                )
            )
        }
        return rows
    }

    /// The machine's `sgemm` speed on an `m × k` by `k × n` product with OpenBLAS on `threads`
    /// threads, in GFLOP/s (best of several runs over about a second). OpenBLAS is left
    /// single-threaded afterwards, as the encoder expects.
    public static func sgemmGFLOPS(m: Int = 2048, n: Int = 384, k: Int = 1536, threads: Int = 2) -> Double {
        openblas_set_num_threads(Int32(max(1, threads)))
        defer { openblas_set_num_threads(1) }
        var a = [Float](repeating: 0, count: m * k)
        var b = [Float](repeating: 0, count: k * n)
        for i in a.indices { a[i] = Float(i % 97) / 97 - 0.5 }
        for i in b.indices { b[i] = Float(i % 89) / 89 - 0.5 }
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        let deadline = ContinuousClock.now + .seconds(1)
        var runs = 0
        while runs < 3 || ContinuousClock.now < deadline {
            let start = ContinuousClock.now
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, pa.baseAddress,
                            Int32(k), pb.baseAddress, Int32(n), 0, pc.baseAddress, Int32(n)
                        )
                    }
                }
            }
            best = min(best, seconds(ContinuousClock.now - start))
            runs += 1
        }
        a.removeAll()
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }

    /// `duration` in seconds.
    public static func seconds(_ duration: Duration) -> Double {
        let (s, atto) = duration.components
        return Double(s) + Double(atto) / 1e18
    }
}
