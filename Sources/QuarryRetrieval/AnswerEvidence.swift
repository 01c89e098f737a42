import Foundation
import QuarryCore

/// Why an answer was withheld.
public enum AbstentionReason: String, Sendable, Codable, Hashable {
    /// No retrieved passage matches the question well enough to answer it.
    case noRelevantPassage = "no_relevant_passage"
    /// Passages were found, but the answer written from them is not supported by what it cites
    /// (an LLM answer that failed the citation check, or said the documents do not answer).
    case unsupportedAnswer = "unsupported_answer"
    /// A guard refused the question or every passage (prompt injection, personal data).
    case guardrail
}

/// When a query may abstain: `auto` withholds an answer whose evidence falls below `threshold`;
/// `never` always answers (the evidence is still reported).
public struct AbstentionPolicy: Sendable, Hashable, Codable {
    /// Whether the answerer may abstain.
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
        case auto, never
    }

    /// Whether the answerer may abstain.
    public var mode: Mode
    /// The confidence (0…1, see `AnswerEvidence.confidence`) below which it does.
    public var threshold: Double

    /// The calibrated default threshold (see docs/guardrails.md#abstention).
    public static let defaultThreshold = 0.24

    /// Creates a policy.
    public init(mode: Mode = .auto, threshold: Double = AbstentionPolicy.defaultThreshold) {
        self.mode = mode
        self.threshold = threshold
    }

    /// Checks the threshold is a probability.
    /// - Throws: `QuarryError(.invalidRequest)`.
    public func validate() throws {
        guard threshold.isFinite, (0...1).contains(threshold) else {
            throw QuarryError(.invalidRequest, "abstain_threshold must be between 0 and 1, got \(threshold)")
        }
    }
}

/// The abstention policies of a server: a default and per-collection ones (by the store's
/// collection name), from the configuration's `abstention` section.
public struct AbstentionPolicies: Sendable, Hashable {
    /// The policy of collections not named.
    public var `default`: AbstentionPolicy
    /// Policies by store collection name.
    public var collections: [String: AbstentionPolicy]

    /// Creates policies; with no arguments, the calibrated default for every collection.
    public init(default: AbstentionPolicy = AbstentionPolicy(), collections: [String: AbstentionPolicy] = [:]) {
        self.default = `default`
        self.collections = collections
    }
}

/// What a query's retrieval (and answer) say about whether the documents answer the question:
/// a few cheap, deterministic features and the confidence a calibrated logistic model gives
/// them. Computed from the passages already in hand — no model call, microseconds a query.
public struct AnswerEvidence: Sendable, Hashable, Codable {
    /// Cosine similarity of the question to the best passage found by dense search (`nil` when
    /// the query ran lexical search only).
    public var denseSimilarity: Double?
    /// The share of the question's content words (stop words left out, inflections folded)
    /// found in the best-covering passage.
    public var coverage: Double
    /// The share of the question's content words found in the answer's sentences (`nil`
    /// without an answer).
    public var answerCoverage: Double?
    /// Whether the best passage was found by both retrievers of a hybrid search (1), or one (0).
    public var agreement: Double
    /// How many content words the question has (a question of one or two words says little).
    public var questionTerms: Int
    /// The calibrated probability that the documents answer the question (0…1).
    public var confidence: Double

    enum CodingKeys: String, CodingKey {
        case coverage, agreement, confidence
        case denseSimilarity = "dense_similarity"
        case answerCoverage = "answer_coverage"
        case questionTerms = "question_terms"
    }

    /// The weights of the logistic model over the features, fitted on the calibration split
    /// (see `Benchmarks/abstention/` and docs/guardrails.md#abstention).
    public struct Weights: Sendable, Hashable {
        public var bias: Double
        public var dense: Double
        public var coverage: Double
        public var answerCoverage: Double
        public var agreement: Double
        /// The lexical-only model's (no dense similarity to go on).
        public var lexicalBias: Double
        public var lexicalCoverage: Double
        public var lexicalAnswerCoverage: Double
        /// The embedding model whose similarities `dense` was fitted on: another model's cosine
        /// has another scale, so its queries are judged by the lexical-only model.
        public var denseModel: String

        public init(
            bias: Double, dense: Double, coverage: Double, answerCoverage: Double, agreement: Double, lexicalBias: Double,
            lexicalCoverage: Double, lexicalAnswerCoverage: Double, denseModel: String
        ) {
            self.denseModel = denseModel
            self.bias = bias
            self.dense = dense
            self.coverage = coverage
            self.answerCoverage = answerCoverage
            self.agreement = agreement
            self.lexicalBias = lexicalBias
            self.lexicalCoverage = lexicalCoverage
            self.lexicalAnswerCoverage = lexicalAnswerCoverage
        }

        /// The calibrated weights.
        public static let calibrated = Weights(
            bias: -8.749, dense: 9.457, coverage: 1.481, answerCoverage: 1.607, agreement: 1.378, lexicalBias: -4.114,
            lexicalCoverage: 5.140, lexicalAnswerCoverage: 0.541, denseModel: "all-MiniLM-L6-v2"
        )
    }

    /// The evidence for `question` from the passages `citations` (best first), the search hits
    /// they were assembled from, and the answer, if one was written.
    /// - Parameter model: the embedding model of the dense scores (`nil`: the calibrated one).
    public static func assess(
        question: String, hits: [SearchHit], citations: [Citation], mode: SearchMode, answer: String?, model: String? = nil,
        weights: Weights = .calibrated
    ) -> AnswerEvidence {
        let terms = Set(WordFolding.contentWords(of: question, ignoring: StopWords.question))
        let coverage = citations.map { share(of: terms, in: $0.text) }.max() ?? 0
        let answerCoverage = answer.map { share(of: terms, in: CitationMarkers.removing(from: $0)) }
        let dense: Double?
        switch mode {
        case .lexical: dense = nil
        case .dense: dense = hits.map { Double($0.score) }.max() ?? 0
        case .hybrid: dense = hits.compactMap { $0.denseScore.map(Double.init) }.max() ?? 0
        }
        let agreement: Double = mode == .hybrid && hits.first.map { $0.denseScore != nil && $0.lexicalScore != nil } == true ? 1 : 0
        var z: Double
        if let dense, model.map({ $0 == weights.denseModel }) ?? true {
            z = weights.bias + weights.dense * dense + weights.coverage * coverage + weights.agreement * agreement
            z += weights.answerCoverage * (answerCoverage ?? coverage)
        } else {
            z = weights.lexicalBias + weights.lexicalCoverage * coverage + weights.lexicalAnswerCoverage * (answerCoverage ?? coverage)
        }
        return AnswerEvidence(
            denseSimilarity: dense, coverage: coverage, answerCoverage: answerCoverage, agreement: agreement,
            questionTerms: terms.count, confidence: citations.isEmpty || terms.isEmpty ? 0 : 1 / (1 + exp(-z))
        )
    }

    /// The share of `terms` among the content words of `text`.
    static func share(of terms: Set<String>, in text: String) -> Double {
        guard !terms.isEmpty else { return 0 }
        let found = Set(WordFolding.contentWords(of: text, ignoring: StopWords.question))
        return Double(terms.intersection(found).count) / Double(terms.count)
    }
}
