import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryRetrieval

/// Scores answers to a QA file against the passages they cite, deterministically: is every
/// answer sentence supported by a sentence of the context, does every citation point to a passage
/// that supports its sentence, did the relevant documents reach the context, and how close is the
/// answer to the reference (SQuAD F1 and exact match).
///
/// A sentence is matched against every sentence of the context (the sentences of all citations'
/// texts) by two signals, and its best match decides:
/// - the cosine similarity of their embeddings;
/// - K-Precision: the share of the answer sentence's content words (see `contentWords(of:)`)
///   that occur in the context sentence.
/// Citation markers (`[2]`) are removed before a sentence is scored.
public struct FaithfulnessScorer: Sendable {
    /// When a sentence counts as supported by one context sentence.
    ///
    /// A context sentence supports an answer sentence when
    /// 1. `cosine ≥ self.cosine` and `overlap ≥ self.overlap` (with `rule == .both`), or either of
    ///    them (with `.either`);
    /// 2. every number of the answer sentence occurs in the context sentence (`checksNumbers`): a
    ///    copied sentence with a changed number keeps its cosine and all but one word;
    /// 3. they agree on what is negated (`checksNegation`): the word a negation (`not`, `no`,
    ///    `never`, `n't`, `cannot`, `unless`, ...) applies to is taken to be the first content word
    ///    within the next three words; the answer sentence may negate only words the context
    ///    sentence negates, and may not use without negation a word the context sentence negates.
    ///    Negation words are stop words of the overlap and barely move MiniLM's cosine, so
    ///    polarity is checked on its own; scoping it to the negated word
    ///    keeps a partial copy of a sentence whose other clause is negated supported.
    ///
    /// **Calibration.** `calibrated` was chosen on the 85 hand-labelled sentence/context pairs of
    /// `Tests/QuarryEvalTests/Fixtures/faithfulness-labels.jsonl` (39 supported, 46 not; SQLite
    /// pages and SciFact abstracts: verbatim and partial copies, paraphrases, copies with a changed
    /// number, negation or entity, related but unsupported claims, unrelated sentences) with the
    /// real all-MiniLM-L6-v2, by a grid search over cosine {0, 0.40, 0.45, …, 0.95} × overlap
    /// {0, 0.30, 0.35, …, 1.00} under both rules; to repeat it, `QUARRY_CALIBRATE=1
    /// .build/debug/QuarryPackageTests.xctest --testing-library swift-testing --filter gridSearch`.
    /// See `calibrated` for the result.
    public struct Thresholds: Sendable, Equatable {
        /// How the two thresholds combine.
        public enum Rule: String, Sendable, Equatable, CaseIterable {
            /// Both the cosine and the overlap must reach their thresholds.
            case both
            /// Either is enough.
            case either
        }

        /// The least cosine similarity of the embeddings.
        public var cosine: Double
        /// The least share of the answer sentence's content words found in the context sentence.
        public var overlap: Double
        /// How `cosine` and `overlap` combine.
        public var rule: Rule
        /// Whether every number of the answer sentence must occur in the context sentence.
        public var checksNumbers: Bool
        /// Whether answer and context sentence must agree on containing a negation.
        public var checksNegation: Bool

        /// Creates thresholds.
        public init(cosine: Double, overlap: Double, rule: Rule = .both, checksNumbers: Bool = true, checksNegation: Bool = true) {
            self.cosine = cosine
            self.overlap = overlap
            self.rule = rule
            self.checksNumbers = checksNumbers
            self.checksNegation = checksNegation
        }

        /// The thresholds calibrated on the labelled pairs: cosine ≥ 0.85 **or** overlap ≥ 0.95,
        /// numbers and negation checked. Accuracy on the 85 labels: 0.871 (74 right; 34 of 39
        /// supported pairs accepted, 40 of 46 unsupported rejected).
        ///
        /// Why this rule: a sentence is supported when one context sentence holds all its content
        /// words (with fewer than 20 of them, 0.95 means all), or when MiniLM puts it at
        /// paraphrase distance from one. Near-copies with one word changed (an entity, a
        /// quantity) score as high on both signals as true paraphrases, often higher (cosine
        /// 0.62–0.98, overlap 0.67–1.00; the paraphrases the rule misses: cosine 0.73–0.76,
        /// overlap 0.50–0.80), so no pair of lower thresholds separates them; requiring full
        /// coverage below cosine 0.85 rejects most changed words and costs five loose paraphrases. The best `.both` setting (cosine ≥ 0.75, overlap
        /// 0.40–0.65) reaches 0.835, cosine alone (≥ 0.85) 0.835, overlap alone (≥ 0.90) 0.812;
        /// neighbours of the chosen point score 0.847–0.859. Without the negation check the
        /// chosen thresholds reach 0.788, without the number check 0.812.
        /// What still passes: swapped or changed entities with high overlap ("subset of the
        /// columns" for "rows", "primate" for "rodent"), an antonym ("enabled" for "disabled"),
        /// a quantity in words ("half" for "twice"); an LLM judge is the tool for those. The
        /// scorer is conservative: a free paraphrase counts as unsupported, so it under-rates
        /// paraphrasing LLM answers more than extractive ones.
        public static let calibrated = Thresholds(cosine: 0.85, overlap: 0.95, rule: .either)

        /// Whether a match with these signals passes (numbers and negation aside).
        public func passes(cosine: Double, overlap: Double) -> Bool {
            switch rule {
            case .both: return cosine >= self.cosine && overlap >= self.overlap
            case .either: return cosine >= self.cosine || overlap >= self.overlap
            }
        }

        /// The thresholds as the report records them: `cosine`, `overlap`, and 1 or 0 for
        /// `require_both`, `check_numbers` and `check_negation`.
        public var values: [String: Double] {
            [
                "cosine": cosine, "overlap": overlap, "require_both": rule == .both ? 1 : 0,
                "check_numbers": checksNumbers ? 1 : 0, "check_negation": checksNegation ? 1 : 0,
            ]
        }
    }

    /// How one answer sentence matched its best context sentence.
    public struct Match: Sendable, Equatable {
        /// Whether that context sentence supports the answer sentence.
        public var supported: Bool
        /// Cosine similarity of the embeddings.
        public var cosine: Double
        /// K-Precision of the content words.
        public var overlap: Double
        /// The context sentence (empty when there was none).
        public var context: String
    }

    /// The model sentences are embedded with.
    public let embedder: any Embedder
    /// When a sentence is supported.
    public let thresholds: Thresholds

    /// Creates a scorer.
    public init(embedder: any Embedder, thresholds: Thresholds = .calibrated) {
        self.embedder = embedder
        self.thresholds = thresholds
    }

    /// Scores one answer.
    ///
    /// - Faithfulness: supported answer sentences / answer sentences (1 when there is none). An
    ///   abstention (`grounded == false` and the answer is `Retriever.noAnswer`) has no sentences,
    ///   faithfulness 1 and citation precision 1.
    /// - Citation precision: over every distinct `[n]` of every sentence, whether passage `n` alone
    ///   supports the sentence (a number naming no citation does not); 1 when there is none.
    /// - Context recall: the share of `relevantDocIDs` cited (1 when there are none; `summarize`
    ///   leaves such questions out of the mean).
    /// - Answer F1 and exact match as SQuAD computes them (see `AnswerCorrectness`); citation
    ///   markers are removed from the answer first, and an abstention answers "".
    /// - Throws: `QuarryError` when the model fails.
    public func score(item: QAItem, result: QueryResult) async throws -> QAQuestionEvaluation {
        try await score(item: item, answer: result.answer, grounded: result.grounded, citations: result.citations)
    }

    /// Scores one answer given as its parts (for example from a `/query` response), as
    /// `score(item:result:)` does.
    /// - Throws: `QuarryError` when the model fails.
    public func score(item: QAItem, answer: String, grounded: Bool, citations: [Citation]) async throws -> QAQuestionEvaluation {
        let abstained = Self.isAbstention(answer: answer, grounded: grounded)
        var verdicts: [SentenceVerdict] = []
        if !abstained {
            let sentences = Self.answerSentences(answer)
            let passages = Dictionary(citations.map { ($0.id, Self.contextSentences(of: $0.text)) }, uniquingKeysWith: { first, _ in first })
            let allContext = citations.flatMap { passages[$0.id] ?? [] }
            let texts = sentences.map(\.text)
            let vectors = try await embed(Set(texts + allContext).sorted())
            // A sentence quoted word for word from a passage is supported by it, however the
            // passage splits into sentences (lists, headings and numbered steps split oddly).
            let verbatim = Dictionary(citations.map { ($0.id, Self.collapsingWhitespace($0.text)) }, uniquingKeysWith: { first, _ in first })
            for (sentence, text) in zip(sentences, texts) {
                let quoted = Self.collapsingWhitespace(text)
                func quotes(_ passage: String?) -> Bool { quoted.count >= 20 && passage?.contains(quoted) == true }
                var best = match(text, against: allContext, vectors: vectors)
                if !best.supported, verbatim.values.contains(where: quotes) {
                    best.supported = true
                    best.overlap = 1
                }
                let supportedCitations = sentence.citations.map { number in
                    quotes(verbatim[number]) || (passages[number].map { match(text, against: $0, vectors: vectors).supported } ?? false)
                }
                verdicts.append(
                    SentenceVerdict(
                        text: text, supported: best.supported, cosine: best.cosine, overlap: best.overlap,
                        citations: sentence.citations, citationSupported: supportedCitations
                    )
                )
            }
        }
        let faithfulness = verdicts.isEmpty ? 1 : Double(verdicts.filter(\.supported).count) / Double(verdicts.count)
        let citationChecks = verdicts.flatMap(\.citationSupported)
        let citationPrecision = citationChecks.isEmpty ? 1 : Double(citationChecks.filter { $0 }.count) / Double(citationChecks.count)
        let prediction = abstained ? "" : CitationMarkers.removing(from: answer)
        return QAQuestionEvaluation(
            id: item.id, question: item.question, answer: answer, expected: item.answers, abstained: abstained,
            sentences: verdicts, faithfulness: faithfulness, citationPrecision: citationPrecision,
            contextRecall: Self.contextRecall(relevant: item.relevantDocIDs, cited: citations.map(\.document)),
            answerF1: AnswerCorrectness.f1(prediction, references: item.answers),
            exactMatch: AnswerCorrectness.exactMatch(prediction, references: item.answers)
        )
    }

    /// `text` with every run of white space made one space, trimmed.
    static func collapsingWhitespace(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// How well the best of `context` supports `sentence` (citation markers are removed from it).
    /// - Throws: `QuarryError` when the model fails.
    public func match(_ sentence: String, context: [String]) async throws -> Match {
        let text = CitationMarkers.removing(from: sentence)
        let vectors = try await embed(Set([text] + context).sorted())
        return match(text, against: context, vectors: vectors)
    }

    /// The best context sentence for `sentence`: a supporting one if any (the highest cosine +
    /// overlap among those), else the highest cosine + overlap overall.
    private func match(_ sentence: String, against context: [String], vectors: [String: [Float]]) -> Match {
        let words = Self.contentWords(of: sentence)
        let numbers = Self.numbers(in: sentence)
        let wordSet = Set(words)
        let negated = Self.negatedWords(in: sentence)
        var best = Match(supported: false, cosine: 0, overlap: 0, context: "")
        var bestScore = -Double.infinity
        for candidate in context {
            let cosine = vectors[sentence].flatMap { a in vectors[candidate].map { b in Self.cosine(a, b) } } ?? 0
            let candidateWords = Set(Self.contentWords(of: candidate))
            let overlap = words.isEmpty ? 1 : Double(words.filter(candidateWords.contains).count) / Double(words.count)
            var supported = thresholds.passes(cosine: cosine, overlap: overlap)
            if supported, thresholds.checksNumbers, !numbers.isEmpty {
                supported = numbers.isSubset(of: Self.numbers(in: candidate))
            }
            if supported, thresholds.checksNegation {
                let contextNegated = Self.negatedWords(in: candidate)
                supported = negated.isSubset(of: contextNegated) && !contextNegated.contains { wordSet.contains($0) && !negated.contains($0) }
            }
            let score = cosine + overlap + (supported ? 10 : 0)
            if score > bestScore {
                bestScore = score
                best = Match(supported: supported, cosine: cosine, overlap: overlap, context: candidate)
            }
        }
        return best
    }

    private func embed(_ texts: [String]) async throws -> [String: [Float]] {
        var vectors: [String: [Float]] = [:]
        var start = 0
        while start < texts.count {
            let batch = Array(texts[start..<min(texts.count, start + 64)])
            for (text, vector) in zip(batch, try await embedder.embed(batch)) { vectors[text] = vector }
            start += batch.count
        }
        return vectors
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return 0 }
        var dot = 0.0, normA = 0.0, normB = 0.0
        for i in a.indices {
            dot += Double(a[i]) * Double(b[i])
            normA += Double(a[i]) * Double(a[i])
            normB += Double(b[i]) * Double(b[i])
        }
        guard normA > 0, normB > 0 else { return 0 }
        return dot / (normA.squareRoot() * normB.squareRoot())
    }

    // MARK: - Means

    /// Means over questions, by name.
    ///
    /// - `faithfulness`, `citation_precision`: over the questions answered (not abstained), since
    ///   an abstention asserts nothing; absent when every question was abstained.
    /// - `context_recall`: over the questions with reference answers (the evaluation does not
    ///   record relevant documents; a QA file gives a question without answers none).
    /// - `answer_f1`, `exact_match`: over every question; a question without reference answers
    ///   scores 1 when abstained and 0 when answered (SQuAD 2.0's rule for unanswerable questions),
    ///   an answerable question abstained scores 0.
    /// - `abstention_rate`: abstained / questions.
    /// - `judge_faithfulness`: over the questions the LLM judge scored.
    /// A mean over no question is left out.
    public static func summarize(_ questions: [QAQuestionEvaluation]) -> [String: Double] {
        var summary: [String: Double] = [:]
        func mean(_ name: String, _ values: [Double]) {
            guard !values.isEmpty else { return }
            summary[name] = values.reduce(0, +) / Double(values.count)
        }
        let answered = questions.filter { !$0.abstained }
        mean("faithfulness", answered.map(\.faithfulness))
        mean("citation_precision", answered.map(\.citationPrecision))
        mean("context_recall", questions.filter { !$0.expected.isEmpty }.map(\.contextRecall))
        mean("answer_f1", questions.map(\.answerF1))
        mean("exact_match", questions.map(\.exactMatch))
        mean("abstention_rate", questions.map { $0.abstained ? 1 : 0 })
        mean("judge_faithfulness", questions.compactMap(\.judgeFaithfulness))
        return summary
    }

    // MARK: - Answers and context

    /// Whether `result` is Quarry's abstention.
    public static func isAbstention(_ result: QueryResult) -> Bool {
        isAbstention(answer: result.answer, grounded: result.grounded)
    }

    /// Whether an answer is Quarry's abstention: not grounded, and `Retriever.noAnswer`.
    public static func isAbstention(answer: String, grounded: Bool) -> Bool {
        !grounded && answer.trimmingWhitespace() == Retriever.noAnswer
    }

    /// The claims of an answer without their citation markers, each with the distinct citation
    /// numbers it carries: `SentenceSplitter.answerSentences` with a marker before a capitalised
    /// word ending a claim too; headings and labels (`Answer:`) are not claims.
    public static func answerSentences(_ answer: String) -> [(text: String, citations: [Int])] {
        SentenceSplitter.answerSentences(answer, markersEndSentences: true).compactMap { sentence -> (text: String, citations: [Int])? in
            let text = CitationMarkers.removing(from: sentence)
            guard text.contains(where: \.isLetter), !text.hasSuffix(":") else { return nil }
            var numbers: [Int] = []
            for number in CitationMarkers.numbers(in: sentence) where !numbers.contains(number) { numbers.append(number) }
            return (text: text, citations: numbers)
        }
    }

    /// The sentences of a passage: lines, then prose sentences; lines without a letter dropped.
    public static func contextSentences(of text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).flatMap { SentenceSplitter.split(String($0)) }.filter { $0.contains(where: \.isLetter) }
    }

    // MARK: - Words

    /// Lower-cased alphanumeric runs; `n't` becomes `not` and `cannot` `can not`.
    static func words(of text: String) -> [String] {
        var lowered = text.lowercased().replacingOccurrences(of: "’", with: "'")
        for (contraction, expansion) in [("can't", "can not"), ("won't", "will not"), ("n't", " not")] {
            lowered = lowered.replacingOccurrences(of: contraction, with: expansion)
        }
        return WordFolding.words(of: lowered).flatMap { $0 == "cannot" ? ["can", "not"] : [$0] }
    }

    /// The content words of `text`, in order with repeats: its `words(of:)` without citation
    /// markers and `StopWords.claim`, common inflections folded (`indexes`, `indexed` → `index`,
    /// see `WordFolding.fold`) so that a paraphrase's grammar does not count against it.
    public static func contentWords(of text: String) -> [String] {
        words(of: CitationMarkers.removing(from: text)).filter { !StopWords.claim.contains($0) }.map(WordFolding.fold)
    }

    static func numbers(in text: String) -> Set<String> {
        Set(words(of: CitationMarkers.removing(from: text)).filter { $0.allSatisfy(\.isNumber) })
    }

    /// What the negations of `text` apply to: for each, the first content word (folded) within
    /// the next three words, or `¬` when there is none.
    static func negatedWords(in text: String) -> Set<String> {
        let tokens = words(of: CitationMarkers.removing(from: text))
        var negated: Set<String> = []
        for (index, token) in tokens.enumerated() where StopWords.negations.contains(token) {
            let scope = tokens[(index + 1)..<min(tokens.count, index + 4)]
            negated.insert(scope.first { !StopWords.claim.contains($0) }.map(WordFolding.fold) ?? "¬")
        }
        return negated
    }

    // MARK: - Context recall

    /// The share of `relevant` documents among `cited` ones (1 when `relevant` is empty). A relevant
    /// id matches a cited document that equals it, or whose part after `#` equals it.
    public static func contextRecall(relevant: [String], cited: [String]) -> Double {
        let relevant = Set(relevant)
        guard !relevant.isEmpty else { return 1 }
        var keys = Set(cited)
        for document in cited {
            if let hash = document.lastIndex(of: "#") { keys.insert(String(document[document.index(after: hash)...])) }
        }
        return Double(relevant.filter(keys.contains).count) / Double(relevant.count)
    }
}
