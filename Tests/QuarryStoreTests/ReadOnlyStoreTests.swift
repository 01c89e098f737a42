import Foundation
import QuarryCore
import QuarryTestSupport
import Testing

@testable import QuarryStore

/// A store opened read-only (a replica, a backup) answers searches and `verify`, refuses every
/// write with `read_only`, and changes nothing in its directory; a store on a read-only file
/// system is opened so by itself (issue 15).
@Suite(.serialized) struct ReadOnlyStoreTests {
    static let embedder = HashingEmbedder(dimension: 64)
    static let texts = (0..<40).map { "passage \($0) about write ahead logging, checkpoints and readers: p\($0)a p\($0)b p\($0)c" }

    /// A store of one collection, `docs`, with 40 one-chunk documents, closed.
    static func makeStore(in directory: URL) async throws {
        // Every passage has a vector of its own, so the nearest one to a passage is itself.
        try #require(Set(texts.map(embedder.vector)).count == texts.count)
        let store = try SQLiteChunkStore(directory: directory)
        _ = try await store.ensureCollection(named: "docs", model: embedder.model)
        try await store.replaceDocuments(
            in: "docs",
            texts.enumerated().map { offset, text in
                DocumentWrite(
                    document: DocumentRecord(path: "doc\(offset).txt", contentHash: "h\(offset)", size: 10, modificationTime: 1, chunkCount: 1),
                    chunks: [Chunk(ordinal: 0, text: text, location: ChunkLocation(lineStart: 1, lineEnd: 1))],
                    vectors: [embedder.vector(text)]
                )
            }
        )
        // A conversation of one turn and a day of usage, for the read-only store to read.
        try await store.createSession(SessionRecord(id: "ses_ro", tenant: "default", createdAt: Date(timeIntervalSince1970: 1_790_000_000)))
        _ = try await store.appendTurn(
            SessionTurn(at: Date(timeIntervalSince1970: 1_790_000_001), question: "what is a checkpoint?", answer: "a copy"), session: "ses_ro",
            tenant: "default", expiresAt: nil
        )
        try await store.addDailyUsage(DailyUsageRecord(tenant: "default", model: "m", day: "2026-12-01", requests: 1, promptTokens: 5))
        await store.close()
    }

    /// Every file below `directory` with its size and modification time, SQLite's shared-memory
    /// files left out (SQLite's read-only mode keeps them where the directory is writable).
    static func listing(_ directory: URL) throws -> [String: String] {
        var files: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
            let name = url.path.replacingOccurrences(of: directory.path, with: "")
            if name.hasSuffix("-shm") || name.hasSuffix("-wal") { continue }
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            files[name] = "\(attributes[.size] ?? 0) \(attributes[.modificationDate] ?? "")"
        }
        return files
    }

    /// Runs `body` and expects it to throw `QuarryError.readOnly`.
    static func expectReadOnly(_ what: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("\(what) was not refused")
        } catch let error as QuarryError {
            #expect(error.code == .readOnly, "\(what): \(error)")
            #expect(error.message.contains("read-only"), "\(what): \(error)")
        } catch {
            Issue.record("\(what) threw \(error)")
        }
    }

    /// Searches (through an HNSW index, exactSearchLimit 1) and verify work; every kind of write
    /// is refused; the index built for the search is kept in memory, never saved.
    static func checkReadOnly(_ store: SQLiteChunkStore) async throws {
        let dense = try await store.search(in: "docs", query: embedder.vector(texts[7]), k: 3)
        #expect(dense.first?.chunkID == "doc7.txt#0")
        let lexical = try await store.lexicalSearch(in: "docs", query: "checkpoints", k: 5)
        #expect(lexical.count == 5)
        #expect(try await store.documents(in: "docs").count == 40)
        #expect(try await store.verify() == [])

        await expectReadOnly("a document write") {
            try await store.replaceDocument(
                in: "docs", document: DocumentRecord(path: "new.txt", contentHash: "n", size: 1, modificationTime: 1, chunkCount: 1),
                chunks: [Chunk(ordinal: 0, text: "new", location: ChunkLocation(lineStart: 1, lineEnd: 1))], vectors: [embedder.vector("new")]
            )
        }
        await expectReadOnly("a delete") { try await store.removeDocument(in: "docs", path: "doc1.txt") }
        await expectReadOnly("a new collection") { _ = try await store.ensureCollection(named: "other", model: embedder.model) }
        await expectReadOnly("a key") { try await store.saveKeys([KeyRecord(id: "k1", tenant: "default", role: "reader", hash: "x")]) }
        await expectReadOnly("an audit record") {
            try await store.appendAudit([AuditEntry(at: Date(), tenant: nil, record: "{}")], link: { previous, record in previous + record })
        }
        await expectReadOnly("usage") { try await store.addUsage(tenant: "t", period: "2025-01", requests: 1, tokens: 1, cost: 0) }
        await expectReadOnly("daily usage") { try await store.addDailyUsage(DailyUsageRecord(tenant: "t", model: "m", day: "2026-12-01")) }
        await expectReadOnly("a new session") { try await store.createSession(SessionRecord(id: "ses_new", tenant: "default")) }
        await expectReadOnly("a turn") {
            _ = try await store.appendTurn(SessionTurn(question: "q", answer: "a"), session: "ses_ro", tenant: "default", expiresAt: nil)
        }
        await expectReadOnly("an archive") { _ = try await store.archiveSession(id: "ses_ro", tenant: "default", at: Date()) }
        await expectReadOnly("a session delete") { _ = try await store.deleteSession(id: "ses_ro", tenant: "default") }
        await expectReadOnly("a session prune") { _ = try await store.pruneSessions(now: Date(), archivedBefore: Date()) }
        await expectReadOnly("an index save") { try await store.synchronizeIndex(of: "docs") }
        #expect(try await store.documents(in: "docs").count == 40)
        // Conversations and daily usage are read as they were written.
        #expect(try await store.session(id: "ses_ro", tenant: "default")?.turnCount == 1)
        #expect(try await store.listSessions(tenant: "default", keyID: nil, limit: 10, after: nil).map(\.id) == ["ses_ro"])
        #expect(try await store.turns(session: "ses_ro", tenant: "default", last: nil).map(\.question) == ["what is a checkpoint?"])
        #expect(try await store.dailyUsageTotal(tenant: "default", keyID: nil, from: "2026-12-01", through: "2026-12-31").promptTokens == 5)
    }

    @Test func readOnlyStoreAnswersReadsRefusesWritesAndChangesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try await Self.makeStore(in: directory.url)
        let before = try Self.listing(directory.url)

        let store = try SQLiteChunkStore(directory: directory.url, exactSearchLimit: 1, readOnly: true)
        #expect(store.readOnlyReason == "opened with --read-only or read_only")
        try await Self.checkReadOnly(store)
        await store.close()

        #expect(try Self.listing(directory.url) == before)
        #expect(!FileManager.default.fileExists(atPath: directory.url.appendingPathComponent("index/docs.hnsw").path))
    }

    @Test func readOnlyModeNeverCreatesAStore() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let missing = directory.url.appendingPathComponent("none")
        #expect {
            try SQLiteChunkStore(directory: missing, readOnly: true)
        } throws: { error in
            (error as? QuarryError)?.message.contains(missing.appendingPathComponent("quarry.sqlite").path) == true
        }
        #expect(!FileManager.default.fileExists(atPath: missing.path))
    }

    /// A store of an older schema cannot be migrated read-only: refused, naming its path.
    @Test func olderSchemaIsRefusedReadOnly() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        do {
            let db = try SQLiteConnection(path: directory.url.appendingPathComponent(SQLiteChunkStore.databaseFileName).path)
            try db.execute(SQLiteSchema.migrations[0])
            try db.execute("PRAGMA user_version = 1")
        }
        #expect {
            try SQLiteChunkStore(directory: directory.url, readOnly: true)
        } throws: { error in
            let message = (error as? QuarryError)?.message ?? ""
            return message.contains("schema version 1") && message.contains(directory.url.path) && message.contains("read-only")
        }
    }

    /// The store on a read-only bind mount, opened without being told: SQLite's read-only mode
    /// cannot create the shared-memory file there (the "SQLite error 1544" of issue 15), so it is
    /// read as an immutable file. Needs root and `mount`; skipped elsewhere.
    @Test(.enabled(if: ReadOnlyMount.isAvailable)) func storeOnAReadOnlyFileSystemIsDetected() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let source = directory.url.appendingPathComponent("store")
        try await Self.makeStore(in: source)
        let before = try Self.listing(source)
        let mount = try ReadOnlyMount(source, at: directory.url.appendingPathComponent("replica"))
        defer { mount.unmount() }

        let store = try SQLiteChunkStore(directory: mount.url, exactSearchLimit: 1)
        #expect(store.readOnlyReason == "its directory is on a read-only file system")
        try await Self.checkReadOnly(store)
        await store.close()
        #expect(try Self.listing(source) == before)
        #expect(!FileManager.default.fileExists(atPath: source.appendingPathComponent("quarry.sqlite-shm").path))
    }
}
