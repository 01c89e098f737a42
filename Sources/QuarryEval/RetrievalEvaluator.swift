import Foundation
import QuarryCore
import QuarryRetrieval
import QuarryStore

/// Runs a BEIR dataset's queries through Quarry's retrieval and scores the rankings.
///
/// BEIR judges documents, Quarry retrieves chunks: a query fetches `chunkDepth` chunks and each
/// document scores as its best chunk (max), as dense-retrieval evaluations of chunked corpora
/// do. Documents are the records of the dataset's `corpus.jsonl` (ids `corpus.jsonl#<_id>`).
public struct RetrievalEvaluator: Sendable {
    /// Runs the queries.
    public let retriever: Retriever
    /// The collection holding the dataset's corpus.
    public let collection: String
    /// Documents ranked per query.
    public let topK: Int
    /// Chunks fetched per query, from which the documents are ranked.
    public var chunkDepth: Int { min(1000, 3 * topK) }

    /// Creates an evaluator.
    public init(retriever: Retriever, collection: String, topK: Int = 100) {
        self.retriever = retriever
        self.collection = collection
        self.topK = max(1, topK)
    }

    /// The BEIR document id of a stored document id, or `nil` for a document that is not a
    /// record of `corpus.jsonl`.
    public static func corpusID(_ document: String) -> String? {
        guard document.hasPrefix("corpus.jsonl#") else { return nil }
        return String(document.dropFirst("corpus.jsonl#".count))
    }

    /// Evaluates one mode.
    /// - Parameter progress: called with the number of queries done.
    /// - Returns: the report of the mode, and the run (for trec_eval-style files).
    public func evaluate(
        _ dataset: BEIRDataset, mode: SearchMode, progress: (@Sendable (Int) -> Void)? = nil
    ) async throws -> (evaluation: ModeEvaluation, run: Run) {
        var run: Run = [:]
        var latencies: [Double] = []
        var snippets: [String: [String: String]] = [:]
        for (index, query) in dataset.queries.enumerated() {
            let start = ContinuousClock.now
            let (hits, _) = try await retriever.search(
                query: query.text, collection: collection, topK: chunkDepth, mode: mode, limit: 1000
            )
            let (seconds, attoseconds) = (ContinuousClock.now - start).components
            latencies.append(Double(seconds) * 1000 + Double(attoseconds) / 1e15)
            var scores: [String: Double] = [:]
            var texts: [String: String] = [:]
            for hit in hits {
                // As BEIR (ignore_identical_ids): a document that is the query itself is not an answer.
                guard let id = Self.corpusID(hit.document), id != query.id else { continue }
                if Double(hit.score) > scores[id] ?? -.infinity {
                    scores[id] = Double(hit.score)
                    texts[id] = hit.text
                }
            }
            let kept = Metrics.ranked(scores).prefix(topK)
            run[query.id] = Dictionary(uniqueKeysWithValues: kept.map { ($0, scores[$0]!) })
            snippets[query.id] = Dictionary(uniqueKeysWithValues: kept.prefix(10).map { ($0, String(texts[$0]!.prefix(240))) })
            progress?(index + 1)
        }
        let curveNames = Metrics.curve.filter { $0 <= topK }.map { "recall@\($0)" }
        let names = Metrics.names + curveNames.filter { !Metrics.names.contains($0) }
        let perQuery = Metrics.evaluate(run: run, qrels: dataset.qrels, names: names)
        let means = Metrics.mean(perQuery)
        let queries = dataset.queries.map { query -> QueryEvaluation in
            let judgements = dataset.qrels[query.id] ?? [:]
            let ranking = Metrics.ranked(run[query.id] ?? [:])
            return QueryEvaluation(
                id: query.id, text: query.text,
                metrics: (perQuery[query.id] ?? [:]).filter { Metrics.names.contains($0.key) },
                relevant: judgements.filter { $0.value > 0 },
                retrieved: ranking.prefix(10).map { id in
                    RetrievedDocument(
                        id: id, score: run[query.id]?[id] ?? 0, grade: judgements[id] ?? 0, snippet: snippets[query.id]?[id] ?? ""
                    )
                }
            )
        }
        let evaluation = ModeEvaluation(
            mode: mode.rawValue,
            metrics: means.filter { Metrics.names.contains($0.key) },
            recallCurve: Metrics.curve.filter { $0 <= topK }.map { RecallPoint(k: $0, recall: means["recall@\($0)"] ?? 0) },
            latency: LatencySummary(samples: latencies),
            perQuery: queries
        )
        return (evaluation, run)
    }

    /// A run in TREC form (`query Q0 document rank score tag`), as trec_eval and pytrec_eval read it.
    public static func trecRun(_ run: Run, tag: String) -> String {
        var lines: [String] = []
        for query in run.keys.sorted() {
            for (rank, document) in Metrics.ranked(run[query]!).enumerated() {
                lines.append("\(query) Q0 \(document) \(rank + 1) \(String(format: "%.9g", run[query]![document]!)) \(tag)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
