import ArgumentParser
import CBLAS
import Foundation
import QuarryBenchmarks
import QuarryConfig
import QuarryCore
import QuarryEmbedding
import QuarryHNSW

/// `quarry bench …`: measurements that the scripts in Benchmarks/ compare against peers.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (see docs/benchmarks.md).",
        subcommands: [BenchEmbed.self, BenchQueries.self, BenchIngest.self, BenchStore.self, BenchANN.self, BenchKernels.self, BenchGuards.self, BenchLexical.self, BenchSemanticCache.self]
    )
}

/// `quarry bench embed`: embedding throughput on BEIR passages at several batch sizes.
struct BenchEmbed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embedding throughput (word pieces/s, passages/s) on BEIR corpus passages, and sgemm GFLOP/s."
    )

    @Option(help: "A BEIR corpus.jsonl; each passage is title + \" \" + text.")
    var passages: String = "corpus/scifact/corpus.jsonl"

    @Option(help: "How many passages (from the start of the file).")
    var limit: Int = 512

    @Option(help: "Comma-separated batch sizes.")
    var batchSizes: String = "1,8,32"

    @Option(help: "BLAS threads.")
    var threads: Int = 2

    @Option(help: "Model folder (default: $QUARRY_MODEL, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Write the results as JSON here.")
    var json: String?

    private struct Passage: Decodable {
        var title: String?
        var text: String
    }

    private struct Report: Encodable {
        var model: String
        var threads: Int
        var sgemmGFLOPS: Double
        var rows: [EmbeddingBenchmark.Row]
        enum CodingKeys: String, CodingKey {
            case model, threads, rows
            case sgemmGFLOPS = "sgemm_2048x384x1536_gflops"
        }
    }

    func run() async throws {
        let sizes = batchSizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--batch-sizes must be positive integers, like 1,8,32")
        }
        let options = try CommonOptions.parse(model.map { ["--model", $0] } ?? [])
        let embedder = try options.settings().openEmbedder(threads: threads)
        let texts = try readPassages()
        let sgemm = EmbeddingBenchmark.sgemmGFLOPS(threads: threads)
        let rows = try EmbeddingBenchmark.run(embedder: embedder, texts: texts, batchSizes: sizes)
        print("sgemm 2048x384x1536: \(String(format: "%.1f", sgemm)) GFLOP/s (\(threads) threads)")
        print("batch  passages  word pieces  seconds  pieces/s  passages/s  encoder GFLOP/s  of sgemm")
        for row in rows {
            print(
                String(
                    format: "%5d  %8d  %11d  %7.2f  %8.0f  %10.1f  %15.1f  %7.0f%%", row.batchSize, row.passages,
                    row.wordPieces, row.seconds, row.wordPiecesPerSecond, row.passagesPerSecond, row.encoderGFLOPS,
                    100 * row.encoderGFLOPS / sgemm
                )
            )
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let report = Report(model: embedder.model.name, threads: threads, sgemmGFLOPS: sgemm, rows: rows)
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
    }

    private func readPassages() throws -> [String] {
        let text: String
        do {
            text = try String(contentsOfFile: passages, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(passages): \(error.localizedDescription)")
        }
        var result: [String] = []
        for (number, line) in text.split(separator: "\n").enumerated() where result.count < limit {
            guard let passage = try? JSONDecoder().decode(Passage.self, from: Data(line.utf8)) else {
                throw ValidationError("\(passages):\(number + 1): not a BEIR corpus line ({\"title\", \"text\"})")
            }
            result.append([passage.title, passage.text].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " "))
        }
        guard !result.isEmpty else { throw ValidationError("\(passages) has no passages") }
        return result
    }
}

/// The `text` of each line of a BEIR queries.jsonl.
func queryTexts(_ path: String) throws -> [String] {
    struct Query: Decodable { var text: String }
    let texts = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap {
        try? JSONDecoder().decode(Query.self, from: Data($0.utf8)).text
    }
    guard !texts.isEmpty else { throw ValidationError("\(path) has no queries") }
    return texts
}

/// `quarry bench queries`: the embedder alone on short queries, one query per call, as the
/// service embeds them: the ceiling the load benchmark compares `quarry serve` with.
struct BenchQueries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queries",
        abstract: "Embedding throughput and latency on short queries, one per call (the floor of a query's work)."
    )

    @Option(help: "A BEIR queries.jsonl ({\"_id\", \"text\"} lines).")
    var queries: String = "corpus/scifact/queries.jsonl"

    @Option(help: "Seconds to run; queries are cycled.")
    var seconds: Double = 10

    @Option(help: "Concurrent callers.")
    var concurrency: Int = 1

    @Option(help: "Encoder threads (as quarry serve: 2).")
    var threads: Int = 2

    @Option(help: "Model folder (default: $QUARRY_MODEL, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Write the results as JSON here.")
    var json: String?

    private struct Report: Encodable {
        var queries: Int
        var concurrency: Int
        var seconds: Double
        var queriesPerSecond: Double
        var p50MS: Double
        var p99MS: Double
        var encoder: EncoderPaths
        enum CodingKeys: String, CodingKey {
            case queries, concurrency, seconds, encoder
            case queriesPerSecond = "queries_per_second"
            case p50MS = "p50_ms"
            case p99MS = "p99_ms"
        }
    }

    /// The encoder alone on one query at a time, by each path for few rows, in the same run.
    private struct EncoderPaths: Encodable {
        var queries: Int
        var meanWordPieces: Double
        /// The precision the service runs (bfloat16 where the CPU has AVX-512 BF16).
        var precision: String
        var bfloat16P50MS: Double?
        var bfloat16P99MS: Double?
        var bfloat16OneWorkerP50MS: Double?
        var smallBatchP50MS: Double
        var smallBatchP99MS: Double
        var sgemmP50MS: Double
        var sgemmP99MS: Double
        var sgemmToSmallBatchP50: Double
        var sgemmToBFloat16P50: Double?
        var smallBatchOneWorkerP50MS: Double
        /// Lowest cosine between a query's bfloat16 and float32 vectors.
        var bfloat16MinimumCosine: Double?
        /// Queries embedded together, by the precision in use: what coalescing buys.
        var groups: [GroupTiming] = []
        enum CodingKeys: String, CodingKey {
            case queries, precision, groups
            case meanWordPieces = "mean_word_pieces"
            case bfloat16P50MS = "bfloat16_p50_ms"
            case bfloat16P99MS = "bfloat16_p99_ms"
            case bfloat16OneWorkerP50MS = "bfloat16_one_worker_p50_ms"
            case smallBatchP50MS = "small_batch_p50_ms"
            case smallBatchP99MS = "small_batch_p99_ms"
            case sgemmP50MS = "sgemm_p50_ms"
            case sgemmP99MS = "sgemm_p99_ms"
            case sgemmToSmallBatchP50 = "sgemm_to_small_batch_p50"
            case sgemmToBFloat16P50 = "sgemm_to_bfloat16_p50"
            case smallBatchOneWorkerP50MS = "small_batch_one_worker_p50_ms"
            case bfloat16MinimumCosine = "bfloat16_minimum_cosine"
        }
    }

    /// Queries embedded together in one pass, with both workers and with one.
    private struct GroupTiming: Encodable {
        var queries: Int
        var wordPieces: Double
        var p50MS: Double
        var oneWorkerP50MS: Double
        enum CodingKeys: String, CodingKey {
            case queries
            case wordPieces = "word_pieces"
            case p50MS = "p50_ms"
            case oneWorkerP50MS = "one_worker_p50_ms"
        }
    }

    private func compareGroups(_ embedder: MiniLMEmbedder, texts: [String], sizes: [Int]) throws -> [GroupTiming] {
        let sequences = texts.prefix(256).map { embedder.tokenizer.encode($0, maxLength: embedder.maxInputTokens) }
        var both = embedder.encoder
        both.threads = threads
        var one = both
        one.threads = 1
        var workspace = BertEncoder.Workspace()
        func milliseconds(_ body: () throws -> Void) rethrows -> Double {
            let begin = ContinuousClock.now
            try body()
            let (s, atto) = (ContinuousClock.now - begin).components
            return Double(s) * 1000 + Double(atto) / 1e15
        }
        return try sizes.map { size in
            var times: ([Double], [Double]) = ([], [])
            var pieces = 0
            var groups = 0
            for start in stride(from: 0, to: sequences.count - size + 1, by: size) {
                let group = Array(sequences[start..<start + size])
                pieces += group.reduce(0) { $0 + $1.count }
                groups += 1
                times.0.append(try milliseconds { _ = try both.embed(group, workspace: &workspace) })
                times.1.append(try milliseconds { _ = try one.embed(group, workspace: &workspace) })
            }
            func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            return GroupTiming(queries: size, wordPieces: Double(pieces) / Double(groups), p50MS: median(times.0), oneWorkerP50MS: median(times.1))
        }
    }

    /// Runs each query through the encoder by each path — bfloat16 (both workers, then one)
    /// where the CPU has it, the float32 small-batch path (both workers, then one) and float32
    /// `sgemm` — interleaved query by query so that all see the same machine.
    private func comparePaths(_ embedder: MiniLMEmbedder, texts: [String]) throws -> EncoderPaths {
        let sequences = texts.prefix(400).map { embedder.tokenizer.encode($0, maxLength: embedder.maxInputTokens) }
        var small = try embedder.encoder(in: .float32)
        small.threads = threads
        var single = small
        single.threads = 1
        var blas = small
        blas.smallBatchPath = false
        var encoders = [small, blas, single]
        let bfloat16 = embedder.encoder.precision == .bfloat16
        if bfloat16 {
            var fast = embedder.encoder
            fast.threads = threads
            var fastSingle = fast
            fastSingle.threads = 1
            encoders += [fast, fastSingle]
        }
        var workspace = BertEncoder.Workspace()
        var times = [[Double]](repeating: [], count: encoders.count)
        var minimumCosine = 1.0
        for round in 0..<2 {
            for sequence in sequences {
                var vectors: [[Float]] = []
                for (index, encoder) in encoders.enumerated() {
                    let begin = ContinuousClock.now
                    vectors.append(try encoder.embed([sequence], workspace: &workspace)[0])
                    let (s, atto) = (ContinuousClock.now - begin).components
                    times[index].append(Double(s) * 1000 + Double(atto) / 1e15)
                }
                if round == 0, bfloat16 {
                    minimumCosine = min(minimumCosine, Double(zip(vectors[0], vectors[3]).reduce(Float(0)) { $0 + $1.0 * $1.1 }))
                }
            }
        }
        let sorted = times.map { $0.sorted() }
        func percentile(_ values: [Double], _ p: Double) -> Double { values[min(values.count - 1, Int(p * Double(values.count)))] }
        return EncoderPaths(
            queries: sequences.count, meanWordPieces: Double(sequences.reduce(0) { $0 + $1.count }) / Double(sequences.count),
            precision: embedder.encoder.precision.rawValue,
            bfloat16P50MS: bfloat16 ? percentile(sorted[3], 0.5) : nil, bfloat16P99MS: bfloat16 ? percentile(sorted[3], 0.99) : nil,
            bfloat16OneWorkerP50MS: bfloat16 ? percentile(sorted[4], 0.5) : nil,
            smallBatchP50MS: percentile(sorted[0], 0.5), smallBatchP99MS: percentile(sorted[0], 0.99),
            sgemmP50MS: percentile(sorted[1], 0.5), sgemmP99MS: percentile(sorted[1], 0.99),
            sgemmToSmallBatchP50: percentile(sorted[1], 0.5) / percentile(sorted[0], 0.5),
            sgemmToBFloat16P50: bfloat16 ? percentile(sorted[1], 0.5) / percentile(sorted[3], 0.5) : nil,
            smallBatchOneWorkerP50MS: percentile(sorted[2], 0.5),
            bfloat16MinimumCosine: bfloat16 ? minimumCosine : nil
        )
    }

    func run() async throws {
        let options = try CommonOptions.parse(model.map { ["--model", $0] } ?? [])
        let embedder = try options.settings().openEmbedder(threads: threads)
        let texts = try queryTexts(queries)
        for text in texts.prefix(50) { _ = try await embedder.embed([text]) }  // warm up
        var paths = try comparePaths(embedder, texts: texts)
        print(
            String(
                format: "encoder alone, one query (%.1f word pieces on average): float32 small-batch path p50 %.2f ms p99 %.2f ms (one worker: p50 %.2f ms); float32 sgemm p50 %.2f ms p99 %.2f ms; sgemm / small-batch at p50: %.2f×",
                paths.meanWordPieces, paths.smallBatchP50MS, paths.smallBatchP99MS, paths.smallBatchOneWorkerP50MS,
                paths.sgemmP50MS, paths.sgemmP99MS, paths.sgemmToSmallBatchP50
            )
        )
        if let p50 = paths.bfloat16P50MS, let p99 = paths.bfloat16P99MS, let single = paths.bfloat16OneWorkerP50MS,
            let ratio = paths.sgemmToBFloat16P50, let cosine = paths.bfloat16MinimumCosine
        {
            print(
                String(
                    format: "encoder alone, one query, bfloat16 (AVX-512 BF16): p50 %.2f ms p99 %.2f ms (one worker: p50 %.2f ms); sgemm / bfloat16 at p50: %.2f×; lowest cosine to float32 %.6f",
                    p50, p99, single, ratio, cosine
                )
            )
        }
        print("encoder precision in use: \(paths.precision)")
        paths.groups = try compareGroups(embedder, texts: texts, sizes: [1, 2, 4, 8, 16, 32])
        for group in paths.groups {
            print(
                String(
                    format: "encoder alone, %2d queries in one pass (%.0f word pieces): p50 %.2f ms, %.0f queries/s (one worker: p50 %.2f ms, %.0f queries/s)",
                    group.queries, group.wordPieces, group.p50MS, Double(group.queries) * 1000 / group.p50MS,
                    group.oneWorkerP50MS, Double(group.queries) * 1000 / group.oneWorkerP50MS
                )
            )
        }

        let workers = max(1, concurrency)
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var latencies: [Double] = []
                    var index = worker
                    while ContinuousClock.now < deadline {
                        let begin = ContinuousClock.now
                        _ = try await embedder.embed([texts[index % texts.count]])
                        let (s, atto) = (ContinuousClock.now - begin).components
                        latencies.append(Double(s) * 1000 + Double(atto) / 1e15)
                        index += workers
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
        }
        let (s, atto) = (ContinuousClock.now - start).components
        let elapsed = Double(s) + Double(atto) / 1e18
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] }
        let report = Report(
            queries: latencies.count, concurrency: workers, seconds: elapsed, queriesPerSecond: Double(latencies.count) / elapsed,
            p50MS: percentile(0.5), p99MS: percentile(0.99), encoder: paths
        )
        print(
            String(
                format: "embedder alone: %d queries in %.1f s with %d callers: %.1f queries/s, p50 %.2f ms, p99 %.2f ms",
                report.queries, elapsed, workers, report.queriesPerSecond, report.p50MS, report.p99MS
            )
        )
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
    }
}

/// `quarry bench store`: the store's own searches on a collection, the query embeddings computed
/// beforehand: HNSW recall@k against exact search, and latency of each kind of search, for
/// either backend.
struct BenchStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "A store's searches alone: HNSW recall@k against exact search, and dense, exact and BM25 latency."
    )

    @OptionGroup var options: CommonOptions

    @Option(help: "The collection.")
    var collection: String = "default"

    @Option(help: "A BEIR queries.jsonl ({\"_id\", \"text\"} lines).")
    var queries: String = "corpus/scifact/queries.jsonl"

    @Option(help: "Hits per search.")
    var k: Int = 10

    @Option(help: "HNSW candidate list size (the service's default: 64).")
    var ef: Int = 64

    @Option(help: "Write the results as JSON here.")
    var json: String?

    private struct Timing: Encodable {
        var p50MS: Double
        var p99MS: Double
        enum CodingKeys: String, CodingKey {
            case p50MS = "p50_ms"
            case p99MS = "p99_ms"
        }
    }

    private struct Report: Encodable {
        var backend: String
        var collection: String
        var chunks: Int
        var queries: Int
        var k: Int
        var ef: Int
        var recall: Double
        var hnsw: Timing
        var exact: Timing
        var lexical: Timing
    }

    func run() async throws {
        let texts = try queryTexts(queries)
        let embedder = try options.settings().openEmbedder()
        var vectors: [[Float]] = []
        for start in stride(from: 0, to: texts.count, by: 64) {
            vectors += try await embedder.embed(Array(texts[start..<min(start + 64, texts.count)]))
        }
        // Two views of one store: every search through the index, or every chunk scored.
        let indexed = try await options.settings { $0.search.exactBelow = 0 }.openStore()
        let exact = try await options.settings { $0.search.exactBelow = .max }.openStore()
        guard let info = try await indexed.collection(named: collection) else {
            throw ValidationError("no collection '\(collection)' in \(try options.storeDescription)")
        }
        func milliseconds(_ body: () async throws -> Void) async rethrows -> Double {
            let begin = ContinuousClock.now
            try await body()
            let (s, atto) = (ContinuousClock.now - begin).components
            return Double(s) * 1000 + Double(atto) / 1e15
        }
        // Warm up: the embedded store loads its index and vectors; the database its pages.
        for vector in vectors.prefix(20) {
            _ = try await indexed.search(in: collection, query: vector, k: k, ef: ef)
            _ = try await exact.search(in: collection, query: vector, k: k)
        }
        var hnswTimes: [Double] = []
        var exactTimes: [Double] = []
        var lexicalTimes: [Double] = []
        var found = 0
        var wanted = 0
        for (text, vector) in zip(texts, vectors) {
            var approximate: [SearchHit] = []
            var truth: [SearchHit] = []
            hnswTimes.append(try await milliseconds { approximate = try await indexed.search(in: collection, query: vector, k: k, ef: ef) })
            exactTimes.append(try await milliseconds { truth = try await exact.search(in: collection, query: vector, k: k) })
            lexicalTimes.append(try await milliseconds { _ = try await indexed.lexicalSearch(in: collection, query: text, k: k) })
            found += Set(approximate.map(\.chunkRowID)).intersection(truth.map(\.chunkRowID)).count
            wanted += truth.count
        }
        func timing(_ values: [Double]) -> Timing {
            let sorted = values.sorted()
            return Timing(p50MS: sorted[sorted.count / 2], p99MS: sorted[min(sorted.count - 1, Int(0.99 * Double(sorted.count)))])
        }
        let report = Report(
            backend: try options.settings().backend, collection: collection, chunks: info.chunkCount, queries: texts.count, k: k, ef: ef,
            recall: Double(found) / Double(max(1, wanted)), hnsw: timing(hnswTimes), exact: timing(exactTimes), lexical: timing(lexicalTimes)
        )
        print(
            String(
                format: "%@ '%@' (%d chunks, %d queries): HNSW recall@%d at ef %d %.4f; HNSW p50 %.2f ms p99 %.2f ms; exact p50 %.2f ms p99 %.2f ms; BM25 p50 %.2f ms p99 %.2f ms",
                report.backend, collection, report.chunks, report.queries, k, ef, report.recall, report.hnsw.p50MS, report.hnsw.p99MS,
                report.exact.p50MS, report.exact.p99MS, report.lexical.p50MS, report.lexical.p99MS
            )
        )
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
    }
}

/// `quarry bench ann`: HNSW build time, memory, and recall@10 / queries per second per `ef`.
struct BenchANN: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ann",
        abstract: "HNSW benchmark on .fvecs data: build seconds, index bytes, recall@10 and queries/s per ef."
    )

    @Option(help: "Base vectors (.fvecs).")
    var base: String

    @Option(help: "Query vectors (.fvecs).")
    var query: String

    @Option(help: "Ground-truth neighbour ids (.ivecs); computed exactly with BLAS when omitted.")
    var gt: String?

    @Option(help: "l2, cosine or ip.")
    var metric: String = "l2"

    @Option(help: "Links per node (level 0 keeps 2M).")
    var m: Int = 16

    @Option(help: "Candidate list size while building.")
    var efConstruction: Int = 200

    @Option(help: "Comma-separated candidate list sizes to search with.")
    var ef: String = "16,32,64,128,256"

    @Option(help: "Threads for the build (queries always run one at a time on one thread).")
    var threads: Int = 2

    @Option(help: "Write the report as JSON here.")
    var json: String?

    func run() async throws {
        let metricValue: HNSWMetric
        switch metric.lowercased() {
        case "l2": metricValue = .l2
        case "cosine": metricValue = .cosine
        case "ip", "inner-product": metricValue = .innerProduct
        default: throw ValidationError("--metric must be l2, cosine or ip")
        }
        let efs = ef.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !efs.isEmpty, efs.allSatisfy({ $0 > 0 }) else { throw ValidationError("--ef must be positive integers") }
        let (dimension, baseValues) = try VectorFile.readFVecs(URL(fileURLWithPath: base))
        let (queryDimension, queryValues) = try VectorFile.readFVecs(URL(fileURLWithPath: query))
        guard queryDimension == dimension else {
            throw ValidationError("queries have dimension \(queryDimension), the base \(dimension)")
        }
        var truth: [Int32]?
        var truthWidth = 0
        if let gt {
            (truthWidth, truth) = try { let r = try VectorFile.readIVecs(URL(fileURLWithPath: gt)); return (r.dimension, r.values) }()
        }
        let report = try ANNBenchmark.run(
            base: baseValues, queries: queryValues, dimension: dimension, groundTruth: truth, groundTruthWidth: truthWidth,
            metric: metricValue, m: m, efConstruction: efConstruction, efs: efs, threads: threads
        )
        print("\(report.count) x \(report.dimension) \(metric), M \(m), efConstruction \(efConstruction): "
            + String(format: "build %.2f s (%d threads), index %.1f MB", report.buildSeconds, threads, Double(report.indexBytes) / 1e6))
        print("   ef  recall@10  queries/s")
        for row in report.rows {
            print(String(format: "%5d  %9.4f  %9.0f", row.ef, row.recallAt10, row.queriesPerSecond))
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
    }
}

/// `quarry bench kernels`: SIMD loops against BLAS for single pairs, scans and batched scans.
struct BenchKernels: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels", abstract: "Distance kernels: Quarry's SIMD loop against CBLAS, per operation."
    )

    @Option(help: "Vector dimension.")
    var dimension: Int = 384

    @Option(help: "Stored rows scanned.")
    var rows: Int = 5_000

    @Option(help: "BLAS threads (the HNSW traversal is single-threaded).")
    var threads: Int = 1

    func run() async throws {
        openblas_set_num_threads(Int32(max(1, threads)))
        print("operation                                   SIMD ns     BLAS ns   SIMD/BLAS")
        for row in KernelBenchmark.run(dimension: dimension, rows: rows) {
            print(
                String(
                    format: "%@ %10.0f  %10.0f  %9.2f", row.operation.padding(toLength: 40, withPad: " ", startingAt: 0),
                    row.simdNanoseconds, row.blasNanoseconds, row.simdNanoseconds / row.blasNanoseconds
                )
            )
        }
    }
}
