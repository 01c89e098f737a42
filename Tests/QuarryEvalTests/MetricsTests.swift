import Foundation
import QuarryEval
import Testing

/// Metric values worked out by hand, as trec_eval defines them.
@Suite struct MetricsTests {
    // Judged: a (grade 2), b (1), c (0: judged not relevant), d (1). Ranking: x a c b y.
    let judgements = ["a": 2, "b": 1, "c": 0, "d": 1]
    let ranking = ["x", "a", "c", "b", "y"]

    func value(_ name: String) -> Double { Metrics.value(name, ranking: ranking, judgements: judgements) }

    @Test func ndcgUsesGradesAsGains() {
        // DCG@10 = 2/log2(3) + 1/log2(5); ideal = 2/log2(2) + 1/log2(3) + 1/log2(4).
        let dcg = 2 / log2(3.0) + 1 / log2(5.0)
        let ideal = 2.0 + 1 / log2(3.0) + 0.5
        #expect(abs(value("ndcg@10") - dcg / ideal) < 1e-12)
        // @2: only a, at rank 2; ideal a, then b or d.
        #expect(abs(value("ndcg@2") - (2 / log2(3.0)) / (2 + 1 / log2(3.0))) < 1e-12)
    }

    @Test func recallPrecisionMRRAndMAP() {
        #expect(value("recall@2") == 1.0 / 3)
        #expect(value("recall@10") == 2.0 / 3)
        #expect(value("p@1") == 0)
        #expect(value("p@5") == 2.0 / 5)
        #expect(value("p@10") == 2.0 / 10)  // divided by k although only 5 were retrieved
        #expect(value("mrr@10") == 0.5)
        #expect(value("mrr@1") == 0)
        // MAP: precision 1/2 at rank 2 and 2/4 at rank 4, over 3 relevant documents.
        #expect(abs(value("map@100") - (0.5 + 0.5) / 3) < 1e-12)
        #expect(abs(value("map@3") - 0.5 / 3) < 1e-12)
    }

    @Test func queriesWithoutRelevantDocumentsAndEmptyRunsScoreZero() {
        let qrels: Qrels = ["q1": ["a": 1], "q2": ["b": 0], "q3": ["c": 1]]
        let run: Run = ["q1": ["a": 0.5, "z": 0.9], "q2": ["b": 1]]
        let perQuery = Metrics.evaluate(run: run, qrels: qrels)
        #expect(Set(perQuery.keys) == ["q1", "q2", "q3"])
        #expect(perQuery["q1"]?["mrr@10"] == 0.5)
        #expect(perQuery["q2"]?["ndcg@10"] == 0 && perQuery["q2"]?["recall@10"] == 0)
        #expect(perQuery["q3"]?["ndcg@10"] == 0)
        #expect(abs(Metrics.mean(perQuery)["mrr@10"]! - 0.5 / 3) < 1e-12)
    }

    @Test func tiesAreBrokenAsTrecEvalDoes() {
        // Equal scores: the larger document id (byte order) ranks first.
        #expect(Metrics.ranked(["doc1": 1, "doc2": 1, "doc10": 1, "best": 2]) == ["best", "doc2", "doc10", "doc1"])
    }

    @Test func latencyPercentilesAreNearestRank() {
        let latency = LatencySummary(samples: (1...100).map(Double.init).reversed())
        #expect(latency.p50 == 50 && latency.p95 == 95 && latency.p99 == 99 && latency.mean == 50.5)
        #expect(LatencySummary(samples: []).p99 == 0)
    }
}
