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
    private let reader: Mutex<SQLiteConnection>
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
        let readConnection = try SQLiteConnection(path: path)
        try readConnection.execute("PRAGMA foreign_keys = ON;")
        self.writer = Mutex(writeConnection)
        self.reader = Mutex(readConnection)
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
                    try Self.checkModel(existing, model)
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

    // MARK: Documents

    public func documents(in collection: String) throws -> [DocumentRecord] {
        try reader.withLock { db in
            let collectionID = try Self.requireCollection(collection, in: db).id
            let statement = try db.prepare(
                """
                SELECT path, content_hash, size, mtime, chunk_count FROM documents
                WHERE collection_id = ? ORDER BY path
                """
            )
            try statement.bind([.integer(collectionID)])
            var result: [DocumentRecord] = []
            while try statement.step() {
                result.append(
                    DocumentRecord(
                        path: statement.text(0), contentHash: statement.text(1), size: statement.int64(2),
                        modificationTime: statement.double(3), chunkCount: statement.int(4)
                    )
                )
            }
            return result
        }
    }

    public func replaceDocument(
        in collection: String, document: DocumentRecord, chunks: [Chunk], vectors: [[Float]]
    ) throws {
        guard chunks.count == vectors.count else {
            throw QuarryError(
                .invalidRequest, "\(chunks.count) chunks but \(vectors.count) vectors for \(document.path)"
            )
        }
        try writer.withLock { db in
            try db.transaction {
                let info = try Self.requireCollection(collection, in: db)
                if let bad = vectors.first(where: { $0.count != info.model.dimension }) {
                    throw QuarryError(
                        .invalidRequest,
                        "vector of dimension \(bad.count) does not fit collection '\(collection)' (\(info.model.dimension))"
                    )
                }
                try db.prepare("DELETE FROM documents WHERE collection_id = ? AND path = ?")
                    .run([.integer(info.id), .text(document.path)])
                try db.prepare(
                    """
                    INSERT INTO documents (collection_id, path, content_hash, size, mtime, chunk_count, indexed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
                ).run([
                    .integer(info.id), .text(document.path), .text(document.contentHash), .integer(document.size),
                    .real(document.modificationTime), .integer(Int64(chunks.count)),
                    .real(Date().timeIntervalSince1970),
                ])
                let documentID = db.lastInsertRowID
                let insert = try db.prepare(
                    """
                    INSERT INTO chunks (document_id, ordinal, text, heading, line_start, line_end, page, vector)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """
                )
                for (chunk, vector) in zip(chunks, vectors) {
                    try insert.run([
                        .integer(documentID), .integer(Int64(chunk.ordinal)), .text(chunk.text),
                        .text(chunk.headingPath.joined(separator: " > ")),
                        .integer(Int64(chunk.location.lineStart)), .integer(Int64(chunk.location.lineEnd)),
                        chunk.location.page.map { .integer(Int64($0)) } ?? .null, .blob(vector),
                    ])
                }
                try Self.bumpGeneration(info.id, in: db)
            }
        }
    }

    public func touchDocument(in collection: String, path: String, size: Int64, modificationTime: Double) throws {
        try writer.withLock { db in
            let info = try Self.requireCollection(collection, in: db)
            try db.prepare("UPDATE documents SET size = ?, mtime = ? WHERE collection_id = ? AND path = ?")
                .run([.integer(size), .real(modificationTime), .integer(info.id), .text(path)])
        }
    }

    public func removeDocument(in collection: String, path: String) throws {
        try writer.withLock { db in
            try db.transaction {
                let info = try Self.requireCollection(collection, in: db)
                try db.prepare("DELETE FROM documents WHERE collection_id = ? AND path = ?")
                    .run([.integer(info.id), .text(path)])
                if db.changes > 0 { try Self.bumpGeneration(info.id, in: db) }
            }
        }
    }

    // MARK: Search

    public func search(in collection: String, query: [Float], k: Int, ef: Int?) throws -> [SearchHit] {
        guard k > 0 else { return [] }
        let status = try collectionStatus(collection)
        guard query.count == status.dimension else {
            throw QuarryError(
                .invalidRequest,
                "query vector has dimension \(query.count); collection '\(collection)' has \(status.dimension)"
            )
        }
        guard status.chunkCount >= exactSearchLimit else {
            return try exactSearch(in: collection, query: query, k: k)
        }
        let index = try indexes.index(
            for: collection, dimension: status.dimension, generation: status.generation, source: indexSource(status.id)
        )
        let results: [HNSWResult]
        do {
            results = try index.search(query, k: k, ef: ef)
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
    private func exactSearch(in collection: String, query: [Float], k: Int) throws -> [SearchHit] {
        let snapshot = try currentSnapshot(of: collection)
        let best: [(index: Int, score: Float)]
        do {
            best = try snapshot.matrix.nearest(to: query, k: k)
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
                SELECT c.id, d.path, c.ordinal, c.text, c.line_start, c.line_end, c.page
                FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id IN (\(placeholders))
                """
            )
            try statement.bind(rowIDs.map { .integer($0) })
            var hits: [Int64: SearchHit] = [:]
            while try statement.step() {
                let path = statement.text(1)
                let ordinal = statement.int(2)
                hits[statement.int64(0)] = SearchHit(
                    chunkRowID: statement.int64(0), chunkID: "\(path)#\(ordinal)", document: path,
                    text: statement.text(3),
                    location: ChunkLocation(
                        lineStart: statement.int(4), lineEnd: statement.int(5), page: statement.optionalInt(6)
                    ),
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
               (SELECT coalesce(sum(d.chunk_count), 0) FROM documents d WHERE d.collection_id = c.id)
        FROM collections c
        """

    private static func readCollection(_ statement: SQLiteStatement) -> CollectionInfo {
        CollectionInfo(
            id: statement.int64(0), name: statement.text(1),
            model: EmbeddingModelInfo(name: statement.text(2), dimension: statement.int(3), fingerprint: statement.text(4)),
            documentCount: statement.int(5), chunkCount: statement.int(6)
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

    private static func checkModel(_ existing: CollectionInfo, _ model: EmbeddingModelInfo) throws {
        guard existing.model.name == model.name, existing.model.dimension == model.dimension,
            existing.model.fingerprint == model.fingerprint
        else {
            throw QuarryError(
                .conflict,
                """
                collection '\(existing.name)' was built with \(existing.model.name) \
                (dimension \(existing.model.dimension), weights \(existing.model.fingerprint.prefix(12))) \
                but the configured model is \(model.name) (dimension \(model.dimension), weights \
                \(model.fingerprint.prefix(12))); ingest into another collection with --collection NAME, \
                or delete the collection's store to re-index it with the new model
                """
            )
        }
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
