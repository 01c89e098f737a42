import Foundation
import QuarryCore
import QuarryHNSW
import QuarryStore
import QuarryTestSupport
import Testing

/// The store above its exact-search limit: searches go through the collection's HNSW index,
/// which is persisted, reloaded, caught up from SQLite and rebuilt when its file is bad.
@Suite struct IndexedSearchTests {
    let embedder = HashingEmbedder(dimension: 32)
    let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]

    func text(_ i: Int) -> String { "\(words[i % 12]) \(words[(i / 12) % 12]) \(words[(i * 7) % 12]) item\(i)" }

    func fill(_ store: SQLiteChunkStore, documents: Range<Int>) async throws {
        for d in documents {
            let texts = (0..<5).map { text(d * 5 + $0) }
            let chunks = texts.enumerated().map {
                Chunk(ordinal: $0.offset, text: $0.element, location: ChunkLocation(lineStart: $0.offset + 1, lineEnd: $0.offset + 1))
            }
            try await store.replaceDocument(
                in: "docs", document: DocumentRecord(path: "doc\(d).txt", contentHash: "h\(d)", size: 1, modificationTime: 1, chunkCount: 5),
                chunks: chunks, vectors: texts.map(embedder.vector)
            )
        }
    }

    func open(_ dir: TemporaryDirectory, limit: Int = 20) async throws -> SQLiteChunkStore {
        let store = try SQLiteChunkStore(directory: dir.url, exactSearchLimit: limit, indexParameters: HNSWParameters(m: 8, efConstruction: 64))
        _ = try await store.ensureCollection(named: "docs", model: embedder.model)
        return store
    }

    /// A seeded unit vector, so that scores have no ties.
    func randomVector(_ seed: Int) -> [Float] {
        var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        var v = (0..<32).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 10_000) / 10_000
        }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        v = v.map { $0 / norm }
        return v
    }

    @Test func indexedSearchAgreesWithExactSearch() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let indexed = try await open(dir)
        for d in 0..<40 {
            let chunks = (0..<5).map { Chunk(ordinal: $0, text: "chunk \(d).\($0)", location: ChunkLocation(lineStart: 1, lineEnd: 1)) }
            try await indexed.replaceDocument(
                in: "docs", document: DocumentRecord(path: "doc\(d).txt", contentHash: "h", size: 1, modificationTime: 1, chunkCount: 5),
                chunks: chunks, vectors: (0..<5).map { randomVector(d * 5 + $0) }
            )
        }
        let exact = try SQLiteChunkStore(directory: dir.url, exactSearchLimit: .max)
        for i in stride(from: 1000, to: 1200, by: 17) {
            let query = randomVector(i)
            let viaIndex = try await indexed.search(in: "docs", query: query, k: 5, ef: 200)
            let viaScan = try await exact.search(in: "docs", query: query, k: 5)
            #expect(viaIndex.map(\.chunkID) == viaScan.map(\.chunkID))
            for (a, b) in zip(viaIndex, viaScan) { #expect(abs(a.score - b.score) < 1e-4) }
        }
    }

    @Test func indexIsPersistedReloadedAndCaughtUp() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let first = try await open(dir)
        try await fill(first, documents: 0..<10)
        try await first.synchronizeIndex(of: "docs")
        let file = dir.url.appendingPathComponent("index/docs.hnsw")
        let persisted = try HNSWIndex.load(from: file)
        #expect(persisted.count == 50)

        // Another process adds and removes documents; a reopened store catches its index up.
        let writer = try await open(dir)
        try await fill(writer, documents: 10..<14)
        try await writer.removeDocument(in: "docs", path: "doc0.txt")
        let reopened = try await open(dir)
        let hits = try await reopened.search(in: "docs", query: embedder.vector(text(66)), k: 3)
        #expect(hits.first?.text == text(66))
        let all = try await reopened.search(in: "docs", query: embedder.vector(text(2)), k: 100, ef: 500)
        #expect(all.count == 65)
        #expect(!all.contains { $0.document == "doc0.txt" })
        try await reopened.synchronizeIndex(of: "docs")
        let caughtUp = try HNSWIndex.load(from: file)
        #expect(caughtUp.count == 65)
        #expect(caughtUp.lastStoreRowID == 70)
    }

    @Test func damagedIndexFileIsRebuiltFromTheStore() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = try await open(dir)
        try await fill(store, documents: 0..<10)
        try await store.synchronizeIndex(of: "docs")
        let file = dir.url.appendingPathComponent("index/docs.hnsw")
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: file)

        let reopened = try await open(dir)
        let hits = try await reopened.search(in: "docs", query: embedder.vector(text(7)), k: 1)
        #expect(hits.first?.text == text(7))
        try await reopened.synchronizeIndex(of: "docs")
        #expect(try HNSWIndex.load(from: file).count == 50)

        try Data("garbage".utf8).write(to: file)
        #expect(try await open(dir).search(in: "docs", query: embedder.vector(text(9)), k: 1).first?.text == text(9))
    }

    @Test func smallCollectionsDropTheirIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = try await open(dir, limit: 1_000)
        try await fill(store, documents: 0..<3)
        try await store.synchronizeIndex(of: "docs")
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("index/docs.hnsw").path))
        #expect(try await store.search(in: "docs", query: embedder.vector(text(4)), k: 1).first?.text == text(4))
    }

    @Test func verifyReportsAnIndexFileThatLagsTheStore() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = try await open(dir)
        try await fill(store, documents: 0..<10)
        try await store.synchronizeIndex(of: "docs")
        #expect(try await store.verify().isEmpty)
        // Written, not yet synchronised: the file on disk lacks the new chunks and holds the old.
        try await fill(store, documents: 9..<12)
        let problems = try await store.verify()
        #expect(problems.count == 1)
        #expect(problems.first?.contains("5 removed chunks still in it, 15 chunks not yet in it") == true)
        try await store.synchronizeIndex(of: "docs")
        #expect(try await store.verify().isEmpty)
    }
}
