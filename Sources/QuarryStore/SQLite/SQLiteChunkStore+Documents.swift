import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryHNSW
import QuarryKernels

// Sources and documents: read on a reader connection, written in one transaction each on the
// writer connection.
extension SQLiteChunkStore {
    public func sources(in collection: String) async throws -> [SourceRecord] {
        try await read { db in
            let collectionID = try Self.requireCollection(collection, in: db).id
            let statement = try db.prepare(
                "SELECT path, content_hash, size, mtime FROM quarry_sources WHERE collection_id = ? ORDER BY path"
            )
            try statement.bind([.integer(collectionID)])
            var result: [SourceRecord] = []
            while try statement.step() {
                result.append(
                    SourceRecord(
                        path: statement.text(0), contentHash: statement.text(1), size: statement.int64(2),
                        modificationTime: statement.double(3)
                    )
                )
            }
            return result
        }
    }

    static let documentSelect = """
        SELECT d.path, coalesce(s.path, d.path), d.content_hash, d.size, d.mtime, d.chunk_count, d.id, coalesce(d.metadata, ''), d.access
        FROM quarry_documents d LEFT JOIN quarry_sources s ON s.id = d.source_id
        """

    static func readDocument(_ statement: SQLiteStatement) -> DocumentRecord {
        DocumentRecord(
            path: statement.text(0), source: statement.text(1), contentHash: statement.text(2), size: statement.int64(3),
            modificationTime: statement.double(4), chunkCount: statement.int(5), metadata: StoreFormat.decodeMetadata(statement.text(7)),
            access: StoreFormat.decodeAccess(statement.optionalText(8))
        )
    }

    public func documents(in collection: String) async throws -> [DocumentRecord] {
        try await read { db in
            let collectionID = try Self.requireCollection(collection, in: db).id
            let statement = try db.prepare(Self.documentSelect + " WHERE d.collection_id = ? ORDER BY d.path")
            try statement.bind([.integer(collectionID)])
            var result: [DocumentRecord] = []
            while try statement.step() { result.append(Self.readDocument(statement)) }
            return result
        }
    }

    public func documents(
        in collection: String, prefix: String, contains: String, limit: Int, offset: Int, visibleTo: [String]?
    ) async throws -> DocumentPage {
        try await read { db in
            let collectionID = try Self.requireCollection(collection, in: db).id
            // One read transaction: the count and the page belong together.
            return try db.readTransaction {
                var matching = " WHERE d.collection_id = ? AND substr(d.path, 1, length(?)) = ?"
                var parameters: [SQLiteStatement.Value] = [.integer(collectionID), .text(prefix), .text(prefix)]
                if !contains.isEmpty {
                    // instr, not LIKE: the text is matched as it is, `%` and `_` included.
                    matching += " AND instr(lower(d.path), lower(?)) > 0"
                    parameters.append(.text(contains))
                }
                if let visibleTo {
                    matching += " AND (d.access IS NULL OR EXISTS (SELECT 1 FROM json_each(d.access) a WHERE a.value IN (SELECT value FROM json_each(?))))"
                    parameters.append(.text(StoreFormat.visibleJSON(visibleTo)))
                }
                let count = try db.prepare("SELECT count(*) FROM quarry_documents d" + matching)
                try count.bind(parameters)
                _ = try count.step()
                let statement = try db.prepare(Self.documentSelect + matching + " ORDER BY d.path LIMIT ? OFFSET ?")
                try statement.bind(parameters + [.integer(Int64(limit)), .integer(Int64(offset))])
                var documents: [DocumentRecord] = []
                while try statement.step() { documents.append(Self.readDocument(statement)) }
                return DocumentPage(total: count.int(0), documents: documents)
            }
        }
    }

    public func document(in collection: String, path: String) async throws -> (DocumentRecord, [StoredChunk])? {
        try await read { db in
            return try db.readTransaction {
                let collectionID = try Self.requireCollection(collection, in: db).id
                let statement = try db.prepare(Self.documentSelect + " WHERE d.collection_id = ? AND d.path = ?")
                try statement.bind([.integer(collectionID), .text(path)])
                guard try statement.step() else { return nil }
                let record = Self.readDocument(statement)
                let documentID = statement.int64(6)
                let chunks = try db.prepare(
                    """
                    SELECT ordinal, text, heading, line_start, line_end, page, byte_start, byte_end
                    FROM quarry_chunks WHERE document_id = ? ORDER BY ordinal
                    """
                )
                try chunks.bind([.integer(documentID)])
                var stored: [StoredChunk] = []
                while try chunks.step() {
                    let heading = chunks.text(2)
                    stored.append(
                        StoredChunk(
                            chunkID: "\(path)#\(chunks.int(0))", ordinal: chunks.int(0), text: chunks.text(1),
                            headingPath: heading.isEmpty ? [] : heading.components(separatedBy: StoreFormat.headingSeparator),
                            location: Self.location(chunks, from: 3)
                        )
                    )
                }
                return (record, stored)
            }
        }
    }

    /// A chunk location from five columns: line_start, line_end, page, byte_start, byte_end.
    static func location(_ statement: SQLiteStatement, from column: Int32) -> ChunkLocation {
        ChunkLocation(
            lineStart: statement.int(column), lineEnd: statement.int(column + 1), page: statement.optionalInt(column + 2),
            byteStart: statement.optionalInt(column + 3), byteEnd: statement.optionalInt(column + 4)
        )
    }

    public func replaceDocuments(in collection: String, _ writes: [DocumentWrite]) async throws {
        guard !writes.isEmpty else { return }
        try WritePlan.checkPairing(writes)
        try await write { db in
            try db.transaction {
                let info = try Self.requireCollection(collection, in: db)
                let now = Date().timeIntervalSince1970
                let findSource = try db.prepare("SELECT id FROM quarry_sources WHERE collection_id = ? AND path = ?")
                let insertSource = try db.prepare(
                    "INSERT INTO quarry_sources (collection_id, path, content_hash, size, mtime, indexed_at) VALUES (?, ?, '', 0, 0, ?)"
                )
                let storedAccess = try db.prepare("SELECT access FROM quarry_documents WHERE collection_id = ? AND path = ?")
                let deleteDocument = try db.prepare("DELETE FROM quarry_documents WHERE collection_id = ? AND path = ?")
                let insertDocument = try db.prepare(
                    """
                    INSERT INTO quarry_documents (collection_id, source_id, path, content_hash, size, mtime, chunk_count, indexed_at, metadata, access)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
                )
                let insertChunk = try db.prepare(
                    """
                    INSERT INTO quarry_chunks (document_id, ordinal, text, heading, line_start, line_end, page, byte_start, byte_end, vector)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
                )
                try WritePlan.checkDimension(writes, collection: collection, dimension: info.model.dimension)
                let sourceIDs = try WritePlan.sourceIDs(of: writes) { source in
                    try findSource.bind([.integer(info.id), .text(source)])
                    if try findSource.step() { return findSource.int64(0) }
                    try insertSource.run([.integer(info.id), .text(source), .real(now)])
                    return db.lastInsertRowID
                }
                for write in writes {
                    let document = write.document
                    let sourceID = try WritePlan.sourceID(of: document, in: sourceIDs)
                    // A write that says nothing of permissions keeps the stored ones.
                    var access = StoreFormat.accessJSON(document.access)
                    if access == nil {
                        try storedAccess.bind([.integer(info.id), .text(document.path)])
                        if try storedAccess.step() { access = storedAccess.optionalText(0) }
                    }
                    try deleteDocument.run([.integer(info.id), .text(document.path)])
                    try insertDocument.run([
                        .integer(info.id), .integer(sourceID), .text(document.path), .text(document.contentHash),
                        .integer(document.size), .real(document.modificationTime), .integer(Int64(write.chunks.count)),
                        .real(now), StoreFormat.metadataJSON(document.metadata).map { .text($0) } ?? .null, access.map { .text($0) } ?? .null,
                    ])
                    let documentID = db.lastInsertRowID
                    for (chunk, vector) in zip(write.chunks, write.vectors) {
                        let location = chunk.location
                        try insertChunk.run([
                            .integer(documentID), .integer(Int64(chunk.ordinal)), .text(chunk.text),
                            .text(chunk.headingPath.joined(separator: StoreFormat.headingSeparator)),
                            .integer(Int64(location.lineStart)), .integer(Int64(location.lineEnd)),
                            Self.optional(location.page), Self.optional(location.byteStart), Self.optional(location.byteEnd),
                            .blob(vector),
                        ])
                    }
                }
                try Self.bumpGeneration(info.id, in: db)
            }
        }
    }

    public func setAccess(in collection: String, path: String, access: [String]?) async throws -> Bool {
        try await write { db in
            try db.transaction {
                let info = try Self.requireCollection(collection, in: db)
                try db.prepare("UPDATE quarry_documents SET access = ? WHERE collection_id = ? AND path = ?").run([
                    StoreFormat.accessJSON(access).map { .text($0) } ?? .null, .integer(info.id), .text(path),
                ])
                guard db.changes > 0 else { return false }
                // Cached results and allowed-chunk sets depend on who may see what.
                try Self.bumpGeneration(info.id, in: db)
                return true
            }
        }
    }

    static func optional(_ value: Int?) -> SQLiteStatement.Value {
        value.map { .integer(Int64($0)) } ?? .null
    }

    public func updateRecordLocations(in collection: String, _ locations: [RecordLocation]) async throws {
        guard !locations.isEmpty else { return }
        try await write { db in
            try db.transaction {
                let info = try Self.requireCollection(collection, in: db)
                let update = try db.prepare(
                    """
                    UPDATE quarry_chunks SET line_start = ?, line_end = ?, byte_start = ?, byte_end = ?
                    WHERE document_id = (SELECT id FROM quarry_documents WHERE collection_id = ? AND path = ?)
                    """
                )
                for location in locations {
                    try update.run([
                        .integer(Int64(location.line)), .integer(Int64(location.line)),
                        .integer(Int64(location.bytes.lowerBound)), .integer(Int64(location.bytes.upperBound)),
                        .integer(info.id), .text(location.path),
                    ])
                }
                // Locations are part of search results: caches must see the change.
                try Self.bumpGeneration(info.id, in: db)
            }
        }
    }

    public func completeSource(in collection: String, _ source: SourceRecord, keeping: Set<String>?) async throws {
        try await write { db in
            try db.transaction {
                let info = try Self.requireCollection(collection, in: db)
                try db.prepare(
                    """
                    INSERT INTO quarry_sources (collection_id, path, content_hash, size, mtime, indexed_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (collection_id, path) DO UPDATE SET
                        content_hash = excluded.content_hash, size = excluded.size, mtime = excluded.mtime,
                        indexed_at = excluded.indexed_at
                    """
                ).run([
                    .integer(info.id), .text(source.path), .text(source.contentHash), .integer(source.size),
                    .real(source.modificationTime), .real(Date().timeIntervalSince1970),
                ])
                guard let keeping else { return }
                let list = try db.prepare(
                    """
                    SELECT d.path FROM quarry_documents d JOIN quarry_sources s ON s.id = d.source_id
                    WHERE s.collection_id = ? AND s.path = ?
                    """
                )
                try list.bind([.integer(info.id), .text(source.path)])
                var stored: [String] = []
                while try list.step() { stored.append(list.text(0)) }
                let stale = WritePlan.staleDocuments(stored: stored, keeping: keeping)
                guard !stale.isEmpty else { return }
                let delete = try db.prepare("DELETE FROM quarry_documents WHERE collection_id = ? AND path = ?")
                for path in stale { try delete.run([.integer(info.id), .text(path)]) }
                try Self.bumpGeneration(info.id, in: db)
            }
        }
    }

    public func removeSource(in collection: String, path: String) async throws {
        try await write { db in
            try db.transaction {
                let info = try Self.requireCollection(collection, in: db)
                // Documents go by the foreign key's cascade, chunks by theirs.
                try db.prepare("DELETE FROM quarry_documents WHERE source_id IN (SELECT id FROM quarry_sources WHERE collection_id = ? AND path = ?)")
                    .run([.integer(info.id), .text(path)])
                let removedDocuments = db.changes
                try db.prepare("DELETE FROM quarry_sources WHERE collection_id = ? AND path = ?").run([.integer(info.id), .text(path)])
                if removedDocuments > 0 { try Self.bumpGeneration(info.id, in: db) }
            }
        }
    }

    @discardableResult
    public func removeDocument(in collection: String, path: String) async throws -> Bool {
        try await write { db in
            try db.transaction {
                let info = try Self.requireCollection(collection, in: db)
                try db.prepare(
                    """
                    UPDATE quarry_sources SET content_hash = '' WHERE id =
                        (SELECT source_id FROM quarry_documents WHERE collection_id = ? AND path = ?)
                    """
                ).run([.integer(info.id), .text(path)])
                try db.prepare("DELETE FROM quarry_documents WHERE collection_id = ? AND path = ?")
                    .run([.integer(info.id), .text(path)])
                guard db.changes > 0 else { return false }
                try Self.bumpGeneration(info.id, in: db)
                return true
            }
        }
    }
}
