import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryCore
import QuarryGuard
import QuarryIngest
import QuarryRetrieval
import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// `answer: "llm"` and `stream: true` against a local OpenAI-compatible stub (`ChatStub`).
@Suite struct LLMAnswerTests {
    /// A store with three small documents about SQLite, searched with the hashing embedder.
    static func store() async throws -> (SQLiteChunkStore, HashingEmbedder, TemporaryDirectory) {
        let dir = try TemporaryDirectory()
        try dir.write("A checkpoint copies the pages of the WAL file back into the database file.", to: "docs/checkpoint.txt")
        try dir.write("With the WAL file, readers and writers work at the same time; a checkpoint ends it.", to: "docs/wal.txt")
        try dir.write("Foreign key constraints are off by default in SQLite.", to: "docs/keys.txt")
        let store = try SQLiteChunkStore(directory: dir.url.appendingPathComponent("store"))
        let embedder = HashingEmbedder()
        _ = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: dir.url.appendingPathComponent("docs"), collection: "default")
        return (store, embedder, dir)
    }

    /// Runs `body` against Quarry configured with `models` of the stub. The deadlines are far
    /// beyond what the stub needs, so that a loaded machine (the whole suite runs at once on two
    /// cores) does not turn a good answer into a timeout; tests of deadlines set their own.
    static func withQuarry(
        models: [String], maxRetries: Int = 1, firstTokenTimeout: Duration = .seconds(30), fallbackToExtractive: Bool = false,
        cache: QueryCache? = nil, guardrails: GuardrailSettings = GuardrailSettings(),
        _ body: @escaping @Sendable (any TestClientProtocol, ChatStub) async throws -> Void
    ) async throws {
        let (store, embedder, dir) = try await store()
        defer { dir.cleanUp() }
        let stub = ChatStub()
        try await stub.run { baseURL in
            let settings = ChatSettings(
                models: models.map { ChatModel(baseURL: baseURL, apiKey: "sk-test", name: $0, inputCostPerMillion: 1, outputCostPerMillion: 2) },
                firstTokenTimeout: firstTokenTimeout, totalTimeout: .seconds(60), maxRetries: maxRetries,
                initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(50)
            )
            let retriever = Retriever(
                store: store, embedder: embedder, cache: cache,
                llm: LLMAnswerer(client: ChatClient(settings: settings), fallbackToExtractive: fallbackToExtractive),
                guardrails: guardrails
            )
            let app = buildApplication(
                retriever: retriever, store: store, configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
                logger: Logger(label: "test")
            )
            // The router framework: no socket between the test and Quarry, so no client read timeout
            // (HummingbirdTesting's live client gives up after 20 s without a byte, which the whole
            // suite on two cores exceeded in CI); the stub is still reached over HTTP.
            try await app.test(.router) { client in try await body(client, stub) }
        }
    }

    static func query(_ client: any TestClientProtocol, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: "/query", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    /// The events of an SSE body, in order, with their JSON data.
    static func events(_ response: TestResponse) throws -> [(name: String, data: [String: Any])] {
        let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
        return try text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block in
            var name = ""
            var data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data += line.dropFirst(6) }
            }
            let object = try #require(try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any])
            return (name, object)
        }
    }

    static let question = #""query": "What does a checkpoint do with the WAL file?", "top_k": 3, "mode": "lexical""#

    @Test func answersWithCitationsUsageAndCost() async throws {
        try await Self.withQuarry(models: ["good"]) { client, stub in
            let response = try await Self.query(client, #"{\#(Self.question), "answer": "llm", "max_tokens": 100}"#)
            #expect(response.status == .ok)
            let body = try Self.json(response)
            #expect(body["answer"] as? String == ChatStub.goodAnswer)
            #expect(body["answerer"] as? String == "llm")
            #expect(body["grounded"] as? Bool == true)
            let check = try #require(body["check"] as? [String: Any])
            #expect(check["cited_sources"] as? [Int] == [1, 2])
            #expect(check["fully_cited"] as? Bool == true)
            let usage = try #require(body["usage"] as? [String: Any])
            #expect(usage["prompt_tokens"] as? Int == 120)
            #expect(usage["completion_tokens"] as? Int == 30)
            #expect(usage["estimated"] as? Bool == false)
            // 120 × $1 + 30 × $2 per million tokens.
            #expect(abs((usage["cost_usd"] as? Double ?? 0) - 180e-6) < 1e-12)
            let llm = try #require(body["llm"] as? [String: Any])
            #expect(llm["model"] as? String == "good")
            #expect(llm["attempts"] as? Int == 1)
            #expect(((body["timings_ms"] as? [String: Any])?["generate"] as? Double ?? 0) > 0)
            let spec = try await client.execute(uri: "/openapi.json", method: .get)
            let checker = SchemaChecker(
                document: try #require(try JSONSerialization.jsonObject(with: Data(spec.body.readableBytesView)) as? [String: Any])
            )
            let schema = try #require(checker.responseSchema("/query", "post", 200))
            #expect(checker.problems(body, schema).isEmpty, "\(checker.problems(body, schema))")

            // The prompt: the rules, every source numbered with its document, the question.
            let request = try #require(stub.requests.first)
            #expect(request.stream == false)
            #expect(request.maxTokens == 100)
            #expect(request.authorization == "Bearer sk-test")
            let system = request.messages.first { $0["role"] == "system" }?["content"] ?? ""
            let user = request.messages.first { $0["role"] == "user" }?["content"] ?? ""
            #expect(system.contains("[2]") && system.contains(LLMAnswerer.abstention))
            let citations = try #require(body["citations"] as? [[String: Any]])
            for citation in citations {
                let id = try #require(citation["id"] as? Int)
                #expect(user.contains("[\(id)] (\(citation["document"] as? String ?? ""))"))
                #expect(user.contains(citation["text"] as? String ?? "-"))
            }
            #expect(user.hasSuffix("Question: What does a checkpoint do with the WAL file?"))
        }
    }

    /// Output rules off: text is passed on as the model writes it, not a sentence at a time.
    static let unguardedAnswers = GuardrailSettings(default: GuardrailOverrides(answers: .off))

    @Test func streamsRetrievalFirstThenDeltasCitationsAndDone() async throws {
        try await Self.withQuarry(models: ["good"], guardrails: Self.unguardedAnswers) { client, stub in
            let response = try await Self.query(client, #"{\#(Self.question), "answer": "llm", "stream": true}"#)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/event-stream") == true)
            let events = try Self.events(response)
            #expect(events.first?.name == "retrieval")
            #expect(events.last?.name == "done")
            let sources = try #require(events.first?.data["citations"] as? [[String: Any]])
            #expect(sources.count >= 2)
            let text = events.filter { $0.name == "delta" }.map { $0.data["text"] as? String ?? "" }.joined()
            #expect(text == ChatStub.goodAnswer)
            #expect(events.filter { $0.name == "delta" }.count > 5)
            // Each cited source once, right after the delta that completed its marker.
            #expect(events.filter { $0.name == "citation" }.map { $0.data["id"] as? Int } == [1, 2])
            let firstCitation = try #require(events.firstIndex { $0.name == "citation" })
            let before = events[..<firstCitation].filter { $0.name == "delta" }.map { $0.data["text"] as? String ?? "" }.joined()
            #expect(before.hasSuffix("[1]."))
            let done = try #require(events.last?.data)
            #expect(done["answer"] == nil)
            #expect(done["grounded"] as? Bool == true)
            #expect((done["usage"] as? [String: Any])?["completion_tokens"] as? Int == 30)
            #expect(stub.requests.first?.stream == true)
        }
    }

    @Test func retriesRateLimitsThenSucceeds() async throws {
        try await Self.withQuarry(models: ["flaky"], maxRetries: 2) { client, stub in
            let body = try Self.json(try await Self.query(client, #"{\#(Self.question), "answer": "llm"}"#))
            #expect(body["answer"] as? String == ChatStub.goodAnswer)
            #expect((body["llm"] as? [String: Any])?["attempts"] as? Int == 3)
            #expect(stub.requests.count == 3)
        }
    }

    @Test func rateLimitsBeyondTheRetriesFail() async throws {
        try await Self.withQuarry(models: ["flaky"], maxRetries: 1) { client, stub in
            let response = try await Self.query(client, #"{\#(Self.question), "answer": "llm"}"#)
            #expect(response.status == .serviceUnavailable)
            let error = try #require(try Self.json(response)["error"] as? [String: Any])
            #expect(error["code"] as? String == "llm_unavailable")
            #expect((error["message"] as? String)?.contains("429") == true)
            #expect(stub.requests.count == 2)
        }
    }

    @Test func aStallTimesOutAndFallsBackToTheNextModel() async throws {
        // The deadline is generous so that `good` meets it on a loaded machine (the full suite on
        // two cores); `hang` never answers while the stub runs, so it never does.
        try await Self.withQuarry(models: ["hang", "good"], maxRetries: 0, firstTokenTimeout: .seconds(8)) { client, stub in
            for stream in [false, true] {
                let response = try await Self.query(client, #"{\#(Self.question), "answer": "llm", "stream": \#(stream)}"#)
                #expect(response.status == .ok)
                let body = stream ? try #require(try Self.events(response).last?.data) : try Self.json(response)
                let llm = try #require(body["llm"] as? [String: Any])
                #expect(llm["model"] as? String == "good")
                let failures = llm["failures"] as? [String] ?? []
                #expect(failures.count == 1 && failures[0].contains("hang") && failures[0].contains("first-token timeout"))
            }
        }
        // Alone, the stalled model is an error, not a hang.
        try await Self.withQuarry(models: ["stall"], maxRetries: 0, firstTokenTimeout: .milliseconds(300)) { client, _ in
            let response = try await Self.query(client, #"{\#(Self.question), "answer": "llm"}"#)
            #expect(response.status == .serviceUnavailable)
            #expect(((try Self.json(response)["error"] as? [String: Any])?["message"] as? String)?.contains("timeout") == true)
        }
    }

    @Test func aFailingPrimaryFallsBackToTheNextModel() async throws {
        try await Self.withQuarry(models: ["broken", "garbage", "good"], maxRetries: 1) { client, stub in
            let body = try Self.json(try await Self.query(client, #"{\#(Self.question), "answer": "llm"}"#))
            #expect(body["answer"] as? String == ChatStub.goodAnswer)
            let llm = try #require(body["llm"] as? [String: Any])
            #expect(llm["model"] as? String == "good")
            // broken: 500, retried once; garbage: malformed, not retried; good: answers.
            #expect(llm["attempts"] as? Int == 4)
            #expect(stub.requests.map(\.model) == ["broken", "broken", "garbage", "good"])
            let failures = llm["failures"] as? [String] ?? []
            #expect(failures.count == 2 && failures[0].contains("500") && failures[0].contains("model crashed"))
            #expect(failures[1].contains("not a chat completion"))
        }
    }

    /// A model that cannot be reached is named in `llm.failures`, its address never (issue 15).
    @Test func anUnreachableModelIsReportedWithoutItsAddress() async throws {
        let (store, embedder, dir) = try await Self.store()
        defer { dir.cleanUp() }
        let unreachable = try #require(URL(string: "http://127.0.0.1:9/v1"))
        let settings = ChatSettings(models: [ChatModel(baseURL: unreachable, name: "internal-model")], connectTimeout: .seconds(2), maxRetries: 0)
        let retriever = Retriever(store: store, embedder: embedder, llm: LLMAnswerer(client: ChatClient(settings: settings), fallbackToExtractive: true))
        let app = buildApplication(
            retriever: retriever, store: store, configuration: ServerConfiguration(host: "127.0.0.1", port: 0), logger: Logger(label: "test")
        )
        try await app.test(.router) { client in
            let response = try await Self.query(client, #"{\#(Self.question), "answer": "llm"}"#)
            let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
            let body = try Self.json(response)
            #expect(body["answerer"] as? String == "extractive")
            let failures = (body["llm"] as? [String: Any])?["failures"] as? [String] ?? []
            #expect(failures.count == 1 && failures[0].contains("internal-model"), "\(failures)")
            #expect(!text.contains("127.0.0.1:9") && !text.contains("/v1/chat"), "\(text)")
        }
        await store.close()
    }

    @Test func whenEveryModelFailsTheAnswerCanFallBackToExtractive() async throws {
        try await Self.withQuarry(models: ["broken"], maxRetries: 0, fallbackToExtractive: true) { client, _ in
            let body = try Self.json(try await Self.query(client, #"{\#(Self.question), "answer": "llm"}"#))
            #expect(body["answerer"] as? String == "extractive")
            #expect((body["answer"] as? String)?.contains("[1]") == true)
            #expect(((body["llm"] as? [String: Any])?["failures"] as? [String])?.first?.contains("500") == true)
            // The one request made is counted, and the failure is named by its model.
            #expect((body["llm"] as? [String: Any])?["attempts"] as? Int == 1)
            #expect(((body["llm"] as? [String: Any])?["failures"] as? [String])?.first?.hasPrefix("broken: ") == true)

            let events = try Self.events(try await Self.query(client, #"{\#(Self.question), "answer": "llm", "stream": true}"#))
            #expect(events.first?.name == "retrieval")
            #expect(events.last?.data["answerer"] as? String == "extractive")
            #expect(!events.contains { $0.name == "error" })
        }
    }

    @Test func uncitedSentencesAndInventedCitationsAreFlagged() async throws {
        try await Self.withQuarry(models: ["inventive"]) { client, _ in
            let body = try Self.json(try await Self.query(client, #"{\#(Self.question), "answer": "llm"}"#))
            #expect(body["grounded"] as? Bool == false)
            let check = try #require(body["check"] as? [String: Any])
            #expect(check["invalid_citations"] as? [Int] == [9])
            #expect(check["uncited_sentences"] as? [String] == ["It also defragments the disk.", "Checkpoints run every minute [9]."])
            #expect(check["fully_cited"] as? Bool == false)
            #expect(check["sentences"] as? Int == 3)
        }
    }

    /// Both answerers abstain in the same structured way, whole or streamed: `abstained`, a
    /// reason, the passages looked at, never `grounded`; `abstain: never` answers instead.
    @Test func abstentionsAreStructuredOnBothAnswerersStreamedOrNot() async throws {
        try await Self.withQuarry(models: ["inventive"]) { client, _ in
            for (answer, policy, reason) in [
                ("llm", #""abstain": "auto""#, "unsupported_answer"), ("extractive", #""abstain_threshold": 1"#, "no_relevant_passage"),
            ] {
                let request = #"\#(Self.question), "answer": "\#(answer)", \#(policy)"#
                let body = try Self.json(try await Self.query(client, "{\(request)}"))
                #expect(body["abstained"] as? Bool == true && body["abstention_reason"] as? String == reason, "\(answer)")
                #expect(body["grounded"] as? Bool == false && body["answer"] as? String == Retriever.noAnswer, "\(answer)")
                #expect((body["citations"] as? [Any])?.isEmpty == false, "\(answer)")
                let events = try Self.events(try await Self.query(client, #"{\#(request), "stream": true}"#))
                let done = try #require(events.last)
                #expect(done.name == "done" && done.data["abstained"] as? Bool == true, "\(answer)")
                #expect(done.data["abstention_reason"] as? String == reason && done.data["grounded"] as? Bool == false, "\(answer)")
                // `never`: the same question is answered (an LLM's unsupported answer shown, flagged
                // by its check; an extractive one whatever its confidence).
                let never = try Self.json(try await Self.query(client, #"{\#(Self.question), "answer": "\#(answer)", "abstain": "never"}"#))
                #expect(never["abstained"] as? Bool == false && never["answer"] as? String != Retriever.noAnswer, "\(answer)")
            }
        }
    }

    @Test func anAbstentionIsReportedNotShown() async throws {
        try await Self.withQuarry(models: ["abstain"]) { client, _ in
            let body = try Self.json(try await Self.query(client, #"{\#(Self.question), "answer": "llm"}"#))
            #expect(body["answer"] as? String == Retriever.noAnswer)
            #expect(body["grounded"] as? Bool == false)
            let events = try Self.events(try await Self.query(client, #"{\#(Self.question), "answer": "llm", "stream": true}"#))
            let text = events.filter { $0.name == "delta" }.map { $0.data["text"] as? String ?? "" }.joined()
            #expect(text == Retriever.noAnswer)
        }
    }

    @Test func aStreamThatBreaksAfterTextEndsWithAnErrorEvent() async throws {
        try await Self.withQuarry(models: ["dies", "good"], fallbackToExtractive: true, guardrails: Self.unguardedAnswers) { client, stub in
            let response = try await Self.query(client, #"{\#(Self.question), "answer": "llm", "stream": true}"#)
            let events = try Self.events(response)
            #expect(events.map(\.name) == ["retrieval", "delta", "error"])
            let error = try #require(events.last?.data["error"] as? [String: Any])
            #expect(error["code"] as? String == "llm_unavailable")
            #expect((error["message"] as? String)?.contains("overloaded") == true)
            #expect(events.last?.data["request_id"] as? String == response.headers[.init("X-Request-Id")!])
            // Text had reached the client: neither a retry nor a fallback may add to it.
            #expect(stub.requests.map(\.model) == ["dies"])
        }
    }

    @Test func withoutUsageTheServiceTokensAreEstimated() async throws {
        try await Self.withQuarry(models: ["nousage"]) { client, _ in
            for stream in [false, true] {
                let response = try await Self.query(client, #"{\#(Self.question), "answer": "llm", "stream": \#(stream)}"#)
                let body = stream ? try #require(try Self.events(response).last?.data) : try Self.json(response)
                let usage = try #require(body["usage"] as? [String: Any])
                #expect(usage["estimated"] as? Bool == true)
                #expect((usage["prompt_tokens"] as? Int ?? 0) > 20)
                #expect((usage["completion_tokens"] as? Int ?? 0) > 10)
                #expect((usage["cost_usd"] as? Double ?? 0) > 0)
            }
        }
    }

    @Test func aStreamEndedWithoutAFinishReasonIsTruncated() async throws {
        // As llama.cpp's server ends a stream another request interrupted: `[DONE]`, no reason.
        try await Self.withQuarry(models: ["cut", "good"]) { client, _ in
            let cut = try #require(try Self.events(try await Self.query(client, #"{\#(Self.question), "answer": "llm", "stream": true}"#)).last?.data)
            #expect((cut["llm"] as? [String: Any])?["truncated"] as? Bool == true)
            // A whole answer (with its finish reason) is not.
            let whole = try Self.json(try await Self.query(client, #"{\#(Self.question), "answer": "llm"}"#))
            #expect((whole["llm"] as? [String: Any])?["truncated"] as? Bool == false)
        }
    }

    @Test func extractiveAnswersStreamToo() async throws {
        try await Self.withQuarry(models: ["good"], cache: QueryCache(capacity: 8)) { client, stub in
            let plain = try Self.json(try await Self.query(client, #"{\#(Self.question)}"#))
            #expect(plain["answerer"] as? String == "extractive")
            #expect(plain["usage"] is NSNull)
            for _ in 0..<2 {  // computed, then replayed from the cache
                let events = try Self.events(try await Self.query(client, #"{\#(Self.question), "stream": true}"#))
                #expect(events.first?.name == "retrieval")
                #expect(events.last?.name == "done")
                let text = events.filter { $0.name == "delta" }.map { $0.data["text"] as? String ?? "" }.joined()
                #expect(text == plain["answer"] as? String)
                let cited = CitationMarkers.numbers(in: text).reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }
                #expect(events.filter { $0.name == "citation" }.map { $0.data["id"] as? Int } == cited)
            }
            #expect(stub.requests.isEmpty)

            // answer "none": sources only.
            let none = try Self.json(try await Self.query(client, #"{\#(Self.question), "answer": "none"}"#))
            #expect(none["answer"] as? String == "")
            #expect((none["citations"] as? [Any])?.isEmpty == false)
        }
    }

    @Test func badStreamedRequestsAreJSONErrors() async throws {
        try await Self.withQuarry(models: ["good"]) { client, _ in
            let missing = try await Self.query(client, #"{"query": "x", "collection": "missing", "stream": true, "answer": "llm"}"#)
            #expect(missing.status == .notFound)
            #expect(missing.headers[.contentType]?.hasPrefix("application/json") == true)
            let tokens = try await Self.query(client, #"{"query": "x", "answer": "llm", "max_tokens": 0}"#)
            #expect(tokens.status == .badRequest)
            let kind = try await Self.query(client, #"{"query": "x", "answer": "poem"}"#)
            #expect(kind.status == .badRequest)
        }
    }

    @Test func llmAnswersNeedAConfiguredModel() async throws {
        let (store, embedder, dir) = try await Self.store()
        defer { dir.cleanUp() }
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder), store: store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), logger: Logger(label: "test")
        )
        try await app.test(.router) { client in
            let response = try await Self.query(client, #"{"query": "checkpoint", "answer": "llm"}"#)
            #expect(response.status == .badRequest)
            #expect(((try Self.json(response)["error"] as? [String: Any])?["message"] as? String)?.contains("llm.base_url") == true)
        }
    }
}
