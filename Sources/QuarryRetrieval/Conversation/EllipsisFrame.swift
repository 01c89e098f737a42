/// Fills an ellipsis ("And of a single BLOB?", "What about PostgreSQL?") into the question before
/// it, in the place of the part it stands parallel to.
///
/// The fragment's first word decides the place:
/// - a preposition: the previous question's phrase after the same preposition ("the maximum size
///   *of an SQLite database*" → "of a single BLOB"), or after one it may trade places with
///   ("*between database connections*" → "within one connection"); with neither, the fragment is
///   added at the end of the previous question;
/// - a name: a name of the previous question, with its articles: the first one the conversation
///   did not also name in an earlier turn (the conversation's constant setting, like the product
///   every question is about, is what a "what about X" keeps, not what it trades), else the first;
/// - a verb with its object ("And turn a timestamp into a date?"): the previous question's verb
///   (the word after "I", "you", "we" or "to") and everything after it;
/// - a short noun phrase ("And an object?"): the previous question's first noun phrase that has
///   an article and follows no preposition; only its head noun when names come before it ("a
///   JSON array" → "a JSON object").
///
/// Names the filling pushed out of a preposition's phrase or a verb's object stay, in brackets
/// ("And turn a timestamp into a date?" after "… in SQLite?" → "How do I turn a timestamp into
/// a date (SQLite)?"), unless the fragment names something itself. Anything else (a gerund, a
/// phrase with a clause of its own) is not filled: the rewriter carries terms instead.
enum EllipsisFrame {
    /// The previous question with `fragment` of `question` in place, and the previous question's
    /// tokens it replaced; `nil` when there is no clear place.
    /// - Parameter anchors: keys of names earlier turns also hold.
    static func fill(
        _ fragment: Range<Int>, of question: QuestionText, into previous: QuestionText, anchors: Set<String>
    ) -> (text: String, replaced: Range<Int>)? {
        let tokens = previous.tokens
        let core = coreEnd(of: tokens)
        let asks = (0..<core).contains { tokens[$0].is(RewriteLexicon.auxiliaries) || tokens[$0].is(RewriteLexicon.questionWords) }
        guard asks, let firstWord = fragment.first(where: { question.tokens[$0].isWord }) else { return nil }
        let first = question.tokens[firstWord]
        let filling = question.text(of: firstWord..<fragment.upperBound)
        let words = (firstWord..<fragment.upperBound).filter { question.tokens[$0].isWord }
        let terms = previous.terms.filter { $0.tokens.upperBound <= core && !$0.bracketed }
        let fragmentHasName = words.contains { question.tokens[$0].isName }

        if first.is(RewriteLexicon.prepositions) {
            // A preposition's phrase: up to the next preposition (but "of"), clause word or mark;
            // one with no content word is a particle ("turn it *on*"), no phrase.
            func phrase(from start: Int) -> Range<Int>? {
                var end = start + 1
                while end < core, tokens[end].isWord,
                    !(tokens[end].is(RewriteLexicon.prepositions) && !tokens[end].is(["of"])),
                    !tokens[end].is(RewriteLexicon.questionWords), !tokens[end].is(RewriteLexicon.auxiliaries),
                    !(tokens[end].is(RewriteLexicon.conjunctions) && !tokens[end].is(["and", "or"]))
                {
                    end += 1
                }
                return (start + 1..<end).contains { tokens[$0].isContent } ? start..<end : nil
            }
            let same = (0..<core).reversed().lazy.filter { tokens[$0].is([first.key]) }.compactMap(phrase).first
            let traded = RewriteLexicon.interchangeablePrepositions.contains(first.key)
                ? (0..<core).reversed().lazy.filter { tokens[$0].is(RewriteLexicon.interchangeablePrepositions) }.compactMap(phrase).first
                : nil
            guard let range = same ?? traded else {
                return (splice(previous, at: core..<core, with: " " + filling), core..<core)
            }
            return (keepingNames(of: previous, replaced: range, in: splice(previous, at: range, with: filling), unless: fragmentHasName), range)
        }

        if fragmentHasName {
            let names = terms.filter(\.isName)
            guard let target = names.first(where: { !anchors.contains($0.key) }) ?? names.first else { return nil }
            let possessive = tokens[target.tokens.upperBound - 1].isPossessive
            let range = target.phraseStart..<target.tokens.upperBound
            return (splice(previous, at: range, with: filling + (possessive ? "'s" : "")), range)
        }

        let second = words.count > 1 ? question.tokens[words[1]] : nil
        let verbFirst = !first.is(RewriteLexicon.determiners) && Double(first.key) == nil && !first.key.hasSuffix("ing")
            && (second.map { $0.is(RewriteLexicon.determiners) || $0.is(RewriteLexicon.subjectPronouns) || $0.is(RewriteLexicon.prepositions) } ?? false)
        let subjects = RewriteLexicon.personal.union(["to"])
        if verbFirst,
            let verb = (1..<max(1, core)).first(where: {
                tokens[$0 - 1].is(subjects) && tokens[$0].isWord && !tokens[$0].isName
                    && !tokens[$0].is(RewriteLexicon.auxiliaries) && !tokens[$0].is(RewriteLexicon.determiners)
                    && !tokens[$0].is(RewriteLexicon.prepositions) && !tokens[$0].is(RewriteLexicon.subjectPronouns)
            })
        {
            let range = verb..<core
            return (keepingNames(of: previous, replaced: range, in: splice(previous, at: range, with: filling), unless: fragmentHasName), range)
        }

        let clause = words.contains { question.tokens[$0].is(["that", "which", "who", "whose", "where", "when"]) }
        if !verbFirst, words.count <= 4, !clause,
            let target = terms.first(where: {
                !$0.verbLike && !$0.afterPreposition && $0.nounStart < $0.nounTokens.lowerBound && tokens[$0.nounStart].is(RewriteLexicon.articles)
            })
        {
            // A fragment without a name trades the head noun and keeps the names before it:
            // "a JSON array" and "an object" give "a JSON object".
            let head = target.nounTokens.upperBound - 1
            let bare = words.drop { question.tokens[$0].is(RewriteLexicon.determiners) }
            if target.nounTokens.count > 1, (target.nounTokens.lowerBound..<head).contains(where: { tokens[$0].isName }), let start = bare.first {
                return (splice(previous, at: head..<(head + 1), with: question.text(of: start..<fragment.upperBound)), head..<(head + 1))
            }
            let range = target.nounStart..<target.nounTokens.upperBound
            return (splice(previous, at: range, with: filling), range)
        }
        return nil
    }

    /// `text` with the names of `previous`'s tokens `replaced` that it no longer holds added in
    /// brackets ("in SQLite" of "how do I get the last day of the month in SQLite", replaced by
    /// "turn a timestamp into a date"); not when the fragment names something itself, which may
    /// be what it trades them for ("And in PostgreSQL?").
    static func keepingNames(of previous: QuestionText, replaced: Range<Int>, in text: String, unless fragmentHasName: Bool) -> String {
        guard !fragmentHasName else { return text }
        let present = Set(QuestionText.foldedWords(text))
        var names: [String] = []
        for index in replaced where previous.tokens[index].isWord && previous.tokens[index].isName {
            let stem = previous.tokens[index].stem
            if !QuestionText.foldedWords(stem).allSatisfy(present.contains), !names.contains(stem) { names.append(stem) }
        }
        return names.isEmpty ? text : DeterministicRewriter.appending(names, to: text)
    }

    /// Where a question's own words end: before its closing marks and a bracketed group of
    /// carried terms that ends it.
    static func coreEnd(of tokens: [TextToken]) -> Int {
        var end = FollowUpSignals.contentEnd(of: tokens)
        guard end > 0, tokens[end - 1].key == ")" else { return end }
        var depth = 0
        while end > 0 {
            end -= 1
            if tokens[end].key == ")" { depth += 1 }
            if tokens[end].key == "(" {
                depth -= 1
                if depth == 0 { return end }
            }
        }
        return FollowUpSignals.contentEnd(of: tokens)
    }

    /// `question`'s text with tokens `range` replaced by `text` (an empty range: `text` inserted
    /// right after the token before it).
    static func splice(_ question: QuestionText, at range: Range<Int>, with text: String) -> String {
        let scalars = question.text.unicodeScalars
        let tokens = question.tokens
        let start: String.Index
        let end: String.Index
        if range.isEmpty {
            start = range.lowerBound > 0 ? tokens[range.lowerBound - 1].range.upperBound : scalars.startIndex
            end = start
        } else {
            start = tokens[range.lowerBound].range.lowerBound
            end = tokens[range.upperBound - 1].range.upperBound
        }
        return String(Substring(scalars[..<start])) + text + String(Substring(scalars[end...]))
    }
}
