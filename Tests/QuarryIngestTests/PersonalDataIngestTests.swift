import Foundation
import QuarryCore
import QuarryGuard
import QuarryIngest
import QuarryStore
import QuarryTestSupport
import Testing

/// `ingest_pii`: personal data counted, or redacted before anything is stored.
@Suite struct PersonalDataIngestTests {
    static let text = """
        ---
        owner: jane.roe@example.com
        ---
        # Access

        Write to dba.team@example.com to be given access to the WAL archive.
        The archive keeps every checkpoint for thirty days.
        """

    @Test func redactionKeepsTheOriginalOutOfTheStore() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try dir.write(Self.text, to: "docs/access.md")
        let store = try SQLiteChunkStore(directory: dir.url.appendingPathComponent("store"))
        let embedder = HashingEmbedder()
        var options = IngestOptions()
        options.personalData = PersonalDataFilter(mode: .redact)
        let report = try await FolderIngestor(store: store, embedder: embedder)
            .ingest(folder: dir.url.appendingPathComponent("docs"), collection: "docs", options: options)
        #expect(report.personalData == ["email": 2] && report.personalDataRedacted)
        let hits = try await store.lexicalSearch(in: "docs", query: "access WAL archive", k: 5, filter: nil)
        #expect(!hits.isEmpty)
        for hit in hits { #expect(!hit.text.contains("@") && !hit.text.contains("dba.team")) }
        #expect(hits.contains { $0.text.contains("[EMAIL]") })
        // Not findable by the address either, and the metadata holds no address.
        #expect(try await store.lexicalSearch(in: "docs", query: "dba.team", k: 5, filter: nil).isEmpty)
        let (record, _) = try #require(try await store.document(in: "docs", path: "access.md"))
        #expect(record.metadata.values.allSatisfy { !$0.contains("@") })
        // The store's files hold no trace of it (SQLite pages, the index, the write-ahead log).
        let files = FileManager.default.enumerator(at: dir.url.appendingPathComponent("store"), includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            let data = (try? Data(contentsOf: file)) ?? Data()
            #expect(data.range(of: Data("dba.team@example.com".utf8)) == nil, "\(file.lastPathComponent)")
        }
        await store.close()
    }

    @Test func detectionCountsAndKeepsTheText() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try dir.write(Self.text, to: "docs/access.md")
        let store = try SQLiteChunkStore(directory: dir.url.appendingPathComponent("store"))
        var options = IngestOptions()
        options.personalData = PersonalDataFilter(mode: .detect)
        let report = try await FolderIngestor(store: store, embedder: HashingEmbedder())
            .ingest(folder: dir.url.appendingPathComponent("docs"), collection: "docs", options: options)
        #expect(report.personalData == ["email": 2] && !report.personalDataRedacted)
        let hits = try await store.lexicalSearch(in: "docs", query: "access WAL archive", k: 5, filter: nil)
        #expect(hits.contains { $0.text.contains("dba.team@example.com") })
        // Off: nothing looked at.
        #expect(PersonalDataFilter(mode: .off) == nil)
        #expect(PersonalDataFilter(policy: GuardrailPolicy(ingestPII: .off)) == nil)
        await store.close()
    }
}
