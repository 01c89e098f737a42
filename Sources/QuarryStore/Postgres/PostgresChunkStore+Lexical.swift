import Foundation
import QuarryCore

/// Which engine ranks a lexical query of the PostgreSQL store.
enum PostgresLexicalEngine: Sendable {
    /// The in-memory index when it holds the collection's current generation, else SQL (which
    /// then starts the index's build in the background).
    case automatic
    /// The BM25 statement over `quarry_postings`.
    case sql
    /// The in-memory index only (tests); fails where `automatic` would use SQL.
    case inMemory
}

// Lexical ranking from the collection's postings held in memory (`PostgresLexicalIndexes`),
// scored with the statistics and parameters the SQL statement binds, so both rank alike.
extension PostgresChunkStore {
    /// The `k` best chunks of collection `id` for the query text `words` by its in-memory index;
    /// `nil` when SQL must rank instead (a filter, no index of `statistics.generation` yet, or
    /// `engine` is `.sql`). When the index is missing, its build starts in the background.
    /// - Throws: `QuarryError.unavailable` when `engine` is `.inMemory` and the index cannot
    ///   answer; what the query's lexemes cost to read.
    func inMemoryRanking(
        _ id: Int64, _ statistics: CollectionStatistics, words: String, k: Int, filter: SearchFilter?, engine: PostgresLexicalEngine,
        in db: PostgresConnection
    ) throws -> [RankedChunk]? {
        guard engine != .sql else { return nil }
        // A filter keeps SQL's plan, which applies it before the cut to k.
        let filtered = filter.map { !$0.isEmpty } ?? false
        let index = filtered ? nil : lexicalIndexes.index(collectionID: id, generation: statistics.generation)
        guard let index else {
            if engine == .inMemory {
                throw QuarryError(.unavailable, "the in-memory BM25 index cannot answer this query now; SQL can")
            }
            // A build holds one of the pool's connections for its length: with a pool of one, it
            // would hold up every query.
            if !filtered, pool.size > 1 { requestLexicalBuild(id, generation: statistics.generation) }
            return nil
        }
        // The query's lexemes as the statement makes them: PostgreSQL's stemming, each once.
        let rows = try db.execute(
            "SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('quarry_english', $1)))", [.text(words)]
        )
        let lexemes = (0..<rows.count).compactMap { rows.string($0, 0) }
        let scoring = PostgresLexicalIndex.Scoring(
            chunkCount: Double(statistics.chunkCount), averageLength: max(statistics.averageTokens, 1), k1: Self.k1, b: Self.b
        )
        return index.search(lexemes: lexemes, k: k, scoring: scoring).map { RankedChunk(rowID: $0.chunkID, score: Float($0.score)) }
    }

    /// Starts the build of the collection's in-memory index in the background, unless one is
    /// under way (see `PostgresLexicalIndexes.requestBuild`).
    func requestLexicalBuild(_ id: Int64, generation: Int64) {
        lexicalIndexes.requestBuild(collectionID: id, generation: generation) { [self] budgetLeft in
            try await buildLexicalIndex(collectionID: id, budgetLeft: budgetLeft)
        }
    }

    /// Reads the collection's postings into an index, in one repeatable-read snapshot whose
    /// generation the index is labelled with; pages of postings are read through a cursor, and the
    /// read stops as soon as the index would exceed `budgetLeft` bytes.
    func buildLexicalIndex(collectionID id: Int64, budgetLeft: Int) async throws -> PostgresLexicalIndexes.Built {
        try await pool.withConnection { [lexicalIndexes] db in
            guard !lexicalIndexes.isStopping else { return .nothing }
            let collections = try db.execute("SELECT id FROM quarry_collections")
            lexicalIndexes.retain(Set((0..<collections.count).compactMap { collections.int64($0, 0) }))
            let snapshot = [("transaction_isolation", "'repeatable read'"), ("transaction_read_only", "on")]
            return try db.transaction(settings: snapshot) { db -> PostgresLexicalIndexes.Built in
                guard let generation = try db.execute("SELECT generation FROM quarry_collections WHERE id = $1", [.integer(id)]).int64(0, 0)
                else { return .nothing }
                // In lexeme order (an index-only scan of quarry_postings_term), so each term's
                // postings arrive together. The collection id is the store's own integer.
                try db.execute(
                    """
                    DECLARE quarry_lexical_build NO SCROLL CURSOR FOR
                    SELECT chunk_id, lexeme, tf, token_count FROM quarry_postings WHERE collection_id = \(id) ORDER BY lexeme
                    """
                )
                let pageSize = 50_000
                var builder = PostgresLexicalIndex.Builder()
                while true {
                    guard !lexicalIndexes.isStopping else { return .nothing }
                    let page = try db.execute("FETCH \(pageSize) FROM quarry_lexical_build")
                    for row in 0..<page.count {
                        guard let chunkID = page.int64(row, 0), let lexeme = page.string(row, 1), let tf = page.int64(row, 2),
                            let length = page.int64(row, 3), let frequency = UInt32(exactly: tf)
                        else {
                            throw QuarryError(.storage, "a posting of collection \(id) is malformed: \(page.rows[row].map { $0 ?? "NULL" })")
                        }
                        try builder.add(chunkID: chunkID, lexeme: lexeme, frequency: frequency, length: length)
                    }
                    if builder.estimatedBytes > budgetLeft { return .overBudget(generation: generation) }
                    if page.count < pageSize { break }
                }
                return .index(builder.build(generation: generation))
            }
        }
    }

    /// Waits until the collection's in-memory index holds its current generation, starting
    /// builds as searches do, for at most `attempts` polls; whether it does (tests).
    func awaitLexicalIndex(of collection: String, attempts: Int = 500) async throws -> Bool {
        for _ in 0..<attempts {
            let (id, stats) = try await pool.withConnection { [self] db in try status(collection, in: db) }
            if lexicalIndexes.index(collectionID: id, generation: stats.generation) != nil { return true }
            requestLexicalBuild(id, generation: stats.generation)
            await lexicalIndexes.awaitBuild(collectionID: id)
            if lexicalIndexes.index(collectionID: id, generation: stats.generation) != nil { return true }
            // The last build ended too recently for another to start: poll again shortly.
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}
