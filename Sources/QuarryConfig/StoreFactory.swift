import Foundation
import QuarryCore
import QuarryHNSW
import QuarryStore

extension QuarryConfiguration {
    /// Opens the configured store: SQLite in `store`, or the PostgreSQL database at
    /// `postgres.url` (`backend = pgvector`), with the configured exact-search limit, read-only when
    /// `read_only` says so (or its file system does), and, for
    /// pgvector, pool size, statement timeout and HNSW build parameters.
    /// - Throws: `QuarryError.invalidRequest` when pgvector has no URL; what opening the store
    ///   throws (`.storage` for an unreachable server or an unreadable database).
    public func openStore() async throws -> any ChunkStore {
        switch backend {
        case "pgvector":
            guard let url = postgres.url else {
                throw QuarryError(.invalidRequest, "backend pgvector needs postgres.url (or $QUARRY_PG_URL, or --pg-url)")
            }
            let m = postgres.hnswM
            return try await PostgresChunkStore(
                url: url, exactSearchLimit: search.exactBelow,
                indexParameters: HNSWParameters(m: m, efConstruction: max(2 * m, postgres.hnswEfConstruction), ef: 64),
                poolSize: postgres.poolSize, statementTimeoutMS: postgres.statementTimeoutMS
            )
        default:
            return try SQLiteChunkStore(
                directory: URL(fileURLWithPath: store, isDirectory: true), exactSearchLimit: search.exactBelow, readOnly: readOnly
            )
        }
    }

    /// Where the store is, for messages: its directory, or the database URL without password.
    public var storeDescription: String {
        backend == "pgvector" ? (postgres.url.map(PostgresConnection.redacted) ?? "") : store
    }
}
