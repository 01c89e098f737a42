import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryStore

/// How long each stage of a query took, in milliseconds.
public struct QueryTimings: Sendable, Codable, Equatable {
    /// Embedding the query.
    public var embed: Double = 0
    /// Searching the store.
    public var search: Double = 0
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
}

/// Runs queries against a store: embeds the query, finds the nearest chunks, answers from them.
public struct Retriever: Sendable {
    /// The largest `top_k` a caller may ask for.
    public static let maxTopK = 100
    /// The range of `ef` a caller may ask for.
    public static let efRange = 1...1000
    /// What the answer says when no retrieved passage matches the query.
    public static let noAnswer = "No passage in the collection answers this query."

    private let store: any ChunkStore
    /// The model queries are embedded with.
    public let embedder: any Embedder
    private let answerer: ExtractiveAnswerer

    /// Creates a retriever.
    public init(store: any ChunkStore, embedder: any Embedder, answerer: ExtractiveAnswerer = ExtractiveAnswerer()) {
        self.store = store
        self.embedder = embedder
        self.answerer = answerer
    }

    /// The `topK` chunks nearest to `query` in `collection`, best first.
    /// - Parameter ef: HNSW candidate list size for large collections (1…1000; at least `topK`).
    /// - Throws: `QuarryError.invalidRequest` for an empty query, a `topK` out of 1…100 or an
    ///   `ef` out of 1…1000,
    ///   `.notFound` for an unknown collection, `.conflict` when the collection was built with
    ///   another model.
    public func search(
        query: String, collection: String, topK: Int, ef: Int? = nil
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
        guard info.model.name == embedder.model.name, info.model.dimension == embedder.model.dimension else {
            throw QuarryError(
                .conflict,
                "collection '\(collection)' was built with \(info.model.name) (dimension \(info.model.dimension)); this server runs \(embedder.model.name)"
            )
        }
        var timings = QueryTimings()
        let start = ContinuousClock.now
        let vector: [Float]
        do {
            guard let first = try await embedder.embed([text]).first else {
                throw QuarryError(.embedding, "the embedder returned no vector")
            }
            vector = first
        } catch let error as QuarryError {
            throw error
        } catch {
            throw QuarryError(.embedding, "cannot embed the query", underlying: error)
        }
        let embedded = ContinuousClock.now
        let hits = try store.search(in: collection, query: vector, k: topK, ef: ef.map { max($0, topK) })
        let searched = ContinuousClock.now
        timings.embed = Self.milliseconds(embedded - start)
        timings.search = Self.milliseconds(searched - embedded)
        timings.total = Self.milliseconds(searched - start)
        return (hits, timings)
    }

    /// Answers `query` from the `topK` nearest chunks of `collection`.
    /// - Throws: as `search(query:collection:topK:)`.
    public func answer(query: String, collection: String, topK: Int, ef: Int? = nil) async throws -> QueryResult {
        let start = ContinuousClock.now
        var (hits, timings) = try await search(query: query, collection: collection, topK: topK, ef: ef)
        let answerStart = ContinuousClock.now
        let citations = hits.enumerated().map { index, hit in
            Citation(
                id: index + 1, document: hit.document, chunkID: hit.chunkID, text: hit.text, score: hit.score,
                location: hit.location
            )
        }
        let answer = answerer.answer(query: query, citations: citations)
        let end = ContinuousClock.now
        timings.answer = Self.milliseconds(end - answerStart)
        timings.total = Self.milliseconds(end - start)
        return QueryResult(
            answer: answer ?? Self.noAnswer, grounded: answer != nil, citations: citations, timings: timings
        )
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
