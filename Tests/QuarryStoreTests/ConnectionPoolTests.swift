import Foundation
import QuarryCore
import Synchronization
import Testing

@testable import QuarryStore

/// A connection that only counts how often it was opened and can be made to drop.
final class FakeConnection: PooledConnection, @unchecked Sendable {
    static let opened = Atomic<Int>(0)
    let number: Int
    var dropped = false
    var isUsable: Bool { !dropped }

    init() { number = Self.opened.add(1, ordering: .relaxed).newValue }
}

@Suite struct ConnectionPoolTests {
    @Test func callersWaitWithoutAThreadAndAreServedInTurn() async throws {
        let executor = BlockingExecutor(threads: 1)
        let pool = ConnectionPool(capacity: 1, acquireTimeout: .seconds(10), executor: executor, name: "fake") { FakeConnection() }
        // Eight callers for one connection: each waits its turn, and they all share it.
        let numbers = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await pool.withConnection { connection in
                        Thread.sleep(forTimeInterval: 0.01)
                        return connection.number
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(numbers.count == 8 && Set(numbers).count == 1)
        await executor.shutdown()
    }

    @Test func aCallerThatWaitsTooLongGetsUnavailable() async throws {
        let executor = BlockingExecutor(threads: 1)
        let pool = ConnectionPool(capacity: 1, acquireTimeout: .milliseconds(100), executor: executor, name: "fake") { FakeConnection() }
        let holder = Task { try await pool.withConnection { _ in Thread.sleep(forTimeInterval: 1) } }
        try await Task.sleep(for: .milliseconds(100))
        do {
            try await pool.withConnection { _ in }
            Issue.record("a second caller got the only connection while it was held")
        } catch let error as QuarryError {
            #expect(error.code == .unavailable && error.message.contains("1 fake connections stayed busy"))
        }
        try await holder.value
        // Once it is back, the next caller gets it at once.
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
        await #expect(throws: QuarryError.self) { try await executor.run { 1 } }
    }
}
