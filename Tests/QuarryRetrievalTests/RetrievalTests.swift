import Foundation
import QuarryCore
import QuarryIngest
import QuarryRetrieval
import QuarryStore
import QuarryTestSupport
import Testing

@Suite struct ExtractiveAnswererTests {
    func citation(_ id: Int, _ text: String) -> Citation {
        Citation(
            id: id, document: "doc\(id).txt", chunkID: "doc\(id).txt#0", text: text, score: 1,
            location: ChunkLocation(lineStart: 1, lineEnd: 1)
        )
    }

    @Test func picksMatchingSentencesAndCitesEach() throws {
        let citations = [
            citation(1, "SQLite is a library. The WAL file holds new pages until a checkpoint. Cats are nice."),
            citation(2, "A checkpoint moves WAL pages into the database. The weather is mild."),
        ]
        let answer = try #require(ExtractiveAnswerer(maxSentences: 2).answer(query: "What does a checkpoint do to WAL pages?", citations: citations))
        #expect(answer == "The WAL file holds new pages until a checkpoint. [1] A checkpoint moves WAL pages into the database. [2]")
    }

    @Test func deduplicatesAndKeepsSourceOrder() throws {
        let citations = [
            citation(1, "Foreign keys are off by default."),
            citation(2, "Foreign keys are off by default. Turn foreign keys on with a pragma."),
        ]
        let answer = try #require(ExtractiveAnswerer(maxSentences: 3).answer(query: "foreign keys", citations: citations))
        #expect(answer == "Foreign keys are off by default. [1] Turn foreign keys on with a pragma. [2]")
    }

    @Test func noOverlapMeansNoAnswer() {
        #expect(ExtractiveAnswerer().answer(query: "quantum chromodynamics", citations: [citation(1, "SQLite is a library.")]) == nil)
        #expect(ExtractiveAnswerer().answer(query: "the of and", citations: [citation(1, "the of and")]) == nil)
        #expect(ExtractiveAnswerer().answer(query: "sqlite", citations: []) == nil)
    }
}

@Suite struct RetrieverTests {
    func makeStore() async throws -> (Retriever, TemporaryDirectory) {
        let dir = try TemporaryDirectory()
        try dir.write("Checkpoints copy WAL pages into the database file.\n\nReaders never block writers in WAL mode.", to: "docs/wal.txt")
        try dir.write("Foreign key enforcement is off by default.", to: "docs/fk.txt")
        let store = try SQLiteChunkStore(directory: dir.url.appendingPathComponent("store"))
        let embedder = HashingEmbedder()
        _ = try await FolderIngestor(store: store, embedder: embedder)
            .ingest(folder: dir.url.appendingPathComponent("docs"), collection: "default")
        return (Retriever(store: store, embedder: embedder), dir)
    }

    @Test func answersWithNumberedCitations() async throws {
        let (retriever, dir) = try await makeStore()
        defer { dir.cleanUp() }
        let result = try await retriever.answer(query: "foreign key enforcement", collection: "default", topK: 2)
        #expect(result.citations.map(\.id) == [1, 2])
        #expect(result.citations.first?.document == "fk.txt")
        #expect(result.answer.hasPrefix("Foreign key enforcement is off by default. [1]"))
        #expect(result.grounded)
        #expect(result.timings.total >= result.timings.embed)
    }

    @Test func saysSoWhenNothingMatches() async throws {
        let (retriever, dir) = try await makeStore()
        defer { dir.cleanUp() }
        let result = try await retriever.answer(query: "zebra", collection: "default", topK: 2)
        #expect(result.answer == Retriever.noAnswer)
        #expect(!result.grounded)
    }

    @Test func rejectsBadArguments() async throws {
        let (retriever, dir) = try await makeStore()
        defer { dir.cleanUp() }
        for (query, collection, topK, code) in [
            ("", "default", 3, QuarryError.Code.invalidRequest),
            ("wal", "default", 0, .invalidRequest),
            ("wal", "default", 101, .invalidRequest),
            ("wal", "missing", 3, .notFound),
            // The store's name of tenant a's collection b: valid, and absent here.
            ("wal", "a/b", 3, .notFound),
            ("wal", "a/b/c", 3, .invalidRequest),
            ("wal", "a b", 3, .invalidRequest),
        ] {
            do {
                _ = try await retriever.answer(query: query, collection: collection, topK: topK)
                Issue.record("accepted \(query) \(collection) \(topK)")
            } catch let error as QuarryError {
                #expect(error.code == code)
            }
        }
    }
}
