import ArgumentParser
import Foundation
import QuarryStore

/// The `quarry` command: a thin front over the Quarry modules.
@main
struct Quarry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarry",
        abstract: "Quarry: retrieval-augmented answers over your document folders.",
        subcommands: [Embed.self, Ingest.self, Query.self, Serve.self, Collections.self, Verify.self, Eval.self, Bench.self]
    )
}

/// Options every command that opens the store or the model shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Store directory (default: .quarry).")
    var store: String?

    @Option(help: "Model folder (default: $QUARRY_MODEL, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Collections with fewer chunks are searched exactly; larger ones through an HNSW index (default: 10000).")
    var exactBelow: Int?

    var storePath: String { store ?? ".quarry" }

    var storeURL: URL { URL(fileURLWithPath: storePath, isDirectory: true) }

    /// Opens the store with these options.
    func openStore() throws -> SQLiteChunkStore {
        let limit = exactBelow ?? 10_000
        guard limit >= 0 else { throw ValidationError("--exact-below must not be negative") }
        return try SQLiteChunkStore(directory: storeURL, exactSearchLimit: limit)
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
