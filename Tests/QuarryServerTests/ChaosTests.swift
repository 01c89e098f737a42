import Foundation
import QuarryTestSupport
import Testing

/// Faults injected into a real `quarry serve` (the release binary of `$QUARRY_BIN`): SIGKILL
/// during an ingest job and during index saves, a damaged index file, the LLM server killed in
/// the middle of a streamed answer, a full disk, and a crashed store on read-only media; after
/// each, the store passes `quarry verify` and ends up exactly as a clean ingest leaves it. The
/// PostgreSQL faults are in `PostgresRestartTests` and `TwoNodeTests`. `make chaos` runs these
/// alone; `QUARRY_CHAOS_ROUNDS` repeats the index-save kills (2 rounds by default).
@Suite(.serialized) struct ChaosTests {
    static let rounds = Int(ProcessInfo.processInfo.environment["QUARRY_CHAOS_ROUNDS"] ?? "") ?? 2

    /// `quarry verify ARGUMENTS`: its status, the documents and chunks it counted, its stderr.
    static func verify(_ arguments: [String]) async throws -> (status: Int32, documents: Int, chunks: Int, output: String) {
        let result = try await GracefulShutdownTests.quarry(["verify"] + arguments)
        // "STORE: 1 collections, 40 documents, 80 chunks; no problems"
        let words = result.stdout.split(whereSeparator: { $0 == " " || $0 == "," || $0 == ";" })
        func count(before noun: String) -> Int {
            guard let index = words.firstIndex(of: Substring(noun)), index > 0 else { return -1 }
            return Int(words[index - 1]) ?? -1
        }
        return (result.status, count(before: "documents"), count(before: "chunks"), result.stdout + result.stderr)
    }

    /// The collection's documents as a map from id to chunk count, and whether an id was listed
    /// twice.
    static func contents(_ server: ServeProcess, _ collection: String) async -> (documents: [String: Int], duplicates: Bool) {
        let listed = await server.documents(collection)
        let documents = Dictionary(listed.map { ($0.id, $0.chunks) }) { first, _ in first }
        return (documents, documents.count != listed.count)
    }

    /// The `.hnsw` files and leftover temporary files of a store's index folder.
    static func indexFiles(_ store: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store + "/index")) ?? []).sorted()
    }

    // MARK: SIGKILL

    /// SIGKILL while a job is between batches: the store verifies, holds whole documents only,
    /// and the same job run again ends exactly as a clean ingest of the folder does.
    @Test func sigkillDuringAnIngestJobLosesAndDuplicatesNothing() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        // Enough files that the kill lands mid-job however fast this machine embeds (60 were
        // all committed between the poll and the kill once the encoder ran in bfloat16).
        let files = 240
        try ChaosCorpus.write("docs", files: files, marker: "walrus", paragraphs: 4, in: dir)
        let store = dir.url.appendingPathComponent("store").path
        let arguments = ["--store", store, "--ingest-root", dir.url.path]
        let environment = ["QUARRY_EXACT_BELOW": "20"]

        let first = try await ServeProcess(arguments, environment: environment, in: dir.url)
        defer { first.terminate() }
        let job = try await first.startIngest("docs", collection: "docs")
        let seen = try await first.waitForJob(job) { ($0["files_done"] as? Int ?? 0) > 0 }
        await first.stop(SIGKILL)
        #expect(seen["state"] as? String == "running", "the job ended before the kill: \(seen)")
        #expect((seen["files_done"] as? Int ?? 0) < files, "\(seen)")

        let afterKill = try await Self.verify(["--store", store])
        #expect(afterKill.status == 0, "\(afterKill.output)")

        let second = try await ServeProcess(arguments, environment: environment, in: dir.url)
        defer { second.terminate() }
        let partial = await Self.contents(second, "docs")
        #expect(!partial.duplicates)
        #expect(partial.documents.count < files, "\(partial.documents.count) documents after the kill")
        let rerun = try await second.waitForJob(try await second.startIngest("docs", collection: "docs"))
        #expect(rerun["state"] as? String == "succeeded", "\(rerun)")
        let clean = try await second.waitForJob(try await second.startIngest("docs", collection: "clean"))
        #expect(clean["state"] as? String == "succeeded", "\(clean)")

        let resumed = await Self.contents(second, "docs"), reference = await Self.contents(second, "clean")
        #expect(!resumed.duplicates)
        #expect(resumed.documents.count == files)
        #expect(resumed.documents == reference.documents)
        #expect(resumed.documents.values.allSatisfy { $0 > 0 })
        let counts = await second.collections()
        #expect(counts["docs"]?.chunks == counts["clean"]?.chunks, "\(counts)")
        let search = await second.search("walrus checkpoint pages", collection: "docs")
        #expect(search.status == 200 && search.chunks.count == 5, "\(search)")
        await second.stop()

        let final = try await Self.verify(["--store", store])
        #expect(final.status == 0, "\(final.output)")
        #expect(final.documents == 2 * files && final.chunks == (counts["clean"]?.chunks ?? 0) * 2, "\(final.output)")
    }

    /// SIGKILL while an index is being saved — the one an ingest job writes once its documents
    /// are committed, and the one the first dense query builds and saves in the background.
    /// Saves are atomic (a temporary file renamed into place): the next start never finds a
    /// damaged file, answers the same hits, and the store verifies.
    @Test func sigkillDuringIndexSavesLeavesNoDamagedIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try ChaosCorpus.write("docs", files: 50, marker: "walrus", paragraphs: 4, in: dir)
        let store = dir.url.appendingPathComponent("store").path
        let arguments = ["--store", store, "--ingest-root", dir.url.path]
        let indexed = ["QUARRY_EXACT_BELOW": "1"]
        var killedDuringASave = 0

        // 1. The job's own save, right after its last batch committed.
        let first = try await ServeProcess(arguments, environment: indexed, in: dir.url)
        defer { first.terminate() }
        let job = try await first.startIngest("docs", collection: "docs")
        if await Self.killDuringNextSave(first, store: store, within: .seconds(120)) { killedDuringASave += 1 }
        let afterJob = try await Self.verify(["--store", store])
        #expect(afterJob.status == 0, "\(afterJob.output)")
        #expect(afterJob.documents == 50, "the documents were committed before the save: \(afterJob.output) (job \(job))")

        // The reference: the hits of an index built without interruption (in memory, exact).
        let reference = try await ServeProcess(arguments, in: dir.url)
        defer { reference.terminate() }
        let expected = await reference.search("walrus vacuum free pages", collection: "docs")
        await reference.stop()
        #expect(expected.status == 200 && expected.chunks.count == 5, "\(expected)")

        // 2. The first dense query's background save, `rounds` times, the index file gone first.
        for _ in 0..<Self.rounds {
            for name in Self.indexFiles(store) where name.hasSuffix(".hnsw") {
                try FileManager.default.removeItem(atPath: store + "/index/" + name)
            }
            let server = try await ServeProcess(arguments, environment: indexed, in: dir.url)
            defer { server.terminate() }
            async let searched = server.search("walrus vacuum free pages", collection: "docs")
            if await Self.killDuringNextSave(server, store: store, within: .seconds(60)) { killedDuringASave += 1 }
            // The save starts before the answer is sent, so the kill may cut the request itself.
            let answer = await searched
            #expect(answer.status == 200 ? answer.chunks == expected.chunks : answer.status == 0, "\(answer)")
        }

        let restarted = try await ServeProcess(arguments, environment: indexed, in: dir.url)
        defer { restarted.terminate() }
        let after = await restarted.search("walrus vacuum free pages", collection: "docs")
        await restarted.stop()
        #expect(after.status == 200)
        #expect(after.chunks == expected.chunks)
        #expect(!restarted.logText.contains("rebuilding the index"), "a damaged index file was found: \(restarted.logText)")
        let final = try await Self.verify(["--store", store])
        #expect(final.status == 0 && final.documents == 50, "\(final.output)")
        print("ChaosTests: \(killedDuringASave) of \(Self.rounds + 1) kills interrupted an index save")
    }

    /// Watches the store's index folder and SIGKILLs the server the moment a new temporary
    /// index file appears (a save under way); if a save completes unseen, or none starts within
    /// `within`, kills it then.
    /// - Returns: whether the kill interrupted a save (its temporary file was left behind).
    static func killDuringNextSave(_ server: ServeProcess, store: String, within: Duration) async -> Bool {
        let before = Set(indexFiles(store))
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline {
            let new = Set(indexFiles(store)).subtracting(before)
            if new.contains(where: { $0.hasSuffix(".tmp") }) {
                kill(server.process.processIdentifier, SIGKILL)
                break
            }
            if new.contains(where: { $0.hasSuffix(".hnsw") }) { break }
            try? await Task.sleep(for: .milliseconds(1))
        }
        await server.stop(SIGKILL)
        return Set(indexFiles(store)).subtracting(before).contains { $0.hasSuffix(".tmp") }
    }

    // MARK: Damaged index

    /// An index file with flipped bytes (server stopped) and one truncated under a running server
    /// (then restarted): each is found, removed and rebuilt from the store; the hits are those of
    /// the intact index, the rebuilt file loads cleanly at the next start, and verify passes.
    @Test func aDamagedIndexFileIsRebuiltFromTheStore() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try ChaosCorpus.write("docs", files: 30, marker: "walrus", in: dir)
        let store = dir.url.appendingPathComponent("store").path
        let environment = ["QUARRY_EXACT_BELOW": "1"]
        let ingest = try await GracefulShutdownTests.quarry([
            "ingest", dir.url.appendingPathComponent("docs").path, "--store", store, "--collection", "docs", "--no-progress", "--exact-below", "1",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let file = store + "/index/docs.hnsw"
        try #require(FileManager.default.fileExists(atPath: file), "\(Self.indexFiles(store))")

        let intact = try await ServeProcess(["--store", store], environment: environment, in: dir.url)
        defer { intact.terminate() }
        let expected = await intact.search("walrus busy timeout lock", collection: "docs")
        await intact.stop()
        #expect(expected.status == 200 && expected.chunks.count == 5, "\(expected)")

        // Flipped bytes in the middle of the file, the server stopped.
        try #require(FileManager.default.fileExists(atPath: file), "\(Self.indexFiles(store)) \(intact.logText)")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        for offset in stride(from: bytes.count / 2, to: min(bytes.count, bytes.count / 2 + 64), by: 1) { bytes[offset] ^= 0xA5 }
        try bytes.write(to: URL(fileURLWithPath: file))
        let flipped = try await ServeProcess(["--store", store], environment: environment, in: dir.url)
        defer { flipped.terminate() }
        let afterFlip = await flipped.search("walrus busy timeout lock", collection: "docs")
        #expect(afterFlip.chunks == expected.chunks)
        #expect(flipped.logText.contains("rebuilding the index of 'docs' from the store"), "\(flipped.logText)")

        // Truncated while the server runs: it keeps answering from memory; a restart rebuilds.
        // (The rebuilt index is saved in the background after the search: wait for it.)
        let saved = ContinuousClock.now + .seconds(30)
        while !FileManager.default.fileExists(atPath: file), ContinuousClock.now < saved { try await Task.sleep(for: .milliseconds(20)) }
        let size = try #require(FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        try #require(truncate(file, off_t(size / 3)) == 0)
        let whileRunning = await flipped.search("walrus busy timeout lock", collection: "docs")
        #expect(whileRunning.chunks == expected.chunks)
        await flipped.stop()
        let truncated = try await ServeProcess(["--store", store], environment: environment, in: dir.url)
        defer { truncated.terminate() }
        let afterTruncation = await truncated.search("walrus busy timeout lock", collection: "docs")
        await truncated.stop()
        #expect(afterTruncation.chunks == expected.chunks)
        #expect(truncated.logText.contains("rebuilding the index of 'docs' from the store"), "\(truncated.logText)")

        // The rebuilt file was saved whole: the next start loads it without a word.
        let clean = try await ServeProcess(["--store", store], environment: environment, in: dir.url)
        defer { clean.terminate() }
        let last = await clean.search("walrus busy timeout lock", collection: "docs")
        await clean.stop()
        #expect(last.chunks == expected.chunks)
        #expect(!clean.logText.contains("rebuilding the index"), "\(clean.logText)")
        let verify = try await Self.verify(["--store", store])
        #expect(verify.status == 0 && verify.documents == 30, "\(verify.output)")
    }

    // MARK: LLM server

    /// The LLM server dies (SIGKILL) in the middle of a streamed answer. Before any of the
    /// answer's text has reached the client (the guardrails hold a sentence back until it ends),
    /// Quarry falls back to the extractive answer (`llm.fallback_to_extractive`, on by default)
    /// and names the failure in `llm.failures`; once text has reached it, the stream ends with an
    /// `error` event (`llm_unavailable`) after that text. The server stays up throughout, answers
    /// while the LLM server is gone, and uses it again once it is back, without a restart.
    @Test func theLLMServerKilledMidStreamFallsBackOrEndsWithAnErrorEvent() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try ChaosCorpus.write("docs", files: 6, marker: "walrus", paragraphs: 1, in: dir)
        let store = dir.url.appendingPathComponent("store").path
        let ingest = try await GracefulShutdownTests.quarry(["ingest", dir.url.appendingPathComponent("docs").path, "--store", store, "--no-progress"])
        #expect(ingest.status == 0, "\(ingest.stderr)")

        var stub = try await ChatStubProcess(in: dir.url)
        defer { stub.kill() }
        let port = try #require(stub.baseURL.port)
        let environment = ["QUARRY_LLM_BASE_URL": stub.baseURL.absoluteString, "QUARRY_LLM_MODEL": "stub", "QUARRY_LLM_API_KEY": "sk-test"]
        let server = try await ServeProcess(["--store", store], environment: environment, in: dir.url)
        defer { server.terminate() }
        let question = #"{"query": "What does a checkpoint copy?", "answer": "llm", "stream": true, "abstain": "never"}"#

        /// A streamed LLM query during which the stub is killed once it has sent `chunks` pieces.
        func streamKilled(after chunks: Int) async throws -> [(name: String, data: [String: Any])] {
            async let streamed = ServeProcess.raw(server.url, "POST", "query", question, timeout: 120)
            let deadline = ContinuousClock.now + .seconds(60)
            while stub.chunksSent < chunks, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(stub.chunksSent >= chunks)
            stub.kill()
            let (status, body) = await streamed
            #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")
            return Self.events(body)
        }

        // Killed three words in: no text has reached the client, so the extractive answer.
        let early = try await streamKilled(after: 3)
        #expect(early.map(\.name).first == "retrieval" && early.last?.name == "done", "\(early.map(\.name))")
        #expect(!early.contains { $0.name == "error" })
        let fallback = early.last?.data ?? [:]
        #expect(fallback["answerer"] as? String == "extractive", "\(fallback)")
        let failures = ((fallback["llm"] as? [String: Any])?["failures"] as? [String]) ?? []
        #expect(failures.count == 1, "\(fallback)")

        // While it is gone: answered (extractively), neither a hang nor a 500.
        #expect(server.isRunning)
        let (whileGone, answer) = await server.request("POST", "query", #"{"query": "What does a checkpoint copy?", "answer": "llm", "abstain": "never"}"#)
        #expect(whileGone == 200 && answer["answerer"] as? String == "extractive", "\(answer)")

        // Back, then killed after its first sentence (13 words) has been passed on: an error event.
        stub = try await ChatStubProcess(in: dir.url, port: port)
        let late = try await streamKilled(after: 16)
        #expect(late.first?.name == "retrieval" && late.last?.name == "error", "\(late.map(\.name))")
        let error = late.last?.data["error"] as? [String: Any] ?? [:]
        #expect(error["code"] as? String == "llm_unavailable", "\(error)")
        let text = late.filter { $0.name == "delta" }.map { $0.data["text"] as? String ?? "" }.joined()
        #expect(!text.isEmpty && ChatStub.goodAnswer.hasPrefix(text), "\(text)")

        // Back again: the same process answers with the LLM.
        stub = try await ChatStubProcess(in: dir.url, port: port)
        let (status, body) = await ServeProcess.raw(server.url, "POST", "query", question, timeout: 120)
        let whole = Self.events(body)
        #expect(status == 200 && whole.last?.name == "done", "\(whole.map(\.name))")
        #expect(whole.last?.data["answerer"] as? String == "llm", "\(whole.last?.data ?? [:])")
        #expect(whole.filter { $0.name == "delta" }.map { $0.data["text"] as? String ?? "" }.joined() == ChatStub.goodAnswer)
        #expect(server.isRunning)
        await server.stop()
    }

    /// The events of an SSE body, with their JSON data.
    static func events(_ body: Data) -> [(name: String, data: [String: Any])] {
        String(decoding: body, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block in
            var name = "", data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data += line.dropFirst(6) }
            }
            return (name, (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:])
        }
    }

    // MARK: Disk full

    /// Whether this process may mount a tmpfs (root, in a container that allows it).
    static let canMount: Bool = {
        guard getuid() == 0, let probe = try? TemporaryDirectory() else { return false }
        defer { probe.cleanUp() }
        guard (try? Mounts.mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe.url.path])) != nil else { return false }
        Mounts.unmount(probe.url.path)
        return true
    }()

    /// The store on a small tmpfs that fills during an ingest job: the job ends with a storage
    /// error (or, if only the index did not fit, succeeds with a warning), the server keeps
    /// answering, and once space is freed the store verifies and the ingest completes to the
    /// clean result. Needs root and `mount`.
    @Test(.enabled(if: canMount, "needs root and permission to mount a tmpfs"))
    func aFullDiskFailsTheJobCleanlyAndTheStoreRecovers() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try ChaosCorpus.write("seed", files: 4, marker: "walrus", paragraphs: 1, in: dir)
        try ChaosCorpus.write("docs", files: 40, marker: "narwhal", paragraphs: 4, in: dir)
        let disk = dir.url.appendingPathComponent("disk").path
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        try Mounts.mount(["-t", "tmpfs", "-o", "size=4m", "tmpfs", disk])
        defer { Mounts.unmount(disk) }
        let store = disk + "/store"
        let server = try await ServeProcess(["--store", store, "--ingest-root", dir.url.path], environment: ["QUARRY_EXACT_BELOW": "1"], in: dir.url)
        defer { server.terminate() }
        let seeded = try await server.waitForJob(try await server.startIngest("seed", collection: "seed"))
        #expect(seeded["state"] as? String == "succeeded", "\(seeded)")

        // Leave about 160 KB: less than the 40 documents need.
        let filler = disk + "/filler"
        _ = FileManager.default.createFile(atPath: filler, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: filler))
        let block = Data(repeating: 0x55, count: 16 * 1024)
        while (try? handle.write(contentsOf: block)) != nil {}
        try handle.close()
        let size = try #require(FileManager.default.attributesOfItem(atPath: filler)[.size] as? Int)
        try #require(truncate(filler, off_t(max(0, size - 160 * 1024))) == 0)

        let full = try await server.waitForJob(try await server.startIngest("docs", collection: "docs"))
        let state = full["state"] as? String
        if state == "failed" {
            #expect(full["error_code"] as? String == "storage", "\(full)")
            #expect((full["error"] as? String ?? "").contains("full"), "\(full)")
            // What failed, not where the server keeps its store.
            #expect(!(full["error"] as? String ?? "").contains(disk), "\(full)")
        } else {
            #expect(state == "succeeded" && !((full["warnings"] as? [String]) ?? []).isEmpty, "\(full)")
        }
        print("ChaosTests: disk full → job \(state ?? "?"): \(full["error"] ?? full["warnings"] ?? "")")

        #expect(server.isRunning)
        for mode in ["dense", "lexical", "hybrid"] {
            let seedHits = await server.search("walrus checkpoint", collection: "seed", mode: mode, topK: 2)
            #expect(seedHits.status == 200 && seedHits.chunks.count == 2, "\(mode): \(seedHits)")
        }
        let (answered, answer) = await server.request("POST", "query", #"{"query": "What does a checkpoint copy?", "collection": "seed", "abstain": "never"}"#)
        #expect(answered == 200, "\(answer)")

        try FileManager.default.removeItem(atPath: filler)
        let verify = try await Self.verify(["--store", store])
        #expect(verify.status == 0, "\(verify.output)")
        let rerun = try await server.waitForJob(try await server.startIngest("docs", collection: "docs"))
        #expect(rerun["state"] as? String == "succeeded" && ((rerun["warnings"] as? [String]) ?? []).isEmpty, "\(rerun)")
        let clean = try await server.waitForJob(try await server.startIngest("docs", collection: "clean"))
        #expect(clean["state"] as? String == "succeeded", "\(clean)")
        let resumed = await Self.contents(server, "docs"), reference = await Self.contents(server, "clean")
        #expect(!resumed.duplicates && resumed.documents.count == 40)
        #expect(resumed.documents == reference.documents)
        await server.stop()
        let final = try await Self.verify(["--store", store])
        #expect(final.status == 0 && final.documents == 84, "\(final.output)")
    }

    // MARK: Read-only media

    /// A store whose writer was killed, its write-ahead log still holding commits, on read-only
    /// media (a crashed primary's disk attached to a replica). With the writer's shared-memory
    /// file (`-shm`) beside it, SQLite reads the log: the replica serves exactly what was
    /// committed, verify passes, writes get 503 `read_only`. A copy without the `-shm` cannot be
    /// read there: it is refused with a message saying to open it once read-write; after that,
    /// the read-only copy serves the same. Needs root and `mount`.
    @Test(.enabled(if: ReadOnlyMount.isAvailable, "needs root and permission to mount"))
    func aCrashedStoreOnReadOnlyMediaServesWhatWasCommitted() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try ChaosCorpus.write("docs", files: 40, marker: "walrus", paragraphs: 4, in: dir)
        let store = dir.url.appendingPathComponent("store").path
        let writer = try await ServeProcess(["--store", store, "--ingest-root", dir.url.path], in: dir.url)
        defer { writer.terminate() }
        let job = try await writer.startIngest("docs", collection: "docs")
        _ = try await writer.waitForJob(job) { ($0["files_done"] as? Int ?? 0) > 0 }
        await writer.stop(SIGKILL)
        let wal = (try? FileManager.default.attributesOfItem(atPath: store + "/quarry.sqlite-wal")[.size] as? Int) ?? 0
        #expect(wal > 0, "the killed writer left no write-ahead log")
        // A copy as a file-level copy of a crashed disk without its shared memory would be.
        let copy = dir.url.appendingPathComponent("copy").path
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        for name in ["quarry.sqlite", "quarry.sqlite-wal"] { try FileManager.default.copyItem(atPath: store + "/" + name, toPath: copy + "/" + name) }

        let replica = try ReadOnlyMount(URL(fileURLWithPath: store), at: dir.url.appendingPathComponent("replica"))
        defer { replica.unmount() }
        let crashed = try await Self.verify(["--store", replica.url.path])
        #expect(crashed.status == 0 && crashed.output.contains("read-only file system"), "\(crashed.output)")
        let server = try await ServeProcess(["--store", replica.url.path, "--ingest-root", dir.url.path], in: dir.url)
        defer { server.terminate() }
        let served = await Self.contents(server, "docs")
        #expect(served.documents.count == crashed.documents && !served.duplicates, "\(served.documents.count) vs \(crashed.output)")
        let hits = await server.search("walrus checkpoint", collection: "docs", mode: "hybrid")
        #expect(hits.status == 200 && hits.chunks.count == 5, "\(hits)")
        let (refused, body) = await server.request("POST", "ingest", #"{"path": "docs", "collection": "docs"}"#)
        #expect(refused == 503 && (body["error"] as? [String: Any])?["code"] as? String == "read_only", "\(body)")
        await server.stop()

        let bare = try ReadOnlyMount(URL(fileURLWithPath: copy), at: dir.url.appendingPathComponent("bare"))
        defer { bare.unmount() }
        let refusedCopy = try await Self.verify(["--store", bare.url.path])
        #expect(refusedCopy.status != 0, "\(refusedCopy.output)")
        #expect(refusedCopy.output.contains("open the store once read-write"), "\(refusedCopy.output)")
        // Recovery as the message says: opened once read-write, it is whole on read-only media.
        let recovered = try await Self.verify(["--store", copy])
        #expect(recovered.status == 0 && recovered.documents == crashed.documents, "\(recovered.output)")
        let after = try await Self.verify(["--store", bare.url.path])
        #expect(after.status == 0 && after.documents == crashed.documents, "\(after.output)")
        print("ChaosTests: a killed writer's store (WAL \(wal) bytes) read-only: \(crashed.documents) documents served; without -shm: refused")
    }
}

/// `mount` and `umount` for the tests that need them (root).
enum Mounts {
    static func mount(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["mount"] + arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailed(command: "mount " + arguments.joined(separator: " "), status: process.terminationStatus)
        }
    }

    static func unmount(_ path: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["umount", path]
        process.standardError = FileHandle.nullDevice
        try? process.run()
        process.waitUntilExit()
    }
}
