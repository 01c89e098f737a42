import Foundation

/// Relevance judgements: query id → document id → grade (> 0: relevant).
public typealias Qrels = [String: [String: Int]]

/// A ranking: query id → document id → score (higher is better).
public typealias Run = [String: [String: Double]]

/// Retrieval metrics as trec_eval (and pytrec_eval, which BEIR uses) computes them.
///
/// - The ranking of a query is its documents by score, highest first, ties broken by document id
///   in reverse byte order (trec_eval's order), so a run file evaluates the same here and there.
/// - A document is relevant when its grade is > 0 (`relevance_level` 1).
/// - `ndcg@k` is trec_eval's `ndcg_cut_k`: gains are the grades themselves, discounted by
///   log2(rank + 1), normalised by the ideal ordering of the judged documents.
/// - `recall@k` = relevant in the top k / relevant; `p@k` = relevant in the top k / k (even when
///   fewer than k were retrieved); `map@k` = the sum of precision at the rank of each relevant
///   document in the top k, over the number of relevant documents (`map_cut_k`); `mrr@k` = 1 /
///   the rank of the first relevant document within the top k, else 0 (BEIR's MRR@k; trec_eval's
///   `recip_rank` is the same on a ranking cut to k).
/// - Means are over every judged query, as BEIR averages pytrec_eval's results: a query judged
///   with no relevant document scores 0 on every metric, and so does a query that retrieved
///   nothing (trec_eval leaves the latter out unless `-c` is given).
public enum Metrics {
    /// The metrics `quarry eval` reports, in report order.
    public static let names = ["ndcg@10", "recall@10", "recall@100", "mrr@10", "map@100", "p@1", "p@5", "p@10"]
    /// The cut-offs of the recall curve.
    public static let curve = [1, 2, 3, 5, 10, 20, 50, 100]

    /// `ranking`'s documents in trec_eval order.
    public static func ranked(_ scores: [String: Double]) -> [String] {
        scores.sorted { a, b in a.value != b.value ? a.value > b.value : b.key.utf8.lexicographicallyPrecedes(a.key.utf8) }
            .map(\.key)
    }

    /// One metric for one query. `name` is `ndcg@k`, `recall@k`, `mrr@k`, `map@k` or `p@k`.
    public static func value(_ name: String, ranking: [String], judgements: [String: Int]) -> Double {
        let parts = name.split(separator: "@")
        guard parts.count == 2, let k = Int(parts[1]), k > 0 else { return .nan }
        let top = ranking.prefix(k)
        let relevantCount = judgements.values.filter { $0 > 0 }.count
        guard relevantCount > 0 else { return 0 }
        switch parts[0] {
        case "ndcg":
            var dcg = 0.0
            for (index, document) in top.enumerated() {
                let grade = max(0, judgements[document] ?? 0)
                if grade > 0 { dcg += Double(grade) / log2(Double(index + 2)) }
            }
            let ideal = judgements.values.filter { $0 > 0 }.sorted(by: >).prefix(k)
            let idcg = ideal.enumerated().reduce(0.0) { $0 + Double($1.element) / log2(Double($1.offset + 2)) }
            return idcg > 0 ? dcg / idcg : 0
        case "recall":
            return Double(top.filter { (judgements[$0] ?? 0) > 0 }.count) / Double(relevantCount)
        case "p":
            return Double(top.filter { (judgements[$0] ?? 0) > 0 }.count) / Double(k)
        case "mrr":
            guard let first = top.firstIndex(where: { (judgements[$0] ?? 0) > 0 }) else { return 0 }
            return 1 / Double(first + 1)
        case "map":
            var found = 0
            var sum = 0.0
            for (index, document) in top.enumerated() where (judgements[document] ?? 0) > 0 {
                found += 1
                sum += Double(found) / Double(index + 1)
            }
            return sum / Double(relevantCount)
        default:
            return .nan
        }
    }

    /// Every metric of `names` for every judged query.
    /// - Returns: per query, metric → value; queries absent from `run` score 0.
    public static func evaluate(run: Run, qrels: Qrels, names: [String] = Metrics.names) -> [String: [String: Double]] {
        var result: [String: [String: Double]] = [:]
        for (query, judgements) in qrels {
            let ranking = ranked(run[query] ?? [:])
            result[query] = Dictionary(uniqueKeysWithValues: names.map { ($0, value($0, ranking: ranking, judgements: judgements)) })
        }
        return result
    }

    /// The mean of each metric over queries.
    public static func mean(_ perQuery: [String: [String: Double]]) -> [String: Double] {
        guard !perQuery.isEmpty else { return [:] }
        var sums: [String: Double] = [:]
        for values in perQuery.values {
            for (name, value) in values { sums[name, default: 0] += value }
        }
        return sums.mapValues { $0 / Double(perQuery.count) }
    }
}
