import QuarryCore
import Synchronization

/// Counters of an `AuditLog`, for `/metrics`.
public struct AuditLogMetrics: Sendable, Hashable {
    /// Records accepted by `record(_:)`.
    public var recorded = 0
    /// Records written to the store.
    public var written = 0
    /// Calls to `record(_:)` that found the buffer full and waited for room (each waited at most
    /// for the store write under way, while the store accepts writes).
    public var waitedForRoom = 0
    /// Store writes that failed and were tried again.
    public var failedWrites = 0
    /// Records accepted and not yet written: buffered, being written, or waiting for room.
    public var pending = 0
    /// Records given up on: the store still refused them when the log shut down.
    public var unwritten = 0
}

/// The writer the server records audit entries through: `record(_:)` puts a record into a
/// bounded buffer and returns; `run()` drains the buffer in batches, one store transaction per
/// batch, in the order records came in.
///
/// A request never waits for its own record to be written. When the buffer is full, `record(_:)`
/// waits for room instead of dropping the record (an audit log that loses entries quietly proves
/// nothing); room comes when the write under way completes, so a request waits no longer than
/// one store write, and each wait is counted in `metrics.waitedForRoom`. While the store refuses
/// writes, the batch is tried again with growing delays, and once the buffer is full requests wait
/// as their own store operations would.
///
/// `finish()` (called on graceful shutdown, or when `run()`'s task is cancelled) stops taking
/// records; `run()` then writes everything accepted and returns. Records still buffered when the
/// process dies without a shutdown are lost: at most `capacity` plus one batch.
///
/// Run it as a service (it is one in all but name: `QuarryAccess` does not depend on
/// swift-service-lifecycle), finishing on graceful shutdown:
/// `try await withGracefulShutdownHandler { try await log.run() } onGracefulShutdown: { log.finish() }`.
public final class AuditLog: Sendable {
    /// Writes a batch of records to the store, in order, in one transaction.
    public typealias Writer = @Sendable ([AuditRecord]) async throws -> Void

    /// How records made for this log keep query text.
    public let queryMode: AuditQueryMode
    /// The most records buffered before `record(_:)` waits.
    public let capacity: Int
    /// The most records written in one store transaction.
    public let batchSize: Int

    private let write: Writer
    private let retryDelay: Duration
    private let maxRetryDelay: Duration
    private let finalAttempts: Int
    private let onWriteFailure: (@Sendable (any Error) -> Void)?
    private let state = Mutex(State())

    private struct State: Sendable {
        var buffer: [AuditRecord] = []
        var waiting: [(record: AuditRecord, admitted: CheckedContinuation<Void, any Error>)] = []
        var drainer: CheckedContinuation<Void, Never>?
        var finished = false
        var inFlight = 0
        var metrics = AuditLogMetrics()
    }

    /// Creates a log; nothing is written until `run()` runs.
    /// - Parameters:
    ///   - queryMode: how records made for it keep query text.
    ///   - capacity: the most records buffered before `record(_:)` waits for room.
    ///   - batchSize: the most records written in one store transaction.
    ///   - retryDelay: the first pause after a failed write (doubling up to `maxRetryDelay`).
    ///   - finalAttempts: how many times a batch is tried after `finish()` before `run()` gives up.
    ///   - onWriteFailure: told of every failed write (to log it).
    ///   - write: writes a batch: `store.appendAudit(records.map(entry), link: AuditHash.link)`.
    public init(
        queryMode: AuditQueryMode = .hash, capacity: Int = 4096, batchSize: Int = 256, retryDelay: Duration = .milliseconds(50),
        maxRetryDelay: Duration = .seconds(5), finalAttempts: Int = 3, onWriteFailure: (@Sendable (any Error) -> Void)? = nil,
        write: @escaping Writer
    ) {
        self.queryMode = queryMode
        self.capacity = max(1, capacity)
        self.batchSize = max(1, batchSize)
        self.retryDelay = retryDelay
        self.maxRetryDelay = max(retryDelay, maxRetryDelay)
        self.finalAttempts = max(1, finalAttempts)
        self.onWriteFailure = onWriteFailure
        self.write = write
    }

    /// The counters so far.
    public var metrics: AuditLogMetrics {
        state.withLock { state in
            var metrics = state.metrics
            metrics.pending = state.buffer.count + state.waiting.count + state.inFlight
            return metrics
        }
    }

    /// Accepts `record` for writing; waits only when the buffer is full, until there is room.
    /// - Throws: `QuarryError(.shuttingDown)` once the log was finished; `QuarryError(.storage)`
    ///   when the log gave up on the store while this record waited for room.
    public func record(_ record: AuditRecord) async throws {
        let admission = state.withLock { state in admit(record, into: &state) }
        switch admission {
        case .accepted(let drainer):
            drainer?.resume()
            return
        case .closed:
            throw Self.closed
        case .full:
            break
        }
        try await withCheckedThrowingContinuation { (admitted: CheckedContinuation<Void, any Error>) in
            let admission = state.withLock { state in
                let admission = admit(record, into: &state)
                if case .full = admission {
                    state.waiting.append((record, admitted))
                    state.metrics.waitedForRoom += 1
                }
                return admission
            }
            switch admission {
            case .accepted(let drainer):
                drainer?.resume()
                admitted.resume()
            case .closed:
                admitted.resume(throwing: Self.closed)
            case .full:
                break
            }
        }
    }

    /// Writes what is recorded, batch by batch, until `finish()` and everything accepted before
    /// it is written. Run it once. Cancelling its task finishes the log (the write under way
    /// completes, and what is buffered is still written).
    /// - Throws: `QuarryError(.storage)` when, after `finish()`, the store refused a batch
    ///   `finalAttempts` times: the records not written are counted in `metrics.unwritten`.
    public func run() async throws {
        try await withTaskCancellationHandler {
            while true {
                let batch = await nextBatch()
                if batch.isEmpty { return }
                do {
                    try await writeWithRetries(batch)
                } catch {
                    let (count, waiting) = state.withLock { state in
                        let count = batch.count + state.buffer.count + state.waiting.count
                        let waiting = state.waiting.map(\.admitted)
                        state.metrics.unwritten += count
                        state.buffer.removeAll()
                        state.waiting.removeAll()
                        state.inFlight = 0
                        state.finished = true
                        return (count, waiting)
                    }
                    let failure = QuarryError(.storage, "the audit log could not write \(count) records to the store", underlying: error)
                    for admitted in waiting { admitted.resume(throwing: failure) }
                    throw failure
                }
            }
        } onCancel: {
            finish()
        }
    }

    /// Stops taking records: `record(_:)` throws from now on, and `run()` returns once what was
    /// accepted is written. Calling it again does nothing.
    public func finish() {
        let drainer = state.withLock { state in
            state.finished = true
            defer { state.drainer = nil }
            return state.drainer
        }
        drainer?.resume()
    }

    private static let closed = QuarryError(.shuttingDown, "the audit log is shut down; the record was not kept")

    private enum Admission {
        case accepted(drainer: CheckedContinuation<Void, Never>?)
        case full
        case closed
    }

    /// Puts `record` into the buffer when there is room and no one is waiting for it before.
    private func admit(_ record: AuditRecord, into state: inout State) -> Admission {
        if state.finished { return .closed }
        guard state.buffer.count < capacity, state.waiting.isEmpty else { return .full }
        state.buffer.append(record)
        state.metrics.recorded += 1
        defer { state.drainer = nil }
        return .accepted(drainer: state.drainer)
    }

    /// The next batch, waiting for one; empty once the log is finished and drained.
    private func nextBatch() async -> [AuditRecord] {
        while true {
            let taken = state.withLock { state -> (batch: [AuditRecord], admitted: [CheckedContinuation<Void, any Error>])? in
                guard !state.buffer.isEmpty else { return state.finished ? ([], []) : nil }
                let batch = Array(state.buffer.prefix(batchSize))
                state.buffer.removeFirst(batch.count)
                state.inFlight = batch.count
                // Room was made: the records waiting for it go in, in the order they came.
                var admitted: [CheckedContinuation<Void, any Error>] = []
                while state.buffer.count < capacity, !state.waiting.isEmpty {
                    let waiting = state.waiting.removeFirst()
                    state.buffer.append(waiting.record)
                    state.metrics.recorded += 1
                    admitted.append(waiting.admitted)
                }
                return (batch, admitted)
            }
            if let taken {
                for admitted in taken.admitted { admitted.resume() }
                return taken.batch
            }
            await withCheckedContinuation { (drainer: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state in
                    if !state.buffer.isEmpty || state.finished { return true }
                    state.drainer = drainer
                    return false
                }
                if ready { drainer.resume() }
            }
        }
    }

    private func writeWithRetries(_ batch: [AuditRecord]) async throws {
        var delay = retryDelay
        var attemptsSinceFinish = 0
        while true {
            do {
                // In a task of its own, so that cancelling `run()` does not cancel a write half
                // way: the batch is either written or tried again.
                try await Task { [write] in try await write(batch) }.value
                state.withLock { state in
                    state.metrics.written += batch.count
                    state.inFlight = 0
                }
                return
            } catch {
                let finished = state.withLock { state in
                    state.metrics.failedWrites += 1
                    return state.finished
                }
                onWriteFailure?(error)
                if finished {
                    attemptsSinceFinish += 1
                    if attemptsSinceFinish >= finalAttempts { throw error }
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, maxRetryDelay)
            }
        }
    }
}
