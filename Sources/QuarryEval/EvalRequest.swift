import Foundation
import QuarryRetrieval

/// What an evaluation is asked to measure: the retrieval of a BEIR dataset (the default), or,
/// with `qaFile`, the answers to a QA file about a folder.
public struct EvalRequest: Sendable {
    /// The folder ingested and evaluated: a BEIR dataset (`corpus.jsonl`, `queries.jsonl`,
    /// `qrels/SPLIT.tsv`), or any folder a QA file is about.
    public var dataset: URL
    /// The collection the folder is ingested into.
    public var collection: String
    /// Retrieval: the qrels split.
    public var split: String
    /// Retrieval: the search modes evaluated, in this order.
    public var modes: [SearchMode]
    /// Retrieval: documents ranked per query.
    public var topK: Int
    /// Retrieval: evaluate only the first this many judged queries; `nil` for all.
    public var queryLimit: Int?
    /// Retrieval: a folder to write each mode's ranking to, as `MODE.run` (TREC) and `MODE.json`.
    public var runs: URL?
    /// The QA file (JSON lines `{"id", "question", "answers", "relevant_doc_ids"}`): evaluate
    /// answers instead of retrieval.
    public var qaFile: URL?
    /// QA: ingest only the files matching these patterns (as `quarry ingest --include`).
    public var include: [String]
    /// QA: leave out the files matching these patterns.
    public var exclude: [String]
    /// QA: the answerer evaluated.
    public var answer: AnswerKind
    /// QA: when answers are withheld (the policy `/query` applies by default).
    public var abstention: AbstentionPolicy

    /// Creates a request.
    public init(
        dataset: URL, collection: String, split: String = "test", modes: [SearchMode] = EvalRequest.allModes, topK: Int = 100,
        queryLimit: Int? = nil, runs: URL? = nil, qaFile: URL? = nil, include: [String] = [], exclude: [String] = [],
        answer: AnswerKind = .extractive, abstention: AbstentionPolicy = AbstentionPolicy()
    ) {
        self.abstention = abstention
        self.dataset = dataset
        self.collection = collection
        self.split = split
        self.modes = modes
        self.topK = topK
        self.queryLimit = queryLimit
        self.runs = runs
        self.qaFile = qaFile
        self.include = include
        self.exclude = exclude
        self.answer = answer
    }

    /// Every mode, in the order they are evaluated and reported.
    public static let allModes: [SearchMode] = [.dense, .lexical, .hybrid]

    /// The modes `name` stands for: `dense`, `lexical`, `hybrid`, or `all` for `allModes`.
    /// - Returns: `nil` for any other name.
    public static func modes(named name: String) -> [SearchMode]? {
        name == "all" ? allModes : SearchMode(rawValue: name).map { [$0] }
    }

    /// The collection a dataset folder is evaluated in by default: the folder's name, kept to
    /// ASCII letters, digits and `-_.`, at most 64 characters.
    public static func defaultCollection(for dataset: URL) -> String {
        String(dataset.standardizedFileURL.lastPathComponent.filter { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }.prefix(64))
    }
}
