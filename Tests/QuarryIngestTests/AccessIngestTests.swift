import Foundation
import QuarryCore
import QuarryIngest
import QuarryStore
import QuarryTestSupport
import Testing

/// Where ingested documents get their access lists: their own metadata, then the nearest
/// `.quarry-access`, then the run's default; a re-ingest that says nothing keeps them.
@Suite struct AccessIngestTests {
    @Test func listsComeFromMetadataFoldersAndTheDefault() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        try folder.write("---\ntitle: Plan\naccess: [group:legal, user:ana]\n---\n# Plan\nSecret plan.", to: "own.md")
        try folder.write("group:hr  # the HR team\nuser:bob", to: "hr/.quarry-access")
        try folder.write("Salaries.", to: "hr/pay/salaries.txt")
        try folder.write("Lunch menu.", to: "menu.txt")
        try folder.write(
            #"{"_id": "1", "text": "First record.", "metadata": {"access": ["group:eng"]}}"# + "\n" + #"{"_id": "2", "text": "Second record."}"#,
            to: "records.jsonl"
        )
        try folder.write(#"<html><head><meta name="access" content="public"></head><body><p>Open page.</p></body></html>"#, to: "page.html")
        let store = try SQLiteChunkStore(directory: folder.url.appendingPathComponent(".store"))
        let ingestor = FolderIngestor(store: store, embedder: HashingEmbedder())
        _ = try await ingestor.ingest(folder: folder.url, collection: "c", options: IngestOptions(access: ["group:staff"]))
        func access(_ path: String) async throws -> [String]? { try await store.document(in: "c", path: path)?.0.access }
        #expect(try await access("own.md") == ["group:legal", "user:ana"])
        #expect(try await access("hr/pay/salaries.txt") == ["group:hr", "user:bob"])
        #expect(try await access("menu.txt") == ["group:staff"])
        #expect(try await access("records.jsonl#1") == ["group:eng"])
        #expect(try await access("records.jsonl#2") == ["group:staff"])
        #expect(try await access("page.html") == ["public"])

        // A changed file re-ingested without any list keeps the stored one.
        try folder.write("Lunch menu, changed.", to: "menu.txt")
        _ = try await ingestor.ingest(folder: folder.url, collection: "c")
        #expect(try await access("menu.txt") == ["group:staff"])
        #expect(try await store.document(in: "c", path: "menu.txt")?.1.first?.text.contains("changed") == true)
        await store.close()
    }

    /// A re-ingest gives every document the list its folder gives now, whether its file changed
    /// or not: an edited `.quarry-access` or a new default reaches unchanged files, without
    /// re-embedding them, so that access revoked in the folder is revoked in the store.
    @Test func aChangedFolderListReachesUnchangedFiles() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        try folder.write("group:eng", to: "team/.quarry-access")
        try folder.write("The plan.", to: "team/plan.txt")
        try folder.write("---\naccess: user:ana\n---\nHer notes.", to: "team/own.md")
        try folder.write(#"{"_id": "1", "text": "A record."}"#, to: "team/records.jsonl")
        try folder.write("Lunch menu.", to: "menu.txt")
        let store = try SQLiteChunkStore(directory: folder.url.appendingPathComponent(".store"))
        let ingestor = FolderIngestor(store: store, embedder: HashingEmbedder())
        func access(_ path: String) async throws -> [String]? { try await store.document(in: "c", path: path)?.0.access }
        _ = try await ingestor.ingest(folder: folder.url, collection: "c")
        #expect(try await access("team/plan.txt") == ["group:eng"])
        #expect(try await access("team/records.jsonl#1") == ["group:eng"])
        #expect(try await access("menu.txt") == nil)

        // The folder's list changes and a default appears; no file changes.
        try folder.write("group:legal", to: "team/.quarry-access")
        let report = try await ingestor.ingest(folder: folder.url, collection: "c", options: IngestOptions(access: ["group:staff"]))
        #expect(report.added.isEmpty && report.updated.isEmpty && report.chunksWritten == 0)
        #expect(try await access("team/plan.txt") == ["group:legal"])
        #expect(try await access("team/records.jsonl#1") == ["group:legal"])
        #expect(try await access("team/own.md") == ["user:ana"])
        #expect(try await access("menu.txt") == ["group:staff"])

        // A run whose folder says nothing of a document leaves its list, however it was set.
        _ = try await store.setAccess(in: "c", path: "menu.txt", access: ["user:bob"])
        try FileManager.default.removeItem(at: folder.url.appendingPathComponent("team/.quarry-access"))
        _ = try await ingestor.ingest(folder: folder.url, collection: "c")
        #expect(try await access("team/plan.txt") == ["group:legal"])
        #expect(try await access("menu.txt") == ["user:bob"])
        // A dry run changes nothing.
        try folder.write("group:hr", to: "team/.quarry-access")
        _ = try await ingestor.ingest(folder: folder.url, collection: "c", options: IngestOptions(dryRun: true))
        #expect(try await access("team/plan.txt") == ["group:legal"])
        await store.close()
    }

    @Test func listsParseInEveryWrittenForm() {
        #expect(AccessList.parse("group:legal, user:ana") == ["group:legal", "user:ana"])
        #expect(AccessList.parse("[group:legal, user:ana]") == ["group:legal", "user:ana"])
        #expect(AccessList.parse(#"["user:ana","group:legal","user:ana"]"#) == ["group:legal", "user:ana"])
        #expect(AccessList.parse("# comment\ngroup:hr\n\nuser:bob # trailing") == ["group:hr", "user:bob"])
        #expect(AccessList.parse("") == [])
        #expect(AccessList.isVisible(nil, to: ["user:x"]) && AccessList.isVisible(["public"], to: []))
        #expect(!AccessList.isVisible(["group:hr"], to: ["user:x"]) && AccessList.isVisible(["group:hr"], to: nil))
    }
}
