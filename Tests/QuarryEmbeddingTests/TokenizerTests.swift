import Foundation
import QuarryErrors
import Testing

@testable import QuarryEmbedding

/// The tokenizer against Hugging Face `tokenizers` on adversarial texts (Fixtures/tokenizer).
@Suite struct TokenizerTests {
    struct Line: Decodable {
        var text: String
        var tokenIDs: [Int32]

        enum CodingKeys: String, CodingKey {
            case text
            case tokenIDs = "token_ids"
        }
    }

    static func lines() throws -> [Line] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/tokenizer/hf-ids", withExtension: "jsonl"))
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
    }

    static func tokenizer() throws -> WordPieceTokenizer {
        do {
            return try WordPieceTokenizer(vocabularyURL: modelDirectory().appendingPathComponent("vocab.txt"))
        } catch {
            Issue.record("cannot load the vocabulary (run scripts/fetch-model.sh): \(error)")
            throw error
        }
    }

    @Test func idsMatchHuggingFaceTokenizers() throws {
        let tokenizer = try Self.tokenizer()
        let lines = try Self.lines()
        #expect(lines.count == 350)
        for line in lines {
            #expect(tokenizer.encode(line.text, maxLength: .max) == line.tokenIDs, "\(line.text.debugDescription)")
            #expect(tokenizer.tokenCount(line.text) == line.tokenIDs.count - 2)
        }
    }

    @Test func truncationKeepsTheFirstPiecesAndTheSeparator() throws {
        let tokenizer = try Self.tokenizer()
        for line in try Self.lines() where line.tokenIDs.count > 16 {
            let truncated = tokenizer.encode(line.text, maxLength: 16)
            #expect(truncated == Array(line.tokenIDs.prefix(15)) + [tokenizer.separatorID])
        }
        #expect(tokenizer.encode("many words here", maxLength: 0) == [tokenizer.classID, tokenizer.separatorID])
        #expect(tokenizer.encode("many words here", maxLength: 3) == [tokenizer.classID, 2116, tokenizer.separatorID])
    }

    @Test func specialIDsAndVocabularySize() throws {
        let tokenizer = try Self.tokenizer()
        #expect([tokenizer.padID, tokenizer.unknownID, tokenizer.classID, tokenizer.separatorID] == [0, 100, 101, 102])
        #expect(tokenizer.vocabularySize == 30522)
    }

    @Test func wordsOverOneHundredCharactersAreUnknown() throws {
        let tokenizer = try Self.tokenizer()
        #expect(tokenizer.encode(String(repeating: "a", count: 101)) == [101, 100, 102])
        #expect(tokenizer.encode(String(repeating: "a", count: 100)).count > 3)
    }

    @Test func aSmallVocabularyWithoutSpecialTokensIsRefused() {
        #expect(throws: QuarryError.self) { try WordPieceTokenizer(vocabulary: ["hello": 0]) }
        let table: [String: Int32] = [
            "[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "un": 5, "##aff": 6, "##able": 7, "a": 8,
        ]
        #expect((try? WordPieceTokenizer(vocabulary: table).encode("unaffable a unknown")) == [2, 5, 6, 7, 8, 1, 3])
    }
}
