import Foundation
import QuarryCore
import Testing

@testable import QuarryIngest

@Suite struct SourceTextTests {
    @Test func decodesUTF8WithAndWithoutBOMAndComputesLineBytes() throws {
        let plain = try SourceText(decoding: Data("a\nbé\nccc".utf8), path: "x")
        #expect(plain.text == "a\nbé\nccc")
        #expect(plain.encoding == .utf8)
        #expect(plain.lineOffsets == [0, 2, 6, 9])
        #expect(plain.byteRange(lines: 2, 3) == 2..<9)
        #expect(plain.byteRange(lines: 3, 4) == nil)

        let bom = try SourceText(decoding: Data([0xEF, 0xBB, 0xBF] + Array("hi\nyo".utf8)), path: "x")
        #expect(bom.text == "hi\nyo")
        #expect(bom.byteRange(lines: 1, 1) == 3..<6)
    }

    @Test func decodesUTF16WithBOMInBothByteOrders() throws {
        let text = "Größe\nzweite Zeile"
        var little = Data([0xFF, 0xFE])
        var big = Data([0xFE, 0xFF])
        for unit in text.utf16 {
            little.append(contentsOf: [UInt8(unit & 0xFF), UInt8(unit >> 8)])
            big.append(contentsOf: [UInt8(unit >> 8), UInt8(unit & 0xFF)])
        }
        for (data, encoding) in [(little, SourceText.Encoding.utf16LittleEndian), (big, .utf16BigEndian)] {
            let source = try SourceText(decoding: data, path: "x")
            #expect(source.text == text)
            #expect(source.encoding == encoding)
            // "Größe\n" is 6 code units after the 2-byte mark.
            #expect(source.byteRange(lines: 2, 2) == 14..<data.count)
        }
        #expect(throws: QuarryError.self) { try SourceText(decoding: Data([0xFF, 0xFE, 0x41]), path: "odd.txt") }
    }

    @Test func fallsBackToLatin1() throws {
        let source = try SourceText(decoding: Data([0x63, 0x61, 0x66, 0xE9, 0x0A, 0x41]), path: "x")
        #expect(source.text == "café\nA")
        #expect(source.encoding == .latin1)
        #expect(source.byteRange(lines: 2, 2) == 5..<6)
    }
}

@Suite struct GlobTests {
    @Test func patternsWithoutSlashMatchAnyComponent() throws {
        let markdown = try Glob("*.md")
        #expect(markdown.matches("a.md"))
        #expect(markdown.matches("docs/deep/b.md"))
        #expect(!markdown.matches("a.mdx"))
        let drafts = try Glob("drafts")
        #expect(drafts.matches("drafts/x.txt"))
        #expect(drafts.matches("a/drafts/b/x.txt"))
        #expect(!drafts.matches("mydrafts/x.txt"))
    }

    @Test func patternsWithSlashMatchFromTheRoot() throws {
        let glob = try Glob("docs/*.html")
        #expect(glob.matches("docs/a.html"))
        #expect(!glob.matches("docs/sub/a.html"))
        #expect(!glob.matches("other/docs/a.html"))
        let deep = try Glob("docs/**/*.html")
        #expect(deep.matches("docs/a.html"))
        #expect(deep.matches("docs/x/y/a.html"))
        let folder = try Glob("/scifact/qrels/")
        #expect(folder.matches("scifact/qrels/test.tsv"))
        #expect(try Glob("**/queries.jsonl").matches("scifact/queries.jsonl"))
        #expect(try Glob("**/queries.jsonl").matches("queries.jsonl"))
    }

    @Test func classesQuestionMarksAndEscapes() throws {
        #expect(try Glob("file[0-9].txt").matches("file7.txt"))
        #expect(!(try Glob("file[!0-9].txt").matches("file7.txt")))
        #expect(try Glob("file[!0-9].txt").matches("fileA.txt"))
        #expect(try Glob("?.md").matches("a.md"))
        #expect(!(try Glob("?.md").matches("ab.md")))
        #expect(try Glob("\\*.md").matches("*.md"))
        #expect(!(try Glob("\\*.md").matches("a.md")))
        #expect(throws: GlobError.self) { try Glob("file[0-9.txt") }
        #expect(throws: GlobError.self) { try Glob("/") }
    }
}

@Suite struct JSONLLoaderTests {
    @Test func readsBEIRRecordsAndReportsBadLines() throws {
        let text = """
            {"_id": "4983", "title": "Microstructural development", "text": "Alterations of the architecture.", "metadata": {}}
            {"_id": 17, "title": "", "text": "Numeric ids are accepted."}

            not json
            {"title": "no id", "text": "x"}
            {"_id": "empty", "title": "", "text": "  "}
            ["an", "array"]
            {"_id": "last", "text": "Line without a newline at the end."}
            """
        let lines = Array(JSONLLoader().lines(of: Data(text.utf8)))
        #expect(lines.count == 7)
        guard case .document(let first) = lines[0], case .document(let second) = lines[1], case .document(let last) = lines[6]
        else {
            Issue.record("expected documents at lines 1, 2 and 8")
            return
        }
        #expect(first.id == "4983")
        #expect(first.blocks.map(\.text) == ["Microstructural development", "Alterations of the architecture."])
        #expect(first.blocks.first?.kind == .heading(level: 1))
        #expect(first.line == 1 && first.bytes.lowerBound == 0)
        #expect(second.id == "17" && second.blocks.map(\.text) == ["Numeric ids are accepted."])
        #expect(last.line == 8)
        #expect(last.bytes.upperBound == text.utf8.count)
        let malformed = lines.compactMap { line -> Int? in
            if case .malformed(let number, _) = line { return number }
            return nil
        }
        #expect(malformed == [4, 5, 6, 7])
        // The same line always hashes the same; another line does not.
        #expect(first.contentHash != second.contentHash)
        guard case .document(let again) = Array(JSONLLoader().lines(of: Data(text.utf8)))[0] else { return }
        #expect(again.contentHash == first.contentHash)
    }
}
