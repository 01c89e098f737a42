import NIOPosix
import QuarryCore
import Synchronization

/// Threads of a store's own for blocking work (SQLite and libpq calls, exact search over a
/// vector snapshot), so that none of it runs on Swift concurrency's shared threads.
///
/// With two cores, one blocked cooperative thread is half the server: a query waiting on the
/// database would stop every other request from being embedded or answered. The store's async
/// methods hop here once per operation, as GRDB's async reads hop onto their connection's queue.
public final class BlockingExecutor: Sendable {
    private let pool: NIOThreadPool
    private let stopped = Atomic<Bool>(false)

    /// Starts `threads` threads.
    public init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
    }

    /// Runs `body` on one of the executor's threads and returns its result.
    /// - Throws: what `body` throws; `QuarryError.unavailable` once the executor is shut down;
    ///   `CancellationError` when the task is cancelled before `body` starts.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let closed = QuarryError(.unavailable, "the store is closed")
        guard !stopped.load(ordering: .acquiring) else { throw closed }
        do {
            return try await pool.runIfActive(body)
        } catch is NIOThreadPoolError.ThreadPoolInactive {
            throw closed
        } catch is CancellationError where stopped.load(ordering: .acquiring) {
            // A pool that stopped while the work waited cancels it.
            throw closed
        }
    }

    /// Lets running work finish, then stops the threads. Later calls do nothing.
    public func shutdown() async {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try? await pool.shutdownGracefully()
    }

    deinit {
        // A store that was never closed still lets its threads go.
        if !stopped.load(ordering: .acquiring) { pool.shutdownGracefully { _ in } }
    }
}
