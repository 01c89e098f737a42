import Foundation
import QuarryCore
import QuarryIngest
import QuarryStore
import QuarryTestSupport
import Testing

@testable import QuarryRetrieval

/// BM25 on each backend (FTS5 in SQLite, SQL over tsvector in PostgreSQL).
@Suite struct LexicalSearchTests {
    func store(_ dir: StoreFixture, files: [String: String]) async throws -> (any ChunkStore, HashingEmbedder) {
        for (path, text) in files { try dir.directory.write(text, to: "docs/\(path)") }
        let store = try await dir.open()
        let embedder = HashingEmbedder()
        _ = try await FolderIngestor(store: store, embedder: embedder, overlapTokens: 0)
            .ingest(folder: dir.directory.url.appendingPathComponent("docs"), collection: "default")
        return (store, embedder)
    }

    @Test(arguments: StoreBackend.allCases)
    func bm25RanksStemsAndStaysInItsCollection(_ backend: StoreBackend) async throws {
        let dir = try StoreFixture(backend)
        defer { dir.cleanUp() }
        let (store, embedder) = try await store(dir, files: [
            "wal.txt": "A checkpoint copies WAL pages into the database. Checkpointing runs automatically.",
            "vacuum.txt": "VACUUM rebuilds the database file and reclaims free pages.",
            "fk.txt": "Foreign keys are off by default.",
        ])
        let hits = try await store.lexicalSearch(in: "default", query: "When do checkpoints run?", k: 10)
        #expect(hits.map(\.document) == ["wal.txt"])
        #expect((hits.first?.score ?? 0) > 0)
        // "pages" is in two documents, "reclaims" in one: the rarer word weighs more.
        let both = try await store.lexicalSearch(in: "default", query: "reclaims pages", k: 10)
        #expect(both.map(\.document) == ["vacuum.txt", "wal.txt"])
        #expect(both[0].score > both[1].score)

        // Another collection's chunks are not returned.
        _ = try await store.ensureCollection(named: "other", model: embedder.model)
        try await store.replaceDocument(
            in: "other", document: DocumentRecord(path: "x.txt", contentHash: "x", size: 1, modificationTime: 1, chunkCount: 1),
            chunks: [Chunk(ordinal: 0, text: "checkpoint checkpoint checkpoint", location: ChunkLocation(lineStart: 1, lineEnd: 1))],
            vectors: [embedder.vector("checkpoint")]
        )
        #expect(try await store.lexicalSearch(in: "default", query: "checkpoint", k: 10).map(\.document) == ["wal.txt"])
        #expect(try await store.lexicalSearch(in: "other", query: "checkpoint", k: 10).map(\.document) == ["x.txt"])
        // A chunk written after a search is found by the next one (the set of a collection's
        // chunks that keeps its matches is remembered per generation).
        try await store.replaceDocument(
            in: "default", document: DocumentRecord(path: "y.txt", contentHash: "y", size: 1, modificationTime: 1, chunkCount: 1),
            chunks: [Chunk(ordinal: 0, text: "a checkpoint checkpoint", location: ChunkLocation(lineStart: 1, lineEnd: 1))],
            vectors: [embedder.vector("checkpoint")]
        )
        #expect(Set(try await store.lexicalSearch(in: "default", query: "checkpoint", k: 10).map(\.document)) == ["wal.txt", "y.txt"])
        #expect(try await store.lexicalSearch(in: "other", query: "checkpoint", k: 10).map(\.document) == ["x.txt"])
    }

    @Test(arguments: StoreBackend.allCases)
    func removedAndReplacedChunksLeaveTheLexicalIndex(_ backend: StoreBackend) async throws {
        let dir = try StoreFixture(backend)
        defer { dir.cleanUp() }
        let (store, embedder) = try await store(dir, files: ["a.txt": "zebra crossing", "b.txt": "zebra stripes"])
        #expect(try await store.lexicalSearch(in: "default", query: "zebra", k: 10).count == 2)
        #expect(try await store.removeDocument(in: "default", path: "a.txt"))
        try dir.directory.write("horse stripes", to: "docs/b.txt")
        _ = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: dir.directory.url.appendingPathComponent("docs"), collection: "default")
        #expect(try await store.lexicalSearch(in: "default", query: "zebra", k: 10).map(\.document) == ["a.txt"])
        #expect(try await store.lexicalSearch(in: "default", query: "horse", k: 10).map(\.document) == ["b.txt"])
        try await store.removeCollection(named: "default")
        #expect(try await store.verify().isEmpty)
    }

    @Test(arguments: StoreBackend.allCases)
    func queriesNeverReachFTSSyntax(_ backend: StoreBackend) async throws {
        let dir = try StoreFixture(backend)
        defer { dir.cleanUp() }
        let (store, _) = try await store(dir, files: ["a.txt": "near the column of text"])
        for query in [#"text" OR "#, "NEAR(text column)", "col:text", "text*", "\"", "-text", "AND", "^text", "((", "text NOT near"] {
            _ = try await store.lexicalSearch(in: "default", query: query, k: 5)
        }
        #expect(try await store.lexicalSearch(in: "default", query: "?!", k: 5).isEmpty)
        #expect(try await store.lexicalSearch(in: "default", query: "NEAR(text column)", k: 5).count == 1)
    }
}

@Suite struct FusionTests {
    func hit(_ id: Int64, _ score: Float) -> SearchHit {
        SearchHit(chunkRowID: id, chunkID: "d#\(id)", document: "d", text: "t\(id)", location: ChunkLocation(lineStart: 1, lineEnd: 1), score: score)
    }

    @Test func reciprocalRankFusion() {
        let dense = [hit(1, 0.9), hit(2, 0.8), hit(3, 0.7)]
        let lexical = [hit(3, 12), hit(4, 9), hit(1, 5)]
        let fused = Retriever.fuse(dense: dense, lexical: lexical, settings: FusionSettings())
        // 1: 1/61 + 1/63, 3: 1/63 + 1/61 (tie: the better dense rank first), 2: 1/62, 4: 1/62 (tie: dense rank, then row id).
        #expect(fused.map(\.chunkRowID) == [1, 3, 2, 4])
        #expect(abs(Double(fused[0].score) - (1.0 / 61 + 1.0 / 63)) < 1e-6)
        #expect(fused[0].denseScore == 0.9 && fused[0].lexicalScore == 5)
        #expect(fused[2].denseScore == 0.8 && fused[2].lexicalScore == nil)
        #expect(fused[3].denseScore == nil && fused[3].lexicalScore == 9)

        let lexicalHeavy = Retriever.fuse(dense: dense, lexical: lexical, settings: FusionSettings(denseWeight: 0.5, lexicalWeight: 2))
        #expect(lexicalHeavy.map(\.chunkRowID) == [3, 1, 4, 2])
        // The best `limit` only, chosen by the heap: the head of the full ranking, ties included.
        #expect(Retriever.fuse(dense: dense, lexical: lexical, settings: FusionSettings(), limit: 3).map(\.chunkRowID) == [1, 3, 2])
        #expect(Retriever.fuse(dense: dense, lexical: lexical, settings: FusionSettings(), limit: 1).map(\.chunkRowID) == [1])
    }

    @Test(arguments: StoreBackend.allCases)
    func lexicalModeDoesNotEmbedAndHybridFindsWhatEitherFinds(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let dir = fixture.directory
        try dir.write("The zorblax protocol negotiates keys.", to: "docs/rare.txt")
        try dir.write("Keys rotate every day in the vault.", to: "docs/keys.txt")
        let store = try await fixture.open()
        let embedder = HashingEmbedder()
        _ = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: dir.url.appendingPathComponent("docs"), collection: "default")
        let embeddedAfterIngest = embedder.embeddedTexts.count
        let retriever = Retriever(store: store, embedder: embedder)

        let (lexical, lexicalTimings) = try await retriever.search(query: "zorblax", collection: "default", topK: 5, mode: .lexical)
        #expect(lexical.map(\.document) == ["rare.txt"])
        #expect(embedder.embeddedTexts.count == embeddedAfterIngest)
        #expect(lexicalTimings.embed == 0)

        let (hybrid, timings) = try await retriever.search(query: "zorblax keys", collection: "default", topK: 5, mode: .hybrid)
        #expect(Set(hybrid.map(\.document)) == ["rare.txt", "keys.txt"])
        #expect(hybrid.first?.document == "rare.txt")
        #expect(hybrid.allSatisfy { $0.denseScore != nil || $0.lexicalScore != nil })
        #expect(timings.search >= timings.lexical)
        let result = try await retriever.answer(query: "zorblax keys", collection: "default", topK: 2)
        #expect(result.citations.first?.document == "rare.txt")
    }

    /// Hybrid search ranks without text and reads only the chunks it returns: the same hits,
    /// texts and scores as fusing the two fully read rankings.
    @Test(arguments: StoreBackend.allCases)
    func rankingBeforeReadingGivesTheHitsOfFusingReadHits(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let dir = fixture.directory
        let words = ["vault", "keys", "rotate", "protocol", "cipher", "ledger", "replica", "backup", "quorum", "latency"]
        for index in 0..<40 {
            let text = (0..<12).map { words[($0 * 7 + index * 3) % words.count] }.joined(separator: " ") + " document \(index)."
            try dir.write(text, to: "docs/d\(index).txt")
        }
        let store = try await fixture.open()
        let embedder = HashingEmbedder()
        _ = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: dir.url.appendingPathComponent("docs"), collection: "default")
        let retriever = Retriever(store: store, embedder: embedder)
        for query in ["vault keys", "cipher ledger quorum", "replica", "latency backup protocol document"] {
            let vector = try #require(try await embedder.embed([query]).first)
            let dense = try await store.search(in: "default", query: vector, k: 50)
            #expect(try await store.denseRanking(in: "default", query: vector, k: 50, ef: nil, filter: nil).map(\.rowID) == dense.map(\.chunkRowID))
            let lexical = try await store.lexicalSearch(in: "default", query: query, k: 50)
            let ranked = try await store.lexicalRanking(in: "default", query: query, k: 50, filter: nil)
            #expect(ranked.map(\.rowID) == lexical.map(\.chunkRowID))
            #expect(ranked.map(\.score) == lexical.map(\.score))
            #expect(try await store.hits(for: ranked) == lexical)

            let expected = Retriever.fuse(dense: dense, lexical: lexical, settings: retriever.fusion, limit: 5)
            let (hybrid, _) = try await retriever.search(query: query, collection: "default", topK: 5, mode: .hybrid)
            #expect(hybrid == expected, "\(query)")
            #expect(hybrid.count == 5)
        }
        await store.close()
    }
}
