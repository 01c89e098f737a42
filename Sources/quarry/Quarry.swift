import ArgumentParser
import Foundation
import QuarryConfig
import QuarryCore
import QuarryStore

/// The `quarry` command: a thin front over the Quarry modules.
@main
struct Quarry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarry",
        abstract: "Quarry: retrieval-augmented answers over your document folders.",
        subcommands: [Embed.self, Ingest.self, Query.self, Serve.self, Collections.self, Tenants.self, Keys.self, Sessions.self, Audit.self, Verify.self, Backup.self, Restore.self, Eval.self, Guard.self, Bench.self]
    )
}

/// Options every command that opens the store or the model shares. They are the top layer of
/// the one configuration merge (`QuarryConfiguration.resolve`): defaults, `$QUARRY_CONFIG`,
/// `QUARRY_*` variables, then these.
struct CommonOptions: ParsableArguments {
    @Option(help: "Store directory (default: $QUARRY_STORE, else .quarry).")
    var store: String?

    @Option(help: "Model folder (default: $QUARRY_MODEL, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Collections with fewer chunks are searched exactly; larger ones through an HNSW index (default: 10000).")
    var exactBelow: Int?

    @OptionGroup var backend: BackendOptions

    /// The settings: defaults, then `file` (else `$QUARRY_CONFIG`), then the environment, then
    /// these options and `more`.
    func settings(file: String? = nil, _ more: (inout QuarryConfiguration) -> Void = { _ in }) throws -> QuarryConfiguration {
        do {
            return try QuarryConfiguration.resolve(file: file) { settings in
                if let store { settings.store = store }
                if let model { settings.model = model }
                if let exactBelow { settings.search.exactBelow = exactBelow }
                backend.apply(to: &settings)
                more(&settings)
            }
        } catch let error as QuarryError {
            throw ValidationError(error.message)
        }
    }

    /// Opens the store these options (and the environment) name.
    func openStore() async throws -> any ChunkStore {
        try await settings().openStore()
    }

    /// Where the store is, for messages.
    var storeDescription: String {
        get throws { try settings().storeDescription }
    }
}

/// Which store backend a command uses: `--backend sqlite` (the embedded store in a directory, the
/// default) or `--backend pgvector --pg-url postgres://…` (PostgreSQL with pgvector), else
/// `$QUARRY_BACKEND` and `$QUARRY_PG_URL`.
struct BackendOptions: ParsableArguments {
    @Option(name: .customLong("backend"), help: "Store backend: sqlite or pgvector (default: $QUARRY_BACKEND, else sqlite).")
    var name: String?

    @Option(help: "PostgreSQL URL for --backend pgvector, postgres://user@host:port/database (default: $QUARRY_PG_URL).")
    var pgURL: String?

    @Option(help: "pgvector HNSW index: links per node, m (default: 16; used when an ingest builds a collection's index).")
    var hnswM: Int?

    @Option(help: "pgvector HNSW index: ef_construction (default: 200).")
    var hnswEfConstruction: Int?

    /// Lays the options given over `settings`.
    func apply(to settings: inout QuarryConfiguration) {
        if let name { settings.backend = name }
        if let pgURL { settings.postgres.url = pgURL }
        if let hnswM { settings.postgres.hnswM = hnswM }
        if let hnswEfConstruction { settings.postgres.hnswEfConstruction = hnswEfConstruction }
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
