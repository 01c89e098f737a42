import Foundation
import QuarryCore

#if canImport(Glibc)
import Glibc
#endif

/// Backups of the embedded store, made while a server reads and writes it, and their restore.
///
/// A backup is one SQLite file: the store's database as of one instant, copied with SQLite's
/// online backup API. The HNSW index files are left out: they are derived from the database
/// and are rebuilt from it when a restored store first searches a large collection (a restore
/// removes the old ones, which describe other rows).
public enum SQLiteBackup {
    /// What a backup holds.
    public struct Summary: Sendable, Equatable {
        /// Its schema version (`PRAGMA user_version`); older ones are migrated when opened.
        public var schemaVersion: Int
        /// Database pages copied or checked.
        public var pages: Int
        /// Size of the file in bytes.
        public var bytes: Int64
        /// Collections, documents and chunks it holds.
        public var collections: Int
        public var documents: Int
        public var chunks: Int
    }

    /// Copies the store in `directory` to the file `destination` while other processes keep
    /// reading and writing it. The copy reads one snapshot of the database (a WAL read
    /// transaction, which writers do not wait for), `pagesPerStep` pages at a time with `pause`
    /// between slices, into a temporary file beside `destination` that is checked, flushed to
    /// disk and renamed into place: `destination` is either absent or a complete backup.
    /// - Parameters:
    ///   - replace: overwrite an existing `destination`.
    ///   - pagesPerStep: pages copied per slice.
    ///   - pause: seconds between slices.
    ///   - progress: told `(remaining, total)` pages after each slice.
    /// - Throws: `QuarryError.storage` naming the path when there is no store, the destination
    ///   exists (without `replace`), or a copy step fails.
    @discardableResult
    public static func backup(
        store directory: URL, to destination: URL, replace: Bool = false, pagesPerStep: Int32 = 1024,
        pause: TimeInterval = 0.001, progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> Summary {
        let path = directory.appendingPathComponent(SQLiteChunkStore.databaseFileName).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw QuarryError(.storage, "there is no store at \(directory.path) (no \(SQLiteChunkStore.databaseFileName)) to back up")
        }
        if FileManager.default.fileExists(atPath: destination.path), !replace {
            throw QuarryError(.storage, "\(destination.path) already exists; choose another file or pass --force to replace it")
        }
        // The backup reads the store as any reader would; a store on read-only media is read so.
        let source = try SQLiteReadOnly.reason(directory: directory, database: path) == nil
            ? SQLiteConnection(path: path, mode: .readOnly) : SQLiteReadOnly.open(path).0
        let temporary = destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString).tmp")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let pages: Int
        do {
            let copy = try SQLiteConnection(path: temporary.path)
            pages = try source.readTransaction {
                // The first read starts the transaction: its snapshot is the backup's instant.
                _ = try schemaVersion(source)
                return try source.backup(into: copy, pagesPerStep: pagesPerStep) { remaining, total in
                    progress(remaining, total)
                    if pause > 0 { Thread.sleep(forTimeInterval: pause) }
                }
            }
            // One self-contained file: no write-ahead log beside it.
            try copy.execute("PRAGMA journal_mode = DELETE")
            let problems = try integrity(of: copy, quick: true)
            guard problems.isEmpty else {
                throw QuarryError(.storage, "the copy of \(path) failed its check: \(problems.joined(separator: "; "))")
            }
        }
        try flush(temporary)
        guard rename(temporary.path, destination.path) == 0 else {
            throw QuarryError(.storage, "cannot move the backup into place at \(destination.path): \(String(cString: strerror(errno)))")
        }
        try flush(destination.deletingLastPathComponent())
        var summary = try check(destination, full: false)
        summary.pages = pages
        return summary
    }

    /// Checks a backup file: SQLite's integrity check (or the quicker one, without `full`), a
    /// schema this quarry can open, and the store's tables.
    /// - Returns: what it holds.
    /// - Throws: `QuarryError.storage` naming the file and the problem.
    public static func check(_ file: URL, full: Bool = true) throws -> Summary {
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw QuarryError(.storage, "there is no backup at \(file.path)")
        }
        // A database with a log beside it is a live store's file, not a backup: read as one
        // file (immutable, as a backup is) it would lack the log's commits.
        let log = (try? FileManager.default.attributesOfItem(atPath: file.path + "-wal")[.size] as? Int) ?? 0
        guard log == 0 else {
            throw QuarryError(
                .storage, "\(file.path) has a write-ahead log beside it: it is a live store's database, not a backup; make one with quarry backup"
            )
        }
        let db: SQLiteConnection
        do {
            db = try SQLiteConnection(path: file.path, mode: .immutable)
            _ = try schemaVersion(db)
        } catch {
            throw QuarryError(.storage, "\(file.path) is not a Quarry backup (not an SQLite database)", underlying: error)
        }
        let problems: [String]
        do {
            problems = try integrity(of: db, quick: !full)
        } catch {
            throw QuarryError(.storage, "\(file.path) is damaged: its integrity check failed", underlying: error)
        }
        guard problems.isEmpty else {
            throw QuarryError(.storage, "\(file.path) is damaged: \(problems.prefix(5).joined(separator: "; "))")
        }
        let version = try schemaVersion(db)
        guard (1...SQLiteSchema.migrations.count).contains(version) else {
            throw QuarryError(
                .storage,
                version == 0
                    ? "\(file.path) is an SQLite database but not a Quarry store (schema version 0)"
                    : "\(file.path) has schema version \(version), newer than this quarry (\(SQLiteSchema.migrations.count)); upgrade quarry"
            )
        }
        // Tables took the `quarry_` prefix in version 5.
        let prefix = version >= 5 ? "quarry_" : ""
        let counts: [Int]
        do {
            counts = try ["collections", "documents", "chunks"].map { table in
                let statement = try db.prepare("SELECT count(*) FROM \(prefix)\(table)")
                try statement.bind([])
                _ = try statement.step()
                return statement.int(0)
            }
        } catch {
            throw QuarryError(.storage, "\(file.path) lacks the tables of a Quarry store", underlying: error)
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int64) ?? 0
        let pages = try {
            let statement = try db.prepare("PRAGMA page_count")
            try statement.bind([])
            _ = try statement.step()
            return statement.int(0)
        }()
        return Summary(
            schemaVersion: version, pages: pages, bytes: bytes, collections: counts[0], documents: counts[1], chunks: counts[2]
        )
    }

    /// Installs the backup `file` as the store in `directory`, after checking it (`check`).
    ///
    /// The backup is copied into the store directory under a temporary name, flushed, and
    /// renamed over the database in one step; the old store's write-ahead log is checkpointed
    /// first, and its index files (derived from the old rows) are removed. The restored store is
    /// migrated when next opened if the backup's schema is older.
    /// - Parameter replace: replace an existing store (refused otherwise).
    /// - Throws: `QuarryError.storage` when the backup fails its check, a store exists (without
    ///   `replace`), or a process has the store open (a server: stop it first).
    @discardableResult
    public static func restore(from file: URL, to directory: URL, replace: Bool = false) throws -> Summary {
        let summary = try check(file)
        let path = directory.appendingPathComponent(SQLiteChunkStore.databaseFileName).path
        if FileManager.default.fileExists(atPath: path) {
            guard replace else {
                throw QuarryError(.storage, "a store already exists at \(directory.path); pass --force to replace it with the backup")
            }
            if let holder = openElsewhere(database: path) {
                throw QuarryError(
                    .storage, "the store at \(directory.path) is open in another process (\(holder)); stop it (quarry serve) before restoring"
                )
            }
            try checkpoint(path)
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw QuarryError(.storage, "cannot create the store directory \(directory.path)", underlying: error)
        }
        let temporary = directory.appendingPathComponent(".\(SQLiteChunkStore.databaseFileName).restore-\(UUID().uuidString).tmp")
        defer { try? FileManager.default.removeItem(at: temporary) }
        do {
            try FileManager.default.copyItem(at: file, to: temporary)
        } catch {
            throw QuarryError(.storage, "cannot copy \(file.path) into \(directory.path)", underlying: error)
        }
        try flush(temporary)
        // The old indexes describe the old rows; they would be caught up by row id, not rebuilt.
        try? FileManager.default.removeItem(at: directory.appendingPathComponent("index"))
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        guard rename(temporary.path, path) == 0 else {
            throw QuarryError(.storage, "cannot move the restored database into place at \(path): \(String(cString: strerror(errno)))")
        }
        try flush(directory)
        return summary
    }

    /// Which process holds the database at `path` open, if one does (SQLite's WAL mode keeps a
    /// read lock on a byte of the shared-memory file for as long as a connection is open; this
    /// asks the kernel about it without taking it). `nil` when none does.
    static func openElsewhere(database path: String) -> String? {
        let descriptor = open(path + "-shm", O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        // SQLite's unix VFS: the locks start at byte 120 of the -shm file; byte 128 is the
        // "dead man switch" every open connection holds shared.
        lock.l_start = 128
        lock.l_len = 1
        guard fcntl(descriptor, F_GETLK, &lock) == 0, lock.l_type != Int16(F_UNLCK) else { return nil }
        return "pid \(lock.l_pid)"
    }

    /// Folds the write-ahead log of the database at `path` into it, so that replacing the file
    /// loses nothing and no log of the old database is left to be read with the new one.
    private static func checkpoint(_ path: String) throws {
        let db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    private static func schemaVersion(_ db: SQLiteConnection) throws -> Int {
        let statement = try db.prepare("PRAGMA user_version")
        try statement.bind([])
        _ = try statement.step()
        return statement.int(0)
    }

    /// The problems `PRAGMA integrity_check` (or `quick_check`) reports; empty when none.
    private static func integrity(of db: SQLiteConnection, quick: Bool) throws -> [String] {
        let statement = try db.prepare(quick ? "PRAGMA quick_check" : "PRAGMA integrity_check")
        try statement.bind([])
        var problems: [String] = []
        while try statement.step() {
            let line = statement.text(0)
            if line != "ok" { problems.append(line) }
        }
        return problems
    }

    /// Flushes a file or a directory (a rename is durable once its directory is) to disk.
    private static func flush(_ url: URL) throws {
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else {
            throw QuarryError(.storage, "cannot open \(url.path) to flush it: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw QuarryError(.storage, "cannot flush \(url.path) to disk: \(String(cString: strerror(errno)))")
        }
    }
}
