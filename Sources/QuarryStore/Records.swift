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
    /// Who may see it (`AccessList`); `nil`: every key of its tenant. Written as `nil`, a
    /// document that already exists keeps its stored list: a re-ingest that says nothing of
    /// permissions does not change them.
    public var access: [String]?

    /// Creates a document record.
    public init(
        path: String, source: String? = nil, contentHash: String, size: Int64, modificationTime: Double, chunkCount: Int,
        metadata: [String: String] = [:], access: [String]? = nil
    ) {
        self.metadata = metadata
        self.access = access
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

/// One page of a collection's documents, in path order.
public struct DocumentPage: Sendable, Hashable {
    /// How many documents match (on every page, not just this one).
    public var total: Int
    /// The documents of this page.
    public var documents: [DocumentRecord]

    /// Creates a page.
    public init(total: Int, documents: [DocumentRecord]) {
        self.total = total
        self.documents = documents
    }
}

extension CollectionInfo {
    /// The one model-compatibility check, used by the store before it adds vectors and by the
    /// retriever before it searches with a query vector: a collection's vectors and a query's
    /// are comparable only when they come from the same model (name, dimension and weights).
    /// - Throws: `QuarryError.conflict`, saying how to re-index.
    public func checkModel(_ model: EmbeddingModelInfo) throws {
        guard self.model.name == model.name, self.model.dimension == model.dimension, self.model.fingerprint == model.fingerprint
        else {
            throw QuarryError(
                .conflict,
                """
                collection '\(name)' was built with \(self.model.name) \
                (dimension \(self.model.dimension), weights \(self.model.fingerprint.prefix(12))) \
                but the configured model is \(model.name) (dimension \(model.dimension), weights \
                \(model.fingerprint.prefix(12))); ingest into another collection with --collection NAME, \
                or re-index: `quarry collections delete \(name)`, then ingest again
                """
            )
        }
    }
}
