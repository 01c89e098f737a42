import CSQLite
import Foundation
import Synchronization
import QuarryCore

/// One SQLite connection. Not shared between threads without the owner's lock: `SQLiteChunkStore`
/// keeps one connection for writes and one for reads, each behind its own mutex.
final class SQLiteConnection {
    private let handle: OpaquePointer
    let path: String
    /// Compiled statements not in use, by their SQL: `prepare` hands them out again instead of
    /// compiling the same text on every query (a quarter of a millisecond a `/query` went to
    /// `sqlite3_prepare_v2`). A statement comes back reset when its last user lets it go.
    private let idle = Mutex<[String: [IdleStatement]]>([:])
    /// Most distinct statements kept, and the longest SQL kept (longer texts are generated,
    /// such as an `IN` list of many parameters, and rarely repeat).
    static let idleStatementLimit = 96
    static let idleSQLLimit = 1_024

    /// How a connection opens its database.
    enum OpenMode: Sendable {
        /// Read and write, creating the file when missing.
        case readWrite
        /// SQLite's read-only mode (`mode=ro`): sees other processes' commits, but needs the
        /// WAL's shared-memory file (`-shm`) to exist or its directory to be writable.
        case readOnly
        /// `immutable=1`: SQLite assumes no one changes the file and takes no locks. Only for a
        /// database no process can write (a read-only file system, a read-only copy) with no
        /// write-ahead log to replay.
        case immutable
    }

    /// Opens (creating if needed, in `.readWrite` mode) the database at `path`.
    init(path: String, mode: OpenMode = .readWrite) throws {
        var db: OpaquePointer?
        let flags: Int32
        let name: String
        switch mode {
        case .readWrite:
            (flags, name) = (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, path)
        case .readOnly:
            (flags, name) = (SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, Self.uri(path, "mode=ro"))
        case .immutable:
            (flags, name) = (SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, Self.uri(path, "immutable=1"))
        }
        let rc = sqlite3_open_v2(name, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw QuarryError(.storage, "cannot open the store database at \(path): \(message) (SQLite error \(rc))")
        }
        self.handle = db
        self.path = path
        // Another process writing to the same store (`quarry ingest` beside `quarry serve`) holds
        // the write lock one transaction at a time, but SQLite's lock is not fair: a connection
        // that keeps writing can take it back again and again while this one sleeps between
        // tries. A minute covers a long ingest batch and a run of such turns on a slow disk
        // (every commit is synced), so a write fails as locked only when something is stuck.
        sqlite3_busy_timeout(db, 60_000)
        sqlite3_extended_result_codes(db, 1)
    }

    /// A `file:` URI for `path` with `query`; the characters a URI gives meaning are escaped.
    private static func uri(_ path: String, _ query: String) -> String {
        var escaped = ""
        for character in path.unicodeScalars {
            switch character {
            case "%": escaped += "%25"
            case "?": escaped += "%3f"
            case "#": escaped += "%23"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return "file:\(escaped)?\(query)"
    }

    /// The error for a failed call that returned `rc`, naming the database: a write refused
    /// because the file or its directory is read-only is `.readOnly`, anything else `.storage`.
    func error(_ rc: Int32, _ message: String) -> QuarryError {
        if rc & 0xff == SQLITE_READONLY {
            return QuarryError(.readOnly, "the store database \(path) is read-only: \(message) (SQLite error \(rc))")
        }
        return QuarryError(.storage, "SQLite error \(rc) in \(path): \(message)")
    }

    deinit {
        for statements in idle.withLock({ $0.values }) {
            for statement in statements { sqlite3_finalize(statement.handle) }
        }
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that take no parameters and return no rows.
    func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(errorMessage)
            throw error(rc, message)
        }
    }

    /// Compiles a statement, or hands out one compiled before from the same SQL and no longer
    /// in use.
    func prepare(_ sql: String) throws -> SQLiteStatement {
        let keep = sql.utf8.count <= Self.idleSQLLimit
        if keep, let reused = idle.withLock({ $0[sql]?.popLast() }) {
            return SQLiteStatement(reused.handle, connection: self, sql: sql)
        }
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw QuarryError(.storage, "SQLite cannot prepare a statement in \(path) (\(rc)): \(lastErrorMessage)")
        }
        return SQLiteStatement(statement, connection: self, sql: keep ? sql : nil)
    }

    /// Takes back a statement its user let go: reset (ending any read it held open) and kept
    /// for the next `prepare` of `sql`, or finalised when the cache is full.
    fileprivate func release(_ statement: OpaquePointer, sql: String?) {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        guard let sql else {
            sqlite3_finalize(statement)
            return
        }
        let kept = idle.withLock { idle -> Bool in
            if idle[sql] == nil, idle.count >= Self.idleStatementLimit { return false }
            if (idle[sql]?.count ?? 0) >= 4 { return false }
            idle[sql, default: []].append(IdleStatement(handle: statement))
            return true
        }
        if !kept { sqlite3_finalize(statement) }
    }

    /// Runs `body` in a transaction (`BEGIN IMMEDIATE` so writers queue instead of failing later),
    /// committing when it returns and rolling back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` in a read transaction (`BEGIN DEFERRED`), so everything it reads belongs to one
    /// snapshot of the database. A failed `COMMIT` is thrown, not ignored.
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        let result: T
        do {
            result = try body()
        } catch {
            // The body's error is the one to report; a failed rollback of a read changes nothing.
            try? execute("ROLLBACK")
            throw error
        }
        try execute("COMMIT")
        return result
    }

    /// Copies this connection's database into `destination`'s with SQLite's online backup API,
    /// `pagesPerStep` pages at a time, calling `between` after each slice (to pause, or report
    /// progress). The caller holds a read transaction on this connection throughout, so every
    /// slice reads the same snapshot: other connections' commits neither show up half-way nor
    /// restart the copy, and in WAL mode they are never blocked by it.
    /// - Returns: the pages copied.
    /// - Throws: `QuarryError.storage` naming both files when a step fails.
    func backup(into destination: SQLiteConnection, pagesPerStep: Int32, between: (_ remaining: Int, _ total: Int) throws -> Void) throws -> Int {
        guard let backup = sqlite3_backup_init(destination.handle, "main", handle, "main") else {
            throw QuarryError(.storage, "cannot back up \(path) to \(destination.path): \(destination.lastErrorMessage)")
        }
        var finished = false
        defer { if !finished { sqlite3_backup_finish(backup) } }
        while true {
            let rc = sqlite3_backup_step(backup, max(1, pagesPerStep))
            switch rc {
            case SQLITE_DONE:
                let total = Int(sqlite3_backup_pagecount(backup))
                finished = true
                let end = sqlite3_backup_finish(backup)
                guard end == SQLITE_OK else { throw destination.error(end, destination.lastErrorMessage) }
                return total
            case SQLITE_OK, SQLITE_BUSY, SQLITE_LOCKED:
                try between(Int(sqlite3_backup_remaining(backup)), Int(sqlite3_backup_pagecount(backup)))
            default:
                let message = String(cString: sqlite3_errstr(rc))
                throw QuarryError(.storage, "cannot back up \(path) to \(destination.path): \(message) (SQLite error \(rc))")
            }
        }
    }

    /// The row id of the last inserted row.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Number of rows the last statement changed.
    var changes: Int { Int(sqlite3_changes(handle)) }

    var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }
}

/// A compiled statement no one uses, kept by its connection (only ever touched under the
/// connection's owner's lock, like the connection itself).
private struct IdleStatement: @unchecked Sendable {
    let handle: OpaquePointer
}

/// A compiled statement with typed binding and reading. Given back to its connection when
/// released (reset, kept for the next use of the same SQL, or finalised).
final class SQLiteStatement {
    private let handle: OpaquePointer
    private let connection: SQLiteConnection
    private let sql: String?

    fileprivate init(_ handle: OpaquePointer, connection: SQLiteConnection, sql: String?) {
        self.handle = handle
        self.connection = connection
        self.sql = sql
    }

    deinit {
        connection.release(handle, sql: sql)
    }

    /// A value to bind to a `?` parameter.
    enum Value {
        case integer(Int64)
        case real(Double)
        case text(String)
        case blob([Float])
        case null
    }

    /// Resets the statement and binds `values` to its parameters, in order.
    @discardableResult
    func bind(_ values: [Value]) throws -> SQLiteStatement {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .integer(let v): rc = sqlite3_bind_int64(handle, index, v)
            case .real(let v): rc = sqlite3_bind_double(handle, index, v)
            case .text(let v): rc = sqlite3_bind_text(handle, index, v, -1, quarry_sqlite_transient())
            case .blob(let floats):
                rc = floats.withUnsafeBytes { raw in
                    sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count), quarry_sqlite_transient())
                }
            case .null: rc = sqlite3_bind_null(handle, index)
            }
            guard rc == SQLITE_OK else {
                throw QuarryError(.storage, "SQLite cannot bind parameter \(index): \(connection.lastErrorMessage)")
            }
        }
        return self
    }

    /// Advances to the next row. Returns `false` when the statement is done.
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            throw connection.error(rc, connection.lastErrorMessage)
        }
    }

    /// Runs a statement that returns no rows.
    func run(_ values: [Value] = []) throws {
        try bind(values)
        while try step() {}
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    func optionalInt(_ column: Int32) -> Int? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : Int(sqlite3_column_int64(handle, column))
    }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    func optionalDouble(_ column: Int32) -> Double? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_double(handle, column)
    }
    func optionalText(_ column: Int32) -> String? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : text(column)
    }

    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// Appends the floats of a vector BLOB column to `output`; returns how many were appended.
    @discardableResult
    func appendFloats(_ column: Int32, to output: inout [Float]) -> Int {
        let byteCount = Int(sqlite3_column_bytes(handle, column))
        guard let raw = sqlite3_column_blob(handle, column), byteCount > 0 else { return 0 }
        let count = byteCount / MemoryLayout<Float>.stride
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: count))
        output.withUnsafeMutableBytes { destination in
            // The BLOB holds little-endian floats written by `bind(.blob)`; copy rather than
            // rebind, since SQLite promises no alignment.
            if let base = destination.baseAddress {
                memcpy(base + start * MemoryLayout<Float>.stride, raw, count * MemoryLayout<Float>.stride)
            }
        }
        return count
    }
}

/// Read connections to one database, each behind its own mutex: concurrent searches (WAL mode
/// lets readers run side by side) take a free connection, or wait for the next in turn.
final class ReadConnectionPool: Sendable {
    /// A connection and the lock that gives one caller at a time its use.
    private final class Slot: @unchecked Sendable {
        let lock = Mutex(())
        let connection: SQLiteConnection
        init(_ connection: SQLiteConnection) { self.connection = connection }
    }

    private let connections: [Slot]
    private let turn = Atomic<Int>(0)

    /// Opens `count` connections to the database at `path`.
    init(path: String, count: Int, mode: SQLiteConnection.OpenMode = .readWrite) throws {
        var connections: [Slot] = []
        for _ in 0..<max(1, count) {
            let connection = try SQLiteConnection(path: path, mode: mode)
            try connection.execute("PRAGMA foreign_keys = ON;")
            connections.append(Slot(connection))
        }
        self.connections = connections
    }

    /// Runs `body` with a connection no one else is using meanwhile.
    func withLock<R: Sendable>(_ body: (SQLiteConnection) throws -> R) throws -> R {
        let start = turn.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max
        for offset in 0..<connections.count {
            let slot = connections[(start + offset) % connections.count]
            let attempt: Result<R, any Error>? = slot.lock.withLockIfAvailable { _ in Result { try body(slot.connection) } }
            if let attempt { return try attempt.get() }
        }
        let slot = connections[start % connections.count]
        return try slot.lock.withLock { _ in Result { try body(slot.connection) } }.get()
    }
}

extension SQLiteConnection {
    /// Reads `columns` of the chunks whose ids are `ids`, 500 ids per statement (well under
    /// SQLite's limit on bound parameters), passing each row to `row`, in no particular order.
    func forEachChunk(_ columns: String, ids: [Int64], row: (SQLiteStatement) throws -> Void) throws {
        var start = 0
        while start < ids.count {
            let slice = ids[start..<min(start + 500, ids.count)]
            let placeholders = Array(repeating: "?", count: slice.count).joined(separator: ",")
            let statement = try prepare("SELECT \(columns) FROM quarry_chunks WHERE id IN (\(placeholders))")
            try statement.bind(slice.map { .integer($0) })
            while try statement.step() { try row(statement) }
            start += slice.count
        }
    }
}
