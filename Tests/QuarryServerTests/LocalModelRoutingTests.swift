import Foundation
import QuarryCore
import QuarryRetrieval
import Testing

/// The chat server of `LocalModelRoutingTests`: `$QUARRY_LLM_URL`, e.g. `http://127.0.0.1:8081/v1`.
private let localModelURL = ProcessInfo.processInfo.environment["QUARRY_LLM_URL"].flatMap { $0.isEmpty ? nil : $0 }

/// Routed chains against a real model: a `ModelRouter` whose routes end at the OpenAI-compatible
/// server at `$QUARRY_LLM_URL` (llama.cpp's, started by `scripts/llm-server.sh`; model
/// `$QUARRY_LLM_MODEL`, else `gemma-3-270m`), behind a stub model that fails (`ChatStub`'s
/// `broken`) or alone, asked through `LLMAnswerer.answer(…, models:)`.
///
/// Skipped unless `QUARRY_LLM_URL` is set, as `LocalLLMTests` are. The tests check which model
/// answered, what failed before it and what the answer cost, never whether the answer is right.
@Suite(
    .serialized,
    .enabled(if: localModelURL != nil, "set QUARRY_LLM_URL to an OpenAI-compatible server (make test-llm)")
)
struct LocalModelRoutingTests {
    static let modelName = ProcessInfo.processInfo.environment["QUARRY_LLM_MODEL"].flatMap { $0.isEmpty ? nil : $0 } ?? "gemma-3-270m"

    static let citations = [
        Citation(
            id: 1, document: "wal.md", chunkID: "c1",
            text: "A checkpoint copies the pages of the WAL file back into the original database file.", score: 0.9,
            location: ChunkLocation(lineStart: 1, lineEnd: 1)
        ),
        Citation(
            id: 2, document: "wal.md", chunkID: "c2",
            text: "With the WAL file, readers do not block writers and a writer does not block readers.", score: 0.8,
            location: ChunkLocation(lineStart: 2, lineEnd: 2)
        ),
    ]

    /// The local model, free of charge.
    static func local() throws -> ChatModel {
        ChatModel(
            baseURL: try #require(localModelURL.flatMap(URL.init(string:))), name: modelName, inputCostPerMillion: 0, outputCostPerMillion: 0
        )
    }

    /// Generous deadlines (a small model on shared cores) and no retries that would hide a
    /// failure. The settings' own chain is empty: only the routed chain can answer.
    static let answerer = LLMAnswerer(
        client: ChatClient(
            settings: ChatSettings(models: [], firstTokenTimeout: .seconds(180), totalTimeout: .seconds(300), maxRetries: 0, maxTokens: 128)
        ),
        fallbackToExtractive: false
    )

    /// pro: short questions to the failing stub, then the local model; everyone else: the local model.
    static func router(stub: URL) throws -> ModelRouter {
        let local = try local()
        return ModelRouter(
            tiers: [
                "pro": TierRoutes(
                    chain: ModelRoute(name: "tiers.pro.chain", models: [local], fallbackToExtractive: false),
                    short: ModelRoute(
                        name: "tiers.pro.short", models: [ChatModel(baseURL: stub, name: "broken"), local], fallbackToExtractive: false
                    )
                )
            ],
            defaultRoutes: TierRoutes(chain: ModelRoute(name: "default.chain", models: [local], fallbackToExtractive: false))
        )
    }

    static func ask(_ selection: ModelSelection, stream: Bool) async throws -> LLMAnswer {
        try await answerer.answer(
            query: "What does a checkpoint do?", citations: citations, maxTokens: nil, models: selection.models, stream: stream,
            tokenCount: { max(1, $0.utf8.count / 4) }, onText: { _ in }
        )
    }

    /// The answer came from the local model, and was checked or was an abstention. What came
    /// back is attached to the test (`swift test --attachments-path DIR` keeps it).
    static func expectFromLocalModel(_ answer: LLMAnswer, comment: Comment) {
        Attachment.record(
            "model: \(answer.generation.model)\nattempts: \(answer.generation.attempts)\nfailures: \(answer.generation.failures)\n"
                + "usage: \(answer.usage)\nanswer: \(answer.text ?? "(abstained)")\ncheck: \(answer.check.map { "\($0)" } ?? "none")\n",
            named: "answer.txt"
        )
        #expect(answer.generation.model == modelName, "llama.cpp's server names the model by its alias: \(comment)")
        #expect(answer.usage.costUSD == 0, "the local model's prices: \(comment)")
        #expect(answer.usage.promptTokens > 50, "the prompt holds the sources: \(comment)")
        if answer.text != nil { #expect(answer.check != nil, comment) }
    }

    @Test func aFailingStubFallsBackToTheLocalModel() async throws {
        let stub = ChatStub()
        try await stub.run { stubURL in
            let selection = try Self.router(stub: stubURL).route(tier: "pro", question: "What does a checkpoint do?")
            #expect(selection.decision.route == "tiers.pro.short")
            #expect(selection.decision.models == ["broken", Self.modelName])
            let answer = try await Self.ask(selection, stream: false)
            let comment: Comment = "\(answer.generation) \(answer.usage) \(answer.text ?? "(abstained)")"
            Self.expectFromLocalModel(answer, comment: comment)
            #expect(answer.generation.failures == ["broken: answered 500: model crashed"], comment)
            #expect(answer.generation.attempts == 2, comment)
            #expect(answer.usage.estimated == false, "llama.cpp's server reports usage of a whole answer: \(comment)")
            #expect(stub.requests.map(\.model) == ["broken"])
        }
    }

    @Test func theLocalModelAloneAnswersStreamed() async throws {
        let stub = ChatStub()
        try await stub.run { stubURL in
            let selection = try Self.router(stub: stubURL).route(tier: nil, question: "What does a checkpoint do?")
            #expect(selection.decision.route == "default.chain")
            #expect(selection.decision.models == [Self.modelName])
            let answer = try await Self.ask(selection, stream: true)
            let comment: Comment = "\(answer.generation) \(answer.usage) \(answer.text ?? "(abstained)")"
            Self.expectFromLocalModel(answer, comment: comment)
            #expect(answer.generation.failures.isEmpty, comment)
            #expect(answer.generation.attempts == 1, comment)
            #expect(stub.requests.isEmpty, "the stub is not on this route")
        }
    }
}
