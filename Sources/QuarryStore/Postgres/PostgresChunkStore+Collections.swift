import Foundation
import QuarryCore
import QuarryEmbedding

extension PostgresChunkStore {

    static func readCollections(_ rows: PostgresRows) -> [CollectionInfo] {
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

    public func collections() async throws -> [CollectionInfo] {
        try await pool.withConnection { db in Self.readCollections(try db.execute(StoreSQL.collectionSelect + " ORDER BY c.name")) }
    }

    /// The collection named `name`, its counts remembered per generation (`countsCache`): every
    /// query asks for its collection, and counting sums every document row of it.
    public func collection(named name: String) async throws -> CollectionInfo? {
        try await pool.withConnection { [self] db in
            let head = try db.execute(
                "SELECT id, name, model_name, dimension, model_fingerprint, generation FROM quarry_collections WHERE name = $1",
                [.text(name)]
            )
            guard head.count == 1, let id = head.int64(0, 0), let generation = head.int64(0, 5) else { return nil }
            let key = CollectionCountsCache.Key(collectionID: id, createdAt: 0, generation: generation)
            if let counts = countsCache.counts(for: key) {
                return CollectionInfo(
                    id: id, name: head.string(0, 1) ?? "",
                    model: EmbeddingModelInfo(
                        name: head.string(0, 2) ?? "", dimension: Int(head.int64(0, 3) ?? 0), fingerprint: head.string(0, 4) ?? ""
                    ),
                    documentCount: counts.documents, chunkCount: counts.chunks, generation: generation
                )
            }
            // One statement, so that the counts and the generation come from one snapshot.
            guard let info = Self.readCollections(try db.execute(StoreSQL.collectionSelect + " WHERE c.id = $1", [.integer(id)])).first
            else { return nil }
            countsCache.remember(
                CollectionCountsCache.Counts(documents: info.documentCount, chunks: info.chunkCount),
                for: CollectionCountsCache.Key(collectionID: id, createdAt: 0, generation: info.generation)
            )
            return info
        }
    }

    static func collection(named name: String, in db: PostgresConnection) throws -> CollectionInfo? {
        readCollections(try db.execute(StoreSQL.collectionSelect + " WHERE c.name = $1", [.text(name)])).first
    }

    /// The collection's row, locked until the transaction ends: writes to one collection take
    /// turns, and its generation moves on once per write.
    static func lockCollection(_ name: String, in db: PostgresConnection) throws -> (id: Int64, dimension: Int) {
        let rows = try db.execute("SELECT id, dimension FROM quarry_collections WHERE name = $1 FOR UPDATE", [.text(name)])
        guard rows.count == 1, let id = rows.int64(0, 0), let dimension = rows.int64(0, 1) else {
            throw QuarryError(.notFound, "collection '\(name)' does not exist")
        }
        return (id, Int(dimension))
    }

    static func collectionID(_ name: String, in db: PostgresConnection) throws -> Int64 {
        guard let id = try db.execute("SELECT id FROM quarry_collections WHERE name = $1", [.text(name)]).rows.first?[0].flatMap({ Int64($0) })
        else {
            throw QuarryError(.notFound, "collection '\(name)' does not exist")
        }
        return id
    }

    public func ensureCollection(named name: String, model: EmbeddingModelInfo) async throws -> CollectionInfo {
        try CollectionName.validateStored(name)
        return try await pool.transaction { db in
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
            try existing.checkModel(model)
            return existing
        }
    }

    public func removeCollection(named name: String) async throws {
        try await pool.transaction { db in
            guard let id = try db.execute("SELECT id FROM quarry_collections WHERE name = $1 FOR UPDATE", [.text(name)]).int64(0, 0)
            else { return }
            try db.execute("DROP INDEX IF EXISTS \(Self.indexName(id))")
            try db.execute("DELETE FROM quarry_chunks WHERE collection_id = $1", [.integer(id)])
            try db.execute("DELETE FROM quarry_collections WHERE id = $1", [.integer(id)])
        }
    }
}
