import Foundation
import QuarryCore
import QuarryIngest
import QuarryStore
import QuarryTestSupport
import Testing

@Suite struct FolderIngestorTests {
    @Test func syncsNewChangedUnchangedAndRemovedFiles() async throws {
        let folder = try TemporaryDirectory()
        let storeDir = try TemporaryDirectory()
        defer {
            folder.cleanUp()
            storeDir.cleanUp()
        }
        try folder.write("SQLite uses a write ahead log.", to: "wal.txt")
        try folder.write("# Vectors\n\nHNSW is a graph index.", to: "sub/hnsw.md")
        try folder.write("binary", to: "image.png")
        try folder.write("hidden", to: ".hidden.txt")

        let store = try SQLiteChunkStore(directory: storeDir.url)
        let embedder = HashingEmbedder()
        let ingestor = FolderIngestor(store: store, embedder: embedder)

        let first = try await ingestor.ingest(folder: folder.url, collection: "docs")
        #expect(first.added == ["sub/hnsw.md", "wal.txt"])
        #expect(first.skipped == 1)
        #expect(first.failed.isEmpty)
        #expect(try await store.documents(in: "docs").map(\.path) == ["sub/hnsw.md", "wal.txt"])
        let embeddedAfterFirst = embedder.embeddedTexts.count

        // Unchanged: nothing re-embedded.
        let second = try await ingestor.ingest(folder: folder.url, collection: "docs")
        #expect(second.unchanged == 2)
        #expect(second.added.isEmpty && second.updated.isEmpty && second.removed.isEmpty)
        #expect(embedder.embeddedTexts.count == embeddedAfterFirst)

        // Changed and removed.
        try folder.write("SQLite checkpoints the log into the database.", to: "wal.txt")
        try FileManager.default.removeItem(at: folder.url.appendingPathComponent("sub/hnsw.md"))
        let third = try await ingestor.ingest(folder: folder.url, collection: "docs")
        #expect(third.updated == ["wal.txt"])
        #expect(third.removed == ["sub/hnsw.md"])
        let hits = try await store.search(in: "docs", query: embedder.vector("checkpoints log"), k: 10)
        #expect(hits.map(\.text) == ["SQLite checkpoints the log into the database."])
    }

    @Test func touchedButIdenticalFileIsNotReembedded() async throws {
        let folder = try TemporaryDirectory()
        let storeDir = try TemporaryDirectory()
        defer {
            folder.cleanUp()
            storeDir.cleanUp()
        }
        let file = try folder.write("same words", to: "a.txt")
        let store = try SQLiteChunkStore(directory: storeDir.url)
        let embedder = HashingEmbedder()
        let ingestor = FolderIngestor(store: store, embedder: embedder)
        _ = try await ingestor.ingest(folder: folder.url, collection: "docs")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: file.path)
        let report = try await ingestor.ingest(folder: folder.url, collection: "docs")
        #expect(report.unchanged == 1)
        #expect(embedder.embeddedTexts == ["same words"])
    }

    @Test func unreadableFileIsReportedAndTheRestIngested() async throws {
        let folder = try TemporaryDirectory()
        let storeDir = try TemporaryDirectory()
        defer {
            folder.cleanUp()
            storeDir.cleanUp()
        }
        try folder.write("good file", to: "good.txt")
        // A dangling link cannot be read: it is reported, and the other files still go in.
        try FileManager.default.createSymbolicLink(
            atPath: folder.url.appendingPathComponent("broken.txt").path, withDestinationPath: "/nonexistent/quarry"
        )
        let latin1 = folder.url.appendingPathComponent("latin1.txt")
        try Data([0x63, 0x61, 0x66, 0xE9]).write(to: latin1)  // "café" in Latin-1

        let store = try SQLiteChunkStore(directory: storeDir.url)
        let report = try await FolderIngestor(store: store, embedder: HashingEmbedder())
            .ingest(folder: folder.url, collection: "docs")
        #expect(report.added == ["good.txt", "latin1.txt"])
        #expect(report.failed.map(\.path) == ["broken.txt"])
        #expect(report.failed.first?.reason.isEmpty == false)
        let hits = try await store.search(in: "docs", query: HashingEmbedder().vector("café"), k: 1)
        #expect(hits.first?.text == "café")
    }

    @Test func missingFolderIsAClearError() async throws {
        let storeDir = try TemporaryDirectory()
        defer { storeDir.cleanUp() }
        let store = try SQLiteChunkStore(directory: storeDir.url)
        await #expect(throws: QuarryError.self) {
            try await FolderIngestor(store: store, embedder: HashingEmbedder())
                .ingest(folder: URL(fileURLWithPath: "/nonexistent/quarry-folder"), collection: "docs")
        }
    }
}

@Suite struct FolderIngestorFormatTests {
    @Test func ingestsEveryFormatAndKeepsPages() async throws {
        let folder = try TemporaryDirectory()
        let storeDir = try TemporaryDirectory()
        defer {
            folder.cleanUp()
            storeDir.cleanUp()
        }
        for name in ["two-pages.pdf", "handbook.docx"] {
            try FileManager.default.copyItem(at: try fixture(name), to: folder.url.appendingPathComponent(name))
        }
        try folder.write("<html><body><nav><a href='/'>Home</a></nav><h1>Vacuum</h1><p>VACUUM rebuilds the file.</p></body></html>", to: "page.html")
        try FileManager.default.copyItem(at: try fixture("truncated.pdf"), to: folder.url.appendingPathComponent("broken.pdf"))

        let store = try SQLiteChunkStore(directory: storeDir.url)
        let embedder = HashingEmbedder()
        let report = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: folder.url, collection: "docs")
        #expect(report.added == ["handbook.docx", "page.html", "two-pages.pdf"])
        #expect(report.failed.map(\.path) == ["broken.pdf"])

        let pdfHits = try await store.search(in: "docs", query: embedder.vector("Page two talks about vacuum"), k: 10)
            .filter { $0.document == "two-pages.pdf" }
        #expect(Set(pdfHits.compactMap(\.location.page)) == [1, 2])
        let html = try await store.search(in: "docs", query: embedder.vector("VACUUM rebuilds"), k: 10).first { $0.document == "page.html" }
        #expect(html?.text == "Vacuum\n\nVACUUM rebuilds the file.")
    }
}
