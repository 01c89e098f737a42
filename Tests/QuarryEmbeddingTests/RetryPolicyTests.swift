import QuarryEmbedding
import Synchronization
import Testing

@Suite struct RetryPolicyTests {
    struct Failure: RetryableFailure {
        var retryable: Bool
        var retryAfter: Duration? = nil
    }

    struct Other: Error {}

    /// Counts the attempts of `RetryPolicy.run`.
    final class Attempts: Sendable {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func next() -> Int { count.withLock { $0 += 1; return $0 } }
    }

    let quick = RetryPolicy(maxRetries: 2, initialBackoff: .zero, maxBackoff: .zero)

    @Test func backoffIsJitteredExponentialAndHonoursRetryAfter() {
        let policy = RetryPolicy(maxRetries: 2, initialBackoff: .milliseconds(100), maxBackoff: .seconds(1))
        for attempt in 0..<8 {
            let ceiling = min(Duration.seconds(1), .milliseconds(100) * (1 << attempt))
            let delays = (0..<50).map { _ in policy.backoff(attempt: attempt, retryAfter: nil) }
            #expect(delays.allSatisfy { $0 >= .zero && $0 <= ceiling })
            #expect(Set(delays).count > 1, "jittered")
        }
        #expect(policy.backoff(attempt: 60, retryAfter: nil) <= .seconds(1))
        #expect(policy.backoff(attempt: 0, retryAfter: .milliseconds(300)) == .milliseconds(300))
        #expect(policy.backoff(attempt: 0, retryAfter: .seconds(60)) == .seconds(1))
        #expect(RetryPolicy(maxRetries: -3, initialBackoff: .zero, maxBackoff: .zero).maxRetries == 0)
    }

    @Test func whatIsRetriedAndForHowLong() {
        #expect([429, 500, 502, 503, 599].allSatisfy(RetryPolicy.isRetryable(status:)))
        #expect(![200, 400, 401, 404, 422].contains(where: RetryPolicy.isRetryable(status:)))
        #expect(RetryPolicy.retryAfter("0") == .zero)
        #expect(RetryPolicy.retryAfter("2.5") == .milliseconds(2500))
        #expect(RetryPolicy.retryAfter("1e30") == .seconds(86_400))
        for header in [nil, "", "Wed, 21 Oct 2015 07:28:00 GMT", "-1", "nan", "inf"] {
            #expect(RetryPolicy.retryAfter(header) == nil, "\(header ?? "nil")")
        }
    }

    @Test func retryableFailuresAreRetriedUpToTheLimit() async throws {
        let attempts = Attempts()
        let value = try await quick.run {
            if attempts.next() < 3 { throw Failure(retryable: true, retryAfter: .zero) }
            return "third"
        }
        #expect(value == "third" && attempts.value == 3)

        let exhausted = Attempts()
        await #expect(throws: Failure.self) {
            try await quick.run { () async throws -> Int in
                _ = exhausted.next()
                throw Failure(retryable: true)
            }
        }
        #expect(exhausted.value == 3)
    }

    @Test func otherFailuresAreFinalAtOnce() async throws {
        let notRetryable = Attempts()
        await #expect(throws: Failure.self) {
            try await quick.run { () async throws -> Int in
                _ = notRetryable.next()
                throw Failure(retryable: false, retryAfter: .zero)
            }
        }
        #expect(notRetryable.value == 1)

        let other = Attempts()
        await #expect(throws: Other.self) {
            try await quick.run { () async throws -> Int in
                _ = other.next()
                throw Other()
            }
        }
        #expect(other.value == 1)
    }
}
