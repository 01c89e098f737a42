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

    /// Whether one of the words occurs among the `window` words that end before `index`.
    /// Only the 80 scalars before `index` are looked at, so a long text costs no more.
    func occur(in text: ScannedText, before index: Int) -> Bool {
        var i = index - 1
        let floor = max(0, index - 80)
        var seen = 0
        while i >= floor && seen < window {
            while i >= floor && !text.isWordCharacter(i) { i -= 1 }
            guard i >= floor else { break }
            let end = i + 1
            while i >= floor && text.isWordCharacter(i) { i -= 1 }
            seen += 1
            if end - (i + 1) <= 24, words.contains(text.string(i + 1, end).lowercased()) { return true }
        }
        return false
    }
}
