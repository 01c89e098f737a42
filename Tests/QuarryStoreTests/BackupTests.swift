import Foundation
import QuarryCore
import QuarryTestSupport
import Synchronization
import Testing

@testable import QuarryStore

/// `SQLiteBackup`: a backup taken while documents are being written holds one instant of the
/// store (every document whole, and exactly those committed by then), and a restore checks the
/// file before installing it (issue 15).
@Suite struct BackupTests {
    static let embedder = HashingEmbedder(dimension: 64)
    static let chunksPerDocument = 6

    static func text(_ document: Int, _ chunk: Int) -> String {
        "document \(document) part \(chunk): " + String(repeating: "wal checkpoint page reader writer ", count: 20)
    }

    /// Document `n`, written in one transaction: `chunksPerDocument` chunks.
    static func write(_ n: Int, to store: SQLiteChunkStore) async throws {
        let texts = (0..<chunksPerDocument).map { text(n, $0) }
        try await store.replaceDocument(
            in: "docs",
            document: DocumentRecord(
                path: String(format: "doc%05d.txt", n), contentHash: "h\(n)", size: 10, modificationTime: 1, chunkCount: chunksPerDocument
            ),
            chunks: texts.enumerated().map { Chunk(ordinal: $0.offset, text: $0.element, location: ChunkLocation(lineStart: 1, lineEnd: 1)) },
            vectors: texts.map(embedder.vector)
        )
    }

    @Test func backupDuringWritesHoldsOneInstantOfTheStore() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let live = directory.url.appendingPathComponent("live")
        let store = try SQLiteChunkStore(directory: live)
        _ = try await store.ensureCollection(named: "docs", model: Self.embedder.model)
        for n in 0..<200 { try await Self.write(n, to: store) }

        // A writer adds documents 200, 201, … one transaction each until told to stop.
        let written = Atomic<Int>(200)
        let stop = Atomic<Bool>(false)
        let writer = Task {
            var n = 200
            while !stop.load(ordering: .acquiring) {
                try await Self.write(n, to: store)
                n += 1
                written.store(n, ordering: .releasing)
            }
        }
        while written.load(ordering: .acquiring) < 220 { try await Task.sleep(for: .milliseconds(5)) }

        let file = directory.url.appendingPathComponent("backup.sqlite")
        let before = written.load(ordering: .acquiring)
        // Small slices with pauses: the copy takes many steps while the writer goes on.
        let executor = BlockingExecutor(threads: 1)
        let summary = try await executor.run { try SQLiteBackup.backup(store: live, to: file, pagesPerStep: 8, pause: 0.002) }
        await executor.shutdown()
        let after = written.load(ordering: .acquiring)
        stop.store(true, ordering: .releasing)
        try await writer.value
        #expect(after > before, "the writer was not blocked while the backup ran")

        let restored = directory.url.appendingPathComponent("restored")
        try SQLiteBackup.restore(from: file, to: restored)
        let copy = try SQLiteChunkStore(directory: restored)
        #expect(try await copy.verify() == [])
        // One instant: documents 0..<m, each whole, with before <= m <= after.
        let documents = try await copy.documents(in: "docs")
        let m = documents.count
        #expect((before...after).contains(m), "backup holds \(m) documents; \(before) were committed before it began, \(after) after")
        #expect(documents.map(\.path) == (0..<m).map { String(format: "doc%05d.txt", $0) })
        #expect(summary.documents == m)
        #expect(summary.chunks == m * Self.chunksPerDocument)
        for n in [0, m / 2, m - 1] {
            let (_, chunks) = try #require(try await copy.document(in: "docs", path: String(format: "doc%05d.txt", n)))
            #expect(chunks.map(\.text) == (0..<Self.chunksPerDocument).map { Self.text(n, $0) })
        }
        await copy.close()
        await store.close()
    }

    @Test func restoreChecksTheBackupAndWillNotOverwriteWithoutBeingTold() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let live = directory.url.appendingPathComponent("live")
        let store = try SQLiteChunkStore(directory: live, exactSearchLimit: 1)
        _ = try await store.ensureCollection(named: "docs", model: Self.embedder.model)
        for n in 0..<30 { try await Self.write(n, to: store) }
        try await store.synchronizeIndex(of: "docs")
        // A conversation is in the database the backup copies, so it comes back with a restore.
        try await store.createSession(SessionRecord(id: "ses_kept", tenant: "default"))
        _ = try await store.appendTurn(SessionTurn(question: "kept?", answer: "kept"), session: "ses_kept", tenant: "default", expiresAt: nil)
        let file = directory.url.appendingPathComponent("backup.sqlite")
        try SQLiteBackup.backup(store: live, to: file)
        // An existing backup file is not replaced unless told.
        #expect(throws: QuarryError.self) { try SQLiteBackup.backup(store: live, to: file) }
        try SQLiteBackup.backup(store: live, to: file, replace: true)
        // More documents after the backup: a restore over the store must bring back 30.
        for n in 30..<40 { try await Self.write(n, to: store) }
        try await store.synchronizeIndex(of: "docs")
        await store.close()

        // Not a database, a damaged one, a database that is no store: refused, named.
        let text = try directory.write("not a database at all", to: "text.sqlite")
        #expect { try SQLiteBackup.check(text) } throws: { ($0 as? QuarryError)?.message.contains(text.path) == true }
        let damaged = directory.url.appendingPathComponent("damaged.sqlite")
        var bytes = try Data(contentsOf: file)
        for offset in stride(from: 4096 * 3, to: bytes.count - 4096, by: 4096) {
            bytes.replaceSubrange(offset + 100..<offset + 400, with: Data(repeating: 0x5A, count: 300))
        }
        try bytes.write(to: damaged)
        #expect { try SQLiteBackup.restore(from: damaged, to: directory.url.appendingPathComponent("r1")) } throws: {
            ($0 as? QuarryError)?.message.contains("damaged") == true
        }
        #expect(!FileManager.default.fileExists(atPath: directory.url.appendingPathComponent("r1/quarry.sqlite").path))
        let other = directory.url.appendingPathComponent("other.sqlite")
        try SQLiteConnection(path: other.path).execute("CREATE TABLE t (x)")
        #expect { try SQLiteBackup.check(other) } throws: { ($0 as? QuarryError)?.message.contains("not a Quarry store") == true }

        // An existing store is replaced only when told; its old index goes with it.
        #expect { try SQLiteBackup.restore(from: file, to: live) } throws: { ($0 as? QuarryError)?.message.contains("--force") == true }
        #expect(FileManager.default.fileExists(atPath: live.appendingPathComponent("index/docs.hnsw").path))
        let summary = try SQLiteBackup.restore(from: file, to: live, replace: true)
        #expect(summary.documents == 30)
        #expect(!FileManager.default.fileExists(atPath: live.appendingPathComponent("index").path))
        let reopened = try SQLiteChunkStore(directory: live, exactSearchLimit: 1)
        #expect(try await reopened.documents(in: "docs").count == 30)
        #expect(try await reopened.verify() == [])
        #expect(try await reopened.turns(session: "ses_kept", tenant: "default", last: nil).map(\.question) == ["kept?"])
        #expect(try await reopened.search(in: "docs", query: Self.embedder.vector(Self.text(12, 2)), k: 1).first?.document == "doc00012.txt")
        await reopened.close()
    }
}
