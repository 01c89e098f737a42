import Foundation

/// Abstention scored as a classification: did Quarry withhold its answer on the questions the
/// corpus cannot answer (`answers: []` in the QA file), and answer the others, citing a document
/// that answers them? With the risk-coverage curve over every threshold, so a reader can see what
/// another `abstain_threshold` would trade.
public struct AbstentionEvaluation: Codable, Sendable, Equatable {
    /// What one question contributes.
    public struct Outcome: Sendable, Equatable {
        /// The QA file gives it no answer.
        public var unanswerable: Bool
        /// The confidence the policy compares with its threshold (the lower of retrieval's and
        /// the answer's).
        public var confidence: Double
        /// It abstains at any threshold (nothing retrieved, no sentence to quote, a guard, or an
        /// LLM answer that failed its citation check).
        public var forced: Bool
        /// Answered, it would be right: it cites a document the QA file names as answering it
        /// (or, when the file names none, matches a reference answer with F1 ≥ 0.5).
        public var correct: Bool

        /// Creates an outcome.
        public init(unanswerable: Bool, confidence: Double, forced: Bool, correct: Bool) {
            self.unanswerable = unanswerable
            self.confidence = confidence
            self.forced = forced
            self.correct = correct
        }

        /// Whether it abstains at `threshold`.
        public func abstains(at threshold: Double) -> Bool { forced || confidence < threshold }
    }

    /// One point of the risk-coverage curve: what abstaining below `threshold` gives.
    public struct Point: Codable, Sendable, Equatable {
        /// The threshold.
        public var threshold: Double
        /// Questions answered / questions.
        public var coverage: Double
        /// Wrong answers (an unanswerable question answered, or an answer without a correct
        /// citation) / answers; 0 when nothing is answered.
        public var risk: Double
        /// Unanswerable questions abstained on / unanswerable questions.
        public var abstentionRecall: Double?
        /// Answerable questions answered with a correct citation / answerable questions.
        public var answeredCorrectly: Double?

        enum CodingKeys: String, CodingKey {
            case threshold, coverage, risk
            case abstentionRecall = "abstention_recall"
            case answeredCorrectly = "answered_correctly"
        }
    }

    /// The threshold the answers were given at.
    public var threshold: Double
    /// Questions the QA file answers.
    public var answerable: Int
    /// Questions it does not.
    public var unanswerable: Int
    /// Abstentions.
    public var abstained: Int
    /// Abstentions on unanswerable questions / abstentions.
    public var precision: Double?
    /// Abstentions on unanswerable questions / unanswerable questions (goal ≥ 0.8).
    public var recall: Double?
    /// Answerable questions answered / answerable questions.
    public var coverage: Double?
    /// Answers with a correct citation / answerable questions answered.
    public var accuracy: Double?
    /// Answerable questions answered with a correct citation / answerable questions (goal ≥ 0.9).
    public var answeredCorrectly: Double?
    /// The area under the risk-coverage curve (mean risk over the questions that can be
    /// answered, taken in order of confidence; lower is better).
    public var areaUnderCurve: Double?
    /// The curve at thresholds 0, 0.01, …, 1.
    public var curve: [Point]

    enum CodingKeys: String, CodingKey {
        case threshold, answerable, unanswerable, abstained, precision, recall, coverage, accuracy, curve
        case answeredCorrectly = "answered_correctly"
        case areaUnderCurve = "area_under_curve"
    }

    /// Scores `outcomes` at `threshold`, and the curve.
    public static func evaluate(_ outcomes: [Outcome], threshold: Double) -> AbstentionEvaluation {
        func ratio(_ part: Int, _ whole: Int) -> Double? { whole > 0 ? Double(part) / Double(whole) : nil }
        let answerable = outcomes.filter { !$0.unanswerable }
        let unanswerable = outcomes.filter(\.unanswerable)
        func point(_ threshold: Double) -> Point {
            let answered = outcomes.filter { !$0.abstains(at: threshold) }
            let wrong = answered.filter { $0.unanswerable || !$0.correct }.count
            return Point(
                threshold: threshold, coverage: ratio(answered.count, outcomes.count) ?? 0, risk: ratio(wrong, answered.count) ?? 0,
                abstentionRecall: ratio(unanswerable.filter { $0.abstains(at: threshold) }.count, unanswerable.count),
                answeredCorrectly: ratio(answerable.filter { !$0.abstains(at: threshold) && $0.correct }.count, answerable.count)
            )
        }
        let abstaining = outcomes.filter { $0.abstains(at: threshold) }
        let answeredAnswerable = answerable.filter { !$0.abstains(at: threshold) }
        // Questions that can be answered at all, most confident first: the risk of answering the
        // first k, averaged over k.
        let ranked = outcomes.filter { !$0.forced }.sorted { $0.confidence > $1.confidence }
        var wrong = 0
        var risks: [Double] = []
        for (index, outcome) in ranked.enumerated() {
            if outcome.unanswerable || !outcome.correct { wrong += 1 }
            risks.append(Double(wrong) / Double(index + 1))
        }
        return AbstentionEvaluation(
            threshold: threshold, answerable: answerable.count, unanswerable: unanswerable.count, abstained: abstaining.count,
            precision: ratio(abstaining.filter(\.unanswerable).count, abstaining.count),
            recall: ratio(unanswerable.filter { $0.abstains(at: threshold) }.count, unanswerable.count),
            coverage: ratio(answeredAnswerable.count, answerable.count),
            accuracy: ratio(answeredAnswerable.filter(\.correct).count, answeredAnswerable.count),
            answeredCorrectly: ratio(answeredAnswerable.filter(\.correct).count, answerable.count),
            areaUnderCurve: risks.isEmpty ? nil : risks.reduce(0, +) / Double(risks.count),
            curve: (0...100).map { point(Double($0) / 100) }
        )
    }
}
