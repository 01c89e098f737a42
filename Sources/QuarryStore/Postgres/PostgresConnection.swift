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
    case null

    /// The parameter's text form, or `nil` for SQL NULL.
    var wireText: String? {
        switch self {
        case .text(let value): value
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .bool(let value): value ? "t" : "f"
        case .vector(let values): "[" + values.map { String($0) }.joined(separator: ",") + "]"
        case .null: nil
        }
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

    public var count: Int { rows.count }

    public func string(_ row: Int, _ column: Int) -> String? { rows[row][column] }

    public func int64(_ row: Int, _ column: Int) -> Int64? { rows[row][column].flatMap { Int64($0) } }

    public func double(_ row: Int, _ column: Int) -> Double? { rows[row][column].flatMap { Double($0) } }

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
        _ = try execute("SET statement_timeout = \(statementTimeoutMS)")
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
        guard let result else {
            throw QuarryError(.storage, "PostgreSQL: \(String(cString: PQerrorMessage(connection)).trimmingWhitespace())")
        }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let message = String(cString: PQresultErrorMessage(result)).trimmingWhitespace()
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? "?"
            throw QuarryError(.storage, "PostgreSQL (\(state)): \(message)")
        }
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

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try execute("BEGIN")
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
    static func redacted(_ url: String) -> String {
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
