import Foundation
import QuarryCore
import Synchronization

/// A connection a pool lends out; only the pool's borrower uses it until it comes back, which is
/// what makes handing it between threads safe.
public protocol PooledConnection: AnyObject, Sendable {
    /// Whether the connection can take another statement (false once it dropped).
    var isUsable: Bool { get }
}

/// A bounded pool of blocking connections, opened when first needed, whose users wait for a
/// connection asynchronously and run their statements on the store's `BlockingExecutor`.
///
/// A waiting caller holds no thread: it is a continuation in a queue, served in order when a
/// connection comes back, or failed when `acquireTimeout` passes first (or its task is
/// cancelled). The executor needs as many threads as the pool has connections, so a caller that
/// has a connection never waits for a thread.
public final class ConnectionPool<Connection: PooledConnection>: @unchecked Sendable {
    /// What a waiting caller is handed: a connection, or the right to open one.
    private enum Grant {
        case connection(Connection)
        case open
    }

    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Grant, any Error>
    }

    private struct State {
        var idle: [Connection] = []
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiter: UInt64 = 0
    }

    /// The most connections open at once.
    public let capacity: Int
    /// How long a caller waits for a connection before it gets an error.
    public let acquireTimeout: Duration
    /// The threads statements run on.
    public let executor: BlockingExecutor
    private let connect: @Sendable () throws -> Connection
    private let describe: String
    // @unchecked Sendable: connections are only touched by the one caller that borrowed them, and
    // the queue of idle ones only under this lock.
    private let state = Mutex(State())

    /// Creates a pool; no connection is opened until one is needed.
    /// - Parameters:
    ///   - capacity: the most connections open at once.
    ///   - acquireTimeout: how long a caller waits for a connection.
    ///   - executor: the threads that open connections and run statements.
    ///   - name: what the connections reach, for error messages ("PostgreSQL").
    ///   - connect: opens one connection (blocking; runs on the executor).
    public init(
        capacity: Int, acquireTimeout: Duration = .seconds(30), executor: BlockingExecutor, name: String,
        connect: @escaping @Sendable () throws -> Connection
    ) {
        self.capacity = max(1, capacity)
        self.acquireTimeout = acquireTimeout
        self.executor = executor
        self.describe = name
        self.connect = connect
    }

    /// Runs `body` on the executor with a connection no one else uses meanwhile.
    /// - Throws: what `body` throws; `QuarryError.unavailable` when no connection came free
    ///   within `acquireTimeout`; what opening a connection throws.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let lease: Lease<Connection>
        switch try await acquire() {
        case .connection(let lent): lease = Lease(lent)
        case .open: lease = Lease(nil)
        }
        do {
            let result = try await executor.run { [connect] in
                if lease.connection == nil { lease.connection = try connect() }
                return try body(lease.connection!)
            }
            release(lease.connection)
            return result
        } catch {
            release(lease.connection)
            throw error
        }
    }

    /// Closes every idle connection; a store drains its pool when it closes.
    public func drain() {
        let idle = state.withLock { state -> [Connection] in
            let idle = state.idle
            state.open -= idle.count
            state.idle = []
            return idle
        }
        _ = idle  // released here, outside the lock: their deinit closes them
    }

    private func acquire() async throws -> Grant {
        let immediate: Grant? = state.withLock { state in
            if let connection = state.idle.popLast() { return .connection(connection) }
            if state.open < capacity {
                state.open += 1
                return .open
            }
            return nil
        }
        if let immediate { return immediate }
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        let timeout = acquireTimeout
        let expired = QuarryError(.unavailable, "all \(capacity) \(describe) connections stayed busy for \(timeout)")
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.fail(waiter: id, expired)
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let served: Grant? = state.withLock { state in
                    // A connection may have come back between the first look and now.
                    if let connection = state.idle.popLast() { return .connection(connection) }
                    if state.open < capacity {
                        state.open += 1
                        return .open
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let served { continuation.resume(returning: served) }
            }
        } onCancel: {
            fail(waiter: id, CancellationError())
        }
    }

    private func fail(waiter id: UInt64, _ error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: error)
    }

    private func release(_ connection: Connection?) {
        let handOff = state.withLock { state -> (Waiter, Grant)? in
            let usable = connection.map(\.isUsable) ?? false
            if !state.waiters.isEmpty {
                let waiter = state.waiters.removeFirst()
                if usable, let connection { return (waiter, .connection(connection)) }
                // The slot of a dropped (or never opened) connection: the waiter opens a new one.
                return (waiter, .open)
            }
            if usable, let connection {
                state.idle.append(connection)
            } else {
                state.open -= 1
            }
            return nil
        }
        if let (waiter, grant) = handOff { waiter.continuation.resume(returning: grant) }
    }
}

/// One borrowing of a connection, carried to the executor's thread and back; `nil` until a
/// connection the pool let this borrower open is opened.
private final class Lease<Connection: PooledConnection>: @unchecked Sendable {
    var connection: Connection?

    init(_ connection: Connection?) { self.connection = connection }
}
