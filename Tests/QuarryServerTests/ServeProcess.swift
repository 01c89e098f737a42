import Foundation
import QuarryTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `quarry serve` of the release binary (`$QUARRY_BIN`, else the debug build) running as a
/// child process of a test, on a free loopback port, with its output in files of the test's
/// directory. The chaos and two-node tests kill it, restart it and talk to it over HTTP.
// @unchecked Sendable: every stored property is set once, in init; the process is only signalled
// and asked whether it runs.
final class ServeProcess: @unchecked Sendable {
    let process: Process
    /// `http://127.0.0.1:PORT`, from the banner.
    let url: URL
    /// Its standard error (the log).
    let log: URL

    /// Starts `quarry serve ARGUMENTS --port 0` and waits for its banner (at most 60 s).
    /// - Parameter environment: added to this process's (`QUARRY_MODEL` is set).
    init(_ arguments: [String], environment: [String: String] = [:], in directory: URL) async throws {
        let name = UUID().uuidString.prefix(8)
        let out = directory.appendingPathComponent("serve-\(name).out")
        log = directory.appendingPathComponent("serve-\(name).log")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process = Process()
        process.executableURL = try GracefulShutdownTests.quarryBinary()
        process.arguments = ["serve", "--port", "0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["QUARRY_MODEL": modelDirectory().path]) { $1 }
            .merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        var address: String?
        while address == nil {
            let banner = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            address = banner.split(separator: "\n").first { $0.hasPrefix("Quarry is serving on ") }?.split(separator: " ").last.map(String.init)
            if address != nil { break }
            guard process.isRunning, ContinuousClock.now < deadline else {
                if process.isRunning { process.terminate() }
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                throw ChaosFailure("quarry serve did not start listening: \(text.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        url = URL(string: address!)!
    }

    var isRunning: Bool { process.isRunning }

    /// The log so far.
    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits for the process to end (SIGKILL after 60 s).
    func stop(_ signal: Int32 = SIGTERM) async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// SIGKILL without waiting on Swift concurrency, for `defer` (a test that failed part way
    /// leaves no server behind).
    func terminate() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// A request's status and JSON body (`[:]` when it is not a JSON object); status 0 when no
    /// answer came (connection refused, timeout).
    func request(_ method: String, _ path: String, _ body: String? = nil, timeout: TimeInterval = 60) async -> (status: Int, json: [String: Any]) {
        await Self.request(url, method, path, body, timeout: timeout)
    }

    static func request(_ base: URL, _ method: String, _ path: String, _ body: String? = nil, timeout: TimeInterval = 60) async -> (
        status: Int, json: [String: Any]
    ) {
        let (status, data) = await raw(base, method, path, body, timeout: timeout)
        return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }

    /// A request's status and body bytes; status 0 when no answer came (the body then says why).
    static func raw(_ base: URL, _ method: String, _ path: String, _ body: String? = nil, timeout: TimeInterval = 60) async -> (
        status: Int, body: Data
    ) {
        // Not `appendingPathComponent`, which would escape the `?` of a query.
        var request = URLRequest(url: URL(string: base.absoluteString + "/" + path)!)
        request.httpMethod = method
        request.timeoutInterval = timeout
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body.utf8)
        }
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        } catch {
            return (0, Data("\(error)".utf8))
        }
    }

    /// Starts an ingest job of `folder` (relative to an ingest root) into `collection`; its id.
    func startIngest(_ folder: String, collection: String) async throws -> String {
        let (status, json) = await request("POST", "ingest", #"{"path": "\#(folder)", "collection": "\#(collection)"}"#)
        try #require(status == 202, "POST /ingest: \(status) \(json)")
        return try #require(json["job_id"] as? String)
    }

    /// The job's status once it has ended (at most `timeout`).
    func waitForJob(_ id: String, timeout: Duration = .seconds(180)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (status, json) = await request("GET", "jobs/\(id)")
            try #require(status == 200, "GET /jobs/\(id): \(status) \(json)")
            if let state = json["state"] as? String, ["succeeded", "failed", "cancelled"].contains(state) { return json }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ChaosFailure("job \(id) did not end within \(timeout)")
    }

    /// Polls the job until `condition` holds for its status (or it ended); the last status.
    func waitForJob(_ id: String, until condition: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(180)
        while ContinuousClock.now < deadline {
            let (_, json) = await request("GET", "jobs/\(id)")
            if condition(json) { return json }
            if let state = json["state"] as? String, ["succeeded", "failed", "cancelled"].contains(state) { return json }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ChaosFailure("job \(id) did not reach the expected point")
    }

    /// `GET /documents` of a collection: each document's id, in the store's order, with its
    /// chunk count (an id listed twice would be a duplicate).
    func documents(_ collection: String) async -> [(id: String, chunks: Int)] {
        let (_, json) = await request("GET", "documents?collection=\(collection)&limit=10000")
        return ((json["documents"] as? [[String: Any]]) ?? []).map { ($0["id"] as? String ?? "", $0["chunks"] as? Int ?? -1) }
    }

    /// `POST /search`: the status and the hits' chunk ids, best first.
    func search(_ query: String, collection: String, mode: String = "dense", topK: Int = 5) async -> (status: Int, chunks: [String]) {
        let (status, json) = await request(
            "POST", "search", #"{"query": "\#(query)", "collection": "\#(collection)", "mode": "\#(mode)", "top_k": \#(topK)}"#
        )
        return (status, ((json["hits"] as? [[String: Any]]) ?? []).compactMap { $0["chunk_id"] as? String })
    }

    /// `GET /collections`: each collection's (documents, chunks).
    func collections() async -> [String: (documents: Int, chunks: Int)] {
        let (_, data) = await Self.raw(url, "GET", "collections")
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        let list = (json?["collections"] as? [[String: Any]]) ?? []
        var counts: [String: (documents: Int, chunks: Int)] = [:]
        for collection in list {
            if let name = collection["name"] as? String {
                counts[name] = (collection["documents"] as? Int ?? -1, collection["chunks"] as? Int ?? -1)
            }
        }
        return counts
    }
}

/// A test's own failure, with what it saw.
struct ChaosFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Small generated folders for the fault tests: `files` documents of a few paragraphs each, every
/// one holding the word `marker` (so a lexical search finds exactly them) and words of its own.
enum ChaosCorpus {
    static let sentences = [
        "A checkpoint copies the pages of the write-ahead log back into the database file.",
        "Readers and writers work at the same time while the log grows.",
        "Each transaction is atomic: the store holds the old version of a file or the new one.",
        "The vacuum command rebuilds the database file and returns free pages to the system.",
        "An index speeds up lookups by keeping the keys of a table in sorted order.",
        "Foreign key constraints keep rows that refer to each other consistent.",
        "A busy timeout makes a connection wait for a lock instead of failing at once.",
        "The page cache keeps recently used pages in memory so that reads avoid the disk.",
    ]

    /// Writes the folder `name` below `directory`.
    static func write(_ name: String, files: Int, marker: String, paragraphs: Int = 3, in directory: TemporaryDirectory) throws {
        for file in 0..<files {
            let text = (0..<paragraphs).map { paragraph in
                let start = (file + paragraph) % sentences.count
                let body = (0..<4).map { sentences[(start + $0) % sentences.count] }.joined(separator: " ")
                return "Note \(file).\(paragraph) about \(marker) and item\(file)x\(paragraph): \(body)"
            }
            try directory.write(text.joined(separator: "\n\n"), to: "\(name)/note\(file).txt")
        }
    }
}
