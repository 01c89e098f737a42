import ArgumentParser
import Foundation
import QuarryConfig
import QuarryCore
import QuarryStore

/// `quarry backup`: a consistent copy of the SQLite store, made while a server uses it.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the store to one file while it is in use (SQLite's online backup API); restore it with quarry restore.",
        discussion: """
            The file holds the database as of one instant; the HNSW index files are derived and \
            are rebuilt from it after a restore. For --backend pgvector use pg_dump (docs/operations.md).
            """
    )

    @OptionGroup var options: CommonOptions

    @Option(help: "The backup file to write.")
    var to: String

    @Flag(help: "Replace the backup file if it exists.")
    var force = false

    func run() async throws {
        let settings = try options.settings()
        try requireSQLite(settings, doing: "backup")
        let store = URL(fileURLWithPath: settings.store, isDirectory: true)
        let file = URL(fileURLWithPath: to)
        let replace = force
        let summary = try await blocking { try SQLiteBackup.backup(store: store, to: file, replace: replace) }
        print(
            "backed up \(settings.store) to \(to): \(summary.collections) collections, \(summary.documents) documents, "
                + "\(summary.chunks) chunks, \(summary.bytes) bytes (schema \(summary.schemaVersion))"
        )
    }
}

/// `quarry restore`: installs a backup as the store, after checking it.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a backup (integrity, schema) and install it as the store, atomically.",
        discussion: """
            An existing store is replaced only with --force, and never while a process (quarry serve) \
            has it open. The restored store is migrated when next opened if the backup is older.
            """
    )

    @OptionGroup var options: CommonOptions

    @Option(help: "The backup file (made by quarry backup).")
    var from: String

    @Flag(help: "Replace an existing store.")
    var force = false

    func run() async throws {
        let settings = try options.settings()
        try requireSQLite(settings, doing: "restore")
        let store = URL(fileURLWithPath: settings.store, isDirectory: true)
        let file = URL(fileURLWithPath: from)
        let replace = force
        let summary = try await blocking { try SQLiteBackup.restore(from: file, to: store, replace: replace) }
        print(
            "restored \(from) to \(settings.store): \(summary.collections) collections, \(summary.documents) documents, "
                + "\(summary.chunks) chunks (schema \(summary.schemaVersion)); check it with quarry verify"
        )
    }
}

/// Refuses the PostgreSQL backend, whose backups are PostgreSQL's own.
private func requireSQLite(_ settings: QuarryConfiguration, doing what: String) throws {
    guard settings.backend == "sqlite" else {
        throw QuarryError(
            .invalidRequest,
            """
            quarry \(what) copies the embedded SQLite store; for --backend \(settings.backend) use PostgreSQL's own tools: \
            pg_dump --format=custom --file quarry.dump "$QUARRY_PG_URL", and pg_restore --clean --if-exists \
            --dbname "$QUARRY_PG_URL" quarry.dump (see docs/operations.md, "Backup and restore")
            """
        )
    }
}

/// Runs blocking file and SQLite work on a thread of its own, off Swift concurrency's threads.
private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    let executor = BlockingExecutor(threads: 1)
    do {
        let value = try await executor.run(body)
        await executor.shutdown()
        return value
    } catch {
        await executor.shutdown()
        throw error
    }
}
