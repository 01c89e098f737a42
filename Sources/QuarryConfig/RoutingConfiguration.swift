import Foundation
import QuarryCore
import QuarryRetrieval

/// The `routing` section: which chain of chat models answers `answer: "llm"`, by the caller's
/// tier and, optionally, the shape of the question (`QuestionShape`: short factoid or long
/// analytical). Every key optional, unknown keys refused:
///
/// ```json
/// "routing": {
///   "models": {"small": {"base_url": "http://127.0.0.1:8081/v1", "model": "gemma-3-270m",
///                        "input_cost_per_million": 0, "output_cost_per_million": 0},
///              "large": {"base_url": "https://api.example.com/v1", "api_key": "...", "model": "big-model",
///                        "input_cost_per_million": 2.5, "output_cost_per_million": 10}},
///   "tiers": {"free": {"chain": ["extractive"]},
///             "pro": {"chain": ["large", "small"], "short": ["small", "large"]}},
///   "default": {"chain": ["llm"]}
/// }
/// ```
///
/// A chain names models of `models`, in the order they are tried, and two reserved names:
/// `llm`, the `llm` section's chain (its model, then its fallbacks), and `extractive`, no model:
/// alone it makes every answer of the route extractive; last, after models, it makes the route
/// answer extractively when they all fail (without it, the `llm` section's
/// `fallback_to_extractive` decides). A tier's `short` and `long` chains, when present, take the
/// place of its `chain` for questions of that shape. Tiers without routes, and callers without a
/// tier, use `default` (`{"chain": ["llm"]}` when left out). A model's `base_url` defaults to the
/// `llm` section's, and then so does its `api_key`; a model on another address gets only the key
/// it names.
///
/// Without the section (or with an empty one), nothing is routed: `answer: "llm"` uses the `llm`
/// section's chain, as before routing existed (`makeRouter` returns `nil`).
public struct RoutingConfiguration: Sendable, Equatable, Codable {
    /// The models chains may name, by the name chains use.
    public var models: [String: Model]
    /// The routes of tiers (names of `limits.tiers`) that have their own.
    public var tiers: [String: Routes]
    /// The routes of every other caller (the `default` key); `nil`: `{"chain": ["llm"]}`.
    public var defaultRoutes: Routes?

    /// In a chain: the `llm` section's chain.
    public static let llmChain = "llm"
    /// In a chain: no model (an extractive answer).
    public static let extractive = "extractive"

    /// One model of an OpenAI-compatible chat API: its `base_url` defaults to the `llm`
    /// section's, and then so does its `api_key`; on another address it gets only the key it names.
    public typealias Model = ChatModelEntry

    /// The chains of one tier, or the default ones.
    public struct Routes: Sendable, Equatable, Codable {
        /// The chain for every question without a chain of its shape (required).
        public var chain: [String]
        /// The chain for short questions; `nil`: `chain`.
        public var short: [String]?
        /// The chain for long questions; `nil`: `chain`.
        public var long: [String]?

        enum CodingKeys: String, CodingKey, CaseIterable { case chain, short, long }

        /// Creates routes.
        public init(chain: [String], short: [String]? = nil, long: [String]? = nil) {
            self.chain = chain
            self.short = short
            self.long = long
        }

        /// Decodes routes, refusing unknown keys; a missing `chain` is left empty for `problems`
        /// to name.
        public init(from decoder: any Decoder) throws {
            try UnknownKeys.refuse(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            chain = try c.decodeIfPresent([String].self, forKey: .chain) ?? []
            short = try c.decodeIfPresent([String].self, forKey: .short)
            long = try c.decodeIfPresent([String].self, forKey: .long)
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case models, tiers
        case defaultRoutes = "default"
    }

    /// Creates a section; with no arguments, one that routes nothing.
    public init(models: [String: Model] = [:], tiers: [String: Routes] = [:], defaultRoutes: Routes? = nil) {
        self.models = models
        self.tiers = tiers
        self.defaultRoutes = defaultRoutes
    }

    /// Decodes the section, refusing unknown keys; `problems` checks the values.
    public init(from decoder: any Decoder) throws {
        try UnknownKeys.refuse(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        models = try c.decodeIfPresent([String: Model].self, forKey: .models) ?? [:]
        tiers = try c.decodeIfPresent([String: Routes].self, forKey: .tiers) ?? [:]
        defaultRoutes = try c.decodeIfPresent(Routes.self, forKey: .defaultRoutes)
    }

    /// Whether the section says anything: without it, nothing is routed.
    public var isConfigured: Bool { !models.isEmpty || !tiers.isEmpty || defaultRoutes != nil }

    /// Every problem with the section, one line each, each naming its setting
    /// (`routing.tiers.pro.chain[1]`); empty when it can be used.
    /// - Parameters:
    ///   - path: where the section sits in the configuration file.
    ///   - knownTiers: the tiers the limits section defines (`limits.tiers`); routes for another
    ///     are a typo that would silently never apply. `nil`: not checked.
    ///   - llmConfigured: whether the `llm` section names a model, so that `llm` in a chain, a
    ///     model without `base_url`, and a left-out `default` have something to stand for.
    public func problems(at path: String = "routing", knownTiers: Set<String>?, llmConfigured: Bool) -> [String] {
        guard isConfigured else { return [] }
        var problems: [String] = []
        for name in models.keys.sorted() {
            let model = models[name, default: Model(model: "")]
            let at = "\(path).models.\(name)"
            if name.isEmpty { problems.append("\(path).models: a model needs a name") }
            if [Self.llmChain, Self.extractive].contains(name) {
                problems.append("\(at): '\(name)' is reserved in chains (\(Self.reservedMeaning(name))); give the model another name")
            }
            if model.model.isEmpty { problems.append("\(at).model is required: the model name the service expects") }
            if let text = model.baseURL {
                if Self.httpURL(text) == nil { problems.append("\(at).base_url must be an http(s) URL, got '\(text)'") }
            } else if !llmConfigured {
                problems.append("\(at).base_url is required when no llm section is configured (it defaults to llm.base_url)")
            }
            for (value, key) in [(model.inputCostPerMillion, "input_cost_per_million"), (model.outputCostPerMillion, "output_cost_per_million")] {
                if let value, !(value.isFinite && value >= 0) {
                    problems.append("\(at).\(key) must be a non-negative number of US dollars, got \(value)")
                }
            }
        }
        for name in tiers.keys.sorted() {
            if let knownTiers, !knownTiers.contains(name) {
                let known = knownTiers.isEmpty ? "none are defined" : "known: \(knownTiers.sorted().joined(separator: ", "))"
                problems.append("\(path).tiers.\(name): no such tier in limits.tiers (\(known))")
            }
            problems += routeProblems(tiers[name, default: Routes(chain: [])], at: "\(path).tiers.\(name)", path: path, llmConfigured: llmConfigured)
        }
        if let defaultRoutes {
            problems += routeProblems(defaultRoutes, at: "\(path).default", path: path, llmConfigured: llmConfigured)
        } else if !llmConfigured {
            problems.append(
                "\(path).default is required when no llm section is configured (left out, it is {\"chain\": [\"llm\"]}, the llm section's chain)"
            )
        }
        return problems
    }

    /// Checks the section.
    /// - Throws: `QuarryError(.invalidRequest)` listing every problem.
    public func validate(knownTiers: Set<String>?, llmConfigured: Bool) throws {
        let problems = problems(knownTiers: knownTiers, llmConfigured: llmConfigured)
        if !problems.isEmpty { throw QuarryError(.invalidRequest, problems.joined(separator: "; ")) }
    }

    /// The router this section describes.
    /// - Parameters:
    ///   - llm: the `llm` section's chat settings (`QuarryConfiguration.LLM.settings`); `nil`
    ///     when it names no model. `llm` in a chain stands for its `models`, and models without
    ///     a `base_url` take its primary's address and key.
    ///   - fallbackToExtractive: whether a chain that does not end in `extractive` answers
    ///     extractively when every model fails (the `llm` section's `fallback_to_extractive`).
    /// - Returns: the router; `nil` when the section is not configured (nothing is routed).
    /// - Throws: `QuarryError(.invalidRequest)` listing the problems when the section cannot be
    ///   used (the tiers are not checked here: `problems(knownTiers:llmConfigured:)` does).
    public func makeRouter(llm: ChatSettings?, fallbackToExtractive: Bool = true) throws -> ModelRouter? {
        guard isConfigured else { return nil }
        try validate(knownTiers: nil, llmConfigured: llm != nil)
        let primary = llm?.models.first
        var chatModels: [String: ChatModel] = [:]
        for (name, model) in models {
            guard let baseURL = model.baseURL.flatMap(Self.httpURL) ?? primary?.baseURL else {
                throw QuarryError(.invalidRequest, "routing.models.\(name).base_url is required when no llm section is configured")
            }
            chatModels[name] = ChatModel(
                baseURL: baseURL, apiKey: model.apiKey ?? (model.baseURL == nil ? primary?.apiKey : nil), name: model.model,
                inputCostPerMillion: model.inputCostPerMillion, outputCostPerMillion: model.outputCostPerMillion
            )
        }
        func route(_ chain: [String], named name: String) throws -> ModelRoute {
            var resolved: [ChatModel] = []
            for entry in chain {
                switch entry {
                case Self.llmChain: resolved += llm?.models ?? []
                case Self.extractive: break
                default:
                    guard let model = chatModels[entry] else {
                        throw QuarryError(.invalidRequest, "\(name): no model '\(entry)' in routing.models")
                    }
                    resolved.append(model)
                }
            }
            return ModelRoute(
                name: name, models: resolved, fallbackToExtractive: chain.last == Self.extractive ? true : fallbackToExtractive
            )
        }
        func routes(_ routes: Routes, at path: String) throws -> TierRoutes {
            try TierRoutes(
                chain: route(routes.chain, named: "\(path).chain"), short: routes.short.map { try route($0, named: "\(path).short") },
                long: routes.long.map { try route($0, named: "\(path).long") }
            )
        }
        var tierRoutes: [String: TierRoutes] = [:]
        for (name, tier) in tiers { tierRoutes[name] = try routes(tier, at: "tiers.\(name)") }
        return ModelRouter(
            tiers: tierRoutes, defaultRoutes: try routes(defaultRoutes ?? Routes(chain: [Self.llmChain]), at: "default")
        )
    }

    /// The settings of the chat client that asks the routed chains: the `llm` section's (its
    /// timeouts, retries, `max_tokens`, temperature, and its chain for calls that name none);
    /// when it names no model but routing is configured, the defaults with an empty chain.
    /// `nil` when neither is configured (no LLM answers).
    public func clientSettings(llm: ChatSettings?) -> ChatSettings? {
        llm ?? (isConfigured ? ChatSettings(models: []) : nil)
    }

    private func routeProblems(_ routes: Routes, at path: String, path section: String, llmConfigured: Bool) -> [String] {
        var problems = chainProblems(routes.chain, at: "\(path).chain", section: section, llmConfigured: llmConfigured)
        if let short = routes.short { problems += chainProblems(short, at: "\(path).short", section: section, llmConfigured: llmConfigured) }
        if let long = routes.long { problems += chainProblems(long, at: "\(path).long", section: section, llmConfigured: llmConfigured) }
        return problems
    }

    private func chainProblems(_ chain: [String], at path: String, section: String, llmConfigured: Bool) -> [String] {
        guard !chain.isEmpty else {
            return ["\(path) must name at least one model of \(section).models, \(Self.llmChain) or \(Self.extractive)"]
        }
        var problems: [String] = []
        for (index, entry) in chain.enumerated() {
            let at = "\(path)[\(index)]"
            if chain[..<index].contains(entry) {
                problems.append("\(at): '\(entry)' is already in the chain")
                continue
            }
            switch entry {
            case Self.extractive:
                if index != chain.count - 1 {
                    problems.append(
                        "\(at): \(Self.extractive) may only come last, alone or after models (no model is asked after it)"
                    )
                }
            case Self.llmChain:
                if !llmConfigured { problems.append("\(at): '\(Self.llmChain)' stands for the llm section's chain, and no llm section is configured") }
            default:
                if models[entry] == nil {
                    let known = models.keys.sorted().filter { ![Self.llmChain, Self.extractive].contains($0) } + [Self.llmChain, Self.extractive]
                    problems.append("\(at): no model '\(entry)' in \(section).models (known here: \(known.joined(separator: ", ")))")
                }
            }
        }
        return problems
    }

    private static func reservedMeaning(_ name: String) -> String {
        name == llmChain ? "the llm section's chain" : "no model, an extractive answer"
    }

    /// `text` as an http(s) URL with a host, else `nil`.
    private static func httpURL(_ text: String) -> URL? {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else { return nil }
        return url
    }
}
