/// A structural piece of a loaded document: a heading, a paragraph or a code block, with where it
/// came from. Loaders turn files into blocks; the chunker packs blocks into chunks.
public struct DocumentBlock: Sendable, Hashable {
    /// What the block is.
    public enum Kind: Sendable, Hashable {
        /// A heading of level 1 (outermost) to 6.
        case heading(level: Int)
        /// Running text.
        case paragraph
        /// Preformatted text, kept whole where possible.
        case code
    }

    /// What the block is.
    public var kind: Kind
    /// The block's text; headings without their `#` markers.
    public var text: String
    /// First source line, 1-based.
    public var lineStart: Int
    /// Last source line, 1-based, inclusive.
    public var lineEnd: Int
    /// The page, 1-based, for paged formats (PDF).
    public var page: Int?

    /// Creates a block.
    public init(kind: Kind, text: String, lineStart: Int, lineEnd: Int, page: Int? = nil) {
        self.kind = kind
        self.text = text
        self.lineStart = lineStart
        self.lineEnd = lineEnd
        self.page = page
    }
}
