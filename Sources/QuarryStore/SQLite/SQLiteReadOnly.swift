import Foundation
import QuarryCore

#if canImport(Glibc)
import Glibc
#endif

/// How a store on read-only media (a replica, a backup, a snapshot mounted read-only) is found
/// and opened: which stores cannot be written, and how SQLite can read a WAL database it may not
/// write to.
enum SQLiteReadOnly {
    /// Why the store in `directory` cannot be written, or `nil` when it can (or does not exist
    /// yet, and will be created).
    static func reason(directory: URL, database: String) -> String? {
        guard FileManager.default.fileExists(atPath: directory.path) else { return nil }
        var info = statvfs()
        if statvfs(directory.path, &info) == 0, info.f_flag & UInt(ST_RDONLY) != 0 {
            return "its directory is on a read-only file system"
        }
        if access(directory.path, W_OK) != 0 {
            return "its directory is not writable by this user"
        }
        if FileManager.default.fileExists(atPath: database), access(database, W_OK) != 0 {
            return "its database file is not writable by this user"
        }
        return nil
    }

    /// Opens the database at `path` for reading only, as SQLite allows on this medium: in its
    /// read-only mode, which follows other processes' commits but needs the shared-memory file
    /// (`-shm`) or a directory to create it in; else, when neither exists, as an immutable file,
    /// which is right because no one can write it and there is no write-ahead log left to read.
    /// - Returns: the connection and the mode that worked, for the store's other connections.
    /// - Throws: `QuarryError.storage` naming the path when there is no database, or a
    ///   write-ahead log that only a writable directory would let SQLite read.
    static func open(_ path: String) throws -> (SQLiteConnection, SQLiteConnection.OpenMode) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw QuarryError(.storage, "there is no store database at \(path) (a read-only store is opened, never created)")
        }
        let firstError: any Error
        do {
            let connection = try SQLiteConnection(path: path, mode: .readOnly)
            try probe(connection)
            return (connection, .readOnly)
        } catch {
            firstError = error
        }
        let log = path + "-wal"
        let logSize = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
        guard logSize == 0 else {
            throw QuarryError(
                .storage,
                """
                cannot read the store database \(path) on this read-only medium: its write-ahead log \(log) holds \
                commits SQLite can only read with a shared-memory file it cannot create here; open the store once \
                read-write (or copy it to writable storage) so the log is checkpointed
                """,
                underlying: firstError
            )
        }
        let connection = try SQLiteConnection(path: path, mode: .immutable)
        try probe(connection)
        return (connection, .immutable)
    }

    /// Reads the schema version: the first read, which fails when the mode cannot read the file.
    private static func probe(_ connection: SQLiteConnection) throws {
        let statement = try connection.prepare("PRAGMA user_version")
        try statement.bind([])
        _ = try statement.step()
    }
}
