import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryGuard
import QuarryIngest
@testable import QuarryRetrieval
import QuarryStore
import QuarryTestSupport
import Testing

/// The semantic cache (issue 17): a paraphrase in the same scope gets the cached answer; a
/// question that differs where embeddings are blind (a negation, a number, a name) misses even
/// when its vector is as close; nothing crosses a scope, a generation or the time to live.
@Suite struct SemanticCacheTests {
    /// A unit vector near `base`: `base` turned by a small angle towards another axis.
    static func vector(_ base: Int, nudge: Float = 0, dimension: Int = 16) -> [Float] {
        var v = [Float](repeating: 0, count: dimension)
        v[base] = 1
        v[(base + 1) % dimension] = nudge
        let norm = (1 + nudge * nudge).squareRoot()
        return v.map { $0 / norm }
    }

    static func scope(_ collection: String = "docs", generation: Int64 = 1, filter: SearchFilter? = nil) -> SemanticCache.Scope {
        SemanticCache.Scope(
            collection: collection, generation: generation, topK: 5, ef: nil, mode: .hybrid, filter: filter, maxContextTokens: 2000,
            answer: .extractive, maxTokens: nil, abstention: AbstentionPolicy(), guardrails: GuardrailPolicy()
        )
    }

    static func result(_ answer: String) -> QueryResult {
        QueryResult(answer: answer, grounded: true, citations: [], timings: QueryTimings())
    }

    @Test func aParaphraseInTheSameScopeGetsTheAnswer() {
        let cache = SemanticCache(capacity: 8, threshold: 0.9)
        cache.store(Self.result("WAL is enabled with a pragma [1]."), question: "How do I enable WAL mode in SQLite?", vector: Self.vector(0), in: Self.scope())
        let hit = cache.lookup("How can I enable WAL mode in SQLite?", vector: Self.vector(0, nudge: 0.2), in: Self.scope())
        #expect(hit?.result.answer == "WAL is enabled with a pragma [1].")
        #expect((hit?.similarity ?? 0) > 0.97)
        // Too far: a miss.
        #expect(cache.lookup("How can I enable WAL mode in SQLite?", vector: Self.vector(0, nudge: 1), in: Self.scope()) == nil)
        #expect(cache.statistics.hits == 1 && cache.statistics.misses == 1)
    }

    @Test(arguments: [
        ("How do I turn on WAL mode in SQLite?", "How do I turn off WAL mode in SQLite?", QuestionMatch.Mismatch.negation),
        ("How do I enable compression?", "How do I disable compression?", .negation),
        ("Can I run the index with encryption?", "Can I run the index without encryption?", .negation),
        ("What are the top 5 results for HNSW?", "What are the top 10 results for HNSW?", .number),
        ("How do I back up a SQLite store?", "How do I back up a PostgreSQL store?", .entity),
    ])
    func aQuestionThatDiffersWhereEmbeddingsAreBlindMisses(cached: String, asked: String, reason: QuestionMatch.Mismatch) {
        let cache = SemanticCache(capacity: 8, threshold: 0.9)
        cache.store(Self.result("the cached answer"), question: cached, vector: Self.vector(0), in: Self.scope())
        // The same vector: only the question check stands between the two.
        #expect(cache.lookup(asked, vector: Self.vector(0), in: Self.scope()) == nil)
        #expect(cache.statistics.refused[reason] == 1, "\(cache.statistics.refused)")
        #expect(QuestionMatch.mismatch(cached: cached, candidate: asked) == reason)
    }

    @Test func nothingCrossesAScopeAGenerationOrTheTimeToLive() {
        let cache = SemanticCache(capacity: 8, threshold: 0.9, timeToLive: .seconds(60))
        let start = ContinuousClock.now
        let question = "How are checkpoints run?"
        cache.store(Self.result("answer"), question: question, vector: Self.vector(3), in: Self.scope(), now: start)
        #expect(cache.lookup(question, vector: Self.vector(3), in: Self.scope(), now: start) != nil)
        // Another collection (another tenant's store name), other document permissions, a newer generation.
        #expect(cache.lookup(question, vector: Self.vector(3), in: Self.scope("acme~docs"), now: start) == nil)
        let permitted = SearchFilter(visibleTo: ["group:ops"])
        #expect(cache.lookup(question, vector: Self.vector(3), in: Self.scope(filter: permitted), now: start) == nil)
        #expect(cache.lookup(question, vector: Self.vector(3), in: Self.scope(generation: 2), now: start) == nil)
        // Past its time to live.
        #expect(cache.lookup(question, vector: Self.vector(3), in: Self.scope(), now: start + .seconds(61)) == nil)
        #expect(cache.statistics.entries == 0)
        // A newer generation's answer drops the older generation's at once.
        cache.store(Self.result("old"), question: question, vector: Self.vector(3), in: Self.scope(generation: 1), now: start)
        cache.store(Self.result("new"), question: "Another question?", vector: Self.vector(5), in: Self.scope(generation: 2), now: start)
        #expect(cache.statistics.entries == 1)
    }

    @Test func boundedByItsCapacity() {
        let cache = SemanticCache(capacity: 16, threshold: 0.9)
        for index in 0..<100 {
            cache.store(Self.result("\(index)"), question: "question \(index)?", vector: Self.vector(index % 16, nudge: Float(index) / 100), in: Self.scope())
        }
        #expect(cache.statistics.entries <= 16)
        #expect(cache.statistics.entries > 0)
    }

    /// Through the retriever: the second wording is answered from the cache without a search,
    /// the negated one is searched and answered on its own.
    @Test func theRetrieverServesParaphrasesAndSearchesTheRest() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try dir.write("Write-ahead logging is turned on with PRAGMA journal_mode=WAL.\n\nIt is turned off with PRAGMA journal_mode=DELETE.", to: "docs/wal.txt")
        let store = try SQLiteChunkStore(directory: dir.url.appendingPathComponent("store"))
        let embedder = HashingEmbedder()
        _ = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: dir.url.appendingPathComponent("docs"), collection: "default")
        // The hashing embedder scores these wordings far apart or close by their words: a low
        // threshold puts every question in reach, so the question check alone decides.
        let semantic = SemanticCache(capacity: 16, threshold: 0.3)
        let retriever = Retriever(store: store, embedder: embedder, cache: QueryCache(capacity: 16), semanticCache: semantic)
        let first = try await retriever.answer(query: "How is write-ahead logging turned on?", collection: "default", topK: 3)
        #expect(!first.cached && first.cache == nil)
        let paraphrase = try await retriever.answer(query: "How is write-ahead logging turned on ?", collection: "default", topK: 3)
        #expect(paraphrase.cache?.kind == .exact || paraphrase.cache?.kind == .semantic)
        let reworded = try await retriever.answer(query: "How do I get write-ahead logging turned on?", collection: "default", topK: 3)
        #expect(reworded.cached && reworded.cache?.kind == .semantic)
        #expect(reworded.answer == first.answer && reworded.citations == first.citations)
        let negated = try await retriever.answer(query: "How is write-ahead logging turned off?", collection: "default", topK: 3)
        #expect(!negated.cached && negated.cache == nil)
        #expect(semantic.statistics.refused[.negation, default: 0] >= 1)
        // Lexical searches never consult it (there is no query embedding to compare).
        let lexical = try await retriever.answer(query: "How do I get write-ahead logging turned on?", collection: "default", topK: 3, mode: .lexical)
        #expect(lexical.cache?.kind != .semantic)
    }
}
