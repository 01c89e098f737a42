/// Where a chunk sits in its source document, so a citation can point at the exact place.
public struct ChunkLocation: Sendable, Hashable, Codable {
    /// First line of the chunk, 1-based.
    public var lineStart: Int
    /// Last line of the chunk, 1-based, inclusive.
    public var lineEnd: Int
    /// The page, 1-based, for paged formats (PDF); `nil` otherwise.
    public var page: Int?
    /// Byte offset in the source file where the chunk's first line starts; `nil` for formats whose
    /// text is not the file's bytes (PDF, DOCX).
    public var byteStart: Int?
    /// Byte offset in the source file just past the chunk's last line (exclusive).
    public var byteEnd: Int?

    /// Creates a location from a 1-based, inclusive line range and, for paged formats, a page.
    public init(lineStart: Int, lineEnd: Int, page: Int? = nil, byteStart: Int? = nil, byteEnd: Int? = nil) {
        self.lineStart = lineStart
        self.lineEnd = lineEnd
        self.page = page
        self.byteStart = byteStart
        self.byteEnd = byteEnd
    }

    enum CodingKeys: String, CodingKey {
        case lineStart = "line_start"
        case lineEnd = "line_end"
        case page
        case byteStart = "byte_start"
        case byteEnd = "byte_end"
    }
}

/// A piece of a document small enough to embed, with where it came from.
public struct Chunk: Sendable, Hashable {
    /// Position of the chunk in its document, from 0.
    public var ordinal: Int
    /// The chunk's text, as embedded and as shown in citations.
    public var text: String
    /// Headings above the chunk, outermost first (Markdown `#` lines).
    public var headingPath: [String]
    /// Line range in the source document.
    public var location: ChunkLocation

    /// Creates a chunk.
    public init(ordinal: Int, text: String, headingPath: [String] = [], location: ChunkLocation) {
        self.ordinal = ordinal
        self.text = text
        self.headingPath = headingPath
        self.location = location
    }
}

/// One result of a search: a stored chunk and its score.
public struct SearchHit: Sendable, Hashable {
    /// The chunk's row id in the store.
    public var chunkRowID: Int64
    /// Stable chunk id: `<document>#<ordinal>`.
    public var chunkID: String
    /// The document's id: its path relative to the ingested folder.
    public var document: String
    /// The chunk's position in its document, from 0.
    public var ordinal: Int
    /// The chunk's text.
    public var text: String
    /// Where the chunk sits in the document.
    public var location: ChunkLocation
    /// The hit's score: cosine similarity for dense search, BM25 for lexical, the reciprocal-rank
    /// fusion score for hybrid. Higher is better.
    public var score: Float
    /// In hybrid search, the cosine similarity when dense search found the chunk.
    public var denseScore: Float?
    /// In hybrid search, the BM25 score when lexical search found the chunk.
    public var lexicalScore: Float?

    /// Creates a hit.
    public init(
        chunkRowID: Int64, chunkID: String, document: String, ordinal: Int = 0, text: String,
        location: ChunkLocation, score: Float, denseScore: Float? = nil, lexicalScore: Float? = nil
    ) {
        self.chunkRowID = chunkRowID
        self.chunkID = chunkID
        self.document = document
        self.ordinal = ordinal
        self.text = text
        self.location = location
        self.score = score
        self.denseScore = denseScore
        self.lexicalScore = lexicalScore
    }
}

/// A search stage's result before any text is read: a chunk's row id and score. Hybrid search
/// fuses two rankings of these and reads only the chunks it returns.
public struct RankedChunk: Sendable, Hashable {
    /// The chunk's row id in the store.
    public var rowID: Int64
    /// The stage's score (cosine similarity, BM25); higher is better.
    public var score: Float
    /// The chunk itself, when the store read it along with the ranking (stores without a
    /// separate ranking step); `nil` when it is still to be read.
    public var hit: SearchHit?

    /// Creates a ranked chunk.
    public init(rowID: Int64, score: Float, hit: SearchHit? = nil) {
        self.rowID = rowID
        self.score = score
        self.hit = hit
    }
}
