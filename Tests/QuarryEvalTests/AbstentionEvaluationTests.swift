import Foundation
import QuarryEval
import Testing

/// Abstention scored as a classification, the risk-coverage curve, and their place in the table
/// and the HTML report.
@Suite struct AbstentionEvaluationTests {
    typealias Outcome = AbstentionEvaluation.Outcome

    /// Four unanswerable questions (confidences 0.1, 0.2, 0.5 and one forced), six answerable
    /// (0.9 right, 0.8 right, 0.6 wrong, 0.3 right, 0.15 right, one forced).
    static let outcomes: [Outcome] = [
        Outcome(unanswerable: true, confidence: 0.1, forced: false, correct: false),
        Outcome(unanswerable: true, confidence: 0.2, forced: false, correct: false),
        Outcome(unanswerable: true, confidence: 0.5, forced: false, correct: false),
        Outcome(unanswerable: true, confidence: 0.95, forced: true, correct: false),
        Outcome(unanswerable: false, confidence: 0.9, forced: false, correct: true),
        Outcome(unanswerable: false, confidence: 0.8, forced: false, correct: true),
        Outcome(unanswerable: false, confidence: 0.6, forced: false, correct: false),
        Outcome(unanswerable: false, confidence: 0.3, forced: false, correct: true),
        Outcome(unanswerable: false, confidence: 0.15, forced: false, correct: true),
        Outcome(unanswerable: false, confidence: 0.7, forced: true, correct: false),
    ]

    @Test func theClassificationAtTheThreshold() throws {
        let evaluation = AbstentionEvaluation.evaluate(Self.outcomes, threshold: 0.25)
        // Abstains on 0.1, 0.2, the two forced, and 0.15: three unanswerable of four.
        #expect(evaluation.unanswerable == 4 && evaluation.answerable == 6 && evaluation.abstained == 5)
        #expect(evaluation.recall == 0.75 && evaluation.precision == 0.6)
        // Answers 0.9, 0.8, 0.6, 0.3 of six answerable; three of them right.
        #expect(evaluation.coverage == 4.0 / 6 && evaluation.accuracy == 0.75 && evaluation.answeredCorrectly == 0.5)
        // Ranked by confidence (forced left out): 0.9 ✓, 0.8 ✓, 0.6 ✗, 0.5 ✗ (unanswerable), 0.3 ✓,
        // 0.2 ✗, 0.15 ✓, 0.1 ✗.
        let wrong: [Double] = [0, 0, 1, 2, 2, 3, 3, 4]
        var total = 0.0
        for (index, count) in wrong.enumerated() { total += count / Double(index + 1) }
        let area = try #require(evaluation.areaUnderCurve)
        #expect(abs(area - total / 8) < 1e-12)
        // The curve: 101 thresholds; at 0 the forced ones alone abstain, above every confidence all do.
        #expect(evaluation.curve.count == 101)
        let first = try #require(evaluation.curve.first)
        #expect(first.threshold == 0 && first.coverage == 0.8 && first.risk == 4.0 / 8 && first.abstentionRecall == 0.25)
        let last = try #require(evaluation.curve.last)
        #expect(last.coverage == 0 && last.risk == 0 && last.abstentionRecall == 1 && last.answeredCorrectly == 0)
        for (a, b) in zip(evaluation.curve, evaluation.curve.dropFirst()) { #expect(b.coverage <= a.coverage) }
        // Nothing to abstain on: no recall, no precision, and no division by zero.
        let none = AbstentionEvaluation.evaluate([], threshold: 0.5)
        #expect(none.recall == nil && none.precision == nil && none.areaUnderCurve == nil && none.curve.allSatisfy { $0.coverage == 0 })
    }

    @Test func theTableAndTheReportShowIt() throws {
        let evaluation = QAEvaluation(
            answerer: "extractive", summary: ["abstention_rate": 0.5], thresholds: [:], questions: [],
            abstention: AbstentionEvaluation.evaluate(Self.outcomes, threshold: 0.25)
        )
        #expect(evaluation.table.contains("abstention at 0.25: 4 unanswerable, 6 answerable; recall 0.750, precision 0.600, coverage 0.667, answered correctly 0.500"))
        let html = HTMLReport.render(EvalReport(generatedAt: "now", qa: evaluation))
        let section = try #require(html.components(separatedBy: "<h2>Abstention</h2>").dropFirst().first?.components(separatedBy: "</section>").first)
        #expect(section.contains("<div class=\"value\">0.750</div><div class=\"label\">Abstention recall (unanswerable)</div>"))
        #expect(section.contains("aria-label=\"Risk against coverage as the abstention threshold varies\""))
        #expect(section.contains("<polyline") && section.contains("threshold used 0.25"))
        #expect(!section.contains("\"nan") && !section.contains("nan,") && !section.contains(",nan"))
        let json = String(decoding: try JSONEncoder().encode(evaluation), as: UTF8.self)
        #expect(json.contains("\"area_under_curve\"") && json.contains("\"abstention_recall\""))
    }
}
