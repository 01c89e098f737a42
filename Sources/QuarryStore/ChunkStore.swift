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
    /// Moves on with every change to the collection's chunks, so that caches can tell.
    public var generation: Int64

    /// Creates a collection record.
    public init(
        id: Int64, name: String, model: EmbeddingModelInfo, documentCount: Int, chunkCount: Int, generation: Int64 = 0
    ) {
        self.id = id
        self.name = name
        self.model = model
        self.documentCount = documentCount
        self.chunkCount = chunkCount
        self.generation = generation
    }
}

/// What the store knows of an ingested file (a source), to decide whether it changed.
///
/// Most files hold one document; a BEIR JSONL file holds one per line. A source row describes the
/// file as of its last complete ingest; until an ingest of the file completes, its documents may
/// be a mix of old and new versions, each document whole.
public struct SourceRecord: Sendable, Hashable {
    /// The file's path relative to the ingested folder.
    public var path: String
    /// SHA-256 of the file's bytes, lower-case hex; empty when the file must be read again (one
    /// of its documents was deleted through the API).
    public var contentHash: String
    /// File size in bytes.
    public var size: Int64
    /// Modification time (seconds since 1970).
    public var modificationTime: Double

    /// Whether the file was completely ingested in the state that `size`, `modificationTime` and
    /// `contentHash` describe.
    public var isComplete: Bool { !contentHash.isEmpty }

    /// Creates a source record.
    public init(path: String, contentHash: String, size: Int64, modificationTime: Double) {
        self.path = path
        self.contentHash = contentHash
        self.size = size
        self.modificationTime = modificationTime
    }
}

/// What the store knows of a document.
public struct DocumentRecord: Sendable, Hashable {
    /// The document id: the path of its file relative to the ingested folder, followed by
    /// `#<record id>` for a document that is one record of a multi-document file.
    public var path: String
    /// The file the document comes from (equal to `path` for single-document files).
    public var source: String
    /// SHA-256 of the document's bytes (the file's, or its record's), lower-case hex.
    public var contentHash: String
    /// Size of the document's bytes.
    public var size: Int64
    /// Modification time of its file (seconds since 1970) when ingested.
    public var modificationTime: Double
    /// Number of chunks stored for it.
    public var chunkCount: Int
    /// Its metadata: a JSONL record's `metadata` object, a Markdown file's front matter, an HTML
    /// page's `<meta name content>` tags (scalar values as text).
    public var metadata: [String: String]

    /// Creates a document record.
    public init(
        path: String, source: String? = nil, contentHash: String, size: Int64, modificationTime: Double, chunkCount: Int,
        metadata: [String: String] = [:]
    ) {
        self.metadata = metadata
        self.path = path
        self.source = source ?? path
        self.contentHash = contentHash
        self.size = size
        self.modificationTime = modificationTime
        self.chunkCount = chunkCount
    }
}

/// A document's new chunks and their vectors, to be written in place of its old ones.
public struct DocumentWrite: Sendable {
    /// The document; `chunkCount` is taken from `chunks`.
    public var document: DocumentRecord
    /// Its chunks, in order.
    public var chunks: [Chunk]
    /// One vector per chunk.
    public var vectors: [[Float]]

    /// Creates a write.
    public init(document: DocumentRecord, chunks: [Chunk], vectors: [[Float]]) {
        self.document = document
        self.chunks = chunks
        self.vectors = vectors
    }
}

extension DocumentWrite {
    /// - Throws: `QuarryError.invalidRequest` when chunks and vectors do not pair up.
    func validatePairing() throws {
        guard chunks.count == vectors.count else {
            throw QuarryError(.invalidRequest, "\(chunks.count) chunks but \(vectors.count) vectors for \(document.path)")
        }
    }
}

/// Where a record of a multi-document file (a JSONL line) now sits in its file, for a record whose
/// content is unchanged but whose line moved.
public struct RecordLocation: Sendable, Hashable {
    /// The record's document id.
    public var path: String
    /// Its line, 1-based.
    public var line: Int
    /// The byte range of its line.
    public var bytes: Range<Int>

    /// Creates a record location.
    public init(path: String, line: Int, bytes: Range<Int>) {
        self.path = path
        self.line = line
        self.bytes = bytes
    }
}

/// Which chunks a search may return; applied inside the search (an HNSW walk passes through
/// other chunks but collects only these; exact and lexical search score only these), so a
/// filtered search still returns `k` hits when `k` chunks match.
public struct SearchFilter: Sendable, Hashable {
    /// Only these documents (ids as stored: `guide/intro.md`, `corpus.jsonl#4983`).
    public var documents: [String]?
    /// Only documents whose id starts with this (a folder: `guide/`).
    public var pathPrefix: String?
    /// Only documents from files of these types (extensions, without the dot: `md`, `pdf`).
    public var fileTypes: [String]?
    /// Only documents whose metadata has every one of these keys with exactly this value.
    public var metadata: [String: String]?

    /// Creates a filter; no condition keeps every chunk.
    public init(documents: [String]? = nil, pathPrefix: String? = nil, fileTypes: [String]? = nil, metadata: [String: String]? = nil) {
        self.documents = documents
        self.pathPrefix = pathPrefix
        self.fileTypes = fileTypes
        self.metadata = metadata
    }

    /// Whether the filter keeps every chunk.
    public var isEmpty: Bool { documents == nil && (pathPrefix ?? "").isEmpty && fileTypes == nil && (metadata ?? [:]).isEmpty }

    /// Whether the filter keeps the document `path` of the file `source` with `metadata`.
    public func accepts(path: String, source: String, metadata documentMetadata: [String: String] = [:]) -> Bool {
        if let metadata, metadata.contains(where: { documentMetadata[$0.key] != $0.value }) { return false }
        if let documents, !documents.contains(path) { return false }
        if let pathPrefix, !pathPrefix.isEmpty, !path.hasPrefix(pathPrefix) { return false }
        if let fileTypes {
            let name = source.split(separator: "/").last.map(String.init) ?? source
            guard let dot = name.lastIndex(of: "."), fileTypes.contains(name[name.index(after: dot)...].lowercased()) else {
                return false
            }
        }
        return true
    }
}

/// A stored chunk, as listed for one document.
public struct StoredChunk: Sendable, Hashable {
    /// Stable chunk id: `<document>#<ordinal>`.
    public var chunkID: String
    /// Position in the document, from 0.
    public var ordinal: Int
    /// The chunk's text.
    public var text: String
    /// Headings above the chunk, outermost first.
    public var headingPath: [String]
    /// Where the chunk sits in its file.
    public var location: ChunkLocation

    /// Creates a stored chunk.
    public init(chunkID: String, ordinal: Int, text: String, headingPath: [String], location: ChunkLocation) {
        self.chunkID = chunkID
        self.ordinal = ordinal
        self.text = text
        self.headingPath = headingPath
        self.location = location
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

    /// Removes a collection with everything in it. Removing an absent collection does nothing.
    func removeCollection(named name: String) throws

    /// The ingested files of a collection, by path.
    func sources(in collection: String) throws -> [SourceRecord]

    /// The documents of a collection, by path.
    func documents(in collection: String) throws -> [DocumentRecord]

    /// One document and its chunks, or `nil` when the collection has no such document.
    func document(in collection: String, path: String) throws -> (DocumentRecord, [StoredChunk])?

    /// Replaces each document's chunks and vectors with new ones, all in one transaction: a
    /// reader sees either the old chunks of a document or the new ones, never a mix, and a crash
    /// leaves one or the other. The documents' sources are created (as not yet complete) when new.
    /// - Throws: `QuarryError.invalidRequest` when chunks and vectors do not pair up or a vector
    ///   has the wrong dimension; `.notFound` for an unknown collection; `.storage` on I/O errors.
    func replaceDocuments(in collection: String, _ writes: [DocumentWrite]) throws

    /// Points every chunk of each record at its record's new line and bytes, in one transaction;
    /// text and vectors stay as they are.
    func updateRecordLocations(in collection: String, _ locations: [RecordLocation]) throws

    /// Records that a file was completely ingested in the state `source` describes, removing, in
    /// the same transaction, its documents that are not in `keeping` (all are kept when `nil`).
    func completeSource(in collection: String, _ source: SourceRecord, keeping: Set<String>?) throws

    /// Removes a file's record with its documents, chunks and vectors. Removing an absent file
    /// does nothing.
    func removeSource(in collection: String, path: String) throws

    /// Removes a document with its chunks and vectors, and marks its file to be read again by
    /// the next ingest. Removing an absent document does nothing.
    /// - Returns: whether there was such a document.
    @discardableResult
    func removeDocument(in collection: String, path: String) throws -> Bool

    /// Nearest-neighbour search by cosine similarity: exact for small collections, through the
    /// collection's HNSW index for large ones.
    /// - Parameters:
    ///   - ef: HNSW candidate list size (more is slower and closer to exact); `nil` for the default.
    /// - Returns: up to `k` hits, best first.
    /// - Throws: `QuarryError.notFound` for an unknown collection, `.invalidRequest` when the
    ///   query's dimension is not the collection's.
    func search(in collection: String, query: [Float], k: Int, ef: Int?, filter: SearchFilter?) throws -> [SearchHit]

    /// Lexical search: BM25 over the chunks' words (stemmed), any of the query's words matching.
    /// - Returns: up to `k` hits, best first; `score` is the BM25 score (higher is better).
    /// - Throws: `QuarryError.notFound` for an unknown collection.
    func lexicalSearch(in collection: String, query: String, k: Int, filter: SearchFilter?) throws -> [SearchHit]

    /// Brings the collection's derived index up to date with its chunks and persists it (after an
    /// ingest), so that the next process to open the store starts with a current index.
    func synchronizeIndex(of collection: String) throws

    /// Checks the store's invariants (every document's chunks present and numbered, indexes
    /// consistent with the chunks).
    /// - Returns: one line per problem; empty when the store is sound.
    func verify() throws -> [String]
}

extension ChunkStore {
    /// Replaces one document's chunks and vectors atomically (see `replaceDocuments`).
    public func replaceDocument(in collection: String, document: DocumentRecord, chunks: [Chunk], vectors: [[Float]]) throws {
        try replaceDocuments(in: collection, [DocumentWrite(document: document, chunks: chunks, vectors: vectors)])
    }

    /// Search with the default `ef`.
    public func search(in collection: String, query: [Float], k: Int) throws -> [SearchHit] {
        try search(in: collection, query: query, k: k, ef: nil, filter: nil)
    }

    /// Unfiltered search.
    public func search(in collection: String, query: [Float], k: Int, ef: Int?) throws -> [SearchHit] {
        try search(in: collection, query: query, k: k, ef: ef, filter: nil)
    }

    /// Unfiltered lexical search.
    public func lexicalSearch(in collection: String, query: String, k: Int) throws -> [SearchHit] {
        try lexicalSearch(in: collection, query: query, k: k, filter: nil)
    }
}
