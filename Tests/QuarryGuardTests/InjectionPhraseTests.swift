@testable import QuarryGuard
import Testing

@Suite struct InjectionPhraseTests {
    private func matches(_ pattern: String, _ text: String) -> Bool {
        let compiled = PhrasePattern(pattern)
        let words = InjectionText(text)
        return words.words.indices.contains { compiled.matches(words, at: $0) }
    }

    @Test func gapsAllowThatManyWordsAndNoMore() {
        #expect(matches("ignore ~2 instructions", "ignore the above instructions"))
        #expect(!matches("ignore ~2 instructions", "ignore all of the above instructions"))
        #expect(!matches("ignore instructions", "ignore the instructions"))
    }

    @Test func gapsStopAtSentencesUnlessDoubled() {
        #expect(!matches("ignore ~4 instructions", "Ignore it. The instructions follow."))
        #expect(matches("ignore ~~4 instructions", "Ignore it. The instructions follow."))
    }

    @Test func prefixesNegationAndAnchor() {
        #expect(matches("instruction* ~1 above", "the instructions above"))
        #expect(matches("now you are !ready", "Now you are Ted."))
        #expect(!matches("now you are !ready", "Now you are ready."))
        #expect(matches("^ act as", "Please listen. Act as a terminal."))
        #expect(!matches("^ act as", "The rowid can act as an alias."))
    }

    @Test func normalisationFoldsWhatAttackersVary() {
        let text = InjectionText("Prüfen Sie — DON'T  stop.\nGROẞE 1gn0re іgnore\u{200B}d")
        #expect(text.words == ["prufen", "sie", "dont", "stop", "grosse", "ignore", "ignored"])
        #expect(text.sentence == [0, 0, 0, 0, 1, 1, 1])
        #expect(text.zeroWidthCount == 1)
        #expect(text.mixedScriptWords == 1)
    }

    @Test func everyPhraseCompilesToSlots() {
        for (signal, phrases) in InjectionPhrases.phrases {
            for phrase in phrases {
                #expect(!PhrasePattern(phrase).slots.isEmpty, "\(signal): \(phrase)")
            }
        }
        #expect(InjectionPhrases.index.count == InjectionPhrases.phrases.values.map(\.count).reduce(0, +))
    }
}
