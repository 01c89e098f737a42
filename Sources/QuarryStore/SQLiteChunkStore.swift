import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryHNSW
import QuarryKernels
import Synchronization

/// The embedded store: one SQLite database (WAL mode) holding collections, documents, chunks and
/// their vectors.
///
/// Writes go through one connection, reads through another, so searches never wait behind an
/// ingest transaction. Searches score against an immutable in-memory snapshot of a collection's
/// vectors, rebuilt when the collection's generation (bumped by every write, from any process)
/// moves on.
public final class SQLiteChunkStore: ChunkStore {
    /// The database file name inside the store directory.
    public static let databaseFileName = "quarry.sqlite"

    /// The store directory.
    public let directory: URL
    /// Collections with fewer chunks than this are searched exactly; larger ones through HNSW.
    public let exactSearchLimit: Int
    private let indexes: CollectionIndexes
    private let writer: Mutex<SQLiteConnection>
    private let reader: ReadConnectionPool
    private let snapshots = Mutex<[String: CollectionSnapshot]>([:])

    /// Opens the store in `directory`, creating the directory and the schema when missing.
    /// - Parameters:
    ///   - exactSearchLimit: collections below this many chunks are searched exactly.
    ///   - indexParameters: HNSW construction parameters for larger collections.
    /// - Throws: `QuarryError.storage` when the directory or database cannot be opened or
    ///   migrated.
    public init(
        directory: URL, exactSearchLimit: Int = 10_000,
        indexParameters: HNSWParameters = HNSWParameters(m: 16, efConstruction: 200, ef: 64)
    ) throws {
        self.directory = directory
        self.exactSearchLimit = exactSearchLimit
        self.indexes = CollectionIndexes(directory: directory.appendingPathComponent("index"), parameters: indexParameters)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw QuarryError(.storage, "cannot create the store directory \(directory.path)", underlying: error)
        }
        let path = directory.appendingPathComponent(Self.databaseFileName).path
        let writeConnection = try SQLiteConnection(path: path)
        try writeConnection.execute(
            """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            PRAGMA foreign_keys = ON;
            """
        )
        try StoreSchema.migrate(writeConnection)
        self.writer = Mutex(writeConnection)
        // As many readers as cores can use them: searches do not queue behind one another.
        self.reader = try ReadConnectionPool(path: path, count: max(2, ProcessInfo.processInfo.activeProcessorCount))
    }

    // MARK: Collections

    public func collections() throws -> [CollectionInfo] {
        try reader.withLock { db in
            let statement = try db.prepare(Self.collectionSelect + " ORDER BY c.name")
            try statement.bind([])
            var result: [CollectionInfo] = []
            while try statement.step() { result.append(Self.readCollection(statement)) }
            return result
        }
    }

    public func collection(named name: String) throws -> CollectionInfo? {
        try reader.withLock { db in try Self.collection(named: name, in: db) }
    }

    public func ensureCollection(named name: String, model: EmbeddingModelInfo) throws -> CollectionInfo {
        try CollectionName.validate(name)
        return try writer.withLock { db in
            try db.transaction {
                if let existing = try Self.collection(named: name, in: db) {
                    try StoreFormat.checkModel(existing, model)
                    return existing
                }
                try db.prepare(
                    """
                    INSERT INTO collections (name, model_name, dimension, model_fingerprint, created_at)
                    VALUES (?, ?, ?, ?, ?)
                    """
                ).run([
                    .text(name), .text(model.name), .integer(Int64(model.dimension)), .text(model.fingerprint),
                    .real(Date().timeIntervalSince1970),
                ])
                return CollectionInfo(id: db.lastInsertRowID, name: name, model: model, documentCount: 0, chunkCount: 0)
            }
        }
    }

    public func removeCollection(named name: String) throws {
        try writer.withLock { db in
            try db.prepare("DELETE FROM collections WHERE name = ?").run([.text(name)])
        }
        snapshots.withLock { _ = $0.removeValue(forKey: name) }
        indexes.drop(name)
    }

    // MARK: Sources and documents

    public func sources(in collection: String) throws -> [SourceRecord] {
        try reader.withLock { db in
            let collectionID = try Self.requireCollection(collection, in: db).id
            let statement = try db.prepare(
                "SELECT path, content_hash, size, mtime FROM sources WHERE collection_id = ? ORDER BY path"
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

    private static let documentSelect = """
        SELECT d.path, coalesce(s.path, d.path), d.content_hash, d.size, d.mtime, d.chunk_count, d.id, coalesce(d.metadata, '')
        FROM documents d LEFT JOIN sources s ON s.id = d.source_id
        """

    private static func readDocument(_ statement: SQLiteStatement) -> DocumentRecord {
        DocumentRecord(
            path: statement.text(0), source: statement.text(1), contentHash: statement.text(2), size: statement.int64(3),
            modificationTime: statement.double(4), chunkCount: statement.int(5), metadata: StoreFormat.decodeMetadata(statement.text(7))
        )
    }

    public func documents(in collection: String) throws -> [DocumentRecord] {
        try reader.withLock { db in
            let collectionID = try Self.requireCollection(collection, in: db).id
            let statement = try db.prepare(Self.documentSelect + " WHERE d.collection_id = ? ORDER BY d.path")
            try statement.bind([.integer(collectionID)])
            var result: [DocumentRecord] = []
            while try statement.step() { result.append(Self.readDocument(statement)) }
            return result
        }
    }

    public func document(in collection: String, path: String) throws -> (DocumentRecord, [StoredChunk])? {
        try reader.withLock { db in
            try db.execute("BEGIN")
            defer { try? db.execute("COMMIT") }
            let collectionID = try Self.requireCollection(collection, in: db).id
            let statement = try db.prepare(Self.documentSelect + " WHERE d.collection_id = ? AND d.path = ?")
            try statement.bind([.integer(collectionID), .text(path)])
            guard try statement.step() else { return nil }
            let record = Self.readDocument(statement)
            let documentID = statement.int64(6)
            let chunks = try db.prepare(
                """
                SELECT ordinal, text, heading, line_start, line_end, page, byte_start, byte_end
                FROM chunks WHERE document_id = ? ORDER BY ordinal
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

    /// A chunk location from five columns: line_start, line_end, page, byte_start, byte_end.
    private static func location(_ statement: SQLiteStatement, from column: Int32) -> ChunkLocation {
        ChunkLocation(
            lineStart: statement.int(column), lineEnd: statement.int(column + 1), page: statement.optionalInt(column + 2),
            byteStart: statement.optionalInt(column + 3), byteEnd: statement.optionalInt(column + 4)
        )
    }

    public func replaceDocuments(in collection: String, _ writes: [DocumentWrite]) throws {
        guard !writes.isEmpty else { return }
        for write in writes { try write.validatePairing() }
        try writer.withLock { db in
            try db.transaction {
                let info = try Self.requireCollection(collection, in: db)
                let now = Date().timeIntervalSince1970
                let findSource = try db.prepare("SELECT id FROM sources WHERE collection_id = ? AND path = ?")
                let insertSource = try db.prepare(
                    "INSERT INTO sources (collection_id, path, content_hash, size, mtime, indexed_at) VALUES (?, ?, '', 0, 0, ?)"
                )
                let deleteDocument = try db.prepare("DELETE FROM documents WHERE collection_id = ? AND path = ?")
                let insertDocument = try db.prepare(
                    """
                    INSERT INTO documents (collection_id, source_id, path, content_hash, size, mtime, chunk_count, indexed_at, metadata)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
                )
                let insertChunk = try db.prepare(
                    """
                    INSERT INTO chunks (document_id, ordinal, text, heading, line_start, line_end, page, byte_start, byte_end, vector)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
                )
                var sourceIDs: [String: Int64] = [:]
                for write in writes {
                    let document = write.document
                    if let bad = write.vectors.first(where: { $0.count != info.model.dimension }) {
                        throw QuarryError(
                            .invalidRequest,
                            "vector of dimension \(bad.count) does not fit collection '\(collection)' (\(info.model.dimension))"
                        )
                    }
                    let sourceID: Int64
                    if let known = sourceIDs[document.source] {
                        sourceID = known
                    } else {
                        try findSource.bind([.integer(info.id), .text(document.source)])
                        if try findSource.step() {
                            sourceID = findSource.int64(0)
                        } else {
                            try insertSource.run([.integer(info.id), .text(document.source), .real(now)])
                            sourceID = db.lastInsertRowID
                        }
                        sourceIDs[document.source] = sourceID
                    }
                    try deleteDocument.run([.integer(info.id), .text(document.path)])
                    try insertDocument.run([
                        .integer(info.id), .integer(sourceID), .text(document.path), .text(document.contentHash),
                        .integer(document.size), .real(document.modificationTime), .integer(Int64(write.chunks.count)),
                        .real(now), StoreFormat.metadataJSON(document.metadata).map { .text($0) } ?? .null,
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

    private static func optional(_ value: Int?) -> SQLiteStatement.Value {
        value.map { .integer(Int64($0)) } ?? .null
    }

    public func updateRecordLocations(in collection: String, _ locations: [RecordLocation]) throws {
        guard !locations.isEmpty else { return }
        try writer.withLock { db in
            try db.transaction {
                let info = try Self.requireCollection(collection, in: db)
                let update = try db.prepare(
                    """
                    UPDATE chunks SET line_start = ?, line_end = ?, byte_start = ?, byte_end = ?
                    WHERE document_id = (SELECT id FROM documents WHERE collection_id = ? AND path = ?)
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

    public func completeSource(in collection: String, _ source: SourceRecord, keeping: Set<String>?) throws {
        try writer.withLock { db in
            try db.transaction {
                let info = try Self.requireCollection(collection, in: db)
                try db.prepare(
                    """
                    INSERT INTO sources (collection_id, path, content_hash, size, mtime, indexed_at) VALUES (?, ?, ?, ?, ?, ?)
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
                    SELECT d.path FROM documents d JOIN sources s ON s.id = d.source_id
                    WHERE s.collection_id = ? AND s.path = ?
                    """
                )
                try list.bind([.integer(info.id), .text(source.path)])
                var stale: [String] = []
                while try list.step() {
                    let path = list.text(0)
                    if !keeping.contains(path) { stale.append(path) }
                }
                guard !stale.isEmpty else { return }
                let delete = try db.prepare("DELETE FROM documents WHERE collection_id = ? AND path = ?")
                for path in stale { try delete.run([.integer(info.id), .text(path)]) }
                try Self.bumpGeneration(info.id, in: db)
            }
        }
    }

    public func removeSource(in collection: String, path: String) throws {
        try writer.withLock { db in
            try db.transaction {
                let info = try Self.requireCollection(collection, in: db)
                // Documents go by the foreign key's cascade, chunks by theirs.
                try db.prepare("DELETE FROM documents WHERE source_id IN (SELECT id FROM sources WHERE collection_id = ? AND path = ?)")
                    .run([.integer(info.id), .text(path)])
                let removedDocuments = db.changes
                try db.prepare("DELETE FROM sources WHERE collection_id = ? AND path = ?").run([.integer(info.id), .text(path)])
                if removedDocuments > 0 { try Self.bumpGeneration(info.id, in: db) }
            }
        }
    }

    @discardableResult
    public func removeDocument(in collection: String, path: String) throws -> Bool {
        try writer.withLock { db in
            try db.transaction {
                let info = try Self.requireCollection(collection, in: db)
                try db.prepare(
                    """
                    UPDATE sources SET content_hash = '' WHERE id =
                        (SELECT source_id FROM documents WHERE collection_id = ? AND path = ?)
                    """
                ).run([.integer(info.id), .text(path)])
                try db.prepare("DELETE FROM documents WHERE collection_id = ? AND path = ?")
                    .run([.integer(info.id), .text(path)])
                guard db.changes > 0 else { return false }
                try Self.bumpGeneration(info.id, in: db)
                return true
            }
        }
    }

    // MARK: Verification

    /// Checks the store's invariants: SQLite's own integrity and foreign keys, no chunk without
    /// its document, no document without its file, every document's chunk count and ordinals
    /// matching its chunks.
    /// - Returns: one line per problem; empty when the store is sound.
    public func verify() throws -> [String] {
        try reader.withLock { db in
            try db.execute("BEGIN")
            defer { try? db.execute("COMMIT") }
            var problems: [String] = []
            let integrity = try db.prepare("PRAGMA integrity_check")
            try integrity.bind([])
            while try integrity.step() {
                let line = integrity.text(0)
                if line != "ok" { problems.append("integrity: \(line)") }
            }
            let checks: [(String, String)] = [
                ("SELECT count(*) FROM chunks c LEFT JOIN documents d ON d.id = c.document_id WHERE d.id IS NULL", "chunks without a document"),
                ("SELECT count(*) FROM documents d LEFT JOIN sources s ON s.id = d.source_id WHERE s.id IS NULL", "documents without a source"),
                (
                    """
                    SELECT count(*) FROM documents d WHERE d.chunk_count !=
                        (SELECT count(*) FROM chunks c WHERE c.document_id = d.id)
                    """, "documents whose chunk count is wrong"
                ),
                (
                    """
                    SELECT count(*) FROM documents d WHERE d.chunk_count > 0 AND d.chunk_count - 1 !=
                        (SELECT max(ordinal) FROM chunks c WHERE c.document_id = d.id)
                    """, "documents whose chunk ordinals have gaps"
                ),
                ("SELECT count(*) FROM pragma_foreign_key_check", "foreign-key violations"),
            ]
            for (sql, what) in checks {
                let statement = try db.prepare(sql)
                try statement.bind([])
                if try statement.step(), statement.int(0) > 0 { problems.append("\(statement.int(0)) \(what)") }
            }
            // The lexical index must hold exactly the chunks' text (FTS5 compares it with them).
            do {
                try writer.withLock { try $0.execute("INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('integrity-check', 1)") }
            } catch {
                problems.append("the lexical index does not match the chunks: \(error)")
            }
            // An index file on disk must hold exactly the collection's chunks (it is caught up
            // when used, but a completed ingest leaves it exact).
            let collections = try db.prepare("SELECT id, name FROM collections ORDER BY name")
            try collections.bind([])
            var named: [(Int64, String)] = []
            while try collections.step() { named.append((collections.int64(0), collections.text(1))) }
            for (id, name) in named {
                let url = indexes.fileURL(for: name)
                guard FileManager.default.fileExists(atPath: url.path) else { continue }
                let index: HNSWIndex
                do {
                    index = try HNSWIndex.load(from: url)
                } catch {
                    problems.append("index of '\(name)' cannot be loaded (it will be rebuilt): \(error)")
                    continue
                }
                let rows = try db.prepare("SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.collection_id = ?")
                try rows.bind([.integer(id)])
                var chunkIDs = Set<UInt64>()
                while try rows.step() { chunkIDs.insert(UInt64(bitPattern: rows.int64(0))) }
                let labels = Set(index.labels)
                let stale = labels.subtracting(chunkIDs).count
                let missing = chunkIDs.subtracting(labels).count
                if stale > 0 || missing > 0 {
                    problems.append("index of '\(name)' lags the store (\(stale) removed chunks still in it, \(missing) chunks not yet in it)")
                }
            }
            return problems
        }
    }

    // MARK: Search

    public func search(in collection: String, query: [Float], k: Int, ef: Int?, filter: SearchFilter?) throws -> [SearchHit] {
        guard k > 0 else { return [] }
        let status = try collectionStatus(collection)
        guard query.count == status.dimension else {
            throw QuarryError(
                .invalidRequest,
                "query vector has dimension \(query.count); collection '\(collection)' has \(status.dimension)"
            )
        }
        let allowed = try filter.flatMap { $0.isEmpty ? nil : try allowedChunks(collectionID: status.id, filter: $0) }
        if let allowed, allowed.isEmpty { return [] }
        guard status.chunkCount >= exactSearchLimit else {
            return try exactSearch(in: collection, query: query, k: k, allowed: allowed)
        }
        let index = try indexes.index(
            for: collection, dimension: status.dimension, generation: status.generation, source: indexSource(status.id)
        )
        let results: [HNSWResult]
        do {
            if let allowed {
                // The walk passes through other chunks and collects only allowed ones; when few
                // are allowed the index scans them exactly.
                results = try index.search(
                    query, k: k, ef: ef, filter: { allowed.contains(Int64(bitPattern: $0)) }, expectedMatches: allowed.count
                )
            } else {
                results = try index.search(query, k: k, ef: ef)
            }
        } catch {
            throw QuarryError(.internal, "index search failed", underlying: error)
        }
        let rowIDs = results.map { Int64(bitPattern: $0.label) }
        let rows = try loadHits(rowIDs)
        return zip(results, rowIDs).compactMap { result, rowID in
            guard var hit = rows[rowID] else { return nil }
            hit.score = 1 - result.distance
            return hit
        }
    }

    public func lexicalSearch(in collection: String, query: String, k: Int, filter: SearchFilter?) throws -> [SearchHit] {
        guard k > 0 else { return [] }
        let terms = LexicalQuery.terms(query)
        let collectionID = try reader.withLock { db in try Self.requireCollection(collection, in: db).id }
        guard !terms.isEmpty else { return [] }
        let allowed = try filter.flatMap { $0.isEmpty ? nil : try allowedChunks(collectionID: collectionID, filter: $0) }
        if let allowed, allowed.isEmpty { return [] }
        // Every term quoted: the user's text never reaches FTS5's query syntax.
        let match = terms.map { "\"\($0)\"" }.joined(separator: " OR ")
        let ranked: [(Int64, Float)] = try reader.withLock { db in
            // One read transaction: the collection count and the matches belong together.
            try db.execute("BEGIN")
            defer { try? db.execute("COMMIT") }
            let count = try db.prepare("SELECT count(*) FROM collections")
            try count.bind([])
            _ = try count.step()
            let statement: SQLiteStatement
            if let allowed {
                // Filtered: matches in rank order, only allowed ones kept, until there are k.
                statement = try db.prepare(
                    "SELECT rowid, -bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts)"
                )
                try statement.bind([.text(match)])
                var rows: [(Int64, Float)] = []
                while rows.count < k, try statement.step() {
                    if allowed.contains(statement.int64(0)) { rows.append((statement.int64(0), Float(statement.double(1)))) }
                }
                return rows
            } else if count.int(0) == 1 {
                // One collection (the usual case): no need to look up each match's collection,
                // which doubles the cost of a query.
                statement = try db.prepare(
                    "SELECT rowid, -bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?"
                )
                try statement.bind([.text(match), .integer(Int64(k))])
            } else {
                statement = try db.prepare(
                    """
                    SELECT f.rowid, -bm25(chunks_fts) FROM chunks_fts f
                    JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.id = c.document_id
                    WHERE chunks_fts MATCH ? AND d.collection_id = ?
                    ORDER BY bm25(chunks_fts) LIMIT ?
                    """
                )
                try statement.bind([.text(match), .integer(collectionID), .integer(Int64(k))])
            }
            var rows: [(Int64, Float)] = []
            while try statement.step() { rows.append((statement.int64(0), Float(statement.double(1)))) }
            return rows
        }
        let hits = try loadHits(ranked.map(\.0))
        return ranked.compactMap { rowID, score in
            guard var hit = hits[rowID] else { return nil }
            hit.score = score
            return hit
        }
    }

    public func synchronizeIndex(of collection: String) throws {
        let status = try collectionStatus(collection)
        guard status.chunkCount >= exactSearchLimit else {
            indexes.drop(collection)
            return
        }
        _ = try indexes.index(
            for: collection, dimension: status.dimension, generation: status.generation, source: indexSource(status.id),
            persist: true
        )
    }

    /// Exact search: one `sgemv` over the collection's vector snapshot, then top-k.
    /// The row ids of the collection's chunks that `filter` keeps.
    private func allowedChunks(collectionID: Int64, filter: SearchFilter) throws -> Set<Int64> {
        try reader.withLock { db in
            let statement = try db.prepare(
                """
                SELECT c.id, d.path, coalesce(s.path, d.path), coalesce(d.metadata, '') FROM chunks c JOIN documents d ON d.id = c.document_id
                LEFT JOIN sources s ON s.id = d.source_id WHERE d.collection_id = ?
                """
            )
            try statement.bind([.integer(collectionID)])
            var allowed = Set<Int64>()
            var verdicts: [String: Bool] = [:]
            while try statement.step() {
                let path = statement.text(1)
                let keep = verdicts[path] ?? {
                    let verdict = filter.accepts(path: path, source: statement.text(2), metadata: StoreFormat.decodeMetadata(statement.text(3)))
                    verdicts[path] = verdict
                    return verdict
                }()
                if keep { allowed.insert(statement.int64(0)) }
            }
            return allowed
        }
    }

    private func exactSearch(in collection: String, query: [Float], k: Int, allowed: Set<Int64>?) throws -> [SearchHit] {
        let snapshot = try currentSnapshot(of: collection)
        var best: [(index: Int, score: Float)]
        do {
            if let allowed {
                let scores = try snapshot.matrix.innerProducts(query)
                var kept: [(index: Int, score: Float)] = []
                for (index, rowID) in snapshot.rowIDs.enumerated() where allowed.contains(rowID) {
                    kept.append((index, scores[index]))
                }
                best = Array(kept.sorted { ($0.score, $1.index) > ($1.score, $0.index) }.prefix(k))
            } else {
                best = try snapshot.matrix.nearest(to: query, k: k)
            }
        } catch {
            throw QuarryError(.internal, "exact search failed", underlying: error)
        }
        let rowIDs = best.map { snapshot.rowIDs[$0.index] }
        let rows = try loadHits(rowIDs)
        return zip(best, rowIDs).compactMap { pair in
            guard var hit = rows[pair.1] else { return nil }
            hit.score = pair.0.score
            return hit
        }
    }

    private struct CollectionStatus {
        var id: Int64
        var generation: Int64
        var dimension: Int
        var chunkCount: Int
    }

    private func collectionStatus(_ collection: String) throws -> CollectionStatus {
        try reader.withLock { db in
            let statement = try db.prepare(
                """
                SELECT c.id, c.generation, c.dimension,
                       (SELECT coalesce(sum(d.chunk_count), 0) FROM documents d WHERE d.collection_id = c.id)
                FROM collections c WHERE c.name = ?
                """
            )
            try statement.bind([.text(collection)])
            guard try statement.step() else {
                throw QuarryError(.notFound, "collection '\(collection)' does not exist")
            }
            return CollectionStatus(
                id: statement.int64(0), generation: statement.int64(1), dimension: statement.int(2), chunkCount: statement.int(3)
            )
        }
    }

    /// How an index reads the chunk rows of one collection.
    private func indexSource(_ collectionID: Int64) -> IndexSource {
        IndexSource(
            rowIDs: { [self] in
                try self.reader.withLock { db in
                    let statement = try db.prepare(
                        "SELECT c.id FROM documents d JOIN chunks c ON c.document_id = d.id WHERE d.collection_id = ?"
                    )
                    try statement.bind([.integer(collectionID)])
                    var ids: [Int64] = []
                    while try statement.step() { ids.append(statement.int64(0)) }
                    return ids
                }
            },
            vectors: { [self] wanted in
                try self.reader.withLock { db in
                    var ids: [Int64] = []
                    var vectors: [Float] = []
                    var start = 0
                    while start < wanted.count {
                        let slice = wanted[start..<min(start + 500, wanted.count)]
                        let placeholders = Array(repeating: "?", count: slice.count).joined(separator: ",")
                        let statement = try db.prepare("SELECT id, vector FROM chunks WHERE id IN (\(placeholders))")
                        try statement.bind(slice.map { .integer($0) })
                        while try statement.step() {
                            ids.append(statement.int64(0))
                            statement.appendFloats(1, to: &vectors)
                        }
                        start += slice.count
                    }
                    return (ids, vectors)
                }
            }
        )
    }

    /// The collection's vectors as of its current generation, loaded when the cached one is stale.
    private func currentSnapshot(of collection: String) throws -> CollectionSnapshot {
        let generation: Int64 = try reader.withLock { db in
            let statement = try db.prepare("SELECT generation FROM collections WHERE name = ?")
            try statement.bind([.text(collection)])
            guard try statement.step() else {
                throw QuarryError(.notFound, "collection '\(collection)' does not exist")
            }
            return statement.int64(0)
        }
        if let cached = snapshots.withLock({ $0[collection] }), cached.generation == generation {
            return cached
        }
        let fresh = try loadSnapshot(of: collection)
        snapshots.withLock { cache in
            if let existing = cache[collection], existing.generation > fresh.generation { return }
            cache[collection] = fresh
        }
        return fresh
    }

    private func loadSnapshot(of collection: String) throws -> CollectionSnapshot {
        try reader.withLock { db in
            // One read transaction, so the generation and the vectors belong together.
            try db.execute("BEGIN")
            defer { try? db.execute("COMMIT") }
            let info = try Self.requireCollection(collection, in: db)
            let generationStatement = try db.prepare("SELECT generation FROM collections WHERE id = ?")
            try generationStatement.bind([.integer(info.id)])
            _ = try generationStatement.step()
            let generation = generationStatement.int64(0)

            let statement = try db.prepare(
                """
                SELECT c.id, c.vector FROM chunks c JOIN documents d ON d.id = c.document_id
                WHERE d.collection_id = ? ORDER BY c.id
                """
            )
            try statement.bind([.integer(info.id)])
            var rowIDs: [Int64] = []
            var values: [Float] = []
            values.reserveCapacity(info.chunkCount * info.model.dimension)
            while try statement.step() {
                let appended = statement.appendFloats(1, to: &values)
                guard appended == info.model.dimension else {
                    throw QuarryError(
                        .storage, "chunk \(statement.int64(0)) has a vector of \(appended) floats, expected \(info.model.dimension)"
                    )
                }
                rowIDs.append(statement.int64(0))
            }
            let matrix: VectorMatrix
            do {
                matrix = try VectorMatrix(dimension: info.model.dimension, values: values)
            } catch {
                throw QuarryError(.storage, "vectors of collection '\(collection)' are malformed", underlying: error)
            }
            return CollectionSnapshot(generation: generation, rowIDs: rowIDs, matrix: matrix)
        }
    }

    private func loadHits(_ rowIDs: [Int64]) throws -> [Int64: SearchHit] {
        guard !rowIDs.isEmpty else { return [:] }
        return try reader.withLock { db in
            let placeholders = Array(repeating: "?", count: rowIDs.count).joined(separator: ",")
            let statement = try db.prepare(
                """
                SELECT c.id, d.path, c.ordinal, c.text, c.line_start, c.line_end, c.page, c.byte_start, c.byte_end
                FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id IN (\(placeholders))
                """
            )
            try statement.bind(rowIDs.map { .integer($0) })
            var hits: [Int64: SearchHit] = [:]
            while try statement.step() {
                let path = statement.text(1)
                let ordinal = statement.int(2)
                hits[statement.int64(0)] = SearchHit(
                    chunkRowID: statement.int64(0), chunkID: "\(path)#\(ordinal)", document: path, ordinal: ordinal,
                    text: statement.text(3),
                    location: Self.location(statement, from: 4),
                    score: 0
                )
            }
            return hits
        }
    }

    // MARK: Helpers

    private static let collectionSelect = """
        SELECT c.id, c.name, c.model_name, c.dimension, c.model_fingerprint,
               (SELECT count(*) FROM documents d WHERE d.collection_id = c.id),
               (SELECT coalesce(sum(d.chunk_count), 0) FROM documents d WHERE d.collection_id = c.id),
               c.generation
        FROM collections c
        """

    private static func readCollection(_ statement: SQLiteStatement) -> CollectionInfo {
        CollectionInfo(
            id: statement.int64(0), name: statement.text(1),
            model: EmbeddingModelInfo(name: statement.text(2), dimension: statement.int(3), fingerprint: statement.text(4)),
            documentCount: statement.int(5), chunkCount: statement.int(6), generation: statement.int64(7)
        )
    }

    private static func collection(named name: String, in db: SQLiteConnection) throws -> CollectionInfo? {
        let statement = try db.prepare(collectionSelect + " WHERE c.name = ?")
        try statement.bind([.text(name)])
        return try statement.step() ? readCollection(statement) : nil
    }

    private static func requireCollection(_ name: String, in db: SQLiteConnection) throws -> CollectionInfo {
        guard let info = try collection(named: name, in: db) else {
            throw QuarryError(.notFound, "collection '\(name)' does not exist")
        }
        return info
    }

    private static func bumpGeneration(_ collectionID: Int64, in db: SQLiteConnection) throws {
        try db.prepare("UPDATE collections SET generation = generation + 1 WHERE id = ?").run([.integer(collectionID)])
    }
}

/// An immutable view of one collection's vectors, shared by concurrent searches.
final class CollectionSnapshot: Sendable {
    let generation: Int64
    let rowIDs: [Int64]
    let matrix: VectorMatrix

    init(generation: Int64, rowIDs: [Int64], matrix: VectorMatrix) {
        self.generation = generation
        self.rowIDs = rowIDs
        self.matrix = matrix
    }
}
