import CLibPQ
import Foundation
import QuarryCore

/// A value bound to a `$n` parameter of a PostgreSQL statement. Values travel separately from the
/// SQL text (libpq's `PQexecParams`), so no user input is ever spliced into a statement.
public enum PostgresValue: Sendable, Equatable {
    case text(String)
    case integer(Int64)
    case real(Double)
    case bool(Bool)
    /// A pgvector `vector`, sent in its text form `[1,2,3]`.
    case vector([Float])
    /// A `text[]` array.
    case textArray([String])
    /// A `bigint[]` array.
    case integerArray([Int64])
    case null

    /// The parameter's text form, or `nil` for SQL NULL. PostgreSQL text cannot hold NUL, and a
    /// C string would end at one: NULs are left out.
    var wireText: String? {
        switch self {
        case .text(let value): Self.withoutNUL(value)
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .bool(let value): value ? "t" : "f"
        case .vector(let values): Self.vectorText(values)
        case .textArray(let values):
            // Array literal: every element double-quoted, backslash and quote escaped.
            "{" + values.map { "\"" + Self.withoutNUL($0).replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "}"
        case .integerArray(let values): "{" + values.map(String.init).joined(separator: ",") + "}"
        case .null: nil
        }
    }

    static func vectorText(_ values: [Float]) -> String {
        "[" + values.map { String($0) }.joined(separator: ",") + "]"
    }

    static func withoutNUL(_ text: String) -> String {
        text.contains("\0") ? text.replacingOccurrences(of: "\0", with: "") : text
    }
}

/// The rows a statement returned, as text (libpq's text format), with typed accessors.
public struct PostgresRows: Sendable {
    /// Column names, in order.
    public let columns: [String]
    /// Each row's values; `nil` is SQL NULL.
    public let rows: [[String?]]
    /// Rows a command affected (`INSERT`, `UPDATE`, `DELETE`), when it reports them.
    public let affected: Int?

    /// Number of rows.
    public var count: Int { rows.count }

    /// A column as text; `nil` for SQL NULL.
    public func string(_ row: Int, _ column: Int) -> String? { rows[row][column] }

    /// A column as an integer; `nil` for NULL or text that is not one.
    public func int64(_ row: Int, _ column: Int) -> Int64? { rows[row][column].flatMap { Int64($0) } }

    /// A column as a floating-point number; `nil` for NULL.
    public func double(_ row: Int, _ column: Int) -> Double? { rows[row][column].flatMap { Double($0) } }

    /// A column as a boolean (`t` is true); `nil` for NULL.
    public func bool(_ row: Int, _ column: Int) -> Bool? { rows[row][column].map { $0 == "t" } }

    /// A pgvector value (`[1,2,3]`).
    public func vector(_ row: Int, _ column: Int) -> [Float]? {
        guard let text = rows[row][column], text.hasPrefix("["), text.hasSuffix("]") else { return nil }
        let values = text.dropFirst().dropLast().split(separator: ",").compactMap { Float($0) }
        return values
    }
}

/// One libpq connection. Not thread-safe: a pool hands each to one caller at a time.
///
/// Errors are `QuarryError.storage` carrying PostgreSQL's message and SQLSTATE; a connection
/// that broke is re-established by `reconnectIfNeeded()` (callers retry their transaction).
public final class PostgresConnection {
    private var connection: OpaquePointer?
    /// The connection URL (`postgres://user@host:port/database`).
    public let url: String
    private let connectTimeoutSeconds: Int
    private let statementTimeoutMS: Int

    /// Connects to `url`.
    /// - Parameters:
    ///   - connectTimeoutSeconds: time allowed to open the connection.
    ///   - statementTimeoutMS: each statement is cancelled by the server after this long (0: never).
    /// - Throws: `QuarryError.storage` when the server cannot be reached or refuses the login.
    public init(url: String, connectTimeoutSeconds: Int = 5, statementTimeoutMS: Int = 30_000) throws {
        self.url = url
        self.connectTimeoutSeconds = max(1, connectTimeoutSeconds)
        self.statementTimeoutMS = max(0, statementTimeoutMS)
        try connect()
    }

    deinit {
        PQfinish(connection)
    }

    private func connect() throws {
        PQfinish(connection)
        let keywords = ["dbname", "connect_timeout", "application_name"]
        let values = [url, String(connectTimeoutSeconds), "quarry"]
        connection = withCStrings(keywords) { keywordPointers in
            withCStrings(values) { valuePointers in
                // expand_dbname = 1: the URL in dbname sets host, port, user and database.
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let message = connection.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            throw QuarryError(.storage, "cannot connect to PostgreSQL at \(Self.redacted(url)): \(message.trimmingWhitespace())")
        }
        // libpq prints the server's notices to stderr by default; Quarry reports errors itself.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        _ = try execute("SET statement_timeout = \(statementTimeoutMS)")
        // Notices ("already exists, skipping") are not for Quarry's users; warnings and errors are.
        _ = try execute("SET client_min_messages = warning")
    }

    /// Whether the connection is usable.
    public var isConnected: Bool { connection.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// Opens the connection again when it broke (a server restart, a dropped socket).
    public func reconnectIfNeeded() throws {
        if !isConnected { try connect() }
    }

    /// Runs one statement with `$1`, `$2`, … bound to `parameters`.
    /// - Throws: `QuarryError.storage` with the server's message and SQLSTATE.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue] = []) throws -> PostgresRows {
        guard let connection else { throw QuarryError(.storage, "the PostgreSQL connection is closed") }
        let texts = parameters.map(\.wireText)
        let result: OpaquePointer? = withOptionalCStrings(texts) { pointers in
            PQexecParams(connection, sql, Int32(texts.count), nil, pointers, nil, nil, 0)
        }
        defer { PQclear(result) }
        guard let result else { throw Self.error(nil, connection) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw Self.error(result, connection) }
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [[String?]] = []
        for row in 0..<Int(PQntuples(result)) {
            rows.append(
                (0..<columnCount).map { column in
                    PQgetisnull(result, Int32(row), Int32(column)) == 1 ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
                }
            )
        }
        let affected = Int(String(cString: PQcmdTuples(result)))
        return PostgresRows(columns: columns, rows: rows, affected: affected)
    }

    /// Runs several statements without parameters (a migration script): for the caller's
    /// constant SQL only.
    public func executeScript(_ sql: String) throws {
        guard let connection else { throw QuarryError(.storage, "the PostgreSQL connection is closed") }
        let result = PQexec(connection, sql)
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard result != nil, status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw Self.error(result, connection) }
    }

    /// Bulk-loads `rows` into `table` with `COPY … FROM STDIN` (text format), in the current
    /// transaction when there is one. `table` and `columns` are the caller's constants, never
    /// user input; the values travel as COPY data.
    /// - Returns: the number of rows loaded.
    @discardableResult
    public func copy(into table: String, columns: [String], rows: [[PostgresValue]]) throws -> Int {
        guard let connection else { throw QuarryError(.storage, "the PostgreSQL connection is closed") }
        guard !rows.isEmpty else { return 0 }
        let start = PQexec(connection, "COPY \(table) (\(columns.joined(separator: ", "))) FROM STDIN")
        let startStatus = PQresultStatus(start)
        let startError = Self.error(start, connection)
        PQclear(start)
        guard startStatus == PGRES_COPY_IN else { throw startError }
        var buffer = ""
        var failure: String?
        func flush() {
            guard !buffer.isEmpty, failure == nil else { return }
            let sent = buffer.utf8CString.withUnsafeBufferPointer { bytes in
                PQputCopyData(connection, bytes.baseAddress, Int32(bytes.count - 1))
            }
            if sent != 1 { failure = String(cString: PQerrorMessage(connection)) }
            buffer.removeAll(keepingCapacity: true)
        }
        for row in rows {
            for (index, value) in row.enumerated() {
                if index > 0 { buffer += "\t" }
                buffer += value.wireText.map(Self.copyEscaped) ?? "\\N"
            }
            buffer += "\n"
            if buffer.utf8.count > 1 << 20 { flush() }
        }
        flush()
        PQputCopyEnd(connection, failure)
        var outcome: QuarryError?
        while let result = PQgetResult(connection) {
            if PQresultStatus(result) != PGRES_COMMAND_OK, outcome == nil { outcome = Self.error(result, connection) }
            PQclear(result)
        }
        if let outcome { throw outcome }
        if let failure { throw QuarryError(.storage, "PostgreSQL COPY failed: \(failure.trimmingWhitespace())") }
        return rows.count
    }

    /// A value in COPY's text format: backslash, tab, newline and carriage return escaped.
    static func copyEscaped(_ text: String) -> String {
        guard text.contains(where: { $0 == "\\" || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\t": escaped += "\\t"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// The error a failed result carries: the server's message and SQLSTATE.
    private static func error(_ result: OpaquePointer?, _ connection: OpaquePointer) -> QuarryError {
        guard let result else {
            return QuarryError(.storage, "PostgreSQL: \(String(cString: PQerrorMessage(connection)).trimmingWhitespace())")
        }
        let message = String(cString: PQresultErrorMessage(result)).trimmingWhitespace()
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? "?"
        return QuarryError(.storage, "PostgreSQL (\(state)): \(message.isEmpty ? String(cString: PQerrorMessage(connection)).trimmingWhitespace() : message)")
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// - Parameter settings: `SET LOCAL` names and values for the transaction, sent with its
    ///   `BEGIN` in one round trip: the caller's constants and integers, never user input.
    public func transaction<T>(settings: [(name: String, value: String)] = [], _ body: (PostgresConnection) throws -> T) throws -> T {
        try executeScript((["BEGIN"] + settings.map { "SET LOCAL \($0.name) = \($0.value)" }).joined(separator: "; "))
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    /// `url` without its password, for messages.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }
}

private func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    return body(copies.map { UnsafePointer($0) } + [nil])
}

private func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { $0.map { strdup($0) } ?? nil }
    defer { copies.forEach { free($0) } }
    return body(copies.map { UnsafePointer($0) })
}
