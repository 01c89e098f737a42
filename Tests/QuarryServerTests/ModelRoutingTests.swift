import Foundation
import QuarryCore
import QuarryRetrieval
import Testing

/// Per-call chains of `ChatClient` and `LLMAnswerer` (what a `ModelRouter` chooses), against
/// local stub chat APIs (`ChatStub`): the chain of the call is asked, not the settings', the
/// model that answered is named and priced, and a router's tiers reach different services.
@Suite struct ModelRoutingTests {
    static let citations = [
        Citation(
            id: 1, document: "wal.md", chunkID: "c1", text: "A checkpoint copies the pages of the WAL file back into the database file.",
            score: 0.9, location: ChunkLocation(lineStart: 1, lineEnd: 1)
        ),
        Citation(
            id: 2, document: "wal.md", chunkID: "c2", text: "With the WAL file, readers and writers work at the same time.", score: 0.8,
            location: ChunkLocation(lineStart: 2, lineEnd: 2)
        ),
    ]

    /// Settings whose own chain is `models`; no retries (each failure is one attempt) and
    /// deadlines far beyond what the stub needs.
    static func settings(_ models: [ChatModel]) -> ChatSettings {
        ChatSettings(
            models: models, firstTokenTimeout: .seconds(30), totalTimeout: .seconds(60), maxRetries: 0, initialBackoff: .milliseconds(10),
            maxBackoff: .milliseconds(50)
        )
    }

    static func model(_ name: String, at baseURL: URL, input: Double? = nil, output: Double? = nil) -> ChatModel {
        ChatModel(baseURL: baseURL, apiKey: "sk-test", name: name, inputCostPerMillion: input, outputCostPerMillion: output)
    }

    static func answer(
        _ answerer: LLMAnswerer, models: [ChatModel]?, stream: Bool = false, history: [ChatMessage] = [], question: String = "What does a checkpoint do?"
    ) async throws -> LLMAnswer {
        try await answerer.answer(
            query: question, citations: citations, history: history, maxTokens: nil, models: models, stream: stream,
            tokenCount: { $0.split(separator: " ").count }, onText: { _ in }
        )
    }

    @Test(arguments: [false, true])
    func theCallsChainIsAskedAndItsAnsweringModelNamed(stream: Bool) async throws {
        let stub = ChatStub()
        try await stub.run { baseURL in
            // The settings' own chain would abstain: it must not be asked.
            let answerer = LLMAnswerer(client: ChatClient(settings: Self.settings([Self.model("abstain", at: baseURL)])))
            let chain = [Self.model("broken", at: baseURL, input: 100, output: 100), Self.model("good", at: baseURL, input: 1, output: 2)]
            let answer = try await Self.answer(answerer, models: chain, stream: stream)
            #expect(answer.text == ChatStub.goodAnswer)
            #expect(answer.generation == GenerationInfo(model: "good", attempts: 2, failures: ["broken: answered 500: model crashed"], truncated: false))
            #expect(stub.requests.map(\.model) == ["broken", "good"])
            // The stub reports 120 prompt and 30 completion tokens; `good`'s prices, not `broken`'s.
            #expect(answer.usage == ChatUsage(promptTokens: 120, completionTokens: 30, costUSD: (120 * 1 + 30 * 2) / 1_000_000))
        }
    }

    /// Without usage from the service the estimate is priced too, at the prices of the model of
    /// the chain that answered, even when the settings' chain has a model of the same name at
    /// other prices.
    @Test(arguments: [false, true])
    func anEstimateIsPricedByTheModelThatAnswered(stream: Bool) async throws {
        let stub = ChatStub()
        try await stub.run { baseURL in
            let answerer = LLMAnswerer(client: ChatClient(settings: Self.settings([Self.model("nousage", at: baseURL, input: 50, output: 50)])))
            let answer = try await Self.answer(answerer, models: [Self.model("nousage", at: baseURL, input: 3, output: 4)], stream: stream)
            #expect(answer.generation.model == "nousage")
            #expect(answer.usage.estimated)
            let cost = try #require(answer.usage.costUSD)
            #expect(cost == (Double(answer.usage.promptTokens) * 3 + Double(answer.usage.completionTokens) * 4) / 1_000_000)
        }
    }

    @Test func withoutAChainTheSettingsChainIsAsked() async throws {
        let stub = ChatStub()
        try await stub.run { baseURL in
            let client = ChatClient(settings: Self.settings([Self.model("broken", at: baseURL), Self.model("good", at: baseURL, input: 1, output: 2)]))
            let completion = try await client.complete([ChatMessage(role: "user", content: "hello")], stream: false)
            #expect(completion.model == "good")
            #expect(completion.configured == Self.model("good", at: baseURL, input: 1, output: 2))
            #expect(completion.failures == ["broken: answered 500: model crashed"])
            #expect(stub.requests.map(\.model) == ["broken", "good"])
        }
    }

    @Test func anEmptyChainAsksNoModel() async throws {
        let stub = ChatStub()
        try await stub.run { baseURL in
            let client = ChatClient(settings: Self.settings([Self.model("good", at: baseURL)]))
            await #expect {
                _ = try await client.complete([ChatMessage(role: "user", content: "hello")], models: [], stream: false)
            } throws: { error in
                guard let error = error as? ChatError else { return false }
                return error.kind == .exhausted && error.attempts == 0 && error.message == "no model answered: the chain names no model"
            }
            #expect(stub.requests.isEmpty)
        }
    }

    @Test func aChainThatFailsWhollyNamesEveryFailure() async throws {
        let stub = ChatStub()
        try await stub.run { baseURL in
            let answerer = LLMAnswerer(client: ChatClient(settings: Self.settings([Self.model("good", at: baseURL)])))
            await #expect {
                _ = try await Self.answer(answerer, models: [Self.model("broken", at: baseURL), Self.model("garbage", at: baseURL)])
            } throws: { error in
                guard let error = error as? ChatError else { return false }
                return error.kind == .exhausted && error.attempts == 2
                    && error.failures == ["broken: answered 500: model crashed", "garbage: answered with JSON that is not a chat completion"]
            }
            #expect(stub.requests.map(\.model) == ["broken", "garbage"])
        }
    }

    /// Two services on two ports, a router over them: the pro tier's short questions go to the
    /// first, its long ones and everyone else's to the second, the free tier to none.
    @Test func aRouterSendsTiersToTheirServices() async throws {
        let first = ChatStub(), second = ChatStub()
        try await first.run { firstURL in
            try await second.run { secondURL in
                #expect(firstURL != secondURL)
                let local = Self.model("good", at: firstURL, input: 0, output: 0)
                let remote = Self.model("good", at: secondURL, input: 2.5, output: 10)
                let router = ModelRouter(
                    tiers: [
                        "free": TierRoutes(chain: ModelRoute(name: "tiers.free.chain", models: [], fallbackToExtractive: true)),
                        "pro": TierRoutes(
                            chain: ModelRoute(name: "tiers.pro.chain", models: [remote], fallbackToExtractive: true),
                            short: ModelRoute(name: "tiers.pro.short", models: [Self.model("broken", at: firstURL), local], fallbackToExtractive: true)
                        ),
                    ],
                    defaultRoutes: TierRoutes(chain: ModelRoute(name: "default.chain", models: [remote], fallbackToExtractive: true))
                )
                let answerer = LLMAnswerer(client: ChatClient(settings: Self.settings([])))

                let short = router.route(tier: "pro", question: "What does a checkpoint do?")
                #expect(short.decision.route == "tiers.pro.short")
                let shortAnswer = try await Self.answer(answerer, models: short.models, question: "What does a checkpoint do?")
                #expect(shortAnswer.generation.failures == ["broken: answered 500: model crashed"])
                #expect(shortAnswer.usage.costUSD == 0, "the local model's prices")
                #expect(first.requests.map(\.model) == ["broken", "good"])
                #expect(second.requests.isEmpty)

                let long = router.route(tier: "pro", question: "Why do readers and writers not block each other in WAL mode?")
                #expect(long.decision.route == "tiers.pro.chain")
                let longAnswer = try await Self.answer(answerer, models: long.models, stream: true)
                #expect(longAnswer.text == ChatStub.goodAnswer)
                let remoteCost: Double = (120 * 2.5 + 30 * 10) / 1_000_000
                #expect(longAnswer.usage.costUSD == remoteCost, "the remote model's prices")
                #expect(second.requests.map(\.model) == ["good"])

                let other = router.route(tier: "team", question: "What does a checkpoint do?")
                #expect(other.decision.route == "default.chain")
                _ = try await Self.answer(answerer, models: other.models)
                #expect(second.requests.count == 2)

                let free = router.route(tier: "free", question: "What does a checkpoint do?")
                #expect(free.decision.extractive && free.models.isEmpty)
                #expect(first.requests.count == 2 && second.requests.count == 2, "an extractive route asks no service")
            }
        }
    }

    /// Earlier turns go between the rules and the sources, with turn markers neutralised; none
    /// by default, and the prompt is then as before (the rules, then the sources).
    @Test func historyGoesBetweenTheRulesAndTheSources() async throws {
        let stub = ChatStub()
        try await stub.run { baseURL in
            let answerer = LLMAnswerer(client: ChatClient(settings: Self.settings([Self.model("good", at: baseURL)])))
            _ = try await Self.answer(answerer, models: nil)
            let history = [
                ChatMessage(role: "user", content: "What is WAL?"),
                ChatMessage(role: "assistant", content: "Write-ahead logging [1].<end_of_turn>"),
            ]
            _ = try await Self.answer(answerer, models: nil, history: history)
            let requests = stub.requests
            try #require(requests.count == 2)
            #expect(requests[0].messages.map { $0["role"] ?? "" } == ["system", "user"])
            #expect(requests[1].messages.map { $0["role"] ?? "" } == ["system", "user", "assistant", "user"])
            #expect(requests[1].messages[0] == requests[0].messages[0])
            #expect(requests[1].messages[1]["content"] == "What is WAL?")
            #expect(requests[1].messages[2]["content"] == "Write-ahead logging [1].(end_of_turn)")
            #expect(requests[1].messages[3] == requests[0].messages[1])
        }
    }
}
