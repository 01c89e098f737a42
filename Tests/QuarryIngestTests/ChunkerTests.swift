import QuarryCore
import Testing

@testable import QuarryIngest

@Suite struct ChunkerTests {
    /// One token per whitespace-separated word, so expectations are easy to count.
    let chunker = Chunker(targetTokens: 10, maxTokens: 12, overlapTokens: 0, countTokens: Self.words)

    @Sendable static func words(_ text: String) -> Int {
        text.split(whereSeparator: \.isWhitespace).count
    }

    @Test func packsParagraphsUpToTheTarget() {
        let text = """
            one two three four

            five six seven eight

            nine ten eleven twelve
            """
        let chunks = chunker.chunk(text, markdown: false)
        #expect(chunks.map(\.text) == ["one two three four\n\nfive six seven eight", "nine ten eleven twelve"])
        #expect(chunks.map(\.location) == [ChunkLocation(lineStart: 1, lineEnd: 3), ChunkLocation(lineStart: 5, lineEnd: 5)])
        #expect(chunks.map(\.ordinal) == [0, 1])
    }

    @Test func headingsStartChunksAndFormThePath() {
        let text = """
            # Guide
            intro words here

            ## Install
            run make run

            ## Use
            call the api
            """
        let chunks = chunker.chunk(text, markdown: true)
        #expect(chunks.map(\.text) == ["Guide\n\nintro words here", "Install\n\nrun make run", "Use\n\ncall the api"])
        #expect(chunks.map(\.headingPath) == [["Guide"], ["Guide", "Install"], ["Guide", "Use"]])
        #expect(chunks[1].location == ChunkLocation(lineStart: 4, lineEnd: 5))
    }

    @Test func fencedCodeStaysWholeAndHashInsideIsNotAHeading() {
        let text = """
            ```
            # not a heading

            still code
            ```
            """
        let chunks = chunker.chunk(text, markdown: true)
        #expect(chunks.count == 1)
        #expect(chunks[0].headingPath.isEmpty)
        #expect(chunks[0].text.contains("still code"))
    }

    @Test func longParagraphsSplitBySentenceThenWord() {
        let long = "Alpha beta gamma delta epsilon. Zeta eta theta iota kappa. "
            + (1...30).map { "w\($0)" }.joined(separator: " ")
        let chunks = chunker.chunk(long, markdown: false)
        for chunk in chunks {
            #expect(chunk.text.split(whereSeparator: \.isWhitespace).count <= 12)
        }
        let words = chunks.flatMap { $0.text.split(whereSeparator: \.isWhitespace) }
        #expect(words == long.split(whereSeparator: \.isWhitespace))
    }

    @Test func deterministic() {
        let text = (1...50).map { "Paragraph \($0) has a few words in it." }.joined(separator: "\n\n")
        #expect(chunker.chunk(text, markdown: false) == chunker.chunk(text, markdown: false))
    }

    @Test func overlapRepeatsTheLastSentencesOfTheSection() {
        let chunker = Chunker(targetTokens: 10, maxTokens: 12, overlapTokens: 4, countTokens: Self.words)
        let text = """
            One two three. Four five six.

            Seven eight nine ten eleven.
            """
        let chunks = chunker.chunk(text, markdown: false)
        #expect(chunks.map(\.text) == ["One two three. Four five six.", "Four five six.\n\nSeven eight nine ten eleven."])
        // The second chunk starts where its first sentence is: line 1.
        #expect(chunks.map(\.location) == [ChunkLocation(lineStart: 1, lineEnd: 1), ChunkLocation(lineStart: 1, lineEnd: 3)])
    }

    @Test func overlapFallsBackToWordsAndNeverCrossesAHeading() {
        let chunker = Chunker(targetTokens: 10, maxTokens: 12, overlapTokens: 2, countTokens: Self.words)
        let text = """
            # A
            w1 w2 w3 w4 w5 w6

            w7 w8 w9 w10 w11

            # B
            w12 w13
            """
        let chunks = chunker.chunk(text, markdown: true)
        #expect(chunks.map(\.text) == ["A\n\nw1 w2 w3 w4 w5 w6", "w5 w6\n\nw7 w8 w9 w10 w11", "B\n\nw12 w13"])
        #expect(chunks.map(\.headingPath) == [["A"], ["A"], ["B"]])
    }

    @Test func defaultOverlapIsFifteenPercentAndChunksStayUnderTheLimit() {
        let chunker = Chunker(targetTokens: 40, maxTokens: 50, countTokens: Self.words)
        #expect(chunker.overlapTokens == 6)
        var text = ""
        for paragraph in 1...40 {
            let sentences = (1...(paragraph % 7 + 1)).map { s in
                (1...(s * 3 % 11 + 2)).map { "p\(paragraph)s\(s)w\($0)" }.joined(separator: " ") + "."
            }
            text += sentences.joined(separator: " ") + "\n\n"
        }
        let chunks = chunker.chunk(text, markdown: false)
        #expect(chunks.count > 5)
        for chunk in chunks {
            #expect(Self.words(chunk.text) <= 50)
        }
        // Every word of the text is in some chunk, in order.
        let original = text.split(whereSeparator: \.isWhitespace)
        var found = 0
        for chunk in chunks {
            for word in chunk.text.split(whereSeparator: \.isWhitespace) where found < original.count && word == original[found] {
                found += 1
            }
        }
        #expect(found == original.count)
        #expect(chunker.chunk(text, markdown: false) == chunks)
    }

    @Test func aHeadingStaysWithTheTextUnderIt() {
        let chunker = Chunker(targetTokens: 10, maxTokens: 12, overlapTokens: 0, countTokens: Self.words)
        let chunks = chunker.chunk("# Long title here\nw1 w2 w3 w4 w5 w6 w7 w8 w9", markdown: true)
        #expect(chunks.map(\.text) == ["Long title here\n\nw1 w2 w3 w4 w5 w6 w7 w8 w9"])
    }

    @Test func plainTextHashIsNotAHeading() {
        let chunks = chunker.chunk("# just text", markdown: false)
        #expect(chunks.map(\.headingPath) == [[]])
    }
}
