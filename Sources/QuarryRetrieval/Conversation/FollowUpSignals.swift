/// What makes a question lean on the turns before it, as `DeterministicRewriter` reads it.
struct FollowUpSignals {
    /// How much a question needs from the conversation.
    enum Strength: Int, Comparable {
        /// Self-contained: names its own subject and points back at nothing.
        case none
        /// Names no subject of its own (no name), but points back at nothing.
        case weak
        /// Says it continues ("… too?", "… instead?").
        case moderate
        /// Points back (a pronoun, "what about …", "and …", a fragment) or has no content word.
        case strong

        static func < (a: Strength, b: Strength) -> Bool { a.rawValue < b.rawValue }
    }

    /// A word pointing back at something named earlier.
    struct Reference {
        enum Kind {
            /// "it", "they", "them", "he", "him", "she".
            case pronoun
            /// "its", "their", "his", "her".
            case possessive
            /// "itself", "themselves": points inside its own clause.
            case reflexive
            /// "that", "this" standing alone, "that output", "such a database", "the same",
            /// "the former", "there".
            case pointer
            /// "one", "ones" standing for a noun ("when should I use one").
            case one
        }

        var token: Int
        var kind: Kind
        /// Whether what it points at is named earlier in the question itself, before a clause
        /// break ("PostgreSQL has MVCC; how does *it* work?").
        var local: Bool
        /// Whether the antecedent may stand in its place ("which *one*" cannot).
        var replaceable: Bool
    }

    var question: QuestionText
    /// A first word continuing the previous question ("And", "So", "Also"), and a comma after it.
    var opener: Range<Int>?
    /// Tokens of the ellipsis when the question is not a full one: after "what about", "and",
    /// or the whole question when it is a short fragment ("Within one connection?").
    var fragment: Range<Int>?
    var references: [Reference]
    /// "too", "instead", "else", "either", "otherwise", "as well"; "still", "again" without a
    /// name of its own.
    var continues: Bool
    var strength: Strength

    init(_ question: QuestionText) {
        self.question = question
        let tokens = question.tokens
        let words = tokens.indices.filter { tokens[$0].isWord }
        var opener: Range<Int>?
        var fragmentStart: Int?
        if let first = words.first {
            var next = first
            if tokens[first].is(RewriteLexicon.openers) {
                next = first + 1
                if next < tokens.count, tokens[next].key == "," { next += 1 }
                opener = first..<next
            }
            if next + 1 < tokens.count, tokens[next].isWord, tokens[next + 1].isWord,
                RewriteLexicon.openerPairs.contains([tokens[next].key, tokens[next + 1].key]),
                !tokens[next].isName, !tokens[next + 1].isName
            {
                fragmentStart = next + 2
            } else if opener != nil {
                fragmentStart = next
            }
        }
        self.opener = opener

        let end = Self.contentEnd(of: tokens)
        let asks = { (range: Range<Int>) in
            range.contains { tokens[$0].is(RewriteLexicon.auxiliaries) || tokens[$0].is(RewriteLexicon.questionWords) }
        }
        if let start = fragmentStart, start < end, !asks(start..<end) {
            fragment = start..<end
        } else if fragmentStart == nil, words.count <= 3, end > 0, !asks(0..<end) {
            fragment = 0..<end
        } else if fragmentStart == nil, let first = words.first, !asks(0..<end), words.count <= 8,
            tokens[first].is(RewriteLexicon.prepositions) || tokens[first].is(["only", "just", "even", "not"])
        {
            fragment = 0..<end
        } else {
            fragment = nil
        }

        references = Self.references(in: question)
        let hasNames = question.hasNames
        let content = question.terms.contains { !$0.verbLike }
        let bare = words.allSatisfy { tokens[$0].is(RewriteLexicon.questionWords.union(["so", "not", "exactly", "then", "else"])) }
        continues = words.contains { index in
            let token = tokens[index]
            if token.is(["too", "instead", "else", "either", "otherwise", "afterwards"]) { return true }
            if token.is(["still", "again", "anymore"]) { return !hasNames }
            return token.key == "well" && index > 0 && tokens[index - 1].key == "as"
        }
        let unresolved = references.contains { !$0.local }
        let switched = hasNames && !references.isEmpty && !unresolved
        if unresolved || bare || fragment != nil || (opener != nil && !switched) || !content || (words.count <= 3 && !hasNames) {
            strength = .strong
        } else if continues && !switched {
            strength = .moderate
        } else if !hasNames {
            strength = .weak
        } else {
            strength = .none
        }
    }

    /// Whether the question has a definite noun phrase ("the child columns"): something known
    /// from before.
    var hasDefiniteNoun: Bool {
        let tokens = question.tokens
        return tokens.indices.contains { index in
            tokens[index].is(["the"]) && index + 1 < tokens.count && tokens[index + 1].isContent
        }
    }

    /// The end of a question's words: before its closing marks ("?", ".", "!").
    static func contentEnd(of tokens: [TextToken]) -> Int {
        var end = tokens.count
        while end > 0, tokens[end - 1].kind == .mark, ["?", ".", "!", "\u{FF1F}", "\u{3002}"].contains(tokens[end - 1].key) { end -= 1 }
        return end
    }

    static func references(in question: QuestionText) -> [Reference] {
        let tokens = question.tokens
        var references: [Reference] = []
        func word(_ index: Int) -> TextToken? { index >= 0 && index < tokens.count && tokens[index].isWord ? tokens[index] : nil }
        for (index, token) in tokens.enumerated() where token.isWord && !token.isName {
            let previous = word(index - 1)
            let next = word(index + 1)
            let kind: Reference.Kind
            var replaceable = true
            switch token.key {
            case "it" where isExpletive(index, in: tokens):
                continue
            case "her":
                kind = next?.isContent == true ? .possessive : .pronoun
            case _ where RewriteLexicon.subjectPronouns.contains(token.key):
                kind = .pronoun
            case _ where RewriteLexicon.possessivePronouns.contains(token.key):
                kind = .possessive
            case _ where RewriteLexicon.reflexivePronouns.contains(token.key):
                kind = .reflexive
            case "that", "this", "these", "those":
                // "words that start with", "a function that checks": a relative pronoun after
                // a noun; "so that", "such that": a conjunction.
                if previous.map({ $0.isContent || $0.is(["so", "such", "now", "given", "than"]) }) ?? false { continue }
                if token.key == "those", next.map({ $0.is(["that", "which", "who", "of", "with"]) }) ?? false { continue }
                kind = .pointer
            case "one":
                // A numeral before a noun ("one row"), or "one of".
                if next.map({ $0.isContent || $0.is(["of"]) }) ?? false { continue }
                kind = .one
                replaceable = !(previous.map { $0.is(["which", "the", "each", "every", "any", "no", "another", "other", "this", "that", "no"]) } ?? false)
            case "ones":
                kind = .one
            case "such":
                guard let next, !next.is(["as"]) else { continue }
                kind = .pointer
            case "same":
                // "the same" alone ("does the same apply"), not "at the same time".
                guard previous?.key == "the" else { continue }
                if let next, next.isContent, !next.is(["apply", "applies", "hold", "holds", "go", "goes"]) { continue }
                kind = .pointer
            case "former", "latter", "aforementioned":
                kind = .pointer
            case "there":
                // Existential ("is there", "there are") is not a place.
                if token.clitic == "s" || (previous.map { $0.is(RewriteLexicon.auxiliaries) || $0.is(["out", "over", "up", "in"]) } ?? true)
                    || (next.map { $0.is(RewriteLexicon.auxiliaries) } ?? false)
                {
                    continue
                }
                kind = .pointer
            default:
                continue
            }
            references.append(
                Reference(token: index, kind: kind, local: isLocal(index, kind: kind, in: question), replaceable: replaceable)
            )
        }
        return references
    }

    /// "it" that points at nothing: "is it safe to …", "it is possible that …".
    static func isExpletive(_ index: Int, in tokens: [TextToken]) -> Bool {
        let before = index > 0 && tokens[index - 1].is(["is", "was", "isn", "wasn", "would", "will"])
        let after = (index + 1 < tokens.count && tokens[index + 1].is(["is", "was", "would", "will", "isn"])) || tokens[index].clitic == "s"
        guard before || after else { return false }
        let window = tokens[(index + 1)..<min(tokens.count, index + 5)]
        return window.contains { $0.is(["to", "that", "whether", "if"]) }
    }

    /// Whether a reference's antecedent is named earlier in the question: before a clause break
    /// for pronouns ("PostgreSQL has MVCC; how does it work"), anywhere before it for reflexives
    /// ("when does the checkpoint run by itself").
    static func isLocal(_ index: Int, kind: Reference.Kind, in question: QuestionText) -> Bool {
        let tokens = question.tokens
        let nouns = question.terms.filter { !$0.verbLike && $0.tokens.upperBound <= index }
        if kind == .reflexive { return !nouns.isEmpty }
        // "its" after the subject of its own clause: "if the disk lies about having flushed its
        // writes"; not after "I" ("can I use a WITH clause in its body") nor a "which" noun
        // ("which datatypes may its columns have").
        if kind == .possessive, let subject = nouns.first, !subject.afterPreposition,
            subject.isName || subject.phraseStart < subject.tokens.lowerBound,
            !(0..<index).contains(where: { tokens[$0].is(RewriteLexicon.personal) }),
            !(subject.phraseStart > 0 && tokens[subject.phraseStart - 1].is(RewriteLexicon.questionWords))
        {
            return true
        }
        guard let firstNoun = nouns.first else { return false }
        return (firstNoun.tokens.upperBound..<index).contains { position in
            let token = tokens[position]
            if token.kind == .mark { return [",", ";", ":", ".", "?", "!"].contains(token.key) }
            if token.is(RewriteLexicon.clauseBreaks) { return true }
            guard token.is(RewriteLexicon.coordinators), position + 1 < tokens.count else { return false }
            let next = tokens[position + 1]
            return next.is(RewriteLexicon.questionWords) || next.is(RewriteLexicon.auxiliaries) || next.is(RewriteLexicon.personal)
                || next.is(RewriteLexicon.subjectPronouns)
        }
    }
}
