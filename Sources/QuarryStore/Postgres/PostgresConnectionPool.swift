import Foundation
import QuarryCore

/// A bounded pool of PostgreSQL connections, opened when first needed.
///
/// A caller holds a connection for the length of one body (a statement or a transaction); when
/// all are taken, callers wait up to `acquireTimeout`. A body that fails because the connection
/// dropped (a server restart, a killed backend, a network cut) runs once more on a fresh
/// connection: bodies are whole statements or transactions, which the server rolled back when the
/// connection broke, so running one again is safe.
public final class PostgresConnectionPool: @unchecked Sendable {
    /// The server's URL.
    public let url: String
    /// The most connections open at once.
    public let size: Int
    private let acquireTimeout: TimeInterval
    private let connectTimeoutSeconds: Int
    private let statementTimeoutMS: Int
    // Guards `idle` and `open`.
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var open = 0

    /// Creates a pool; no connection is opened until one is needed.
    public init(
        url: String, size: Int = 8, acquireTimeout: TimeInterval = 30, connectTimeoutSeconds: Int = 5,
        statementTimeoutMS: Int = 30_000
    ) {
        self.url = url
        self.size = max(1, size)
        self.acquireTimeout = acquireTimeout
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.statementTimeoutMS = statementTimeoutMS
    }

    /// Runs `body` with a connection of its own, once more on a new connection when the first
    /// one dropped during it.
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try acquire()
        defer { release(connection) }
        do {
            try connection.reconnectIfNeeded()
            return try body(connection)
        } catch where !connection.isConnected {
            do {
                try connection.reconnectIfNeeded()
            } catch {
                throw QuarryError(.storage, "lost the connection to PostgreSQL and could not reconnect", underlying: error)
            }
            return try body(connection)
        }
    }

    /// Runs `body` in a transaction (see `withConnection` for dropped connections).
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try withConnection { connection in try connection.transaction(body) }
    }

    private func acquire() throws -> PostgresConnection {
        let deadline = Date().addingTimeInterval(acquireTimeout)
        condition.lock()
        while true {
            if let connection = idle.popLast() {
                condition.unlock()
                return connection
            }
            if open < size {
                open += 1
                condition.unlock()
                do {
                    return try PostgresConnection(
                        url: url, connectTimeoutSeconds: connectTimeoutSeconds, statementTimeoutMS: statementTimeoutMS
                    )
                } catch {
                    condition.lock()
                    open -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            guard condition.wait(until: deadline) else {
                condition.unlock()
                throw QuarryError(
                    .storage, "all \(size) PostgreSQL connections stayed busy for \(Int(acquireTimeout)) s"
                )
            }
        }
    }

    private func release(_ connection: PostgresConnection) {
        condition.lock()
        if connection.isConnected {
            idle.append(connection)
        } else {
            open -= 1  // dropped: the next caller opens a fresh one
        }
        condition.signal()
        condition.unlock()
    }
}
