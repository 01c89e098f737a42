import Foundation
import QuarryCore
import Testing

@Suite struct SentenceSplitterTests {
    /// `paragraphs` cuts where `components(separatedBy: "\n\n")` does, empty pieces included,
    /// on random texts of letters, spaces, newlines, stops and accented letters.
    @Test func paragraphsAreFoundationsComponents() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [String] = ["a", "B", " ", "\n", "\n", ".", "é", "e\u{301}", "\t"]
        for length in 0..<400 {
            let text = (0..<(length % 40)).map { _ in alphabet.randomElement(using: &generator)! }.joined()
            #expect(SentenceSplitter.paragraphs(text) == text.components(separatedBy: "\n\n"), "\(Array(text.unicodeScalars))")
        }
        #expect(SentenceSplitter.paragraphs("a\n\n\nb") == ["a", "\nb"])
        #expect(SentenceSplitter.paragraphs("a\n\n\n\nb") == ["a", "", "b"])
        #expect(SentenceSplitter.passageSentences("Title\n\nFirst one. Second one.") == ["Title", "First one.", "Second one."])
    }

    @Test func splitsOnSentenceEndsNotAbbreviations() {
        #expect(
            SentenceSplitter.split("WAL is fast. It uses e.g. a log file! Does it work? Yes. Dr. Hipp wrote it.")
                == ["WAL is fast.", "It uses e.g. a log file!", "Does it work?", "Yes.", "Dr. Hipp wrote it."]
        )
        #expect(SentenceSplitter.split("Version 3.14 is out. 42 tests ran.") == ["Version 3.14 is out.", "42 tests ran."])
        #expect(SentenceSplitter.split("  ") == [])
    }

    @Test func answerSentencesKeepTheMarkersThatCloseThem() {
        #expect(
            SentenceSplitter.answerSentences("Answer:\n- WAL lets readers work [1]\nIt is fast. [2] [3] Pages move [4].")
                == ["Answer:", "- WAL lets readers work [1]", "It is fast. [2] [3]", "Pages move [4]."]
        )
        // A marker a capitalised word follows ends a claim only when asked.
        let line = "start of day 15. utc [1] A similar effect occurs [2]."
        #expect(SentenceSplitter.answerSentences(line) == ["start of day 15. utc [1] A similar effect occurs [2]."])
        #expect(SentenceSplitter.answerSentences(line, markersEndSentences: true) == ["start of day 15. utc [1]", "A similar effect occurs [2]."])
        #expect(SentenceSplitter.answerSentences(" \n ") == [])
    }
}
