import ArgumentParser
import Foundation
import QuarryCore
import QuarryStore

/// `quarry bench lexical`: BM25 latency of an embedded store through FTS5's bm25() and through
/// the in-memory index, query by query on the same store, with the agreement of their top k.
struct BenchLexical: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lexical",
        abstract: "BM25 per query: FTS5 against the in-memory index (p50/p99, ratio, agreement, build time, memory)."
    )

    @Option(help: "The SQLite store directory (opened read-only: nothing in it changes).")
    var store: String

    @Option(help: "The collection.")
    var collection: String = "default"

    @Option(help: "A BEIR queries.jsonl ({\"_id\", \"text\"} lines).")
    var queries: String = "corpus/scifact/queries.jsonl"

    @Option(help: "Hits per search.")
    var k: Int = 10

    @Option(help: "Write the results as JSON here (default: Benchmarks/results/lexical-DATE.json).")
    var json: String?

    private struct Timing: Encodable {
        var p50MS: Double
        var p99MS: Double
        var meanMS: Double
        enum CodingKeys: String, CodingKey {
            case p50MS = "p50_ms"
            case p99MS = "p99_ms"
            case meanMS = "mean_ms"
        }
    }

    private struct Report: Encodable {
        var collection: String
        var chunks: Int
        var queries: Int
        var k: Int
        var fts5: Timing
        var inMemory: Timing
        var p50Ratio: Double
        var p99Ratio: Double
        var buildSeconds: Double
        var indexBytes: Int
        var bytesPerMillionChunks: Double
        var sameTopK: Int
        var maxScoreDifference: Double
        enum CodingKeys: String, CodingKey {
            case collection, chunks, queries, k, fts5
            case inMemory = "in_memory"
            case p50Ratio = "p50_ratio_fts5_over_in_memory"
            case p99Ratio = "p99_ratio_fts5_over_in_memory"
            case buildSeconds = "build_seconds"
            case indexBytes = "index_bytes_estimated"
            case bytesPerMillionChunks = "bytes_per_million_chunks_estimated"
            case sameTopK = "queries_with_same_top_k"
            case maxScoreDifference = "max_score_difference"
        }
    }

    func run() async throws {
        let texts = try queryTexts(queries)
        let opened = try SQLiteChunkStore(directory: URL(fileURLWithPath: store), readOnly: true)
        guard let info = try await opened.collection(named: collection) else {
            throw ValidationError("no collection '\(collection)' in \(store)")
        }
        func milliseconds(_ body: () async throws -> Void) async rethrows -> Double {
            let begin = ContinuousClock.now
            try await body()
            let (s, atto) = (ContinuousClock.now - begin).components
            return Double(s) * 1000 + Double(atto) / 1e15
        }
        // The first in-memory query builds the index from the store.
        let buildMS = try await milliseconds {
            _ = try await opened.lexicalSearch(in: collection, query: texts[0], k: k, filter: nil, engine: .inMemory)
        }
        for text in texts.prefix(50) {  // warm up: the database's pages, both paths' code
            _ = try await opened.lexicalSearch(in: collection, query: text, k: k, filter: nil, engine: .fts5)
            _ = try await opened.lexicalSearch(in: collection, query: text, k: k, filter: nil, engine: .inMemory)
        }
        var fts5Times: [Double] = []
        var memoryTimes: [Double] = []
        var same = 0
        var maxDifference = 0.0
        for text in texts {
            var reference: [SearchHit] = []
            var candidate: [SearchHit] = []
            fts5Times.append(
                try await milliseconds { reference = try await opened.lexicalSearch(in: collection, query: text, k: k, filter: nil, engine: .fts5) }
            )
            memoryTimes.append(
                try await milliseconds {
                    candidate = try await opened.lexicalSearch(in: collection, query: text, k: k, filter: nil, engine: .inMemory)
                }
            )
            if reference.map(\.chunkRowID) == candidate.map(\.chunkRowID) { same += 1 }
            for (a, b) in zip(reference, candidate) { maxDifference = max(maxDifference, Double(abs(a.score - b.score))) }
            if reference.count != candidate.count { maxDifference = .infinity }
        }
        func timing(_ values: [Double]) -> Timing {
            let sorted = values.sorted()
            return Timing(
                p50MS: sorted[sorted.count / 2], p99MS: sorted[min(sorted.count - 1, Int(0.99 * Double(sorted.count)))],
                meanMS: sorted.reduce(0, +) / Double(sorted.count)
            )
        }
        let fts5 = timing(fts5Times)
        let memory = timing(memoryTimes)
        let bytes = opened.inMemoryLexicalBytes
        let report = Report(
            collection: collection, chunks: info.chunkCount, queries: texts.count, k: k, fts5: fts5, inMemory: memory,
            p50Ratio: fts5.p50MS / memory.p50MS, p99Ratio: fts5.p99MS / memory.p99MS, buildSeconds: buildMS / 1000, indexBytes: bytes,
            bytesPerMillionChunks: Double(bytes) / Double(max(1, info.chunkCount)) * 1_000_000, sameTopK: same,
            maxScoreDifference: maxDifference
        )
        await opened.close()
        print(
            String(
                format: "'%@' (%d chunks, %d queries, top %d): FTS5 p50 %.3f ms p99 %.3f ms; in-memory p50 %.3f ms p99 %.3f ms; FTS5/in-memory p50 %.1fx p99 %.1fx",
                collection, report.chunks, report.queries, k, fts5.p50MS, fts5.p99MS, memory.p50MS, memory.p99MS, report.p50Ratio, report.p99Ratio
            )
        )
        print(
            String(
                format: "index built in %.2f s, %.1f MiB estimated (%.2f GiB per million chunks); same top %d on %d of %d queries, largest score difference %.2e",
                report.buildSeconds, Double(bytes) / 1_048_576, report.bytesPerMillionChunks / 1_073_741_824, k, same, texts.count, maxDifference
            )
        )
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        let path = json ?? "Benchmarks/results/lexical-\(formatter.string(from: Date())).json"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: path))
        print("wrote \(path)")
    }
}
