import ArgumentParser
import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryIngest
import QuarryStore

/// `quarry ingest FOLDER`: brings a collection in step with a folder.
struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ingest a folder (.txt, .md, .html, .pdf, .docx): new and changed files are indexed, removed files dropped."
    )

    @Argument(help: "The folder to ingest.")
    var folder: String

    @OptionGroup var options: CommonOptions

    @Option(help: "Collection to ingest into.")
    var collection: String = CollectionName.default

    @Option(help: "Chunk size in word pieces (at most 254).")
    var chunkTokens: Int = 200

    func run() async throws {
        try CollectionName.validate(collection)
        let embedder = try MiniLMEmbedder(modelDirectory: options.modelURL)
        let store = try SQLiteChunkStore(directory: options.storeURL)
        let ingestor = FolderIngestor(store: store, embedder: embedder, chunkTokens: chunkTokens)
        let start = ContinuousClock.now
        let report = try await ingestor.ingest(folder: URL(fileURLWithPath: folder), collection: collection)
        let seconds = Double((ContinuousClock.now - start).components.seconds)
            + Double((ContinuousClock.now - start).components.attoseconds) / 1e18
        print(
            """
            ingested \(folder) into '\(collection)' in \(String(format: "%.1f", seconds)) s: \
            \(report.added.count) added, \(report.updated.count) updated, \(report.removed.count) removed, \
            \(report.unchanged) unchanged, \(report.skipped) skipped (unsupported type), \(report.failed.count) failed; \
            \(report.chunksWritten) chunks written
            """
        )
        for failure in report.failed {
            printError("failed: \(failure.path): \(failure.reason)")
        }
        if !report.failed.isEmpty { throw ExitCode(2) }
    }
}
