import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryStore
import QuarryTestSupport
import Testing

/// The behaviour every backend shares: each test runs against the embedded SQLite store and the
/// pgvector store.
@Suite struct ChunkStoreTests {
    let embedder = HashingEmbedder(dimension: 16)

    func chunk(_ ordinal: Int, _ text: String) -> Chunk {
        Chunk(ordinal: ordinal, text: text, location: ChunkLocation(lineStart: ordinal + 1, lineEnd: ordinal + 1))
    }

    func record(_ path: String, hash: String = "h", chunks: Int) -> DocumentRecord {
        DocumentRecord(path: path, contentHash: hash, size: 10, modificationTime: 1, chunkCount: chunks)
    }

    @Test(arguments: StoreBackend.allCases)
    func replaceSearchAndRemove(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        _ = try await store.ensureCollection(named: "docs", model: embedder.model)

        let texts = ["the cat sat on the mat", "write ahead logging in sqlite", "vector search with hnsw"]
        let chunks = texts.enumerated().map { chunk($0.offset, $0.element) }
        try await store.replaceDocument(
            in: "docs", document: record("a.txt", chunks: 3), chunks: chunks, vectors: texts.map(embedder.vector)
        )
        let hits = try await store.search(in: "docs", query: embedder.vector("sqlite write ahead logging"), k: 2)
        #expect(hits.count == 2)
        #expect(hits[0].chunkID == "a.txt#1")
        #expect(hits[0].document == "a.txt")
        #expect(hits[0].text == texts[1])
        #expect(hits[0].location == ChunkLocation(lineStart: 2, lineEnd: 2))
        #expect(hits[0].score > hits[1].score)

        // Replacing swaps every chunk of the document; no old chunk survives.
        try await store.replaceDocument(
            in: "docs", document: record("a.txt", hash: "h2", chunks: 1), chunks: [chunk(0, "entirely new text")],
            vectors: [embedder.vector("entirely new text")]
        )
        let afterReplace = try await store.search(in: "docs", query: embedder.vector("sqlite write ahead logging"), k: 10)
        #expect(afterReplace.map(\.text) == ["entirely new text"])
        #expect(try await store.documents(in: "docs").map(\.contentHash) == ["h2"])
        #expect(try await store.collection(named: "docs")?.chunkCount == 1)

        try await store.removeDocument(in: "docs", path: "a.txt")
        #expect(try await store.search(in: "docs", query: embedder.vector("new"), k: 5).isEmpty)
        #expect(try await store.documents(in: "docs").isEmpty)
    }

    @Test(arguments: StoreBackend.allCases)
    func unknownCollectionAndBadShapesAreErrors(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        await #expect(throws: QuarryError.self) { try await store.search(in: "missing", query: embedder.vector("x"), k: 1) }
        _ = try await store.ensureCollection(named: "docs", model: embedder.model)
        await #expect(throws: QuarryError.self) { try await store.search(in: "docs", query: [1, 0], k: 1) }
        await #expect(throws: QuarryError.self) {
            try await store.replaceDocument(in: "docs", document: record("a", chunks: 1), chunks: [chunk(0, "x")], vectors: [])
        }
        await #expect(throws: QuarryError.self) {
            try await store.replaceDocument(in: "docs", document: record("a", chunks: 1), chunks: [chunk(0, "x")], vectors: [[1, 0]])
        }
        await #expect(throws: QuarryError.self) { try await store.ensureCollection(named: "bad name!", model: embedder.model) }
    }

    @Test(arguments: StoreBackend.allCases)
    func anotherModelIsRefused(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        _ = try await store.ensureCollection(named: "docs", model: embedder.model)
        let other = EmbeddingModelInfo(name: "other-model", dimension: 16, fingerprint: "abc")
        do {
            _ = try await store.ensureCollection(named: "docs", model: other)
            Issue.record("a second model was accepted")
        } catch let error as QuarryError {
            #expect(error.code == .conflict)
            #expect(error.message.contains("other-model"))
            #expect(error.message.contains("--collection"))
            #expect(error.message.contains("quarry collections delete docs"))
        }
        // The way to re-index: delete the collection, then the other model is accepted.
        try await store.replaceDocument(
            in: "docs", document: record("a.txt", chunks: 1), chunks: [chunk(0, "some words")],
            vectors: [embedder.vector("some words")]
        )
        try await store.removeCollection(named: "docs")
        #expect(try await store.collection(named: "docs") == nil)
        #expect(try await store.verify().isEmpty)
        #expect(try await store.ensureCollection(named: "docs", model: other).model == other)
        #expect(try await store.documents(in: "docs").isEmpty)
        #expect(try await store.sources(in: "docs").isEmpty)
    }

    /// A collection's counts follow every write, from this handle or another (the SQLite store
    /// remembers them per generation), and a collection created again under the same name
    /// starts from nothing.
    @Test(arguments: StoreBackend.allCases)
    func countsFollowEveryWriteAndARecreatedCollection(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let reader = try await fixture.open()
        let writer = try await fixture.open()
        func counts() async throws -> [Int]? {
            try await reader.collection(named: "docs").map { [$0.documentCount, $0.chunkCount] }
        }
        _ = try await writer.ensureCollection(named: "docs", model: embedder.model)
        #expect(try await counts() == [0, 0])
        try await writer.replaceDocument(
            in: "docs", document: record("a.txt", chunks: 2), chunks: [chunk(0, "alpha"), chunk(1, "beta")],
            vectors: [embedder.vector("alpha"), embedder.vector("beta")]
        )
        #expect(try await counts() == [1, 2])
        #expect(try await reader.search(in: "docs", query: embedder.vector("alpha"), k: 5).count == 2)
        try await writer.replaceDocument(
            in: "docs", document: record("b.txt", chunks: 1), chunks: [chunk(0, "gamma")], vectors: [embedder.vector("gamma")]
        )
        #expect(try await counts() == [2, 3])
        try await writer.replaceDocument(
            in: "docs", document: record("a.txt", hash: "h2", chunks: 1), chunks: [chunk(0, "delta")],
            vectors: [embedder.vector("delta")]
        )
        #expect(try await counts() == [2, 2])
        #expect(try await writer.removeDocument(in: "docs", path: "b.txt"))
        #expect(try await counts() == [1, 1])
        try await writer.removeCollection(named: "docs")
        #expect(try await counts() == nil)
        _ = try await writer.ensureCollection(named: "docs", model: embedder.model)
        #expect(try await counts() == [0, 0])
        #expect(try await reader.search(in: "docs", query: embedder.vector("alpha"), k: 5).isEmpty)
    }

    @Test(arguments: StoreBackend.allCases)
    func writesFromAnotherConnectionAreSeenBySearch(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let reader = try await fixture.open()
        let writer = try await fixture.open()
        _ = try await writer.ensureCollection(named: "docs", model: embedder.model)
        try await writer.replaceDocument(
            in: "docs", document: record("a.txt", chunks: 1), chunks: [chunk(0, "alpha beta")],
            vectors: [embedder.vector("alpha beta")]
        )
        #expect(try await reader.search(in: "docs", query: embedder.vector("alpha"), k: 5).count == 1)
        try await writer.replaceDocument(
            in: "docs", document: record("b.txt", chunks: 1), chunks: [chunk(0, "gamma delta")],
            vectors: [embedder.vector("gamma delta")]
        )
        // The reader's cached snapshot is stale after the other process's write and is reloaded.
        #expect(try await reader.search(in: "docs", query: embedder.vector("gamma"), k: 5).map(\.document) == ["b.txt", "a.txt"])
    }

    @Test(arguments: StoreBackend.allCases)
    func reopenKeepsData(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        do {
            let store = try await fixture.open()
            _ = try await store.ensureCollection(named: "docs", model: embedder.model)
            try await store.replaceDocument(
                in: "docs", document: record("a.txt", chunks: 1), chunks: [chunk(0, "persist me")],
                vectors: [embedder.vector("persist me")]
            )
        }
        let reopened = try await fixture.open()
        #expect(try await reopened.collections().map(\.name) == ["docs"])
        #expect(try await reopened.search(in: "docs", query: embedder.vector("persist"), k: 1).first?.text == "persist me")
    }

    @Test(arguments: StoreBackend.allCases)
    func documentsArePagedByTheStore(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        _ = try await store.ensureCollection(named: "docs", model: embedder.model)
        let paths = ["a/1.txt", "a/2.txt", "a/3.txt", "b/1.txt", "a_/x.txt", "A/upper.txt"]
        for path in paths {
            try await store.replaceDocument(
                in: "docs", document: record(path, chunks: 1), chunks: [chunk(0, path)], vectors: [embedder.vector(path)]
            )
        }
        let first = try await store.documents(in: "docs", prefix: "a/", limit: 2, offset: 0)
        #expect(first.total == 3 && first.documents.map(\.path) == ["a/1.txt", "a/2.txt"])
        let second = try await store.documents(in: "docs", prefix: "a/", limit: 2, offset: 2)
        #expect(second.total == 3 && second.documents.map(\.path) == ["a/3.txt"])
        // No prefix: every document, in byte order on both backends ("A" before "a").
        let all = try await store.documents(in: "docs", prefix: "", limit: 100, offset: 0)
        #expect(all.documents.map(\.path) == paths.sorted() && all.total == paths.count)
        // A prefix is text, not a pattern: "_" matches only itself.
        #expect(try await store.documents(in: "docs", prefix: "a_", limit: 10, offset: 0).documents.map(\.path) == ["a_/x.txt"])
        #expect(try await store.documents(in: "docs", prefix: "zzz", limit: 10, offset: 0) == DocumentPage(total: 0, documents: []))
        await #expect(throws: QuarryError.self) { try await store.documents(in: "missing", prefix: "", limit: 10, offset: 0) }
        // `contains` (the console's search by path): anywhere in the id, ASCII letters in either
        // case, `_` and `%` as themselves, counted and paged like the rest.
        let upper = try await store.documents(in: "docs", prefix: "", contains: "UPPER", limit: 10, offset: 0, visibleTo: nil)
        #expect(upper == DocumentPage(total: 1, documents: all.documents.filter { $0.path == "A/upper.txt" }))
        let ones = try await store.documents(in: "docs", prefix: "", contains: "1.TXT", limit: 1, offset: 1, visibleTo: nil)
        #expect(ones.total == 2 && ones.documents.map(\.path) == ["b/1.txt"])
        #expect(try await store.documents(in: "docs", prefix: "", contains: "_", limit: 10, offset: 0, visibleTo: nil).documents.map(\.path) == ["a_/x.txt"])
        #expect(try await store.documents(in: "docs", prefix: "", contains: "%", limit: 10, offset: 0, visibleTo: nil).total == 0)
        #expect(try await store.documents(in: "docs", prefix: "a/", contains: "3", limit: 10, offset: 0, visibleTo: nil).documents.map(\.path) == ["a/3.txt"])
    }
}
