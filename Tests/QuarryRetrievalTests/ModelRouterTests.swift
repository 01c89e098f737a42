import Foundation
import QuarryRetrieval
import Testing

/// `QuestionShape`'s reading of questions, and `ModelRouter`'s choice of a chain by tier and shape.
@Suite struct ModelRouterTests {
    // MARK: - The question's shape

    @Test(arguments: [
        ("What is the default page size?", "6 words, one clause, no analytical cue"),
        ("Who wrote SQLite?", "3 words, one clause, no analytical cue"),
        ("How do I enable foreign keys?", "6 words, one clause, no analytical cue"),
        ("Does SQLite work on Android?", "5 words, one clause, no analytical cue"),
        ("Is the whyte library supported?", "5 words, one clause, no analytical cue"),
        ("What changed in Python 3.11?", "6 words, one clause, no analytical cue"),
        ("Which port, e.g. 8080, does it use?", "8 words, one clause, no analytical cue"),
        ("", "0 words, one clause, no analytical cue"),
        ("vacuum", "1 word, one clause, no analytical cue"),
    ])
    func factoidsAreShort(question: String, reason: String) {
        #expect(QuestionShape.classify(question) == QuestionShape.Reading(shape: .short, reason: reason), "\(question)")
    }

    @Test(arguments: [
        ("Why is WAL mode faster than a rollback journal?", "analytical cue 'why'"),
        ("Compare HNSW and IVF indexes", "analytical cue 'compare'"),
        ("What's the difference between DELETE and TRUNCATE?", "analytical cue 'difference'"),
        ("Explain checkpoints.", "analytical cue 'explain'"),
        ("How does a checkpoint work in WAL mode?", "analytical cue 'how does … work'"),
        ("how do B-trees and LSM trees work", "analytical cue 'how do … work'"),
        ("What are the pros and cons of pgvector?", "analytical cue 'pros'"),
        ("List all pragmas that affect durability", "analytical cue 'list all'"),
        ("What is the trade-off between ef_search and recall?", "analytical cue 'trade off'"),
        ("Postgres vs. SQLite for a small team", "analytical cue 'vs'"),
        ("What happens when the WAL file grows without bound?", "analytical cue 'what happens when'"),
        ("What port does Quarry listen on? And which host?", "2 questions"),
        ("The index was built yesterday. Which model built it?", "2 clauses"),
        ("I run the server on two cores; the answers take a minute", "2 clauses"),
    ])
    func analyticalQuestionsAreLong(question: String, reason: String) {
        #expect(QuestionShape.classify(question) == QuestionShape.Reading(shape: .long, reason: reason), "\(question)")
    }

    @Test func manyWordsMakeALongQuestion() {
        let question = "What is the name of the setting in the configuration file that holds the largest number of tokens a single answer of the chat model may have"
        #expect(QuestionShape.classify(question) == QuestionShape.Reading(shape: .long, reason: "27 words"))
        let shorter = question.split(separator: " ").prefix(QuestionShape.longWordCount - 1).joined(separator: " ")
        #expect(QuestionShape.classify(shorter).shape == .short)
    }

    // MARK: - Routing

    static let small = ChatModel(baseURL: URL(string: "http://127.0.0.1:8081/v1")!, name: "gemma-3-270m", inputCostPerMillion: 0, outputCostPerMillion: 0)
    static let large = ChatModel(
        baseURL: URL(string: "https://api.example.com/v1")!, apiKey: "sk-large", name: "big-model", inputCostPerMillion: 2.5,
        outputCostPerMillion: 10
    )
    static let primary = ChatModel(baseURL: URL(string: "http://127.0.0.1:8000/v1")!, name: "qwen2.5-7b-instruct")

    /// free: extractive; pro: large then small, short questions small first; team: large,
    /// long questions only; default: the llm section's model.
    static let router = ModelRouter(
        tiers: [
            "free": TierRoutes(chain: ModelRoute(name: "tiers.free.chain", models: [], fallbackToExtractive: true)),
            "pro": TierRoutes(
                chain: ModelRoute(name: "tiers.pro.chain", models: [large, small], fallbackToExtractive: true),
                short: ModelRoute(name: "tiers.pro.short", models: [small, large], fallbackToExtractive: true)
            ),
            "team": TierRoutes(
                chain: ModelRoute(name: "tiers.team.chain", models: [small], fallbackToExtractive: false),
                long: ModelRoute(name: "tiers.team.long", models: [large], fallbackToExtractive: false)
            ),
        ],
        defaultRoutes: TierRoutes(chain: ModelRoute(name: "default.chain", models: [primary], fallbackToExtractive: true))
    )

    @Test func aTierWithShapedRoutesRoutesByShape() {
        let short = Self.router.route(tier: "pro", question: "What is the default page size?")
        #expect(short.models == [Self.small, Self.large])
        #expect(
            short.decision
                == RoutingDecision(
                    tier: "pro", route: "tiers.pro.short", models: ["gemma-3-270m", "big-model"], extractive: false, fallbackToExtractive: true,
                    questionShape: .short,
                    reason: "tier 'pro'; a short question (6 words, one clause, no analytical cue): its short chain"
                )
        )
        let long = Self.router.route(tier: "pro", question: "Why is WAL mode faster?")
        #expect(long.models == [Self.large, Self.small])
        #expect(
            long.decision
                == RoutingDecision(
                    tier: "pro", route: "tiers.pro.chain", models: ["big-model", "gemma-3-270m"], extractive: false, fallbackToExtractive: true,
                    questionShape: .long, reason: "tier 'pro'; a long question (analytical cue 'why'), no long chain: its chain"
                )
        )
    }

    @Test func aLongChainTakesLongQuestionsOnly() {
        let long = Self.router.route(tier: "team", question: "Compare HNSW and IVF")
        #expect(long.models == [Self.large])
        #expect(long.decision.route == "tiers.team.long")
        #expect(long.decision.fallbackToExtractive == false)
        let short = Self.router.route(tier: "team", question: "Who wrote SQLite?")
        #expect(short.models == [Self.small])
        #expect(short.decision.route == "tiers.team.chain")
        #expect(short.decision.questionShape == .short)
    }

    @Test func anExtractiveTierAsksNoModel() {
        let selection = Self.router.route(tier: "free", question: "Why is WAL mode faster?")
        #expect(selection.models.isEmpty)
        #expect(
            selection.decision
                == RoutingDecision(
                    tier: "free", route: "tiers.free.chain", models: [], extractive: true, fallbackToExtractive: true, questionShape: nil,
                    reason: "tier 'free'; its chain, extractive (no model)"
                )
        )
    }

    @Test func noTierAndUnknownTiersUseTheDefault() {
        let none = Self.router.route(tier: nil, question: "Why?")
        #expect(none.models == [Self.primary])
        #expect(
            none.decision
                == RoutingDecision(
                    tier: nil, route: "default.chain", models: ["qwen2.5-7b-instruct"], extractive: false, fallbackToExtractive: true,
                    questionShape: nil, reason: "no tier: the default routes; its chain"
                )
        )
        let unknown = Self.router.route(tier: "gold", question: "Why?")
        #expect(unknown.models == [Self.primary])
        #expect(unknown.decision.tier == "gold")
        #expect(unknown.decision.route == "default.chain")
        #expect(unknown.decision.reason == "tier 'gold' has no routes: the default routes; its chain")
    }

    @Test func theDefaultRoutesMayDependOnShapeToo() {
        let router = ModelRouter(
            defaultRoutes: TierRoutes(
                chain: ModelRoute(name: "default.chain", models: [Self.large], fallbackToExtractive: true),
                short: ModelRoute(name: "default.short", models: [], fallbackToExtractive: true)
            )
        )
        let short = router.route(tier: nil, question: "Who wrote SQLite?")
        #expect(short.models.isEmpty)
        #expect(short.decision.extractive)
        #expect(
            short.decision.reason
                == "no tier: the default routes; a short question (3 words, one clause, no analytical cue): its short chain, extractive (no model)"
        )
        #expect(router.route(tier: nil, question: "Explain the WAL").models == [Self.large])
    }

    /// The decision is the response's `routing` object as is: snake_case keys, every key present.
    @Test func theDecisionEncodesAsTheResponseObject() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let free = Self.router.route(tier: nil, question: "Why?").decision
        #expect(
            String(decoding: try encoder.encode(free), as: UTF8.self)
                == #"{"extractive":false,"fallback_to_extractive":true,"models":["qwen2.5-7b-instruct"],"question_shape":null,"reason":"no tier: the default routes; its chain","route":"default.chain","tier":null}"#
        )
        let pro = Self.router.route(tier: "pro", question: "Who wrote SQLite?").decision
        let json = try encoder.encode(pro)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["question_shape"] as? String == "short")
        #expect(object["tier"] as? String == "pro")
        #expect(try JSONDecoder().decode(RoutingDecision.self, from: json) == pro)
        #expect(!String(decoding: json, as: UTF8.self).contains("sk-large"), "no key, no address")
        #expect(!String(decoding: json, as: UTF8.self).contains("example.com"))
    }
}
