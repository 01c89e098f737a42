import QuarryCore

/// Splits a document into chunks along its structure: Markdown heading sections, then
/// paragraphs, then sentences, then words, then, for text with no spaces to split on (CJK, Thai,
/// a URL, base64), characters, so that no chunk is over `maxTokens` model tokens.
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

        func emit(_ pieces: ArraySlice<Piece>) {
            guard let first = pieces.first, let last = pieces.last else { return }
            let text = pieces.map(\.text).joined(separator: "\n\n")
            // Pieces are counted one by one; a counter that is not additive (a per-byte estimate
            // is not) can put them together over the limit, and then they go in two chunks.
            if pieces.count > 1, countTokens(text) > maxTokens {
                let middle = pieces.startIndex + pieces.count / 2
                emit(pieces[..<middle])
                emit(pieces[middle...])
                return
            }
            chunks.append(
                Chunk(
                    ordinal: chunks.count, text: text, headingPath: pendingHeadings,
                    location: ChunkLocation(lineStart: first.lineStart, lineEnd: last.lineEnd, page: pendingPage)
                )
            )
        }

        func flush() {
            guard !pending.isEmpty else { return }
            emit(pending[...])
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

    /// Splits an over-long block into sentences, an over-long sentence into word runs, and a word
    /// longer than `limit` on its own (CJK or Thai without spaces, a URL, base64) into runs of
    /// characters. Every piece's `tokens` is `countTokens` of its text, and at most `limit`
    /// unless a single character (grapheme cluster) is longer than `limit`.
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
                let count = countTokens(String(word))
                if count > limit {
                    appendRun(words, to: &pieces, limit: limit)
                    var fragments = splitCharacters(word, tokens: count, limit: limit)
                    // The word's last fragment ends where the word does, so the words after it
                    // may share its piece.
                    let last = fragments.removeLast()
                    pieces += fragments
                    words = [Substring(last.text)]
                    wordTokens = last.tokens
                    continue
                }
                if !words.isEmpty, wordTokens + count > limit {
                    appendRun(words, to: &pieces, limit: limit)
                    words = []
                    wordTokens = 0
                }
                words.append(word)
                wordTokens += count
            }
            appendRun(words, to: &pieces, limit: limit)
        }
        return pieces
    }

    /// Appends `words` joined by spaces as one piece, counted whole: a counter need not be
    /// additive over words (a per-byte estimate is not), so a run whose words fit one by one is
    /// halved until each half fits.
    private func appendRun(_ words: [Substring], to pieces: inout [(text: String, tokens: Int)], limit: Int) {
        guard !words.isEmpty else { return }
        let text = words.joined(separator: " ")
        let tokens = countTokens(text)
        if tokens <= limit || words.count == 1 {
            pieces.append((text, tokens))
            return
        }
        let middle = words.count / 2
        appendRun(Array(words[..<middle]), to: &pieces, limit: limit)
        appendRun(Array(words[middle...]), to: &pieces, limit: limit)
    }

    /// Cuts a word of `tokens` tokens into runs of whole characters (grapheme clusters) of at
    /// most `limit` tokens each, preferring to cut after punctuation (`。`, `/`, `&`, …) in the
    /// second half of a run.
    ///
    /// Each run's length is first estimated from the characters per token seen so far, then
    /// widened or narrowed by doubling steps and settled by bisection, so a word of n characters
    /// costs O(log limit) counts of about `limit` tokens each per run, not O(n) counts. Counts are
    /// not assumed monotonic (a BERT word over 100 characters is one `[UNK]`): only lengths
    /// actually counted to fit are used. A character that alone is over `limit` is a run of its
    /// own.
    private func splitCharacters(_ word: Substring, tokens: Int, limit: Int) -> [(text: String, tokens: Int)] {
        let characters = Array(word)
        var runs: [(text: String, tokens: Int)] = []
        var charactersPerToken = Double(characters.count) / Double(max(1, tokens))
        var start = 0
        while start < characters.count {
            let rest = characters.count - start
            func count(_ length: Int) -> Int { countTokens(String(characters[start..<start + length])) }
            // The longest length counted to fit, and the shortest counted not to.
            var fit = 0
            var fitTokens = 0
            var over = rest + 1
            let estimate = charactersPerToken * Double(limit)
            let guess = estimate >= Double(rest) ? rest : max(1, Int(estimate))
            let guessTokens = count(guess)
            var step = max(1, guess / 8)
            if guessTokens <= limit {
                (fit, fitTokens) = (guess, guessTokens)
                while fit < rest, over > rest, fitTokens < limit {
                    let length = min(rest, fit + step)
                    let counted = count(length)
                    if counted <= limit { (fit, fitTokens) = (length, counted) } else { over = length }
                    step *= 2
                }
            } else {
                over = guess
                while over > 1 {
                    let length = max(1, over - step)
                    let counted = count(length)
                    if counted <= limit {
                        (fit, fitTokens) = (length, counted)
                        break
                    }
                    over = length
                    step *= 2
                }
            }
            while over - fit > 1, fitTokens < limit {
                let length = (fit + over) / 2
                let counted = count(length)
                if counted <= limit { (fit, fitTokens) = (length, counted) } else { over = length }
            }
            if fit == 0 {
                // One character over the limit: it cannot be cut without breaking it.
                (fit, fitTokens) = (1, count(1))
            } else if fit < rest, let cut = Self.preferredCut(in: characters[start..<start + fit], after: fit / 2) {
                let counted = count(cut)
                if counted <= limit { (fit, fitTokens) = (cut, counted) }
            }
            runs.append((String(characters[start..<start + fit]), fitTokens))
            if fitTokens > 0 { charactersPerToken = Double(fit) / Double(fitTokens) }
            start += fit
        }
        return runs
    }

    /// Characters after which a cut reads as the end of a sentence or clause.
    private static let sentenceEnders: Set<Character> = [".", "!", "?", ";", "。", "！", "？", "；", "，", "、"]

    /// The length of the longest prefix of `run`, longer than `minimum`, that ends in sentence
    /// punctuation, else in any punctuation or symbol; `nil` when there is none.
    private static func preferredCut(in run: ArraySlice<Character>, after minimum: Int) -> Int? {
        let tail = run[(run.startIndex + minimum)...]
        if let index = tail.lastIndex(where: { sentenceEnders.contains($0) }) { return index - run.startIndex + 1 }
        if let index = tail.lastIndex(where: { $0.isPunctuation || $0.isSymbol }) { return index - run.startIndex + 1 }
        return nil
    }
}
