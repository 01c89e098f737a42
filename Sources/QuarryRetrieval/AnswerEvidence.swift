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
    public static let defaultThreshold = 0.13

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
    /// The rarity-weighted share of the question's content words found in one sentence: the
    /// answer's best sentence, or without an answer the passages' best. A word weighs by its
    /// inverse frequency among the passages' sentences, so a rare word of the question missing
    /// from the sentence counts more than a word every passage has.
    public var sentenceCoverage: Double
    /// The share of the question's names (its capitalised words after the first, and its
    /// numbers) found in the passage that best covers it, 1 when it names nothing: a question
    /// that swaps in another entity or year than the passage's is not answered by it.
    public var nameCoverage: Double
    /// How many content words the question has (a question of one or two words says little).
    public var questionTerms: Int
    /// The calibrated probability that the documents answer the question (0…1).
    public var confidence: Double

    enum CodingKeys: String, CodingKey {
        case coverage, agreement, confidence
        case denseSimilarity = "dense_similarity"
        case answerCoverage = "answer_coverage"
        case sentenceCoverage = "sentence_coverage"
        case nameCoverage = "name_coverage"
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
        public var sentenceCoverage: Double
        public var nameCoverage: Double
        /// The lexical-only model's (no dense similarity to go on).
        public var lexicalBias: Double
        public var lexicalCoverage: Double
        public var lexicalAnswerCoverage: Double
        /// The embedding model whose similarities `dense` was fitted on: another model's cosine
        /// has another scale, so its queries are judged by the lexical-only model.
        public var denseModel: String

        public init(
            bias: Double, dense: Double, coverage: Double, answerCoverage: Double, agreement: Double, sentenceCoverage: Double = 0,
            nameCoverage: Double = 0, lexicalBias: Double, lexicalCoverage: Double, lexicalAnswerCoverage: Double, denseModel: String
        ) {
            self.denseModel = denseModel
            self.bias = bias
            self.dense = dense
            self.coverage = coverage
            self.answerCoverage = answerCoverage
            self.agreement = agreement
            self.sentenceCoverage = sentenceCoverage
            self.nameCoverage = nameCoverage
            self.lexicalBias = lexicalBias
            self.lexicalCoverage = lexicalCoverage
            self.lexicalAnswerCoverage = lexicalAnswerCoverage
        }

        /// The calibrated weights. The dense model leaves the plain coverages out (0): beside the
        /// sentence coverage they only took negative weights for no gain on the tune side.
        public static let calibrated = Weights(
            bias: -9.838, dense: 9.335, coverage: 0, answerCoverage: 0, agreement: 1.299, sentenceCoverage: 3.289, nameCoverage: 1.984,
            lexicalBias: -4.807, lexicalCoverage: 5.140, lexicalAnswerCoverage: 0.541, denseModel: "all-MiniLM-L6-v2"
        )
    }

    /// The evidence for `question` from the passages `citations` (best first), the search hits
    /// they were assembled from, and the answer, if one was written.
    /// - Parameter model: the embedding model of the dense scores (`nil`: the calibrated one).
    public static func assess(
        question: String, hits: [SearchHit], citations: [Citation], mode: SearchMode, answer: String?, model: String? = nil,
        weights: Weights = .calibrated, reading: Reading? = nil
    ) -> AnswerEvidence {
        let reading = reading.flatMap { $0.question == question && $0.texts == citations.map(\.text) ? $0 : nil }
            ?? Reading(question: question, citations: citations)
        let (terms, names, vocabulary, read) = (reading.terms, reading.names, reading.vocabulary, reading.passages)
        let passages = read.map(\.words)
        let coverage = passages.map { share(of: terms, in: $0) }.max() ?? 0
        let answerRead = answer.map { Sentences(of: CitationMarkers.blanking(in: $0), keeping: vocabulary) }
        let answerCoverage = answerRead.map { share(of: terms, in: $0.words) }

        let passageSentences = read.flatMap(\.sentences)
        let rarity = Rarity(terms: terms, sentences: passageSentences)
        let sentenceCoverage = (answerRead?.sentences ?? passageSentences).map(rarity.share).max() ?? 0
        let best = passages.indices.max { (rarity.share(passages[$0]), -$0) < (rarity.share(passages[$1]), -$1) }
        let nameCoverage = names.isEmpty ? 1 : best.map { share(of: names, in: passages[$0]) } ?? 0

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
            z += weights.sentenceCoverage * sentenceCoverage + weights.nameCoverage * nameCoverage
        } else {
            z = weights.lexicalBias + weights.lexicalCoverage * coverage + weights.lexicalAnswerCoverage * (answerCoverage ?? coverage)
        }
        return AnswerEvidence(
            denseSimilarity: dense, coverage: coverage, answerCoverage: answerCoverage, agreement: agreement,
            sentenceCoverage: sentenceCoverage, nameCoverage: nameCoverage, questionTerms: terms.count,
            confidence: citations.isEmpty || terms.isEmpty ? 0 : 1 / (1 + exp(-z))
        )
    }

    /// A question and its passages, read once for the question's words: what both assessments
    /// of a query (before the answer is written and after) share, so the passages are not read
    /// twice.
    public struct Reading: Sendable {
        let question: String
        let texts: [String]
        let terms: Set<String>
        let names: Set<String>
        let vocabulary: Set<String>
        let passages: [Sentences]

        /// Reads `citations` for the words of `question`.
        public init(question: String, citations: [Citation]) {
            self.question = question
            texts = citations.map(\.text)
            terms = AnswerEvidence.contentSet(question)
            names = AnswerEvidence.names(of: question)
            // Only the question's words are ever compared, so only they are kept.
            vocabulary = terms.union(names)
            passages = citations.map { [vocabulary] in Sentences(of: $0.text, keeping: vocabulary) }
        }
    }

    /// The share of `terms` among the content words `found`.
    static func share(of terms: Set<String>, in found: Set<String>) -> Double {
        guard !terms.isEmpty else { return 0 }
        return Double(terms.intersection(found).count) / Double(terms.count)
    }

    /// The content words of `text` (stop words of a question left out, inflections folded).
    static func contentSet(_ text: String) -> Set<String> {
        Set(WordFolding.contentWords(of: text, ignoring: StopWords.question))
    }

    /// The words of `vocabulary` a text holds, whole and by sentence.
    struct Sentences: Sendable {
        /// The vocabulary's words in the whole text.
        var words = Set<String>()
        /// The vocabulary's words in each sentence, as the extractive answerer reads sentences:
        /// paragraph by paragraph, fragments of fewer than four words (headings, labels) left out.
        var sentences: [Set<String>] = []

        /// Whether `sentence` has at least four runs of non-white-space (as splitting it on white
        /// space would count), without splitting it.
        static func hasFourWords(_ sentence: String) -> Bool {
            var count = 0
            var inWord = false
            for scalar in sentence.unicodeScalars {
                let space = scalar.isASCII ? (scalar == " " || ("\t"..."\r").contains(scalar)) : scalar.properties.isWhitespace
                if space {
                    inWord = false
                } else if !inWord {
                    inWord = true
                    count += 1
                    if count == 4 { return true }
                }
            }
            return false
        }

        /// Reads `text` for the (folded) content words in `vocabulary`: as comparing the text's
        /// whole content-word sets with the question's would find, at a fraction of the cost.
        init(of text: String, keeping vocabulary: Set<String>) {
            for sentence in SentenceSplitter.passageSentences(text) {
                var found = Set<String>()
                for word in WordFolding.words(of: sentence) where !StopWords.question.contains(word) {
                    let folded = WordFolding.fold(word)
                    if vocabulary.contains(folded) { found.insert(folded) }
                }
                words.formUnion(found)
                if Self.hasFourWords(sentence) { sentences.append(found) }
            }
        }
    }

    /// The names of `question`, folded as content words: the words of its tokens that hold a
    /// digit or start with a capital letter (but not its first token, capitalised anyway).
    /// Tokens are runs of letters, digits and hyphens, so "Cergy-Pontoise" is one name and the
    /// "s" of "Beyoncé's" none.
    static func names(of question: String) -> Set<String> {
        let tokens = question.split { !($0.isLetter || $0.isNumber || $0 == "-") }
        var names = Set<String>()
        for (index, token) in tokens.enumerated() where token.contains(where: \.isNumber) || (index > 0 && token.first?.isUppercase == true) {
            names.formUnion(WordFolding.contentWords(of: String(token), ignoring: StopWords.question))
        }
        return names
    }

    /// The rarity weights of a question's terms among the sentences of the passages in hand: the
    /// inverse sentence frequency `log(1 + n / (df + 0.5))`, so a term no sentence has weighs most.
    struct Rarity {
        let weights: [String: Double]
        let total: Double

        init(terms: Set<String>, sentences: [Set<String>]) {
            let count = Double(sentences.count)
            var weights: [String: Double] = [:]
            for term in terms {
                let frequency = Double(sentences.reduce(0) { $0 + ($1.contains(term) ? 1 : 0) })
                weights[term] = log(1 + count / (frequency + 0.5))
            }
            self.weights = weights
            total = weights.values.reduce(0, +)
        }

        /// The weighted share of the terms among the content words `found`.
        func share(_ found: Set<String>) -> Double {
            guard total > 0 else { return 0 }
            return weights.reduce(0) { $0 + (found.contains($1.key) ? $1.value : 0) } / total
        }
    }
}
