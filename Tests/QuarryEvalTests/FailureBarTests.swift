import Foundation
import QuarryCore
import QuarryEval
import Testing

/// `--fail-under` bars: how they are read and how a report is checked against them.
@Suite struct FailureBarTests {
    @Test func readsAMetricForEveryModeOrForOne() throws {
        #expect(try FailureBar(parsing: "ndcg@10=0.6") == FailureBar(mode: nil, metric: "ndcg@10", value: 0.6))
        #expect(try FailureBar(parsing: "Hybrid.NDCG@10=0.69") == FailureBar(mode: "hybrid", metric: "ndcg@10", value: 0.69))
        #expect(try FailureBar(parsing: "qa.faithfulness=0.9") == FailureBar(mode: "qa", metric: "faithfulness", value: 0.9))
        #expect(try FailureBar(parsing: "lexical.p@1=1") == FailureBar(mode: "lexical", metric: "p@1", value: 1))
        #expect(try FailureBar(parsing: "answer_f1=-0.5") == FailureBar(mode: nil, metric: "answer_f1", value: -0.5))
    }

    func parseError(_ text: String) throws -> QuarryError {
        do {
            let bar = try FailureBar(parsing: text)
            Issue.record("\(text) was read as \(bar)")
            throw CancellationError()
        } catch let error as QuarryError {
            return error
        }
    }

    @Test func refusesWhatIsNotMetricEqualsNumber() throws {
        for text in ["ndcg@10", "ndcg@10=", "ndcg@10=high", "=0.5", "ndcg@10==0.5", "ndcg@10:0.5"] {
            let error = try parseError(text)
            #expect(error.code == .invalidRequest)
            #expect(error.message == "\(text): expected METRIC=VALUE, like ndcg@10=0.6")
        }
    }

    @Test func refusesAnUnknownMetricNamingTheKnownOnes() throws {
        let error = try parseError("bm25.ndcg@10=0.5")
        #expect(error.code == .invalidRequest)
        #expect(
            error.message == "bm25.ndcg@10=0.5: unknown metric bm25.ndcg@10 (known: ndcg@10, recall@10, recall@100, mrr@10, map@100, "
                + "p@1, p@5, p@10, faithfulness, citation_precision, context_recall, answer_f1, exact_match)"
        )
        // Reported in the summary, but not a metric a bar may name.
        #expect(try parseError("qa.abstention_rate=0.1").message.hasPrefix("qa.abstention_rate=0.1: unknown metric abstention_rate (known: "))
    }

    /// Dense and hybrid retrieval, and a QA evaluation, in one report.
    let report = EvalReport(
        generatedAt: "2025-01-01T00:00:00Z",
        retrieval: RetrievalEvaluation(
            dataset: "tiny", split: "test", corpusDocuments: 3, queries: 2, topK: 10,
            modes: [
                ModeEvaluation(mode: "dense", metrics: ["ndcg@10": 0.5, "recall@100": 0.9], recallCurve: [], latency: LatencySummary(samples: []), perQuery: []),
                ModeEvaluation(mode: "hybrid", metrics: ["ndcg@10": 0.7, "recall@100": 0.95], recallCurve: [], latency: LatencySummary(samples: []), perQuery: []),
            ]
        ),
        qa: QAEvaluation(answerer: "extractive", summary: ["faithfulness": 0.95, "context_recall": 0.8], thresholds: [:], questions: [])
    )

    func failures(_ bar: String) throws -> [String] {
        try FailureBar(parsing: bar).failures(in: report)
    }

    @Test func aBarForEveryModeChecksEachModeThatMeasuredIt() throws {
        #expect(try failures("ndcg@10=0.6") == ["dense ndcg@10 = 0.5000 < 0.6000"])
        #expect(try failures("ndcg@10=0.75") == ["dense ndcg@10 = 0.5000 < 0.7500", "hybrid ndcg@10 = 0.7000 < 0.7500"])
        // Reaching the bar exactly passes.
        #expect(try failures("ndcg@10=0.5") == [])
        #expect(try failures("faithfulness=0.96") == ["qa faithfulness = 0.9500 < 0.9600"])
    }

    @Test func aBarForOneModeChecksOnlyThatMode() throws {
        #expect(try failures("hybrid.ndcg@10=0.69") == [])
        #expect(try failures("hybrid.ndcg@10=0.71") == ["hybrid ndcg@10 = 0.7000 < 0.7100"])
        #expect(try failures("qa.context_recall=0.85") == ["qa context_recall = 0.8000 < 0.8500"])
    }

    @Test func aMetricNothingMeasuredFails() throws {
        #expect(try failures("lexical.ndcg@10=0.1") == ["ndcg@10 was not measured"])
        #expect(try failures("qa.ndcg@10=0.1") == ["ndcg@10 was not measured"])
        #expect(try failures("hybrid.faithfulness=0") == ["faithfulness was not measured"])
        #expect(try failures("p@1=0") == ["p@1 was not measured"])
        let empty = EvalReport(generatedAt: "2025-01-01T00:00:00Z")
        #expect(try FailureBar(parsing: "ndcg@10=0").failures(in: empty) == ["ndcg@10 was not measured"])
    }
}
