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
        let store = try fixture.open()
        _ = try store.ensureCollection(named: "docs", model: embedder.model)

        let texts = ["the cat sat on the mat", "write ahead logging in sqlite", "vector search with hnsw"]
        let chunks = texts.enumerated().map { chunk($0.offset, $0.element) }
        try store.replaceDocument(
            in: "docs", document: record("a.txt", chunks: 3), chunks: chunks, vectors: texts.map(embedder.vector)
        )
        let hits = try store.search(in: "docs", query: embedder.vector("sqlite write ahead logging"), k: 2)
        #expect(hits.count == 2)
        #expect(hits[0].chunkID == "a.txt#1")
        #expect(hits[0].document == "a.txt")
        #expect(hits[0].text == texts[1])
        #expect(hits[0].location == ChunkLocation(lineStart: 2, lineEnd: 2))
        #expect(hits[0].score > hits[1].score)

        // Replacing swaps every chunk of the document; no old chunk survives.
        try store.replaceDocument(
            in: "docs", document: record("a.txt", hash: "h2", chunks: 1), chunks: [chunk(0, "entirely new text")],
            vectors: [embedder.vector("entirely new text")]
        )
        let afterReplace = try store.search(in: "docs", query: embedder.vector("sqlite write ahead logging"), k: 10)
        #expect(afterReplace.map(\.text) == ["entirely new text"])
        #expect(try store.documents(in: "docs").map(\.contentHash) == ["h2"])
        #expect(try store.collection(named: "docs")?.chunkCount == 1)

        try store.removeDocument(in: "docs", path: "a.txt")
        #expect(try store.search(in: "docs", query: embedder.vector("new"), k: 5).isEmpty)
        #expect(try store.documents(in: "docs").isEmpty)
    }

    @Test(arguments: StoreBackend.allCases)
    func unknownCollectionAndBadShapesAreErrors(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        #expect(throws: QuarryError.self) { try store.search(in: "missing", query: embedder.vector("x"), k: 1) }
        _ = try store.ensureCollection(named: "docs", model: embedder.model)
        #expect(throws: QuarryError.self) { try store.search(in: "docs", query: [1, 0], k: 1) }
        #expect(throws: QuarryError.self) {
            try store.replaceDocument(in: "docs", document: record("a", chunks: 1), chunks: [chunk(0, "x")], vectors: [])
        }
        #expect(throws: QuarryError.self) {
            try store.replaceDocument(in: "docs", document: record("a", chunks: 1), chunks: [chunk(0, "x")], vectors: [[1, 0]])
        }
        #expect(throws: QuarryError.self) { try store.ensureCollection(named: "bad name!", model: embedder.model) }
    }

    @Test(arguments: StoreBackend.allCases)
    func anotherModelIsRefused(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        _ = try store.ensureCollection(named: "docs", model: embedder.model)
        let other = EmbeddingModelInfo(name: "other-model", dimension: 16, fingerprint: "abc")
        do {
            _ = try store.ensureCollection(named: "docs", model: other)
            Issue.record("a second model was accepted")
        } catch let error as QuarryError {
            #expect(error.code == .conflict)
            #expect(error.message.contains("other-model"))
            #expect(error.message.contains("--collection"))
            #expect(error.message.contains("quarry collections delete docs"))
        }
        // The way to re-index: delete the collection, then the other model is accepted.
        try store.replaceDocument(
            in: "docs", document: record("a.txt", chunks: 1), chunks: [chunk(0, "some words")],
            vectors: [embedder.vector("some words")]
        )
        try store.removeCollection(named: "docs")
        #expect(try store.collection(named: "docs") == nil)
        #expect(try store.verify().isEmpty)
        #expect(try store.ensureCollection(named: "docs", model: other).model == other)
        #expect(try store.documents(in: "docs").isEmpty)
        #expect(try store.sources(in: "docs").isEmpty)
    }

    @Test(arguments: StoreBackend.allCases)
    func writesFromAnotherConnectionAreSeenBySearch(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let reader = try fixture.open()
        let writer = try fixture.open()
        _ = try writer.ensureCollection(named: "docs", model: embedder.model)
        try writer.replaceDocument(
            in: "docs", document: record("a.txt", chunks: 1), chunks: [chunk(0, "alpha beta")],
            vectors: [embedder.vector("alpha beta")]
        )
        #expect(try reader.search(in: "docs", query: embedder.vector("alpha"), k: 5).count == 1)
        try writer.replaceDocument(
            in: "docs", document: record("b.txt", chunks: 1), chunks: [chunk(0, "gamma delta")],
            vectors: [embedder.vector("gamma delta")]
        )
        // The reader's cached snapshot is stale after the other process's write and is reloaded.
        #expect(try reader.search(in: "docs", query: embedder.vector("gamma"), k: 5).map(\.document) == ["b.txt", "a.txt"])
    }

    @Test(arguments: StoreBackend.allCases)
    func reopenKeepsData(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        do {
            let store = try fixture.open()
            _ = try store.ensureCollection(named: "docs", model: embedder.model)
            try store.replaceDocument(
                in: "docs", document: record("a.txt", chunks: 1), chunks: [chunk(0, "persist me")],
                vectors: [embedder.vector("persist me")]
            )
        }
        let reopened = try fixture.open()
        #expect(try reopened.collections().map(\.name) == ["docs"])
        #expect(try reopened.search(in: "docs", query: embedder.vector("persist"), k: 1).first?.text == "persist me")
    }
}
