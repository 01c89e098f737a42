import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryGuard
import QuarryKernels
import QuarryStore

/// How long each stage of a query took, in milliseconds.
public struct QueryTimings: Sendable, Codable, Equatable {
    /// Embedding the query.
    public var embed: Double = 0
    /// Dense (vector) search.
    public var dense: Double = 0
    /// Lexical (BM25) search.
    public var lexical: Double = 0
    /// Fusing the two rankings.
    public var fuse: Double = 0
    /// Retrieval as a whole: dense, lexical and fusion.
    public var search: Double = 0
    /// Assembling the context: merging neighbouring chunks, fitting the token budget.
    public var assemble: Double = 0
    /// Building the answer (for an LLM answer: the whole generation).
    public var answer: Double = 0
    /// Waiting for the chat model, retries and fallbacks included (0 without an LLM).
    public var generate: Double = 0
    /// The whole query.
    public var total: Double = 0

    /// Creates zero timings.
    public init() {}
}

/// The result of a query: an answer whose sentences cite numbered sources.
public struct QueryResult: Sendable {
    /// The answer text; each sentence ends with `[n]` naming its citation.
    public var answer: String
    /// Whether the answer is grounded in the sources: it answers, and every sentence cites a
    /// given source (`false` when nothing relevant was found, or when the check flagged a sentence).
    public var grounded: Bool
    /// The sources, numbered from 1, best first.
    public var citations: [Citation]
    /// Stage timings.
    public var timings: QueryTimings
    /// Whether the result came from a result cache (its timings are the original query's, but
    /// for a semantic hit's: its own embedding and lookup).
    public var cached = false
    /// Which cache answered, and for the semantic cache how close the cached question was;
    /// `nil` when nothing was cached. The cached question itself is never shown (it may be
    /// another caller's).
    public var cache: CacheHit?
    /// Which answerer wrote the answer (`extractive` when an LLM answer fell back).
    public var answerer: AnswerKind = .extractive
    /// The citation check of the answer; `nil` when there is no answer.
    public var check: AnswerCheck?
    /// Tokens and cost of an LLM answer.
    public var usage: ChatUsage?
    /// The model, attempts and failures of an LLM answer (also when it fell back).
    public var generation: GenerationInfo?
    /// Which model chain the caller's tier and the question's shape chose, and why; `nil` for
    /// answers not asked of an LLM, or when no routing is configured.
    public var routing: RoutingDecision?
    /// What retrieval and the answer say about whether the documents answer the question.
    public var evidence: AnswerEvidence?
    /// The confidence of retrieval alone, before any answer was written (the policy withholds an
    /// answer when this or `evidence.confidence` falls below its threshold).
    public var retrievalConfidence: Double?
    /// Why the answer was withheld; `nil` when it was given. An abstention is never grounded:
    /// `answer` says the documents do not answer, and `citations` are the passages looked at.
    public var abstention: AbstentionReason?
    /// What the guards found (prompt injection in the question or passages, personal data in
    /// the answer) and what they did; empty when nothing fired.
    public var guardrails: [GuardrailFlag] = []

    /// Whether the answer was withheld.
    public var abstained: Bool { abstention != nil }
}

/// Which result cache answered a query.
public struct CacheHit: Sendable, Equatable {
    /// The exact cache (the same question, trimmed) or the semantic one (a paraphrase).
    public enum Kind: String, Sendable, Codable { case exact, semantic }
    public var kind: Kind
    /// Cosine similarity of the question to the cached one (semantic hits).
    public var similarity: Float?

    public init(kind: Kind, similarity: Float? = nil) {
        self.kind = kind
        self.similarity = similarity
    }
}

/// Who writes the answer.
public enum AnswerKind: String, Sendable, Codable, CaseIterable {
    /// No answer: retrieval and context only.
    case none
    /// Sentences of the context itself, each with its citation; needs no model.
    case extractive
    /// A chat model, from a grounded prompt.
    case llm
}

/// What a streamed query reports, in order: `retrieval` once, then `delta`s of the answer text
/// interleaved with a `citation` the first time the text cites each source; the caller ends
/// with the `QueryResult` the call returns.
public enum AnswerEvent: Sendable {
    /// The numbered sources and the retrieval timings, before any answer text.
    case retrieval([Citation], QueryTimings)
    /// A piece of the answer text.
    case delta(String)
    /// The answer has just cited this source for the first time.
    case citation(Citation)
}

/// Which retrievers a search runs.
public enum SearchMode: String, Sendable, Codable, CaseIterable {
    /// Nearest neighbours of the query's embedding.
    case dense
    /// BM25 over the chunks' words.
    case lexical
    /// Both, fused by reciprocal rank.
    case hybrid
}

/// How hybrid search fuses its two rankings: reciprocal-rank fusion, a chunk scoring
/// `Σ weight / (k + rank)` over the rankings that hold it (ranks from 1).
public struct FusionSettings: Sendable, Equatable {
    /// The weight of the dense ranking.
    public var denseWeight: Double
    /// The weight of the lexical ranking.
    public var lexicalWeight: Double
    /// The rank constant (60 in the original paper).
    public var k: Double
    /// How many candidates each retriever contributes, at least (and at least 4 × `top_k`).
    public var candidates: Int

    /// Creates settings; the defaults are the paper's.
    public init(denseWeight: Double = 1, lexicalWeight: Double = 1, k: Double = 60, candidates: Int = 50) {
        self.denseWeight = denseWeight
        self.lexicalWeight = lexicalWeight
        self.k = k
        self.candidates = candidates
    }
}

/// Runs queries against a store: embeds the query, finds the nearest chunks, answers from them.
public struct Retriever: Sendable {
    /// The largest `top_k` a caller may ask for.
    public static let maxTopK = 100
    /// The range of `ef` a caller may ask for.
    public static let efRange = 1...1000
    /// The range of `max_context_tokens` a caller may ask for, and its default.
    public static let contextTokensRange = 50...32_768
    /// Word pieces of context an answer draws on unless configured otherwise.
    public static let defaultContextTokens = 2_000
    /// What the answer says when no retrieved passage matches the query, or the answerer
    /// abstains.
    public static let noAnswer = "No passage in the collection answers this query."

    private let store: any ChunkReader
    /// The model queries are embedded with.
    public let embedder: any Embedder
    private let answerer: ExtractiveAnswerer
    /// The chat-model answerer; `nil` when no LLM is configured.
    public let llm: LLMAnswerer?
    /// Which models answer `llm` answers, by tier and question shape; `nil` for the answerer's
    /// own chain.
    public let router: ModelRouter?
    /// How hybrid search fuses dense and lexical rankings.
    public let fusion: FusionSettings
    /// Results of identical queries on an unchanged collection; `nil` to always search.
    public let cache: QueryCache?
    /// Results of paraphrased queries on an unchanged collection (only with `cache`); `nil` for
    /// none.
    public let semanticCache: SemanticCache?
    /// The context budget when a query names none.
    public let contextTokens: Int
    /// When answers are withheld, unless a query says otherwise: a default and per-collection
    /// policies (by the store's collection name).
    public let abstentionPolicies: AbstentionPolicies
    /// The guards' settings: a default, per tenant tier and per collection.
    public let guardrails: GuardrailSettings

    /// Creates a retriever.
    public init(
        store: any ChunkReader, embedder: any Embedder, answerer: ExtractiveAnswerer = ExtractiveAnswerer(),
        fusion: FusionSettings = FusionSettings(), cache: QueryCache? = nil, semanticCache: SemanticCache? = nil,
        contextTokens: Int = Retriever.defaultContextTokens,
        llm: LLMAnswerer? = nil, router: ModelRouter? = nil, abstention: AbstentionPolicies = AbstentionPolicies(),
        guardrails: GuardrailSettings = GuardrailSettings()
    ) {
        self.llm = llm
        self.router = router
        self.guardrails = guardrails
        self.abstentionPolicies = abstention
        self.contextTokens = contextTokens
        self.store = store
        self.embedder = embedder
        self.answerer = answerer
        self.fusion = fusion
        self.cache = cache
        self.semanticCache = cache == nil ? nil : semanticCache
    }

    /// The `topK` chunks of `collection` that best match `query`, best first.
    /// - Parameters:
    ///   - ef: HNSW candidate list size for large collections (1…1000; at least `topK`).
    ///   - mode: dense, lexical, or both fused (the default).
    ///   - filter: which chunks may be returned, applied inside each search.
    /// - Throws: `QuarryError.invalidRequest` for an empty query, a `topK` out of 1…100 or an
    ///   `ef` out of 1…1000,
    ///   `.notFound` for an unknown collection, `.conflict` when the collection was built with
    ///   another model (dense and hybrid search).
    ///   - limit: the largest `topK` allowed: `maxTopK` for API callers; evaluations ask for more.
    public func search(
        query: String, collection: String, topK: Int, ef: Int? = nil, mode: SearchMode = .hybrid,
        filter: SearchFilter? = nil, limit: Int = Retriever.maxTopK
    ) async throws -> (hits: [SearchHit], timings: QueryTimings) {
        try await search(query: query, collection: collection, topK: topK, ef: ef, mode: mode, filter: filter, limit: limit, vector: nil)
    }

    /// As `search`, with the query's embedding when the caller has it already.
    func search(
        query: String, collection: String, topK: Int, ef: Int?, mode: SearchMode, filter: SearchFilter?, limit: Int, vector: [Float]?
    ) async throws -> (hits: [SearchHit], timings: QueryTimings) {
        // Counted as foreground work: an ingest's embedding makes room while it runs.
        try await ForegroundWork.run {
            try await searchInForeground(
                query: query, collection: collection, topK: topK, ef: ef, mode: mode, filter: filter, limit: limit, vector: vector
            )
        }
    }

    /// As `search`, and what each retriever found on its own: the `topK` best of the dense and
    /// the lexical ranking (both run, whatever the mode), and where each hit stood in them —
    /// what a person tuning retrieval compares. Both rankings go as deep as hybrid search's.
    /// - Throws: as `search`.
    public func explain(
        query: String, collection: String, topK: Int, ef: Int? = nil, mode: SearchMode = .hybrid, filter: SearchFilter? = nil
    ) async throws -> (hits: [SearchHit], timings: QueryTimings, explanation: SearchExplanation) {
        // A lexical search of a collection embedded by another model is explained without its
        // dense side (the query cannot be compared with those vectors).
        var otherModel = false
        if mode == .lexical, let info = try await store.collection(named: collection) {
            otherModel = (try? info.checkModel(embedder.model)) == nil
        }
        let explaining: Explaining = otherModel ? .lexicalOnly : .both
        let (hits, timings, explanation) = try await ForegroundWork.run {
            try await searchInForeground(
                query: query, collection: collection, topK: topK, ef: ef, mode: mode, filter: filter, limit: Self.maxTopK, vector: nil,
                explaining: explaining
            )
        }
        return (hits, timings, explanation ?? SearchExplanation())
    }

    /// Which rankings an explained search reports.
    enum Explaining {
        case none, both, lexicalOnly
    }

    private func searchInForeground(
        query: String, collection: String, topK: Int, ef: Int?, mode: SearchMode, filter: SearchFilter?, limit: Int, vector given: [Float]?
    ) async throws -> (hits: [SearchHit], timings: QueryTimings) {
        let (hits, timings, _) = try await searchInForeground(
            query: query, collection: collection, topK: topK, ef: ef, mode: mode, filter: filter, limit: limit, vector: given, explaining: .none
        )
        return (hits, timings)
    }

    /// The search; when `explaining`, the rankings it names run whatever the mode, and what each
    /// found is returned too.
    private func searchInForeground(
        query: String, collection: String, topK: Int, ef: Int?, mode: SearchMode, filter: SearchFilter?, limit: Int, vector given: [Float]?,
        explaining: Explaining
    ) async throws -> (hits: [SearchHit], timings: QueryTimings, explanation: SearchExplanation?) {
        let text = try await check(query: query, collection: collection, topK: topK, ef: ef, mode: mode, limit: limit)
        var timings = QueryTimings()
        let start = ContinuousClock.now
        // Hybrid search asks each retriever for more than it returns, so fusion has a choice.
        let depth = mode == .hybrid || explaining != .none ? max(topK, min(max(fusion.candidates, 4 * topK), 200)) : topK

        // BM25 runs while the query is embedded: the two share nothing, and on a multi-core
        // machine the lexical search costs no latency beyond the embedding. Both rank without
        // reading text; only the chunks returned are read, after fusion.
        async let lexicalSearch = Self.lexical(
            mode == .dense && explaining == .none ? nil : store, collection: collection, query: text, k: depth, filter: filter
        )
        var dense: [RankedChunk] = []
        if mode != .lexical || explaining == .both {
            let vector: [Float]
            if let given { vector = given } else { vector = try await embed(text) }
            let embedded = ContinuousClock.now
            timings.embed = Self.milliseconds(embedded - start)
            dense = try await store.denseRanking(in: collection, query: vector, k: depth, ef: ef.map { max($0, depth) }, filter: filter)
            timings.dense = Self.milliseconds(ContinuousClock.now - embedded)
        }
        let (lexical, lexicalMilliseconds) = try await lexicalSearch
        timings.lexical = lexicalMilliseconds
        let fuseStart = ContinuousClock.now
        let hits: [SearchHit]
        switch mode {
        // (An explained search ranks deeper than `topK`.)
        case .dense: hits = try await store.hits(for: Array(dense.prefix(topK)))
        case .lexical: hits = try await store.hits(for: Array(lexical.prefix(topK)))
        case .hybrid:
            let fused = Self.fuse(dense: dense, lexical: lexical, settings: fusion, limit: topK)
            let read = try await store.hits(for: fused.map(\.ranked))
            let scores = Dictionary(uniqueKeysWithValues: fused.map { ($0.ranked.rowID, $0) })
            hits = read.map { hit in
                var hit = hit
                hit.denseScore = scores[hit.chunkRowID]?.denseScore
                hit.lexicalScore = scores[hit.chunkRowID]?.lexicalScore
                return hit
            }
        }
        let end = ContinuousClock.now
        timings.fuse = Self.milliseconds(end - fuseStart)
        timings.search = timings.dense + timings.lexical + timings.fuse
        timings.total = Self.milliseconds(end - start)
        guard explaining != .none else { return (hits, timings, nil) }
        var explanation = SearchExplanation()
        explanation.candidates = depth
        explanation.denseRanks = Dictionary(dense.enumerated().map { ($1.rowID, $0 + 1) }, uniquingKeysWith: min)
        explanation.lexicalRanks = Dictionary(lexical.enumerated().map { ($1.rowID, $0 + 1) }, uniquingKeysWith: min)
        explanation.dense = try await store.hits(for: Array(dense.prefix(topK)))
        explanation.lexical = try await store.hits(for: Array(lexical.prefix(topK)))
        return (hits, timings, explanation)
    }

    /// The query's text, trimmed, once the request is found sound.
    /// - Throws: as `search(query:collection:topK:)`.
    private func check(query: String, collection: String, topK: Int, ef: Int?, mode: SearchMode, limit: Int) async throws -> String {
        let text = query.trimmingWhitespace()
        guard !text.isEmpty else { throw QuarryError(.invalidRequest, "query must not be empty") }
        guard (1...limit).contains(topK) else {
            throw QuarryError(.invalidRequest, "top_k must be between 1 and \(limit), got \(topK)")
        }
        if let ef, !Self.efRange.contains(ef) {
            throw QuarryError(.invalidRequest, "ef must be between \(Self.efRange.lowerBound) and \(Self.efRange.upperBound), got \(ef)")
        }
        try CollectionName.validateStored(collection)
        guard let info = try await store.collection(named: collection) else {
            throw QuarryError(.notFound, "collection '\(collection)' does not exist")
        }
        if mode != .lexical { try info.checkModel(embedder.model) }
        return text
    }

    /// BM25 search and its duration; nothing without a store.
    private static func lexical(
        _ store: (any ChunkReader)?, collection: String, query: String, k: Int, filter: SearchFilter?
    ) async throws -> ([RankedChunk], Double) {
        guard let store else { return ([], 0) }
        let start = ContinuousClock.now
        let ranked = try await store.lexicalRanking(in: collection, query: query, k: k, filter: filter)
        return (ranked, milliseconds(ContinuousClock.now - start))
    }

    private func embed(_ text: String) async throws -> [Float] {
        do {
            guard let first = try await embedder.embed([text]).first else {
                throw QuarryError(.embedding, "the embedder returned no vector")
            }
            return first
        } catch let error as QuarryError {
            throw error
        } catch {
            throw QuarryError(.embedding, "cannot embed the query", underlying: error)
        }
    }

    /// Reciprocal-rank fusion of two rankings: each chunk scores the sum of `weight / (k + rank)`
    /// over the rankings that hold it; ties go to the better dense rank, then the lower row id.
    static func fuse(dense: [RankedChunk], lexical: [RankedChunk], settings: FusionSettings, limit: Int = .max) -> [FusedHit] {
        var fused: [Int64: FusedHit] = [:]
        fused.reserveCapacity(dense.count + lexical.count)
        for (index, chunk) in dense.enumerated() {
            var entry = fused[chunk.rowID] ?? FusedHit(ranked: chunk, score: 0, denseRank: Int.max)
            entry.score += settings.denseWeight / (settings.k + Double(index + 1))
            entry.denseRank = index
            entry.denseScore = chunk.score
            fused[chunk.rowID] = entry
        }
        for (index, chunk) in lexical.enumerated() {
            var entry = fused[chunk.rowID] ?? FusedHit(ranked: chunk, score: 0, denseRank: Int.max)
            entry.score += settings.lexicalWeight / (settings.k + Double(index + 1))
            entry.lexicalScore = chunk.score
            if entry.ranked.hit == nil { entry.ranked.hit = chunk.hit }
            fused[chunk.rowID] = entry
        }
        // The best `limit`, by the same heap the index and exact search select with.
        var best = Heap<FusedHit.WorstFirst>(minimumCapacity: min(limit, fused.count))
        for entry in fused.values { best.insert(entry, keepingBest: limit) }
        return best.removeAllTopLast().map { entry in
            var entry = entry
            entry.ranked.score = Float(entry.score)
            return entry
        }
    }

    /// Fusion of two rankings of read hits (as `fuse(dense:lexical:settings:limit:)`), each hit
    /// with its dense and lexical scores.
    static func fuse(dense: [SearchHit], lexical: [SearchHit], settings: FusionSettings, limit: Int = .max) -> [SearchHit] {
        let ranked = { (hits: [SearchHit]) in hits.map { RankedChunk(rowID: $0.chunkRowID, score: $0.score, hit: $0) } }
        return fuse(dense: ranked(dense), lexical: ranked(lexical), settings: settings, limit: limit).compactMap { entry in
            guard var hit = entry.ranked.hit else { return nil }
            hit.score = entry.ranked.score
            hit.denseScore = entry.denseScore
            hit.lexicalScore = entry.lexicalScore
            return hit
        }
    }

    /// Answers `query` from the `topK` nearest chunks of `collection`.
    /// - Parameters:
    ///   - answer: who writes the answer: nobody, the extractive answerer, or the chat model.
    ///   - maxTokens: the LLM answer's length limit (the configured default when `nil`).
    ///   - guardrails: the guards' policy (the configured one of `collection`, for no tier, when
    ///     `nil`): a question that reads as prompt injection is refused, flagged passages are
    ///     excluded or fenced, personal data is redacted from the passages given to the answerer
    ///     and from the answer.
    ///   - events: when given, the answer is streamed: this gets the sources first, then the
    ///     answer's text as it is written and each source when it is first cited. The returned
    ///     result holds the whole answer. With output rules on, text is passed on a sentence at a
    ///     time, each checked first.
    /// - Throws: as `search(query:collection:topK:)`; `QuarryError.invalidRequest` for an LLM
    ///   answer without a configured LLM, `.llmUnavailable` when every model failed (and
    ///   falling back to an extractive answer is off, or text had already been streamed).
    public func answer(
        query: String, collection: String, topK: Int, ef: Int? = nil, mode: SearchMode = .hybrid,
        filter: SearchFilter? = nil, maxContextTokens: Int? = nil, answer kind: AnswerKind = .extractive,
        maxTokens: Int? = nil, abstention policy: AbstentionPolicy = AbstentionPolicy(),
        guardrails guardPolicy: GuardrailPolicy? = nil, tier: String? = nil, model: String? = nil,
        events: (@Sendable (AnswerEvent) async throws -> Void)? = nil
    ) async throws -> QueryResult {
        try policy.validate()
        if model != nil, kind != .llm {
            throw QuarryError(.invalidRequest, "model names the chat model of an answer 'llm'; this request asks for answer '\(kind.rawValue)'")
        }
        let guardPolicy = guardPolicy ?? guardrails.policy(collection: collection, tier: nil)
        let budget = maxContextTokens ?? contextTokens
        guard Self.contextTokensRange.contains(budget) else {
            throw QuarryError(
                .invalidRequest,
                "max_context_tokens must be between \(Self.contextTokensRange.lowerBound) and \(Self.contextTokensRange.upperBound), got \(budget)"
            )
        }
        if let maxTokens, !Self.maxTokensRange.contains(maxTokens) {
            throw QuarryError(
                .invalidRequest, "max_tokens must be between \(Self.maxTokensRange.lowerBound) and \(Self.maxTokensRange.upperBound), got \(maxTokens)"
            )
        }
        if kind == .llm, llm == nil {
            throw QuarryError(
                .invalidRequest,
                "answer 'llm' needs a chat model, and this server has none: set llm.base_url and llm.model (see docs/configuration.md), or ask for answer 'extractive'"
            )
        }
        // The models an LLM answer may come from, chosen by the caller's tier and the question,
        // or the one the request names.
        var route = kind == .llm ? router?.route(tier: tier, question: query) : nil
        if kind == .llm, let model { route = try chosenModel(model, tier: tier, routed: route) }
        var key: QueryCache.Key?
        if let cache, let info = try await store.collection(named: collection) {
            let cacheKey = QueryCache.Key(
                scope: QueryCache.Scope(
                    collection: collection, generation: info.generation, topK: topK, ef: ef, mode: mode,
                    filter: filter.flatMap { $0.isEmpty ? nil : $0 }, maxContextTokens: budget, answer: kind, maxTokens: maxTokens,
                    abstention: policy, guardrails: guardPolicy,
                    route: route.map { "\($0.decision.route):\($0.decision.models.joined(separator: ","))" }
                ),
                query: query.trimmingWhitespace()
            )
            if var hit = cache.result(for: cacheKey) {
                hit.cached = true
                hit.cache = CacheHit(kind: .exact)
                if let events { try await Self.replay(hit, to: events) }
                return hit
            }
            key = cacheKey
        }
        let start = ContinuousClock.now
        let textGuard = TextGuard(policy: guardPolicy)
        let questionFlag = textGuard.checkQuestion(query)
        if let flag = questionFlag, flag.action == .refused {
            // A question that reads as an attack on the prompt is not searched nor answered (a
            // request that is wrong in itself is still refused as such).
            _ = try await check(query: query, collection: collection, topK: topK, ef: ef, mode: mode, limit: Self.maxTopK)
            var result = QueryResult(answer: Self.noAnswer, grounded: false, citations: [], timings: QueryTimings(), answerer: kind)
            result.abstention = .guardrail
            result.guardrails = [flag]
            if kind == .none { result.answer = "" }
            if let events {
                try await events(.retrieval([], result.timings))
                if kind != .none { try await events(.delta(Self.noAnswer)) }
            }
            result.timings.total = Self.milliseconds(ContinuousClock.now - start)
            return result
        }
        // The semantic cache: the question's embedding (which dense search then uses) against
        // the questions answered before in the same scope (only those, so the search's checks
        // of the request still come first for anything new).
        var semantic: (vector: [Float], milliseconds: Double)?
        if let semanticCache, let key, mode != .lexical, !key.query.isEmpty {
            let embedStart = ContinuousClock.now
            let vector = try await embed(key.query)
            if let hit = semanticCache.lookup(key.query, vector: vector, in: key.scope) {
                var result = hit.result
                result.cached = true
                result.cache = CacheHit(kind: .semantic, similarity: hit.similarity)
                var timings = QueryTimings()
                timings.embed = Self.milliseconds(ContinuousClock.now - embedStart)
                timings.total = Self.milliseconds(ContinuousClock.now - start)
                result.timings = timings
                if let events { try await Self.replay(result, to: events) }
                return result
            }
            semantic = (vector, Self.milliseconds(ContinuousClock.now - embedStart))
        }
        var (hits, timings) = try await search(
            query: query, collection: collection, topK: topK, ef: ef, mode: mode, filter: filter, limit: Self.maxTopK, vector: semantic?.vector
        )
        if let semantic {
            timings.embed = semantic.milliseconds
            timings.total += semantic.milliseconds
        }
        let assembleStart = ContinuousClock.now
        var citations = ContextAssembler(maxTokens: budget) { [embedder] in embedder.tokenCount($0) }.assemble(hits)
        // The guards read the passages as assembled: injection flags first (on the text as
        // stored), then personal data redacted from what the answerer and the caller see.
        var flags = questionFlag.map { [$0] } ?? []
        let (passageFlags, flaggedPassages) = textGuard.checkPassages(citations)
        flags += passageFlags
        if guardPolicy.answers != .off {
            var redactedEntities = Set<String>()
            var score = 0.0
            for index in citations.indices {
                let (text, found) = textGuard.redactPersonalData(citations[index].text)
                guard let found else { continue }
                citations[index].text = text
                redactedEntities.formUnion(found.entities)
                score = max(score, found.score)
            }
            if !redactedEntities.isEmpty {
                flags.append(GuardrailFlag(kind: .personalData, location: .passage, score: score, signals: redactedEntities.sorted(), action: .redacted))
            }
        }
        let answerStart = ContinuousClock.now
        timings.assemble = Self.milliseconds(answerStart - assembleStart)
        if let events {
            var sent = timings
            sent.total = Self.milliseconds(answerStart - start)
            try await events(.retrieval(citations, sent))
        }

        var result = QueryResult(answer: "", grounded: false, citations: citations, timings: timings, answerer: kind)
        result.guardrails = flags
        result.routing = route?.decision
        let excluded = guardPolicy.passages == .exclude ? flaggedPassages : []
        let guarded = GuardedAnswer(
            answerGuard: AnswerGuard(textGuard: textGuard, flaggedPassages: flaggedPassages),
            usable: citations.filter { !excluded.contains($0.id) },
            fenced: guardPolicy.passages == .fence ? flaggedPassages : [],
            reading: AnswerEvidence.Reading(question: query, citations: citations)
        )
        // What retrieval alone says; below the threshold there is nothing worth answering from
        // (and no model call is paid for).
        let retrieved = AnswerEvidence.assess(
            question: query, hits: hits, citations: citations, mode: mode, answer: nil, model: embedder.model.name, reading: guarded.reading
        )
        result.evidence = retrieved
        result.retrievalConfidence = retrieved.confidence
        let mayAbstain = policy.mode == .auto
        if citations.isEmpty || (mayAbstain && retrieved.confidence < policy.threshold) || guarded.usable.isEmpty {
            // A guard is the reason only when it left nothing to answer from.
            result.abstention = !citations.isEmpty && guarded.usable.isEmpty ? .guardrail : .noRelevantPassage
            if kind != .none {
                result.answer = Self.noAnswer
                if let events { try await events(.delta(Self.noAnswer)) }
            }
        } else {
            switch kind {
            case .none:
                result.grounded = true
            case .extractive:
                try await answerExtractively(query: query, hits: hits, mode: mode, policy: policy, guarded: guarded, into: &result, events: events)
            case .llm where route?.decision.extractive == true:
                // The tier's route names no model: an extractive answer, as the route says.
                try await answerExtractively(query: query, hits: hits, mode: mode, policy: policy, guarded: guarded, into: &result, events: events)
            case .llm:
                try await answerWithLLM(
                    query: query, hits: hits, mode: mode, policy: policy, guarded: guarded, maxTokens: maxTokens, route: route, into: &result,
                    events: events
                )
            }
        }
        let end = ContinuousClock.now
        result.timings.answer = Self.milliseconds(end - answerStart)
        result.timings.total = Self.milliseconds(end - start)
        if let cache, let key, result.generation?.failures.isEmpty ?? true, result.answerer == kind {
            cache.store(result, for: key)
            if let semanticCache, let semantic {
                semanticCache.store(result, question: key.query, vector: semantic.vector, in: key.scope)
            }
        }
        return result
    }

    /// The chat models a caller of `tier` may name in a request (`model`): every model of the
    /// tier's routes (the default routes for a tier without its own), or without routing the
    /// configured chain; none without a chat model.
    public func selectableModels(tier: String?) -> [ChatModel] {
        guard let llm else { return [] }
        guard let router else { return llm.client.settings.models }
        let routes = tier.flatMap { router.tiers[$0] } ?? router.defaultRoutes
        var seen = Set<String>()
        return ([routes.chain] + [routes.short, routes.long].compactMap { $0 }).flatMap(\.models).filter { seen.insert($0.name).inserted }
    }

    /// The route of a request that names its model: that model alone, if the caller may use it.
    /// - Throws: `QuarryError.invalidRequest` naming the models it may use.
    private func chosenModel(_ name: String, tier: String?, routed: ModelSelection?) throws -> ModelSelection {
        let selectable = selectableModels(tier: tier)
        guard let chosen = selectable.first(where: { $0.name == name }) else {
            let names = selectable.map { "'\($0.name)'" }.joined(separator: ", ")
            throw QuarryError(
                .invalidRequest,
                "model '\(name.prefix(100))' is not one this key may ask for; "
                    + (selectable.isEmpty ? "its tier's routes name no chat model" : "it may ask for \(names)")
            )
        }
        let decision = RoutingDecision(
            tier: tier, route: "request.model", models: [chosen.name], extractive: false,
            fallbackToExtractive: routed?.decision.fallbackToExtractive ?? llm?.fallbackToExtractive ?? false, questionShape: nil,
            reason: "the request named model '\(chosen.name)'" + (router == nil ? ", one of the configured chain" : ", one of its routes' models")
        )
        return ModelSelection(decision: decision, models: [chosen])
    }

    /// The abstention policy of `collection` (a store name) when a query names none.
    public func abstention(for collection: String) -> AbstentionPolicy {
        abstentionPolicies.collections[collection] ?? abstentionPolicies.default
    }

    /// The range of `max_tokens` a caller may ask for.
    public static let maxTokensRange = 1...16_384

    private func answerExtractively(
        query: String, hits: [SearchHit], mode: SearchMode, policy: AbstentionPolicy, guarded: GuardedAnswer,
        into result: inout QueryResult, events: (@Sendable (AnswerEvent) async throws -> Void)?
    ) async throws {
        let written = answerer.answer(query: query, citations: guarded.usable)
        result.answerer = .extractive
        var answer = written
        if let text = written {
            let (shown, flags) = guarded.answerGuard.review(answer: text)
            result.guardrails = AnswerGuard.merge(result.guardrails, flags)
            answer = shown
        }
        result.answer = answer ?? Self.noAnswer
        result.check = answer.map { AnswerCheck.check($0, sources: Set(guarded.usable.map(\.id))) }
        result.grounded = result.check?.fullyCited ?? false
        if let answer {
            let evidence = AnswerEvidence.assess(
                question: query, hits: hits, citations: result.citations, mode: mode, answer: answer, model: embedder.model.name,
                reading: guarded.reading
            )
            result.evidence = evidence
            if policy.mode == .auto, evidence.confidence < policy.threshold { withhold(&result, .noRelevantPassage) }
        } else {
            withhold(&result, written == nil ? .noRelevantPassage : .guardrail)
        }
        if let events { try await Self.stream(result.answer, citations: result.citations, to: events) }
    }

    /// Replaces the answer by the abstention, keeping the passages looked at.
    private func withhold(_ result: inout QueryResult, _ reason: AbstentionReason) {
        result.abstention = reason
        result.answer = Self.noAnswer
        result.grounded = false
    }

    private func answerWithLLM(
        query: String, hits: [SearchHit], mode: SearchMode, policy: AbstentionPolicy, guarded: GuardedAnswer, maxTokens: Int?,
        route: ModelSelection?, into result: inout QueryResult, events: (@Sendable (AnswerEvent) async throws -> Void)?
    ) async throws {
        guard let llm else { return }
        guard !result.citations.isEmpty else {
            // Nothing was retrieved: there is nothing to ground an answer in, so no model call.
            result.answer = Self.noAnswer
            if let events { try await events(.delta(Self.noAnswer)) }
            return
        }
        let tracker = CitationTracker(citations: result.citations, events: events)
        // Streamed text goes through the output rules before the caller sees it.
        let output = GuardedStream(answerGuard: guarded.answerGuard) { text in try await tracker.receive(text) }
        let generateStart = ContinuousClock.now
        do {
            let answer = try await llm.answer(
                query: query, citations: guarded.usable, fenced: guarded.fenced, maxTokens: maxTokens, models: route?.models,
                stream: events != nil,
                tokenCount: { [embedder] in embedder.tokenCount($0) }
            ) { text in
                try await output.receive(text)
            }
            result.timings.generate = Self.milliseconds(ContinuousClock.now - generateStart)
            var text = answer.text
            var refused = false
            if let written = answer.text, guarded.answerGuard.isActive {
                if events != nil {
                    try await output.finish()
                    refused = await output.refused
                    let shown = await output.shown
                    text = refused || shown.isEmpty ? nil : shown.joined(separator: " ")
                    result.guardrails = AnswerGuard.merge(result.guardrails, await output.flags)
                } else {
                    let (shown, flags) = guarded.answerGuard.review(answer: written)
                    result.guardrails = AnswerGuard.merge(result.guardrails, flags)
                    refused = shown == nil
                    text = shown
                }
            }
            result.answer = text ?? Self.noAnswer
            if answer.text == nil, events != nil { try await tracker.receive(Self.noAnswer) }
            result.check = text.map { AnswerCheck.check($0, sources: Set(guarded.usable.map(\.id))) }
            result.grounded = result.check?.fullyCited ?? false
            result.usage = answer.usage
            result.generation = answer.generation
            if let text {
                result.evidence = AnswerEvidence.assess(
                    question: query, hits: hits, citations: result.citations, mode: mode, answer: text, model: embedder.model.name,
                    reading: guarded.reading
                )
            }
            if answer.text != nil, text == nil {
                // The output rules withheld the answer, or dropped every sentence of it.
                withhold(&result, .guardrail)
            } else if policy.mode == .auto, answer.text == nil || !result.grounded {
                // An answer that cites what it was not given, leaves a sentence uncited, or says
                // the documents do not answer is not a grounded answer: with `auto`, it is an
                // abstention (streamed text included: the stream's last event says so).
                result.abstention = .unsupportedAnswer
                result.grounded = false
                if answer.text != nil { result.answer = Self.noAnswer }
            }
        } catch let error as ChatError {
            result.timings.generate = Self.milliseconds(ContinuousClock.now - generateStart)
            let streamed = await tracker.hasText
            guard route?.decision.fallbackToExtractive ?? llm.fallbackToExtractive, !streamed else {
                throw QuarryError(.llmUnavailable, "the chat model did not answer: \(error.message)", underlying: error)
            }
            result.generation = GenerationInfo(
                model: "", attempts: error.attempts,
                failures: !error.failures.isEmpty ? error.failures : error.message.isEmpty ? [] : [error.message], truncated: false
            )
            try await answerExtractively(query: query, hits: hits, mode: mode, policy: policy, guarded: guarded, into: &result, events: events)
        }
    }

    /// Streams a finished answer: sentence by sentence, each source when first cited.
    private static func stream(
        _ answer: String, citations: [Citation], to events: @Sendable (AnswerEvent) async throws -> Void
    ) async throws {
        var cited = Set<Int>()
        var sentences = AnswerCheck.citedSentences(answer)
        // Sentence by sentence only when the pieces make up the answer exactly.
        if sentences.joined(separator: " ") != answer { sentences = [answer] }
        for (index, sentence) in sentences.enumerated() {
            try await events(.delta(index == 0 ? sentence : " " + sentence))
            for number in CitationMarkers.numbers(in: sentence) where cited.insert(number).inserted {
                if let citation = citations.first(where: { $0.id == number }) { try await events(.citation(citation)) }
            }
        }
    }

    /// Replays a cached result as the events of a streamed query.
    private static func replay(_ result: QueryResult, to events: @Sendable (AnswerEvent) async throws -> Void) async throws {
        try await events(.retrieval(result.citations, result.timings))
        if result.answerer != .none { try await stream(result.answer, citations: result.citations, to: events) }
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

/// What the answerers may use once the guards have read the passages.
struct GuardedAnswer: Sendable {
    /// The output rules.
    var answerGuard: AnswerGuard
    /// The passages an answer may draw on (flagged ones left out when the policy excludes them).
    var usable: [Citation]
    /// Citation numbers of passages given to a chat model inside fences.
    var fenced: Set<Int>
    /// The passages read for the question's words, shared by the assessments before and after
    /// the answer.
    var reading: AnswerEvidence.Reading
}

/// Passes a streamed answer on as `delta` events, with a `citation` event the first time the
/// text cites each given source.
actor CitationTracker {
    private let citations: [Citation]
    private let events: (@Sendable (AnswerEvent) async throws -> Void)?
    private var received = false
    /// Text after the last complete `]`, where a marker may still be arriving.
    private var pending = ""
    private var cited = Set<Int>()

    init(citations: [Citation], events: (@Sendable (AnswerEvent) async throws -> Void)?) {
        self.citations = citations
        self.events = events
    }

    /// Whether any text has been passed on.
    var hasText: Bool { received }

    func receive(_ piece: String) async throws {
        guard let events, !piece.isEmpty else { return }
        received = true
        try await events(.delta(piece))
        pending += piece
        guard let lastClose = pending.lastIndex(of: "]") else { return }
        let complete = String(pending[...lastClose])
        pending = String(pending[pending.index(after: lastClose)...])
        for number in CitationMarkers.numbers(in: complete) where cited.insert(number).inserted {
            if let citation = citations.first(where: { $0.id == number }) { try await events(.citation(citation)) }
        }
    }
}

/// One chunk in reciprocal-rank fusion: its hit, its fused score, and its dense rank (ties go to
/// the better dense rank, then the lower row id).
struct FusedHit {
    /// The chunk, its score the fused one once fusion is done.
    var ranked: RankedChunk
    var score: Double
    var denseRank: Int
    /// The cosine similarity, when dense search found the chunk.
    var denseScore: Float?
    /// The BM25 score, when lexical search found the chunk.
    var lexicalScore: Float?

    /// Worse hits on top: a heap in this order keeps the best `k`.
    enum WorstFirst: HeapOrder {
        static func ranksAbove(_ a: FusedHit, _ b: FusedHit) -> Bool {
            (a.score, b.denseRank, b.ranked.rowID) < (b.score, a.denseRank, a.ranked.rowID)
        }
    }
}

/// What each retriever found on its own for one query (`Retriever.explain`).
public struct SearchExplanation: Sendable {
    /// The dense ranking's best chunks, best first, scored by cosine similarity; empty when the
    /// collection was embedded by another model and the search was lexical.
    public var dense: [SearchHit] = []
    /// The lexical ranking's best chunks, best first, scored by BM25.
    public var lexical: [SearchHit] = []
    /// How deep each ranking went (the candidates hybrid search fuses).
    public var candidates = 0
    /// Ranks (1-based) of the chunks in each ranking, by chunk row id, to the full depth.
    public var denseRanks: [Int64: Int] = [:]
    /// See `denseRanks`.
    public var lexicalRanks: [Int64: Int] = [:]
}
