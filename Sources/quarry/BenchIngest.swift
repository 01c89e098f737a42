import ArgumentParser
import Foundation
import QuarryBenchmarks
import QuarryConfig
import QuarryEmbedding
import QuarryIngest
import QuarryStore

/// `quarry bench ingest`: end-to-end ingest throughput of a folder, next to the embedder's own
/// throughput on the very chunks the ingest produced, in the same process.
struct BenchIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Ingest a folder into a fresh store (read, parse, chunk, embed, write), then embed the same chunks alone; prints both rates and their ratio."
    )

    @Argument(help: "The folder to ingest.")
    var folder: String

    @Option(help: "Only files matching this pattern (repeatable).")
    var include: [String] = []

    @Option(help: "Leave out files matching this pattern (repeatable).")
    var exclude: [String] = []

    @Option(help: "Model folder (default: $QUARRY_MODEL, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Write the results as JSON here.")
    var json: String?

    private struct Report: Encodable {
        var folder: String
        var documents: Int
        var chunks: Int
        var wordPieces: Int
        var ingestSeconds: Double
        var embedSeconds: Double
        var ingestWordPiecesPerSecond: Double
        var embedWordPiecesPerSecond: Double
        var ratio: Double

        enum CodingKeys: String, CodingKey {
            case folder, documents, chunks, ratio
            case wordPieces = "word_pieces"
            case ingestSeconds = "ingest_seconds"
            case embedSeconds = "embed_seconds"
            case ingestWordPiecesPerSecond = "ingest_word_pieces_per_s"
            case embedWordPiecesPerSecond = "embed_word_pieces_per_s"
        }
    }

    func run() async throws {
        let options = try CommonOptions.parse(model.map { ["--model", $0] } ?? [])
        let embedder = try options.settings().openEmbedder()
        let storeURL = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-bench-ingest-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: storeURL) }
        let store = try SQLiteChunkStore(directory: storeURL)
        let ingestOptions = IngestOptions(include: try include.map(Glob.init), exclude: try exclude.map(Glob.init))

        let start = ContinuousClock.now
        let report = try await FolderIngestor(store: store, embedder: embedder)
            .ingest(folder: URL(fileURLWithPath: folder), collection: "bench", options: ingestOptions)
        let ingestSeconds = EmbeddingBenchmark.seconds(ContinuousClock.now - start)
        guard report.chunksWritten > 0 else { throw ValidationError("\(folder) gave no chunks") }

        var texts: [String] = []
        for document in try await store.documents(in: "bench") {
            guard let (_, chunks) = try await store.document(in: "bench", path: document.path) else { continue }
            texts += chunks.map(\.text)
        }
        let rows = try EmbeddingBenchmark.run(embedder: embedder, texts: texts, batchSizes: [64])
        let embed = rows[0]
        let ingestRate = Double(embed.wordPieces) / ingestSeconds
        let result = Report(
            folder: folder, documents: report.added.count, chunks: texts.count, wordPieces: embed.wordPieces,
            ingestSeconds: ingestSeconds, embedSeconds: embed.seconds, ingestWordPiecesPerSecond: ingestRate,
            embedWordPiecesPerSecond: embed.wordPiecesPerSecond, ratio: ingestRate / embed.wordPiecesPerSecond
        )
        print("\(folder): \(result.documents) documents, \(result.chunks) chunks, \(result.wordPieces) word pieces")
        print(String(format: "ingest, end to end: %7.1f s  %6.0f word pieces/s", ingestSeconds, ingestRate))
        print(String(format: "embedder alone:     %7.1f s  %6.0f word pieces/s (same chunks, batches of 64)", embed.seconds, embed.wordPiecesPerSecond))
        print(String(format: "ratio: %.2f", result.ratio))
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: json))
        }
    }
}
