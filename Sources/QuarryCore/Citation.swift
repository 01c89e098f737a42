/// A numbered source of an answer, as returned to API callers.
public struct Citation: Sendable, Hashable, Codable {
    /// The number the answer uses for this source: `[id]`.
    public var id: Int
    /// The document the passage comes from.
    public var document: String
    /// The stable id of the chunk.
    public var chunkID: String
    /// The passage text.
    public var text: String
    /// Retrieval score of the passage.
    public var score: Float
    /// Where the passage sits in the document.
    public var location: ChunkLocation

    /// Creates a citation.
    public init(id: Int, document: String, chunkID: String, text: String, score: Float, location: ChunkLocation) {
        self.id = id
        self.document = document
        self.chunkID = chunkID
        self.text = text
        self.score = score
        self.location = location
    }

    enum CodingKeys: String, CodingKey {
        case id, document, text, score, location
        case chunkID = "chunk_id"
    }
}
