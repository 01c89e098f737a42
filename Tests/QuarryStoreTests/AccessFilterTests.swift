import Foundation
import QuarryCore
import QuarryHNSW
import QuarryStore
import QuarryTestSupport
import Testing

/// Document permissions inside every search of both stores: a caller's principals decide which
/// chunks a search may return, before the top k are cut, and listings see the same documents.
@Suite struct AccessFilterTests {
    let embedder = HashingEmbedder(dimension: 32)

    func write(_ store: any ChunkStore, _ path: String, access: [String]?, text: String = "shared words") async throws {
        let texts = (0..<2).map { "\(text) \(path) part\($0)" }
        try await store.replaceDocument(
            in: "docs", document: DocumentRecord(path: path, contentHash: "h\(path)\(text)", size: 1, modificationTime: 1, chunkCount: 2, access: access),
            chunks: texts.enumerated().map { Chunk(ordinal: $0.offset, text: $0.element, location: ChunkLocation(lineStart: 1, lineEnd: 1)) },
            vectors: texts.map(embedder.vector)
        )
    }

    @Test(arguments: StoreBackend.allCases, [10_000, 4])
    func searchesReturnOnlyWhatTheCallerMaySee(_ backend: StoreBackend, exactBelow: Int) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open(exactSearchLimit: exactBelow, indexParameters: HNSWParameters(m: 8, efConstruction: 64))
        _ = try await store.ensureCollection(named: "docs", model: embedder.model)
        try await write(store, "open.md", access: nil)
        try await write(store, "public.md", access: ["public"])
        try await write(store, "legal.md", access: ["group:legal"])
        try await write(store, "ana.md", access: ["user:ana", "group:hr"])
        try await store.synchronizeIndex(of: "docs")
        let query = embedder.vector("shared words")
        func documents(_ visibleTo: [String]?) async throws -> (dense: Set<String>, lexical: Set<String>) {
            let filter = SearchFilter(visibleTo: visibleTo)
            let dense = try await store.search(in: "docs", query: query, k: 20, ef: 64, filter: filter.isEmpty ? nil : filter)
            let lexical = try await store.lexicalSearch(in: "docs", query: "shared words", k: 20, filter: filter.isEmpty ? nil : filter)
            return (Set(dense.map(\.document)), Set(lexical.map(\.document)))
        }
        let everyone = try await documents(nil)
        #expect(everyone.dense == ["open.md", "public.md", "legal.md", "ana.md"] && everyone.lexical == everyone.dense)
        let nobody = try await documents([])
        #expect(nobody.dense == ["open.md", "public.md"] && nobody.lexical == nobody.dense)
        let legal = try await documents(["group:legal", "user:bob"])
        #expect(legal.dense == ["open.md", "public.md", "legal.md"] && legal.lexical == legal.dense)
        let hr = try await documents(["group:hr"])
        #expect(hr.dense == ["open.md", "public.md", "ana.md"] && hr.lexical == hr.dense)

        // Listings: the same documents, counted alike.
        let page = try await store.documents(in: "docs", prefix: "", limit: 10, offset: 0, visibleTo: ["group:legal"])
        #expect(page.total == 3 && page.documents.map(\.path) == ["legal.md", "open.md", "public.md"])
        #expect(try await store.documents(in: "docs", prefix: "", limit: 10, offset: 0, visibleTo: nil).total == 4)
        #expect(try await store.document(in: "docs", path: "ana.md")?.0.access == ["user:ana", "group:hr"])
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func permissionsSurviveRewritesAndChangeWithoutReembedding(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        _ = try await store.ensureCollection(named: "docs", model: embedder.model)
        try await write(store, "legal.md", access: ["group:legal"])
        // A rewrite that says nothing of permissions keeps them; one that does replaces them.
        try await write(store, "legal.md", access: nil, text: "changed words")
        #expect(try await store.document(in: "docs", path: "legal.md")?.0.access == ["group:legal"])
        try await write(store, "legal.md", access: ["group:finance"], text: "changed again")
        #expect(try await store.document(in: "docs", path: "legal.md")?.0.access == ["group:finance"])

        let before = try #require(try await store.collection(named: "docs"))
        #expect(try await store.setAccess(in: "docs", path: "legal.md", access: ["user:ana"]))
        #expect(!(try await store.setAccess(in: "docs", path: "missing.md", access: nil)))
        let after = try #require(try await store.collection(named: "docs"))
        #expect(after.generation > before.generation)
        let visible = try await store.search(in: "docs", query: embedder.vector("changed"), k: 5, ef: nil, filter: SearchFilter(visibleTo: ["user:ana"]))
        #expect(visible.map(\.document) == ["legal.md", "legal.md"])
        let hidden = try await store.search(in: "docs", query: embedder.vector("changed"), k: 5, ef: nil, filter: SearchFilter(visibleTo: ["group:finance"]))
        #expect(hidden.isEmpty)
        #expect(try await store.setAccess(in: "docs", path: "legal.md", access: nil))
        #expect(try await store.document(in: "docs", path: "legal.md")?.0.access == nil)
        await store.close()
    }

    /// At 1 % of a collection visible, the indexed search still finds the visible nearest
    /// neighbours: recall@10 against an exact search of the visible chunks alone.
    @Test(arguments: StoreBackend.allCases)
    func filteredRecallAtOnePercentVisibility(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open(exactSearchLimit: 100, indexParameters: HNSWParameters(m: 16, efConstruction: 100))
        _ = try await store.ensureCollection(named: "docs", model: embedder.model)
        var generator = SplitMix64(seed: 7)
        let count = 2_000
        var vectors: [String: [Float]] = [:]
        var writes: [DocumentWrite] = []
        for index in 0..<count {
            let path = "doc\(index).md"
            var vector = (0..<32).map { _ in Float.random(in: -1...1, using: &generator) }
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            vector = vector.map { $0 / norm }
            vectors[path] = vector
            // Every 100th document is the team's: 1 % visible.
            writes.append(
                DocumentWrite(
                    document: DocumentRecord(path: path, contentHash: path, size: 1, modificationTime: 1, chunkCount: 1,
                        access: index % 100 == 0 ? ["group:team"] : ["group:others"]),
                    chunks: [Chunk(ordinal: 0, text: "text \(index)", location: ChunkLocation(lineStart: 1, lineEnd: 1))], vectors: [vector]
                )
            )
        }
        for batch in stride(from: 0, to: writes.count, by: 500) {
            try await store.replaceDocuments(in: "docs", Array(writes[batch..<min(batch + 500, writes.count)]))
        }
        try await store.synchronizeIndex(of: "docs")
        let filter = SearchFilter(visibleTo: ["group:team"])
        let visible = vectors.filter { Int($0.key.dropFirst(3).dropLast(3))! % 100 == 0 }
        var found = 0
        let queries = 20
        for _ in 0..<queries {
            let query = (0..<32).map { _ in Float.random(in: -1...1, using: &generator) }
            let truth = Set(visible.sorted { zip($0.value, query).reduce(0) { $0 + $1.0 * $1.1 } > zip($1.value, query).reduce(0) { $0 + $1.0 * $1.1 } }.prefix(10).map(\.key))
            let hits = try await store.search(in: "docs", query: query, k: 10, ef: 64, filter: filter)
            #expect(hits.count == 10)
            #expect(hits.allSatisfy { visible[$0.document] != nil })
            found += hits.filter { truth.contains($0.document) }.count
        }
        let recall = Double(found) / Double(queries * 10)
        #expect(recall >= 0.95, "filtered recall@10 at 1 % visibility: \(recall)")
        await store.close()
    }
}

