import Foundation
import QuarryCore
import QuarryEmbedding
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
    /// Building the answer.
    public var answer: Double = 0
    /// The whole query.
    public var total: Double = 0

    /// Creates zero timings.
    public init() {}
}

/// The result of a query: an answer whose sentences cite numbered sources.
public struct QueryResult: Sendable {
    /// The answer text; each sentence ends with `[n]` naming its citation.
    public var answer: String
    /// Whether the answer is grounded in the sources (`false` when nothing relevant was found).
    public var grounded: Bool
    /// The sources, numbered from 1, best first.
    public var citations: [Citation]
    /// Stage timings.
    public var timings: QueryTimings
    /// Whether the result came from the result cache (its timings are the original query's).
    public var cached = false
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
    public static let defaultContextTokens = 2_000
    /// What the answer says when no retrieved passage matches the query.
    public static let noAnswer = "No passage in the collection answers this query."

    private let store: any ChunkStore
    /// The model queries are embedded with.
    public let embedder: any Embedder
    private let answerer: ExtractiveAnswerer
    /// How hybrid search fuses dense and lexical rankings.
    public let fusion: FusionSettings
    /// Results of identical queries on an unchanged collection; `nil` to always search.
    public let cache: QueryCache?
    /// The context budget when a query names none.
    public let contextTokens: Int

    /// Creates a retriever.
    public init(
        store: any ChunkStore, embedder: any Embedder, answerer: ExtractiveAnswerer = ExtractiveAnswerer(),
        fusion: FusionSettings = FusionSettings(), cache: QueryCache? = nil, contextTokens: Int = Retriever.defaultContextTokens
    ) {
        self.contextTokens = contextTokens
        self.store = store
        self.embedder = embedder
        self.answerer = answerer
        self.fusion = fusion
        self.cache = cache
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
    public func search(
        query: String, collection: String, topK: Int, ef: Int? = nil, mode: SearchMode = .hybrid,
        filter: SearchFilter? = nil
    ) async throws -> (hits: [SearchHit], timings: QueryTimings) {
        let text = query.trimmingWhitespace()
        guard !text.isEmpty else { throw QuarryError(.invalidRequest, "query must not be empty") }
        guard (1...Self.maxTopK).contains(topK) else {
            throw QuarryError(.invalidRequest, "top_k must be between 1 and \(Self.maxTopK), got \(topK)")
        }
        if let ef, !Self.efRange.contains(ef) {
            throw QuarryError(.invalidRequest, "ef must be between \(Self.efRange.lowerBound) and \(Self.efRange.upperBound), got \(ef)")
        }
        try CollectionName.validate(collection)
        guard let info = try store.collection(named: collection) else {
            throw QuarryError(.notFound, "collection '\(collection)' does not exist")
        }
        if mode != .lexical, info.model.name != embedder.model.name || info.model.dimension != embedder.model.dimension {
            throw QuarryError(
                .conflict,
                "collection '\(collection)' was built with \(info.model.name) (dimension \(info.model.dimension)); this server runs \(embedder.model.name)"
            )
        }
        var timings = QueryTimings()
        let start = ContinuousClock.now
        // Hybrid search asks each retriever for more than it returns, so fusion has a choice.
        let depth = mode == .hybrid ? min(max(fusion.candidates, 4 * topK), 200) : topK

        var dense: [SearchHit] = []
        if mode != .lexical {
            let vector = try await embed(text)
            let embedded = ContinuousClock.now
            timings.embed = Self.milliseconds(embedded - start)
            dense = try store.search(in: collection, query: vector, k: depth, ef: ef.map { max($0, depth) }, filter: filter)
            timings.dense = Self.milliseconds(ContinuousClock.now - embedded)
        }
        var lexical: [SearchHit] = []
        if mode != .dense {
            let lexicalStart = ContinuousClock.now
            lexical = try store.lexicalSearch(in: collection, query: text, k: depth, filter: filter)
            timings.lexical = Self.milliseconds(ContinuousClock.now - lexicalStart)
        }
        let fuseStart = ContinuousClock.now
        let hits: [SearchHit]
        switch mode {
        case .dense: hits = dense
        case .lexical: hits = lexical
        case .hybrid: hits = Array(Self.fuse(dense: dense, lexical: lexical, settings: fusion).prefix(topK))
        }
        let end = ContinuousClock.now
        timings.fuse = Self.milliseconds(end - fuseStart)
        timings.search = timings.dense + timings.lexical + timings.fuse
        timings.total = Self.milliseconds(end - start)
        return (hits, timings)
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
    static func fuse(dense: [SearchHit], lexical: [SearchHit], settings: FusionSettings) -> [SearchHit] {
        var fused: [Int64: (hit: SearchHit, score: Double, denseRank: Int)] = [:]
        for (index, hit) in dense.enumerated() {
            var entry = fused[hit.chunkRowID] ?? (hit, 0, Int.max)
            entry.score += settings.denseWeight / (settings.k + Double(index + 1))
            entry.denseRank = index
            entry.hit.denseScore = hit.score
            fused[hit.chunkRowID] = entry
        }
        for (index, hit) in lexical.enumerated() {
            var entry = fused[hit.chunkRowID] ?? (hit, 0, Int.max)
            entry.score += settings.lexicalWeight / (settings.k + Double(index + 1))
            entry.hit.lexicalScore = hit.score
            fused[hit.chunkRowID] = entry
        }
        return fused.values
            .sorted { ($1.score, $0.denseRank, $0.hit.chunkRowID) < ($0.score, $1.denseRank, $1.hit.chunkRowID) }
            .map { entry in
                var hit = entry.hit
                hit.score = Float(entry.score)
                return hit
            }
    }

    /// Answers `query` from the `topK` nearest chunks of `collection`.
    /// - Throws: as `search(query:collection:topK:)`.
    public func answer(
        query: String, collection: String, topK: Int, ef: Int? = nil, mode: SearchMode = .hybrid,
        filter: SearchFilter? = nil, maxContextTokens: Int? = nil
    ) async throws -> QueryResult {
        let budget = maxContextTokens ?? contextTokens
        guard Self.contextTokensRange.contains(budget) else {
            throw QuarryError(
                .invalidRequest,
                "max_context_tokens must be between \(Self.contextTokensRange.lowerBound) and \(Self.contextTokensRange.upperBound), got \(budget)"
            )
        }
        var key: QueryCache.Key?
        if let cache, let info = try store.collection(named: collection) {
            let cacheKey = QueryCache.Key(
                collection: collection, generation: info.generation, query: query.trimmingWhitespace(), topK: topK, ef: ef,
                mode: mode, filter: filter.flatMap { $0.isEmpty ? nil : $0 }, maxContextTokens: budget
            )
            if var hit = cache.result(for: cacheKey) {
                hit.cached = true
                return hit
            }
            key = cacheKey
        }
        let start = ContinuousClock.now
        var (hits, timings) = try await search(
            query: query, collection: collection, topK: topK, ef: ef, mode: mode, filter: filter
        )
        let assembleStart = ContinuousClock.now
        let citations = ContextAssembler(maxTokens: budget) { [embedder] in embedder.tokenCount($0) }.assemble(hits)
        let answerStart = ContinuousClock.now
        timings.assemble = Self.milliseconds(answerStart - assembleStart)
        let answer = answerer.answer(query: query, citations: citations)
        let end = ContinuousClock.now
        timings.answer = Self.milliseconds(end - answerStart)
        timings.total = Self.milliseconds(end - start)
        let result = QueryResult(
            answer: answer ?? Self.noAnswer, grounded: answer != nil, citations: citations, timings: timings
        )
        if let cache, let key { cache.store(result, for: key) }
        return result
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
