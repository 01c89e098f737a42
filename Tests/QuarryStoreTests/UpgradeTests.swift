import Foundation
import QuarryCore
import QuarryTestSupport
import Testing

@testable import QuarryStore

/// Stores written by earlier releases (`Fixtures/`, see its README) open with today's code,
/// migrate, answer searches and pass `verify` (issue 15).
@Suite struct UpgradeTests {
    /// A copy of the fixture store `name` in a temporary directory (the fixture stays as it is).
    static func copy(_ name: String, into directory: TemporaryDirectory) throws -> URL {
        let fixture = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        let store = directory.url.appendingPathComponent(name)
        try FileManager.default.copyItem(at: fixture, to: store)
        return store
    }

    static func schemaVersion(_ store: URL) throws -> Int {
        let db = try SQLiteConnection(path: store.appendingPathComponent(SQLiteChunkStore.databaseFileName).path, mode: .readOnly)
        let statement = try db.prepare("PRAGMA user_version")
        try statement.bind([])
        _ = try statement.step()
        return statement.int(0)
    }

    /// The stored vector of a chunk, to search with (the fixtures hold MiniLM vectors; the
    /// tests need no model).
    static func vector(of chunkText: String, in store: URL) throws -> [Float] {
        let db = try SQLiteConnection(path: store.appendingPathComponent(SQLiteChunkStore.databaseFileName).path, mode: .readOnly)
        let statement = try db.prepare("SELECT vector FROM quarry_chunks WHERE text LIKE ? LIMIT 1")
        try statement.bind([.text(chunkText + "%")])
        #expect(try statement.step())
        var vector: [Float] = []
        statement.appendFloats(0, to: &vector)
        return vector
    }

    /// Searches both ways and checks the handbook's three documents and four chunks.
    static func checkHandbook(_ store: SQLiteChunkStore, at directory: URL) async throws {
        let handbook = try #require(try await store.collection(named: "handbook"))
        #expect(handbook.documentCount == 3)
        #expect(handbook.chunkCount == 4)
        #expect(handbook.model.dimension == 384)
        #expect(try await store.documents(in: "handbook").map(\.path) == ["backup.txt", "hnsw.md", "wal.md"])
        let lexical = try await store.lexicalSearch(in: "handbook", query: "checkpoint", k: 2)
        #expect(lexical.first?.chunkID == "wal.md#1")
        let dense = try await store.search(in: "handbook", query: try vector(of: "Checkpoints", in: directory), k: 2)
        #expect(dense.first?.chunkID == "wal.md#1")
        #expect(dense.first?.text.hasPrefix("Checkpoints") == true)
        let problems = try await store.verify()
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test func storeOfThePreviousReleaseOpensAndAnswers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let copy = try Self.copy("store-v6", into: directory)
        #expect(try Self.schemaVersion(copy) == 6)

        let store = try SQLiteChunkStore(directory: copy, exactSearchLimit: 1)
        #expect(try Self.schemaVersion(copy) == SQLiteSchema.migrations.count)
        try await Self.checkHandbook(store, at: copy)
        let key = try #require(try await store.key(id: "2350b29480717423"))
        #expect(key.tenant == "default")
        #expect(key.role == "admin")
        #expect(key.revokedAt == nil)
        let audit = try await store.auditRows(since: nil, tenant: nil, after: 0, limit: 10)
        #expect(audit.count == 1)
        #expect(audit.first?.previousHash == AuditChain.genesisHash)
        #expect(audit.first?.record.contains(#""route":"/query""#) == true)
        // It takes writes as a store of today's schema does.
        try await store.removeDocument(in: "handbook", path: "hnsw.md")
        #expect(try await store.collection(named: "handbook")?.documentCount == 2)
        // A delete leaves the saved index behind until its next use; an ingest brings it up to date so.
        try await store.synchronizeIndex(of: "handbook")
        let problems = try await store.verify()
        #expect(problems.isEmpty, "\(problems)")
        // Migration 7 added conversations and usage per day (none yet), which take writes.
        #expect(try await store.listSessions(tenant: "default", keyID: nil, limit: 10, after: nil).isEmpty)
        try await store.createSession(SessionRecord(id: "ses_upgraded", tenant: "default"))
        let turn = try await store.appendTurn(SessionTurn(question: "q", answer: "a"), session: "ses_upgraded", tenant: "default", expiresAt: nil)
        #expect(turn.seq == 1)
        try await store.addDailyUsage(DailyUsageRecord(tenant: "default", model: "m", day: "2026-12-01", requests: 1))
        #expect(try await store.listDailyUsage(tenant: "default", keyID: nil, from: "2026-12-01", through: "2026-12-01").count == 1)
        await store.close()
    }

    /// Schema 7 (conversations and usage per day) to 8 (keys' last use): the conversation, its
    /// turn and the day's usage are kept, the key has no last use until one is recorded.
    @Test func storeOfSchema7KeepsItsConversationsAndUsage() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let copy = try Self.copy("store-v7", into: directory)
        #expect(try Self.schemaVersion(copy) == 7)

        let store = try SQLiteChunkStore(directory: copy, exactSearchLimit: 1)
        #expect(try Self.schemaVersion(copy) == SQLiteSchema.migrations.count)
        try await Self.checkHandbook(store, at: copy)
        let sessions = try await store.listSessions(tenant: "default", keyID: "2350b29480717423", limit: 10, after: nil)
        #expect(sessions.map(\.id) == ["ses_qhipincxlg2os7asseacxqrc"] && sessions.first?.turnCount == 1)
        let turns = try await store.turns(session: "ses_qhipincxlg2os7asseacxqrc", tenant: "default", last: nil)
        #expect(turns.map(\.question) == ["What is a write-ahead log?"] && turns.first?.citations.isEmpty == false)
        let usage = try await store.listDailyUsage(tenant: "default", keyID: nil, from: "2026-12-03", through: "2026-12-03")
        #expect(usage.map(\.model) == ["all-MiniLM-L6-v2"] && usage.first?.embeddingTokens == 10)
        let key = try #require(try await store.key(id: "2350b29480717423"))
        #expect(key.lastUsedAt == nil)
        let used = Date(timeIntervalSince1970: 1_800_000_000)
        try await store.recordKeyUses([key.id: used])
        #expect(try await store.key(id: key.id)?.lastUsedAt == used)
        let problems = try await store.verify()
        #expect(problems.isEmpty, "\(problems)")
        await store.close()
    }

    @Test func storeOfAnOlderSchemaIsMigrated() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let copy = try Self.copy("store-v5", into: directory)
        #expect(try Self.schemaVersion(copy) == 5)

        let store = try SQLiteChunkStore(directory: copy, exactSearchLimit: 1)
        #expect(try Self.schemaVersion(copy) == SQLiteSchema.migrations.count)
        try await Self.checkHandbook(store, at: copy)
        // Migration 6 added keys (none yet) and access lists (none: every key of the tenant).
        #expect(try await store.keyCount() == 0)
        let (record, _) = try #require(try await store.document(in: "handbook", path: "wal.md"))
        #expect(record.access == nil)
        try await store.saveKeys([KeyRecord(id: "k1", tenant: "default", role: "reader", hash: "h")])
        #expect(try await store.keyCount() == 1)
        await store.close()
    }

    /// A backup of the previous release's store restores and opens the same way.
    @Test func backupOfThePreviousReleaseRestores() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let fixture = try Self.copy("store-v6", into: directory)
        let file = directory.url.appendingPathComponent("handbook.backup")
        let made = try SQLiteBackup.backup(store: fixture, to: file)
        #expect(made.schemaVersion == 6)
        #expect(made.documents == 3)
        #expect(made.chunks == 4)
        let restored = directory.url.appendingPathComponent("restored")
        try SQLiteBackup.restore(from: file, to: restored)
        let store = try SQLiteChunkStore(directory: restored)
        try await Self.checkHandbook(store, at: restored)
        await store.close()
    }
}
