/// Words that, shortly before a weak match, make it likely to be the personal data it looks
/// like ("tel" before a run of digits, "ssn" before nine digits). Presidio's recognisers raise
/// their scores the same way; the lists here follow theirs, with a few additions.
struct ContextWords: Sendable {
    /// The words, lower-cased.
    let words: Set<String>
    /// How many words before the match are looked at.
    let window: Int

    /// Creates a list of context words.
    init(_ words: [String], window: Int = 5) {
        self.words = Set(words.map { $0.lowercased() })
        self.window = window
    }

    /// Whether one of the words occurs among the `window` words that end before `index`
    /// (numbers between them are not counted).
    /// Only the 80 scalars before `index` are looked at, so a long text costs no more.
    func occur(in text: ScannedText, before index: Int) -> Bool {
        var i = index - 1
        let floor = max(0, index - 80)
        var seen = 0
        while i >= floor && seen < window {
            while i >= floor && !text.isWordCharacter(i) { i -= 1 }
            guard i >= floor else { break }
            let end = i + 1
            var hasLetter = false
            while i >= floor && text.isWordCharacter(i) {
                if !text.isDigit(i) { hasLetter = true }
                i -= 1
            }
            // Numbers do not use up the window: "call 555 1234 or 555 9876" is one phrase.
            guard hasLetter else { continue }
            seen += 1
            if end - (i + 1) <= 24, words.contains(text.string(i + 1, end).lowercased()) { return true }
        }
        return false
    }

    /// Whether one of the words occurs among the `window` words that start after `index`
    /// (for labels written after a number: "555 1234 (office)", "… fax").
    func occur(in text: ScannedText, after index: Int) -> Bool {
        var i = index
        let ceiling = min(text.count, index + 80)
        var seen = 0
        while i < ceiling && seen < window {
            while i < ceiling && !text.isWordCharacter(i) { i += 1 }
            guard i < ceiling else { break }
            let start = i
            while i < ceiling && text.isWordCharacter(i) { i += 1 }
            seen += 1
            if i - start <= 24, words.contains(text.string(start, i).lowercased()) { return true }
        }
        return false
    }
}
