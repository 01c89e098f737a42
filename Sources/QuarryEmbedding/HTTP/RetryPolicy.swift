/// A failure of one attempt at a request that may be worth another attempt.
public protocol RetryableFailure: Error {
    /// Whether another attempt at the same request may succeed: the service was overloaded or
    /// rate-limited (429, 5xx), the connection broke, or the attempt timed out.
    var retryable: Bool { get }
    /// How long the service asked to wait before the next attempt (`Retry-After`), if it said.
    var retryAfter: Duration? { get }
}

/// How Quarry's HTTP clients (the OpenAI-compatible embedder and chat client) retry a request:
/// a failure that may pass (`RetryableFailure.retryable`: 429, 5xx, transport errors, timeouts)
/// gets up to `maxRetries` more attempts, after a full-jitter exponential back-off or the wait
/// the service asked for; any other failure is final at once.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts after the first.
    public var maxRetries: Int
    /// The first back-off's ceiling; doubled on each retry, up to `maxBackoff`.
    public var initialBackoff: Duration
    /// The longest back-off, also the cap on a service's `Retry-After`.
    public var maxBackoff: Duration

    /// Creates a policy; a negative `maxRetries` counts as 0.
    public init(maxRetries: Int, initialBackoff: Duration, maxBackoff: Duration) {
        self.maxRetries = max(0, maxRetries)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// Whether an HTTP status is worth another attempt: 429 (too many requests) and 5xx.
    public static func isRetryable(status: Int) -> Bool {
        status == 429 || status >= 500
    }

    /// The wait a `Retry-After` header asks for, when it gives seconds (`"2"`, `"0.5"`); `nil`
    /// when there is no header, or it is a date, negative or not a finite number.
    public static func retryAfter(_ header: String?) -> Duration? {
        guard let header, let seconds = Double(header), seconds.isFinite, seconds >= 0 else { return nil }
        // Beyond a day the value only needs to exceed `maxBackoff`; the bound keeps the
        // conversion to `Duration` from overflowing.
        return .seconds(min(seconds, 86_400))
    }

    /// The wait before retry number `attempt + 1`: the service's `retryAfter` when it gave one
    /// (capped at `maxBackoff`), else full jitter, uniform in
    /// [0, min(`maxBackoff`, `initialBackoff` · 2^`attempt`)].
    public func backoff(attempt: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return min(retryAfter, maxBackoff) }
        let ceiling = min(maxBackoff, initialBackoff * (1 << min(attempt, 20)))
        return ceiling * Double.random(in: 0...1)
    }

    /// Runs `attempt` until it succeeds, fails in a way that is not `retryable`, or has been
    /// retried `maxRetries` times, sleeping `backoff(attempt:retryAfter:)` between attempts.
    /// - Returns: what the first successful attempt returned.
    /// - Throws: the last attempt's error; errors that are not `RetryableFailure`s are not
    ///   retried; `CancellationError` when the task is cancelled during a back-off.
    public func run<Success>(_ attempt: () async throws -> Success) async throws -> Success {
        var retry = 0
        while true {
            do {
                return try await attempt()
            } catch let failure as any RetryableFailure where failure.retryable && retry < maxRetries {
                try await Task.sleep(for: backoff(attempt: retry, retryAfter: failure.retryAfter))
                retry += 1
            }
        }
    }
}
