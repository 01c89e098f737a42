@testable import QuarryCore
import Testing

@Suite struct WordFoldingTests {
    @Test func wordsAreLowerCasedRunsOfLettersAndDigits() {
        // Diacritics fall away, precomposed or combining, as in FTS5's tokenizer.
        #expect(WordFolding.words(of: "WAL's 2nd café—x_y 3.14") == ["wal", "s", "2nd", "cafe", "x", "y", "3", "14"])
        #expect(WordFolding.words(of: "Beyonce\u{301} Ångström Łódź") == ["beyonce", "angstrom", "łodz"])
        #expect(WordFolding.words(of: " ,. ") == [])
    }

    @Test func foldingMeetsCommonInflections() {
        #expect(["indexes", "indexed", "indexing", "index"].map(WordFolding.fold) == ["index", "index", "index", "index"])
        #expect(WordFolding.fold("studies") == "stud")
        #expect(WordFolding.fold("process") == "process")
        #expect(WordFolding.fold("pages") == "pag")
        // Four characters or fewer are left alone.
        #expect(WordFolding.fold("uses") == "uses")
    }

    @Test func contentWordsLeaveOutStopWordsAndFold() {
        #expect(WordFolding.contentWords(of: "How do I use the indexes?", ignoring: StopWords.question) == ["index"])
        #expect(WordFolding.contentWords(of: "The index is not used.", ignoring: StopWords.claim) == ["index", "used"])
    }

    /// The byte-by-byte path for ASCII runs reads every text as the Unicode path alone does.
    @Test func theASCIIPathAgreesWithTheUnicodePath() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["WAL", "café", "Ångström", "—", " ", "3.14", "x_y", "ΣΊΣΥΦΟΣ", "naïve", "ß", "İstanbul", "e\u{301}", "'s", "\n", "日本語", "ǅ", "ﬁ", "A1b2", "..."]
        for _ in 0..<2_000 {
            let text = (0..<Int.random(in: 0...12, using: &generator)).map { _ in pieces.randomElement(using: &generator) ?? "" }.joined()
            #expect(WordFolding.words(of: text) == WordFolding.unicodeWords(of: text), "\(text.debugDescription)")
        }
    }
}
