import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryHNSW
import QuarryKernels
import Synchronization

/// The embedded store: one SQLite database (WAL mode) holding collections, documents, chunks and
/// their vectors.
///
/// Writes go through one connection, reads through a pool of others, so searches never wait
/// behind an ingest transaction. Every operation runs on the store's own threads
/// (`BlockingExecutor`): one per reader connection and two for writers. Searches score against an immutable in-memory snapshot of a collection's
/// vectors, rebuilt when the collection's generation (bumped by every write, from any process)
/// moves on.
public final class SQLiteChunkStore: ChunkStore {
    /// The database file name inside the store directory.
    public static let databaseFileName = "quarry.sqlite"

    /// The store directory.
    public let directory: URL
    /// Collections with fewer chunks than this are searched exactly; larger ones through HNSW.
    public let exactSearchLimit: Int
    let indexes: CollectionIndexes
    let writer: Mutex<SQLiteConnection>
    let reader: ReadConnectionPool
    let snapshots = Mutex<[String: CollectionSnapshot]>([:])
    let allowedCache = AllowedChunksCache()
    let countsCache = CollectionCountsCache()
    let lexicalIndexes = LexicalIndexes()
    let executor: BlockingExecutor

    /// Why the store takes no writes (`--read-only`, a read-only file system, files this user
    /// may not write), or `nil` when it does.
    public let readOnlyReason: String?

    /// Opens the store in `directory`, creating the directory and the schema when missing.
    ///
    /// A store that cannot be written (read-only file system, directory or database file not
    /// writable) is opened read-only, as with `readOnly`: it answers reads and `verify`, every
    /// write throws `QuarryError.readOnly`, indexes built for searches stay in memory, and
    /// nothing in the directory is changed or removed.
    /// - Parameters:
    ///   - exactSearchLimit: collections below this many chunks are searched exactly.
    ///   - indexParameters: HNSW construction parameters for larger collections.
    ///   - readOnly: never write, even where the files are writable.
    /// - Throws: `QuarryError.storage` when the directory or database cannot be opened or
    ///   migrated (a read-only store must exist and have the current schema).
    public init(
        directory: URL, exactSearchLimit: Int = 10_000,
        indexParameters: HNSWParameters = HNSWParameters(m: 16, efConstruction: 200, ef: 64), readOnly: Bool = false
    ) throws {
        self.directory = directory
        self.exactSearchLimit = exactSearchLimit
        let path = directory.appendingPathComponent(Self.databaseFileName).path
        let readOnlyReason = readOnly ? "opened with --read-only or read_only" : SQLiteReadOnly.reason(directory: directory, database: path)
        self.readOnlyReason = readOnlyReason
        self.indexes = CollectionIndexes(
            directory: directory.appendingPathComponent("index"), parameters: indexParameters, persistent: readOnlyReason == nil
        )
        let readMode: SQLiteConnection.OpenMode
        if readOnlyReason != nil {
            let (connection, mode) = try SQLiteReadOnly.open(path)
            try SQLiteSchema.requireCurrent(connection)
            // Writes are refused before they reach it; `verify` reads through it.
            self.writer = Mutex(connection)
            readMode = mode
        } else {
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                throw QuarryError(.storage, "cannot create the store directory \(directory.path)", underlying: error)
            }
            let writeConnection = try SQLiteConnection(path: path)
            try writeConnection.execute(
                """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = FULL;
                PRAGMA foreign_keys = ON;
                """
            )
            try SQLiteSchema.migrate(writeConnection)
            self.writer = Mutex(writeConnection)
            // Index saves cut short by a crash leave temporary files; they are of no use to anyone.
            indexes.removeStaleTemporaryFiles()
            readMode = .readWrite
        }
        // As many readers as cores can use them: searches do not queue behind one another.
        let readers = max(2, ProcessInfo.processInfo.activeProcessorCount)
        self.reader = try ReadConnectionPool(path: path, count: readers, mode: readMode)
        // A thread for each reader and two for writers (an ingest and a delete may queue for the
        // writer without taking a reader's thread).
        self.executor = BlockingExecutor(threads: readers + 2)
    }

    public func close() async {
        indexes.flush()
        await executor.shutdown()
    }

    /// Runs `body` on the store's threads with a reader connection.
    func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await executor.run { [reader] in try reader.withLock(body) }
    }

    /// Runs `body` on the store's threads with the writer connection.
    /// - Throws: `QuarryError.readOnly` on a read-only store, before anything runs.
    func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try requireWritable()
        return try await executor.run { [self] in try self.writer.withLock { db in try body(db) } }
    }

    static func readCollection(_ statement: SQLiteStatement) -> CollectionInfo {
        CollectionInfo(
            id: statement.int64(0), name: statement.text(1),
            model: EmbeddingModelInfo(name: statement.text(2), dimension: statement.int(3), fingerprint: statement.text(4)),
            documentCount: statement.int(5), chunkCount: statement.int(6), generation: statement.int64(7)
        )
    }

    static func collection(named name: String, in db: SQLiteConnection) throws -> CollectionInfo? {
        let statement = try db.prepare(StoreSQL.collectionSelect + " WHERE c.name = ?")
        try statement.bind([.text(name)])
        return try statement.step() ? readCollection(statement) : nil
    }

    /// The collection named `name`, its counts remembered per generation (`countsCache`):
    /// what searches read, where `collection(named:in:)` would count every document each time.
    func countedCollection(named name: String, in db: SQLiteConnection) throws -> CollectionInfo? {
        let head = try db.prepare(
            "SELECT id, name, model_name, dimension, model_fingerprint, generation, created_at FROM quarry_collections WHERE name = ?"
        )
        try head.bind([.text(name)])
        guard try head.step() else { return nil }
        var info = CollectionInfo(
            id: head.int64(0), name: head.text(1),
            model: EmbeddingModelInfo(name: head.text(2), dimension: head.int(3), fingerprint: head.text(4)),
            documentCount: 0, chunkCount: 0, generation: head.int64(5)
        )
        let createdAt = head.double(6)
        var key = CollectionCountsCache.Key(collectionID: info.id, createdAt: createdAt, generation: info.generation)
        if let counts = countsCache.counts(for: key) {
            info.documentCount = counts.documents
            info.chunkCount = counts.chunks
            return info
        }
        // One statement, so that the counts and the generation come from one snapshot.
        let counted = try db.prepare(
            """
            SELECT c.generation,
                   (SELECT count(*) FROM quarry_documents d WHERE d.collection_id = c.id),
                   (SELECT coalesce(sum(d.chunk_count), 0) FROM quarry_documents d WHERE d.collection_id = c.id)
            FROM quarry_collections c WHERE c.id = ? AND c.created_at = ?
            """
        )
        try counted.bind([.integer(info.id), .real(createdAt)])
        guard try counted.step() else { return nil }
        key.generation = counted.int64(0)
        let counts = CollectionCountsCache.Counts(documents: counted.int(1), chunks: counted.int(2))
        countsCache.remember(counts, for: key)
        info.generation = key.generation
        info.documentCount = counts.documents
        info.chunkCount = counts.chunks
        return info
    }

    static func requireCollection(_ name: String, in db: SQLiteConnection) throws -> CollectionInfo {
        guard let info = try collection(named: name, in: db) else {
            throw QuarryError(.notFound, "collection '\(name)' does not exist")
        }
        return info
    }

    static func bumpGeneration(_ collectionID: Int64, in db: SQLiteConnection) throws {
        try db.prepare("UPDATE quarry_collections SET generation = generation + 1 WHERE id = ?").run([.integer(collectionID)])
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
