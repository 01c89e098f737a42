import Synchronization

/// How many requests somebody is waiting for (queries, small embedding calls) are running in
/// this process right now, so that background work (an ingest's embedding) can make room for
/// them.
///
/// The processor is one resource for the whole process, which is why this is one count for the
/// whole process: on two cores, an ingest that keeps both busy doubles a query's latency however
/// the encoder orders its own work, and only the background side knows how to slow down.
public enum ForegroundWork {
    private static let running = Atomic<Int>(0)

    /// Foreground requests running now.
    public static var count: Int { running.load(ordering: .relaxed) }

    /// Whether any foreground request is running.
    public static var isActive: Bool { count > 0 }

    /// Runs `body` counted as foreground work.
    public static func run<T>(_ body: () async throws -> T) async rethrows -> T {
        running.add(1, ordering: .relaxed)
        defer { running.subtract(1, ordering: .relaxed) }
        return try await body()
    }
}
