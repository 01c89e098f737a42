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

    /// A run of lines that belong together: a paragraph, a heading, a fenced code block.
    struct Block {
        var text: String
        var lineStart: Int
        var lineEnd: Int
        var headingLevel: Int?
    }

    /// Chunks `text`.
    /// - Parameters:
    ///   - text: the document's text.
    ///   - markdown: whether `#` lines are headings and ``` fences are code blocks.
    public func chunk(_ text: String, markdown: Bool) -> [Chunk] {
        let blocks = Self.blocks(of: text, markdown: markdown)
        var chunks: [Chunk] = []
        var headings: [(level: Int, title: String)] = []

        var pending: [String] = []
        var pendingTokens = 0
        var pendingStart = 0
        var pendingEnd = 0
        var pendingHeadings: [String] = []

        func flush() {
            guard !pending.isEmpty else { return }
            chunks.append(
                Chunk(
                    ordinal: chunks.count, text: pending.joined(separator: "\n\n"), headingPath: pendingHeadings,
                    location: ChunkLocation(lineStart: pendingStart, lineEnd: pendingEnd)
                )
            )
            pending = []
            pendingTokens = 0
        }

        func add(_ piece: String, tokens: Int, lineStart: Int, lineEnd: Int) {
            if !pending.isEmpty, pendingTokens + tokens > targetTokens { flush() }
            if pending.isEmpty {
                pendingStart = lineStart
                pendingHeadings = headings.map(\.title)
            }
            pending.append(piece)
            pendingTokens += tokens
            pendingEnd = lineEnd
        }

        for block in blocks {
            if let level = block.headingLevel {
                flush()
                headings.removeAll { $0.level >= level }
                headings.append((level, Self.headingTitle(block.text)))
            }
            let tokens = countTokens(block.text)
            if tokens <= maxTokens {
                add(block.text, tokens: tokens, lineStart: block.lineStart, lineEnd: block.lineEnd)
                continue
            }
            for piece in split(block.text, limit: maxTokens) {
                add(piece.text, tokens: piece.tokens, lineStart: block.lineStart, lineEnd: block.lineEnd)
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

    static func headingTitle(_ line: String) -> String {
        String(line.drop(while: { $0 == "#" })).trimmingWhitespace()
    }

    /// Splits text into blocks: blank lines end a paragraph; in Markdown, `#` lines are headings
    /// and fenced code blocks stay whole.
    static func blocks(of text: String, markdown: Bool) -> [Block] {
        var blocks: [Block] = []
        var current: [Substring] = []
        var currentStart = 0
        var inFence = false

        func close(at lineNumber: Int) {
            guard !current.isEmpty else { return }
            let body = current.joined(separator: "\n").trimmingWhitespace()
            if !body.isEmpty {
                blocks.append(Block(text: body, lineStart: currentStart, lineEnd: lineNumber, headingLevel: nil))
            }
            current = []
        }

        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, rawLine) in lines.enumerated() {
            let lineNumber = index + 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if markdown, trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                if current.isEmpty { currentStart = lineNumber }
                current.append(line)
                if inFence { close(at: lineNumber) }
                inFence.toggle()
                continue
            }
            if inFence {
                current.append(line)
                continue
            }
            if markdown, let level = headingLevel(trimmed) {
                close(at: lineNumber - 1)
                blocks.append(
                    Block(text: String(trimmed).trimmingWhitespace(), lineStart: lineNumber, lineEnd: lineNumber, headingLevel: level)
                )
                continue
            }
            if trimmed.allSatisfy({ $0.isWhitespace }) {
                close(at: lineNumber - 1)
                continue
            }
            if current.isEmpty { currentStart = lineNumber }
            current.append(line)
        }
        close(at: lines.count)
        return blocks
    }

    /// The level of an ATX heading (`# Title` is 1), or `nil` for other lines.
    static func headingLevel(_ line: Substring) -> Int? {
        let hashes = line.prefix(while: { $0 == "#" }).count
        guard (1...6).contains(hashes) else { return nil }
        let rest = line.dropFirst(hashes)
        guard let first = rest.first, first == " " || first == "\t" else { return nil }
        return hashes
    }
}
