/// Splits prose into sentences: after `.`, `!` or `?` (and closing quotes or brackets) followed
/// by white space and a capital letter, digit, quote or bracket, unless the word before is a
/// common abbreviation or a single letter (initials, "e.g.").
public enum SentenceSplitter {
    private static let abbreviations: Set<String> = [
        "e.g", "i.e", "etc", "vs", "cf", "al", "fig", "eq", "no", "mr", "mrs", "ms", "dr", "prof",
        "st", "jr", "sr", "approx", "resp", "ref", "vol", "pp", "inc", "ltd", "co",
    ]

    /// The paragraphs of `text`: the pieces between occurrences of a blank line (`\n\n`), as
    /// `components(separatedBy: "\n\n")` gives them (empty pieces kept), found scalar by scalar
    /// instead of by Foundation's string search, which cost a query's answer more than the split
    /// into sentences.
    public static func paragraphs(_ text: String) -> [String] {
        var pieces: [String] = []
        let view = text.unicodeScalars
        var start = view.startIndex
        var index = view.startIndex
        while index != view.endIndex {
            let next = view.index(after: index)
            if view[index] == "\n", next != view.endIndex, view[next] == "\n" {
                pieces.append(String(Substring(view[start..<index])))
                start = view.index(after: next)
                index = start
            } else {
                index = next
            }
        }
        pieces.append(String(Substring(view[start..<view.endIndex])))
        return pieces
    }

    /// The sentences of a passage: paragraph by paragraph (so that a heading never runs into the
    /// sentence below it), then `split`.
    public static func passageSentences(_ text: String) -> [String] {
        paragraphs(text).flatMap(split)
    }

    /// The sentences of `text`, trimmed, in order; empty sentences are dropped.
    public static func split(_ text: String) -> [String] {
        var sentences: [String] = []
        let view = text.unicodeScalars
        let scalars = Array(view)
        // Where each scalar starts in the text (and its end), so that a sentence is cut out of
        // the text as it is rather than rebuilt scalar by scalar.
        var offsets = Array(view.indices)
        offsets.append(view.endIndex)
        func append(_ range: Range<Int>) {
            let sentence = String(Substring(view[offsets[range.lowerBound]..<offsets[range.upperBound]])).trimmingWhitespace()
            if !sentence.isEmpty { sentences.append(sentence) }
        }
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
                        append(start..<end)
                        start = next
                        i = next
                        continue
                    }
                }
            }
            i += 1
        }
        append(start..<scalars.count)
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

    private static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c.isASCII ? c == " " || ("\t"..."\r").contains(c) : c.properties.isWhitespace
    }

    private static func startsSentence(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "\"" || c == "'" || c == "(" || c == "[" }
        return c.properties.isUppercase || c == "“" || c == "‘"
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
