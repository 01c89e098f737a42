import Foundation
import QuarryCore
import QuarryEmbedding

extension PostgresChunkStore {
    /// What searches need to know of a collection, as of one generation.
    struct CollectionStatistics {
        var generation: Int64
        var dimension: Int
        var chunkCount: Int
        var averageTokens: Double
    }

    /// The collection's id and statistics; the statistics are recomputed only when its
    /// generation moved on (a write from any node).
    func status(_ collection: String, in db: PostgresConnection) throws -> (id: Int64, statistics: CollectionStatistics) {
        let rows = try db.execute("SELECT id, generation, dimension FROM quarry_collections WHERE name = $1", [.text(collection)])
        guard rows.count == 1, let id = rows.int64(0, 0), let generation = rows.int64(0, 1), let dimension = rows.int64(0, 2) else {
            throw QuarryError(.notFound, "collection '\(collection)' does not exist")
        }
        if let cached = statistics.withLock({ $0[id] }), cached.generation == generation {
            return (id, cached)
        }
        let counts = try db.execute(
            "SELECT count(*), coalesce(avg(token_count), 0) FROM quarry_chunks WHERE collection_id = $1", [.integer(id)]
        )
        let fresh = CollectionStatistics(
            generation: generation, dimension: Int(dimension), chunkCount: Int(counts.int64(0, 0) ?? 0),
            averageTokens: counts.double(0, 1) ?? 0
        )
        statistics.withLock { cache in
            if let existing = cache[id], existing.generation > generation { return }
            cache[id] = fresh
        }
        return (id, fresh)
    }


    static func readHits(_ rows: PostgresRows, score: (Int) -> Float) -> [SearchHit] {
        (0..<rows.count).map { row in
            let path = rows.string(row, 1) ?? ""
            let ordinal = Int(rows.int64(row, 2) ?? 0)
            return SearchHit(
                chunkRowID: rows.int64(row, 0) ?? 0, chunkID: "\(path)#\(ordinal)", document: path, ordinal: ordinal,
                text: rows.string(row, 3) ?? "", location: location(rows, row, from: 4), score: score(row)
            )
        }
    }

    static func indexName(_ collectionID: Int64) -> String { "quarry_chunks_hnsw_\(collectionID)" }

    public func search(in collection: String, query: [Float], k: Int, ef: Int?, filter: SearchFilter?) async throws -> [SearchHit] {
        try await hits(for: denseRanking(in: collection, query: query, k: k, ef: ef, filter: filter))
    }

    public func lexicalSearch(in collection: String, query: String, k: Int, filter: SearchFilter?) async throws -> [SearchHit] {
        try await hits(for: lexicalRanking(in: collection, query: query, k: k, filter: filter))
    }

    public func hits(for ranked: [RankedChunk]) async throws -> [SearchHit] {
        let unread = ranked.filter { $0.hit == nil }.map(\.rowID)
        var read: [Int64: SearchHit] = [:]
        if !unread.isEmpty {
            let rows = try await pool.withConnection { db in
                try db.execute(
                    "SELECT \(StoreSQL.hitColumns) FROM quarry_chunks c JOIN quarry_documents d ON d.id = c.document_id WHERE c.id = ANY($1)",
                    [.integerArray(unread)]
                )
            }
            for hit in Self.readHits(rows, score: { _ in 0 }) { read[hit.chunkRowID] = hit }
        }
        return ranked.compactMap { chunk in
            guard var hit = chunk.hit ?? read[chunk.rowID] else { return nil }
            hit.score = chunk.score
            return hit
        }
    }

    public func denseRanking(in collection: String, query: [Float], k: Int, ef: Int?, filter: SearchFilter?) async throws -> [RankedChunk] {
        guard k > 0 else { return [] }
        return try await pool.withConnection { [self] db in
            let (id, stats) = try status(collection, in: db)
            guard query.count == stats.dimension else {
                throw QuarryError(
                    .invalidRequest, "query vector has dimension \(query.count); collection '\(collection)' has \(stats.dimension)"
                )
            }
            let (condition, filterParameters) = Self.filterSQL(filter, firstParameter: 2)
            // Inside the search: only chunks of the documents the filter keeps (their ids found
            // once, before the scan).
            let allowed = condition == "TRUE" ? "" : """
                AND c.document_id = ANY(ARRAY(
                    SELECT d.id FROM quarry_documents d JOIN quarry_sources s ON s.id = d.source_id
                    WHERE d.collection_id = \(id) AND \(condition)))
                """
            let exact = stats.chunkCount < exactSearchLimit
            // The collection id and dimension are the store's own integers; written into the
            // statement, they let the planner use the collection's partial HNSW index, whose
            // expression the ORDER BY repeats (alone: a second sort key would stop the index scan).
            let distance = exact
                ? "(c.embedding <=> $1::vector)"
                : "(c.embedding::vector(\(stats.dimension)) <=> $1::vector(\(stats.dimension)))"
            let sql = """
                WITH nearest AS MATERIALIZED (
                    SELECT c.id, \(distance) AS distance FROM quarry_chunks c
                    WHERE c.collection_id = \(id) \(allowed)
                    ORDER BY \(distance)\(exact ? ", c.id" : "") LIMIT \(k)
                )
                SELECT n.id, n.distance FROM nearest n ORDER BY n.distance, n.id
                """
            var settings: [(name: String, value: String)]
            if exact {
                // Every chunk scored, as the embedded store does below the same size.
                settings = [("enable_indexscan", "off")]
            } else {
                // pgvector's walk: ef_search candidates (at most 1000), and on when a filter
                // leaves fewer than k of them, so filtered searches still return k hits.
                let efSearch = min(1000, max(ef ?? indexParameters.ef, k))
                settings = [("hnsw.ef_search", "\(efSearch)"), ("hnsw.iterative_scan", "relaxed_order")]
                if allowed.isEmpty {
                    // Unfiltered: the index, not a sort of every chunk, which the planner
                    // prefers from a few hundred hits on (measured: 45 ms instead of 6 ms
                    // for 300 hits on SciFact). A filtered search is left to the planner: for
                    // a selective filter, scoring the allowed chunks exactly is the right plan.
                    settings += [("enable_seqscan", "off"), ("enable_bitmapscan", "off")]
                }
            }
            let rows = try db.transaction(settings: settings) { db in
                try db.execute(sql, [.vector(query)] + filterParameters)
            }
            let ranked = (0..<rows.count).map { row in
                RankedChunk(rowID: rows.int64(row, 0) ?? 0, score: Float(1 - (rows.double(row, 1) ?? 1)))
            }
            // relaxed_order may return a few hits slightly out of order.
            return ranked.enumerated().sorted { ($0.element.score, $1.offset) > ($1.element.score, $0.offset) }.map(\.element)
        }
    }

    public func lexicalRanking(in collection: String, query: String, k: Int, filter: SearchFilter?) async throws -> [RankedChunk] {
        try await lexicalRanking(in: collection, query: query, k: k, filter: filter, engine: .automatic)
    }

    /// BM25 ranking through the chosen engine (`PostgresChunkStore+Lexical.swift`).
    func lexicalRanking(
        in collection: String, query: String, k: Int, filter: SearchFilter?, engine: PostgresLexicalEngine
    ) async throws -> [RankedChunk] {
        guard k > 0 else { return [] }
        let terms = LexicalQuery.terms(query)
        return try await pool.withConnection { [self] db in
            let (id, stats) = try status(collection, in: db)
            guard !terms.isEmpty, stats.chunkCount > 0 else { return [] }
            let words = LexicalQuery.words(terms.joined(separator: " "))
            if let ranked = try inMemoryRanking(id, stats, words: words, k: k, filter: filter, engine: engine, in: db) { return ranked }
            let (condition, filterParameters) = Self.filterSQL(filter, firstParameter: 6)
            // BM25 from the postings of the query's words (an index-only scan): term frequencies
            // and chunk lengths stored with them, document frequencies counted over the whole
            // collection's postings (so a filter does not change the scores), each term's IDF
            // computed once. The top k are cut from the postings alone, the filter (when there is
            // one) applied before the cut; only those k chunks are then read, so a query of common
            // words does not fetch thousands of chunk rows it will not return. The query's words
            // travel as a parameter and are stemmed by to_tsvector, as the chunks' were.
            let top = filter.map { !$0.isEmpty } == true
                ? """
                    SELECT sc.chunk_id, sc.score FROM scored sc JOIN quarry_chunks c ON c.id = sc.chunk_id
                    JOIN quarry_documents d ON d.id = c.document_id JOIN quarry_sources s ON s.id = d.source_id
                    WHERE \(condition) ORDER BY sc.score DESC, sc.chunk_id LIMIT \(k)
                    """
                : "SELECT chunk_id, score FROM scored ORDER BY score DESC, chunk_id LIMIT \(k)"
            let sql = """
                WITH terms AS (
                    SELECT DISTINCT t AS lexeme FROM unnest(tsvector_to_array(to_tsvector('quarry_english', $1))) t
                ), matched AS (
                    SELECT p.chunk_id, p.lexeme, p.tf::float8 AS tf, p.token_count::float8 AS length
                    FROM quarry_postings p WHERE p.collection_id = \(id) AND p.lexeme IN (SELECT lexeme FROM terms)
                ), idf AS (
                    SELECT lexeme, greatest(ln(($2::float8 - count(*) + 0.5) / (count(*) + 0.5)), 1e-6) AS idf
                    FROM matched GROUP BY lexeme
                ), scored AS (
                    SELECT m.chunk_id, sum(
                        idf.idf * m.tf * ($3::float8 + 1) / (m.tf + $3::float8 * (1 - $4::float8 + $4::float8 * m.length / $5::float8))
                    ) AS score
                    FROM matched m JOIN idf USING (lexeme) GROUP BY m.chunk_id
                ), top AS (
                    \(top)
                )
                SELECT top.chunk_id, top.score FROM top ORDER BY top.score DESC, top.chunk_id
                """
            let rows = try db.execute(
                sql,
                [
                    .text(words), .real(Double(stats.chunkCount)), .real(Self.k1), .real(Self.b),
                    .real(max(stats.averageTokens, 1)),
                ] + filterParameters
            )
            return (0..<rows.count).map { row in RankedChunk(rowID: rows.int64(row, 0) ?? 0, score: Float(rows.double(row, 1) ?? 0)) }
        }
    }

    /// Builds the collection's HNSW index once it holds `exactSearchLimit` chunks (pgvector then
    /// keeps it current with every write). Below that, searches are exact whether or not an
    /// index exists, so an index is never dropped here: nodes may run with different limits.
    public func synchronizeIndex(of collection: String) async throws {
        try await pool.withConnection { [self] db in
            let (id, stats) = try status(collection, in: db)
            let name = Self.indexName(id)
            let exists = try db.execute("SELECT 1 FROM pg_class WHERE relname = $1", [.text(name)]).count == 1
            let build = stats.chunkCount >= exactSearchLimit && !exists
            try db.transaction { db in
                // A build takes as long as it takes, with memory enough to build in one pass.
                try db.execute("SET LOCAL statement_timeout = 0")
                if build {
                    try db.execute("SET LOCAL maintenance_work_mem = '512MB'")
                    try db.execute(
                        """
                        CREATE INDEX IF NOT EXISTS \(name) ON quarry_chunks
                        USING hnsw ((embedding::vector(\(stats.dimension))) vector_cosine_ops)
                        WITH (m = \(indexParameters.m), ef_construction = \(indexParameters.efConstruction))
                        WHERE collection_id = \(id)
                        """
                    )
                }
                // Fresh statistics after an ingest (the index's expression included), so the
                // planner estimates filtered searches well.
                try db.execute("ANALYZE quarry_documents, quarry_chunks, quarry_postings")
            }
        }
    }
}
