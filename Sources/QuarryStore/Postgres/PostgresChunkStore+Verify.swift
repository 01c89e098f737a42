import Foundation
import QuarryCore
import QuarryEmbedding

extension PostgresChunkStore {
    public func verify() async throws -> [String] {
        try await pool.withConnection { db in
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
}
