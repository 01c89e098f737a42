import Foundation
import QuarryTestSupport
import Synchronization
import Testing

/// PostgreSQL stopped and started again under a running `quarry serve --backend pgvector` (the
/// release binary): requests during the outage get 503 — never a 500, never a hang — and once
/// PostgreSQL is back the same Quarry process answers and writes again. The test runs a
/// PostgreSQL of its own (`scripts/pg-server.sh`), so that stopping it disturbs no other test.
@Suite struct PostgresRestartTests {
    /// One request of the query loop.
    struct Outcome: Sendable {
        /// 0 before the outage, 1 while PostgreSQL is down, 2 once it was started again.
        var phase: Int
        var status: Int
        var code: String?
        var message: String?
        var seconds: Double
    }

    /// What the query loop saw, shared between it and the test.
    final class Record: Sendable {
        /// 0 before the outage, 1 while PostgreSQL is down, 2 once it was started again.
        let phase = Atomic<Int>(0)
        let outcomes = Mutex<[Outcome]>([])
        /// Set to end the loop after its request (cancelling would cancel the request too).
        let stopped = Atomic<Bool>(false)

        func count(_ phase: Int, _ status: Int? = nil) -> Int {
            outcomes.withLock { $0.filter { $0.phase == phase && (status == nil || $0.status == status) }.count }
        }
    }

    /// Starts a PostgreSQL in `directory` on a free port; its URL and port.
    static func startPostgres(in directory: String, port: Int? = nil) throws -> (url: String, port: Int) {
        var output = ""
        for _ in 0..<(port == nil ? 5 : 1) {
            let chosen = port ?? Int.random(in: 20_000...60_000)
            let (status, text) = try TestPostgres.runServerScript(["start", directory, String(chosen)])
            output = text
            if status == 0, let url = text.split(separator: "\n").last.map(String.init), url.hasPrefix("postgres://") { return (url, chosen) }
            if port == nil {
                _ = try? TestPostgres.runServerScript(["stop", directory])
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        throw ChaosFailure("scripts/pg-server.sh could not start PostgreSQL: \(output)")
    }

    @Test func requestsDuringAPostgreSQLRestartGet503AndQuarryRecoversWithoutARestart() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try ChaosCorpus.write("docs", files: 12, marker: "walrus", paragraphs: 2, in: dir)
        try ChaosCorpus.write("more", files: 4, marker: "narwhal", paragraphs: 1, in: dir)
        let postgres = dir.url.appendingPathComponent("pg").path
        let (url, port) = try Self.startPostgres(in: postgres)
        defer { _ = try? TestPostgres.runServerScript(["stop", postgres]) }
        let backend = ["--backend", "pgvector", "--pg-url", url]
        let ingest = try await GracefulShutdownTests.quarry(
            ["ingest", dir.url.appendingPathComponent("docs").path, "--collection", "docs", "--no-progress"] + backend
        )
        #expect(ingest.status == 0, "\(ingest.stderr)")

        let server = try await ServeProcess(backend + ["--ingest-root", dir.url.path], in: dir.url)
        defer { server.terminate() }
        let record = Record()
        let base = server.url
        let loop = Task {
            var mode = 0
            while !record.stopped.load(ordering: .relaxed) {
                let started = ContinuousClock.now
                let now = record.phase.load(ordering: .relaxed)
                let modes = ["dense", "lexical", "hybrid"]
                let (status, json) = await ServeProcess.request(
                    base, "POST", "search", #"{"query": "walrus checkpoint pages", "collection": "docs", "mode": "\#(modes[mode % 3])"}"#,
                    timeout: 45
                )
                mode += 1
                let elapsed = (ContinuousClock.now - started).components
                let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
                let error = json["error"] as? [String: Any]
                let outcome = Outcome(phase: now, status: status, code: error?["code"] as? String, message: error?["message"] as? String, seconds: seconds)
                record.outcomes.withLock { $0.append(outcome) }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        defer { record.stopped.store(true, ordering: .relaxed) }
        while record.count(0, 200) < 5 { try await Task.sleep(for: .milliseconds(20)) }

        // Down: `pg_ctl stop -m fast` ends the backends of the statements in flight.
        #expect(try TestPostgres.runServerScript(["stop", postgres]).0 == 0)
        record.phase.store(1, ordering: .relaxed)
        let downSince = ContinuousClock.now
        while ContinuousClock.now - downSince < .seconds(3) || record.count(1) < 3 { try await Task.sleep(for: .milliseconds(50)) }
        let (health, _) = await server.request("GET", "health")
        let (refusedIngest, refusal) = await server.request("POST", "ingest", #"{"path": "more", "collection": "more"}"#)

        // Up again, on the same port.
        _ = try Self.startPostgres(in: postgres, port: port)
        record.phase.store(2, ordering: .relaxed)
        let upSince = ContinuousClock.now
        while ContinuousClock.now - upSince < .seconds(60) {
            let recent = record.outcomes.withLock { $0.filter { $0.phase == 2 }.suffix(5) }
            if recent.count == 5, recent.allSatisfy({ $0.status == 200 }) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        record.stopped.store(true, ordering: .relaxed)
        await loop.value

        let all = record.outcomes.withLock { $0 }
        let down = all.filter { $0.phase == 1 }
        let bad = all.filter { $0.status != 200 && $0.status != 503 }
        #expect(bad.isEmpty, "neither 200 nor 503 (0: no answer in 45 s): \(bad.map { ($0.phase, $0.status, $0.code ?? "", $0.seconds) })")
        #expect(down.contains { $0.status == 503 }, "no 503 while PostgreSQL was down: \(down.map(\.status))")
        // A client may retry; it is not told where the database is.
        let refusals = down.filter { $0.status == 503 }
        #expect(refusals.allSatisfy { $0.code == "unavailable" }, "\(Set(refusals.map { $0.code ?? "" }))")
        #expect(!refusals.contains { ($0.message ?? "").contains(String(port)) }, "\(Set(refusals.map { $0.message ?? "" }))")
        #expect(all.filter { $0.phase == 2 }.suffix(5).allSatisfy { $0.status == 200 }, "Quarry did not recover: \(all.filter { $0.phase == 2 }.map(\.status))")
        #expect(server.isRunning, "the Quarry process stopped")
        #expect(refusedIngest == 202 || refusedIngest == 503, "POST /ingest while PostgreSQL is down: \(refusedIngest) \(refusal)")

        // Writes work again too, and the database is consistent.
        let job = try await server.waitForJob(try await server.startIngest("more", collection: "more"))
        #expect(job["state"] as? String == "succeeded", "\(job)")
        let counts = await server.collections()
        #expect(counts["more"]?.documents == 4 && counts["docs"]?.documents == 12, "\(counts)")
        await server.stop()
        let verify = try await ChaosTests.verify(backend)
        #expect(verify.status == 0, "\(verify.output)")

        let slowest = down.map(\.seconds).max() ?? 0
        print(
            "PostgresRestartTests: \(down.count) requests while PostgreSQL was down (\(down.filter { $0.status == 503 }.count) × 503, slowest \(String(format: "%.2f", slowest)) s), /health \(health), POST /ingest \(refusedIngest); recovered after \(all.filter { $0.phase == 2 && $0.status != 200 }.count) failed requests"
        )
    }
}
