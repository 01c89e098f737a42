import Foundation
import QuarryTestSupport
import Synchronization
import Testing

/// The deployment `docs/scaling.md` describes, for real: two `quarry serve` processes (the
/// release binary) with the pgvector backend on one PostgreSQL database, on ports of their own.
/// Node A ingests while node B serves queries without an error; after the job commits, both
/// answer from the new documents; node A killed (SIGKILL) in the middle of an ingest leaves the
/// database consistent (`quarry verify --backend pgvector`) and node B unaffected; running the
/// ingest again on B ends exactly as the clean ingest did.
@Suite struct TwoNodeTests {
    /// What node B's query loop saw.
    final class Record: Sendable {
        let answered = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        /// Set to end the loop after its request (cancelling would cancel the request too).
        let stopped = Atomic<Bool>(false)
    }

    @Test func oneNodeIngestsWhileTheOtherServesAndSurvivesItsCrash() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try ChaosCorpus.write("seed", files: 5, marker: "walrus", paragraphs: 1, in: dir)
        try ChaosCorpus.write("docs", files: 60, marker: "narwhal", paragraphs: 4, in: dir)
        let database = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(database) }
        let backend = ["--backend", "pgvector", "--pg-url", database]
        let arguments = backend + ["--ingest-root", dir.url.path]

        let nodeA = try await ServeProcess(arguments, in: dir.url)
        defer { nodeA.terminate() }
        let nodeB = try await ServeProcess(arguments, in: dir.url)
        defer { nodeB.terminate() }
        let seeded = try await nodeA.waitForJob(try await nodeA.startIngest("seed", collection: "seed"))
        #expect(seeded["state"] as? String == "succeeded", "\(seeded)")

        // Node B answers queries the whole time; every answer must be a 200 with hits.
        let record = Record()
        let base = nodeB.url
        let queries = Task {
            var round = 0
            while !record.stopped.load(ordering: .relaxed) {
                let mode = ["dense", "lexical", "hybrid"][round % 3]
                let (status, body) = await ServeProcess.raw(
                    base, "POST", "search", #"{"query": "walrus checkpoint pages", "collection": "seed", "mode": "\#(mode)", "top_k": 3}"#, timeout: 30
                )
                let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
                if status == 200, (json?["hits"] as? [Any])?.count == 3 {
                    record.answered.add(1, ordering: .relaxed)
                } else {
                    record.failures.withLock { $0.append("\(Date()) \(mode): \(status) \(String(decoding: body, as: UTF8.self))") }
                }
                round += 1
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        defer { record.stopped.store(true, ordering: .relaxed) }

        // A ingests; once the job has committed, both nodes answer from the new documents.
        let job = try await nodeA.waitForJob(try await nodeA.startIngest("docs", collection: "docs"))
        #expect(job["state"] as? String == "succeeded", "\(job)")
        let reference = await ChaosTests.contents(nodeA, "docs")
        #expect(reference.documents.count == 60 && !reference.duplicates)
        for node in [nodeA, nodeB] {
            for mode in ["dense", "lexical", "hybrid"] {
                let hits = await node.search("narwhal vacuum free pages", collection: "docs", mode: mode)
                #expect(hits.status == 200 && hits.chunks.count == 5, "\(node.url) \(mode): \(hits)")
            }
            #expect(await node.collections()["docs"]?.documents == 60)
        }
        let fromA = await nodeA.search("narwhal item7x2 vacuum", collection: "docs", mode: "hybrid")
        let fromB = await nodeB.search("narwhal item7x2 vacuum", collection: "docs", mode: "hybrid")
        #expect(fromA.chunks == fromB.chunks && !fromA.chunks.isEmpty, "\(fromA) \(fromB)")
        let duringIngest = record.answered.load(ordering: .relaxed)

        // A dies in the middle of the next ingest.
        let doomed = try await nodeA.startIngest("docs", collection: "again")
        let seen = try await nodeA.waitForJob(doomed) { ($0["files_done"] as? Int ?? 0) > 0 }
        await nodeA.stop(SIGKILL)
        #expect(seen["state"] as? String == "running", "the job ended before the kill: \(seen)")
        let verify = try await ChaosTests.verify(backend)
        #expect(verify.status == 0, "\(verify.output)")
        let partial = await ChaosTests.contents(nodeB, "again")
        #expect(partial.documents.count < 60 && !partial.duplicates, "\(partial.documents.count)")
        #expect(partial.documents.allSatisfy { reference.documents[$0.key] == $0.value }, "a document was written part way")

        // B finishes it: the clean result.
        let rerun = try await nodeB.waitForJob(try await nodeB.startIngest("docs", collection: "again"))
        #expect(rerun["state"] as? String == "succeeded", "\(rerun)")
        let again = await ChaosTests.contents(nodeB, "again")
        #expect(!again.duplicates)
        #expect(again.documents == reference.documents)
        let counts = await nodeB.collections()
        #expect(counts["again"]?.chunks == counts["docs"]?.chunks, "\(counts)")

        // A started again sees the same.
        let restarted = try await ServeProcess(arguments, in: dir.url)
        defer { restarted.terminate() }
        #expect(await ChaosTests.contents(restarted, "again").documents == reference.documents)
        await restarted.stop()

        record.stopped.store(true, ordering: .relaxed)
        await queries.value
        let total = record.answered.load(ordering: .relaxed)
        #expect(record.failures.withLock { $0 }.isEmpty, "node B failed: \(record.failures.withLock { $0.prefix(5) })")
        #expect(duringIngest > 0 && total > duringIngest)
        await nodeB.stop()
        let final = try await ChaosTests.verify(backend)
        #expect(final.status == 0, "\(final.output)")
        print("TwoNodeTests: node B answered \(total) searches, \(duringIngest) of them before A's crash, with \(record.failures.withLock { $0.count }) failures")
    }
}
