import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryTestSupport
import Synchronization
import Testing

@testable import QuarryIngest

/// Every chunk fits the embedder's limit, whatever the script and however few boundaries the text
/// has (issue 15), and nothing of the text is dropped on the way.
@Suite struct ChunkLimitTests {
    /// Mimics BERT word pieces, more harshly: white space and punctuation separate words, every
    /// punctuation mark and CJK ideograph is a piece, and any other run of characters is one piece
    /// per three characters (BERT's "one `[UNK]` for a word over 100 characters" is left out, so
    /// long runs really are long).
    @Sendable static func pieces(_ text: String) -> Int {
        var count = 0
        var run = 0
        func endRun() {
            count += (run + 2) / 3
            run = 0
        }
        for character in text {
            if character.isWhitespace {
                endRun()
            } else if character.isPunctuation || character.isSymbol || isCJK(character) {
                endRun()
                count += 1
            } else {
                run += 1
            }
        }
        endRun()
        return count
    }

    static func isCJK(_ character: Character) -> Bool {
        guard let scalar = character.unicodeScalars.first else { return false }
        return (0x4E00...0x9FFF).contains(scalar.value) || (0x3400...0x4DBF).contains(scalar.value)
    }

    /// The adversarial inputs of the issue, by name.
    static let inputs: [(name: String, text: String)] = {
        var generator = SplitMix64(seed: 15)
        let hanzi = String(String.UnicodeScalarView((0..<3_000).compactMap { _ in Unicode.Scalar(UInt32.random(in: 0x4E00...0x9FA5, using: &generator)) }))
        let hanziProse = (0..<100).map { _ in
            String(String.UnicodeScalarView((0..<29).compactMap { _ in Unicode.Scalar(UInt32.random(in: 0x4E00...0x9FA5, using: &generator)) })) + "。"
        }.joined()
        let thaiLetters = Array("กขคงจฉชซญดตถทนบปผพฟภมยรลวศษสหอฮะาิีึืุูเแโใไ่้๊๋")
        let thai = String((0..<4_000).map { _ in thaiLetters.randomElement(using: &generator) ?? "ก" })
        let dots = String(repeating: "x.", count: 1_500)
        var url = "https://example.com/search?"
        while url.count < 5_509 { url += "q\(url.count)=v\(UInt32.random(in: 0..<1_000_000, using: &generator))&" }
        url = String(url.prefix(5_509))
        let bytes = (0..<15_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let base64 = Data(bytes).base64EncodedString()
        let prose = (1...30).map { "Sentence \($0) of the prose says something ordinary about the store." }.joined(separator: " ")
        let mixed = prose + "\n\n" + prose + " " + base64 + " " + prose + "\n\n" + prose
        let families = String(repeating: "👨‍👩‍👧‍👦", count: 2_000)
        return [
            ("3,000 Chinese characters", hanzi), ("Chinese prose without spaces", hanziProse), ("Thai without spaces", thai),
            ("x. × 1,500", dots), ("5,509-character URL", url), ("20 KB base64", base64),
            ("prose with a huge token in the middle", mixed), ("family emoji", families),
        ]
    }()

    /// The text's characters other than white space, in order.
    static func visible(_ text: some StringProtocol) -> String {
        String(text.filter { !$0.isWhitespace })
    }

    static func check(_ chunker: Chunker, counter: @Sendable (String) -> Int, name: String, text: String) {
        let chunks = chunker.chunk(text, markdown: false)
        #expect(!chunks.isEmpty, "\(name)")
        for chunk in chunks {
            let count = counter(chunk.text)
            #expect(count <= chunker.maxTokens, "\(name): chunk \(chunk.ordinal) has \(count) pieces")
        }
        // With no overlap, the chunks hold the text exactly, cut only where there was white
        // space or between characters.
        #expect(visible(chunks.map(\.text).joined()) == visible(text), "\(name): text dropped or reordered")
        #expect(chunks.map(\.ordinal) == Array(chunks.indices))
    }

    @Test(arguments: ChunkLimitTests.inputs.indices)
    func everyChunkFitsWithWordPieceLikeCounts(_ index: Int) {
        let (name, text) = Self.inputs[index]
        #expect(Self.pieces(text) > 254, "\(name) is not over the limit to begin with")
        let chunker = Chunker(targetTokens: 200, maxTokens: 254, overlapTokens: 0, countTokens: Self.pieces)
        Self.check(chunker, counter: Self.pieces, name: name, text: text)
    }

    @Test(arguments: ChunkLimitTests.inputs.indices)
    func everyChunkFitsWithTheModelsTokenizer(_ index: Int) throws {
        let tokenizer = try WordPieceTokenizer(vocabularyURL: modelDirectory().appendingPathComponent("vocab.txt"))
        let counter: @Sendable (String) -> Int = { tokenizer.tokenCount($0) }
        let (name, text) = Self.inputs[index]
        let chunker = Chunker(targetTokens: 200, maxTokens: 254, overlapTokens: 0, countTokens: counter)
        Self.check(chunker, counter: counter, name: name, text: text)
    }

    @Test func withOverlapChunksStillFitAndKeepTheTextInOrder() {
        let chunker = Chunker(targetTokens: 200, maxTokens: 254, countTokens: Self.pieces)
        for (name, text) in Self.inputs {
            let chunks = chunker.chunk(text, markdown: false)
            for chunk in chunks {
                #expect(Self.pieces(chunk.text) <= 254, "\(name): chunk \(chunk.ordinal)")
            }
            // Overlap repeats text, so the input is a subsequence of the chunks.
            let original = Array(Self.visible(text))
            var found = 0
            for character in Self.visible(chunks.map(\.text).joined()) where found < original.count && character == original[found] {
                found += 1
            }
            #expect(found == original.count, "\(name)")
        }
    }

    @Test func charactersAreNeverCutInsideAGraphemeCluster() {
        // One piece per scalar: a family emoji is seven, so a cut by scalars would split one.
        let counter: @Sendable (String) -> Int = { $0.unicodeScalars.filter { !$0.properties.isWhitespace }.count }
        let chunker = Chunker(targetTokens: 200, maxTokens: 254, overlapTokens: 0, countTokens: counter)
        let family: Character = "👨‍👩‍👧‍👦"
        let chunks = chunker.chunk(String(repeating: family, count: 2_000), markdown: false)
        #expect(chunks.count > 1)
        for chunk in chunks {
            #expect(chunk.text.allSatisfy { $0 == family })
            #expect(counter(chunk.text) <= 254)
        }
        #expect(chunks.map(\.text.count).reduce(0, +) == 2_000)
    }

    @Test func aCharacterOverTheLimitIsAChunkOfItsOwn() {
        // A counter for which one character is over the limit: it is kept whole, not dropped.
        let counter: @Sendable (String) -> Int = { $0.unicodeScalars.count * 5 }
        let chunker = Chunker(targetTokens: 8, maxTokens: 8, overlapTokens: 0, countTokens: counter)
        let chunks = chunker.chunk("abcé\u{301}\u{301}", markdown: false)
        #expect(chunks.map(\.text) == ["a", "b", "c", "é\u{301}\u{301}"])
    }

    @Test func cutsPreferPunctuation() {
        // Ideographs in sentences of 30 with no spaces: cuts fall after a full stop.
        let sentence = String(repeating: "字", count: 29) + "。"
        let chunker = Chunker(targetTokens: 100, maxTokens: 100, overlapTokens: 0, countTokens: Self.pieces)
        let chunks = chunker.chunk(String(repeating: sentence, count: 20), markdown: false)
        #expect(chunks.count > 1)
        for chunk in chunks.dropLast() {
            #expect(chunk.text.hasSuffix("。"))
            #expect(Self.pieces(chunk.text) <= 100)
        }
    }

    @Test func aNonAdditiveCounterStillGetsChunksUnderTheLimit() {
        // A per-byte estimate (as for a remote model): the words fit one by one, but the spaces
        // between them count too.
        let counter: @Sendable (String) -> Int = { max(1, ($0.utf8.count + 3) / 4) }
        let chunker = Chunker(targetTokens: 40, maxTokens: 50, overlapTokens: 0, countTokens: counter)
        let text = (1...400).map { "w\($0 % 10)" }.joined(separator: " ")
        let chunks = chunker.chunk(text, markdown: false)
        for chunk in chunks {
            #expect(counter(chunk.text) <= 50)
        }
        #expect(Self.visible(chunks.map(\.text).joined()) == Self.visible(text))
    }

    @Test func longTokensCostFewCounts() {
        final class Calls: Sendable {
            let count = Mutex(0)
        }
        let calls = Calls()
        let counter: @Sendable (String) -> Int = { text in
            calls.count.withLock { $0 += 1 }
            return Self.pieces(text)
        }
        let chunker = Chunker(targetTokens: 200, maxTokens: 254, overlapTokens: 0, countTokens: counter)
        let text = String(repeating: "字", count: 30_000)
        let chunks = chunker.chunk(text, markdown: false)
        #expect(chunks.count >= 30_000 / 254)
        // About ten counts of a chunk's length per chunk, not one per character.
        let made = calls.count.withLock { $0 }
        #expect(made < chunks.count * 12, "\(made) counts for \(chunks.count) chunks")
    }
}
