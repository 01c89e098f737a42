import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryHNSW
import Synchronization

/// The scale-out store: collections, documents, chunks and their vectors in PostgreSQL with
/// pgvector, reached through libpq.
///
/// Nothing lives in the process but a connection pool and a cache of per-collection statistics
/// keyed by the collection's generation, so any number of `quarry serve` nodes can share one
/// database. Dense search is exact (a scan) for collections below `exactSearchLimit` chunks and
/// walks a per-collection pgvector HNSW index (`vector_cosine_ops`) above it; lexical search is
/// BM25 computed in SQL from a GIN-indexed `tsvector` (Porter stems, as FTS5's).
public final class PostgresChunkStore: ChunkStore {
    /// BM25's term-frequency saturation and length normalisation (as FTS5 and Lucene use). The
    /// idf is FTS5's, log((N − n + 0.5) / (n + 0.5)) floored at 1e-6, so both backends rank alike.
    static let k1 = 1.2
    static let b = 0.75

    /// The database URL, password left out.
    public var url: String { PostgresConnection.redacted(pool.url) }
    /// Collections with fewer chunks than this are searched exactly; larger ones through HNSW.
    public let exactSearchLimit: Int
    /// HNSW build parameters (`m`, `ef_construction`) and the default `hnsw.ef_search`.
    public let indexParameters: HNSWParameters
    private let pool: PostgresConnectionPool
    private let statistics = Mutex<[Int64: CollectionStatistics]>([:])

    /// Connects to `url` and creates or migrates Quarry's tables.
    /// - Parameters:
    ///   - poolSize: the most connections this process opens.
    ///   - statementTimeoutMS: the server cancels a statement that runs longer (building an HNSW
    ///     index is exempt).
    /// - Throws: `QuarryError.storage` when the server cannot be reached or the schema cannot be
    ///   migrated.
    public init(
        url: String, exactSearchLimit: Int = 10_000,
        indexParameters: HNSWParameters = HNSWParameters(m: 16, efConstruction: 200, ef: 64),
        poolSize: Int = 8, statementTimeoutMS: Int = 30_000
    ) throws {
        self.exactSearchLimit = exactSearchLimit
        self.indexParameters = indexParameters
        self.pool = PostgresConnectionPool(url: url, size: poolSize, statementTimeoutMS: statementTimeoutMS)
        try PostgresSchema.migrate(pool)
    }

    // MARK: Collections

    private static let collectionSelect = """
        SELECT c.id, c.name, c.model_name, c.dimension, c.model_fingerprint,
               (SELECT count(*) FROM quarry_documents d WHERE d.collection_id = c.id),
               (SELECT coalesce(sum(d.chunk_count), 0) FROM quarry_documents d WHERE d.collection_id = c.id),
               c.generation
        FROM quarry_collections c
        """

    private static func readCollections(_ rows: PostgresRows) -> [CollectionInfo] {
        (0..<rows.count).map { row in
            CollectionInfo(
                id: rows.int64(row, 0) ?? 0, name: rows.string(row, 1) ?? "",
                model: EmbeddingModelInfo(
                    name: rows.string(row, 2) ?? "", dimension: Int(rows.int64(row, 3) ?? 0), fingerprint: rows.string(row, 4) ?? ""
                ),
                documentCount: Int(rows.int64(row, 5) ?? 0), chunkCount: Int(rows.int64(row, 6) ?? 0),
                generation: rows.int64(row, 7) ?? 0
            )
        }
    }

    public func collections() throws -> [CollectionInfo] {
        try pool.withConnection { db in Self.readCollections(try db.execute(Self.collectionSelect + " ORDER BY c.name")) }
    }

    public func collection(named name: String) throws -> CollectionInfo? {
        try pool.withConnection { db in try Self.collection(named: name, in: db) }
    }

    private static func collection(named name: String, in db: PostgresConnection) throws -> CollectionInfo? {
        readCollections(try db.execute(collectionSelect + " WHERE c.name = $1", [.text(name)])).first
    }

    /// The collection's row, locked until the transaction ends: writes to one collection take
    /// turns, and its generation moves on once per write.
    private static func lockCollection(_ name: String, in db: PostgresConnection) throws -> (id: Int64, dimension: Int) {
        let rows = try db.execute("SELECT id, dimension FROM quarry_collections WHERE name = $1 FOR UPDATE", [.text(name)])
        guard rows.count == 1, let id = rows.int64(0, 0), let dimension = rows.int64(0, 1) else {
            throw QuarryError(.notFound, "collection '\(name)' does not exist")
        }
        return (id, Int(dimension))
    }

    private static func collectionID(_ name: String, in db: PostgresConnection) throws -> Int64 {
        guard let id = try db.execute("SELECT id FROM quarry_collections WHERE name = $1", [.text(name)]).rows.first?[0].flatMap({ Int64($0) })
        else {
            throw QuarryError(.notFound, "collection '\(name)' does not exist")
        }
        return id
    }

    public func ensureCollection(named name: String, model: EmbeddingModelInfo) throws -> CollectionInfo {
        try CollectionName.validate(name)
        return try pool.transaction { db in
            try db.execute(
                """
                INSERT INTO quarry_collections (name, model_name, dimension, model_fingerprint, created_at)
                VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING
                """,
                [.text(name), .text(model.name), .integer(Int64(model.dimension)), .text(model.fingerprint), .real(Date().timeIntervalSince1970)]
            )
            guard let existing = try Self.collection(named: name, in: db) else {
                throw QuarryError(.internal, "collection '\(name)' vanished while it was created")
            }
            try StoreFormat.checkModel(existing, model)
            return existing
        }
    }

    public func removeCollection(named name: String) throws {
        try pool.transaction { db in
            guard let id = try db.execute("SELECT id FROM quarry_collections WHERE name = $1 FOR UPDATE", [.text(name)]).int64(0, 0)
            else { return }
            try db.execute("DROP INDEX IF EXISTS \(Self.indexName(id))")
            try db.execute("DELETE FROM quarry_chunks WHERE collection_id = $1", [.integer(id)])
            try db.execute("DELETE FROM quarry_collections WHERE id = $1", [.integer(id)])
        }
    }

    // MARK: Sources and documents

    public func sources(in collection: String) throws -> [SourceRecord] {
        try pool.withConnection { db in
            let id = try Self.collectionID(collection, in: db)
            let rows = try db.execute(
                "SELECT path, content_hash, size, mtime FROM quarry_sources WHERE collection_id = $1 ORDER BY path", [.integer(id)]
            )
            return (0..<rows.count).map { row in
                SourceRecord(
                    path: rows.string(row, 0) ?? "", contentHash: rows.string(row, 1) ?? "", size: rows.int64(row, 2) ?? 0,
                    modificationTime: rows.double(row, 3) ?? 0
                )
            }
        }
    }

    private static let documentSelect = """
        SELECT d.path, s.path, d.content_hash, d.size, d.mtime, d.chunk_count, d.id, d.metadata::text
        FROM quarry_documents d JOIN quarry_sources s ON s.id = d.source_id
        """

    private static func readDocument(_ rows: PostgresRows, _ row: Int) -> DocumentRecord {
        DocumentRecord(
            path: rows.string(row, 0) ?? "", source: rows.string(row, 1), contentHash: rows.string(row, 2) ?? "",
            size: rows.int64(row, 3) ?? 0, modificationTime: rows.double(row, 4) ?? 0, chunkCount: Int(rows.int64(row, 5) ?? 0),
            metadata: StoreFormat.decodeMetadata(rows.string(row, 7) ?? "")
        )
    }

    public func documents(in collection: String) throws -> [DocumentRecord] {
        try pool.withConnection { db in
            let id = try Self.collectionID(collection, in: db)
            let rows = try db.execute(Self.documentSelect + " WHERE d.collection_id = $1 ORDER BY d.path", [.integer(id)])
            return (0..<rows.count).map { Self.readDocument(rows, $0) }
        }
    }

    public func document(in collection: String, path: String) throws -> (DocumentRecord, [StoredChunk])? {
        try pool.withConnection { db in
            // One snapshot for the document and its chunks.
            try db.transaction { db in
                try db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                let id = try Self.collectionID(collection, in: db)
                let documents = try db.execute(Self.documentSelect + " WHERE d.collection_id = $1 AND d.path = $2", [.integer(id), .text(path)])
                guard documents.count == 1, let documentID = documents.int64(0, 6) else { return nil }
                let chunks = try db.execute(
                    """
                    SELECT ordinal, text, heading, line_start, line_end, page, byte_start, byte_end
                    FROM quarry_chunks WHERE document_id = $1 ORDER BY ordinal
                    """,
                    [.integer(documentID)]
                )
                let stored = (0..<chunks.count).map { row in
                    let ordinal = Int(chunks.int64(row, 0) ?? 0)
                    let heading = chunks.string(row, 2) ?? ""
                    return StoredChunk(
                        chunkID: "\(path)#\(ordinal)", ordinal: ordinal, text: chunks.string(row, 1) ?? "",
                        headingPath: heading.isEmpty ? [] : heading.components(separatedBy: StoreFormat.headingSeparator),
                        location: Self.location(chunks, row, from: 3)
                    )
                }
                return (Self.readDocument(documents, 0), stored)
            }
        }
    }

    /// A chunk location from five columns: line_start, line_end, page, byte_start, byte_end.
    private static func location(_ rows: PostgresRows, _ row: Int, from column: Int) -> ChunkLocation {
        ChunkLocation(
            lineStart: Int(rows.int64(row, column) ?? 0), lineEnd: Int(rows.int64(row, column + 1) ?? 0),
            page: rows.int64(row, column + 2).map(Int.init), byteStart: rows.int64(row, column + 3).map(Int.init),
            byteEnd: rows.int64(row, column + 4).map(Int.init)
        )
    }

    public func replaceDocuments(in collection: String, _ writes: [DocumentWrite]) throws {
        guard !writes.isEmpty else { return }
        for write in writes { try write.validatePairing() }
        try pool.transaction { db in
            let info = try Self.lockCollection(collection, in: db)
            if let bad = writes.lazy.flatMap(\.vectors).first(where: { $0.count != info.dimension }) {
                throw QuarryError(
                    .invalidRequest, "vector of dimension \(bad.count) does not fit collection '\(collection)' (\(info.dimension))"
                )
            }
            let now = Date().timeIntervalSince1970
            var sourceIDs: [String: Int64] = [:]
            var chunkRows: [[PostgresValue]] = []
            var documentIDs: [Int64] = []
            for write in writes {
                let document = write.document
                let sourceID: Int64
                if let known = sourceIDs[document.source] {
                    sourceID = known
                } else {
                    // A new file is recorded as not yet complete (empty hash) until its ingest ends.
                    let rows = try db.execute(
                        """
                        INSERT INTO quarry_sources (collection_id, path, content_hash, size, mtime, indexed_at)
                        VALUES ($1, $2, '', 0, 0, $3)
                        ON CONFLICT (collection_id, path) DO UPDATE SET path = excluded.path
                        RETURNING id
                        """,
                        [.integer(info.id), .text(document.source), .real(now)]
                    )
                    sourceID = rows.int64(0, 0) ?? 0
                    sourceIDs[document.source] = sourceID
                }
                // Its old chunks go with it (ON DELETE CASCADE).
                try db.execute("DELETE FROM quarry_documents WHERE collection_id = $1 AND path = $2", [.integer(info.id), .text(document.path)])
                let inserted = try db.execute(
                    """
                    INSERT INTO quarry_documents
                        (collection_id, source_id, path, content_hash, size, mtime, chunk_count, indexed_at, metadata)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) RETURNING id
                    """,
                    [
                        .integer(info.id), .integer(sourceID), .text(document.path), .text(document.contentHash), .integer(document.size),
                        .real(document.modificationTime), .integer(Int64(write.chunks.count)), .real(now),
                        .text(StoreFormat.metadataJSON(document.metadata) ?? "{}"),
                    ]
                )
                let documentID = inserted.int64(0, 0) ?? 0
                documentIDs.append(documentID)
                for (chunk, vector) in zip(write.chunks, write.vectors) {
                    let location = chunk.location
                    chunkRows.append([
                        .integer(documentID), .integer(info.id), .integer(Int64(chunk.ordinal)), .text(chunk.text),
                        .text(chunk.headingPath.joined(separator: StoreFormat.headingSeparator)),
                        .integer(Int64(location.lineStart)), .integer(Int64(location.lineEnd)), Self.optional(location.page),
                        Self.optional(location.byteStart), Self.optional(location.byteEnd), .vector(vector),
                        .text(LexicalQuery.words(chunk.text)),
                    ])
                }
            }
            try db.copy(
                into: "quarry_chunks",
                columns: [
                    "document_id", "collection_id", "ordinal", "text", "heading", "line_start", "line_end", "page", "byte_start",
                    "byte_end", "embedding", "lex",
                ],
                rows: chunkRows
            )
            try db.execute(
                """
                INSERT INTO quarry_postings (collection_id, lexeme, chunk_id, tf, token_count)
                SELECT c.collection_id, u.lexeme, c.id, cardinality(u.positions), c.token_count
                FROM quarry_chunks c CROSS JOIN LATERAL unnest(c.tsv) u
                WHERE c.document_id = ANY($1::bigint[])
                """,
                [.integerArray(documentIDs)]
            )
            try Self.bumpGeneration(info.id, in: db)
        }
    }

    private static func optional(_ value: Int?) -> PostgresValue {
        value.map { .integer(Int64($0)) } ?? .null
    }

    public func updateRecordLocations(in collection: String, _ locations: [RecordLocation]) throws {
        guard !locations.isEmpty else { return }
        try pool.transaction { db in
            let info = try Self.lockCollection(collection, in: db)
            for location in locations {
                try db.execute(
                    """
                    UPDATE quarry_chunks SET line_start = $1, line_end = $1, byte_start = $2, byte_end = $3
                    WHERE document_id = (SELECT id FROM quarry_documents WHERE collection_id = $4 AND path = $5)
                    """,
                    [
                        .integer(Int64(location.line)), .integer(Int64(location.bytes.lowerBound)),
                        .integer(Int64(location.bytes.upperBound)), .integer(info.id), .text(location.path),
                    ]
                )
            }
            // Locations are part of search results: caches must see the change.
            try Self.bumpGeneration(info.id, in: db)
        }
    }

    public func completeSource(in collection: String, _ source: SourceRecord, keeping: Set<String>?) throws {
        try pool.transaction { db in
            let info = try Self.lockCollection(collection, in: db)
            let rows = try db.execute(
                """
                INSERT INTO quarry_sources (collection_id, path, content_hash, size, mtime, indexed_at)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (collection_id, path) DO UPDATE SET
                    content_hash = excluded.content_hash, size = excluded.size, mtime = excluded.mtime, indexed_at = excluded.indexed_at
                RETURNING id
                """,
                [
                    .integer(info.id), .text(source.path), .text(source.contentHash), .integer(source.size),
                    .real(source.modificationTime), .real(Date().timeIntervalSince1970),
                ]
            )
            guard let keeping, let sourceID = rows.int64(0, 0) else { return }
            let documents = try db.execute("SELECT path FROM quarry_documents WHERE source_id = $1", [.integer(sourceID)])
            let stale = documents.rows.compactMap { $0[0] }.filter { !keeping.contains($0) }
            guard !stale.isEmpty else { return }
            try db.execute(
                "DELETE FROM quarry_documents WHERE collection_id = $1 AND path = ANY($2::text[])", [.integer(info.id), .textArray(stale)]
            )
            try Self.bumpGeneration(info.id, in: db)
        }
    }

    public func removeSource(in collection: String, path: String) throws {
        try pool.transaction { db in
            let info = try Self.lockCollection(collection, in: db)
            let removed = try db.execute(
                """
                DELETE FROM quarry_documents WHERE source_id IN
                    (SELECT id FROM quarry_sources WHERE collection_id = $1 AND path = $2)
                """,
                [.integer(info.id), .text(path)]
            ).affected ?? 0
            try db.execute("DELETE FROM quarry_sources WHERE collection_id = $1 AND path = $2", [.integer(info.id), .text(path)])
            if removed > 0 { try Self.bumpGeneration(info.id, in: db) }
        }
    }

    @discardableResult
    public func removeDocument(in collection: String, path: String) throws -> Bool {
        try pool.transaction { db in
            let info = try Self.lockCollection(collection, in: db)
            try db.execute(
                """
                UPDATE quarry_sources SET content_hash = '' WHERE id =
                    (SELECT source_id FROM quarry_documents WHERE collection_id = $1 AND path = $2)
                """,
                [.integer(info.id), .text(path)]
            )
            let removed = try db.execute(
                "DELETE FROM quarry_documents WHERE collection_id = $1 AND path = $2", [.integer(info.id), .text(path)]
            ).affected ?? 0
            guard removed > 0 else { return false }
            try Self.bumpGeneration(info.id, in: db)
            return true
        }
    }

    private static func bumpGeneration(_ collectionID: Int64, in db: PostgresConnection) throws {
        try db.execute("UPDATE quarry_collections SET generation = generation + 1 WHERE id = $1", [.integer(collectionID)])
    }

    // MARK: Verification

    public func verify() throws -> [String] {
        try pool.withConnection { db in
            try db.transaction { db in
                try db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                var problems: [String] = []
                let checks: [(String, String)] = [
                    (
                        "SELECT count(*) FROM quarry_chunks c JOIN quarry_documents d ON d.id = c.document_id WHERE d.collection_id != c.collection_id",
                        "chunks filed under another collection than their document's"
                    ),
                    (
                        """
                        SELECT count(*) FROM quarry_documents d WHERE d.chunk_count !=
                            (SELECT count(*) FROM quarry_chunks c WHERE c.document_id = d.id)
                        """, "documents whose chunk count is wrong"
                    ),
                    (
                        """
                        SELECT count(*) FROM quarry_documents d WHERE d.chunk_count > 0 AND d.chunk_count - 1 !=
                            (SELECT max(ordinal) FROM quarry_chunks c WHERE c.document_id = d.id)
                        """, "documents whose chunk ordinals have gaps"
                    ),
                    (
                        "SELECT count(*) FROM quarry_documents d JOIN quarry_sources s ON s.id = d.source_id WHERE s.collection_id != d.collection_id",
                        "documents filed under another collection than their file's"
                    ),
                    (
                        """
                        SELECT count(*) FROM quarry_chunks c JOIN quarry_collections k ON k.id = c.collection_id
                        WHERE vector_dims(c.embedding) != k.dimension
                        """, "chunks whose vector has the wrong dimension"
                    ),
                    (
                        "SELECT count(*) FROM quarry_chunks c LEFT JOIN quarry_collections k ON k.id = c.collection_id WHERE k.id IS NULL",
                        "chunks of no collection"
                    ),
                    (
                        """
                        SELECT count(*) FROM quarry_chunks c WHERE c.token_count > 0
                        AND NOT EXISTS (SELECT 1 FROM quarry_postings p WHERE p.chunk_id = c.id)
                        """, "chunks missing from the lexical postings"
                    ),
                    (
                        "SELECT count(*) FROM quarry_postings p JOIN quarry_chunks c ON c.id = p.chunk_id WHERE p.collection_id != c.collection_id",
                        "postings filed under another collection than their chunk's"
                    ),
                ]
                for (sql, what) in checks {
                    let count = try db.execute(sql).int64(0, 0) ?? 0
                    if count > 0 { problems.append("\(count) \(what)") }
                }
                // An HNSW index that a failed build left invalid is not used by searches.
                let invalid = try db.execute(
                    """
                    SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                    WHERE c.relname LIKE 'quarry\\_%' AND NOT i.indisvalid
                    """
                )
                for row in invalid.rows { problems.append("index \(row[0] ?? "?") is invalid (drop it; the next ingest rebuilds it)") }
                return problems
            }
        }
    }

    // MARK: Search

    /// What searches need to know of a collection, as of one generation.
    private struct CollectionStatistics {
        var generation: Int64
        var dimension: Int
        var chunkCount: Int
        var averageTokens: Double
    }

    /// The collection's id and statistics; the statistics are recomputed only when its
    /// generation moved on (a write from any node).
    private func status(_ collection: String, in db: PostgresConnection) throws -> (id: Int64, statistics: CollectionStatistics) {
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

    /// The filter as SQL over `d` (quarry_documents) and `s` (quarry_sources), its values bound
    /// from `$firstParameter` on; `TRUE` when it keeps everything.
    static func filterSQL(_ filter: SearchFilter?, firstParameter: Int) -> (sql: String, parameters: [PostgresValue]) {
        guard let filter, !filter.isEmpty else { return ("TRUE", []) }
        var conditions: [String] = []
        var parameters: [PostgresValue] = []
        func bind(_ value: PostgresValue) -> String {
            parameters.append(value)
            return "$\(firstParameter + parameters.count - 1)"
        }
        if let documents = filter.documents { conditions.append("d.path = ANY(\(bind(.textArray(documents)))::text[])") }
        if let prefix = filter.pathPrefix, !prefix.isEmpty { conditions.append("starts_with(d.path, \(bind(.text(prefix))))") }
        if let types = filter.fileTypes {
            // The extension of the file's name, as `SearchFilter.accepts` reads it.
            conditions.append("lower(substring(s.path from '\\.([^./]*)$')) = ANY(\(bind(.textArray(types)))::text[])")
        }
        if let metadata = filter.metadata, !metadata.isEmpty {
            conditions.append("d.metadata @> \(bind(.text(StoreFormat.metadataJSON(metadata) ?? "{}")))::jsonb")
        }
        return (conditions.joined(separator: " AND "), parameters)
    }

    private static let hitColumns = "c.id, d.path, c.ordinal, c.text, c.line_start, c.line_end, c.page, c.byte_start, c.byte_end"

    private static func readHits(_ rows: PostgresRows, score: (Int) -> Float) -> [SearchHit] {
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

    public func search(in collection: String, query: [Float], k: Int, ef: Int?, filter: SearchFilter?) throws -> [SearchHit] {
        guard k > 0 else { return [] }
        return try pool.withConnection { db in
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
                SELECT \(Self.hitColumns), n.distance
                FROM nearest n JOIN quarry_chunks c ON c.id = n.id JOIN quarry_documents d ON d.id = c.document_id
                ORDER BY n.distance, c.id
                """
            let rows = try db.transaction { db in
                if exact {
                    // Every chunk scored, as the embedded store does below the same size.
                    try db.execute("SET LOCAL enable_indexscan = off")
                } else {
                    // pgvector's walk: ef_search candidates (at most 1000), and on when a filter
                    // leaves fewer than k of them, so filtered searches still return k hits.
                    let efSearch = min(1000, max(ef ?? indexParameters.ef, k))
                    try db.execute("SET LOCAL hnsw.ef_search = \(efSearch)")
                    try db.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
                    if allowed.isEmpty {
                        // Unfiltered: the index, not a sort of every chunk, which the planner
                        // prefers from a few hundred hits on (measured: 45 ms instead of 6 ms
                        // for 300 hits on SciFact). A filtered search is left to the planner: for
                        // a selective filter, scoring the allowed chunks exactly is the right plan.
                        try db.execute("SET LOCAL enable_seqscan = off")
                        try db.execute("SET LOCAL enable_bitmapscan = off")
                    }
                }
                return try db.execute(sql, [.vector(query)] + filterParameters)
            }
            let hits = Self.readHits(rows) { Float(1 - (rows.double($0, 9) ?? 1)) }
            // relaxed_order may return a few hits slightly out of order.
            return hits.enumerated().sorted { ($0.element.score, $1.offset) > ($1.element.score, $0.offset) }.map(\.element)
        }
    }

    public func lexicalSearch(in collection: String, query: String, k: Int, filter: SearchFilter?) throws -> [SearchHit] {
        guard k > 0 else { return [] }
        let terms = LexicalQuery.terms(query)
        return try pool.withConnection { db in
            let (id, stats) = try status(collection, in: db)
            guard !terms.isEmpty, stats.chunkCount > 0 else { return [] }
            let (condition, filterParameters) = Self.filterSQL(filter, firstParameter: 6)
            // BM25 from the postings of the query's words (an index-only scan): term frequencies
            // and chunk lengths stored with them, document frequencies counted over the whole
            // collection's postings (so a filter does not change the scores), the filter applied
            // before the top k are cut. The query's words travel as a parameter and are stemmed by
            // to_tsvector, as the chunks' were.
            let sql = """
                WITH terms AS (
                    SELECT DISTINCT t AS lexeme FROM unnest(tsvector_to_array(to_tsvector('quarry_english', $1))) t
                ), matched AS (
                    SELECT p.chunk_id, p.lexeme, p.tf::float8 AS tf, p.token_count::float8 AS length
                    FROM quarry_postings p WHERE p.collection_id = \(id) AND p.lexeme IN (SELECT lexeme FROM terms)
                ), df AS (
                    SELECT lexeme, count(*)::float8 AS n FROM matched GROUP BY lexeme
                ), scored AS (
                    SELECT m.chunk_id, sum(
                        greatest(ln(($2::float8 - df.n + 0.5) / (df.n + 0.5)), 1e-6)
                        * m.tf * ($3::float8 + 1) / (m.tf + $3::float8 * (1 - $4::float8 + $4::float8 * m.length / $5::float8))
                    ) AS score
                    FROM matched m JOIN df USING (lexeme) GROUP BY m.chunk_id
                )
                SELECT \(Self.hitColumns), sc.score
                FROM scored sc JOIN quarry_chunks c ON c.id = sc.chunk_id JOIN quarry_documents d ON d.id = c.document_id
                JOIN quarry_sources s ON s.id = d.source_id
                WHERE \(condition)
                ORDER BY sc.score DESC, c.id LIMIT \(k)
                """
            let rows = try db.execute(
                sql,
                [
                    .text(LexicalQuery.words(terms.joined(separator: " "))), .real(Double(stats.chunkCount)), .real(Self.k1), .real(Self.b),
                    .real(max(stats.averageTokens, 1)),
                ] + filterParameters
            )
            return Self.readHits(rows) { Float(rows.double($0, 9) ?? 0) }
        }
    }

    /// Builds the collection's HNSW index once it holds `exactSearchLimit` chunks (pgvector then
    /// keeps it current with every write). Below that, searches are exact whether or not an
    /// index exists, so an index is never dropped here: nodes may run with different limits.
    public func synchronizeIndex(of collection: String) throws {
        try pool.withConnection { db in
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
