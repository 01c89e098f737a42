import QuarryCore
import QuarryEmbedding
import ServiceLifecycle

/// The read side of the store: collections, documents and search.
///
/// Every method is async and runs its blocking database work on the store's own threads
/// (`BlockingExecutor`), so callers on Swift concurrency's shared threads never block.
public protocol ChunkReader: Sendable {
    /// Every collection, by name.
    func collections() async throws -> [CollectionInfo]

    /// The collection called `name`, or `nil` when there is none.
    func collection(named name: String) async throws -> CollectionInfo?

    /// The ingested files of a collection, by path.
    /// - Throws: `QuarryError.notFound` for an unknown collection.
    func sources(in collection: String) async throws -> [SourceRecord]

    /// Every document of a collection, by path (folder sync compares them with the folder).
    /// - Throws: `QuarryError.notFound` for an unknown collection.
    func documents(in collection: String) async throws -> [DocumentRecord]

    /// One page of a collection's documents whose id starts with `prefix`, in path order,
    /// read by the database a page at a time.
    /// - Parameters:
    ///   - limit: the most documents returned.
    ///   - offset: how many matching documents to skip.
    ///   - contains: only ids containing this text, ASCII letters in either case (`""`: all).
    ///   - visibleTo: only documents a caller speaking for these principals may see (see
    ///     `SearchFilter.visibleTo`); `nil` for all.
    /// - Throws: `QuarryError.notFound` for an unknown collection.
    func documents(in collection: String, prefix: String, contains: String, limit: Int, offset: Int, visibleTo: [String]?) async throws -> DocumentPage

    /// One document and its chunks, or `nil` when the collection has no such document.
    func document(in collection: String, path: String) async throws -> (DocumentRecord, [StoredChunk])?

    /// Nearest-neighbour search by cosine similarity: exact for small collections, through the
    /// collection's HNSW index for large ones.
    /// - Parameters:
    ///   - ef: HNSW candidate list size (more is slower and closer to exact); `nil` for the default.
    ///   - filter: which chunks may be returned, applied inside the search.
    /// - Returns: up to `k` hits, best first.
    /// - Throws: `QuarryError.notFound` for an unknown collection, `.invalidRequest` when the
    ///   query's dimension is not the collection's.
    func search(in collection: String, query: [Float], k: Int, ef: Int?, filter: SearchFilter?) async throws -> [SearchHit]

    /// Lexical search: BM25 over the chunks' words (stemmed), any of the query's words matching.
    /// - Returns: up to `k` hits, best first; `score` is the BM25 score (higher is better).
    /// - Throws: `QuarryError.notFound` for an unknown collection.
    func lexicalSearch(in collection: String, query: String, k: Int, filter: SearchFilter?) async throws -> [SearchHit]

    /// The `k` nearest chunks as `search` finds them, without reading their text.
    func denseRanking(in collection: String, query: [Float], k: Int, ef: Int?, filter: SearchFilter?) async throws -> [RankedChunk]

    /// The `k` best chunks by BM25 as `lexicalSearch` finds them, without reading their text.
    func lexicalRanking(in collection: String, query: String, k: Int, filter: SearchFilter?) async throws -> [RankedChunk]

    /// The chunks of `ranked`, in its order and with its scores; chunks deleted since they were
    /// ranked are left out.
    func hits(for ranked: [RankedChunk]) async throws -> [SearchHit]

    /// Checks the store's invariants (every document's chunks present and numbered, indexes
    /// consistent with the chunks).
    /// - Returns: one line per problem; empty when the store is sound.
    func verify() async throws -> [String]

    /// Why the store takes no writes (opened read-only, or on a read-only file system), or `nil`
    /// when it does. Writes to a read-only store throw `QuarryError.readOnly`.
    var readOnlyReason: String? { get }
}

/// The write side of the store: collections and documents. Every write is one transaction.
public protocol ChunkWriter: Sendable {
    /// The collection called `name`, created for `model` if it does not exist.
    /// - Throws: `QuarryError.conflict` when it exists with another embedding model,
    ///   `.invalidRequest` for a malformed name.
    func ensureCollection(named name: String, model: EmbeddingModelInfo) async throws -> CollectionInfo

    /// Removes a collection with everything in it. Removing an absent collection does nothing.
    func removeCollection(named name: String) async throws

    /// Replaces each document's chunks and vectors with new ones, all in one transaction: a
    /// reader sees either the old chunks of a document or the new ones, never a mix, and a crash
    /// leaves one or the other. The documents' sources are created (as not yet complete) when new.
    /// - Throws: `QuarryError.invalidRequest` when chunks and vectors do not pair up or a vector
    ///   has the wrong dimension; `.notFound` for an unknown collection; `.storage` on I/O errors.
    func replaceDocuments(in collection: String, _ writes: [DocumentWrite]) async throws

    /// Points every chunk of each record at its record's new line and bytes, in one transaction;
    /// text and vectors stay as they are.
    func updateRecordLocations(in collection: String, _ locations: [RecordLocation]) async throws

    /// Records that a file was completely ingested in the state `source` describes, removing, in
    /// the same transaction, its documents that are not in `keeping` (all are kept when `nil`).
    func completeSource(in collection: String, _ source: SourceRecord, keeping: Set<String>?) async throws

    /// Removes a file's record with its documents, chunks and vectors. Removing an absent file
    /// does nothing.
    func removeSource(in collection: String, path: String) async throws

    /// Removes a document with its chunks and vectors, and marks its file to be read again by
    /// the next ingest. Removing an absent document does nothing.
    /// - Returns: whether there was such a document.
    @discardableResult
    func removeDocument(in collection: String, path: String) async throws -> Bool

    /// Replaces a document's access list (`nil`: visible to every key of its tenant) without
    /// touching its chunks or vectors; searches see the change at once.
    /// - Returns: whether there was such a document.
    @discardableResult
    func setAccess(in collection: String, path: String, access: [String]?) async throws -> Bool

    /// Brings the collection's derived index up to date with its chunks and persists it (after an
    /// ingest), so that the next process to open the store starts with a current index.
    func synchronizeIndex(of collection: String) async throws
}

/// The source of truth for collections, documents, chunks and their vectors: a reader and a
/// writer, and a `Service` whose `run()` keeps it open until graceful shutdown, then closes it.
public protocol ChunkStore: ChunkReader, ChunkWriter, KeyStore, UsageStore, AuditStore, SessionStore, DailyUsageStore, Service {
    /// Finishes the operations under way, then releases the store's threads and connections.
    /// Operations started afterwards throw `QuarryError.unavailable`. Closing twice does nothing.
    func close() async
}

extension ChunkStore {
    /// Waits for graceful shutdown, then closes the store.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}

extension ChunkWriter {
    /// Replaces one document's chunks and vectors atomically (see `replaceDocuments`).
    public func replaceDocument(in collection: String, document: DocumentRecord, chunks: [Chunk], vectors: [[Float]]) async throws {
        try await replaceDocuments(in: collection, [DocumentWrite(document: document, chunks: chunks, vectors: vectors)])
    }
}

extension ChunkReader {
    /// A store takes writes unless it says otherwise.
    public var readOnlyReason: String? { nil }

    /// Refuses a write to a store that takes none.
    /// - Throws: `QuarryError.readOnly`, saying why, when `readOnlyReason` is set.
    public func requireWritable() throws {
        guard let readOnlyReason else { return }
        throw QuarryError(.readOnly, "the store is read-only (\(readOnlyReason)): it answers queries and verify, and takes no writes")
    }

    /// One page of a collection's documents with ids starting with `prefix`.
    public func documents(in collection: String, prefix: String, limit: Int, offset: Int, visibleTo: [String]?) async throws -> DocumentPage {
        try await documents(in: collection, prefix: prefix, contains: "", limit: limit, offset: offset, visibleTo: visibleTo)
    }

    /// One page of a collection's documents, whoever may see them.
    public func documents(in collection: String, prefix: String, limit: Int, offset: Int) async throws -> DocumentPage {
        try await documents(in: collection, prefix: prefix, limit: limit, offset: offset, visibleTo: nil)
    }

    /// Search with the default `ef`.
    public func search(in collection: String, query: [Float], k: Int) async throws -> [SearchHit] {
        try await search(in: collection, query: query, k: k, ef: nil, filter: nil)
    }

    /// Unfiltered search.
    public func search(in collection: String, query: [Float], k: Int, ef: Int?) async throws -> [SearchHit] {
        try await search(in: collection, query: query, k: k, ef: ef, filter: nil)
    }

    /// Ranking by reading the hits: for stores that do not rank apart from reading.
    public func denseRanking(in collection: String, query: [Float], k: Int, ef: Int?, filter: SearchFilter?) async throws -> [RankedChunk] {
        try await search(in: collection, query: query, k: k, ef: ef, filter: filter).map { RankedChunk(rowID: $0.chunkRowID, score: $0.score, hit: $0) }
    }

    /// Ranking by reading the hits: for stores that do not rank apart from reading.
    public func lexicalRanking(in collection: String, query: String, k: Int, filter: SearchFilter?) async throws -> [RankedChunk] {
        try await lexicalSearch(in: collection, query: query, k: k, filter: filter).map { RankedChunk(rowID: $0.chunkRowID, score: $0.score, hit: $0) }
    }

    /// The hits the rankings carried.
    public func hits(for ranked: [RankedChunk]) async throws -> [SearchHit] {
        ranked.compactMap { chunk in chunk.hit.map { var hit = $0; hit.score = chunk.score; return hit } }
    }

    /// Unfiltered lexical search.
    public func lexicalSearch(in collection: String, query: String, k: Int) async throws -> [SearchHit] {
        try await lexicalSearch(in: collection, query: query, k: k, filter: nil)
    }
}
