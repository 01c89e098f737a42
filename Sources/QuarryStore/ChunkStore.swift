import QuarryCore
import QuarryEmbedding

/// A collection as stored: its name and the embedding model its vectors come from.
public struct CollectionInfo: Sendable, Hashable {
    /// Store-internal id.
    public var id: Int64
    /// The collection's name.
    public var name: String
    /// The model every vector of the collection was made with.
    public var model: EmbeddingModelInfo
    /// Number of documents.
    public var documentCount: Int
    /// Number of chunks.
    public var chunkCount: Int

    /// Creates a collection record.
    public init(id: Int64, name: String, model: EmbeddingModelInfo, documentCount: Int, chunkCount: Int) {
        self.id = id
        self.name = name
        self.model = model
        self.documentCount = documentCount
        self.chunkCount = chunkCount
    }
}

/// What the store knows of an ingested file, to decide whether it changed.
public struct DocumentRecord: Sendable, Hashable {
    /// The document id: its path relative to the ingested folder.
    public var path: String
    /// SHA-256 of the file's bytes, lower-case hex.
    public var contentHash: String
    /// File size in bytes when ingested.
    public var size: Int64
    /// Modification time (seconds since 1970) when ingested.
    public var modificationTime: Double
    /// Number of chunks stored for it.
    public var chunkCount: Int

    /// Creates a document record.
    public init(path: String, contentHash: String, size: Int64, modificationTime: Double, chunkCount: Int) {
        self.path = path
        self.contentHash = contentHash
        self.size = size
        self.modificationTime = modificationTime
        self.chunkCount = chunkCount
    }
}

/// The source of truth for collections, documents, chunks and their vectors.
public protocol ChunkStore: Sendable {
    /// Every collection, by name.
    func collections() throws -> [CollectionInfo]

    /// The collection called `name`, or `nil` when there is none.
    func collection(named name: String) throws -> CollectionInfo?

    /// The collection called `name`, created for `model` if it does not exist.
    /// - Throws: `QuarryError.conflict` when it exists with another embedding model.
    func ensureCollection(named name: String, model: EmbeddingModelInfo) throws -> CollectionInfo

    /// The documents of a collection.
    func documents(in collection: String) throws -> [DocumentRecord]

    /// Replaces a document's chunks and vectors with new ones, atomically: a reader sees either
    /// the old chunks or the new ones, never a mix, and a crash leaves one or the other.
    /// - Throws: `QuarryError.invalidRequest` when chunks and vectors do not pair up or a vector
    ///   has the wrong dimension; `.notFound` for an unknown collection; `.storage` on I/O errors.
    func replaceDocument(
        in collection: String, document: DocumentRecord, chunks: [Chunk], vectors: [[Float]]
    ) throws

    /// Records a new size and modification time for a document whose content did not change.
    func touchDocument(in collection: String, path: String, size: Int64, modificationTime: Double) throws

    /// Removes a document with its chunks and vectors. Removing an absent document does nothing.
    func removeDocument(in collection: String, path: String) throws

    /// Nearest-neighbour search by cosine similarity: exact for small collections, through the
    /// collection's HNSW index for large ones.
    /// - Parameters:
    ///   - ef: HNSW candidate list size (more is slower and closer to exact); `nil` for the default.
    /// - Returns: up to `k` hits, best first.
    /// - Throws: `QuarryError.notFound` for an unknown collection, `.invalidRequest` when the
    ///   query's dimension is not the collection's.
    func search(in collection: String, query: [Float], k: Int, ef: Int?) throws -> [SearchHit]

    /// Brings the collection's derived index up to date with its chunks and persists it (after an
    /// ingest), so that the next process to open the store starts with a current index.
    func synchronizeIndex(of collection: String) throws
}

extension ChunkStore {
    /// Search with the default `ef`.
    public func search(in collection: String, query: [Float], k: Int) throws -> [SearchHit] {
        try search(in: collection, query: query, k: k, ef: nil)
    }
}
