/// A numbered source of an answer, as returned to API callers.
public struct Citation: Sendable, Hashable, Codable {
    /// The number the answer uses for this source: `[id]`.
    public var id: Int
    /// The document the passage comes from.
    public var document: String
    /// The stable id of the chunk (the best-ranked one, when neighbouring chunks were merged).
    public var chunkID: String
    /// Every chunk the passage is made of, in document order (one unless neighbouring chunks of
    /// the document were merged into one passage).
    public var chunkIDs: [String]
    /// The passage text.
    public var text: String
    /// Retrieval score of the passage.
    public var score: Float
    /// Where the passage sits in the document.
    public var location: ChunkLocation

    /// Creates a citation.
    public init(
        id: Int, document: String, chunkID: String, chunkIDs: [String]? = nil, text: String, score: Float,
        location: ChunkLocation
    ) {
        self.id = id
        self.document = document
        self.chunkID = chunkID
        self.chunkIDs = chunkIDs ?? [chunkID]
        self.text = text
        self.score = score
        self.location = location
    }

    enum CodingKeys: String, CodingKey {
        case id, document, text, score, location
        case chunkID = "chunk_id"
        case chunkIDs = "chunk_ids"
    }
}
