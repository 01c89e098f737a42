import QuarryCore

/// A word or a mark of a question, and where it is in the text.
struct TextToken {
    enum Kind { case word, mark }
    var kind: Kind
    /// Where the token is in its text (a function name's `()` included).
    var range: Range<String.Index>
    /// The word as written, without a possessive or contracted ending ("SQLite" of "SQLite's").
    var stem: String
    /// `stem` lower-cased; for a mark, the mark itself.
    var key: String
    /// The ending after an apostrophe, lower-cased ("s", "t", "re", …), or "".
    var clitic: String
    /// A name: ALLCAPS, a capital after the first letter, a capital other than at a sentence's
    /// start, a digit, dot or underscore inside a word with letters, or a function (`rank()`).
    var isName: Bool

    var isWord: Bool { kind == .word }
    var isPossessive: Bool { clitic == "s" && !RewriteLexicon.functionWords.contains(key) }
    /// A word that names something: a name, or a word of none of `RewriteLexicon`'s lists.
    var isContent: Bool { kind == .word && (isName || !RewriteLexicon.functionWords.contains(key)) }
    /// A word, no name, one of `words`.
    func `is`(_ words: Set<String>) -> Bool { kind == .word && !isName && words.contains(key) }
    /// A word, no name, one of `words` (a short list: no set is built).
    func `is`(_ words: [String]) -> Bool { kind == .word && !isName && words.contains(key) }
}

/// Splits questions into words and marks, keeping where each is so that words can be replaced
/// and the rest of the text kept as written.
enum RewriteTokenizer {
    private static let clitics: Set<String> = ["s", "t", "re", "ll", "ve", "d", "m"]

    static func tokens(of text: String) -> [TextToken] {
        let scalars = text.unicodeScalars
        var tokens: [TextToken] = []
        var sentenceStart = true
        var index = scalars.startIndex
        while index < scalars.endIndex {
            let scalar = scalars[index]
            guard isWordScalar(scalar) else {
                let next = scalars.index(after: index)
                if !(scalar.isASCII ? scalar == " " || scalar == "\n" || scalar == "\t" || scalar == "\r" : scalar.properties.isWhitespace) {
                    tokens.append(TextToken(kind: .mark, range: index..<next, stem: String(scalar), key: String(scalar), clitic: "", isName: false))
                    if ".?!:;".unicodeScalars.contains(scalar) { sentenceStart = true }
                }
                index = next
                continue
            }
            var end = scalars.index(after: index)
            while end < scalars.endIndex {
                if isWordScalar(scalars[end]) {
                    end = scalars.index(after: end)
                } else if isInner(scalars[end]), scalars.index(after: end) < scalars.endIndex, isWordScalar(scalars[scalars.index(after: end)]) {
                    end = scalars.index(after: end)
                } else {
                    break
                }
            }
            let wordEnd = end
            var isCall = false
            if end < scalars.endIndex, scalars[end] == "(" {
                let close = scalars.index(after: end)
                if close < scalars.endIndex, scalars[close] == ")" {
                    end = scalars.index(after: close)
                    isCall = true
                }
            }
            // The stem: the word without a possessive or contracted ending.
            var stemEnd = wordEnd
            var clitic = ""
            if let apostrophe = scalars[index..<wordEnd].firstIndex(where: { $0 == "'" || $0 == "\u{2019}" }) {
                let tail = String(Substring(scalars[scalars.index(after: apostrophe)..<wordEnd])).lowercased()
                if clitics.contains(tail) {
                    clitic = tail
                    stemEnd = apostrophe
                }
            }
            let stem = String(Substring(scalars[index..<stemEnd]))
            tokens.append(
                TextToken(
                    kind: .word, range: index..<end, stem: stem, key: stem.lowercased(), clitic: clitic,
                    isName: isCall || isName(scalars[index..<stemEnd], sentenceStart: sentenceStart)
                )
            )
            sentenceStart = false
            index = end
        }
        return tokens
    }

    /// Letters, digits and the marks that combine with them (so that a decomposed "é" stays
    /// one word).
    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = scalar.value
            return (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value)
        }
        if QuestionTokenizer.isWordScalar(scalar) { return true }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// Kept inside a word when a letter or digit follows: "v2.3", "max_tokens", "SQLite's",
    /// "write-ahead".
    static func isInner(_ scalar: Unicode.Scalar) -> Bool {
        QuestionTokenizer.isInner(scalar) || scalar == "-"
    }

    /// `QuestionTokenizer.isName` of each hyphen-separated part ("B-TREE" is a name,
    /// "write-ahead" is not); ASCII words are read without Unicode properties.
    static func isName(_ word: Substring.UnicodeScalarView, sentenceStart: Bool) -> Bool {
        var first = true
        for part in word.split(separator: "-") {
            if isNamePart(part, sentenceStart: sentenceStart && first) { return true }
            first = false
        }
        return false
    }

    static func isNamePart(_ part: Substring.UnicodeScalarView.SubSequence, sentenceStart: Bool) -> Bool {
        guard part.allSatisfy(\.isASCII) else { return QuestionTokenizer.isName(ArraySlice(part), sentenceStart: sentenceStart) }
        if part.count == 1 && part.first == "I" { return false }
        var letters = 0
        var upper = 0
        var digits = 0
        var upperAfterFirst = false
        var inner = false
        for (offset, scalar) in part.enumerated() {
            switch scalar.value {
            case 0x41...0x5A:
                letters += 1
                upper += 1
                if offset > 0 { upperAfterFirst = true }
            case 0x61...0x7A: letters += 1
            case 0x30...0x39: digits += 1
            default: inner = true
            }
        }
        if letters == 0 { return false }
        if digits > 0 || inner || upperAfterFirst { return true }
        if upper == letters && letters >= 2 { return true }
        return upper > 0 && !sentenceStart
    }
}

/// A term of a question: a name, a run of content words ("write-ahead logging", "SQLite
/// database", "WITHOUT ROWID table"), a verb, or a verb with its object ("drop a column").
struct QuestionTerm {
    /// As written (a lower-cased first letter when only a sentence's start capitalised it).
    var text: String
    /// The noun the term names, which may stand for a pronoun: `text` for a noun phrase, its
    /// object for a verb phrase ("a column" of "drop a column"), "" for a verb alone.
    var noun: String
    /// Its words, folded (`WordFolding`), which terms are compared by.
    var words: [String]
    /// Holds a name.
    var isName: Bool
    /// Comes after a preposition ("in *SQLite*"): less often what a question is about.
    var afterPreposition: Bool
    /// A verb alone, as far as word order tells ("Can I *drop* …", "words that *start*").
    var verbLike: Bool
    /// Inside brackets: an aside, or terms a rewrite carried.
    var bracketed: Bool
    /// Its tokens in the question.
    var tokens: Range<Int>
    /// Where its noun phrase starts: the first of the articles and determiners before it.
    var phraseStart: Int
    /// The tokens of `noun` (of the whole term but for a verb phrase's verb).
    var nounTokens: Range<Int>
    /// Where `noun`'s phrase starts, its articles included.
    var nounStart: Int
    /// Put in by a rewrite for a pronoun (outside brackets, in words the user did not write), or
    /// the first term a rewrite carried for a pointer it left in place.
    var inserted = false
    /// The folded words of `noun`; of the verb when there is no noun.
    var nounWords: [String] = []

    /// What a term is known by across turns: its noun ("drop a column" and "the column" are one).
    var key: String { (nounWords.isEmpty ? words : nounWords).joined(separator: " ") }
}

/// A question read for rewriting: its tokens and terms.
struct QuestionText {
    var text: String
    var tokens: [TextToken]
    var terms: [QuestionTerm]

    /// Reads `text`.
    /// - Parameter breaks: tokens that start a new term whatever precedes them (where a rewrite
    ///   inserted words into a question, so that a term never spans its own and inserted words).
    init(_ text: String, breaks: Set<Int> = []) {
        self.init(text, tokens: RewriteTokenizer.tokens(of: text), breaks: breaks)
    }

    init(_ text: String, tokens: [TextToken], breaks: Set<Int>) {
        self.text = text
        self.tokens = tokens
        self.terms = Self.terms(of: tokens, in: text, breaks: breaks)
    }

    /// A turn's question as retrieval read it, with a term break wherever its standalone form
    /// departs from what was asked.
    init(turn: ConversationTurn) {
        guard let standalone = turn.standalone, !standalone.isEmpty, standalone != turn.question else {
            self.init(turn.question)
            return
        }
        let asked = RewriteTokenizer.tokens(of: turn.question).map(\.key)
        let read = RewriteTokenizer.tokens(of: standalone)
        let kept = Self.commonSubsequence(read.map(\.key), asked)
        let breaks = Set(read.indices.filter { $0 > 0 && kept.contains($0) != kept.contains($0 - 1) })
        self.init(standalone, tokens: read, breaks: breaks)
        for index in terms.indices where !terms[index].bracketed && terms[index].tokens.allSatisfy({ !kept.contains($0) }) {
            terms[index].inserted = true
        }
        // A pointer the rewrite left in place ("when does *that* fail (drop a column, …)?")
        // stands for the first term it carried.
        let core = EllipsisFrame.coreEnd(of: tokens)
        if FollowUpSignals.references(in: self).contains(where: { !$0.local && $0.token < core }),
            let first = terms.firstIndex(where: { $0.bracketed && $0.tokens.lowerBound > core })
        {
            terms[first].inserted = true
        }
    }

    /// The folded content words of the question.
    var contentWords: Set<String> { Set(terms.flatMap(\.words)) }

    /// Whether the question has a name of its own.
    var hasNames: Bool { tokens.contains { $0.isWord && $0.isName } }

    /// The text of tokens `range`, as written.
    func text(of range: Range<Int>) -> String {
        guard let first = range.first, range.upperBound <= tokens.count, first < range.upperBound else { return "" }
        return String(Substring(text.unicodeScalars[tokens[first].range.lowerBound..<tokens[range.upperBound - 1].range.upperBound]))
    }

    /// Folded words of `text`, as terms are compared.
    static func foldedWords(_ text: String) -> [String] {
        WordFolding.words(of: text).map(WordFolding.fold)
    }

    /// Indices of `a` in a longest common subsequence of `a` and `b`.
    static func commonSubsequence(_ a: [String], _ b: [String]) -> Set<Int> {
        guard !a.isEmpty, !b.isEmpty else { return [] }
        var lengths = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lengths[i][j] = a[i] == b[j] ? lengths[i + 1][j + 1] + 1 : max(lengths[i + 1][j], lengths[i][j + 1])
            }
        }
        var kept: Set<Int> = []
        var i = 0
        var j = 0
        while i < a.count, j < b.count {
            if a[i] == b[j] {
                kept.insert(i)
                i += 1
                j += 1
            } else if lengths[i + 1][j] >= lengths[i][j + 1] {
                i += 1
            } else {
                j += 1
            }
        }
        return kept
    }

    /// The terms of a question, from its runs of content words:
    /// - a run ends at `breaks`; a possessive stays in its run ("Zürich's tram network");
    /// - a verb inside a run is a term of its own: a common verb after the run's first word
    ///   ("a STRICT table | change"), a word in "-ed" after it ("constraints | enforced"), the
    ///   first word after "I", "you", "we" or "to" ("can I | drop"), after a relative "that" or
    ///   "who" ("words that | start"), or in "-ing" before a name ("running | ANALYZE"); a common
    ///   verb first in a run and after no article, possessive or preposition ("when does that |
    ///   fail"); the first word after a modal that follows its subject ("what else can |
    ///   corrupt"); a
    ///   word in "-ed" that ends a run or stands alone (but "STORED *generated* columns" is a
    ///   noun phrase);
    /// - a verb followed by a noun phrase with an article, a name or several words is joined
    ///   to it: "drop a column", whose noun is "column" ("appear close" stays two terms).
    static func terms(of tokens: [TextToken], in text: String, breaks: Set<Int> = []) -> [QuestionTerm] {
        var segments: [(range: Range<Int>, verb: Bool, bracketed: Bool)] = []
        var items: [QuestionTerm] = []
        var depth = 0
        var index = 0
        while index < tokens.count {
            let token = tokens[index]
            if token.kind == .mark {
                if token.key == "(" || token.key == "[" { depth += 1 }
                if token.key == ")" || token.key == "]" { depth = max(0, depth - 1) }
                // A rewrite's carried terms: "(drop a column, SQLite)", one term per item.
                if depth == 1, token.key == "(" || token.key == "," {
                    var end = index + 1
                    while end < tokens.count, tokens[end].isWord { end += 1 }
                    if end < tokens.count, tokens[end].key == "," || tokens[end].key == ")", end > index + 1 {
                        if let item = bracketItem(index + 1..<end, in: tokens, text: text) { items.append(item) }
                        index = end
                        continue
                    }
                }
                index += 1
                continue
            }
            guard token.isContent else {
                index += 1
                continue
            }
            var end = index + 1
            while end < tokens.count, tokens[end].isContent, !breaks.contains(end) { end += 1 }
            for (range, verb) in split(index..<end, in: tokens) {
                segments.append((range, verb, depth > 0))
            }
            index = end
        }

        var terms: [QuestionTerm] = []
        var position = 0
        while position < segments.count {
            let segment = segments[position]
            let lead = leadingDeterminers(before: segment.range.lowerBound, in: tokens)
            let before = lead > 0 ? tokens[lead - 1] : nil
            var term = QuestionTerm(
                text: surface(of: segment.range, in: tokens, text: text), noun: "",
                words: segment.range.flatMap { foldedWords(tokens[$0].stem) }, isName: segment.range.contains { tokens[$0].isName },
                // "to" before a verb is an infinitive's, not a preposition; "what about X" asks
                // about X.
                afterPreposition: !segment.verb && (before.map { $0.is(RewriteLexicon.prepositions) } ?? false)
                    && !(before?.key == "about" && lead > 1 && tokens[lead - 2].is(["what", "how"])),
                verbLike: segment.verb,
                bracketed: segment.bracketed, tokens: segment.range, phraseStart: lead, nounTokens: segment.range, nounStart: lead
            )
            term.noun = segment.verb ? "" : term.text
            term.nounWords = segment.verb ? [] : term.words
            // A verb and the noun phrase right after it: "drop a column".
            if segment.verb, position + 1 < segments.count {
                let object = segments[position + 1]
                let objectLead = leadingDeterminers(before: object.range.lowerBound, in: tokens)
                let joins = objectLead > object.range.lowerBound - 1 ? object.range.count > 1 || object.range.contains { tokens[$0].isName } : true
                if !object.verb, object.bracketed == segment.bracketed, objectLead == segment.range.upperBound, joins,
                    !breaks.contains(object.range.lowerBound), !breaks.contains(objectLead)
                {
                    term.verbLike = false
                    term.noun = surface(of: object.range, in: tokens, text: text)
                    term.text = surface(of: segment.range.lowerBound..<object.range.upperBound, in: tokens, text: text)
                    term.words += object.range.flatMap { foldedWords(tokens[$0].stem) }
                    term.isName = term.isName || object.range.contains { tokens[$0].isName }
                    term.tokens = segment.range.lowerBound..<object.range.upperBound
                    term.nounTokens = object.range
                    term.nounWords = object.range.flatMap { foldedWords(tokens[$0].stem) }
                    term.nounStart = objectLead
                    position += 1
                }
            }
            terms.append(term)
            position += 1
        }
        return (terms + items).sorted { $0.tokens.lowerBound < $1.tokens.lowerBound }
    }

    /// One item of a bracketed list of terms, read whole: its noun is what follows its last
    /// article ("column" of "drop a column"), else the whole item.
    static func bracketItem(_ range: Range<Int>, in tokens: [TextToken], text: String) -> QuestionTerm? {
        guard let first = range.first(where: { tokens[$0].isContent }), let last = range.last(where: { tokens[$0].isContent }) else { return nil }
        let whole = first..<(last + 1)
        let article = whole.last { tokens[$0].is(RewriteLexicon.determiners) }
        let noun = article.map { ($0 + 1)..<(last + 1) } ?? whole
        let content = { (range: Range<Int>) in range.filter { tokens[$0].isContent }.flatMap { foldedWords(tokens[$0].stem) } }
        guard !noun.isEmpty else { return nil }
        var term = QuestionTerm(
            text: surface(of: whole, in: tokens, text: text), noun: surface(of: noun, in: tokens, text: text), words: content(whole),
            isName: whole.contains { tokens[$0].isName }, afterPreposition: false, verbLike: false, bracketed: true, tokens: whole,
            phraseStart: first, nounTokens: noun, nounStart: article ?? first
        )
        term.nounWords = content(noun)
        return term
    }

    /// A run of content words in noun phrases and verbs (`verb` true), as `terms` describes.
    static func split(_ run: Range<Int>, in tokens: [TextToken]) -> [(Range<Int>, Bool)] {
        func isVerb(_ index: Int) -> Bool {
            let token = tokens[index]
            guard !token.isName, token.clitic.isEmpty else { return false }
            if index == run.lowerBound {
                let before = index > 0 ? tokens[index - 1] : nil
                if before.map({ $0.is(RewriteLexicon.personal) || $0.is(["to"]) }) ?? false { return true }
                if let before, before.is(["that", "who"]), index > 1, tokens[index - 2].isContent { return true }
                if RewriteLexicon.commonVerbs.contains(token.key),
                    !(before.map { $0.is(RewriteLexicon.articles) || $0.is(RewriteLexicon.possessivePronouns) || $0.is(RewriteLexicon.prepositions) } ?? false)
                {
                    return true
                }
                // After a modal that follows its subject: "what else can *corrupt*".
                if let before, before.is(RewriteLexicon.modals), index > 1,
                    tokens[index - 2].is(RewriteLexicon.questionWords) || tokens[index - 2].is(["else"]) || tokens[index - 2].isContent
                {
                    return true
                }
                if token.key.hasSuffix("ing"), index + 1 < run.upperBound, tokens[index + 1].isName { return true }
                return run.count == 1 && token.key.utf8.count > 4 && token.key.hasSuffix("ed")
            }
            return RewriteLexicon.commonVerbs.contains(token.key) || (index == run.upperBound - 1 && token.key.utf8.count > 4 && token.key.hasSuffix("ed"))
        }
        var pieces: [(Range<Int>, Bool)] = []
        var start = run.lowerBound
        for index in run where isVerb(index) {
            if start < index { pieces.append((start..<index, false)) }
            pieces.append((index..<(index + 1), true))
            start = index + 1
        }
        if start < run.upperBound { pieces.append((start..<run.upperBound, false)) }
        return pieces
    }

    /// The first token of the articles and determiners right before `index`.
    static func leadingDeterminers(before index: Int, in tokens: [TextToken]) -> Int {
        var start = index
        while start > 0, tokens[start - 1].is(RewriteLexicon.determiners) { start -= 1 }
        return start
    }

    /// A term's words as written, the possessive ending of its last word left out, and its first
    /// letter lower-cased when only a sentence's start capitalised it.
    static func surface(of range: Range<Int>, in tokens: [TextToken], text: String) -> String {
        guard let first = range.first, let lastIndex = range.last else { return "" }
        let last = tokens[lastIndex]
        let end = last.clitic.isEmpty ? last.range.upperBound : text.unicodeScalars.index(last.range.lowerBound, offsetBy: last.stem.unicodeScalars.count)
        var surface = String(Substring(text.unicodeScalars[tokens[first].range.lowerBound..<end]))
        if !tokens[first].isName, let initial = surface.first, initial.isUppercase {
            surface = initial.lowercased() + surface.dropFirst()
        }
        return surface
    }
}
