import Foundation
import QuarryCore
@testable import QuarryStore
import QuarryTestSupport
import Testing

/// The in-memory BM25 index ranks as FTS5's bm25() does: the same tokens (FTS5's own
/// tokenizer), the same formula, the same top k — with each collection's own statistics, which
/// in a store of one collection are FTS5's.
@Suite struct InMemoryLexicalTests {
    let embedder = HashingEmbedder(dimension: 16)

    struct SciFactDocument: Decodable {
        var _id: String
        var title: String
        var text: String
    }

    struct SciFactQuery: Decodable {
        var text: String
    }

    static func packageRoot() -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func scifactDocuments(_ range: Range<Int>) throws -> [SciFactDocument] {
        let url = packageRoot().appendingPathComponent("corpus/scifact/corpus.jsonl")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        return try lines[range].map { try JSONDecoder().decode(SciFactDocument.self, from: Data($0.utf8)) }
    }

    static func scifactQueries() throws -> [String] {
        let url = packageRoot().appendingPathComponent("corpus/scifact/queries.jsonl")
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(SciFactQuery.self, from: Data($0.utf8)).text
        }
    }

    func open(_ directory: TemporaryDirectory, _ name: String = "store") throws -> SQLiteChunkStore {
        try SQLiteChunkStore(directory: directory.url.appendingPathComponent(name))
    }

    /// Writes each document as a file of up to two chunks (title, then abstract), so that rows
    /// and documents differ.
    func ingest(_ documents: [SciFactDocument], into store: SQLiteChunkStore, collection: String = "scifact", metadata: [String: String] = [:]) async throws {
        _ = try await store.ensureCollection(named: collection, model: embedder.model)
        var writes: [DocumentWrite] = []
        for document in documents {
            let texts = [document.title, document.text].filter { !$0.isEmpty }
            writes.append(
                DocumentWrite(
                    document: DocumentRecord(
                        path: "scifact/\(document._id)", contentHash: "h\(document._id)", size: 1, modificationTime: 1, chunkCount: texts.count,
                        metadata: metadata.isEmpty ? ["parity": Int(document._id).map { $0 % 2 == 0 ? "even" : "odd" } ?? "odd"] : metadata
                    ),
                    chunks: texts.enumerated().map {
                        Chunk(ordinal: $0.offset, text: $0.element, location: ChunkLocation(lineStart: 1, lineEnd: 1))
                    },
                    vectors: texts.map(embedder.vector)
                )
            )
        }
        try await store.replaceDocuments(in: collection, writes)
    }

    /// Two rankings agree: the same scores position by position (1e-4), and the same chunks
    /// except where scores tie (FTS5 orders ties as its sorter meets them).
    static func expectSameRanking(_ expected: [SearchHit], _ actual: [SearchHit], _ context: String) {
        #expect(expected.count == actual.count, "\(context): \(expected.count) vs \(actual.count) hits")
        guard expected.count == actual.count, let last = expected.last else { return }
        for (want, got) in zip(expected, actual) {
            #expect(abs(want.score - got.score) <= 1e-4, "\(context): score \(want.score) (\(want.chunkID)) vs \(got.score) (\(got.chunkID))")
        }
        let clear = { (hits: [SearchHit]) in Set(hits.filter { $0.score > last.score + 1e-4 }.map(\.chunkRowID)) }
        #expect(clear(expected) == clear(actual), "\(context): chunks differ")
        let tiedExpected = expected.filter { abs($0.score - last.score) <= 1e-4 }.map(\.chunkRowID)
        let tiedActual = actual.filter { abs($0.score - last.score) <= 1e-4 }.map(\.chunkRowID)
        #expect(tiedExpected.count == tiedActual.count, "\(context): ties differ")
    }

    func compare(
        _ store: SQLiteChunkStore, _ queries: [String], collection: String = "scifact", k: Int = 10, filter: SearchFilter? = nil
    ) async throws -> Int {
        var answered = 0
        for query in queries {
            let fts5 = try await store.lexicalSearch(in: collection, query: query, k: k, filter: filter, engine: .fts5)
            let inMemory: [SearchHit]
            do {
                inMemory = try await store.lexicalSearch(in: collection, query: query, k: k, filter: filter, engine: .inMemory)
            } catch let error as QuarryError where error.code == .unavailable {
                // A term FTS5 reads as a phrase: the automatic engine must then be FTS5.
                let automatic = try await store.lexicalSearch(in: collection, query: query, k: k, filter: filter)
                Self.expectSameRanking(fts5, automatic, "automatic, '\(query)'")
                continue
            }
            Self.expectSameRanking(fts5, inMemory, "'\(query)'")
            if !fts5.isEmpty { answered += 1 }
        }
        return answered
    }

    @Test func sciFactTopTenAndScoresEqualFTS5() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let store = try open(directory)
        try await ingest(try Self.scifactDocuments(0..<400), into: store)
        let queries = try Self.scifactQueries()
        #expect(queries.count == 1109)
        let answered = try await compare(store, queries)
        // Every SciFact query has a word some abstract of 400 holds; none was left to FTS5.
        #expect(answered > 1000, "only \(answered) queries had hits")
        let automatic = try await store.lexicalSearch(in: "scifact", query: queries[0], k: 10, filter: nil)
        let inMemory = try await store.lexicalSearch(in: "scifact", query: queries[0], k: 10, filter: nil, engine: .inMemory)
        #expect(automatic.map(\.chunkRowID) == inMemory.map(\.chunkRowID))
        // Deeper lists too.
        _ = try await compare(store, Array(queries.prefix(100)), k: 100)
        await store.close()
    }

    /// FTS5's own tokenizer, driven outside FTS5, makes the tokens `quarry_chunks_fts` holds
    /// (read back through `fts5vocab`), row by row, in order.
    @Test func tokensAreFTS5sTokens() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let store = try open(directory)
        try await ingest(try Self.scifactDocuments(0..<60), into: store)
        try await ingest(
            [
                SciFactDocument(_id: "u1", title: "Café naïve résumé", text: "The runner was running; she runs. İstanbul straße ﬁnance x² हिन्दी"),
                SciFactDocument(_id: "u2", title: "日本語のテキスト", text: "Ünïcödé ДИАКРИТИКИ ÉLÈVE 42nd"),
            ], into: store
        )
        let (stored, texts) = try store.reader.withLock { db -> ([Int64: [String]], [Int64: String]) in
            try db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, quarry_chunks_fts, instance)")
            let statement = try db.prepare("SELECT doc, term FROM temp.vocab ORDER BY doc, offset")
            try statement.bind([])
            var stored: [Int64: [String]] = [:]
            while try statement.step() { stored[statement.int64(0), default: []].append(statement.text(1)) }
            let rows = try db.prepare("SELECT id, text FROM quarry_chunks")
            try rows.bind([])
            var texts: [Int64: String] = [:]
            while try rows.step() { texts[rows.int64(0)] = rows.text(1) }
            return (stored, texts)
        }
        let tokenizer = try FTS5Tokenizer()
        #expect(texts.count > 100)
        for (rowID, text) in texts {
            #expect(try tokenizer.tokens(text) == (stored[rowID] ?? []), "row \(rowID): \(text.prefix(60))")
        }
        #expect(try tokenizer.tokens("Café résumé RUNNING runs") == ["cafe", "resum", "run", "run"])
        #expect(try tokenizer.tokens("日本語のテキスト", query: true) == ["日本語のテキスト"])
        await store.close()
    }

    @Test func unicodeDiacriticsAndStemsRankAsFTS5() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let store = try open(directory)
        let texts = [
            "Café au lait in a small café", "cafe society and coffee", "The runner was running fast", "She runs every day",
            "日本語のテキスト を 読む", "naïve résumé writing", "a naive resume", "हिन्दी भाषा", "İstanbul and Istanbul",
            "straße and strasse", "nothing relevant here", "x² plus y²",
        ]
        try await ingest(texts.enumerated().map { SciFactDocument(_id: "\($0.offset)", title: "", text: $0.element) }, into: store, collection: "u")
        let queries = [
            "Café", "CAFE", "cafés", "running", "runs", "run", "日本語のテキスト", "résumé", "naive resume", "istanbul", "straße", "x²",
            "हिन्दी", "café हिन्दी", "running running runs", "the", "zzz",
        ]
        _ = try await compare(store, queries, collection: "u")
        let cafe = try await store.lexicalSearch(in: "u", query: "CAFÉ", k: 10, filter: nil, engine: .inMemory)
        #expect(Set(cafe.map(\.text)) == ["Café au lait in a small café", "cafe society and coffee"])
        let run = try await store.lexicalSearch(in: "u", query: "run", k: 10, filter: nil, engine: .inMemory)
        #expect(Set(run.map(\.text)) == ["The runner was running fast", "She runs every day"])
        let cjk = try await store.lexicalSearch(in: "u", query: "日本語のテキスト", k: 10, filter: nil, engine: .inMemory)
        #expect(cjk.map(\.text) == ["日本語のテキスト を 読む"])
        // Devanagari: one word to Swift, three tokens to FTS5 (a phrase): FTS5 answers.
        await #expect(throws: QuarryError.self) {
            _ = try await store.lexicalSearch(in: "u", query: "हिन्दी", k: 10, filter: nil, engine: .inMemory)
        }
        let hindi = try await store.lexicalSearch(in: "u", query: "हिन्दी", k: 10, filter: nil)
        #expect(hindi.map(\.text) == ["हिन्दी भाषा"])
        await store.close()
    }

    @Test func staysInStepWithWrites() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let store = try open(directory)
        let documents = try Self.scifactDocuments(0..<300)
        try await ingest(Array(documents[0..<200]), into: store)
        let queries = Array(try Self.scifactQueries().prefix(150))
        _ = try await compare(store, queries)
        // Added documents.
        try await ingest(Array(documents[200..<300]), into: store)
        _ = try await compare(store, queries)
        // Replaced: the same paths with other text (old rows go, new ones come).
        var replaced = Array(documents[0..<40])
        for i in replaced.indices { replaced[i].text = "florbnax quokka \(replaced[i].title)" }
        try await ingest(replaced, into: store)
        _ = try await compare(store, queries + ["florbnax", "quokka florbnax"])
        let zebra = try await store.lexicalSearch(in: "scifact", query: "florbnax quokka", k: 100, filter: nil, engine: .inMemory)
        #expect(zebra.count == 40)
        // Removed.
        for document in documents[0..<20] {
            #expect(try await store.removeDocument(in: "scifact", path: "scifact/\(document._id)"))
        }
        _ = try await compare(store, queries + ["florbnax"])
        let fewer = try await store.lexicalSearch(in: "scifact", query: "quokka", k: 100, filter: nil, engine: .inMemory)
        #expect(fewer.count == 20)
        // The collection removed and made again under the same name: nothing of the old one.
        try await store.removeCollection(named: "scifact")
        try await ingest(Array(documents[250..<300]), into: store)
        _ = try await compare(store, queries + ["quokka"])
        let gone = try await store.lexicalSearch(in: "scifact", query: "quokka", k: 10, filter: nil, engine: .inMemory)
        #expect(gone.isEmpty)
        // A second store on the same files (another process) writes: this one catches up.
        let other = try open(directory)
        try await ingest([SciFactDocument(_id: "x", title: "wombat", text: "wombat burrows")], into: other)
        await other.close()
        let wombat = try await store.lexicalSearch(in: "scifact", query: "wombat", k: 10, filter: nil, engine: .inMemory)
        #expect(wombat.map(\.text).sorted() == ["wombat", "wombat burrows"])
        await store.close()
    }

    @Test func filtersAreHonoured() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let store = try open(directory)
        try await ingest(try Self.scifactDocuments(0..<300), into: store)
        let queries = Array(try Self.scifactQueries().prefix(200))
        let even = SearchFilter(metadata: ["parity": "even"])
        _ = try await compare(store, queries, filter: even)
        let hits = try await store.lexicalSearch(in: "scifact", query: queries[1], k: 50, filter: even, engine: .inMemory)
        #expect(!hits.isEmpty)
        for hit in hits {
            let number = Int(hit.document.dropFirst("scifact/".count)) ?? 1
            #expect(number % 2 == 0, "\(hit.document) is not even")
        }
        let nothing = SearchFilter(pathPrefix: "elsewhere/")
        #expect(try await store.lexicalSearch(in: "scifact", query: queries[1], k: 10, filter: nothing, engine: .inMemory).isEmpty)
        await store.close()
    }

    /// Each collection ranks by its own rows' statistics: a collection in a store of two scores
    /// as FTS5 does in a store holding that collection alone.
    @Test func statisticsArePerCollection() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let shared = try open(directory, "shared")
        let alone = try open(directory, "alone")
        let documents = try Self.scifactDocuments(0..<300)
        try await ingest(Array(documents[0..<150]), into: shared, collection: "a")
        try await ingest(Array(documents[150..<300]), into: shared, collection: "b")
        try await ingest(Array(documents[0..<150]), into: alone, collection: "a")
        let queries = Array(try Self.scifactQueries().prefix(200))
        var differ = 0
        for query in queries {
            let own = try await shared.lexicalSearch(in: "a", query: query, k: 10, filter: nil, engine: .inMemory)
            let reference = try await alone.lexicalSearch(in: "a", query: query, k: 10, filter: nil, engine: .fts5)
            Self.expectSameRanking(reference, own, "'\(query)'")
            let global = try await shared.lexicalSearch(in: "a", query: query, k: 10, filter: nil, engine: .fts5)
            if zip(global, own).contains(where: { abs($0.score - $1.score) > 1e-3 }) { differ += 1 }
        }
        // FTS5's statistics span both collections, so its scores for "a" are not "a"'s own.
        #expect(differ > 100)
        await shared.close()
        await alone.close()
    }

    /// An index over the memory budget is not kept: FTS5 answers, and the build is not tried
    /// again until a write moves the generation on.
    @Test func overTheBudgetFTS5Answers() throws {
        final class Counter { var reads = 0 }
        let built = Counter()
        let source = LexicalIndexes.Source(
            rowIDs: { [1, 2, 3] },
            texts: { ids in
                built.reads += 1
                return ids.map { ($0, "alpha beta gamma\($0)") }
            },
            collectionIDs: { [7] }
        )
        let small = LexicalIndexes(budgetBytes: 64)
        #expect(try small.index(collectionID: 7, generation: 1, source: source) == nil)
        #expect(try small.index(collectionID: 7, generation: 1, source: source) == nil)
        #expect(built.reads == 1)
        #expect(try small.index(collectionID: 7, generation: 2, source: source) == nil)
        #expect(built.reads == 2)
        let roomy = LexicalIndexes()
        let index = try #require(try roomy.index(collectionID: 7, generation: 1, source: source))
        #expect(index.count == 3)
        #expect(index.search(tokens: ["alpha", "gamma2"], k: 5, allowed: nil).map(\.rowID).first == 2)
        #expect(index.search(tokens: ["alpha"], k: 5, allowed: ChunkIDSet([1, 3])).map(\.rowID) == [1, 3])
    }
}
