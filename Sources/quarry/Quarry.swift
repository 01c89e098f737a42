import ArgumentParser
import Foundation
import QuarryStore

/// The `quarry` command: a thin front over the Quarry modules.
@main
struct Quarry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarry",
        abstract: "Quarry: retrieval-augmented answers over your document folders.",
        subcommands: [Embed.self, Ingest.self, Query.self, Serve.self, Collections.self, Verify.self, Bench.self]
    )
}

/// Options every command that opens the store or the model shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Store directory.")
    var store: String = ".quarry"

    @Option(help: "Model folder (default: $QUARRY_MODEL, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Collections with fewer chunks are searched exactly; larger ones through an HNSW index.")
    var exactBelow: Int = 10_000

    var storeURL: URL { URL(fileURLWithPath: store, isDirectory: true) }

    /// Opens the store with these options.
    func openStore() throws -> SQLiteChunkStore {
        guard exactBelow >= 0 else { throw ValidationError("--exact-below must not be negative") }
        return try SQLiteChunkStore(directory: storeURL, exactSearchLimit: exactBelow)
    }

    var modelURL: URL {
        if let model { return URL(fileURLWithPath: model, isDirectory: true) }
        if let fromEnvironment = ProcessInfo.processInfo.environment["QUARRY_MODEL"], !fromEnvironment.isEmpty {
            return URL(fileURLWithPath: fromEnvironment, isDirectory: true)
        }
        return URL(fileURLWithPath: "models/all-MiniLM-L6-v2", isDirectory: true)
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
