import Foundation
import QuarryCore
import QuarryIngest
import QuarryStore
import QuarryTestSupport
import Testing

@testable import QuarryRetrieval

@Suite struct ContextAssemblerTests {
    let words: @Sendable (String) -> Int = { $0.split(whereSeparator: \.isWhitespace).count }

    func hit(_ document: String, _ ordinal: Int, _ text: String, score: Float = 1, lines: ClosedRange<Int>? = nil) -> SearchHit {
        let lines = lines ?? (ordinal * 10 + 1)...(ordinal * 10 + 5)
        return SearchHit(
            chunkRowID: Int64(ordinal), chunkID: "\(document)#\(ordinal)", document: document, ordinal: ordinal, text: text,
            location: ChunkLocation(lineStart: lines.lowerBound, lineEnd: lines.upperBound, byteStart: lines.lowerBound * 100, byteEnd: lines.upperBound * 100),
            score: score
        )
    }

    @Test func neighbouringChunksMergeWithoutTheirOverlap() {
        let hits = [
            hit("a.md", 3, "The WAL file grows. A checkpoint shrinks it again.", score: 0.9),
            hit("b.md", 0, "Unrelated passage about vacuum and free pages.", score: 0.8),
            hit("a.md", 4, "A checkpoint shrinks it again.\n\nReaders see a snapshot.", score: 0.7),
            hit("a.md", 9, "Far away in the same document.", score: 0.6),
        ]
        let citations = ContextAssembler(maxTokens: 1000, countTokens: words).assemble(hits)
        #expect(citations.map(\.id) == [1, 2, 3])
        #expect(citations.map(\.document) == ["a.md", "b.md", "a.md"])
        #expect(citations[0].text == "The WAL file grows. A checkpoint shrinks it again.\n\nReaders see a snapshot.")
        #expect(citations[0].chunkIDs == ["a.md#3", "a.md#4"])
        #expect(citations[0].chunkID == "a.md#3")
        #expect(citations[0].score == 0.9)
        #expect(citations[0].location == ChunkLocation(lineStart: 31, lineEnd: 45, byteStart: 3100, byteEnd: 4500))
        #expect(citations[2].chunkIDs == ["a.md#9"])
    }

    @Test func aChunkBridgingTwoPassagesJoinsThem() {
        let hits = [hit("a.md", 5, "five five five five"), hit("a.md", 3, "three three three"), hit("a.md", 4, "four four four")]
        let citations = ContextAssembler(maxTokens: 1000, countTokens: words).assemble(hits)
        #expect(citations.count == 1)
        #expect(citations[0].chunkIDs == ["a.md#3", "a.md#4", "a.md#5"])
        #expect(citations[0].text == "three three three\n\nfour four four\n\nfive five five five")
    }

    @Test func theBudgetKeepsTheBestPassagesThatFit() {
        let hits = [
            hit("a.md", 0, "one two three four five six", score: 0.9),
            hit("b.md", 0, "seven eight nine ten eleven twelve thirteen", score: 0.8),
            hit("c.md", 0, "fourteen fifteen", score: 0.7),
        ]
        let citations = ContextAssembler(maxTokens: 9, countTokens: words).assemble(hits)
        // b.md does not fit after a.md; c.md does.
        #expect(citations.map(\.document) == ["a.md", "c.md"])
        #expect(citations.map(\.id) == [1, 2])
        // A first passage over the budget is cut to it.
        let cut = ContextAssembler(maxTokens: 4, countTokens: words).assemble(hits)
        #expect(cut.map(\.text) == ["one two three four"])
    }

    @Test func overlapIsOnlyRemovedWhenItIsReallyRepeated() {
        #expect(ContextAssembler.join("It ends here.", "Something else entirely begins.") == "It ends here.\n\nSomething else entirely begins.")
        #expect(ContextAssembler.join("Alpha beta. Gamma delta epsilon.", "Gamma delta epsilon. Zeta eta theta iota kappa.")
            == "Alpha beta. Gamma delta epsilon.\n\nZeta eta theta iota kappa.")
        // Too short to be the chunker's overlap: kept.
        #expect(ContextAssembler.join("ends with a.", "a. b c d e f g h i j k l m n") == "ends with a.\n\na. b c d e f g h i j k l m n")
    }

    @Test func queriesMergeTheChunkerOverlapEndToEnd() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let sentences = (1...40).map { "Sentence \($0) talks about checkpoint number \($0) in detail." }
        try dir.write(sentences.joined(separator: " "), to: "docs/long.txt")
        let store = try SQLiteChunkStore(directory: dir.url.appendingPathComponent("store"))
        let embedder = HashingEmbedder()
        _ = try await FolderIngestor(store: store, embedder: embedder, chunkTokens: 60, overlapTokens: 12)
            .ingest(folder: dir.url.appendingPathComponent("docs"), collection: "default")
        let result = try await Retriever(store: store, embedder: embedder)
            .answer(query: "checkpoint detail", collection: "default", topK: 10, mode: .lexical)
        // Every chunk of the one document is retrieved; they make one passage, each sentence once.
        #expect(result.citations.count == 1)
        let text = try #require(result.citations.first?.text)
        for sentence in sentences {
            #expect(text.components(separatedBy: sentence).count - 1 == 1, "\(sentence)")
        }
        let tight = try await Retriever(store: store, embedder: embedder)
            .answer(query: "checkpoint detail", collection: "default", topK: 10, mode: .lexical, maxContextTokens: 50)
        #expect(tight.citations.count == 1)
        #expect(embedder.tokenCount(tight.citations[0].text) <= 50)
        await #expect(throws: QuarryError.self) {
            _ = try await Retriever(store: store, embedder: embedder)
                .answer(query: "checkpoint", collection: "default", topK: 3, maxContextTokens: 10)
        }
    }
}

@Suite struct QueryCacheTests {
    @Test func identicalQueriesAreServedFromTheCacheUntilTheCollectionChanges() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try dir.write("Checkpoints copy WAL pages into the database.", to: "docs/wal.txt")
        let store = try SQLiteChunkStore(directory: dir.url.appendingPathComponent("store"))
        let embedder = HashingEmbedder()
        let ingestor = FolderIngestor(store: store, embedder: embedder)
        _ = try await ingestor.ingest(folder: dir.url.appendingPathComponent("docs"), collection: "default")
        let cache = QueryCache(capacity: 16)
        let retriever = Retriever(store: store, embedder: embedder, cache: cache)

        let first = try await retriever.answer(query: "checkpoint pages", collection: "default", topK: 3)
        let embedded = embedder.embeddedTexts.count
        let second = try await retriever.answer(query: "  checkpoint pages ", collection: "default", topK: 3)
        #expect(!first.cached && second.cached)
        #expect(second.citations == first.citations && second.answer == first.answer)
        #expect(embedder.embeddedTexts.count == embedded)
        // Another mode or top_k is another entry.
        #expect(try await retriever.answer(query: "checkpoint pages", collection: "default", topK: 2).cached == false)
        #expect(try await retriever.answer(query: "checkpoint pages", collection: "default", topK: 3, mode: .dense).cached == false)

        // A changed collection: the old entry is not served.
        try dir.write("Checkpoints copy WAL pages back, and truncate the log.", to: "docs/wal.txt")
        _ = try await ingestor.ingest(folder: dir.url.appendingPathComponent("docs"), collection: "default")
        let third = try await retriever.answer(query: "checkpoint pages", collection: "default", topK: 3)
        #expect(!third.cached)
        #expect(third.citations.first?.text.contains("truncate") == true)
        #expect(cache.statistics.hits == 1)

        // Bounded.
        for index in 0..<40 { _ = try await retriever.answer(query: "pages \(index)", collection: "default", topK: 1) }
        #expect(cache.statistics.entries <= 16)
    }
}
