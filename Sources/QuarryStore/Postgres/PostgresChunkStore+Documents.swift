import Foundation
import QuarryCore
import QuarryEmbedding

// Sources and documents: each write one transaction, with the collection's row locked so
// writes to one collection take turns and its generation moves on once per write.
extension PostgresChunkStore {
    public func sources(in collection: String) async throws -> [SourceRecord] {
        try await pool.withConnection { db in
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

    static let documentSelect = """
        SELECT d.path, s.path, d.content_hash, d.size, d.mtime, d.chunk_count, d.id, d.metadata::text, d.access::text
        FROM quarry_documents d JOIN quarry_sources s ON s.id = d.source_id
        """

    static func readDocument(_ rows: PostgresRows, _ row: Int) -> DocumentRecord {
        DocumentRecord(
            path: rows.string(row, 0) ?? "", source: rows.string(row, 1), contentHash: rows.string(row, 2) ?? "",
            size: rows.int64(row, 3) ?? 0, modificationTime: rows.double(row, 4) ?? 0, chunkCount: Int(rows.int64(row, 5) ?? 0),
            metadata: StoreFormat.decodeMetadata(rows.string(row, 7) ?? ""), access: StoreFormat.decodeAccess(rows.string(row, 8))
        )
    }

    public func documents(in collection: String) async throws -> [DocumentRecord] {
        try await pool.withConnection { db in
            let id = try Self.collectionID(collection, in: db)
            let rows = try db.execute(Self.documentSelect + " WHERE d.collection_id = $1 ORDER BY d.path COLLATE \"C\"", [.integer(id)])
            return (0..<rows.count).map { Self.readDocument(rows, $0) }
        }
    }

    public func documents(
        in collection: String, prefix: String, contains: String, limit: Int, offset: Int, visibleTo: [String]?
    ) async throws -> DocumentPage {
        try await pool.withConnection { db in
            // One snapshot for the count and the page.
            try db.transaction { db in
                try db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                let id = try Self.collectionID(collection, in: db)
                var matching = " WHERE d.collection_id = $1 AND starts_with(d.path, $2)"
                var parameters: [PostgresValue] = [.integer(id), .text(prefix)]
                if !contains.isEmpty {
                    // strpos, not LIKE: the text is matched as it is, `%` and `_` included.
                    matching += " AND strpos(lower(d.path), lower($\(parameters.count + 1))) > 0"
                    parameters.append(.text(contains))
                }
                if let visibleTo {
                    matching += " AND (d.access IS NULL OR d.access ?| $\(parameters.count + 1)::text[])"
                    parameters.append(.textArray(visibleTo + [AccessList.everyone]))
                }
                let total = try db.execute("SELECT count(*) FROM quarry_documents d" + matching, parameters)
                let next = parameters.count + 1
                let rows = try db.execute(
                    Self.documentSelect + matching + " ORDER BY d.path COLLATE \"C\" LIMIT $\(next) OFFSET $\(next + 1)",
                    parameters + [.integer(Int64(limit)), .integer(Int64(offset))]
                )
                return DocumentPage(total: Int(total.int64(0, 0) ?? 0), documents: (0..<rows.count).map { Self.readDocument(rows, $0) })
            }
        }
    }

    public func document(in collection: String, path: String) async throws -> (DocumentRecord, [StoredChunk])? {
        try await pool.withConnection { db in
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
    static func location(_ rows: PostgresRows, _ row: Int, from column: Int) -> ChunkLocation {
        ChunkLocation(
            lineStart: Int(rows.int64(row, column) ?? 0), lineEnd: Int(rows.int64(row, column + 1) ?? 0),
            page: rows.int64(row, column + 2).map(Int.init), byteStart: rows.int64(row, column + 3).map(Int.init),
            byteEnd: rows.int64(row, column + 4).map(Int.init)
        )
    }

    public func replaceDocuments(in collection: String, _ writes: [DocumentWrite]) async throws {
        guard !writes.isEmpty else { return }
        try WritePlan.checkPairing(writes)
        try await pool.transaction { db in
            let info = try Self.lockCollection(collection, in: db)
            try WritePlan.checkDimension(writes, collection: collection, dimension: info.dimension)
            let now = Date().timeIntervalSince1970
            let sourceIDs = try WritePlan.sourceIDs(of: writes) { source in
                let rows = try db.execute(
                    """
                    INSERT INTO quarry_sources (collection_id, path, content_hash, size, mtime, indexed_at)
                    VALUES ($1, $2, '', 0, 0, $3)
                    ON CONFLICT (collection_id, path) DO UPDATE SET path = excluded.path
                    RETURNING id
                    """,
                    [.integer(info.id), .text(source), .real(now)]
                )
                return try Self.returnedID(rows, of: "source \(source)")
            }
            var chunkRows: [[PostgresValue]] = []
            var documentIDs: [Int64] = []
            for write in writes {
                let document = write.document
                let sourceID = try WritePlan.sourceID(of: document, in: sourceIDs)
                // Its old chunks go with it (ON DELETE CASCADE); a write that says nothing of
                // permissions keeps the stored ones.
                let removed = try db.execute(
                    "DELETE FROM quarry_documents WHERE collection_id = $1 AND path = $2 RETURNING access::text",
                    [.integer(info.id), .text(document.path)]
                )
                let access = StoreFormat.accessJSON(document.access) ?? (removed.count == 1 ? removed.string(0, 0) : nil)
                let inserted = try db.execute(
                    """
                    INSERT INTO quarry_documents
                        (collection_id, source_id, path, content_hash, size, mtime, chunk_count, indexed_at, metadata, access)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb) RETURNING id
                    """,
                    [
                        .integer(info.id), .integer(sourceID), .text(document.path), .text(document.contentHash), .integer(document.size),
                        .real(document.modificationTime), .integer(Int64(write.chunks.count)), .real(now),
                        .text(StoreFormat.metadataJSON(document.metadata) ?? "{}"), access.map { .text($0) } ?? .null,
                    ]
                )
                let documentID = try Self.returnedID(inserted, of: "document \(document.path)")
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

    static func optional(_ value: Int?) -> PostgresValue {
        value.map { .integer(Int64($0)) } ?? .null
    }

    public func updateRecordLocations(in collection: String, _ locations: [RecordLocation]) async throws {
        guard !locations.isEmpty else { return }
        try await pool.transaction { db in
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

    public func completeSource(in collection: String, _ source: SourceRecord, keeping: Set<String>?) async throws {
        try await pool.transaction { db in
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
            let sourceID = try Self.returnedID(rows, of: "source \(source.path)")
            let documents = try db.execute("SELECT path FROM quarry_documents WHERE source_id = $1", [.integer(sourceID)])
            let stale = WritePlan.staleDocuments(stored: documents.rows.compactMap { $0[0] }, keeping: keeping)
            guard !stale.isEmpty else { return }
            try db.execute(
                "DELETE FROM quarry_documents WHERE collection_id = $1 AND path = ANY($2::text[])", [.integer(info.id), .textArray(stale)]
            )
            try Self.bumpGeneration(info.id, in: db)
        }
    }

    public func removeSource(in collection: String, path: String) async throws {
        try await pool.transaction { db in
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
    public func removeDocument(in collection: String, path: String) async throws -> Bool {
        try await pool.transaction { db in
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

    public func setAccess(in collection: String, path: String, access: [String]?) async throws -> Bool {
        try await pool.transaction { db in
            let info = try Self.lockCollection(collection, in: db)
            let changed = try db.execute(
                "UPDATE quarry_documents SET access = $3::jsonb WHERE collection_id = $1 AND path = $2",
                [.integer(info.id), .text(path), StoreFormat.accessJSON(access).map { .text($0) } ?? .null]
            ).affected ?? 0
            guard changed > 0 else { return false }
            // Cached results depend on who may see what.
            try Self.bumpGeneration(info.id, in: db)
            return true
        }
    }

    static func bumpGeneration(_ collectionID: Int64, in db: PostgresConnection) throws {
        try db.execute("UPDATE quarry_collections SET generation = generation + 1 WHERE id = $1", [.integer(collectionID)])
    }
}
