import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryStore
import QuarryTestSupport
import Testing

/// Kills `quarry ingest` with SIGKILL at random instants, again and again while the folder keeps
/// changing, then lets one run finish: the store must then hold exactly what a clean ingest of
/// the folder gives, with no duplicate, orphan or lost document, and answer searches.
///
/// Runs the `quarry` binary named by `$QUARRY_BIN` (`make test` sets the release build), else
/// the debug build next to the tests.
@Suite struct CrashSafetyTests {
    static func quarryBinary() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["QUARRY_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let debug = packageRoot().appendingPathComponent(".build/debug/quarry")
        guard FileManager.default.isExecutableFile(atPath: debug.path) else {
            throw QuarryError(.internal, "no quarry binary: run `swift build` or set QUARRY_BIN")
        }
        return debug
    }

    /// A seeded generator, so a failing run can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let topics = [
        "write-ahead logging", "checkpoints", "vacuum", "foreign keys", "full-text search", "query planning",
        "page cache", "locking", "transactions", "indexes", "triggers", "views",
    ]

    static func paragraph(_ seed: Int, _ generation: Int) -> String {
        let topic = topics[seed % topics.count]
        return "Note \(seed) revision \(generation) is about \(topic). It explains how \(topic) behaves under load, "
            + "and what an operator should watch for when \(topics[(seed + 3) % topics.count]) is involved."
    }

    /// Writes or rewrites the folder's files for `generation`: a changing subset of the notes,
    /// a JSONL corpus whose records change, appear and disappear.
    static func mutate(_ folder: TemporaryDirectory, generation: Int, random: inout SplitMix) throws {
        let noteCount = 30
        for note in 0..<noteCount where generation == 0 || Int.random(in: 0..<5, using: &random) == 0 {
            let body = (0..<(1 + note % 4)).map { paragraph(note * 10 + $0, generation) }.joined(separator: "\n\n")
            try folder.write("# Note \(note)\n\n" + body, to: "notes/note\(note).md")
        }
        if generation > 0 {
            let victim = folder.url.appendingPathComponent("notes/note\(Int.random(in: 0..<noteCount, using: &random)).md")
            try? FileManager.default.removeItem(at: victim)
        }
        var lines: [String] = []
        for record in 0..<120 where (record + generation) % 9 != 0 {
            let changed = record % 7 == generation % 7 ? generation : 0
            let text = paragraph(1000 + record, changed)
            lines.append(#"{"_id": "doc\#(record)", "title": "Record \#(record)", "text": "\#(text)"}"#)
        }
        try folder.write(lines.joined(separator: "\n") + "\n", to: "corpus.jsonl")
    }

    static let exactBelow = 50

    static func ingest(_ binary: URL, folder: URL, store: URL) throws -> Process {
        let process = Process()
        process.executableURL = binary
        // A low exact-search limit, so that every run also builds and persists the HNSW index.
        process.arguments = [
            "ingest", folder.path, "--store", store.path, "--collection", "crash", "--no-progress",
            "--exact-below", "\(exactBelow)",
        ]
        process.environment = ProcessInfo.processInfo.environment.merging(["QUARRY_MODEL": modelDirectory().path]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Everything the store holds for the collection, to compare two stores.
    static func contents(_ store: SQLiteChunkStore) async throws -> [String] {
        var lines: [String] = []
        for source in try await store.sources(in: "crash") {
            lines.append("source \(source.path) \(source.contentHash) \(source.size)")
        }
        for document in try await store.documents(in: "crash") {
            lines.append("document \(document.path) \(document.source) \(document.contentHash) \(document.chunkCount)")
            let (_, chunks) = try #require(try await store.document(in: "crash", path: document.path))
            #expect(chunks.count == document.chunkCount)
            for chunk in chunks {
                lines.append("chunk \(chunk.chunkID) \(chunk.location.lineStart)-\(chunk.location.lineEnd) \(chunk.text)")
            }
        }
        return lines
    }

    @Test(.timeLimit(.minutes(15))) func killedIngestsLeaveNoDuplicatesOrphansOrLostFiles() async throws {
        let binary = try Self.quarryBinary()
        let folder = try TemporaryDirectory()
        let storeDir = try TemporaryDirectory()
        defer {
            folder.cleanUp()
            storeDir.cleanUp()
        }
        var random = SplitMix(state: 20_261_122)
        var kills = 0
        var completed = 0
        var generation = 0
        // How long a run that finishes takes; kills are spread over that span.
        var span = 3.0
        try Self.mutate(folder, generation: 0, random: &random)
        while kills < 24, generation < 120 {
            let started = Date()
            let process = try Self.ingest(binary, folder: folder.url, store: storeDir.url)
            let delay = Double.random(in: 0.05...max(0.1, span), using: &random)
            while process.isRunning, Date().timeIntervalSince(started) < delay {
                try await Task.sleep(for: .milliseconds(5))
            }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                if process.terminationReason == .uncaughtSignal { kills += 1 }
            } else {
                process.waitUntilExit()
                #expect(process.terminationStatus == 0)
                completed += 1
                span = max(0.2, Date().timeIntervalSince(started))
            }
            // Change the folder every other run, so kills land both in fresh work and in resumed work.
            if generation % 2 == 1 { try Self.mutate(folder, generation: generation + 1, random: &random) }
            generation += 1
        }
        #expect(kills >= 20, "only \(kills) runs were killed before finishing")
        print("crash test: \(kills) runs killed, \(completed) finished, over \(generation) runs")

        // One run to the end, then compare with a clean ingest of the same folder.
        let final = try Self.ingest(binary, folder: folder.url, store: storeDir.url)
        final.waitUntilExit()
        #expect(final.terminationStatus == 0)
        let cleanDir = try TemporaryDirectory()
        defer { cleanDir.cleanUp() }
        let clean = try Self.ingest(binary, folder: folder.url, store: cleanDir.url)
        clean.waitUntilExit()
        #expect(clean.terminationStatus == 0)

        let killedStore = try SQLiteChunkStore(directory: storeDir.url, exactSearchLimit: Self.exactBelow)
        let cleanStore = try SQLiteChunkStore(directory: cleanDir.url, exactSearchLimit: Self.exactBelow)
        let expected = try await Self.contents(cleanStore)
        let actual = try await Self.contents(killedStore)
        #expect(actual.count == expected.count)
        let actualSet = Set(actual)
        let expectedSet = Set(expected)
        let missing = expected.filter { !actualSet.contains($0) }
        let extra = actual.filter { !expectedSet.contains($0) }
        #expect(missing.isEmpty, "missing after the kills: \(missing.prefix(5))")
        #expect(extra.isEmpty, "left over after the kills: \(extra.prefix(5))")
        #expect(actual == expected)
        #expect(try await killedStore.verify().isEmpty)

        // The index file holds exactly the chunks (verify compares its labels with SQLite's rows).
        #expect(FileManager.default.fileExists(atPath: storeDir.url.appendingPathComponent("index/crash.hnsw").path))

        // And it answers, through the index, as the clean store does.
        let embedder = try MiniLMEmbedder(modelDirectory: modelDirectory())
        for text in ["how do checkpoints behave under load", "vacuum and query planning", "Record 42"] {
            let query = try await embedder.embed([text])[0]
            let hits = try await killedStore.search(in: "crash", query: query, k: 5, ef: 400)
            #expect(hits.count == 5)
            #expect(hits.map(\.text) == (try await cleanStore.search(in: "crash", query: query, k: 5, ef: 400)).map(\.text))
        }
    }
}
