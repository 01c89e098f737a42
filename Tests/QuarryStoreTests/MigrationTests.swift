import Foundation
import QuarryCore
import QuarryTestSupport
import Testing

@testable import QuarryStore

@Suite struct MigrationTests {
    /// A store written by the first schema (no sources, no byte ranges) opens, keeps its data, and
    /// syncs as before: its documents become their own sources.
    @Test func versionOneStoreIsMigratedWithItsData() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let embedder = HashingEmbedder(dimension: 8)
        do {
            let db = try SQLiteConnection(path: dir.url.appendingPathComponent(SQLiteChunkStore.databaseFileName).path)
            try db.execute(SQLiteSchema.migrations[0])
            try db.execute("PRAGMA user_version = 1")
            try db.prepare(
                "INSERT INTO collections (name, model_name, dimension, model_fingerprint, created_at) VALUES (?, ?, ?, ?, 0)"
            ).run([.text("docs"), .text(embedder.model.name), .integer(8), .text(embedder.model.fingerprint)])
            try db.prepare(
                "INSERT INTO documents (collection_id, path, content_hash, size, mtime, chunk_count, indexed_at) VALUES (1, 'a.md', 'abc', 12, 5, 1, 0)"
            ).run()
            try db.prepare(
                "INSERT INTO chunks (document_id, ordinal, text, heading, line_start, line_end, page, vector) VALUES (1, 0, 'old words', 'Top', 1, 2, NULL, ?)"
            ).run([.blob(embedder.vector("old words"))])
        }
        let store = try SQLiteChunkStore(directory: dir.url)
        #expect(try await store.sources(in: "docs") == [SourceRecord(path: "a.md", contentHash: "abc", size: 12, modificationTime: 5)])
        #expect(try await store.documents(in: "docs").map(\.source) == ["a.md"])
        let (_, chunks) = try #require(try await store.document(in: "docs", path: "a.md"))
        #expect(chunks.map(\.text) == ["old words"])
        #expect(chunks.first?.headingPath == ["Top"])
        #expect(chunks.first?.location == ChunkLocation(lineStart: 1, lineEnd: 2))
        #expect(try await store.search(in: "docs", query: embedder.vector("old words"), k: 1).first?.chunkID == "a.md#0")
        // The lexical index is built for rows written before it existed.
        #expect(try await store.lexicalSearch(in: "docs", query: "old", k: 1).first?.chunkID == "a.md#0")
        #expect(try await store.verify().isEmpty)
        try await store.removeSource(in: "docs", path: "a.md")
        #expect(try await store.documents(in: "docs").isEmpty)
    }
}
