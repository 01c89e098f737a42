import Foundation
import QuarryTestSupport
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// SIGTERM to a real `quarry serve` (the binary of `$QUARRY_BIN`, else the debug build): the
/// request in flight is answered, the ingest job stops at a batch boundary, the process exits
/// 0, and the store is whole: a later ingest finishes the folder.
@Suite struct GracefulShutdownTests {
    static func quarryBinary() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["QUARRY_BIN"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let debug = packageRoot().appendingPathComponent(".build/debug/quarry")
        try #require(FileManager.default.isExecutableFile(atPath: debug.path), "no quarry binary: run `swift build` or set QUARRY_BIN")
        return debug
    }

    /// Runs `quarry` to completion, returning its status, standard output and standard error.
    /// It waits on a thread of its own: blocking one of Swift concurrency's few threads would
    /// stall the servers of the tests running beside it.
    static func quarry(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try quarryBlocking(arguments) }) }
        }
    }

    private static func quarryBlocking(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try quarryBinary()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["QUARRY_MODEL": modelDirectory().path]) { $1 }
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let out = directory.url.appendingPathComponent("out"), err = directory.url.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return (
            process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "", (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        )
    }

    static func post(_ url: URL, _ body: String) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        request.timeoutInterval = 60
        let (data, response) = try await URLSession.shared.data(for: request)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, json)
    }

    @Test func sigtermFinishesRequestsAndStopsJobsAtASafePoint() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = dir.url.appendingPathComponent("store").path
        try dir.write("A checkpoint copies the pages of the WAL file back into the database file.", to: "seed/checkpoint.txt")
        #expect(
            try await Self.quarry(["ingest", dir.url.appendingPathComponent("seed").path, "--store", store, "--collection", "seed", "--no-progress"])
                .status == 0
        )
        // A folder that takes the embedder many seconds.
        let words = "the write ahead log keeps readers and writers apart while a checkpoint moves pages back"
        for file in 0..<150 {
            let paragraphs = (0..<6).map { "Paragraph \($0) of file \(file): " + String(repeating: words + " ", count: 6) }
            try dir.write(paragraphs.joined(separator: "\n\n"), to: "big/file\(file).txt")
        }

        let stub = ChatStub()
        try await stub.run { baseURL in
            let process = Process()
            process.executableURL = try Self.quarryBinary()
            process.arguments = ["serve", "--store", store, "--port", "0", "--ingest-root", dir.url.path]
            process.environment = ProcessInfo.processInfo.environment.merging([
                "QUARRY_MODEL": modelDirectory().path, "QUARRY_LLM_BASE_URL": baseURL.absoluteString, "QUARRY_LLM_MODEL": "stall",
            ]) { $1 }
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer { if process.isRunning { process.terminate() } }

            // "Quarry is serving on http://127.0.0.1:PORT" comes first.
            var banner = ""
            while !banner.contains("\n") {
                let data = output.fileHandleForReading.availableData
                try #require(!data.isEmpty, "quarry serve exited before listening")
                banner += String(decoding: data, as: UTF8.self)
            }
            let address = try #require(banner.split(separator: "\n").first?.split(separator: " ").last.map(String.init))
            let server = try #require(URL(string: address))

            let (started, job) = try await Self.post(server.appendingPathComponent("ingest"), #"{"path": "big"}"#)
            #expect(started == 202, "\(job)")
            // The stub's `stall` model answers after two seconds; SIGTERM arrives meanwhile.
            async let answer = Self.post(
                server.appendingPathComponent("query"), #"{"query": "What does a checkpoint do?", "collection": "seed", "answer": "llm", "abstain": "never"}"#
            )
            try await Task.sleep(for: .milliseconds(700))
            kill(process.processIdentifier, SIGTERM)
            let (status, body) = try await answer
            #expect(status == 200)
            #expect(body["answer"] as? String == ChatStub.goodAnswer)

            let exited = Mutex(false)
            let deadline = ContinuousClock.now + .seconds(60)
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            exited.withLock { $0 = !process.isRunning }
            try #require(exited.withLock { $0 }, "quarry serve did not stop within 60 s of SIGTERM")
            #expect(process.terminationStatus == 0)
        }

        // The store is consistent, the job stopped part way, and the next ingest finishes it.
        let verify = try await Self.quarry(["verify", "--store", store])
        #expect(verify.status == 0, "\(verify.stderr)")
        let resumed = try await Self.quarry(["ingest", dir.url.appendingPathComponent("big").path, "--store", store, "--no-progress"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        // "... in 3.2 s: 97 added, 0 updated, ...": the files the stopped job had not reached.
        let summary = resumed.stdout.split(separator: "\n").first { $0.contains(" added, ") } ?? ""
        let added = summary.split(separator: ": ").last?.split(separator: " ").first.flatMap { Int($0) } ?? -1
        #expect((1...150).contains(added), "\(resumed.stdout)")
        let list = try await Self.quarry(["collections", "list", "--store", store])
        #expect(list.stdout.contains("default\tall-MiniLM-L6-v2\t150 documents"), "\(list.stdout)")
    }
}
