import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryAccess
import QuarryCore
import QuarryRetrieval
import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// Model routing on `POST /query`: the caller's tier (its key's, else its tenant's, else the
/// default tier) and, where the tier has short and long chains, the question's shape choose the
/// chain an LLM answer is asked of; the answer's `routing` says which and why. An extractive
/// route asks no model at all, and the result cache never serves one route's answer to another.
@Suite struct RoutingRouteTests {
    /// Keys of acme on tiers `free`, `pro` and `team` (and acme's readers, on none).
    static func setUp() async throws -> SessionRouteTests.Setup {
        try await SessionRouteTests.setUp(
            .sqlite, extraKeys: [("free", "acme", .reader, "free"), ("pro", "acme", .reader, "pro"), ("team", "acme", .reader, "team")]
        )
    }

    /// `free`: extractive; `pro`: `broken` then `good`; `team`: `good`, short questions
    /// `nousage`; everyone else: `good`.
    static func router(at baseURL: URL) -> ModelRouter {
        let good = ModelRoutingTests.model("good", at: baseURL, input: 1, output: 2)
        return ModelRouter(
            tiers: [
                "free": TierRoutes(chain: ModelRoute(name: "tiers.free.chain", models: [], fallbackToExtractive: true)),
                "pro": TierRoutes(
                    chain: ModelRoute(name: "tiers.pro.chain", models: [ModelRoutingTests.model("broken", at: baseURL), good], fallbackToExtractive: true)
                ),
                "team": TierRoutes(
                    chain: ModelRoute(name: "tiers.team.chain", models: [good], fallbackToExtractive: true),
                    short: ModelRoute(name: "tiers.team.short", models: [ModelRoutingTests.model("nousage", at: baseURL)], fallbackToExtractive: false)
                ),
            ],
            defaultRoutes: TierRoutes(chain: ModelRoute(name: "default.chain", models: [good], fallbackToExtractive: true))
        )
    }

    /// Runs `body` against Quarry with the router above over a stub; the answerer's own chain
    /// (`abstain`) must never be asked.
    static func withQuarry(
        _ setup: SessionRouteTests.Setup, cache: QueryCache? = nil, _ body: @escaping @Sendable (any TestClientProtocol, ChatStub) async throws -> Void
    ) async throws {
        let stub = ChatStub()
        try await stub.run { baseURL in
            let settings = ModelRoutingTests.settings([ModelRoutingTests.model("abstain", at: baseURL)])
            let retriever = Retriever(
                store: setup.store, embedder: setup.embedder, cache: cache, llm: LLMAnswerer(client: ChatClient(settings: settings)),
                router: Self.router(at: baseURL)
            )
            let limits = ServiceLimits(configuration: LimitsConfiguration(tiers: ["free": Tier(), "pro": Tier(), "team": Tier()]), usage: setup.store)
            try await setup.app(retriever: retriever, limits: limits).test(.router) { client in try await body(client, stub) }
        }
    }

    static let short = "What is WAL mode?"
    static let long = "Why do readers keep reading while a writer writes in WAL mode?"

    /// An LLM answer of `question` for `token`; its JSON.
    static func ask(_ client: any TestClientProtocol, _ question: String, token: String?, answer: String = "llm") async throws -> [String: Any] {
        let response = try await SessionRouteTests.request(
            client, .post, "/query", token: token,
            body: #"{"query": "\#(question)", "collection": "docs", "mode": "lexical", "top_k": 3, "answer": "\#(answer)"}"#
        )
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try SessionRouteTests.json(response)
    }

    @Test func eachTierGetsItsChainAndTheAnswerSaysWhich() async throws {
        let setup = try await Self.setUp()
        defer { setup.fixture.cleanUp() }
        try await Self.withQuarry(setup) { client, stub in
            // free: the extractive route, no model asked.
            let free = try await Self.ask(client, Self.short, token: setup.tokens["free"])
            #expect(free["answerer"] as? String == "extractive")
            #expect(free["llm"] is NSNull && free["usage"] is NSNull)
            #expect((free["answer"] as? String)?.isEmpty == false)
            let freeRouting = try #require(free["routing"] as? [String: Any])
            #expect(freeRouting["extractive"] as? Bool == true)
            #expect(freeRouting["tier"] as? String == "free" && freeRouting["route"] as? String == "tiers.free.chain")
            #expect(freeRouting["models"] as? [String] == [])
            #expect(freeRouting["question_shape"] is NSNull)
            #expect(freeRouting["reason"] as? String == "tier 'free'; its chain, extractive (no model)")
            #expect(stub.requests.isEmpty)

            // pro: its chain, the broken model first; the good one answers.
            let pro = try await Self.ask(client, Self.short, token: setup.tokens["pro"])
            #expect(pro["answerer"] as? String == "llm" && pro["answer"] as? String == ChatStub.goodAnswer)
            let proRouting = try #require(pro["routing"] as? [String: Any])
            #expect(proRouting["models"] as? [String] == ["broken", "good"])
            #expect(proRouting["extractive"] as? Bool == false && proRouting["route"] as? String == "tiers.pro.chain")
            let llm = try #require(pro["llm"] as? [String: Any])
            #expect(llm["model"] as? String == "good" && llm["attempts"] as? Int == 2)
            #expect(llm["failures"] as? [String] == ["broken: answered 500: model crashed"])
            #expect(stub.requests.map(\.model) == ["broken", "good"])

            // No tier: the default routes.
            let plain = try await Self.ask(client, Self.short, token: setup.tokens["acme-reader"])
            let plainRouting = try #require(plain["routing"] as? [String: Any])
            #expect(plainRouting["tier"] is NSNull && plainRouting["route"] as? String == "default.chain")
            #expect(plainRouting["reason"] as? String == "no tier: the default routes; its chain")
            #expect(stub.requests.map(\.model) == ["broken", "good", "good"])

            // Only LLM answers are routed.
            let extractive = try await Self.ask(client, Self.short, token: setup.tokens["pro"], answer: "extractive")
            #expect(extractive["routing"] is NSNull && extractive["answerer"] as? String == "extractive")
            #expect(stub.requests.count == 3)
            #expect(!stub.requests.contains { $0.model == "abstain" }, "the answerer's own chain is not asked when a router chooses")
        }
    }

    @Test func aShortAndALongQuestionTakeTheirTiersChains() async throws {
        let setup = try await Self.setUp()
        defer { setup.fixture.cleanUp() }
        try await Self.withQuarry(setup) { client, stub in
            let short = try await Self.ask(client, Self.short, token: setup.tokens["team"])
            let shortRouting = try #require(short["routing"] as? [String: Any])
            #expect(shortRouting["question_shape"] as? String == "short")
            #expect(shortRouting["route"] as? String == "tiers.team.short")
            #expect(shortRouting["models"] as? [String] == ["nousage"])
            #expect(shortRouting["fallback_to_extractive"] as? Bool == false)
            #expect(
                shortRouting["reason"] as? String
                    == "tier 'team'; a short question (4 words, one clause, no analytical cue): its short chain"
            )
            #expect((short["llm"] as? [String: Any])?["model"] as? String == "nousage")

            let long = try await Self.ask(client, Self.long, token: setup.tokens["team"])
            let longRouting = try #require(long["routing"] as? [String: Any])
            #expect(longRouting["question_shape"] as? String == "long")
            #expect(longRouting["route"] as? String == "tiers.team.chain")
            #expect(longRouting["models"] as? [String] == ["good"])
            #expect(longRouting["reason"] as? String == "tier 'team'; a long question (analytical cue 'why'), no long chain: its chain")
            #expect((long["llm"] as? [String: Any])?["model"] as? String == "good")
            #expect(stub.requests.map(\.model) == ["nousage", "good"])

            // The same long question on a tier without shape chains: no shape read.
            let pro = try await Self.ask(client, Self.long, token: setup.tokens["pro"])
            #expect((pro["routing"] as? [String: Any])?["question_shape"] is NSNull)
        }
    }

    /// A tier whose route is extractive calls no model, so an LLM budget has nothing to hold
    /// back: budgets "are read before each LLM call" (docs/configuration.md), and there is
    /// none. Here the tenant's daily tokens, which the free tier counts, were used up by a pro key.
    @Test func anExtractiveRouteIsNotRefusedForAUsedUpLLMBudget() async throws {
        let setup = try await Self.setUp()
        defer { setup.fixture.cleanUp() }
        let stub = ChatStub()
        try await stub.run { baseURL in
            let settings = ModelRoutingTests.settings([ModelRoutingTests.model("abstain", at: baseURL)])
            let retriever = Retriever(
                store: setup.store, embedder: setup.embedder, llm: LLMAnswerer(client: ChatClient(settings: settings)), router: Self.router(at: baseURL)
            )
            let configuration = LimitsConfiguration(tiers: ["free": Tier(tenantDailyTokens: 100), "pro": Tier(), "team": Tier()])
            let limits = ServiceLimits(configuration: configuration, usage: setup.store)
            try await setup.app(retriever: retriever, limits: limits).test(.router) { client in
                // Before the budget is used up: extractive, by the route.
                #expect(try await Self.ask(client, Self.short, token: setup.tokens["free"])["answerer"] as? String == "extractive")
                // A pro key of the tenant uses 150 tokens.
                _ = try await Self.ask(client, Self.short, token: setup.tokens["pro"])
                #expect(stub.requests.map(\.model) == ["broken", "good"])
                let free = try await SessionRouteTests.request(
                    client, .post, "/query", token: setup.tokens["free"],
                    body: #"{"query": "\#(Self.short)", "collection": "docs", "mode": "lexical", "answer": "llm"}"#
                )
                #expect(free.status == .ok, "refused though its route calls no model: \(String(buffer: free.body))")
                #expect(stub.requests.count == 2)
            }
        }
    }

    /// The cache's scope holds the route: a free caller is never served the answer a model
    /// wrote for a team caller, and a pro caller not one another route's models wrote.
    @Test func theCacheDoesNotServeOneRoutesAnswerToAnother() async throws {
        let setup = try await Self.setUp()
        defer { setup.fixture.cleanUp() }
        try await Self.withQuarry(setup, cache: QueryCache(capacity: 16)) { client, stub in
            let team = try await Self.ask(client, Self.long, token: setup.tokens["team"])
            #expect(team["answerer"] as? String == "llm" && team["cached"] as? Bool == false)
            #expect(stub.requests.count == 1)
            // The control: the same route is served from the cache.
            let again = try await Self.ask(client, Self.long, token: setup.tokens["team"])
            #expect(again["cached"] as? Bool == true && again["answer"] as? String == ChatStub.goodAnswer)
            #expect(stub.requests.count == 1)
            // Another key on the default routes asks the same models by another route.
            let plain = try await Self.ask(client, Self.long, token: setup.tokens["acme-reader"])
            #expect(plain["cached"] as? Bool == false)
            #expect(stub.requests.count == 2)

            let free = try await Self.ask(client, Self.long, token: setup.tokens["free"])
            #expect(free["cached"] as? Bool == false)
            #expect(free["answerer"] as? String == "extractive")
            #expect(free["answer"] as? String != ChatStub.goodAnswer)
            #expect((free["routing"] as? [String: Any])?["extractive"] as? Bool == true)
            #expect(stub.requests.count == 2)

            let pro = try await Self.ask(client, Self.long, token: setup.tokens["pro"])
            #expect(pro["cached"] as? Bool == false)
            #expect((pro["llm"] as? [String: Any])?["failures"] as? [String] == ["broken: answered 500: model crashed"])
            #expect(stub.requests.map(\.model) == ["good", "good", "broken", "good"])
        }
    }
}
