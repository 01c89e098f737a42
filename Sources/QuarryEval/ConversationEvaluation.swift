import Foundation
import QuarryCore
import QuarryRetrieval

/// One conversation of a conversations file: JSON lines
/// `{"id", "collection", "turns": [{"question", "standalone", "relevant": [...]}, ...]}`.
///
/// The first turn is a standalone question. Every later turn is a follow-up and carries
/// `standalone`, its hand-written standalone form (the oracle); a follow-up that needs no
/// context has `standalone` equal to `question` ("standalone in fact": a rewriter should leave it
/// alone). `relevant` lists the documents whose text answers the turn, as Quarry stores them
/// (`sqlite-docs/wal.md`).
public struct EvalConversation: Codable, Sendable, Equatable {
    /// One question of a conversation.
    public struct Turn: Codable, Sendable, Equatable {
        /// The question as the user asked it.
        public var question: String
        /// The hand-written standalone form; `nil` on a first turn.
        public var standalone: String?
        /// Documents that answer the turn.
        public var relevant: [String]

        /// Creates a turn.
        public init(question: String, standalone: String? = nil, relevant: [String]) {
            self.question = question
            self.standalone = standalone
            self.relevant = relevant
        }

        /// Whether this follow-up needs no context: its standalone form is the question itself.
        public var isStandaloneInFact: Bool {
            standalone.map { $0.trimmingWhitespace() == question.trimmingWhitespace() } ?? true
        }
    }

    /// The conversation's id (unique in its file).
    public var id: String
    /// The collection the conversation is about; `nil` for `default`.
    public var collection: String?
    /// The turns, in the order asked.
    public var turns: [Turn]

    /// Creates a conversation.
    public init(id: String, collection: String? = nil, turns: [Turn]) {
        self.id = id
        self.collection = collection
        self.turns = turns
    }

    /// The follow-ups: every turn after the first.
    public var followUps: ArraySlice<Turn> { turns.dropFirst() }

    /// Reads a conversations file: one JSON object per line; blank lines are skipped.
    /// - Throws: `QuarryError.invalidRequest` naming the file and line of a malformed line, a
    ///   repeated id, a conversation without turns, an empty question, a follow-up without its
    ///   standalone form, a turn without relevant documents, or a file without conversations;
    ///   `.unreadableInput` when the file cannot be read.
    public static func load(from url: URL) throws -> [EvalConversation] {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw QuarryError(.unreadableInput, "cannot read the conversations file \(url.path)", underlying: error)
        }
        var conversations: [EvalConversation] = []
        var seen: Set<String> = []
        // Split on "\n" only, so that the line numbers are the ones an editor shows.
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingWhitespace()
            guard !line.isEmpty else { continue }
            let place = "\(url.path):\(index + 1)"
            let conversation: EvalConversation
            do {
                conversation = try JSONDecoder().decode(EvalConversation.self, from: Data(line.utf8))
            } catch {
                let summary = (error as? DecodingError)?.summary ?? "\(error)"
                throw QuarryError(
                    .invalidRequest,
                    "\(place): expected {\"id\", \"collection\", \"turns\": [{\"question\", \"standalone\", \"relevant\": [strings]}]} (\(summary))",
                    underlying: error
                )
            }
            guard !conversation.turns.isEmpty else { throw QuarryError(.invalidRequest, "\(place): conversation \(conversation.id) has no turns") }
            for (number, turn) in conversation.turns.enumerated() {
                let name = "\(place): turn \(number + 1) of \(conversation.id)"
                guard !turn.question.trimmingWhitespace().isEmpty else { throw QuarryError(.invalidRequest, "\(name) has an empty question") }
                if number > 0, (turn.standalone ?? "").trimmingWhitespace().isEmpty {
                    throw QuarryError(
                        .invalidRequest, "\(name) needs \"standalone\", its standalone form (the question itself when it needs no context)"
                    )
                }
                guard !turn.relevant.isEmpty else { throw QuarryError(.invalidRequest, "\(name) names no relevant document") }
            }
            guard seen.insert(conversation.id).inserted else {
                throw QuarryError(.invalidRequest, "\(place): the id \(conversation.id) is used by an earlier conversation")
            }
            conversations.append(conversation)
        }
        guard !conversations.isEmpty else { throw QuarryError(.invalidRequest, "\(url.path) holds no conversations") }
        return conversations
    }
}

/// How follow-up questions fared, by method: retrieval with the question as asked (`raw`), with
/// each rewriter's standalone form, and with the hand-written one (`oracle`, the ceiling).
///
/// Metrics are at document level: a query fetches `chunk_depth` chunks, the chunks are reduced to
/// their documents in rank order (a document ranks where its first chunk does), and the first
/// `top_k` documents are scored against the turn's relevant documents.
public struct ConversationEvaluation: Codable, Sendable {
    /// The metrics reported, in report order.
    public static let metricNames = ["recall@5", "mrr@10", "ndcg@10", "hit@1"]
    /// The method of the question as asked.
    public static let raw = "raw"
    /// The method of the hand-written standalone question.
    public static let oracle = "oracle"

    /// The conversations file's name.
    public var dataset: String
    /// Conversations evaluated.
    public var conversations: Int
    /// Follow-up turns (every turn after a conversation's first).
    public var followUps: Int
    /// Follow-ups whose standalone form is the question itself.
    public var standaloneInFact: Int
    /// Documents ranked per query.
    public var topK: Int
    /// Chunks fetched per query, from which the documents are ranked.
    public var chunkDepth: Int
    /// What an earlier turn's answer is in the history the rewriters read (`empty` or `top-passage`).
    public var historyAnswers: String
    /// The methods evaluated, in report order.
    public var methods: [String]
    /// Methods that were not evaluated, and why.
    public var skipped: [String: String]
    /// One entry per search mode, in the order run.
    public var modes: [ConversationModeEvaluation]

    /// Creates the results.
    public init(
        dataset: String, conversations: Int, followUps: Int, standaloneInFact: Int, topK: Int, chunkDepth: Int, historyAnswers: String,
        methods: [String], skipped: [String: String], modes: [ConversationModeEvaluation]
    ) {
        self.dataset = dataset
        self.conversations = conversations
        self.followUps = followUps
        self.standaloneInFact = standaloneInFact
        self.topK = topK
        self.chunkDepth = chunkDepth
        self.historyAnswers = historyAnswers
        self.methods = methods
        self.skipped = skipped
        self.modes = modes
    }

    enum CodingKeys: String, CodingKey {
        case dataset, conversations, methods, skipped, modes
        case followUps = "follow_ups"
        case standaloneInFact = "standalone_in_fact"
        case topK = "top_k"
        case chunkDepth = "chunk_depth"
        case historyAnswers = "history_answers"
    }

    /// The documents of `hits` in rank order, each once, where its best-ranked chunk is.
    public static func documents(of hits: [SearchHit]) -> [String] {
        var seen: Set<String> = []
        return hits.compactMap { seen.insert($0.document).inserted ? $0.document : nil }
    }

    /// Every metric of `metricNames` for one ranking of documents.
    ///
    /// `recall@5`, `mrr@10` and `ndcg@10` are `Metrics.value`'s (binary grades); `hit@1` is 1
    /// when the first document is relevant. A turn without relevant documents scores 0.
    public static func metrics(ranking: [String], relevant: [String]) -> [String: Double] {
        let judgements = Dictionary(relevant.map { ($0, 1) }, uniquingKeysWith: { a, _ in a })
        var values: [String: Double] = [:]
        for name in metricNames where name != "hit@1" {
            values[name] = Metrics.value(name, ranking: ranking, judgements: judgements)
        }
        values["hit@1"] = ranking.first.map { judgements[$0] != nil ? 1 : 0 } ?? 0
        return values
    }
}

/// One search mode's results.
public struct ConversationModeEvaluation: Codable, Sendable {
    /// `dense`, `lexical` or `hybrid`.
    public var mode: String
    /// Means over the conversations' first turns (standalone questions), for reference.
    public var firstTurns: [String: Double]
    /// One summary per method, in report order.
    public var methods: [ConversationMethodSummary]
    /// Every conversation, turn by turn.
    public var conversations: [ConversationResult]

    /// Creates a mode's results.
    public init(mode: String, firstTurns: [String: Double], methods: [ConversationMethodSummary], conversations: [ConversationResult]) {
        self.mode = mode
        self.firstTurns = firstTurns
        self.methods = methods
        self.conversations = conversations
    }

    enum CodingKeys: String, CodingKey {
        case mode, methods, conversations
        case firstTurns = "first_turns"
    }
}

/// How one method did over the follow-ups.
public struct ConversationMethodSummary: Codable, Sendable {
    /// `raw`, a rewriter's name (`deterministic`, `llm`) or `oracle`.
    public var method: String
    /// Means over every follow-up.
    public var followUps: [String: Double]
    /// Means over the follow-ups that need context.
    public var contextDependent: [String: Double]
    /// Means over the follow-ups that are standalone in fact.
    public var standaloneInFact: [String: Double]
    /// Rewriters: follow-ups whose standalone form differs from the question.
    public var changed: Int?
    /// Rewriters: follow-ups standalone in fact that were changed all the same.
    public var wronglyChanged: Int?
    /// Rewriters: context-dependent follow-ups left as asked.
    public var leftUnchanged: Int?
    /// Rewriters: rewrites that fell back (an LLM rewriter's answers from its fallback).
    public var fallbacks: Int?
    /// Follow-ups whose nDCG@10 is above the raw question's.
    public var helped: Int?
    /// Follow-ups whose nDCG@10 is below the raw question's.
    public var hurt: Int?
    /// Rewriters: time per rewrite, milliseconds (a rewrite reused from another mode counts once).
    public var rewriteLatency: LatencySummary?
    /// Rewriters: prompt and completion tokens of the rewrites a model answered.
    public var promptTokens: Int?
    /// Rewriters: completion tokens of the rewrites a model answered.
    public var completionTokens: Int?

    /// Creates a summary.
    public init(method: String, followUps: [String: Double], contextDependent: [String: Double], standaloneInFact: [String: Double]) {
        self.method = method
        self.followUps = followUps
        self.contextDependent = contextDependent
        self.standaloneInFact = standaloneInFact
    }

    enum CodingKeys: String, CodingKey {
        case method, changed, fallbacks, helped, hurt
        case followUps = "follow_ups"
        case contextDependent = "context_dependent"
        case standaloneInFact = "standalone_in_fact"
        case wronglyChanged = "wrongly_changed"
        case leftUnchanged = "left_unchanged"
        case rewriteLatency = "rewrite_latency_ms"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
    }
}

/// One conversation's turns and what each method retrieved for them.
public struct ConversationResult: Codable, Sendable {
    /// The conversation's id.
    public var id: String
    /// The collection searched.
    public var collection: String
    /// Every turn, in order.
    public var turns: [ConversationTurnResult]

    /// Creates a conversation's results.
    public init(id: String, collection: String, turns: [ConversationTurnResult]) {
        self.id = id
        self.collection = collection
        self.turns = turns
    }
}

/// One turn: the question, its oracle, and each method's query and ranking.
public struct ConversationTurnResult: Codable, Sendable {
    /// The turn's position in its conversation, from 0.
    public var index: Int
    /// The question as asked.
    public var question: String
    /// The hand-written standalone form; `nil` on a first turn.
    public var standalone: String?
    /// Whether the follow-up is standalone in fact; `nil` on a first turn.
    public var standaloneInFact: Bool?
    /// Documents that answer the turn.
    public var relevant: [String]
    /// A first turn: the question as asked only; a follow-up: every method in report order.
    public var methods: [ConversationMethodResult]

    /// Creates a turn's results.
    public init(index: Int, question: String, standalone: String?, standaloneInFact: Bool?, relevant: [String], methods: [ConversationMethodResult]) {
        self.index = index
        self.question = question
        self.standalone = standalone
        self.standaloneInFact = standaloneInFact
        self.relevant = relevant
        self.methods = methods
    }

    enum CodingKeys: String, CodingKey {
        case index, question, standalone, relevant, methods
        case standaloneInFact = "standalone_in_fact"
    }
}

/// What one method searched for on one turn, and what came back.
public struct ConversationMethodResult: Codable, Sendable {
    /// The method.
    public var method: String
    /// The text searched.
    public var query: String
    /// The rewriter's record, for a rewriter's method.
    public var rewrite: FollowUpRewrite?
    /// The first documents retrieved (at most 10), best first.
    public var retrieved: [String]
    /// This turn's value of each metric.
    public var metrics: [String: Double]

    /// Creates a method's result.
    public init(method: String, query: String, rewrite: FollowUpRewrite? = nil, retrieved: [String], metrics: [String: Double]) {
        self.method = method
        self.query = query
        self.rewrite = rewrite
        self.retrieved = retrieved
        self.metrics = metrics
    }
}

/// A follow-up rewriter under evaluation, by the name the report gives it.
public struct NamedRewriter: Sendable {
    /// The method's name in the report (`deterministic`, `llm`).
    public var name: String
    /// The rewriter.
    public var rewriter: any FollowUpRewriter

    /// Names a rewriter.
    public init(_ name: String, _ rewriter: any FollowUpRewriter) {
        self.name = name
        self.rewriter = rewriter
    }
}

/// Runs conversations through retrieval: each follow-up as asked, as each rewriter makes it
/// standalone, and in its hand-written standalone form.
///
/// A rewriter reads the conversation's earlier turns as it would in a session: their questions
/// with the standalone forms that rewriter produced (never the oracle's), and as answer either
/// nothing (`.empty`) or the text of the best chunk its own query retrieved (`.topPassage`, a
/// stand-in for the answer a session would hold).
public struct ConversationEvaluator: Sendable {
    /// What an earlier turn's answer is in the rewriters' history.
    public enum HistoryAnswers: String, Sendable, Codable, CaseIterable {
        /// No answer text: the rewriters read the questions only.
        case empty
        /// The text of the best chunk retrieved for the turn by the same method.
        case topPassage = "top-passage"
    }

    /// Runs the queries.
    public let retriever: Retriever
    /// The rewriters evaluated, in report order (between `raw` and `oracle`).
    public let rewriters: [NamedRewriter]
    /// Documents ranked per query.
    public let topK: Int
    /// What an earlier turn's answer is in the history.
    public let historyAnswers: HistoryAnswers
    /// Called with each progress line.
    public let log: @Sendable (String) -> Void
    /// Chunks fetched per query, from which the documents are ranked.
    public var chunkDepth: Int { min(1000, 3 * topK) }

    /// Creates an evaluator.
    public init(
        retriever: Retriever, rewriters: [NamedRewriter], topK: Int = 10, historyAnswers: HistoryAnswers = .empty,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.retriever = retriever
        self.rewriters = rewriters
        self.topK = max(1, topK)
        self.historyAnswers = historyAnswers
        self.log = log
    }

    /// A rewrite asked for once: the same question with the same history gives the same answer.
    private struct RewriteKey: Hashable {
        var method: String
        var question: String
        var history: [ConversationTurn]
    }

    private struct Ranked {
        var documents: [String]
        var topText: String
    }

    /// Evaluates `conversations` in each of `modes`.
    /// - Parameters:
    ///   - conversations: the conversations; each is searched in its `collection` (`default` when
    ///     it names none).
    ///   - dataset: the file's name, for the report.
    ///   - skipped: methods not evaluated and why, for the report.
    /// - Returns: the results, per mode.
    /// - Throws: what retrieval throws (an unknown collection, for one), and what a rewriter throws.
    public func evaluate(
        _ conversations: [EvalConversation], dataset: String, modes: [SearchMode], skipped: [String: String] = [:]
    ) async throws -> ConversationEvaluation {
        let methods = [ConversationEvaluation.raw] + rewriters.map(\.name) + [ConversationEvaluation.oracle]
        var rewrites: [RewriteKey: (rewrite: FollowUpRewrite, milliseconds: Double)] = [:]
        var results: [ConversationModeEvaluation] = []
        for mode in modes {
            var firstTurns: [[String: Double]] = []
            var conversationResults: [ConversationResult] = []
            for conversation in conversations {
                let collection = conversation.collection ?? CollectionName.default
                var turns: [ConversationTurnResult] = []
                var histories: [String: [ConversationTurn]] = [:]
                for (index, turn) in conversation.turns.enumerated() {
                    if index == 0 {
                        let ranked = try await rank(turn.question, collection: collection, mode: mode)
                        let metrics = ConversationEvaluation.metrics(ranking: ranked.documents, relevant: turn.relevant)
                        firstTurns.append(metrics)
                        for rewriter in rewriters {
                            histories[rewriter.name] = [ConversationTurn(question: turn.question, answer: answer(ranked))]
                        }
                        turns.append(
                            ConversationTurnResult(
                                index: 0, question: turn.question, standalone: nil, standaloneInFact: nil, relevant: turn.relevant,
                                methods: [result(ConversationEvaluation.raw, query: turn.question, ranked: ranked, metrics: metrics)]
                            )
                        )
                        continue
                    }
                    var methodResults: [ConversationMethodResult] = []
                    let raw = try await rank(turn.question, collection: collection, mode: mode)
                    methodResults.append(
                        result(
                            ConversationEvaluation.raw, query: turn.question, ranked: raw,
                            metrics: ConversationEvaluation.metrics(ranking: raw.documents, relevant: turn.relevant)
                        )
                    )
                    for rewriter in rewriters {
                        let history = histories[rewriter.name] ?? []
                        let key = RewriteKey(method: rewriter.name, question: turn.question, history: history)
                        let rewrite: FollowUpRewrite
                        if let cached = rewrites[key] {
                            rewrite = cached.rewrite
                        } else {
                            let start = ContinuousClock.now
                            rewrite = try await rewriter.rewriter.rewrite(turn.question, history: history)
                            let (seconds, attoseconds) = (ContinuousClock.now - start).components
                            rewrites[key] = (rewrite, Double(seconds) * 1000 + Double(attoseconds) / 1e15)
                        }
                        let ranked = try await rank(rewrite.standalone, collection: collection, mode: mode)
                        methodResults.append(
                            result(
                                rewriter.name, query: rewrite.standalone, rewrite: rewrite, ranked: ranked,
                                metrics: ConversationEvaluation.metrics(ranking: ranked.documents, relevant: turn.relevant)
                            )
                        )
                        let changed = Self.changed(rewrite)
                        histories[rewriter.name, default: []].append(
                            ConversationTurn(question: turn.question, standalone: changed ? rewrite.standalone : nil, answer: answer(ranked))
                        )
                    }
                    let standalone = turn.standalone ?? turn.question
                    let oracle = try await rank(standalone, collection: collection, mode: mode)
                    methodResults.append(
                        result(
                            ConversationEvaluation.oracle, query: standalone, ranked: oracle,
                            metrics: ConversationEvaluation.metrics(ranking: oracle.documents, relevant: turn.relevant)
                        )
                    )
                    turns.append(
                        ConversationTurnResult(
                            index: index, question: turn.question, standalone: turn.standalone, standaloneInFact: turn.isStandaloneInFact,
                            relevant: turn.relevant, methods: methodResults
                        )
                    )
                }
                conversationResults.append(ConversationResult(id: conversation.id, collection: collection, turns: turns))
            }
            let summaries = Self.summarize(conversationResults, methods: methods, latencies: rewrites)
            results.append(
                ConversationModeEvaluation(
                    mode: mode.rawValue, firstTurns: Self.mean(firstTurns), methods: summaries, conversations: conversationResults
                )
            )
            log("eval: conversations (\(mode.rawValue)): \(conversations.count) conversations done")
        }
        let followUps = conversations.reduce(0) { $0 + $1.followUps.count }
        return ConversationEvaluation(
            dataset: dataset, conversations: conversations.count, followUps: followUps,
            standaloneInFact: conversations.reduce(0) { $0 + $1.followUps.filter(\.isStandaloneInFact).count }, topK: topK,
            chunkDepth: chunkDepth, historyAnswers: historyAnswers.rawValue, methods: methods, skipped: skipped, modes: results
        )
    }

    /// Whether a rewrite changed the question (beyond surrounding whitespace).
    static func changed(_ rewrite: FollowUpRewrite) -> Bool {
        rewrite.standalone.trimmingWhitespace() != rewrite.question.trimmingWhitespace()
    }

    private func rank(_ query: String, collection: String, mode: SearchMode) async throws -> Ranked {
        let (hits, _) = try await retriever.search(query: query, collection: collection, topK: chunkDepth, mode: mode, limit: 1000)
        return Ranked(documents: Array(ConversationEvaluation.documents(of: hits).prefix(topK)), topText: hits.first?.text ?? "")
    }

    private func answer(_ ranked: Ranked) -> String {
        historyAnswers == .topPassage ? ranked.topText : ""
    }

    private func result(
        _ method: String, query: String, rewrite: FollowUpRewrite? = nil, ranked: Ranked, metrics: [String: Double]
    ) -> ConversationMethodResult {
        ConversationMethodResult(method: method, query: query, rewrite: rewrite, retrieved: Array(ranked.documents.prefix(10)), metrics: metrics)
    }

    /// The mean of each metric over `values`; every metric 0 when there are none.
    static func mean(_ values: [[String: Double]]) -> [String: Double] {
        var sums = Dictionary(uniqueKeysWithValues: ConversationEvaluation.metricNames.map { ($0, 0.0) })
        for value in values {
            for name in ConversationEvaluation.metricNames { sums[name, default: 0] += value[name] ?? 0 }
        }
        return values.isEmpty ? sums : sums.mapValues { $0 / Double(values.count) }
    }

    private static func summarize(
        _ conversations: [ConversationResult], methods: [String], latencies: [RewriteKey: (rewrite: FollowUpRewrite, milliseconds: Double)]
    ) -> [ConversationMethodSummary] {
        let followUps = conversations.flatMap { $0.turns.dropFirst() }
        return methods.map { method in
            func values(_ turns: [ConversationTurnResult]) -> [[String: Double]] {
                turns.compactMap { turn in turn.methods.first { $0.method == method }?.metrics }
            }
            let dependent = followUps.filter { $0.standaloneInFact != true }
            let inFact = followUps.filter { $0.standaloneInFact == true }
            var summary = ConversationMethodSummary(
                method: method, followUps: mean(values(followUps)), contextDependent: mean(values(dependent)), standaloneInFact: mean(values(inFact))
            )
            guard method != ConversationEvaluation.raw else { return summary }
            var helped = 0
            var hurt = 0
            for turn in followUps {
                guard let own = turn.methods.first(where: { $0.method == method })?.metrics["ndcg@10"],
                    let raw = turn.methods.first(where: { $0.method == ConversationEvaluation.raw })?.metrics["ndcg@10"]
                else { continue }
                if own > raw { helped += 1 } else if own < raw { hurt += 1 }
            }
            summary.helped = helped
            summary.hurt = hurt
            guard method != ConversationEvaluation.oracle else { return summary }
            let rewrites = followUps.map { turn in (turn, turn.methods.first { $0.method == method }?.rewrite) }
            summary.changed = rewrites.filter { $0.1.map(changed) ?? false }.count
            summary.wronglyChanged = rewrites.filter { $0.0.standaloneInFact == true && ($0.1.map(changed) ?? false) }.count
            summary.leftUnchanged = rewrites.filter { $0.0.standaloneInFact != true && !($0.1.map(changed) ?? false) }.count
            summary.fallbacks = rewrites.filter { $0.1?.fallback != nil }.count
            let own = latencies.filter { $0.key.method == method }.values
            summary.rewriteLatency = LatencySummary(samples: own.map(\.milliseconds).sorted())
            let usages = own.compactMap(\.rewrite.usage)
            if !usages.isEmpty {
                summary.promptTokens = usages.reduce(0) { $0 + $1.promptTokens }
                summary.completionTokens = usages.reduce(0) { $0 + $1.completionTokens }
            }
            return summary
        }
    }
}
