import QuarryCore

/// Whether a question asks for a fact or for an analysis: a cheap, deterministic reading of its
/// words that lets a `ModelRouter` send a short factoid to a small model and a long analytical
/// question to a larger one.
///
/// A question is `long` when any of these holds, tried in this order (the first that holds is
/// the reason given):
/// 1. it holds an analytical cue: one of the words `why`, `compare`, `comparison`, `explain`,
///    `difference`, `differ`, `versus`/`vs`, `tradeoff`, `pros`, `cons`, `advantages`,
///    `disadvantages`, `analyse`/`analyze`, `evaluate`, `implications`, `steps`, `describe`
///    (with their inflections), or one of the phrases `trade-off`, `step by step`, `list all`,
///    `list every`, `walk me through`, `what happens when`/`if`, `how does/do … work`;
/// 2. it asks more than one question (two or more `?`);
/// 3. it has more than one clause: sentences or parts ending in `!`, `?` or `;` followed by more
///    text, or in `.` followed by a capital letter, each of at least three words;
/// 4. it has `longWordCount` words or more.
///
/// Anything else is `short`. The cues are English; a question in another language is `short`
/// unless its length or punctuation says otherwise.
public enum QuestionShape: String, Sendable, Codable, CaseIterable {
    /// A factoid: few words, one clause, no analytical cue.
    case short
    /// An analytical question: a cue word, several questions or clauses, or many words.
    case long

    /// Questions of this many words or more are `long`.
    public static let longWordCount = 25

    /// A question's shape and what decided it.
    public struct Reading: Sendable, Equatable {
        /// The shape.
        public var shape: QuestionShape
        /// What decided it, for people: "analytical cue 'why'", "2 questions", "3 clauses",
        /// "31 words", or "6 words, one clause, no analytical cue".
        public var reason: String

        /// Creates a reading.
        public init(shape: QuestionShape, reason: String) {
            self.shape = shape
            self.reason = reason
        }
    }

    /// Words that alone make a question analytical.
    static let cueWords: Set<String> = [
        "why", "compare", "compares", "compared", "comparing", "comparison", "comparisons", "explain", "explains", "explaining",
        "explanation", "difference", "differences", "differ", "differs", "versus", "vs", "tradeoff", "tradeoffs", "pros", "cons",
        "advantages", "disadvantages", "analyse", "analyze", "analysis", "evaluate", "implications", "steps", "describe",
    ]

    /// Runs of words that make a question analytical; each word as `WordFolding.words(of:)` reads
    /// it ("trade-off" is "trade", "off").
    static let cuePhrases: [[String]] = [
        ["trade", "off"], ["trade", "offs"], ["step", "by", "step"], ["list", "all"], ["list", "every"], ["walk", "me", "through"],
        ["what", "happens", "when"], ["what", "happens", "if"],
    ]

    /// Reads `question`'s shape.
    public static func classify(_ question: String) -> Reading {
        let words = WordFolding.words(of: question)
        if let cue = analyticalCue(in: words) { return Reading(shape: .long, reason: "analytical cue '\(cue)'") }
        let questionMarks = question.filter { $0 == "?" }.count
        if questionMarks >= 2 { return Reading(shape: .long, reason: "\(questionMarks) questions") }
        let clauses = clauseCount(question)
        if clauses >= 2 { return Reading(shape: .long, reason: "\(clauses) clauses") }
        if words.count >= longWordCount { return Reading(shape: .long, reason: "\(words.count) words") }
        return Reading(shape: .short, reason: "\(words.count) word\(words.count == 1 ? "" : "s"), one clause, no analytical cue")
    }

    /// The first analytical cue of `words`, as the question spells it (phrases joined by spaces).
    static func analyticalCue(in words: [String]) -> String? {
        for (index, word) in words.enumerated() {
            if cueWords.contains(word) { return word }
            for phrase in cuePhrases where words[index...].starts(with: phrase) {
                return phrase.joined(separator: " ")
            }
            // "how does a checkpoint work", "how do indexes work": a mechanism, not a recipe
            // ("how do I enable foreign keys" is a factoid).
            if word == "how", index + 1 < words.count, ["does", "do"].contains(words[index + 1]),
                words[(index + 2)...].contains(where: { ["work", "works", "working"].contains($0) })
            {
                return "how \(words[index + 1]) … work"
            }
        }
        return nil
    }

    /// Parts of `text` ended by `!`, `?` or `;` before white space, or by `.` before white space
    /// and a capital letter (so that "3.11" and "e.g. 8080" do not split), or by the end; only
    /// parts of at least three words count.
    static func clauseCount(_ text: String) -> Int {
        var count = 0
        var part = ""
        let characters = Array(text)
        for (index, character) in characters.enumerated() {
            part.append(character)
            var ends = false
            if "!?;.".contains(character), index + 1 < characters.count, characters[index + 1].isWhitespace {
                let next = characters[(index + 1)...].first { !$0.isWhitespace }
                ends = character != "." || (next?.isUppercase ?? false)
            }
            if ends || index + 1 == characters.count {
                if WordFolding.words(of: part).count >= 3 { count += 1 }
                part = ""
            }
        }
        return count
    }
}

/// One chain of models a request may be sent to: tried in order, as `ChatClient` tries
/// `ChatSettings.models`; empty for an extractive answer (no model at all).
public struct ModelRoute: Sendable, Equatable {
    /// Where the route is configured, for the response and the logs: `tiers.pro.chain`,
    /// `tiers.pro.short`, `default.chain`.
    public var name: String
    /// The models, in order; empty: answer extractively.
    public var models: [ChatModel]
    /// Whether to answer extractively when every model of the chain failed.
    public var fallbackToExtractive: Bool

    /// Creates a route.
    public init(name: String, models: [ChatModel], fallbackToExtractive: Bool) {
        self.name = name
        self.models = models
        self.fallbackToExtractive = fallbackToExtractive
    }

    /// Whether the route asks no model.
    public var isExtractive: Bool { models.isEmpty }
}

/// The routes of one tier (or the default ones): its chain, and optionally chains for short and
/// long questions that take its place for questions of that shape.
public struct TierRoutes: Sendable, Equatable {
    /// The chain for questions of any shape without a chain of their own.
    public var chain: ModelRoute
    /// The chain for short questions; `nil`: `chain`.
    public var short: ModelRoute?
    /// The chain for long questions; `nil`: `chain`.
    public var long: ModelRoute?

    /// Creates a tier's routes.
    public init(chain: ModelRoute, short: ModelRoute? = nil, long: ModelRoute? = nil) {
        self.chain = chain
        self.short = short
        self.long = long
    }

    /// Whether a question's shape can change the route, so that it is worth reading.
    public var dependsOnShape: Bool { short != nil || long != nil }

    /// The route for questions of `shape`.
    public func route(for shape: QuestionShape) -> ModelRoute? {
        switch shape {
        case .short: short
        case .long: long
        }
    }
}

/// Which chain answered a request's question, and why; returned as is in a response's `routing`
/// object:
///
/// ```json
/// {"tier": "pro", "route": "tiers.pro.short", "models": ["gemma-3-270m", "big-model"],
///  "extractive": false, "fallback_to_extractive": true, "question_shape": "short",
///  "reason": "tier 'pro'; a short question (6 words, one clause, no analytical cue): its short chain"}
/// ```
///
/// It names models as their services know them, never their addresses or keys. `tier` and
/// `question_shape` are `null` when there was no tier, or the shape was not read (the routes
/// chosen have no short or long chain).
public struct RoutingDecision: Sendable, Equatable, Codable {
    /// The caller's tier as the router was given it; `null` when it has none.
    public var tier: String?
    /// The route chosen, by where it is configured (`tiers.pro.short`, `default.chain`).
    public var route: String
    /// The models of the chain, in the order they are tried; empty when `extractive`.
    public var models: [String]
    /// Whether the route asks no model: the answer is extractive.
    public var extractive: Bool
    /// Whether an extractive answer is given when every model fails.
    public var fallbackToExtractive: Bool
    /// The question's shape, when the routes depend on it.
    public var questionShape: QuestionShape?
    /// Why this route, for people.
    public var reason: String

    /// Creates a decision.
    public init(
        tier: String?, route: String, models: [String], extractive: Bool, fallbackToExtractive: Bool,
        questionShape: QuestionShape?, reason: String
    ) {
        self.tier = tier
        self.route = route
        self.models = models
        self.extractive = extractive
        self.fallbackToExtractive = fallbackToExtractive
        self.questionShape = questionShape
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case tier, route, models, extractive, reason
        case fallbackToExtractive = "fallback_to_extractive"
        case questionShape = "question_shape"
    }

    /// Encodes every key, `null` for an absent tier or shape, so that the object has one shape.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tier, forKey: .tier)
        try container.encode(route, forKey: .route)
        try container.encode(models, forKey: .models)
        try container.encode(extractive, forKey: .extractive)
        try container.encode(fallbackToExtractive, forKey: .fallbackToExtractive)
        try container.encode(questionShape, forKey: .questionShape)
        try container.encode(reason, forKey: .reason)
    }
}

/// A router's answer: the decision to report and the chain to pass to
/// `LLMAnswerer.answer(…, models:)` (empty: answer extractively).
public struct ModelSelection: Sendable, Equatable {
    /// What was chosen and why.
    public var decision: RoutingDecision
    /// The chain; empty when `decision.extractive`.
    public var models: [ChatModel]

    /// Creates a selection.
    public init(decision: RoutingDecision, models: [ChatModel]) {
        self.decision = decision
        self.models = models
    }
}

/// Chooses the chain of models for a request from its caller's tier and, when the tier's routes
/// say so, its question's shape (`QuestionShape`). Immutable once built (from the `routing`
/// section of the configuration, `RoutingConfiguration.makeRouter`); one value serves every
/// request, and choosing costs a read of the question's words, no model call.
///
/// - A tier with routes uses them; a tier without, or no tier, uses the default routes.
/// - Within the routes, a question of a shape that has a chain of its own (`short`, `long`)
///   goes to that chain; any other question to the routes' `chain`.
public struct ModelRouter: Sendable, Equatable {
    /// The routes of each tier that has its own.
    public var tiers: [String: TierRoutes]
    /// The routes of tiers without their own, and of callers without a tier.
    public var defaultRoutes: TierRoutes

    /// Creates a router.
    /// - Parameters:
    ///   - tiers: the routes by tier name.
    ///   - defaultRoutes: the routes of every other caller.
    public init(tiers: [String: TierRoutes] = [:], defaultRoutes: TierRoutes) {
        self.tiers = tiers
        self.defaultRoutes = defaultRoutes
    }

    /// The chain for a request.
    /// - Parameters:
    ///   - tier: the caller's effective tier: its key's, else its tenant's, else the configured
    ///     default tier (`EffectiveLimits.tier`); `nil` when none applies.
    ///   - question: the question as asked (read only when the routes depend on its shape).
    /// - Returns: the decision, and the chain to ask.
    /// Whether every route of `tier` (its chain and its short and long chains) answers
    /// extractively: then no question of that tier calls a model.
    public func answersExtractively(tier: String?) -> Bool {
        let routes = tier.flatMap { tiers[$0] } ?? defaultRoutes
        return [routes.chain, routes.short, routes.long].compactMap { $0 }.allSatisfy(\.isExtractive)
    }

    public func route(tier: String?, question: String) -> ModelSelection {
        let routes: TierRoutes
        var reason: String
        if let tier, let own = tiers[tier] {
            routes = own
            reason = "tier '\(tier)'"
        } else {
            routes = defaultRoutes
            reason = tier.map { "tier '\($0)' has no routes: the default routes" } ?? "no tier: the default routes"
        }
        var route = routes.chain
        var shape: QuestionShape?
        if routes.dependsOnShape {
            let reading = QuestionShape.classify(question)
            shape = reading.shape
            if let own = routes.route(for: reading.shape) {
                route = own
                reason += "; a \(reading.shape.rawValue) question (\(reading.reason)): its \(reading.shape.rawValue) chain"
            } else {
                reason += "; a \(reading.shape.rawValue) question (\(reading.reason)), no \(reading.shape.rawValue) chain: its chain"
            }
        } else {
            reason += "; its chain"
        }
        if route.isExtractive { reason += ", extractive (no model)" }
        let decision = RoutingDecision(
            tier: tier, route: route.name, models: route.models.map(\.name), extractive: route.isExtractive,
            fallbackToExtractive: route.fallbackToExtractive, questionShape: shape, reason: reason
        )
        return ModelSelection(decision: decision, models: route.models)
    }
}
