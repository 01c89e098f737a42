import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryHNSW
import Synchronization

/// The scale-out store: collections, documents, chunks and their vectors in PostgreSQL with
/// pgvector, reached through libpq.
///
/// Nothing lives in the process but a connection pool, a cache of per-collection statistics
/// keyed by the collection's generation and in-memory copies of collections' postings, each
/// used only at the generation it was read at, so any number of `quarry serve` nodes can share
/// one database. Dense search is exact (a scan) for collections below `exactSearchLimit` chunks and
/// walks a per-collection pgvector HNSW index (`vector_cosine_ops`) above it; lexical search is
/// BM25 computed in SQL from a GIN-indexed `tsvector` (Porter stems, as FTS5's), or, once
/// built, from the collection's postings held in memory for its current generation.
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
    let pool: PostgresConnectionPool
    let statistics = Mutex<[Int64: CollectionStatistics]>([:])
    /// Collections' postings in memory, for lexical searches without a filter.
    let lexicalIndexes = PostgresLexicalIndexes()
    /// Collections' document and chunk counts per generation (ids are never reused here).
    let countsCache = CollectionCountsCache()

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
    ) async throws {
        self.exactSearchLimit = exactSearchLimit
        self.indexParameters = indexParameters
        self.pool = PostgresConnectionPool(url: url, size: poolSize, statementTimeoutMS: statementTimeoutMS)
        do {
            try await PostgresSchema.migrate(pool)
        } catch {
            await pool.close()
            // At start the operator is the reader: the unreachable server's address and libpq's
            // reason, not the 503 a client gets later.
            if let error = error as? QuarryError, error.code == .unavailable, let cause = error.underlying { throw cause }
            throw error
        }
    }

    public func close() async {
        await lexicalIndexes.shutdown()
        await pool.close()
    }

    /// The id a `RETURNING id` statement gave back.
    /// - Throws: `QuarryError.storage` when the statement returned no id (it must, so the write
    ///   is abandoned rather than filed under id 0).
    static func returnedID(_ rows: PostgresRows, of what: String) throws -> Int64 {
        guard rows.count == 1, let id = rows.int64(0, 0) else {
            throw QuarryError(.storage, "PostgreSQL returned no id for the new \(what)")
        }
        return id
    }
}
