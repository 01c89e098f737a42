import Foundation

/// Everything `quarry eval` measured, as written to `--json` and drawn by `--html`.
public struct EvalReport: Codable, Sendable {
    /// When the evaluation ran (ISO 8601).
    public var generatedAt: String
    /// The git commit of Quarry, when known.
    public var commit: String?
    /// Retrieval precision on a BEIR dataset, when run.
    public var retrieval: RetrievalEvaluation?
    /// Faithfulness of answers, when run (`--qa`).
    public var qa: QAEvaluation?
    /// Retrieval of follow-up questions, as asked and rewritten, when run (`--conversations`).
    public var conversations: ConversationEvaluation?

    /// Creates a report.
    public init(
        generatedAt: String, commit: String? = nil, retrieval: RetrievalEvaluation? = nil, qa: QAEvaluation? = nil,
        conversations: ConversationEvaluation? = nil
    ) {
        self.generatedAt = generatedAt
        self.commit = commit
        self.retrieval = retrieval
        self.qa = qa
        self.conversations = conversations
    }

    enum CodingKeys: String, CodingKey {
        case commit, retrieval, qa, conversations
        case generatedAt = "generated_at"
    }
}

/// Retrieval metrics of every mode run on one dataset.
public struct RetrievalEvaluation: Codable, Sendable {
    /// The dataset folder's name (`scifact`).
    public var dataset: String
    /// The qrels split (`test`).
    public var split: String
    /// Documents in the corpus.
    public var corpusDocuments: Int
    /// Queries evaluated (those with judgements).
    public var queries: Int
    /// Documents retrieved per query.
    public var topK: Int
    /// One entry per mode, in the order run.
    public var modes: [ModeEvaluation]

    /// Creates a dataset's results.
    public init(dataset: String, split: String, corpusDocuments: Int, queries: Int, topK: Int, modes: [ModeEvaluation]) {
        self.dataset = dataset
        self.split = split
        self.corpusDocuments = corpusDocuments
        self.queries = queries
        self.topK = topK
        self.modes = modes
    }

    enum CodingKeys: String, CodingKey {
        case dataset, split, queries, modes
        case corpusDocuments = "corpus_documents"
        case topK = "top_k"
    }
}

/// One mode's results.
public struct ModeEvaluation: Codable, Sendable {
    /// `dense`, `lexical` or `hybrid`.
    public var mode: String
    /// Mean over queries, by metric name (`ndcg@10`, `recall@10`, `recall@100`, `mrr@10`,
    /// `map@100`, `p@1`, `p@5`, `p@10`); the names are `Metrics.names`, in that order.
    public var metrics: [String: Double]
    /// Mean recall@k for k = 1, 2, 3, 5, 10, 20, 50, 100 (those ≤ top_k).
    public var recallCurve: [RecallPoint]
    /// Query latency (retrieval only, in-process), milliseconds.
    public var latency: LatencySummary
    /// Every query's values and what it retrieved.
    public var perQuery: [QueryEvaluation]

    /// Creates a mode's results.
    public init(mode: String, metrics: [String: Double], recallCurve: [RecallPoint], latency: LatencySummary, perQuery: [QueryEvaluation]) {
        self.mode = mode
        self.metrics = metrics
        self.recallCurve = recallCurve
        self.latency = latency
        self.perQuery = perQuery
    }

    enum CodingKeys: String, CodingKey {
        case mode, metrics, latency
        case recallCurve = "recall_curve"
        case perQuery = "per_query"
    }
}

/// Mean recall at one cut-off.
public struct RecallPoint: Codable, Sendable, Equatable {
    /// The cut-off: documents retrieved.
    public var k: Int
    /// Mean recall over queries at `k`.
    public var recall: Double

    /// Creates a point of the curve.
    public init(k: Int, recall: Double) {
        self.k = k
        self.recall = recall
    }
}

/// Latency percentiles and the samples they come from.
public struct LatencySummary: Codable, Sendable {
    /// The median, milliseconds (nearest rank, as every percentile here).
    public var p50: Double
    /// The 95th percentile, milliseconds.
    public var p95: Double
    /// The 99th percentile, milliseconds.
    public var p99: Double
    /// The mean, milliseconds.
    public var mean: Double
    /// Every query's latency, milliseconds, in query order (for histograms).
    public var samples: [Double]

    /// Summarises `samples` (milliseconds); all values are 0 when there are none.
    public init(samples: [Double]) {
        self.samples = samples
        let sorted = samples.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            // Nearest rank.
            let rank = Int((p * Double(sorted.count)).rounded(.up))
            return sorted[min(sorted.count, max(1, rank)) - 1]
        }
        p50 = percentile(0.50)
        p95 = percentile(0.95)
        p99 = percentile(0.99)
        mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
    }
}

/// One query: its metrics, its judged documents and the top of its ranking.
public struct QueryEvaluation: Codable, Sendable {
    /// The query's id in the dataset.
    public var id: String
    /// The query.
    public var text: String
    /// This query's value of each metric.
    public var metrics: [String: Double]
    /// Judged documents and their grades (> 0: relevant).
    public var relevant: [String: Int]
    /// The first ten documents retrieved, best first.
    public var retrieved: [RetrievedDocument]

    /// Creates a query's results.
    public init(id: String, text: String, metrics: [String: Double], relevant: [String: Int], retrieved: [RetrievedDocument]) {
        self.id = id
        self.text = text
        self.metrics = metrics
        self.relevant = relevant
        self.retrieved = retrieved
    }
}

/// A retrieved document as the report shows it.
public struct RetrievedDocument: Codable, Sendable {
    /// The document's id in the dataset.
    public var id: String
    /// Its retrieval score (its best chunk's).
    public var score: Double
    /// Its grade in the judgements (0 when unjudged or not relevant).
    public var grade: Int
    /// The start of its best chunk.
    public var snippet: String

    /// Creates a retrieved document.
    public init(id: String, score: Double, grade: Int, snippet: String) {
        self.id = id
        self.score = score
        self.grade = grade
        self.snippet = snippet
    }
}

/// Faithfulness of the answers to a QA file.
public struct QAEvaluation: Codable, Sendable {
    /// The answerer (`extractive` or `llm`).
    public var answerer: String
    /// Means over questions: `faithfulness`, `citation_precision`, `context_recall`,
    /// `answer_f1`, `exact_match`, `abstention_rate`, and `judge_faithfulness` with an LLM judge.
    public var summary: [String: Double]
    /// The thresholds the deterministic scorer used.
    public var thresholds: [String: Double]
    /// Every question and how its answer scored, in the order of the QA file.
    public var questions: [QAQuestionEvaluation]
    /// Abstention as a classification, and the risk-coverage curve.
    public var abstention: AbstentionEvaluation?

    /// Creates a QA evaluation.
    public init(
        answerer: String, summary: [String: Double], thresholds: [String: Double], questions: [QAQuestionEvaluation],
        abstention: AbstentionEvaluation? = nil
    ) {
        self.answerer = answerer
        self.summary = summary
        self.thresholds = thresholds
        self.questions = questions
        self.abstention = abstention
    }
}

/// One question of a QA file and how its answer scored.
public struct QAQuestionEvaluation: Codable, Sendable {
    /// The question's id in the QA file.
    public var id: String
    /// The question.
    public var question: String
    /// The answer as Quarry gave it, citation markers and all.
    public var answer: String
    /// The reference answers.
    public var expected: [String]
    /// Whether Quarry abstained (said the sources do not answer the question).
    public var abstained: Bool
    /// Each answer sentence and whether the context supports it.
    public var sentences: [SentenceVerdict]
    /// Supported sentences / sentences (1 when there is no sentence to check).
    public var faithfulness: Double
    /// Citations whose passage supports their sentence / citations.
    public var citationPrecision: Double
    /// Relevant documents that reached the context / relevant documents.
    public var contextRecall: Double
    /// Best token F1 against the reference answers.
    public var answerF1: Double
    /// 1 when the normalised answer equals a normalised reference answer.
    public var exactMatch: Double
    /// Faithfulness by the LLM judge, when one ran.
    public var judgeFaithfulness: Double?
    /// The confidence the abstention policy weighed (see `AbstentionEvaluation.Outcome`).
    public var confidence: Double?
    /// Why the answer was withheld, when it was.
    public var abstentionReason: String?
    /// Whether the answer cites a document the QA file names as answering the question.
    public var citesRelevant: Bool?

    /// Creates a question's scores.
    public init(
        id: String, question: String, answer: String, expected: [String], abstained: Bool, sentences: [SentenceVerdict],
        faithfulness: Double, citationPrecision: Double, contextRecall: Double, answerF1: Double, exactMatch: Double,
        judgeFaithfulness: Double? = nil
    ) {
        self.id = id
        self.question = question
        self.answer = answer
        self.expected = expected
        self.abstained = abstained
        self.sentences = sentences
        self.faithfulness = faithfulness
        self.citationPrecision = citationPrecision
        self.contextRecall = contextRecall
        self.answerF1 = answerF1
        self.exactMatch = exactMatch
        self.judgeFaithfulness = judgeFaithfulness
    }

    enum CodingKeys: String, CodingKey {
        case id, question, answer, expected, abstained, sentences, faithfulness
        case citationPrecision = "citation_precision"
        case contextRecall = "context_recall"
        case answerF1 = "answer_f1"
        case exactMatch = "exact_match"
        case judgeFaithfulness = "judge_faithfulness"
        case confidence
        case abstentionReason = "abstention_reason"
        case citesRelevant = "cites_relevant"
    }
}

/// Whether one answer sentence is supported by the context.
public struct SentenceVerdict: Codable, Sendable {
    /// The sentence, without its citation markers.
    public var text: String
    /// Whether a sentence of the context supports it.
    public var supported: Bool
    /// Cosine similarity of the sentence to its best-matching context sentence.
    public var cosine: Double
    /// Share of the sentence's content words found in that context sentence (K-Precision).
    public var overlap: Double
    /// The citation numbers the sentence carries.
    public var citations: [Int]
    /// For each of those citations, whether the cited passage supports the sentence.
    public var citationSupported: [Bool]

    /// Creates a verdict.
    public init(text: String, supported: Bool, cosine: Double, overlap: Double, citations: [Int], citationSupported: [Bool]) {
        self.text = text
        self.supported = supported
        self.cosine = cosine
        self.overlap = overlap
        self.citations = citations
        self.citationSupported = citationSupported
    }

    enum CodingKeys: String, CodingKey {
        case text, supported, cosine, overlap, citations
        case citationSupported = "citation_supported"
    }
}
