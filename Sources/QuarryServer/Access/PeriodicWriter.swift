import ServiceLifecycle

/// Writes what a part of the server holds back in memory rather than write per request — the
/// embedding counts (`DeferredDailyUsageCounter`), the keys' last use (`KeyUseRecorder`) — every
/// `interval` while the server runs, and once more on graceful shutdown, after the server has
/// finished its requests and before the store closes (list it after the store and before the
/// server in the service group).
///
/// A flush that fails is the flusher's to report and keep; the next one tries again.
public struct PeriodicWriter: Service {
    /// How often `flush` runs.
    public var interval: Duration
    private let flush: @Sendable () async throws -> Void

    /// Runs `flush` every `interval`, and at shutdown.
    public init(interval: Duration, flush: @escaping @Sendable () async throws -> Void) {
        self.interval = interval
        self.flush = flush
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
                try? await flush()
            }
        }
        try await flush()
    }
}
