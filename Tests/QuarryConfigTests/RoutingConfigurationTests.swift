import Foundation
import QuarryConfig
import QuarryCore
import QuarryRetrieval
import Testing

/// The `routing` section: read with unknown keys refused, checked with one message per problem,
/// and turned into a `ModelRouter`.
@Suite struct RoutingConfigurationTests {
    /// The section as it sits in a configuration file, so that messages carry its path.
    private struct File: Decodable {
        var routing: RoutingConfiguration
    }

    static func routing(_ json: String) throws -> RoutingConfiguration {
        try JSONDecoder().decode(File.self, from: Data(#"{"routing": \#(json)}"#.utf8)).routing
    }

    static let example = #"""
        {"models": {"small": {"base_url": "http://127.0.0.1:8081/v1", "model": "gemma-3-270m",
                              "input_cost_per_million": 0, "output_cost_per_million": 0},
                    "large": {"base_url": "https://api.example.com/v1", "api_key": "sk-large", "model": "big-model",
                              "input_cost_per_million": 2.5, "output_cost_per_million": 10}},
         "tiers": {"free": {"chain": ["extractive"]},
                   "pro": {"chain": ["large", "small"], "short": ["small", "large"]}},
         "default": {"chain": ["llm"]}}
        """#

    /// The `llm` section's settings: a primary on its own address, with a key.
    static func llm() throws -> ChatSettings {
        ChatSettings(models: [ChatModel(baseURL: try #require(URL(string: "http://127.0.0.1:8000/v1")), apiKey: "sk-llm", name: "qwen")])
    }

    @Test func theExampleIsReadCheckedAndRouted() throws {
        let routing = try Self.routing(Self.example)
        #expect(routing.problems(knownTiers: ["free", "pro"], llmConfigured: true) == [])
        let llm = try Self.llm()
        let router = try #require(try routing.makeRouter(llm: llm, fallbackToExtractive: false))
        let small = ChatModel(
            baseURL: try #require(URL(string: "http://127.0.0.1:8081/v1")), name: "gemma-3-270m", inputCostPerMillion: 0, outputCostPerMillion: 0
        )
        let large = ChatModel(
            baseURL: try #require(URL(string: "https://api.example.com/v1")), apiKey: "sk-large", name: "big-model", inputCostPerMillion: 2.5,
            outputCostPerMillion: 10
        )
        #expect(
            router
                == ModelRouter(
                    tiers: [
                        "free": TierRoutes(chain: ModelRoute(name: "tiers.free.chain", models: [], fallbackToExtractive: true)),
                        "pro": TierRoutes(
                            chain: ModelRoute(name: "tiers.pro.chain", models: [large, small], fallbackToExtractive: false),
                            short: ModelRoute(name: "tiers.pro.short", models: [small, large], fallbackToExtractive: false)
                        ),
                    ],
                    defaultRoutes: TierRoutes(chain: ModelRoute(name: "default.chain", models: llm.models, fallbackToExtractive: false))
                )
        )
        #expect(router.route(tier: "pro", question: "Who wrote SQLite?").decision.models == ["gemma-3-270m", "big-model"])
        #expect(router.route(tier: "free", question: "Who wrote SQLite?").decision.extractive)
        #expect(router.route(tier: nil, question: "Who wrote SQLite?").models == llm.models)
    }

    @Test func withoutTheSectionNothingIsRouted() throws {
        for routing in [RoutingConfiguration(), try Self.routing("{}")] {
            #expect(!routing.isConfigured)
            #expect(routing.problems(knownTiers: [], llmConfigured: false) == [])
            #expect(try routing.makeRouter(llm: nil) == nil)
            #expect(try routing.makeRouter(llm: Self.llm()) == nil)
            #expect(routing.clientSettings(llm: nil) == nil)
        }
        #expect(try Self.routing(Self.example).clientSettings(llm: nil) == ChatSettings(models: []))
        #expect(try Self.routing(Self.example).clientSettings(llm: Self.llm()) == Self.llm())
    }

    @Test(arguments: [
        (#"{"modles": {}}"#, "unknown setting 'routing.modles' (known here: default, models, tiers)"),
        (
            #"{"models": {"small": {"model": "m", "url": "http://x"}}}"#,
            "unknown setting 'routing.models.small.url' (known here: api_key, base_url, input_cost_per_million, model, output_cost_per_million)"
        ),
        (#"{"tiers": {"pro": {"chains": ["llm"]}}}"#, "unknown setting 'routing.tiers.pro.chains' (known here: chain, long, short)"),
        (#"{"default": {"chain": ["llm"], "medium": []}}"#, "unknown setting 'routing.default.medium' (known here: chain, long, short)"),
    ])
    func unknownKeysAreRefused(json: String, message: String) {
        #expect {
            try Self.routing(json)
        } throws: { error in
            (error as? QuarryError)?.message == message
        }
    }

    @Test func everyProblemIsListedWithItsSetting() throws {
        let routing = try Self.routing(
            #"""
            {"models": {"small": {"base_url": "ftp://host/v1", "model": "gemma", "input_cost_per_million": -1},
                        "nameless": {"base_url": "http://127.0.0.1:1/v1"},
                        "extractive": {"base_url": "http://127.0.0.1:1/v1", "model": "m"}},
             "tiers": {"pro": {"chain": ["extractive", "small"], "short": ["small", "small"], "long": ["lage"]},
                       "gold": {"chain": []}, "free": {}},
             "default": {"chain": ["small", "extractive"]}}
            """#
        )
        #expect(
            routing.problems(knownTiers: ["free", "pro"], llmConfigured: true) == [
                "routing.models.extractive: 'extractive' is reserved in chains (no model, an extractive answer); give the model another name",
                "routing.models.nameless.model is required: the model name the service expects",
                "routing.models.small.base_url must be an http(s) URL, got 'ftp://host/v1'",
                "routing.models.small.input_cost_per_million must be a non-negative number of US dollars, got -1.0",
                "routing.tiers.free.chain must name at least one model of routing.models, llm or extractive",
                "routing.tiers.gold: no such tier in limits.tiers (known: free, pro)",
                "routing.tiers.gold.chain must name at least one model of routing.models, llm or extractive",
                "routing.tiers.pro.chain[0]: extractive may only come last, alone or after models (no model is asked after it)",
                "routing.tiers.pro.short[1]: 'small' is already in the chain",
                "routing.tiers.pro.long[0]: no model 'lage' in routing.models (known here: nameless, small, llm, extractive)",
            ]
        )
        #expect(routing.problems(knownTiers: nil, llmConfigured: true).count == 9, "nil: the tiers are not checked")
        #expect(routing.problems(knownTiers: [], llmConfigured: true).contains("routing.tiers.free: no such tier in limits.tiers (none are defined)"))
        #expect {
            try routing.makeRouter(llm: Self.llm())
        } throws: { error in
            let message = (error as? QuarryError)?.message ?? ""
            return message.hasPrefix("routing.models.extractive: 'extractive' is reserved") && message.contains("; routing.tiers.pro.long[0]: no model 'lage'")
        }
    }

    @Test func withoutAnLLMSectionTheChainsMustNotLeanOnIt() throws {
        let routing = try Self.routing(
            #"""
            {"models": {"large": {"model": "big-model"}},
             "tiers": {"pro": {"chain": ["large", "llm"]}}}
            """#
        )
        #expect(
            routing.problems(knownTiers: ["pro"], llmConfigured: false) == [
                "routing.models.large.base_url is required when no llm section is configured (it defaults to llm.base_url)",
                "routing.tiers.pro.chain[1]: 'llm' stands for the llm section's chain, and no llm section is configured",
                #"routing.default is required when no llm section is configured (left out, it is {"chain": ["llm"]}, the llm section's chain)"#,
            ]
        )
        #expect(routing.problems(knownTiers: ["pro"], llmConfigured: true) == [])
        #expect(throws: QuarryError.self) { try routing.makeRouter(llm: nil) }
    }

    @Test func aModelWithoutAnAddressTakesTheLLMSectionsAddressAndKey() throws {
        let routing = try Self.routing(
            #"""
            {"models": {"same": {"model": "qwen-small"},
                        "keyed": {"model": "qwen-keyed", "api_key": "sk-own"},
                        "elsewhere": {"base_url": "http://127.0.0.1:9000/v1", "model": "other"}},
             "default": {"chain": ["same", "keyed", "elsewhere"]}}
            """#
        )
        let router = try #require(try routing.makeRouter(llm: Self.llm()))
        let models = router.defaultRoutes.chain.models
        #expect(models.map(\.baseURL.absoluteString) == ["http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1", "http://127.0.0.1:9000/v1"])
        #expect(models.map(\.apiKey) == ["sk-llm", "sk-own", nil], "the llm section's key never goes to another address")
    }

    @Test func extractiveLastMakesTheRouteFallBack() throws {
        let routing = try Self.routing(
            #"""
            {"models": {"large": {"model": "big-model"}},
             "tiers": {"pro": {"chain": ["large", "extractive"], "long": ["large"]}},
             "default": {"chain": ["extractive"]}}
            """#
        )
        #expect(routing.problems(knownTiers: ["pro"], llmConfigured: true) == [])
        for llmFallback in [false, true] {
            let router = try #require(try routing.makeRouter(llm: Self.llm(), fallbackToExtractive: llmFallback))
            let pro = try #require(router.tiers["pro"])
            #expect(pro.chain.fallbackToExtractive == true)
            #expect(pro.chain.models.map(\.name) == ["big-model"])
            #expect(pro.long?.fallbackToExtractive == llmFallback, "without extractive last, the llm section decides")
            #expect(router.defaultRoutes.chain.isExtractive)
        }
    }
}
