/// One piece of personal data found in a text.
///
/// Offsets count Unicode scalars (code points) of the scanned string, so a Python caller can
/// compare them with `text[start:end]` directly.
///
/// - Important: `text` is the personal data itself. Treat a finding as sensitive: log its
///   `entity`, offsets and `score`, not its `text`, unless the log is allowed to hold the data.
public struct PIIFinding: Sendable, Hashable, Codable {
    /// What kind of personal data this is.
    public var entity: PIIEntity
    /// The offset of the first Unicode scalar of the match.
    public var start: Int
    /// The offset just past the last Unicode scalar of the match (exclusive).
    public var end: Int
    /// How sure the recogniser is, 0…1: a checksum-validated match scores 0.8 or more, a bare
    /// pattern without a context word scores below 0.5.
    public var score: Double
    /// The matched text. Sensitive: see the type's documentation.
    public var text: String

    /// Creates a finding.
    /// - Parameters:
    ///   - entity: The kind of personal data.
    ///   - start: Offset of the first scalar of the match.
    ///   - end: Offset just past the match.
    ///   - score: Confidence, 0…1.
    ///   - text: The matched text.
    public init(entity: PIIEntity, start: Int, end: Int, score: Double, text: String) {
        self.entity = entity
        self.start = start
        self.end = end
        self.score = score
        self.text = text
    }

    /// The number of Unicode scalars the match spans.
    public var length: Int { end - start }

    /// Whether this finding shares at least one scalar with `other`.
    public func overlaps(_ other: PIIFinding) -> Bool {
        start < other.end && other.start < end
    }
}
