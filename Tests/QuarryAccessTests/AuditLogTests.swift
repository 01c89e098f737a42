import Foundation
import QuarryAccess
import QuarryCore
import Synchronization
import Testing

/// A store double: keeps the batches written; can hold a write until released, and fail.
final class RecordingWriter: Sendable {
    private struct State {
        var batches: [[String]] = []
        var calls = 0
        var held: CheckedContinuation<Void, Never>?
        var holdNext = false
    }

    private let state = Mutex(State())
    /// Fails this many calls first; `.max` for a store that never accepts.
    let failures: Int
    /// Yields once each time a held write starts.
    let started: AsyncStream<Void>
    private let startedContinuation: AsyncStream<Void>.Continuation

    init(failures: Int = 0) {
        self.failures = failures
        (started, startedContinuation) = AsyncStream.makeStream()
    }

    var batches: [[String]] { state.withLock { $0.batches } }
    var calls: Int { state.withLock { $0.calls } }

    /// The next write waits until `release()`.
    func holdNextWrite() { state.withLock { $0.holdNext = true } }

    func release() {
        let held = state.withLock { state in
            defer { state.held = nil }
            return state.held
        }
        held?.resume()
    }

    func write(_ records: [AuditRecord]) async throws {
        let (call, hold) = state.withLock { state in
            state.calls += 1
            defer { state.holdNext = false }
            return (state.calls, state.holdNext)
        }
        if hold {
            await withCheckedContinuation { continuation in
                state.withLock { $0.held = continuation }
                startedContinuation.yield()
            }
        }
        if call <= failures { throw QuarryError(.storage, "the store is down") }
        state.withLock { $0.batches.append(records.compactMap(\.requestID)) }
    }
}

@Suite struct AuditLogTests {
    func record(_ id: String) -> AuditRecord {
        AuditRecord(requestID: id, principal: .local, method: "POST", route: "/query", outcome: .ok, status: 200)
    }

    /// Polls without a clock: the log's state changes as other tasks run.
    func until(_ condition: () -> Bool) async {
        while !condition() { await Task.yield() }
    }

    @Test func writesInBatchesInOrderAndFlushesOnFinish() async throws {
        let writer = RecordingWriter()
        let log = AuditLog(capacity: 100, batchSize: 4, write: writer.write)
        for index in 0..<10 { try await log.record(record("r\(index)")) }
        log.finish()
        try await log.run()
        #expect(writer.batches == [["r0", "r1", "r2", "r3"], ["r4", "r5", "r6", "r7"], ["r8", "r9"]])
        let metrics = log.metrics
        #expect(metrics.recorded == 10 && metrics.written == 10 && metrics.pending == 0)
        #expect(metrics.waitedForRoom == 0 && metrics.failedWrites == 0 && metrics.unwritten == 0)
        await #expect(throws: QuarryError.self) { try await log.record(record("late")) }
    }

    @Test func aFullBufferMakesTheCallerWaitForTheWriteUnderWay() async throws {
        let writer = RecordingWriter()
        let log = AuditLog(capacity: 2, batchSize: 1, write: writer.write)
        writer.holdNextWrite()
        let running = Task { try await log.run() }
        var started = writer.started.makeAsyncIterator()
        try await log.record(record("r1"))
        await started.next()
        // r1 is being written; r2 and r3 fill the buffer; r4 has to wait.
        try await log.record(record("r2"))
        try await log.record(record("r3"))
        let waiting = Task { try await log.record(record("r4")) }
        await until { log.metrics.waitedForRoom == 1 }
        #expect(log.metrics.recorded == 3)
        #expect(log.metrics.pending == 4)
        writer.release()
        try await waiting.value
        log.finish()
        try await running.value
        #expect(writer.batches == [["r1"], ["r2"], ["r3"], ["r4"]])
        #expect(log.metrics.written == 4 && log.metrics.recorded == 4 && log.metrics.pending == 0)
    }

    @Test func failedWritesAreTriedAgain() async throws {
        let writer = RecordingWriter(failures: 2)
        let errors = Mutex(0)
        let log = AuditLog(
            batchSize: 10, retryDelay: .milliseconds(1), onWriteFailure: { _ in errors.withLock { $0 += 1 } }, write: writer.write
        )
        let running = Task { try await log.run() }
        for index in 0..<3 { try await log.record(record("r\(index)")) }
        await until { log.metrics.written == 3 }
        log.finish()
        try await running.value
        #expect(writer.batches.flatMap { $0 } == ["r0", "r1", "r2"])
        #expect(log.metrics.failedWrites == 2)
        #expect(errors.withLock { $0 } == 2)
    }

    @Test func aStoreThatNeverAcceptsIsReportedAtShutdown() async throws {
        let writer = RecordingWriter(failures: .max)
        let log = AuditLog(batchSize: 2, retryDelay: .milliseconds(1), finalAttempts: 2, write: writer.write)
        for index in 0..<5 { try await log.record(record("r\(index)")) }
        log.finish()
        do {
            try await log.run()
            Issue.record("run() returned although nothing was written")
        } catch let error as QuarryError {
            #expect(error.code == .storage)
            #expect(error.message.contains("5 records"))
        }
        #expect(log.metrics.unwritten == 5)
        #expect(log.metrics.written == 0)
        #expect(writer.calls == 2)
    }

    @Test func cancellingRunStillWritesWhatWasAccepted() async throws {
        let writer = RecordingWriter()
        let log = AuditLog(batchSize: 2, write: writer.write)
        writer.holdNextWrite()
        let running = Task { try await log.run() }
        var started = writer.started.makeAsyncIterator()
        try await log.record(record("r0"))
        await started.next()
        try await log.record(record("r1"))
        try await log.record(record("r2"))
        running.cancel()
        writer.release()
        try await running.value
        #expect(writer.batches.flatMap { $0 } == ["r0", "r1", "r2"])
        await #expect(throws: QuarryError.self) { try await log.record(record("late")) }
    }
}
