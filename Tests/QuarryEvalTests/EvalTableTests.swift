import Foundation
import QuarryEval
import Testing

/// The tables `quarry eval` prints, column for column.
@Suite struct EvalTableTests {
    /// The first column of a row: `%-8@` and the like pad to their width on Darwin, while
    /// swift-corelibs-foundation ignores the width of `%@` and writes the text alone.
    func first(_ text: String, width: Int) -> String {
        #if canImport(Darwin)
        text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0)
        #else
        text
        #endif
    }

    @Test func retrievalHasAMetricsRowPerModeWithLatency() {
        let evaluation = RetrievalEvaluation(
            dataset: "tiny", split: "test", corpusDocuments: 3, queries: 4, topK: 10,
            modes: [
                ModeEvaluation(
                    mode: "dense",
                    metrics: ["ndcg@10": 0.5, "recall@10": 0.25, "recall@100": 1, "mrr@10": 0.5, "map@100": 0.375, "p@1": 0, "p@5": 0.2, "p@10": 0.1],
                    recallCurve: [], latency: LatencySummary(samples: [4, 1, 3, 2]), perQuery: []
                ),
                // A metric the mode lacks prints as 0.
                ModeEvaluation(mode: "lexical", metrics: ["ndcg@10": 1], recallCurve: [], latency: LatencySummary(samples: [12.5]), perQuery: []),
            ]
        )
        let expected: [String] = [
            first("mode", width: 8) + " ndcg@10    recall@10  recall@100 mrr@10     map@100    p@1        p@5        p@10        p50 ms   p99 ms",
            first("dense", width: 8) + " 0.5000     0.2500     1.0000     0.5000     0.3750     0.0000     0.2000     0.1000        2.00     4.00",
            first("lexical", width: 8) + " 1.0000     0.0000     0.0000     0.0000     0.0000     0.0000     0.0000     0.0000       12.50    12.50",
        ]
        #expect(evaluation.table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) == expected)
    }

    func question(_ id: String, _ scores: (Double, Double, Double, Double), abstained: Bool) -> QAQuestionEvaluation {
        QAQuestionEvaluation(
            id: id, question: "?", answer: "", expected: [], abstained: abstained, sentences: [], faithfulness: scores.0,
            citationPrecision: scores.1, contextRecall: scores.2, answerF1: scores.3, exactMatch: 0
        )
    }

    @Test func qaHasARowPerQuestionThenTheSummaryByKey() {
        let evaluation = QAEvaluation(
            answerer: "extractive", summary: ["faithfulness": 1, "abstention_rate": 0.5, "answer_f1": 0.125], thresholds: [:],
            questions: [question("q1", (1, 0.5, 1, 0.25), abstained: false), question("question-10", (0, 0, 0, 0), abstained: true)]
        )
        let expected: [String] = [
            "question  faithfulness  citation precision  context recall  answer F1  abstained",
            first("q1", width: 9) + "         1.00                0.50            1.00       0.25  no",
            first("question-10", width: 9) + "         0.00                0.00            0.00       0.00  yes",
            first("abstention_rate", width: 20) + " 0.500",
            first("answer_f1", width: 20) + " 0.125",
            first("faithfulness", width: 20) + " 1.000",
        ]
        #expect(evaluation.table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) == expected)
    }
}
