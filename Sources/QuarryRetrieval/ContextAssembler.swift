import QuarryCore

/// Turns ranked hits into the numbered sources of an answer, within a token budget.
///
/// Chunks of one document that touch (neighbouring ordinals) become one passage, so that a
/// passage cut at a chunk boundary is read whole, with the sentences the chunks share by their
/// overlap given once. Passages keep the rank of their best chunk; they are taken best first
/// while they fit in `maxTokens` (counted in the embedding model's word pieces), and numbered
/// from 1 in that order. A first passage larger than the budget is cut to it.
public struct ContextAssembler: Sendable {
    /// The largest context, in word pieces.
    public var maxTokens: Int
    private let countTokens: @Sendable (String) -> Int

    /// Creates an assembler.
    public init(maxTokens: Int, countTokens: @escaping @Sendable (String) -> Int) {
        self.maxTokens = max(1, maxTokens)
        self.countTokens = countTokens
    }

    private struct Passage {
        var document: String
        var hits: [SearchHit]
        var lowest: Int
        var highest: Int
        var score: Float
    }

    /// The sources for `hits` (best first).
    public func assemble(_ hits: [SearchHit]) -> [Citation] {
        var passages: [Passage] = []
        for hit in hits {
            if let index = passages.firstIndex(where: { $0.document == hit.document && hit.ordinal >= $0.lowest - 1 && hit.ordinal <= $0.highest + 1 }) {
                passages[index].hits.append(hit)
                passages[index].lowest = min(passages[index].lowest, hit.ordinal)
                passages[index].highest = max(passages[index].highest, hit.ordinal)
                // A chunk can bridge two passages of its document: they become one, at the better rank.
                if let other = passages.indices.first(where: {
                    $0 != index && passages[$0].document == hit.document
                        && passages[$0].lowest <= passages[index].highest + 1 && passages[$0].highest >= passages[index].lowest - 1
                }) {
                    let (keep, drop) = (min(index, other), max(index, other))
                    passages[keep].hits += passages[drop].hits
                    passages[keep].lowest = min(passages[keep].lowest, passages[drop].lowest)
                    passages[keep].highest = max(passages[keep].highest, passages[drop].highest)
                    passages[keep].score = max(passages[keep].score, passages[drop].score)
                    passages.remove(at: drop)
                }
            } else {
                passages.append(Passage(document: hit.document, hits: [hit], lowest: hit.ordinal, highest: hit.ordinal, score: hit.score))
            }
        }

        var citations: [Citation] = []
        var used = 0
        for passage in passages {
            var chunks: [SearchHit] = []
            for hit in passage.hits.sorted(by: { $0.ordinal < $1.ordinal }) where chunks.last?.ordinal != hit.ordinal {
                chunks.append(hit)
            }
            var text = chunks[0].text
            for next in chunks.dropFirst() { text = Self.join(text, next.text) }
            var tokens = countTokens(text)
            if used + tokens > maxTokens {
                guard citations.isEmpty else { continue }
                text = cut(text, to: maxTokens)
                tokens = countTokens(text)
            }
            used += tokens
            let best = passage.hits[0]
            citations.append(
                Citation(
                    id: citations.count + 1, document: passage.document, chunkID: best.chunkID, chunkIDs: chunks.map(\.chunkID),
                    text: text, score: passage.score, location: Self.span(chunks.map(\.location))
                )
            )
        }
        return citations
    }

    /// `first` followed by `second`, without the start of `second` that repeats the end of
    /// `first` (the chunker's overlap: whole words, at least 12 characters).
    static func join(_ first: String, _ second: String) -> String {
        guard let last = first.last else { return second }
        let limit = min(second.count, first.count, 2000)
        guard limit >= 12 else { return first + "\n\n" + second }
        let shortest = second.index(second.startIndex, offsetBy: 12)
        var end = second.index(second.startIndex, offsetBy: limit)
        while end >= shortest {
            // A candidate ends a word of `second`, with the character `first` ends with.
            if second[end...].first?.isWhitespace ?? true, second[second.index(before: end)] == last,
                first.hasSuffix(second[..<end])
            {
                let before = first.index(first.endIndex, offsetBy: -second.distance(from: second.startIndex, to: end))
                if before == first.startIndex || first[first.index(before: before)].isWhitespace {
                    let rest = second[end...].drop(while: \.isWhitespace)
                    return rest.isEmpty ? first : first + "\n\n" + rest
                }
            }
            end = second.index(before: end)
        }
        return first + "\n\n" + second
    }

    /// The first words of `text` that fit in `budget` word pieces.
    private func cut(_ text: String, to budget: Int) -> String {
        var words: [Substring] = []
        var used = 0
        for word in text.split(whereSeparator: \.isWhitespace) {
            let count = countTokens(String(word))
            guard used + count <= budget else { break }
            words.append(word)
            used += count
        }
        return words.joined(separator: " ")
    }

    /// The smallest location covering `locations` (the page kept when they share one).
    static func span(_ locations: [ChunkLocation]) -> ChunkLocation {
        var result = locations[0]
        for location in locations.dropFirst() {
            result.lineStart = min(result.lineStart, location.lineStart)
            result.lineEnd = max(result.lineEnd, location.lineEnd)
            if result.page != location.page { result.page = nil }
            if let start = location.byteStart, let end = location.byteEnd, let ownStart = result.byteStart, let ownEnd = result.byteEnd {
                result.byteStart = min(ownStart, start)
                result.byteEnd = max(ownEnd, end)
            } else {
                result.byteStart = nil
                result.byteEnd = nil
            }
        }
        return result
    }
}
