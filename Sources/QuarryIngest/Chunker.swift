import QuarryCore

/// Splits a document into chunks along its structure: Markdown heading sections, then
/// paragraphs, then sentences, then words, so that no chunk is over `maxTokens` model tokens.
///
/// Paragraphs are packed greedily into chunks of up to `targetTokens`; a heading always starts a
/// new chunk and is kept as the chunk's heading path. The result depends only on the text and the
/// settings, so the same file always gives the same chunks.
public struct Chunker: Sendable {
    /// Chunks are filled up to this many tokens.
    public var targetTokens: Int
    /// No chunk is larger than this (the embedder's limit less its special tokens).
    public var maxTokens: Int
    private let countTokens: @Sendable (String) -> Int

    /// Creates a chunker.
    /// - Parameters:
    ///   - targetTokens: tokens to fill a chunk up to.
    ///   - maxTokens: hard upper bound per chunk; at least `targetTokens`.
    ///   - countTokens: counts the embedder's tokens in a text.
    public init(targetTokens: Int = 200, maxTokens: Int = 254, countTokens: @escaping @Sendable (String) -> Int) {
        self.maxTokens = max(8, maxTokens)
        self.targetTokens = min(max(8, targetTokens), self.maxTokens)
        self.countTokens = countTokens
    }

    /// Chunks plain text or Markdown.
    /// - Parameters:
    ///   - text: the document's text.
    ///   - markdown: whether `#` lines are headings and ``` fences are code blocks.
    public func chunk(_ text: String, markdown: Bool) -> [Chunk] {
        chunk(blocks: TextLoader(markdown: markdown).blocks(of: text))
    }

    /// Chunks a loaded document's blocks.
    public func chunk(blocks: [DocumentBlock]) -> [Chunk] {
        var chunks: [Chunk] = []
        var headings: [(level: Int, title: String)] = []

        var pending: [String] = []
        var pendingTokens = 0
        var pendingStart = 0
        var pendingEnd = 0
        var pendingPage: Int?
        var pendingHeadings: [String] = []

        func flush() {
            guard !pending.isEmpty else { return }
            chunks.append(
                Chunk(
                    ordinal: chunks.count, text: pending.joined(separator: "\n\n"), headingPath: pendingHeadings,
                    location: ChunkLocation(lineStart: pendingStart, lineEnd: pendingEnd, page: pendingPage)
                )
            )
            pending = []
            pendingTokens = 0
        }

        func add(_ piece: String, tokens: Int, block: DocumentBlock) {
            // A chunk stays on one page, so that its citation can name the page.
            if !pending.isEmpty, pendingTokens + tokens > targetTokens || block.page != pendingPage { flush() }
            if pending.isEmpty {
                pendingStart = block.lineStart
                pendingPage = block.page
                pendingHeadings = headings.map(\.title)
            }
            pending.append(piece)
            pendingTokens += tokens
            pendingEnd = block.lineEnd
        }

        for block in blocks {
            if case .heading(let level) = block.kind {
                flush()
                headings.removeAll { $0.level >= level }
                headings.append((level, block.text))
            }
            let tokens = countTokens(block.text)
            if tokens <= maxTokens {
                add(block.text, tokens: tokens, block: block)
                continue
            }
            for piece in split(block.text, limit: maxTokens) {
                add(piece.text, tokens: piece.tokens, block: block)
            }
        }
        flush()
        return chunks
    }

    /// Splits an over-long block into sentences, and an over-long sentence into word runs.
    private func split(_ text: String, limit: Int) -> [(text: String, tokens: Int)] {
        var pieces: [(text: String, tokens: Int)] = []
        for sentence in SentenceSplitter.split(text) {
            let tokens = countTokens(sentence)
            if tokens <= limit {
                pieces.append((sentence, tokens))
                continue
            }
            var words: [Substring] = []
            var wordTokens = 0
            for word in sentence.split(whereSeparator: { $0.isWhitespace }) {
                // A single word can be longer than the limit only in pathological input; the
                // embedder truncates it, which is the best that can be done.
                let count = countTokens(String(word))
                if !words.isEmpty, wordTokens + count > limit {
                    pieces.append((words.joined(separator: " "), wordTokens))
                    words = []
                    wordTokens = 0
                }
                words.append(word)
                wordTokens += count
            }
            if !words.isEmpty { pieces.append((words.joined(separator: " "), wordTokens)) }
        }
        return pieces
    }
}
