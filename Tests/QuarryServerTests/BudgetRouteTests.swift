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

/// Token and cost budgets on `POST /query`, on both backends (the daily counters are in the
/// store), with a stub chat model (`ChatStub`): an LLM answer's use is counted per key, model and
/// day; once a budget is used up the next LLM answer is refused (429 naming it, with
/// `Retry-After`) or made extractively (`budget` in the answer), and in both cases the model is
/// not called; a request asking for a longer answer than its tier allows is refused, and one
/// asking for none gets the tier's maximum.
@Suite struct BudgetRouteTests {
    /// Runs `body` against Quarry over `setup`'s store with the chat model `good` of a stub
    /// (priced $1 and $2 per million prompt and completion tokens; the stub reports 120 and 30
    /// tokens for each answer, 150 in all).
    static func withQuarry(
        _ setup: SessionRouteTests.Setup, limits configuration: LimitsConfiguration, prices: PriceTable = PriceTable(),
        _ body: @escaping @Sendable (any TestClientProtocol, ChatStub) async throws -> Void
    ) async throws {
        let stub = ChatStub()
        try await stub.run { baseURL in
            let settings = ModelRoutingTests.settings([ModelRoutingTests.model("good", at: baseURL, input: 1, output: 2)])
            let retriever = Retriever(store: setup.store, embedder: setup.embedder, llm: LLMAnswerer(client: ChatClient(settings: settings)))
            let limits = ServiceLimits(configuration: configuration, usage: setup.store, prices: prices)
            try await setup.app(retriever: retriever, limits: limits).test(.router) { client in try await body(client, stub) }
        }
    }

    static let question = "What does WAL mode do?"

    /// An LLM answer to `question` in acme's `docs` (lexical, so that no embedding is counted).
    static func askLLM(
        _ client: any TestClientProtocol, token: String?, extra: String = "", question: String = BudgetRouteTests.question,
        mode: String = "lexical"
    ) async throws -> TestResponse {
        let more = extra.isEmpty ? "" : ", " + extra
        return try await SessionRouteTests.request(
            client, .post, "/query", token: token,
            body: #"{"query": "\#(question)", "collection": "docs", "mode": "\#(mode)", "top_k": 3, "answer": "llm"\#(more)}"#
        )
    }

    static var today: String { UsageDay(containing: Date()).id }

    /// The daily rows of `GET /usage` for today, as acme's admin sees them.
    static func usageToday(_ client: any TestClientProtocol, _ setup: SessionRouteTests.Setup, groupBy: String? = nil) async throws -> [UsageRouteTests.Report.Row] {
        let group = groupBy.map { "&group_by=\($0)" } ?? ""
        return try await UsageRouteTests.daily(client, "/usage?from=\(today)&to=\(today)\(group)", token: setup.tokens["acme-admin"]).rows
    }

    static func error(_ response: TestResponse) throws -> [String: Any] {
        try #require(try SessionRouteTests.json(response)["error"] as? [String: Any])
    }

    /// Seconds until the next UTC midnight, as `Retry-After` may give them (rounded up).
    static func secondsUntilMidnight() -> Int {
        // Unix time has no leap seconds: every UTC day is 86,400 of them.
        let now = Date().timeIntervalSince1970
        return Int((86_400 - now.truncatingRemainder(dividingBy: 86_400)).rounded(.up))
    }

    // MARK: - refuse

    @Test(arguments: StoreBackend.allCases)
    func aKeyOverItsDailyTokensIsRefusedBeforeTheModelIsCalled(_ backend: StoreBackend) async throws {
        let setup = try await SessionRouteTests.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let limits = LimitsConfiguration(tiers: ["tight": Tier(maxCompletionTokens: 64, keyDailyTokens: 100)], defaultTier: "tight")
        let reader = setup.tokens["acme-reader"], other = setup.tokens["acme-reader2"]
        let readerID = try #require(setup.keyIDs["acme-reader"])
        try await Self.withQuarry(setup, limits: limits) { client, stub in
            // The first answer: nothing used yet. A request naming no max_tokens is given the
            // tier's maximum.
            let first = try await Self.askLLM(client, token: reader)
            #expect(first.status == .ok, "\(String(buffer: first.body))")
            let body = try SessionRouteTests.json(first)
            #expect(body["answerer"] as? String == "llm" && body["answer"] as? String == ChatStub.goodAnswer)
            #expect(body["budget"] == nil)
            let usage = try #require(body["usage"] as? [String: Any])
            #expect(usage["prompt_tokens"] as? Int == 120 && usage["completion_tokens"] as? Int == 30)
            #expect(stub.requests.count == 1)
            #expect(stub.requests.first?.maxTokens == 64)

            // Counted: the key's row for the stub's model today, what the answer used.
            #expect(try await Self.usageToday(client, setup) == [
                UsageRouteTests.Report.Row("acme", day: Self.today, key: readerID, model: "good", UsageRouteTests.counts(1, 120, 30, 0, 180e-6))
            ])
            let stored = try await setup.store.listDailyUsage(tenant: "acme", keyID: readerID, from: Self.today, through: Self.today)
            #expect(stored.map(\.model) == ["good"] && stored.first?.promptTokens == 120 && stored.first?.completionTokens == 30)

            // 150 of 100 tokens used: the next LLM answer is refused, naming the budget, and the
            // model is not asked.
            // Read before the request, the wait is at least what the server computes after it.
            let untilMidnight = Self.secondsUntilMidnight()
            let refused = try await Self.askLLM(client, token: reader)
            #expect(refused.status == .tooManyRequests)
            let error = try Self.error(refused)
            #expect(error["code"] as? String == "rate_limited")
            #expect(error["limit"] as? String == "key_daily_tokens")
            #expect((error["message"] as? String)?.contains("key '\(readerID)' has used its daily LLM tokens (150 of 100)") == true)
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap(Int.init))
            #expect(retryAfter > 0 && retryAfter <= untilMidnight + 1, "Retry-After \(retryAfter): until midnight UTC")
            let streamed = try await Self.askLLM(client, token: reader, extra: #""stream": true"#)
            #expect(streamed.status == .tooManyRequests)
            #expect(try Self.error(streamed)["limit"] as? String == "key_daily_tokens")
            #expect(stub.requests.count == 1, "a refused request calls no model")
            // Nothing more was counted.
            #expect(try await Self.usageToday(client, setup).map(\.requests) == [1])

            // An extractive answer is not held to an LLM budget.
            let extractive = try await SessionRouteTests.request(
                client, .post, "/query", token: reader, body: #"{"query": "\#(Self.question)", "collection": "docs", "mode": "lexical"}"#
            )
            #expect(extractive.status == .ok)
            #expect(try SessionRouteTests.json(extractive)["answerer"] as? String == "extractive")
            #expect(stub.requests.count == 1)

            // Another key of the tenant has a budget of its own.
            let others = try await Self.askLLM(client, token: other)
            #expect(others.status == .ok)
            #expect(try SessionRouteTests.json(others)["answerer"] as? String == "llm")
            #expect(stub.requests.count == 2)
            let keys = try await Self.usageToday(client, setup, groupBy: "key").compactMap(\.key_id)
            #expect(keys.sorted() == [readerID, try #require(setup.keyIDs["acme-reader2"])].sorted())
        }
        await setup.store.close()
    }

    /// Per request: more than the tier allows is refused (no `Retry-After`: waiting does not
    /// help), up to it is passed on as asked, none is the tier's maximum.
    @Test func aRequestAskingForALongerAnswerThanItsTierAllowsIsRefused() async throws {
        let setup = try await SessionRouteTests.setUp(.sqlite)
        defer { setup.fixture.cleanUp() }
        let limits = LimitsConfiguration(tiers: ["tight": Tier(maxContextTokens: 400, maxCompletionTokens: 64)], defaultTier: "tight")
        let reader = setup.tokens["acme-reader"]
        try await Self.withQuarry(setup, limits: limits) { client, stub in
            let tooLong = try await Self.askLLM(client, token: reader, extra: #""max_tokens": 100"#)
            #expect(tooLong.status == .tooManyRequests)
            let error = try Self.error(tooLong)
            #expect(error["limit"] as? String == "max_completion_tokens")
            #expect(
                error["message"] as? String
                    == "max_tokens 100 is more than tier 'tight' allows for an answer (max_completion_tokens 64); ask for 64 or fewer, or leave it out"
            )
            #expect(tooLong.headers[.retryAfter] == nil)
            let tooMuchContext = try await Self.askLLM(client, token: reader, extra: #""max_context_tokens": 800"#)
            #expect(tooMuchContext.status == .tooManyRequests)
            #expect(try Self.error(tooMuchContext)["limit"] as? String == "max_context_tokens")
            #expect(stub.requests.isEmpty, "a refused request calls no model")

            #expect(try await Self.askLLM(client, token: reader, extra: #""max_tokens": 32"#).status == .ok)
            #expect(try await Self.askLLM(client, token: reader, extra: #""max_tokens": 64"#).status == .ok)
            #expect(try await Self.askLLM(client, token: reader).status == .ok)
            #expect(stub.requests.map(\.maxTokens) == [32, 64, 64])
            // An extractive answer calls no model: the tier's answer length is not its concern.
            let extractive = try await SessionRouteTests.request(
                client, .post, "/query", token: reader, body: #"{"query": "\#(Self.question)", "collection": "docs", "max_tokens": 100}"#
            )
            #expect(extractive.status == .ok)
        }
    }

    // MARK: - extractive

    @Test(arguments: StoreBackend.allCases)
    func underExtractiveAUsedUpBudgetGetsAnExtractiveAnswerNamingIt(_ backend: StoreBackend) async throws {
        let setup = try await SessionRouteTests.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let limits = LimitsConfiguration(tiers: ["tight": Tier(keyDailyTokens: 100)], defaultTier: "tight", onBudgetExceeded: .extractive)
        let reader = setup.tokens["acme-reader"]
        let readerID = try #require(setup.keyIDs["acme-reader"])
        try await Self.withQuarry(setup, limits: limits) { client, stub in
            #expect(try SessionRouteTests.json(try await Self.askLLM(client, token: reader))["answerer"] as? String == "llm")
            #expect(stub.requests.count == 1)

            let instead = try await Self.askLLM(client, token: reader)
            #expect(instead.status == .ok)
            let body = try SessionRouteTests.json(instead)
            #expect(body["answerer"] as? String == "extractive")
            #expect(body["usage"] is NSNull && body["llm"] is NSNull)
            let budget = try #require(body["budget"] as? [String: Any])
            #expect(budget["limit"] as? String == "key_daily_tokens" && budget["action"] as? String == "extractive")
            #expect((budget["message"] as? String)?.contains("key '\(readerID)' has used its daily LLM tokens (150 of 100)") == true)
            #expect((body["answer"] as? String)?.isEmpty == false)
            #expect(stub.requests.count == 1, "an extractive answer instead calls no model")

            // Streamed, the done event names the budget.
            let streamed = try await Self.askLLM(client, token: reader, extra: #""stream": true"#)
            #expect(streamed.status == .ok)
            let done = try #require(try LLMAnswerTests.events(streamed).last)
            #expect(done.name == "done" && done.data["answerer"] as? String == "extractive")
            #expect((done.data["budget"] as? [String: Any])?["limit"] as? String == "key_daily_tokens")

            // In a session: the turn is the extractive answer, made by no model; the follow-up is
            // still rewritten (deterministically, which needs no model).
            let session = try #require(try await SessionRouteTests.create(client, token: reader, body: #"{"collection": "docs"}"#)["id"] as? String)
            _ = try await Self.askLLM(client, token: reader, extra: #""session_id": "\#(session)""#, question: SessionRouteTests.first)
            let followUp = try await Self.askLLM(client, token: reader, extra: #""session_id": "\#(session)""#, question: SessionRouteTests.followUp)
            let followUpBody = try SessionRouteTests.json(followUp)
            #expect(followUpBody["answerer"] as? String == "extractive")
            #expect((followUpBody["budget"] as? [String: Any])?["action"] as? String == "extractive")
            #expect((followUpBody["rewrite"] as? [String: Any])?["method"] as? String == "deterministic")
            #expect(SessionRouteTests.turn(followUpBody) == "\(session)#2")
            let turns = try await setup.store.turns(session: session, tenant: "acme", last: nil)
            #expect(turns.map(\.model) == [nil, nil] && turns.map(\.promptTokens) == [nil, nil])
            #expect(stub.requests.count == 1)
            #expect(try await Self.usageToday(client, setup).map(\.requests) == [1])
        }
        await setup.store.close()
    }

    // MARK: - tenant and cost budgets

    /// A tenant's daily tokens are shared by its keys; another tenant's are its own.
    @Test(arguments: StoreBackend.allCases)
    func aTenantsDailyTokensAreSharedByItsKeys(_ backend: StoreBackend) async throws {
        let setup = try await SessionRouteTests.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let limits = LimitsConfiguration(tiers: ["team": Tier(tenantDailyTokens: 100)], defaultTier: "team")
        try await Self.withQuarry(setup, limits: limits) { client, stub in
            #expect(try await Self.askLLM(client, token: setup.tokens["acme-reader"]).status == .ok)
            let refused = try await Self.askLLM(client, token: setup.tokens["acme-reader2"])
            #expect(refused.status == .tooManyRequests)
            #expect(try Self.error(refused)["limit"] as? String == "tenant_daily_tokens")
            #expect(stub.requests.count == 1)
            let beta = try await SessionRouteTests.request(
                client, .post, "/query", token: setup.tokens["beta-admin"],
                body: #"{"query": "WAL mode", "collection": "docs", "mode": "lexical", "answer": "llm"}"#
            )
            #expect(beta.status == .ok)
            #expect(stub.requests.count == 2)
        }
        await setup.store.close()
    }

    /// Dollars from the price table (which overrides the model's configured prices), the
    /// question's embedding included once its model has a price; a cost budget reads them.
    @Test(arguments: StoreBackend.allCases)
    func aCostBudgetCountsThePriceTablesDollarsEmbeddingsIncluded(_ backend: StoreBackend) async throws {
        let setup = try await SessionRouteTests.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let limits = LimitsConfiguration(tiers: ["paid": Tier(keyDailyCostUSD: 0.1)], defaultTier: "paid")
        let prices = PriceTable([
            "good": ModelPrice(inputPerMillion: 1000, outputPerMillion: 2000), "hashing-test": ModelPrice(embeddingPerMillion: 1000),
        ])
        let reader = setup.tokens["acme-reader"]
        let readerID = try #require(setup.keyIDs["acme-reader"])
        try await Self.withQuarry(setup, limits: limits, prices: prices) { client, stub in
            let first = try await Self.askLLM(client, token: reader, mode: "hybrid")
            #expect(first.status == .ok)
            let cost = try #require((try SessionRouteTests.json(first)["usage"] as? [String: Any])?["cost_usd"] as? Double)
            #expect(abs(cost - 0.18) < 1e-12, "120 × $1000 + 30 × $2000 per million, not the model's configured $1 and $2")
            // The word pieces the encoder ran on: the question's and its two special tokens.
            let words = Double(setup.embedder.tokenCount(Self.question) + 2)
            let rows = try await Self.usageToday(client, setup)
            #expect(rows.map(\.model) == ["good", "hashing-test"])
            #expect(rows.map(\.key_id) == [readerID, readerID])
            #expect(rows.last?.embedding_tokens == Int64(words) && rows.last?.tokens == 0)
            #expect(abs((rows.last?.cost_usd ?? 0) - words * 1000 / 1_000_000) < 1e-12)
            #expect(abs((rows.first?.cost_usd ?? 0) - 0.18) < 1e-12)

            let refused = try await Self.askLLM(client, token: reader, mode: "hybrid")
            #expect(refused.status == .tooManyRequests)
            #expect(try Self.error(refused)["limit"] as? String == "key_daily_cost_usd")
            #expect(stub.requests.count == 1)
        }
        await setup.store.close()
    }
}
