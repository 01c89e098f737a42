import QuarryCore

/// Splits a document into chunks along its structure: Markdown heading sections, then
/// paragraphs, then sentences, then words, so that no chunk is over `maxTokens` model tokens.
///
/// Paragraphs are packed greedily into chunks of up to `targetTokens`; a heading always starts a
/// new chunk and is kept as the chunk's heading path. When a section continues past a chunk, the
/// next chunk starts with the last sentences of the previous one (up to `overlapTokens`), so that
/// a passage cut at a chunk boundary is still found whole in one of them. The result depends only
/// on the text and the settings, so the same file always gives the same chunks.
public struct Chunker: Sendable {
    /// Chunks are filled up to this many tokens.
    public var targetTokens: Int
    /// No chunk is larger than this (the embedder's limit less its special tokens).
    public var maxTokens: Int
    /// Tokens of the previous chunk repeated at the start of the next one in the same section.
    public var overlapTokens: Int
    private let countTokens: @Sendable (String) -> Int

    /// The default overlap: 15 % of the chunk size.
    public static func defaultOverlap(forTargetTokens target: Int) -> Int { target * 15 / 100 }

    /// Creates a chunker.
    /// - Parameters:
    ///   - targetTokens: tokens to fill a chunk up to.
    ///   - maxTokens: hard upper bound per chunk; at least `targetTokens`.
    ///   - overlapTokens: tokens carried over between consecutive chunks of a section; `nil` for
    ///     15 % of `targetTokens`, 0 for none. At most half of `targetTokens`.
    ///   - countTokens: counts the embedder's tokens in a text.
    public init(
        targetTokens: Int = 200, maxTokens: Int = 254, overlapTokens: Int? = nil,
        countTokens: @escaping @Sendable (String) -> Int
    ) {
        self.maxTokens = max(8, maxTokens)
        self.targetTokens = min(max(8, targetTokens), self.maxTokens)
        self.overlapTokens = min(max(0, overlapTokens ?? Self.defaultOverlap(forTargetTokens: self.targetTokens)), self.targetTokens / 2)
        self.countTokens = countTokens
    }

    /// Chunks plain text or Markdown.
    /// - Parameters:
    ///   - text: the document's text.
    ///   - markdown: whether `#` lines are headings and ``` fences are code blocks.
    public func chunk(_ text: String, markdown: Bool) -> [Chunk] {
        chunk(blocks: TextLoader(markdown: markdown).blocks(of: text))
    }

    /// A piece of text no larger than `maxTokens`, with the lines it came from.
    private struct Piece {
        var text: String
        var tokens: Int
        var lineStart: Int
        var lineEnd: Int
        var isHeading = false
    }

    /// Chunks a loaded document's blocks.
    public func chunk(blocks: [DocumentBlock]) -> [Chunk] {
        var chunks: [Chunk] = []
        var headings: [(level: Int, title: String)] = []

        var pending: [Piece] = []
        var pendingTokens = 0
        var pendingPage: Int?
        var pendingHeadings: [String] = []

        func flush() {
            guard !pending.isEmpty else { return }
            chunks.append(
                Chunk(
                    ordinal: chunks.count, text: pending.map(\.text).joined(separator: "\n\n"), headingPath: pendingHeadings,
                    location: ChunkLocation(lineStart: pending[0].lineStart, lineEnd: pending[pending.count - 1].lineEnd, page: pendingPage)
                )
            )
            pending = []
            pendingTokens = 0
        }

        func add(_ piece: Piece, page: Int?) {
            // A chunk stays on one page, so that its citation can name the page.
            if !pending.isEmpty, page != pendingPage {
                flush()
            } else if !pending.isEmpty, pendingTokens + piece.tokens > targetTokens,
                // A heading stays with the text under it when the two fit in one chunk.
                pendingTokens + piece.tokens > maxTokens || !pending.allSatisfy(\.isHeading)
            {
                let last = pending[pending.count - 1]
                let carried = last.isHeading ? nil : overlap(after: last, room: maxTokens - piece.tokens)
                flush()
                if let carried {
                    pending = [carried]
                    pendingTokens = carried.tokens
                }
            }
            if pending.isEmpty {
                pendingPage = page
                pendingHeadings = headings.map(\.title)
            }
            pending.append(piece)
            pendingTokens += piece.tokens
        }

        for block in blocks {
            if case .heading(let level) = block.kind {
                flush()
                headings.removeAll { $0.level >= level }
                headings.append((level, block.text))
            }
            let tokens = countTokens(block.text)
            if tokens <= maxTokens {
                let isHeading = if case .heading = block.kind { true } else { false }
                add(
                    Piece(text: block.text, tokens: tokens, lineStart: block.lineStart, lineEnd: block.lineEnd, isHeading: isHeading),
                    page: block.page
                )
                continue
            }
            for piece in split(block.text, limit: maxTokens) {
                add(Piece(text: piece.text, tokens: piece.tokens, lineStart: block.lineStart, lineEnd: block.lineEnd), page: block.page)
            }
        }
        flush()
        return chunks
    }

    /// The end of `piece` to repeat at the start of the next chunk: its last whole sentences that
    /// fit in `overlapTokens` (and in `room`), or, when its last sentence alone is longer, its
    /// last words. `nil` when there is nothing to carry.
    private func overlap(after piece: Piece, room: Int) -> Piece? {
        let budget = min(overlapTokens, room)
        guard budget > 0 else { return nil }
        let sentences = SentenceSplitter.split(piece.text)
        var kept: [String] = []
        var keptTokens = 0
        for sentence in sentences.reversed() {
            let tokens = countTokens(sentence)
            // The whole piece is not an overlap: it would repeat the previous chunk's tail whole.
            guard keptTokens + tokens <= budget, kept.count + 1 < sentences.count else { break }
            kept.insert(sentence, at: 0)
            keptTokens += tokens
        }
        if kept.isEmpty {
            var words: [Substring] = []
            let all = piece.text.split(whereSeparator: \.isWhitespace)
            for word in all.reversed() {
                let tokens = countTokens(String(word))
                guard keptTokens + tokens <= budget, words.count + 1 < all.count else { break }
                words.insert(word, at: 0)
                keptTokens += tokens
            }
            guard !words.isEmpty else { return nil }
            kept = [words.joined(separator: " ")]
        }
        return Piece(text: kept.joined(separator: " "), tokens: keptTokens, lineStart: piece.lineStart, lineEnd: piece.lineEnd)
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
