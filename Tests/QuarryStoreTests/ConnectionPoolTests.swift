import Foundation
import QuarryCore
import Synchronization
import Testing

@testable import QuarryStore

/// A connection that only knows its number and can be made to drop.
final class FakeConnection: PooledConnection, @unchecked Sendable {
    static let opened = Atomic<Int>(0)
    let number: Int
    var dropped = false
    var isUsable: Bool { !dropped }

    init() { number = Self.opened.add(1, ordering: .relaxed).newValue }
}

/// No timing in these tests: a caller that must wait is made to wait by a body that does not
/// return until the test lets it, never by a sleep that is hoped to be long enough.
@Suite struct ConnectionPoolTests {
    @Test func callersQueueForTheConnectionAndAllAreServed() async throws {
        let executor = BlockingExecutor(threads: 1)
        let pool = ConnectionPool(capacity: 1, acquireTimeout: .seconds(3600), executor: executor, name: "fake") { FakeConnection() }
        // Eight callers for one connection: each waits its turn (a continuation, no thread), and
        // all of them are served by the one connection.
        let numbers = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { try await pool.withConnection { $0.number } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(numbers.count == 8 && Set(numbers).count == 1)
        await executor.shutdown()
    }

    @Test func aCallerThatWaitsPastTheTimeoutGetsUnavailable() async throws {
        let executor = BlockingExecutor(threads: 1)
        let pool = ConnectionPool(capacity: 1, acquireTimeout: .milliseconds(50), executor: executor, name: "fake") { FakeConnection() }
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let holder = Task {
            try await pool.withConnection { _ in
                holding.signal()
                release.wait()
            }
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                holding.wait()
                continuation.resume()
            }
        }
        // The only connection is held until `release`: this caller can only time out.
        do {
            try await pool.withConnection { _ in }
            Issue.record("a second caller got the only connection while it was held")
        } catch let error as QuarryError {
            #expect(error.code == .unavailable && error.message.contains("all 1 fake connections stayed busy"))
        }
        release.signal()
        try await holder.value
        // Given back, the connection serves the next caller.
        try await pool.withConnection { _ in }
        await executor.shutdown()
    }

    @Test func aDroppedConnectionIsReplacedAndErrorsReachTheCaller() async throws {
        let executor = BlockingExecutor(threads: 2)
        let pool = ConnectionPool(capacity: 1, executor: executor, name: "fake") { FakeConnection() }
        let first = try await pool.withConnection { connection in
            connection.dropped = true
            return connection.number
        }
        let second = try await pool.withConnection { $0.number }
        #expect(second != first)
        await #expect(throws: QuarryError.self) {
            try await pool.withConnection { _ in throw QuarryError(.storage, "boom") }
        }
        // The failure gave the connection back.
        #expect(try await pool.withConnection { $0.number } == second)
        await executor.shutdown()
        // A closed executor refuses work with a clear error.
        do {
            _ = try await executor.run { 1 }
            Issue.record("a closed executor ran work")
        } catch let error as QuarryError {
            #expect(error.code == .unavailable)
        }
    }
}
