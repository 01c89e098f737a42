import ArgumentParser
import Foundation
import QuarryHNSW
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

    @OptionGroup var backend: BackendOptions

    var storePath: String { store ?? ".quarry" }

    var storeURL: URL { URL(fileURLWithPath: storePath, isDirectory: true) }

    /// Where the store is, for messages: its directory, or the database (password left out).
    var storeDescription: String { backend.isPostgres ? backend.redactedURL : storePath }

    /// Opens the store with these options.
    func openStore() throws -> any ChunkStore {
        let limit = exactBelow ?? 10_000
        guard limit >= 0 else { throw ValidationError("--exact-below must not be negative") }
        return try backend.openStore(directory: storeURL, exactSearchLimit: limit)
    }

    var modelURL: URL {
        if let model { return URL(fileURLWithPath: model, isDirectory: true) }
        if let fromEnvironment = ProcessInfo.processInfo.environment["QUARRY_MODEL"], !fromEnvironment.isEmpty {
            return URL(fileURLWithPath: fromEnvironment, isDirectory: true)
        }
        return URL(fileURLWithPath: "models/all-MiniLM-L6-v2", isDirectory: true)
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

    private var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The backend chosen: the option, else `$QUARRY_BACKEND`, else sqlite.
    var resolvedName: String { name ?? environment["QUARRY_BACKEND"].flatMap { $0.isEmpty ? nil : $0 } ?? "sqlite" }

    var isPostgres: Bool { resolvedName == "pgvector" }

    var resolvedURL: String? { pgURL ?? environment["QUARRY_PG_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    var redactedURL: String { resolvedURL.map(PostgresConnection.redacted) ?? "" }

    func validate() throws {
        guard ["sqlite", "pgvector"].contains(resolvedName) else {
            throw ValidationError("--backend must be sqlite or pgvector, got '\(resolvedName)'")
        }
        if let hnswM, !(2...100).contains(hnswM) { throw ValidationError("--hnsw-m must be 2-100 (pgvector's range)") }
        if let hnswEfConstruction, !(4...1000).contains(hnswEfConstruction) {
            throw ValidationError("--hnsw-ef-construction must be 4-1000 (pgvector's range)")
        }
    }

    /// Opens the chosen store: SQLite in `directory`, or the PostgreSQL database.
    func openStore(
        directory: URL, exactSearchLimit: Int, poolSize: Int = 8, statementTimeoutMS: Int = 30_000
    ) throws -> any ChunkStore {
        if isPostgres {
            guard let url = resolvedURL else {
                throw ValidationError("--backend pgvector needs --pg-url postgres://user@host:port/database (or $QUARRY_PG_URL)")
            }
            let m = hnswM ?? 16
            return try PostgresChunkStore(
                url: url, exactSearchLimit: exactSearchLimit,
                indexParameters: HNSWParameters(m: m, efConstruction: max(2 * m, hnswEfConstruction ?? 200), ef: 64),
                poolSize: poolSize, statementTimeoutMS: statementTimeoutMS
            )
        }
        return try SQLiteChunkStore(directory: directory, exactSearchLimit: exactSearchLimit)
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
