import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryHNSW
import QuarryKernels

// Collections: listed and created on the reader and writer connections.
extension SQLiteChunkStore {
    public func collections() async throws -> [CollectionInfo] {
        try await read { db in
            let statement = try db.prepare(StoreSQL.collectionSelect + " ORDER BY c.name")
            try statement.bind([])
            var result: [CollectionInfo] = []
            while try statement.step() { result.append(Self.readCollection(statement)) }
            return result
        }
    }

    public func collection(named name: String) async throws -> CollectionInfo? {
        try await read { db in try self.countedCollection(named: name, in: db) }
    }

    public func ensureCollection(named name: String, model: EmbeddingModelInfo) async throws -> CollectionInfo {
        try CollectionName.validateStored(name)
        return try await write { db in
            try db.transaction {
                if let existing = try Self.collection(named: name, in: db) {
                    try existing.checkModel(model)
                    return existing
                }
                try db.prepare(
                    """
                    INSERT INTO quarry_collections (name, model_name, dimension, model_fingerprint, created_at)
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

    public func removeCollection(named name: String) async throws {
        try await write { db in
            try db.prepare("DELETE FROM quarry_collections WHERE name = ?").run([.text(name)])
        }
        snapshots.withLock { _ = $0.removeValue(forKey: name) }
        indexes.drop(name)
    }
}
