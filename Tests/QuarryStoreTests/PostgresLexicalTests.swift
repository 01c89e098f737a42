import Foundation
import QuarryCore
@testable import QuarryStore
import QuarryTestSupport
import Synchronization
import Testing

/// The PostgreSQL store's in-memory BM25 index ranks as its BM25 statement over `quarry_postings`
/// does: the same chunks in the same order (score, then chunk id), the same scores, the same
/// empty answers; it answers only at the generation it was built at, and filtered searches stay
/// with SQL. Against a real PostgreSQL (`scripts/with-test-postgres.sh`).
@Suite struct PostgresLexicalTests {
    let embedder = HashingEmbedder(dimension: 16)

    /// A store of its own on the test server.
    func open(_ fixture: StoreFixture) async throws -> PostgresChunkStore {
        try #require(try await fixture.open() as? PostgresChunkStore)
    }

    func write(
        _ store: PostgresChunkStore, _ path: String, _ texts: [String], collection: String = "c", metadata: [String: String] = [:],
        access: [String]? = nil
    ) -> DocumentWrite {
        DocumentWrite(
            document: DocumentRecord(
                path: path, contentHash: UUID().uuidString, size: 1, modificationTime: 1, chunkCount: texts.count,
                metadata: metadata, access: access
            ),
            chunks: texts.enumerated().map { Chunk(ordinal: $0.offset, text: $0.element, location: ChunkLocation(lineStart: 1, lineEnd: 1)) },
            vectors: texts.map(embedder.vector)
        )
    }


    /// Words with their inflections (one stem, several words), accents, digits, stop words and
    /// rare made-up words; drawn with a skew so some are in most chunks and some in one.
    static let vocabulary: [String] = {
        let stems = [
            "run", "running", "runs", "runner", "cell", "cells", "cellular", "protein", "proteins", "gene", "genes", "genetic",
            "patient", "patients", "treatment", "treated", "treating", "study", "studies", "studied", "mouse", "mice", "tumor",
            "tumour", "growth", "grow", "growing", "signal", "signaling", "signalling", "expression", "expressed", "risk", "risks",
            "café", "cafe", "naïve", "naive", "résumé", "resume", "vitamin", "d3", "2024", "covid19", "p53", "hiv", "rna", "dna",
            "mitochondria", "mitochondrial", "inflammation", "inflammatory", "immune", "immunity", "infection", "infections",
            "receptor", "receptors", "binding", "bound", "binds", "pathway", "pathways", "neuron", "neurons", "neural", "brain",
        ]
        let stop = ["the", "of", "and", "a", "in", "to", "is", "with", "for", "on"]
        let rare = (0..<60).map { "zq\(String($0, radix: 26))x" }
        return stop + stems + rare
    }()

    static func generatedTexts(count: Int, seed: UInt64) -> [String] {
        var random = SplitMix64(seed: seed)
        let words = vocabulary
        return (0..<count).map { index in
            // A few chunks without a word PostgreSQL indexes: they count in N all the same.
            if index % 97 == 13 { return "— … ¿?" }
            let length = Int.random(in: 1...70, using: &random)
            return (0..<length).map { _ in
                // Skewed: the square of a uniform number favours the front of the list.
                let u = Double.random(in: 0..<1, using: &random)
                return words[Int(u * u * Double(words.count))]
            }.joined(separator: Bool.random(using: &random) ? " " : ", ")
        }
    }

    static func generatedQueries(count: Int, seed: UInt64) -> [String] {
        var random = SplitMix64(seed: seed)
        let words = vocabulary + ["absent", "nowhere", "Running", "CELLS", "Cafés"]
        return (0..<count).map { _ in
            (0..<Int.random(in: 1...6, using: &random)).map { _ in words.randomElement(using: &random)! }.joined(separator: " ")
        }
    }

    /// Ingests `texts` as documents of one to three chunks, each document's metadata `parity`
    /// even or odd; returns the documents' paths.
    @discardableResult
    func ingest(_ texts: [String], into store: PostgresChunkStore, collection: String = "c", prefix: String = "doc") async throws -> [String] {
        _ = try await store.ensureCollection(named: collection, model: embedder.model)
        var writes: [DocumentWrite] = []
        var start = 0
        while start < texts.count {
            let end = min(texts.count, start + 1 + writes.count % 3)
            let path = "\(prefix)\(writes.count).txt"
            writes.append(write(store, path, Array(texts[start..<end]), collection: collection, metadata: ["parity": writes.count % 2 == 0 ? "even" : "odd"]))
            start = end
        }
        try await store.replaceDocuments(in: collection, writes)
        return writes.map(\.document.path)
    }

    /// The in-memory ranking equals the SQL one: the same chunk ids in the same order, scores
    /// within 1e-4 (relative). Returns how many queries had hits.
    @discardableResult
    func expectSameRankings(
        _ store: PostgresChunkStore, _ queries: [String], collection: String = "c", k: Int = 10, filter: SearchFilter? = nil,
        engine: PostgresLexicalEngine = .inMemory, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Int {
        var answered = 0
        for query in queries {
            let sql = try await store.lexicalRanking(in: collection, query: query, k: k, filter: filter, engine: .sql)
            let other = try await store.lexicalRanking(in: collection, query: query, k: k, filter: filter, engine: engine)
            #expect(sql.map(\.rowID) == other.map(\.rowID), "'\(query)': \(sql) vs \(other)", sourceLocation: sourceLocation)
            for (a, b) in zip(sql, other) {
                #expect(abs(a.score - b.score) <= 1e-4 * abs(a.score), "'\(query)': \(a.score) vs \(b.score)", sourceLocation: sourceLocation)
            }
            if !sql.isEmpty { answered += 1 }
        }
        return answered
    }

    @Test func generatedChunksRankAsSQL() async throws {
        let fixture = try StoreFixture(.pgvector)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        var texts = Self.generatedTexts(count: 400, seed: 7)
        // Chunks alike word for word tie: the lower chunk id first, as SQL orders them.
        texts += ["tumor growth signaling", "tumor growth signaling", "growth tumor signaling", "tumor growth signaling"]
        try await ingest(texts, into: store)
        #expect(try await store.awaitLexicalIndex(of: "c"))
        let queries = Self.generatedQueries(count: 300, seed: 11)
        let answered = try await expectSameRankings(store, queries)
        #expect(answered > 250, "only \(answered) queries had hits")
        try await expectSameRankings(store, Array(queries.prefix(60)), k: 100)
        try await expectSameRankings(store, Array(queries.prefix(30)), k: 1000)
        // The automatic engine now answers from memory, and alike.
        try await expectSameRankings(store, Array(queries.prefix(30)), engine: .automatic)

        let tied = try await store.lexicalRanking(in: "c", query: "tumor growth signaling", k: 3, filter: nil, engine: .inMemory)
        #expect(tied.count == 3 && tied[0].score == tied[1].score && tied[1].score == tied[2].score)
        #expect(tied.map(\.rowID) == tied.map(\.rowID).sorted())
        await store.close()
    }

    @Test func sciFactRanksAsSQL() async throws {
        let fixture = try StoreFixture(.pgvector)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        _ = try await store.ensureCollection(named: "scifact", model: embedder.model)
        let documents = try InMemoryLexicalTests.scifactDocuments(0..<500)
        try await store.replaceDocuments(
            in: "scifact",
            documents.map { document in
                write(store, "scifact/\(document._id)", [document.title, document.text].filter { !$0.isEmpty }, collection: "scifact")
            }
        )
        #expect(try await store.awaitLexicalIndex(of: "scifact"))
        let queries = Array(try InMemoryLexicalTests.scifactQueries().prefix(400))
        let answered = try await expectSameRankings(store, queries, collection: "scifact")
        #expect(answered > 380, "only \(answered) queries had hits")
        try await expectSameRankings(store, Array(queries.prefix(50)), collection: "scifact", k: 200)
        await store.close()
    }

    /// Every write moves the generation on: the index built before it never answers again, SQL
    /// answers until the index of the new generation is built, and that one ranks as SQL.
    @Test func writesNeverMeetAStaleIndex() async throws {
        let fixture = try StoreFixture(.pgvector)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        let paths = try await ingest(Self.generatedTexts(count: 200, seed: 3), into: store)
        let queries = Self.generatedQueries(count: 60, seed: 5) + ["florbnax", "quokka florbnax", "wombat"]

        /// After a write: no answer from memory until a build of the new generation; the
        /// automatic engine meanwhile equals SQL, and so does the rebuilt index.
        func afterWrite(_ context: Comment) async throws {
            await #expect(throws: QuarryError.self, context) {
                _ = try await store.lexicalRanking(in: "c", query: "cell", k: 10, filter: nil, engine: .inMemory)
            }
            try await expectSameRankings(store, queries, engine: .automatic)
            #expect(try await store.awaitLexicalIndex(of: "c"), context)
            try await expectSameRankings(store, queries)
        }

        #expect(try await store.awaitLexicalIndex(of: "c"))
        try await expectSameRankings(store, queries)

        // Added.
        try await ingest(["florbnax quokka cell", "florbnax"], into: store, prefix: "added")
        try await afterWrite("added")
        #expect(try await store.lexicalRanking(in: "c", query: "florbnax", k: 10, filter: nil, engine: .inMemory).count == 2)

        // Replaced: the same document with other words.
        try await store.replaceDocuments(in: "c", [write(store, paths[0], ["quokka quokka wombat"])])
        try await afterWrite("replaced")
        let quokka = try await store.lexicalRanking(in: "c", query: "quokka", k: 10, filter: nil, engine: .inMemory)
        #expect(quokka.count == 2)

        // Removed (added0.txt held "florbnax quokka cell"; added1.txt, "florbnax").
        #expect(try await store.removeDocument(in: "c", path: "added0.txt"))
        try await afterWrite("removed")
        #expect(try await store.lexicalRanking(in: "c", query: "florbnax", k: 10, filter: nil, engine: .inMemory).count == 1)
        #expect(try await store.lexicalRanking(in: "c", query: "quokka", k: 10, filter: nil, engine: .inMemory).count == 1)

        // Another node (a second store on the same database) writes.
        let other = try await open(fixture)
        try await other.replaceDocuments(in: "c", [write(other, "other.txt", ["wombat burrows", "wombat"])])
        await other.close()
        try await afterWrite("written by another node")
        #expect(try await store.lexicalRanking(in: "c", query: "wombat", k: 10, filter: nil, engine: .inMemory).count == 3)

        // The collection removed and made again under its name: nothing of the old one.
        try await store.removeCollection(named: "c")
        try await ingest(["quokka again", "nothing else"], into: store)
        #expect(try await store.awaitLexicalIndex(of: "c"))
        try await expectSameRankings(store, queries)
        #expect(try await store.lexicalRanking(in: "c", query: "wombat florbnax", k: 10, filter: nil, engine: .inMemory).isEmpty)
        #expect(try await store.lexicalRanking(in: "c", query: "quokka", k: 10, filter: nil, engine: .inMemory).count == 1)
        // Only the live collection's index is held.
        #expect(store.lexicalIndexes.estimatedBytes > 0)
        await store.close()
    }

    /// Filtered searches (metadata, paths, access lists) are SQL's: the in-memory index does
    /// not answer them, and the automatic engine returns what SQL does.
    @Test func filteredSearchesAreSQLs() async throws {
        let fixture = try StoreFixture(.pgvector)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        let texts = Self.generatedTexts(count: 300, seed: 17)
        try await ingest(texts, into: store)
        try await store.replaceDocuments(
            in: "c",
            [
                write(store, "legal.txt", ["cell growth tumor legal"], access: ["group:legal"]),
                write(store, "ana.txt", ["cell growth tumor ana"], access: ["user:ana"]),
                write(store, "public.txt", ["cell growth tumor public"], access: ["public"]),
            ]
        )
        #expect(try await store.awaitLexicalIndex(of: "c"))
        let queries = Self.generatedQueries(count: 80, seed: 19) + ["cell growth tumor"]
        let filters = [
            SearchFilter(metadata: ["parity": "even"]), SearchFilter(pathPrefix: "doc1"), SearchFilter(visibleTo: []),
            SearchFilter(visibleTo: ["group:legal"]), SearchFilter(documents: ["legal.txt", "doc3.txt"]),
        ]
        for filter in filters {
            let answered = try await expectSameRankings(store, queries, filter: filter, engine: .automatic)
            #expect(answered > 0, "\(filter)")
            await #expect(throws: QuarryError.self) {
                _ = try await store.lexicalRanking(in: "c", query: "cell", k: 10, filter: filter, engine: .inMemory)
            }
        }
        // An empty filter is no filter: memory answers.
        try await expectSameRankings(store, queries, filter: SearchFilter())
        let unfiltered = try await store.lexicalSearch(in: "c", query: "cell growth tumor", k: 1000, filter: nil)
        let legal = try await store.lexicalSearch(in: "c", query: "cell growth tumor", k: 1000, filter: SearchFilter(visibleTo: ["group:legal"]))
        #expect(Set(unfiltered.map(\.document)).isSuperset(of: ["legal.txt", "ana.txt", "public.txt"]))
        #expect(legal.contains { $0.document == "legal.txt" } && !legal.contains { $0.document == "ana.txt" })
        // Access changed (a write): the filtered answer follows at once.
        #expect(try await store.setAccess(in: "c", path: "ana.txt", access: ["group:legal"]))
        try await expectSameRankings(store, queries, filter: SearchFilter(visibleTo: ["group:legal"]), engine: .automatic)
        let widened = try await store.lexicalSearch(in: "c", query: "cell growth tumor", k: 1000, filter: SearchFilter(visibleTo: ["group:legal"]))
        #expect(widened.contains { $0.document == "ana.txt" })
        await store.close()
    }

    /// No words, words PostgreSQL does not index, words no chunk holds: nothing, from either
    /// engine; stop words alone are searched for (the query has nothing else), alike.
    @Test func emptyAndStopWordQueries() async throws {
        let fixture = try StoreFixture(.pgvector)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        try await ingest(Self.generatedTexts(count: 120, seed: 23) + ["the of and", "of"], into: store)
        #expect(try await store.awaitLexicalIndex(of: "c"))
        for query in ["", "   ", "!!! ... ¿?", "— …", "absent nowhere", "zzzz"] {
            for engine in [PostgresLexicalEngine.sql, .inMemory, .automatic] {
                #expect(try await store.lexicalRanking(in: "c", query: query, k: 10, filter: nil, engine: engine).isEmpty, "'\(query)' \(engine)")
            }
        }
        let stopWords = ["the", "the of and", "a in to is", "of"]
        let answered = try await expectSameRankings(store, stopWords)
        #expect(answered == stopWords.count)
        // k = 0 asks for nothing.
        #expect(try await store.lexicalRanking(in: "c", query: "cell", k: 0, filter: nil, engine: .inMemory).isEmpty)
        // An empty collection: nothing, and no index to wait for.
        _ = try await store.ensureCollection(named: "empty", model: embedder.model)
        #expect(try await store.lexicalRanking(in: "empty", query: "cell", k: 10, filter: nil, engine: .automatic).isEmpty)
        await store.close()
    }

    /// Over the memory budget the postings are not kept (the read stops early), SQL answers, and
    /// no other build of that generation is tried.
    @Test func overTheBudgetSQLAnswers() async throws {
        let fixture = try StoreFixture(.pgvector)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        try await ingest(Self.generatedTexts(count: 50, seed: 29), into: store)
        let id = try #require(try await store.collection(named: "c")).id
        let generation = try #require(try await store.collection(named: "c")).generation
        guard case .overBudget(let refused) = try await store.buildLexicalIndex(collectionID: id, budgetLeft: 1000) else {
            Issue.record("a 1000-byte budget was not refused")
            return
        }
        #expect(refused == generation)
        guard case .index(let index) = try await store.buildLexicalIndex(collectionID: id, budgetLeft: 1 << 30) else {
            Issue.record("no index built")
            return
        }
        #expect(index.generation == generation && index.estimatedBytes > 1000)

        let builds = Atomic<Int>(0)
        let small = PostgresLexicalIndexes(budgetBytes: index.estimatedBytes - 1)
        let build: @Sendable (Int) async throws -> PostgresLexicalIndexes.Built = { _ in
            builds.add(1, ordering: .relaxed)
            return .index(index)
        }
        small.requestBuild(collectionID: id, generation: generation, build: build)
        await small.awaitBuild(collectionID: id)
        #expect(small.index(collectionID: id, generation: generation) == nil)
        small.requestBuild(collectionID: id, generation: generation, build: build)
        await small.awaitBuild(collectionID: id)
        #expect(builds.load(ordering: .relaxed) == 1)

        let roomy = PostgresLexicalIndexes(budgetBytes: index.estimatedBytes)
        roomy.requestBuild(collectionID: id, generation: generation, build: build)
        await roomy.awaitBuild(collectionID: id)
        #expect(roomy.index(collectionID: id, generation: generation) === index)
        #expect(roomy.index(collectionID: id, generation: generation + 1) == nil)
        // An older generation's index is dropped once a newer generation is asked for.
        #expect(roomy.index(collectionID: id, generation: generation) == nil)
        await small.shutdown()
        await roomy.shutdown()
        await store.close()
    }

    /// The builder takes each lexeme's postings in one run, as `ORDER BY lexeme` gives them, and
    /// refuses a lexeme that comes back.
    @Test func builderGroupsPostingsByLexeme() throws {
        var builder = PostgresLexicalIndex.Builder()
        try builder.add(chunkID: 9, lexeme: "cell", frequency: 2, length: 4)
        try builder.add(chunkID: 3, lexeme: "cell", frequency: 1, length: 10)
        try builder.add(chunkID: 3, lexeme: "grow", frequency: 3, length: 10)
        let index = builder.build(generation: 5)
        #expect(index.generation == 5 && index.rowCount == 2 && index.postingCount == 3 && index.offsets == [0, 2, 3])
        let scoring = PostgresLexicalIndex.Scoring(chunkCount: 4, averageLength: 7, k1: 1.2, b: 0.75)
        let ranked = index.search(lexemes: ["cell", "grow", "cell", "absent"], k: 5, scoring: scoring)
        // By hand: idf(cell) = ln(2.5 / 2.5) → 1e-6; idf(grow) = ln(3.5 / 1.5).
        let grow = log(3.5 / 1.5) * 3 * 2.2 / (3 + 1.2 * (1 - 0.75 + 0.75 * 10 / 7))
        let cell3 = 1e-6 * 1 * 2.2 / (1 + 1.2 * (1 - 0.75 + 0.75 * 10 / 7))
        let cell9 = 1e-6 * 2 * 2.2 / (2 + 1.2 * (1 - 0.75 + 0.75 * 4 / 7))
        #expect(ranked.map(\.chunkID) == [3, 9])
        #expect(abs(ranked[0].score - (grow + cell3)) < 1e-12 && abs(ranked[1].score - cell9) < 1e-15)
        #expect(index.search(lexemes: ["cell"], k: 1, scoring: scoring).map(\.chunkID) == [9])
        #expect(index.search(lexemes: ["absent"], k: 5, scoring: scoring).isEmpty)
        try builder.add(chunkID: 4, lexeme: "zeta", frequency: 1, length: 1)
        #expect(throws: QuarryError.self) { try builder.add(chunkID: 5, lexeme: "cell", frequency: 1, length: 1) }
    }
}
