import Foundation
import QuarryHNSW
import QuarryStore
import Synchronization

/// The stores Quarry ships; behavioural tests run against each.
public enum StoreBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case pgvector

    public var description: String { rawValue }
}

/// Where one test keeps its store: a temporary directory for SQLite, a database of its own on the
/// test PostgreSQL server for pgvector. `open` can be called again to reopen the same store (a
/// second node, a restart).
public final class StoreFixture: Sendable {
    public let backend: StoreBackend
    /// The temporary directory (the SQLite store lives in `store/` below it).
    public let directory: TemporaryDirectory
    /// The pgvector backend's database URL.
    public let databaseURL: String?

    public init(_ backend: StoreBackend) throws {
        self.backend = backend
        directory = try TemporaryDirectory()
        databaseURL = backend == .pgvector ? try TestPostgres.createDatabase() : nil
    }

    /// Opens (or reopens) the store.
    public func open(
        exactSearchLimit: Int = 10_000, indexParameters: HNSWParameters = HNSWParameters(m: 16, efConstruction: 200, ef: 64)
    ) async throws -> any ChunkStore {
        switch backend {
        case .sqlite:
            try SQLiteChunkStore(
                directory: directory.url.appendingPathComponent("store"), exactSearchLimit: exactSearchLimit,
                indexParameters: indexParameters
            )
        case .pgvector:
            try await PostgresChunkStore(url: databaseURL!, exactSearchLimit: exactSearchLimit, indexParameters: indexParameters)
        }
    }

    public func cleanUp() {
        directory.cleanUp()
        if let databaseURL { TestPostgres.dropDatabase(databaseURL) }
    }
}

/// The PostgreSQL 16 + pgvector server of a test run: `$QUARRY_TEST_PG_URL` when set (`make
/// test` starts one with `scripts/pg-server.sh` and stops it afterwards), else one this process
/// starts on first use and stops when it exits. Each test gets a database of its own.
public enum TestPostgres {
    private static let started = Mutex<(url: String, directory: String)?>(nil)

    /// The server's URL (its `quarry` database).
    public static func serverURL() throws -> String {
        if let url = ProcessInfo.processInfo.environment["QUARRY_TEST_PG_URL"], !url.isEmpty { return url }
        return try started.withLock { started in
            if let started { return started.url }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-pg-\(UUID().uuidString)").path
            var output = ""
            for _ in 0..<5 {
                let (status, text) = try runServerScript(["start", directory, String(Int.random(in: 20_000...60_000))])
                output = text
                if status == 0, let url = text.split(separator: "\n").last.map(String.init) {
                    started = (url, directory)
                    atexit { TestPostgres.stopStartedServer() }
                    return url
                }
                // Most likely the port was taken: another one.
                _ = try? runServerScript(["stop", directory])
                try? FileManager.default.removeItem(atPath: directory)
            }
            throw TestPostgresError(message: "scripts/pg-server.sh could not start PostgreSQL: \(output)")
        }
    }

    /// A new empty database with the `vector` extension; its URL.
    public static func createDatabase() throws -> String {
        let server = try serverURL()
        let name = "quarry_test_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        let admin = try PostgresConnection(url: server)
        try admin.execute("CREATE DATABASE \(name)")
        guard var components = URLComponents(string: server) else { throw TestPostgresError(message: "bad server URL \(server)") }
        components.path = "/\(name)"
        let url = components.string!
        try PostgresConnection(url: url).execute("CREATE EXTENSION IF NOT EXISTS vector")
        return url
    }

    /// Drops a database `createDatabase` made, closing its connections.
    public static func dropDatabase(_ url: String) {
        guard let name = URLComponents(string: url)?.path.dropFirst(), name.hasPrefix("quarry_test_"),
            let server = try? serverURL(), let admin = try? PostgresConnection(url: server)
        else { return }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    static func stopStartedServer() {
        guard let directory = started.withLock({ $0?.directory }) else { return }
        _ = try? runServerScript(["stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `scripts/pg-server.sh` with its output in a file (the server it starts must not hold
    /// a pipe of ours).
    public static func runServerScript(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = packageRoot().appendingPathComponent("scripts/pg-server.sh")
        process.arguments = arguments
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pg-server-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let handle = try FileHandle(forWritingTo: out)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }
}

struct TestPostgresError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
