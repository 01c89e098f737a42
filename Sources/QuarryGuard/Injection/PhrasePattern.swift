/// A phrase to find in an `InjectionText`'s words: a sequence of slots, each a set of words, with
/// room for a few other words between slots.
///
/// Written as a small pattern language, one pattern a string, slots separated by spaces:
/// - `ignore|disregard` — a slot: any of the words, `|`-separated;
/// - `instruction*` — a word ending in `*` matches every word it begins;
/// - `!ready|able` — any one word except these;
/// - `~3` — up to three other words may come before the next slot, within the sentence;
/// - `~~3` — likewise, but the next slot may be in a following sentence;
/// - `^` (first, alone) — the first slot must be the first word of its sentence.
///
/// Words in patterns are written as `InjectionText` normalises them: lower case, no diacritics,
/// no apostrophes ("vergiss", "ursprunglichen", "dont").
struct PhrasePattern: Sendable {
    /// One position of the phrase.
    struct Slot: Sendable {
        /// Whole words this slot accepts.
        var words: Set<String> = []
        /// Prefixes this slot accepts (from words written with a trailing `*`).
        var prefixes: [String] = []
        /// How many other words may stand between the previous slot and this one.
        var gapBefore = 0
        /// Whether the gap before this slot may cross a sentence boundary.
        var crossesSentences = false
        /// Whether the slot accepts every word except `words` and `prefixes`.
        var negated = false

        func accepts(_ word: String) -> Bool {
            var listed = words.contains(word)
            if !listed {
                for prefix in prefixes where word.utf8.starts(with: prefix.utf8) {
                    listed = true
                    break
                }
            }
            return listed != negated
        }
    }

    /// The slots, in order; never empty for a pattern with at least one word.
    let slots: [Slot]
    /// Whether the first slot must open a sentence.
    let anchoredAtSentenceStart: Bool
    /// The source text, for messages and tests.
    let source: String

    /// Reads a pattern written in the language above. Every string is a pattern; an empty one
    /// matches nothing.
    init(_ source: String) {
        self.source = source
        var slots: [Slot] = []
        var anchored = false
        var gap = 0
        var crosses = false
        for part in source.split(separator: " ") {
            if part == "^" && slots.isEmpty {
                anchored = true
            } else if part.hasPrefix("~~"), let n = Int(part.dropFirst(2)) {
                gap = n; crosses = true
            } else if part.hasPrefix("~"), let n = Int(part.dropFirst()) {
                gap = n; crosses = false
            } else {
                var slot = Slot(gapBefore: gap, crossesSentences: crosses, negated: part.hasPrefix("!"))
                for alternative in part.drop(while: { $0 == "!" }).split(separator: "|") {
                    if alternative.hasSuffix("*") {
                        slot.prefixes.append(String(alternative.dropLast()))
                    } else {
                        slot.words.insert(String(alternative))
                    }
                }
                slots.append(slot)
                gap = 0; crosses = false
            }
        }
        self.slots = slots
        self.anchoredAtSentenceStart = anchored
    }

    /// Whether the phrase occurs in `text` with its first slot at word `start`.
    func matches(_ text: InjectionText, at start: Int) -> Bool {
        guard let first = slots.first, start < text.words.count, first.accepts(text.words[start]) else { return false }
        if anchoredAtSentenceStart && !text.startsSentence[start] { return false }
        return matchRest(text, slot: 1, after: start)
    }

    private func matchRest(_ text: InjectionText, slot index: Int, after position: Int) -> Bool {
        guard index < slots.count else { return true }
        let slot = slots[index]
        let last = min(text.words.count - 1, position + 1 + slot.gapBefore)
        guard position + 1 <= last else { return false }
        for candidate in (position + 1)...last {
            if !slot.crossesSentences && text.sentence[candidate] != text.sentence[position] { break }
            if slot.accepts(text.words[candidate]) && matchRest(text, slot: index + 1, after: candidate) { return true }
        }
        return false
    }
}
