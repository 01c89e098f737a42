import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryHNSW
import QuarryKernels

extension SQLiteChunkStore {
    /// Checks the store's invariants: SQLite's own integrity and foreign keys, no chunk without
    /// its document, no document without its file, every document's chunk count and ordinals
    /// matching its chunks.
    /// - Returns: one line per problem; empty when the store is sound.
    public func verify() async throws -> [String] {
        try await executor.run { [self] in try verifyBlocking() }
    }

    func verifyBlocking() throws -> [String] {
        try reader.withLock { db in
            return try db.readTransaction {
                var problems: [String] = []
                let integrity = try db.prepare("PRAGMA integrity_check")
                try integrity.bind([])
                while try integrity.step() {
                    let line = integrity.text(0)
                    if line != "ok" { problems.append("integrity: \(line)") }
                }
                let checks: [(String, String)] = [
                    ("SELECT count(*) FROM quarry_chunks c LEFT JOIN quarry_documents d ON d.id = c.document_id WHERE d.id IS NULL", "chunks without a document"),
                    ("SELECT count(*) FROM quarry_documents d LEFT JOIN quarry_sources s ON s.id = d.source_id WHERE s.id IS NULL", "documents without a source"),
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
                    ("SELECT count(*) FROM pragma_foreign_key_check", "foreign-key violations"),
                ]
                for (sql, what) in checks {
                    let statement = try db.prepare(sql)
                    try statement.bind([])
                    if try statement.step(), statement.int(0) > 0 { problems.append("\(statement.int(0)) \(what)") }
                }
                // The lexical index must hold exactly the chunks' text (FTS5 compares it with them).
                // FTS5 runs that check as a write, which a read-only store cannot start: there it
                // is left out (`quarry verify` says so).
                if readOnlyReason == nil {
                    do {
                        try writer.withLock { try $0.execute("INSERT INTO quarry_chunks_fts (quarry_chunks_fts, rank) VALUES ('integrity-check', 1)") }
                    } catch {
                        problems.append("the lexical index does not match the chunks: \(error)")
                    }
                }
                // An index file on disk must hold exactly the collection's chunks (it is caught up
                // when used, but a completed ingest leaves it exact).
                let collections = try db.prepare("SELECT id, name FROM quarry_collections ORDER BY name")
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
                    let rows = try db.prepare("SELECT c.id FROM quarry_chunks c JOIN quarry_documents d ON d.id = c.document_id WHERE d.collection_id = ?")
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
    }
}
