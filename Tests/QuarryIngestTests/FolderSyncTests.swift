import Foundation
import Logging
import QuarryCore
import QuarryEmbedding
import QuarryIngest
import QuarryStore
import QuarryTestSupport
import Synchronization
import Testing

/// Folder sync against each store backend.
@Suite struct FolderSyncTests {
    @Test(arguments: StoreBackend.allCases)
    func jsonlRecordsAreDocumentsSyncedOneByOne(_ backend: StoreBackend) async throws {
        let folder = try TemporaryDirectory()
        let storeDir = try StoreFixture(backend)
        defer {
            folder.cleanUp()
            storeDir.cleanUp()
        }
        let lines = [
            #"{"_id": "a", "title": "Alpha", "text": "Alpha particles are helium nuclei."}"#,
            #"{"_id": "b", "title": "Beta", "text": "Beta decay emits electrons."}"#,
            #"broken line"#,
            #"{"_id": "c", "title": "Gamma", "text": "Gamma rays are photons."}"#,
            #"{"_id": "a", "title": "Duplicate", "text": "A second a."}"#,
        ]
        try folder.write(lines.joined(separator: "\n") + "\n", to: "corpus.jsonl")
        let store = try await storeDir.open()
        let embedder = HashingEmbedder()
        let ingestor = FolderIngestor(store: store, embedder: embedder)

        let first = try await ingestor.ingest(folder: folder.url, collection: "beir")
        #expect(first.added == ["corpus.jsonl#a", "corpus.jsonl#b", "corpus.jsonl#c"])
        #expect(first.failed.map(\.path) == ["corpus.jsonl:3", "corpus.jsonl:5"])
        let documents = try await store.documents(in: "beir")
        #expect(documents.map(\.source) == ["corpus.jsonl", "corpus.jsonl", "corpus.jsonl"])
        let hit = try #require(try await store.search(in: "beir", query: embedder.vector("Gamma rays photons"), k: 1).first)
        #expect(hit.document == "corpus.jsonl#c")
        #expect(hit.text == "Gamma\n\nGamma rays are photons.")
        // The chunk points at its record's line, bytes included.
        let start = lines[0..<3].map { $0.utf8.count + 1 }.reduce(0, +)
        #expect(hit.location.lineStart == 4)
        #expect(hit.location.byteStart == start && hit.location.byteEnd == start + lines[3].utf8.count + 1)

        // Change one record, drop another: only the changed one is embedded again.
        let embeddedBefore = embedder.embeddedTexts.count
        let edited = [lines[0], #"{"_id": "c", "title": "Gamma", "text": "Gamma rays are high-energy photons."}"#]
        try folder.write(edited.joined(separator: "\n") + "\n", to: "corpus.jsonl")
        let second = try await ingestor.ingest(folder: folder.url, collection: "beir")
        #expect(second.updated == ["corpus.jsonl#c"])
        #expect(second.removed == ["corpus.jsonl#b"])
        #expect(second.added.isEmpty && second.failed.isEmpty)
        #expect(embedder.embeddedTexts.count == embeddedBefore + 1)
        #expect(try await store.documents(in: "beir").map(\.path) == ["corpus.jsonl#a", "corpus.jsonl#c"])

        // A line inserted above: the records below keep their vectors and point at their new lines.
        let shifted = [#"{"_id": "z", "text": "Zeta is new."}"#] + edited
        try folder.write(shifted.joined(separator: "\n") + "\n", to: "corpus.jsonl")
        let embeddedBeforeShift = embedder.embeddedTexts.count
        let moved = try await ingestor.ingest(folder: folder.url, collection: "beir")
        #expect(moved.added == ["corpus.jsonl#z"] && moved.updated.isEmpty)
        #expect(embedder.embeddedTexts.count == embeddedBeforeShift + 1)
        let (_, aChunks) = try #require(try await store.document(in: "beir", path: "corpus.jsonl#a"))
        let aStart = shifted[0].utf8.count + 1
        #expect(aChunks.map(\.location) == [ChunkLocation(lineStart: 2, lineEnd: 2, byteStart: aStart, byteEnd: aStart + shifted[1].utf8.count + 1)])

        // The file gone: all its documents go.
        try FileManager.default.removeItem(at: folder.url.appendingPathComponent("corpus.jsonl"))
        let third = try await ingestor.ingest(folder: folder.url, collection: "beir")
        #expect(third.removed == ["corpus.jsonl#a", "corpus.jsonl#c", "corpus.jsonl#z"])
        #expect(try await store.documents(in: "beir").isEmpty)
        #expect(try await store.sources(in: "beir").isEmpty)
    }

    @Test(arguments: StoreBackend.allCases)
    func includeExcludeAndDryRun(_ backend: StoreBackend) async throws {
        let folder = try TemporaryDirectory()
        let storeDir = try StoreFixture(backend)
        defer {
            folder.cleanUp()
            storeDir.cleanUp()
        }
        try folder.write("guide text", to: "docs/guide.md")
        try folder.write("draft text", to: "docs/drafts/next.md")
        try folder.write("notes text", to: "notes.txt")
        let store = try await storeDir.open()
        let embedder = HashingEmbedder()
        let ingestor = FolderIngestor(store: store, embedder: embedder)
        let options = IngestOptions(include: [try Glob("*.md")], exclude: [try Glob("drafts")])

        var dry = options
        dry.dryRun = true
        let preview = try await ingestor.ingest(folder: folder.url, collection: "docs", options: dry)
        #expect(preview.dryRun)
        #expect(preview.added == ["docs/guide.md"])
        #expect(preview.skipped == 2)
        #expect(preview.chunksWritten == 1)
        #expect(try await store.collection(named: "docs") == nil)
        #expect(embedder.embeddedTexts.isEmpty)

        let report = try await ingestor.ingest(folder: folder.url, collection: "docs", options: options)
        #expect(report.added == ["docs/guide.md"])
        #expect(try await store.documents(in: "docs").map(\.path) == ["docs/guide.md"])

        // A full run adds the rest; a later filtered run leaves what it does not select alone.
        _ = try await ingestor.ingest(folder: folder.url, collection: "docs")
        #expect(try await store.documents(in: "docs").count == 3)
        try FileManager.default.removeItem(at: folder.url.appendingPathComponent("notes.txt"))
        try FileManager.default.removeItem(at: folder.url.appendingPathComponent("docs/guide.md"))
        var dryRemoval = options
        dryRemoval.dryRun = true
        let removalPreview = try await ingestor.ingest(folder: folder.url, collection: "docs", options: dryRemoval)
        #expect(removalPreview.removed == ["docs/guide.md"])
        #expect(try await store.documents(in: "docs").count == 3)
        let filtered = try await ingestor.ingest(folder: folder.url, collection: "docs", options: options)
        #expect(filtered.removed == ["docs/guide.md"])
        #expect(try await store.documents(in: "docs").map(\.path) == ["docs/drafts/next.md", "notes.txt"])
    }

    @Test(arguments: StoreBackend.allCases)
    func aRunStoppedHalfwayIsFinishedByTheNextWithoutReembedding(_ backend: StoreBackend) async throws {
        let folder = try TemporaryDirectory()
        let storeDir = try StoreFixture(backend)
        defer {
            folder.cleanUp()
            storeDir.cleanUp()
        }
        for index in 0..<12 {
            try folder.write("File number \(index) talks about topic \(index * 7).", to: String(format: "f%02d.txt", index))
        }
        let records = (0..<30).map { #"{"_id": "r\#($0)", "text": "Record \#($0) of the corpus."}"# }
        try folder.write(records.joined(separator: "\n"), to: "corpus.jsonl")
        let store = try await storeDir.open()
        let embedder = HashingEmbedder()
        // The store fails on its fourth write, as a crash would stop the run there.
        let failing = FailingStore(store, failOnWrite: 4)
        await #expect(throws: QuarryError.self) {
            try await FolderIngestor(store: failing, embedder: embedder, batchChunks: 5).ingest(folder: folder.url, collection: "c")
        }
        let written = try await store.documents(in: "c").count
        #expect(written > 0 && written < 42)
        let embeddedByFirst = embedder.embeddedTexts.count

        let report = try await FolderIngestor(store: store, embedder: embedder, batchChunks: 5).ingest(folder: folder.url, collection: "c")
        #expect(report.added.count + written == 42)
        #expect(report.failed.isEmpty)
        // Documents the first run wrote are not embedded again.
        #expect(embedder.embeddedTexts.count - embeddedByFirst == 42 - written)

        // The result is exactly a clean ingest's.
        let cleanDir = try StoreFixture(backend)
        defer { cleanDir.cleanUp() }
        let clean = try await cleanDir.open()
        _ = try await FolderIngestor(store: clean, embedder: HashingEmbedder()).ingest(folder: folder.url, collection: "c")
        #expect(try await store.documents(in: "c").map(\.path) == clean.documents(in: "c").map(\.path))
        #expect(try await store.documents(in: "c").map(\.contentHash) == clean.documents(in: "c").map(\.contentHash))
        #expect(try await store.sources(in: "c") == clean.sources(in: "c"))
        #expect(try await store.collection(named: "c")?.chunkCount == clean.collection(named: "c")?.chunkCount)
        let again = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: folder.url, collection: "c")
        #expect(again.unchanged == 13 && again.added.isEmpty && again.updated.isEmpty)
    }

    @Test(arguments: StoreBackend.allCases)
    func markdownChunksCarryTheirByteRangeAndUTF16FilesAreRead(_ backend: StoreBackend) async throws {
        let folder = try TemporaryDirectory()
        let storeDir = try StoreFixture(backend)
        defer {
            folder.cleanUp()
            storeDir.cleanUp()
        }
        let markdown = "# Title\n\nFirst paragraph.\n\n## Second\n\nSecond paragraph here.\n"
        try folder.write(markdown, to: "doc.md")
        var utf16 = Data([0xFF, 0xFE])
        for unit in "Wörter in UTF-16.".utf16 { utf16.append(contentsOf: [UInt8(unit & 0xFF), UInt8(unit >> 8)]) }
        try utf16.write(to: folder.url.appendingPathComponent("wide.txt"))
        let store = try await storeDir.open()
        let report = try await FolderIngestor(store: store, embedder: HashingEmbedder()).ingest(folder: folder.url, collection: "c")
        #expect(report.added == ["doc.md", "wide.txt"])
        let (_, chunks) = try #require(try await store.document(in: "c", path: "doc.md"))
        let bytes = Array(markdown.utf8)
        for chunk in chunks {
            let range = try #require(chunk.location.byteStart.flatMap { start in chunk.location.byteEnd.map { start..<$0 } })
            let source = String(decoding: bytes[range], as: UTF8.self)
            // Every line of the chunk is in its byte range.
            for line in chunk.text.split(separator: "\n") { #expect(source.contains(line)) }
        }
        #expect(chunks.map(\.headingPath) == [["Title"], ["Title", "Second"]])
        let (_, wide) = try #require(try await store.document(in: "c", path: "wide.txt"))
        #expect(wide.map(\.text) == ["Wörter in UTF-16."])
        #expect(wide.first?.location.byteStart == 2)
    }

    @Test(arguments: StoreBackend.allCases)
    func progressGoesByBytesAndEndsComplete(_ backend: StoreBackend) async throws {
        let folder = try TemporaryDirectory()
        let storeDir = try StoreFixture(backend)
        defer {
            folder.cleanUp()
            storeDir.cleanUp()
        }
        let records = (0..<200).map { #"{"_id": "r\#($0)", "text": "Record \#($0) of a large corpus file."}"# }
        try folder.write(records.joined(separator: "\n") + "\n", to: "big.jsonl")
        try folder.write("small file", to: "small.txt")
        let seen = Mutex<[IngestProgress]>([])
        let store = try await storeDir.open()
        _ = try await FolderIngestor(store: store, embedder: HashingEmbedder(), batchChunks: 16)
            .ingest(folder: folder.url, collection: "c", options: IngestOptions()) { progress in seen.withLock { $0.append(progress) } }
        let updates = seen.withLock { $0 }
        #expect(updates.count > 5)
        // Inside the one large file, progress still moves.
        #expect(updates.contains { $0.filesDone == 0 && $0.fraction > 0.2 && $0.fraction < 0.9 })
        #expect(zip(updates, updates.dropFirst()).allSatisfy { $0.bytesDone <= $1.bytesDone })
        let last = try #require(updates.last)
        #expect(last.bytesDone == last.bytesTotal && last.filesDone == 2 && last.fraction == 1)
    }

    @Test(arguments: StoreBackend.allCases)
    func deletingADocumentMakesTheNextRunReadItsFileAgain(_ backend: StoreBackend) async throws {
        let folder = try TemporaryDirectory()
        let storeDir = try StoreFixture(backend)
        defer {
            folder.cleanUp()
            storeDir.cleanUp()
        }
        try folder.write("kept words", to: "a.txt")
        let store = try await storeDir.open()
        let ingestor = FolderIngestor(store: store, embedder: HashingEmbedder())
        _ = try await ingestor.ingest(folder: folder.url, collection: "c")
        #expect(try await store.removeDocument(in: "c", path: "a.txt"))
        #expect(try await !store.removeDocument(in: "c", path: "a.txt"))
        #expect(try await store.documents(in: "c").isEmpty)
        let report = try await ingestor.ingest(folder: folder.url, collection: "c")
        #expect(report.added == ["a.txt"])
    }
}

/// A store that passes everything through and fails its `n`-th document write.
/// Issue 15: a job whose documents were all committed but whose index could not be saved
/// (disk full) says so as a warning on a job that succeeded, with its real counts.
@Suite struct IndexSaveFailureTests {
    @Test func anUnsavableIndexIsAWarningNotAFailure() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        for index in 0..<6 { try folder.write("document \(index) about topic \(index)", to: "d\(index).txt") }
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let store = try SQLiteChunkStore(directory: directory.url)
        let failing = FailingStore(store, failOnWrite: Int.max, failIndexSaves: true)
        let report = try await FolderIngestor(store: failing, embedder: HashingEmbedder()).ingest(folder: folder.url, collection: "c")
        #expect(report.added.count == 6)
        #expect(report.indexWarning?.contains("No space left on device") == true)
        #expect(try await store.documents(in: "c").count == 6)

        let jobs = IngestJobs(store: failing, embedder: HashingEmbedder(), roots: [folder.url], logger: Logger(label: "test"))
        try folder.write("one more", to: "d6.txt")
        let id = try jobs.start(path: folder.url.path, collection: "c").id
        await jobs.wait(id)
        let status = try #require(jobs.status(id))
        #expect(status.state == .succeeded && status.added == 1)
        #expect(status.warnings.count == 1 && status.error == nil)
        await jobs.shutdown()
        await store.close()
    }
}

final class FailingStore: ChunkStore {
    private let base: any ChunkStore
    private let failOnWrite: Int
    private let failIndexSaves: Bool
    private let writes = Atomic<Int>(0)

    /// Fails the `failOnWrite`-th document write, and every index save when `failIndexSaves`.
    init(_ base: any ChunkStore, failOnWrite: Int, failIndexSaves: Bool = false) {
        self.base = base
        self.failOnWrite = failOnWrite
        self.failIndexSaves = failIndexSaves
    }

    func collections() async throws -> [CollectionInfo] { try await base.collections() }
    func collection(named name: String) async throws -> CollectionInfo? { try await base.collection(named: name) }
    func ensureCollection(named name: String, model: EmbeddingModelInfo) async throws -> CollectionInfo {
        try await base.ensureCollection(named: name, model: model)
    }
    func removeCollection(named name: String) async throws { try await base.removeCollection(named: name) }
    func sources(in collection: String) async throws -> [SourceRecord] { try await base.sources(in: collection) }
    func documents(in collection: String) async throws -> [DocumentRecord] { try await base.documents(in: collection) }
    func documents(in collection: String, prefix: String, contains: String, limit: Int, offset: Int, visibleTo: [String]?) async throws -> DocumentPage {
        try await base.documents(in: collection, prefix: prefix, contains: contains, limit: limit, offset: offset, visibleTo: visibleTo)
    }
    func document(in collection: String, path: String) async throws -> (DocumentRecord, [StoredChunk])? {
        try await base.document(in: collection, path: path)
    }
    func replaceDocuments(in collection: String, _ writes: [DocumentWrite]) async throws {
        if self.writes.add(1, ordering: .relaxed).newValue == failOnWrite {
            throw QuarryError(.storage, "disk full (simulated)")
        }
        try await base.replaceDocuments(in: collection, writes)
    }
    func updateRecordLocations(in collection: String, _ locations: [RecordLocation]) async throws {
        try await base.updateRecordLocations(in: collection, locations)
    }
    func completeSource(in collection: String, _ source: SourceRecord, keeping: Set<String>?) async throws {
        try await base.completeSource(in: collection, source, keeping: keeping)
    }
    func removeSource(in collection: String, path: String) async throws { try await base.removeSource(in: collection, path: path) }
    func removeDocument(in collection: String, path: String) async throws -> Bool { try await base.removeDocument(in: collection, path: path) }
    func search(in collection: String, query: [Float], k: Int, ef: Int?, filter: SearchFilter?) async throws -> [SearchHit] {
        try await base.search(in: collection, query: query, k: k, ef: ef, filter: filter)
    }
    func lexicalSearch(in collection: String, query: String, k: Int, filter: SearchFilter?) async throws -> [SearchHit] {
        try await base.lexicalSearch(in: collection, query: query, k: k, filter: filter)
    }
    func synchronizeIndex(of collection: String) async throws {
        if failIndexSaves { throw QuarryError(.storage, "No space left on device (injected)") }
        try await base.synchronizeIndex(of: collection)
    }
    func verify() async throws -> [String] { try await base.verify() }
    func setAccess(in collection: String, path: String, access: [String]?) async throws -> Bool {
        try await base.setAccess(in: collection, path: path, access: access)
    }
    func createTenant(_ tenant: TenantRecord) async throws { try await base.createTenant(tenant) }
    func tenants() async throws -> [TenantRecord] { try await base.tenants() }
    func setTenantTier(_ name: String, tier: String?) async throws { try await base.setTenantTier(name, tier: tier) }
    func saveKeys(_ keys: [KeyRecord]) async throws { try await base.saveKeys(keys) }
    func recordKeyUses(_ uses: [String: Date]) async throws { try await base.recordKeyUses(uses) }
    func key(id: String) async throws -> KeyRecord? { try await base.key(id: id) }
    func keys(tenant: String?) async throws -> [KeyRecord] { try await base.keys(tenant: tenant) }
    func keyCount() async throws -> Int { try await base.keyCount() }
    func addUsage(tenant: String, period: String, requests: Int64, tokens: Int64, cost: Double) async throws {
        try await base.addUsage(tenant: tenant, period: period, requests: requests, tokens: tokens, cost: cost)
    }
    func usage(tenant: String, period: String) async throws -> UsageRecord { try await base.usage(tenant: tenant, period: period) }
    func listUsage(tenant: String?, period: String?) async throws -> [UsageRecord] { try await base.listUsage(tenant: tenant, period: period) }
    func appendAudit(_ entries: [AuditEntry], link: @escaping AuditLink) async throws -> [AuditRow] {
        try await base.appendAudit(entries, link: link)
    }
    func auditRows(since: Date?, tenant: String?, after seq: Int64, limit: Int) async throws -> [AuditRow] {
        try await base.auditRows(since: since, tenant: tenant, after: seq, limit: limit)
    }
    func lastAuditRow() async throws -> AuditRow? { try await base.lastAuditRow() }
    func pruneAudit(
        before: Date, link: @escaping AuditLink, record: @escaping @Sendable (AuditPrune) throws -> AuditEntry
    ) async throws -> AuditPrune? {
        try await base.pruneAudit(before: before, link: link, record: record)
    }
    func createSession(_ session: SessionRecord) async throws { try await base.createSession(session) }
    func session(id: String, tenant: String) async throws -> SessionRecord? { try await base.session(id: id, tenant: tenant) }
    func listSessions(tenant: String, keyID: String?, limit: Int, after: SessionCursor?) async throws -> [SessionRecord] {
        try await base.listSessions(tenant: tenant, keyID: keyID, limit: limit, after: after)
    }
    func appendTurn(_ turn: SessionTurn, session id: String, tenant: String, expiresAt: Date?) async throws -> SessionTurn {
        try await base.appendTurn(turn, session: id, tenant: tenant, expiresAt: expiresAt)
    }
    func turns(session id: String, tenant: String, last: Int?) async throws -> [SessionTurn] {
        try await base.turns(session: id, tenant: tenant, last: last)
    }
    func archiveSession(id: String, tenant: String, at date: Date) async throws -> Bool {
        try await base.archiveSession(id: id, tenant: tenant, at: date)
    }
    func deleteSession(id: String, tenant: String) async throws -> Bool { try await base.deleteSession(id: id, tenant: tenant) }
    func pruneSessions(now: Date, archivedBefore: Date?) async throws -> Int {
        try await base.pruneSessions(now: now, archivedBefore: archivedBefore)
    }
    func addDailyUsage(_ record: DailyUsageRecord) async throws { try await base.addDailyUsage(record) }
    func listDailyUsage(tenant: String?, keyID: String?, from: String, through: String) async throws -> [DailyUsageRecord] {
        try await base.listDailyUsage(tenant: tenant, keyID: keyID, from: from, through: through)
    }
    func dailyUsageTotal(tenant: String, keyID: String?, from: String, through: String) async throws -> DailyUsageRecord {
        try await base.dailyUsageTotal(tenant: tenant, keyID: keyID, from: from, through: through)
    }
    func close() async { await base.close() }
}
