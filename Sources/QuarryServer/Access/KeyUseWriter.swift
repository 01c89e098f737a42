import QuarryAccess
import ServiceLifecycle

/// Writes the keys' last use that `KeyUseRecorder` notes: every `interval` while the server runs,
/// and once more on graceful shutdown, after the server has finished its requests and before
/// the store closes.
public struct KeyUseWriter: Service {
    let recorder: KeyUseRecorder
    /// How often the dates are written; `GET /keys` shows them this late at most.
    public var interval: Duration

    /// Writes `recorder`'s dates every `interval`.
    public init(recorder: KeyUseRecorder, interval: Duration = .seconds(5)) {
        self.recorder = recorder
        self.interval = interval
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await recorder.run(every: interval) }
        try await recorder.flush()
    }
}
