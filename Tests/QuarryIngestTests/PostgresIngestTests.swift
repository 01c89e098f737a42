import Foundation
import QuarryCore
import QuarryIngest
import QuarryStore
import QuarryTestSupport
import Synchronization
import Testing

/// The pgvector backend under a connection that keeps dropping.
@Suite struct PostgresIngestTests {
    /// 300 files and a 60-record JSONL file.
    static func folder() throws -> TemporaryDirectory {
        let folder = try TemporaryDirectory()
        for index in 0..<300 {
            try folder.write(
                "File \(index) is about topic \(index % 9).\n\nIts second paragraph mentions item \(index * 13).",
                to: String(format: "part%d/f%03d.txt", index % 4, index)
            )
        }
        let records = (0..<60).map { #"{"_id": "r\#($0)", "title": "Record \#($0)", "text": "Record \#($0) of the corpus, about \#($0 % 7)."}"# }
        try folder.write(records.joined(separator: "\n") + "\n", to: "corpus.jsonl")
        return folder
    }

    @Test func connectionsKilledMidIngestLoseNothing() async throws {
        let folder = try Self.folder()
        let fixture = try StoreFixture(.pgvector)
        let cleanFixture = try StoreFixture(.pgvector)
        defer {
            folder.cleanUp()
            fixture.cleanUp()
            cleanFixture.cleanUp()
        }
        let store = try await fixture.open()
        let url = try #require(fixture.databaseURL)

        // While ingests run, every 40 ms the server kills each connection of the store, until 12
        // were killed (a bounded storm: the rest of the test suite runs meanwhile, and may keep
        // the ingest waiting for a thread).
        let kills = Atomic<Int>(0)
        let killer = Thread {
            guard let admin = try? PostgresConnection(url: url) else { return }
            let deadline = Date().addingTimeInterval(120)
            while kills.load(ordering: .relaxed) < 12, Date() < deadline {
                Thread.sleep(forTimeInterval: 0.04)
                let killed = (try? admin.execute(
                    """
                    SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE datname = current_database() AND pid != pg_backend_pid()) k
                    """
                ).int64(0, 0)) ?? 0
                kills.add(Int(killed), ordering: .relaxed)
            }
        }
        killer.start()
        // A body killed twice in a row fails the run: runs go on until one completes after the
        // storm, as an operator (or the next scheduled sync) would run it again.
        var runs = 0
        var completed = false
        while !(completed && killer.isFinished), runs < 5000 {
            runs += 1
            do {
                _ = try await FolderIngestor(store: store, embedder: HashingEmbedder(), batchChunks: 8)
                    .ingest(folder: folder.url, collection: "c")
                completed = true
                try await Task.sleep(for: .milliseconds(20))
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                completed = false
            }
        }
        #expect(completed && killer.isFinished)
        #expect(kills.load(ordering: .relaxed) >= 3, "the connections were hardly killed")

        // What is stored is exactly what a clean ingest stores.
        let clean = try await cleanFixture.open()
        _ = try await FolderIngestor(store: clean, embedder: HashingEmbedder()).ingest(folder: folder.url, collection: "c")
        #expect(try await store.documents(in: "c").map(\.path) == clean.documents(in: "c").map(\.path))
        #expect(try await store.documents(in: "c").map(\.contentHash) == clean.documents(in: "c").map(\.contentHash))
        #expect(try await store.sources(in: "c") == clean.sources(in: "c"))
        #expect(try await store.collection(named: "c")?.chunkCount == clean.collection(named: "c")?.chunkCount)
        #expect(try await store.verify().isEmpty)
        let again = try await FolderIngestor(store: store, embedder: HashingEmbedder()).ingest(folder: folder.url, collection: "c")
        #expect(again.added.isEmpty && again.updated.isEmpty && again.removed.isEmpty)
    }

    @Test func aServerThatIsNotThereIsAClearError() async throws {
        // Nothing listens on port 1.
        do {
            _ = try await PostgresChunkStore(url: "postgres://quarry:secret@127.0.0.1:1/quarry")
            Issue.record("opened a store on nothing")
        } catch let error as QuarryError {
            #expect(error.code == .storage && error.message.contains("cannot connect to PostgreSQL"))
            #expect(!error.message.contains("secret"))
        }
    }
}
