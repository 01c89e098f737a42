/// Splits prose into sentences: after `.`, `!` or `?` (and closing quotes or brackets) followed
/// by white space and a capital letter, digit, quote or bracket, unless the word before is a
/// common abbreviation or a single letter (initials, "e.g.").
public enum SentenceSplitter {
    private static let abbreviations: Set<String> = [
        "e.g", "i.e", "etc", "vs", "cf", "al", "fig", "eq", "no", "mr", "mrs", "ms", "dr", "prof",
        "st", "jr", "sr", "approx", "resp", "ref", "vol", "pp", "inc", "ltd", "co",
    ]

    /// The sentences of `text`, trimmed, in order; empty sentences are dropped.
    public static func split(_ text: String) -> [String] {
        var sentences: [String] = []
        let scalars = Array(text.unicodeScalars)
        var start = 0
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            if c == "." || c == "!" || c == "?" {
                var end = i + 1
                while end < scalars.count, ")\"'”’]".unicodeScalars.contains(scalars[end]) { end += 1 }
                if end < scalars.count, isSpace(scalars[end]) {
                    var next = end
                    while next < scalars.count, isSpace(scalars[next]) { next += 1 }
                    if next < scalars.count, startsSentence(scalars[next]), !(c == "." && endsInAbbreviation(scalars, before: i)) {
                        append(scalars[start..<end], to: &sentences)
                        start = next
                        i = next
                        continue
                    }
                }
            }
            i += 1
        }
        append(scalars[start..<scalars.count], to: &sentences)
        return sentences
    }

    /// The sentences of an answer that cites numbered sources, in order, each with the citation
    /// markers that close it.
    ///
    /// Lines are split first (list items are sentences of their own), then prose. Markers that
    /// open a sentence belong to the sentence before (`… end. [2] Next …` → `… end. [2]`,
    /// `Next …`). With `markersEndSentences`, a marker that a capitalised word follows also ends
    /// a sentence without a full stop (`… utc [1] A similar …`): the faithfulness scorer reads
    /// claims that way, while the answer check counts sentences as the model punctuated them.
    /// Headings and labels are left in; callers decide what counts as a claim.
    public static func answerSentences(_ answer: String, markersEndSentences: Bool = false) -> [String] {
        var sentences: [String] = []
        for line in answer.split(whereSeparator: \.isNewline) {
            let pieces = markersEndSentences ? CitationMarkers.splittingAfterMarkers(String(line)) : [String(line)]
            for sentence in pieces.flatMap(split) {
                let (leading, rest) = CitationMarkers.leadingMarkers(of: sentence)
                if !leading.isEmpty, !sentences.isEmpty {
                    sentences[sentences.count - 1] += " " + leading
                    if !rest.isEmpty { sentences.append(rest) }
                } else {
                    sentences.append(sentence)
                }
            }
        }
        return sentences
    }

    private static func append(_ slice: ArraySlice<Unicode.Scalar>, to sentences: inout [String]) {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: slice)
        let sentence = String(view).trimmingWhitespace()
        if !sentence.isEmpty { sentences.append(sentence) }
    }

    private static func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }

    private static func startsSentence(_ c: Unicode.Scalar) -> Bool {
        c.properties.isUppercase || ("0"..."9").contains(c) || "\"'“‘([".unicodeScalars.contains(c)
    }

    private static func endsInAbbreviation(_ scalars: [Unicode.Scalar], before index: Int) -> Bool {
        var start = index
        while start > 0, !isSpace(scalars[start - 1]), scalars[start - 1] != "(" { start -= 1 }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[start..<index])
        let word = String(view).lowercased()
        if word.unicodeScalars.count == 1, word.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic }) { return true }
        return abbreviations.contains(word)
    }
}
