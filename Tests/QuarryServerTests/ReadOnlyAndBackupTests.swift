import Foundation
import QuarryTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real `quarry` binary on read-only stores (`--read-only`, a read-only mount, files another
/// user may not write) and backing up a store a server is writing (issue 15).
@Suite(.serialized) struct ReadOnlyAndBackupTests {
    /// A running `quarry serve`, stopped with SIGTERM.
    final class Server {
        let process = Process()
        let url: URL
        let log: URL

        init(_ arguments: [String], log: URL) throws {
            process.executableURL = try GracefulShutdownTests.quarryBinary()
            process.arguments = ["serve", "--port", "0"] + arguments
            process.environment = ProcessInfo.processInfo.environment.merging(["QUARRY_MODEL": modelDirectory().path]) { $1 }
            let output = Pipe()
            process.standardOutput = output
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: log)
            self.log = log
            try process.run()
            // "Quarry is serving on http://127.0.0.1:PORT" comes first.
            var banner = ""
            while !banner.contains("\n") {
                let data = output.fileHandleForReading.availableData
                guard !data.isEmpty else {
                    throw CommandFailed(command: "quarry serve: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")", status: -1)
                }
                banner += String(decoding: data, as: UTF8.self)
            }
            let address = banner.split(separator: "\n").first?.split(separator: " ").last.map(String.init) ?? ""
            url = try #require(URL(string: address))
        }

        /// Stops the server; returns its exit status.
        @discardableResult
        func stop() async throws -> Int32 {
            if process.isRunning { kill(process.processIdentifier, SIGTERM) }
            let deadline = ContinuousClock.now + .seconds(60)
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
                Issue.record("quarry serve did not stop within 60 s of SIGTERM")
            }
            return process.terminationStatus
        }

        deinit {
            if process.isRunning { process.terminate() }
        }
    }

    /// Sends a request; returns the status, the JSON body and the response's fields.
    static func request(_ method: String, _ url: URL, _ body: String? = nil) async throws -> (Int, [String: Any], HTTPURLResponse?) {
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body.utf8)
        }
        request.timeoutInterval = 60
        let (data, response) = try await URLSession.shared.data(for: request)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        let http = response as? HTTPURLResponse
        return (http?.statusCode ?? 0, json, http)
    }

    static func quarry(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await GracefulShutdownTests.quarry(arguments)
    }

    /// A store with the `seed` collection: three short files.
    static func seededStore(in dir: TemporaryDirectory) async throws -> String {
        try dir.write("A checkpoint copies the pages of the WAL file back into the database file.", to: "seed/checkpoint.txt")
        try dir.write("Readers see the last commit while a writer appends to the log.", to: "seed/readers.txt")
        try dir.write("An HNSW graph links each node to its nearest neighbours.", to: "seed/hnsw.txt")
        let store = dir.url.appendingPathComponent("store").path
        let ingest = try await quarry(["ingest", dir.url.appendingPathComponent("seed").path, "--store", store, "--collection", "seed", "--no-progress"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        return store
    }

    /// Every file below `path` with its size and modification time, SQLite's `-shm`/`-wal` aside.
    static func listing(_ path: String) -> [String: String] {
        var files: [String: String] = [:]
        for name in (try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? [] where !name.hasSuffix("-shm") && !name.hasSuffix("-wal") {
            let attributes = (try? FileManager.default.attributesOfItem(atPath: path + "/" + name)) ?? [:]
            files[name] = "\(attributes[.size] ?? 0) \(attributes[.modificationDate] ?? "")"
        }
        return files
    }

    /// Queries answer; every write route answers 503 `read_only`, without `Retry-After`.
    static func checkReadOnlyServer(_ server: Server) async throws {
        let (searched, hits, _) = try await request(
            "POST", server.url.appendingPathComponent("search"), #"{"query": "checkpoint pages", "collection": "seed", "top_k": 2}"#
        )
        #expect(searched == 200, "\(hits)")
        let (queried, answer, _) = try await request(
            "POST", server.url.appendingPathComponent("query"), #"{"query": "What does a checkpoint do?", "collection": "seed", "abstain": "never"}"#
        )
        #expect(queried == 200, "\(answer)")
        #expect((answer["answer"] as? String ?? "").contains("checkpoint"), "\(answer)")

        let writes: [(String, String, String?)] = [
            ("POST", "ingest", #"{"path": "seed", "collection": "seed"}"#),
            ("DELETE", "documents/checkpoint.txt?collection=seed", nil),
            ("PUT", "documents/checkpoint.txt/access?collection=seed", #"{"access": ["user:ana"]}"#),
            ("POST", "keys", #"{"role": "reader"}"#),
            ("POST", "tenants", #"{"name": "acme"}"#),
        ]
        for (method, path, body) in writes {
            let url = try #require(URL(string: server.url.absoluteString + "/" + path))
            let (status, json, response) = try await request(method, url, body)
            let error = json["error"] as? [String: Any] ?? [:]
            #expect(status == 503, "\(method) /\(path): \(status) \(json)")
            #expect(error["code"] as? String == "read_only", "\(method) /\(path): \(json)")
            #expect((error["message"] as? String ?? "").contains("read-only"), "\(method) /\(path): \(json)")
            #expect(response?.value(forHTTPHeaderField: "Retry-After") == nil, "\(method) /\(path)")
        }
        // Nothing was deleted.
        let (found, _, _) = try await request("GET", try #require(URL(string: server.url.absoluteString + "/documents/checkpoint.txt?collection=seed")))
        #expect(found == 200)
    }

    @Test func readOnlyServerAnswersQueriesAndRefusesWrites() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = try await Self.seededStore(in: dir)
        let before = Self.listing(store)

        let server = try Server(["--store", store, "--read-only", "--ingest-root", dir.url.path], log: dir.url.appendingPathComponent("serve.log"))
        try await Self.checkReadOnlyServer(server)
        #expect(try await server.stop() == 0)
        let log = try String(contentsOf: server.log, encoding: .utf8)
        #expect(log.contains("the store is read-only"), "\(log)")
        // The audit records went to the log instead of the store.
        #expect(log.contains("audit") && log.contains(#"\"route\":\"/search\""#) || log.contains(#""route":"/search""#), "\(log)")
        #expect(!log.contains("1544"))

        let verify = try await Self.quarry(["verify", "--store", store, "--read-only"])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout.contains("no problems"), "\(verify.stdout)")
        let query = try await Self.quarry(["query", "What does a checkpoint do?", "--store", store, "--collection", "seed", "--read-only"])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.stdout.contains("checkpoint.txt"), "\(query.stdout)")
        #expect(Self.listing(store) == before, "a read-only store was changed")
    }

    /// The issue's "SQLite error 1544": a store on a read-only file system, opened without
    /// `--read-only`, serves queries and verify. Needs root and `mount`.
    @Test(.enabled(if: ReadOnlyMount.isAvailable)) func storeOnAReadOnlyMountServesAndVerifies() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = try await Self.seededStore(in: dir)
        let before = Self.listing(store)
        let mount = try ReadOnlyMount(URL(fileURLWithPath: store), at: dir.url.appendingPathComponent("replica"))
        defer { mount.unmount() }
        let replica = mount.url.path

        let verify = try await Self.quarry(["verify", "--store", replica])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stderr.contains("read-only file system"), "\(verify.stderr)")
        let query = try await Self.quarry(["query", "What does a checkpoint do?", "--store", replica, "--collection", "seed"])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.stdout.contains("checkpoint.txt"), "\(query.stdout)")
        let ingest = try await Self.quarry(["ingest", dir.url.appendingPathComponent("seed").path, "--store", replica, "--collection", "more", "--no-progress"])
        #expect(ingest.status != 0)
        #expect(ingest.stderr.contains("read-only"), "\(ingest.stderr)")
        #expect(!ingest.stderr.contains("1544"), "\(ingest.stderr)")

        let server = try Server(["--store", replica, "--ingest-root", dir.url.path], log: dir.url.appendingPathComponent("serve.log"))
        try await Self.checkReadOnlyServer(server)
        #expect(try await server.stop() == 0)
        #expect(Self.listing(store) == before)
    }

    /// A store whose files are read-only for the user running quarry (here: `nobody`, as root
    /// ignores file modes). Needs root and `setpriv`.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func storeOfAnotherUserIsReadOnly() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = try await Self.seededStore(in: dir)
        for path in [store] + ((try? FileManager.default.subpathsOfDirectory(atPath: store)) ?? []).map({ store + "/" + $0 }) {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            try FileManager.default.setAttributes([.posixPermissions: isDirectory.boolValue ? 0o555 : 0o444], ofItemAtPath: path)
        }
        let before = Self.listing(store)
        let binary = try GracefulShutdownTests.quarryBinary().path
        let asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary]

        let verify = try await Self.run(asNobody + ["verify", "--store", store])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stderr.contains("not writable by this user"), "\(verify.stderr)")
        let query = try await Self.run(asNobody + ["query", "What does a checkpoint do?", "--store", store, "--collection", "seed"])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.stdout.contains("checkpoint.txt"), "\(query.stdout)")
        let keys = try await Self.run(asNobody + ["keys", "create", "--role", "reader", "--store", store])
        #expect(keys.status != 0)
        #expect(keys.stderr.contains("read-only"), "\(keys.stderr)")
        #expect(Self.listing(store) == before)
    }

    /// Runs a command line to completion (with the model configured), waiting on a thread of its
    /// own: blocking one of Swift concurrency's few threads would stall the other tests' servers.
    static func run(_ commandLine: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try runBlocking(commandLine) }) }
        }
    }

    private static func runBlocking(_ commandLine: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: commandLine[0])
        process.arguments = Array(commandLine.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(["QUARRY_MODEL": modelDirectory().path]) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    /// `quarry backup` while `quarry serve` runs an ingest job: the backup restores to a store
    /// that passes `verify`; `quarry restore` refuses to replace the store the server holds,
    /// and replaces it once the server is gone.
    @Test func backupWhileAServerIngestsRestoresToASoundStore() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = try await Self.seededStore(in: dir)
        let words = "the write ahead log keeps readers and writers apart while a checkpoint moves pages back"
        for file in 0..<60 {
            let paragraphs = (0..<4).map { "Paragraph \($0) of file \(file): " + String(repeating: words + " ", count: 5) }
            try dir.write(paragraphs.joined(separator: "\n\n"), to: "big/file\(file).txt")
        }
        let server = try Server(["--store", store, "--ingest-root", dir.url.path], log: dir.url.appendingPathComponent("serve.log"))
        let (started, job, _) = try await Self.request("POST", server.url.appendingPathComponent("ingest"), #"{"path": "big"}"#)
        #expect(started == 202, "\(job)")
        let jobURL = server.url.appendingPathComponent("jobs/\(job["job_id"] as? String ?? "")")
        // Wait until the job has written something, so the backup is taken among its writes.
        var progress: [String: Any] = [:]
        for _ in 0..<600 {
            (_, progress, _) = try await Self.request("GET", jobURL)
            let state = progress["state"] as? String ?? ""
            if (progress["chunks_written"] as? Int ?? 0) > 0 || !["queued", "running"].contains(state) { break }
            try await Task.sleep(for: .milliseconds(50))
        }

        let file = dir.url.appendingPathComponent("store.backup").path
        let backup = try await Self.quarry(["backup", "--store", store, "--to", file])
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(backup.stdout.contains("backed up"), "\(backup.stdout)")
        let busy = try await Self.quarry(["restore", "--from", file, "--store", store, "--force"])
        #expect(busy.status != 0)
        #expect(busy.stderr.contains("open in another process"), "\(busy.stderr)")

        let restored = dir.url.appendingPathComponent("restored").path
        let restore = try await Self.quarry(["restore", "--from", file, "--store", restored])
        #expect(restore.status == 0, "\(restore.stderr)")
        let verify = try await Self.quarry(["verify", "--store", restored])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout.contains("no problems"), "\(verify.stdout)")
        let again = try await Self.quarry(["restore", "--from", file, "--store", restored])
        #expect(again.status != 0)
        #expect(again.stderr.contains("--force"), "\(again.stderr)")

        #expect(try await server.stop() == 0)
        let replaced = try await Self.quarry(["restore", "--from", file, "--store", store, "--force"])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        let verifyReplaced = try await Self.quarry(["verify", "--store", store])
        #expect(verifyReplaced.status == 0, "\(verifyReplaced.stderr)")
        #expect(verifyReplaced.stdout == verify.stdout.replacingOccurrences(of: restored, with: store), "\(verifyReplaced.stdout)")
        let query = try await Self.quarry(["query", "What does a checkpoint do?", "--store", store, "--collection", "seed"])
        #expect(query.stdout.contains("checkpoint.txt"), "\(query.stdout)")
    }

    @Test func backupOfPostgreSQLPointsToPgDump() async throws {
        for command in [["backup", "--to", "/tmp/none"], ["restore", "--from", "/tmp/none"]] {
            let result = try await Self.quarry(command + ["--backend", "pgvector", "--pg-url", "postgres://quarry@127.0.0.1:1/quarry"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("pg_dump"), "\(result.stderr)")
        }
    }
}
