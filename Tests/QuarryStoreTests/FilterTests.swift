import Foundation
import QuarryCore
import QuarryHNSW
import QuarryStore
import QuarryTestSupport
import Testing

/// Filters are applied inside each search: a filtered search returns `k` hits when `k` chunks
/// match, whether it scans exactly, walks the HNSW graph, or ranks by BM25.
@Suite struct FilterTests {
    let embedder = HashingEmbedder(dimension: 32)

    /// 60 documents in three folders and two file types; every chunk mentions "shared".
    func fill(_ store: any ChunkStore) async throws {
        _ = try await store.ensureCollection(named: "docs", model: embedder.model)
        for d in 0..<60 {
            let folder = ["guide", "api", "notes"][d % 3]
            let path = "\(folder)/doc\(d).\(d % 2 == 0 ? "md" : "txt")"
            let texts = (0..<4).map { "shared words item\(d)x\($0) topic\(d % 5)" }
            try await store.replaceDocument(
                in: "docs",
                document: DocumentRecord(
                    path: path, contentHash: "h\(d)", size: 1, modificationTime: 1, chunkCount: 4,
                    metadata: ["team": ["search", "infra"][d % 2], "year": String(2020 + d % 4)]
                ),
                chunks: texts.enumerated().map { Chunk(ordinal: $0.offset, text: $0.element, location: ChunkLocation(lineStart: 1, lineEnd: 1)) },
                vectors: texts.map(embedder.vector)
            )
        }
    }

    @Test(arguments: StoreBackend.allCases, [10_000, 20])
    func everyRetrieverHonoursTheFilter(_ backend: StoreBackend, exactBelow: Int) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open(exactSearchLimit: exactBelow, indexParameters: HNSWParameters(m: 8, efConstruction: 64))
        try await fill(store)
        try await store.synchronizeIndex(of: "docs")
        let query = embedder.vector("shared words topic1")
        let guideMarkdown = SearchFilter(pathPrefix: "guide/", fileTypes: ["md"])
        // guide/ holds documents 0, 3, 6, …; the .md ones are the even ones: 10 documents, 40 chunks.
        let dense = try await store.search(in: "docs", query: query, k: 25, ef: 64, filter: guideMarkdown)
        #expect(dense.count == 25)
        #expect(dense.allSatisfy { $0.document.hasPrefix("guide/") && $0.document.hasSuffix(".md") })
        let lexical = try await store.lexicalSearch(in: "docs", query: "shared topic1", k: 25, filter: guideMarkdown)
        #expect(lexical.count == 25)
        #expect(lexical.allSatisfy { $0.document.hasPrefix("guide/") && $0.document.hasSuffix(".md") })

        let two = SearchFilter(documents: ["api/doc1.txt", "notes/doc2.md"])
        #expect(Set(try await store.search(in: "docs", query: query, k: 20, ef: 64, filter: two).map(\.document)) == ["api/doc1.txt", "notes/doc2.md"])
        #expect(try await store.search(in: "docs", query: query, k: 20, ef: 64, filter: two).count == 8)
        #expect(try await store.lexicalSearch(in: "docs", query: "shared", k: 20, filter: two).count == 8)

        // Metadata: team search is the even documents, year 2021 those with d % 4 == 1: none in common.
        let searchTeam = SearchFilter(metadata: ["team": "search"])
        let denseTeam = try await store.search(in: "docs", query: query, k: 30, ef: 64, filter: searchTeam)
        #expect(denseTeam.count == 30)
        #expect(denseTeam.allSatisfy { Int($0.document.split(separator: "doc")[1].split(separator: ".")[0])! % 2 == 0 })
        #expect(try await store.lexicalSearch(in: "docs", query: "shared", k: 30, filter: searchTeam).count == 30)
        let searchIn2020 = SearchFilter(metadata: ["team": "search", "year": "2020"])
        // d % 4 == 0: 15 documents, 60 chunks.
        #expect(try await store.search(in: "docs", query: query, k: 100, ef: 400, filter: searchIn2020).count == 60)
        #expect(try await store.lexicalSearch(in: "docs", query: "shared", k: 100, filter: searchIn2020).count == 60)
        #expect(try await store.search(in: "docs", query: query, k: 5, ef: 64, filter: SearchFilter(metadata: ["team": "search", "year": "2021"])).isEmpty)
        #expect(try await store.document(in: "docs", path: "api/doc1.txt")?.0.metadata == ["team": "infra", "year": "2021"])

        let none = SearchFilter(fileTypes: ["pdf"])
        #expect(try await store.search(in: "docs", query: query, k: 5, ef: 64, filter: none).isEmpty)
        #expect(try await store.lexicalSearch(in: "docs", query: "shared", k: 5, filter: none).isEmpty)

        // The best allowed chunks by cosine, as a full scan finds them (scores, as the hashing
        // embedder gives many chunks the same one).
        let all = try await store.search(in: "docs", query: query, k: 240, ef: 400)
        #expect(all.count == 240)
        let expected = all.filter { $0.document.hasPrefix("guide/") && $0.document.hasSuffix(".md") }.prefix(10).map(\.score)
        let top = try await store.search(in: "docs", query: query, k: 10, ef: 400, filter: guideMarkdown).map(\.score)
        #expect(zip(top, expected).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func filterMatching() {
        let filter = SearchFilter(pathPrefix: "scifact/", fileTypes: ["jsonl"])
        #expect(filter.accepts(path: "scifact/corpus.jsonl#42", source: "scifact/corpus.jsonl"))
        #expect(!filter.accepts(path: "sqlite-docs/wal.md", source: "sqlite-docs/wal.md"))
        #expect(!SearchFilter(fileTypes: ["md"]).accepts(path: "README", source: "README"))
        #expect(SearchFilter(fileTypes: ["md"]).accepts(path: "a/B.MD", source: "a/B.MD"))
        #expect(SearchFilter().isEmpty && SearchFilter(pathPrefix: "").isEmpty && !SearchFilter(documents: []).isEmpty)
        #expect(!SearchFilter(documents: []).accepts(path: "a", source: "a"))
    }
}
