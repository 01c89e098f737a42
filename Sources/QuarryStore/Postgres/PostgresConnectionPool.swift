import Foundation
import QuarryCore

// @unchecked Sendable: a connection is used by one borrower of the pool at a time.
extension PostgresConnection: @unchecked Sendable, PooledConnection {
    /// Whether the connection is still open.
    public var isUsable: Bool { isConnected }
}

/// A bounded pool of PostgreSQL connections, opened when first needed, with threads of its own
/// for libpq's blocking calls.
///
/// A caller holds a connection for the length of one body (a statement or a transaction); when
/// all are taken, callers wait, without holding a thread, up to `acquireTimeout`. A body that
/// fails because the connection dropped (a server restart, a killed backend, a network cut) runs
/// once more on a fresh connection: bodies are whole statements or transactions, which the server
/// rolled back when the connection broke, so running one again is safe.
public final class PostgresConnectionPool: Sendable {
    /// The server's URL.
    public let url: String
    /// The most connections open at once.
    public var size: Int { connections.capacity }
    private let connections: ConnectionPool<PostgresConnection>

    /// Creates a pool and its threads (one per connection); no connection is opened until one is
    /// needed.
    public init(
        url: String, size: Int = 8, acquireTimeout: Duration = .seconds(30), connectTimeoutSeconds: Int = 5,
        statementTimeoutMS: Int = 30_000
    ) {
        self.url = url
        let executor = BlockingExecutor(threads: max(1, size))
        connections = ConnectionPool(capacity: size, acquireTimeout: acquireTimeout, executor: executor, name: "PostgreSQL") {
            do {
                return try PostgresConnection(url: url, connectTimeoutSeconds: connectTimeoutSeconds, statementTimeoutMS: statementTimeoutMS)
            } catch {
                throw Self.unreachable(error)
            }
        }
    }

    /// Runs `body` on the pool's threads with a connection of its own, once more on a new
    /// connection when the first one dropped during it.
    /// - Throws: what `body` throws; `QuarryError.unavailable` when the server cannot be reached
    ///   (a dropped connection cannot be reopened) or no connection came free in time.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await connections.withConnection { connection in
            do {
                try Self.reconnect(connection)
                return try body(connection)
            } catch where !connection.isConnected {
                try Self.reconnect(connection)
                return try body(connection)
            }
        }
    }

    private static func reconnect(_ connection: PostgresConnection) throws {
        do {
            try connection.reconnectIfNeeded()
        } catch {
            throw unreachable(error)
        }
    }

    /// A server that cannot be reached (restarting, down, network cut) is a 503 the client may
    /// retry; its address and libpq's message stay in `underlying`, for the log, not the client.
    private static func unreachable(_ error: any Error) -> QuarryError {
        QuarryError(.unavailable, "the database (PostgreSQL) cannot be reached; try again shortly", underlying: error)
    }

    /// Runs `body` in a transaction (see `withConnection` for dropped connections).
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withConnection { connection in try connection.transaction(body) }
    }

    /// Closes the idle connections and stops the pool's threads once the work under way is done.
    public func close() async {
        connections.drain()
        await connections.executor.shutdown()
    }
}
