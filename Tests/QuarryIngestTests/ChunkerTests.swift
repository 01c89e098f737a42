import QuarryCore
import Testing

@testable import QuarryIngest

@Suite struct ChunkerTests {
    /// One token per whitespace-separated word, so expectations are easy to count.
    let chunker = Chunker(targetTokens: 10, maxTokens: 12) { text in
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

    @Test func plainTextHashIsNotAHeading() {
        let chunks = chunker.chunk("# just text", markdown: false)
        #expect(chunks.map(\.headingPath) == [[]])
    }
}

@Suite struct SentenceSplitterTests {
    @Test func splitsOnSentenceEndsNotAbbreviations() {
        #expect(
            SentenceSplitter.split("WAL is fast. It uses e.g. a log file! Does it work? Yes. Dr. Hipp wrote it.")
                == ["WAL is fast.", "It uses e.g. a log file!", "Does it work?", "Yes.", "Dr. Hipp wrote it."]
        )
        #expect(SentenceSplitter.split("Version 3.14 is out. 42 tests ran.") == ["Version 3.14 is out.", "42 tests ran."])
        #expect(SentenceSplitter.split("  ") == [])
    }
}
