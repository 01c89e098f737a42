import Foundation
import QuarryRetrieval
import QuarryTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The chat server of `LocalLLMTests`: `$QUARRY_LLM_URL`, e.g. `http://127.0.0.1:8081/v1`.
private let localLLMURL = ProcessInfo.processInfo.environment["QUARRY_LLM_URL"].flatMap { $0.isEmpty ? nil : $0 }

/// `answer: "llm"` end to end against a real model: the release `quarry` (`$QUARRY_BIN`) ingests
/// three SQLite pages of `corpus/`, serves with a configuration file whose `llm` section points at
/// the OpenAI-compatible server at `$QUARRY_LLM_URL` (llama.cpp's, started by
/// `scripts/llm-server.sh`; model `$QUARRY_LLM_MODEL`, else `gemma-3-270m`), and answers over
/// HTTP, whole and streamed.
///
/// Skipped unless `QUARRY_LLM_URL` is set: `make test-llm` sets it, `make test` does not. The
/// tests check the shape of what comes back and that the citation check ran on the model's text,
/// never whether the model's answer is right.
@Suite(
    .serialized,
    .enabled(if: localLLMURL != nil, "set QUARRY_LLM_URL to an OpenAI-compatible server (make test-llm)")
)
struct LocalLLMTests {
    static let baseURL = localLLMURL
    static let model = ProcessInfo.processInfo.environment["QUARRY_LLM_MODEL"].flatMap { $0.isEmpty ? nil : $0 } ?? "gemma-3-270m"

    /// Questions the SQLite pages answer; the streamed test moves to the next one when the model
    /// abstains (an abstention streams no text).
    static let questions = [
        "What does a checkpoint do in WAL mode?",
        "Are foreign key constraints enforced by default in SQLite?",
        "What does the VACUUM command do?",
    ]

    /// Ingests three SQLite pages into a fresh store, starts `quarry serve --config` on a free port
    /// and runs `body` with its address; stops the server after.
    static func withQuarry(_ body: (URL) async throws -> Void) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = dir.url.appendingPathComponent("store").path
        // Three pages of corpus/sqlite-docs, not all 40: the embedder shares two cores with the model.
        let ingest = try await GracefulShutdownTests.quarry([
            "ingest", packageRoot().appendingPathComponent("corpus/sqlite-docs").path, "--store", store, "--no-progress",
            "--include", "wal.md", "--include", "foreignkeys.md", "--include", "lang_vacuum.md",
        ])
        try #require(ingest.status == 0, "quarry ingest failed: \(ingest.stderr)")

        // Generous timeouts (a small model on two shared cores), no retries that would hide a
        // failure, and no extractive fallback: a model that fails makes the request fail.
        let config = dir.url.appendingPathComponent("quarry.json")
        let settings: [String: Any] = [
            "llm": [
                "base_url": try #require(baseURL), "model": model, "first_token_timeout_ms": 180_000, "total_timeout_ms": 300_000,
                "max_retries": 0, "max_tokens": 128, "temperature": 0, "fallback_to_extractive": false,
            ]
        ]
        try JSONSerialization.data(withJSONObject: settings).write(to: config)

        let process = Process()
        process.executableURL = try GracefulShutdownTests.quarryBinary()
        process.arguments = ["serve", "--store", store, "--port", "0", "--cache-entries", "0", "--config", config.path]
        process.environment = ProcessInfo.processInfo.environment.merging(["QUARRY_MODEL": modelDirectory().path]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }
        // "Quarry is serving on http://127.0.0.1:PORT" comes first.
        var banner = ""
        while !banner.contains("\n") {
            let data = output.fileHandleForReading.availableData
            try #require(!data.isEmpty, "quarry serve exited before listening (is the llm section valid?)")
            banner += String(decoding: data, as: UTF8.self)
        }
        let address = try #require(banner.split(separator: "\n").first?.split(separator: " ").last.map(String.init))
        try await body(try #require(URL(string: address)))
    }

    static func post(_ url: URL, _ body: [String: Any]) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        request.timeoutInterval = 600
        let (data, response) = try await URLSession.shared.data(for: request)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? ["body": String(decoding: data, as: UTF8.self)]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, json)
    }

    /// A streamed `/query` read through `curl -N` as it arrives: each event with the seconds
    /// since the request was sent when the piece of the body that completed it came in.
    static func stream(_ url: URL, _ body: [String: Any]) throws -> [(at: Double, name: String, data: [String: Any])] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "curl", "-sN", "--max-time", "600", "-H", "Content-Type: application/json",
            "--data-binary", String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self), url.absoluteString,
        ]
        let output = Pipe()
        process.standardOutput = output
        let start = ContinuousClock.now
        try process.run()
        var events: [(at: Double, name: String, data: [String: Any])] = []
        var pending = ""
        while true {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            let elapsed = ContinuousClock.now - start
            let at = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            pending += String(decoding: data, as: UTF8.self)
            while let end = pending.range(of: "\n\n") {
                let block = pending[..<end.lowerBound]
                pending = String(pending[end.upperBound...])
                var name = "", payload = ""
                for line in block.split(separator: "\n") {
                    if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") { payload += line.dropFirst(6) }
                }
                let object = (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any] ?? ["unparsed": payload]
                events.append((at, name, object))
            }
        }
        process.waitUntilExit()
        return events
    }

    /// What every LLM answer must satisfy, whatever the model wrote: it came from the model, the
    /// model's name and the usage the server reported are there, and the citation check ran on
    /// the text (or the model abstained, and then nothing claims grounding).
    ///
    /// llama-cpp-python's server reports usage for a whole answer but not in a stream (it ignores
    /// `stream_options.include_usage`), so a streamed answer's usage is Quarry's estimate.
    static func expectChecked(_ body: [String: Any], sources: Int, streamed: Bool, comment: Comment) throws -> Bool {
        #expect(body["answerer"] as? String == "llm", comment)
        let llm = try #require(body["llm"] as? [String: Any], comment)
        #expect((llm["model"] as? String)?.isEmpty == false, comment)
        #expect((llm["attempts"] as? Int ?? 0) >= 1, comment)
        #expect((llm["failures"] as? [String])?.isEmpty == true, comment)
        let usage = try #require(body["usage"] as? [String: Any], comment)
        #expect((usage["prompt_tokens"] as? Int ?? 0) > 100, "the prompt holds the sources: \(usage)")
        if !streamed { #expect(usage["estimated"] as? Bool == false, "llama.cpp's server reports usage: \(usage)") }
        let grounded = try #require(body["grounded"] as? Bool, comment)
        guard let check = body["check"] as? [String: Any] else {
            // An abstention: no check, not grounded.
            #expect(grounded == false, comment)
            return false
        }
        #expect((usage["completion_tokens"] as? Int ?? 0) > 0, "\(usage)")
        let sentences = try #require(check["sentences"] as? Int, comment)
        let cited = try #require(check["cited_sources"] as? [Int], comment)
        let invalid = try #require(check["invalid_citations"] as? [Int], comment)
        let uncited = try #require(check["uncited_sentences"] as? [String], comment)
        let fullyCited = try #require(check["fully_cited"] as? Bool, comment)
        #expect(cited.allSatisfy { (1...sources).contains($0) }, "cited \(cited) of \(sources) sources")
        #expect(invalid.allSatisfy { !(1...sources).contains($0) }, "invalid \(invalid) of \(sources) sources")
        #expect(fullyCited == (sentences > 0 && invalid.isEmpty && uncited.isEmpty), comment)
        #expect(grounded == fullyCited, comment)
        return true
    }

    @Test func answersWholeWithTheCitationCheck() async throws {
        try await Self.withQuarry { server in
            let (status, body) = try await Self.post(
                server.appendingPathComponent("query"), ["query": Self.questions[0], "answer": "llm", "abstain": "never"]
            )
            try #require(status == 200, "\(body)")
            let answer = try #require(body["answer"] as? String)
            let citations = try #require(body["citations"] as? [[String: Any]])
            #expect(!citations.isEmpty)
            let answered = try Self.expectChecked(body, sources: citations.count, streamed: false, comment: "\(body)")
            #expect(answered ? answer != Retriever.noAnswer : answer == Retriever.noAnswer, "\(answer)")
            #expect(((body["timings_ms"] as? [String: Any])?["generate"] as? Double ?? 0) > 0)

            // The response is what the OpenAPI document says, with a real model's text in it.
            let spec = try await URLSession.shared.data(from: server.appendingPathComponent("openapi.json")).0
            let checker = SchemaChecker(document: try #require(try JSONSerialization.jsonObject(with: spec) as? [String: Any]))
            let schema = try #require(checker.responseSchema("/query", "post", 200))
            #expect(checker.problems(body, schema).isEmpty, "\(checker.problems(body, schema))")
        }
    }

    @Test func streamsTheModelsTokensAsTheyAreWritten() async throws {
        try await Self.withQuarry { server in
            var streamedAnswers = 0
            for question in Self.questions where streamedAnswers == 0 {
                let events = try Self.stream(
                    server.appendingPathComponent("query"), ["query": question, "answer": "llm", "stream": true, "abstain": "never"]
                )
                let names = events.map(\.name)
                try #require(names.first == "retrieval", "\(names)")
                try #require(names.last == "done", "\(events.last?.data ?? [:])")
                let sources = try #require(events.first?.data["citations"] as? [[String: Any]])
                let done = try #require(events.last?.data)
                #expect(done["answer"] == nil && done["citations"] == nil)
                let deltas = events.filter { $0.name == "delta" }
                guard try Self.expectChecked(done, sources: sources.count, streamed: true, comment: "\(question): \(done)") else {
                    // Abstained: the marker itself never reaches the client.
                    let text = deltas.map { $0.data["text"] as? String ?? "" }.joined()
                    #expect(!text.contains(LLMAnswerer.abstention), "\(text)")
                    continue
                }
                streamedAnswers += 1
                let text = deltas.map { $0.data["text"] as? String ?? "" }.joined()
                #expect(!text.isEmpty)
                // Token by token, not the whole answer at the end: many deltas, and the first one
                // reached the client well before the answer was finished.
                let tokens = (done["usage"] as? [String: Any])?["completion_tokens"] as? Int ?? 0
                #expect(deltas.count >= min(3, tokens), "\(deltas.count) deltas for \(tokens) tokens")
                let first = try #require(deltas.first?.at), last = try #require(deltas.last?.at)
                if tokens >= 8 { #expect(last - first > 0.05, "first delta at \(first) s, last at \(last) s") }
                // A `citation` event for each valid source the answer cites, once, after its marker.
                let cited = events.filter { $0.name == "citation" }.compactMap { $0.data["id"] as? Int }
                #expect(Set(cited) == Set((done["check"] as? [String: Any])?["cited_sources"] as? [Int] ?? []), "\(cited)")
                #expect(cited.count == Set(cited).count)
            }
            #expect(streamedAnswers == 1, "the model abstained on every question: no streamed text to check")
        }
    }
}
