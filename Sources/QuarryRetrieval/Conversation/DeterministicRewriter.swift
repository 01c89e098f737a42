import QuarryCore

/// Makes follow-ups standalone without a model, from the words of the earlier turns.
///
/// **Is it a follow-up?** (`FollowUpSignals`) A question leans on the conversation when it
/// - points back: "it", "they", "them", "its", "their", "he", "she", "this"/"that" standing
///   alone or before a noun ("that output"), "such a …", "the same", "the former", "one"/"ones"
///   standing for a noun ("when should I use one"), a place "there"; but not "it" in "is it safe
///   to …", not a relative "that" ("a function that …"), not "one row";
/// - continues or is elliptical: it opens with "and", "also", "so", "but", "or", "what about",
///   "how about"; it is a fragment ("Within one connection?", "And an object?"); it is a bare "why?"
///   or "how so?";
/// - has no content word ("How does it work?"), or at most three words and no name;
/// - says it continues: "too", "instead", "else", "either", "otherwise", "as well" ("still",
///   "again" only without a name of its own): carried lightly (at most 3 terms);
/// - names nothing of its own (no name: "Can transactions be nested?"): only names are carried,
///   at most 2 (with a definite noun, "the child columns", any term).
///
/// A question that names its own subject and points back at nothing comes back unchanged
/// (`.none`): a false rewrite costs retrieval more than a missed one.
///
/// **Topic switches.** A pronoun whose antecedent the question names itself, before a clause
/// break ("PostgreSQL has MVCC; how does it work?", "What is FTS5 and how do I enable it?"),
/// points back at nothing; when every pronoun of a question that has names of its own is such,
/// the question starts a new topic and stays unchanged, its openers and "too"s included. An
/// ellipsis naming something new ("What about PostgreSQL?") replaces a name of the previous
/// question rather than adding to it (see `EllipsisFrame`), and terms the question already has
/// are never carried.
///
/// **What is carried.** Terms of the earlier turns (`SalientTerms`): names and runs of content
/// words of each question (its standalone form when it has one), the most recent turns and the
/// recurring subjects first, after-preposition settings and verbs last; from answers, only names,
/// lightly. At most `maxCarriedTerms`, each scoring at least half the best one.
///
/// **How.** An elliptical fragment is filled into the previous question in the place of its
/// parallel part (`EllipsisFrame`). Otherwise the first pronoun that stands for a noun ("it",
/// "they", "its", "ones", …) is replaced by the noun the last question is most about (one a
/// rewrite put in for its own pronoun first, then its subject), else the most salient carried
/// noun ("does it need a lock" → "does the WAL file need a lock"); a leading "and"/"so"/"also"
/// is dropped, and
/// the other carried terms are added in brackets before the question mark: "How do I turn
/// write-ahead logging off (SQLite)?".
///
/// The rules read English; in other languages a question is rewritten only when it is a short
/// fragment without a name, and names (of any script) are carried as they are.
public struct DeterministicRewriter: FollowUpRewriter {
    /// The most terms a rewrite carries over.
    public static let maxCarriedTerms = 6

    /// Tokens of history read, the newest turns first.
    public let historyTokens: Int
    /// Counts a text's tokens.
    public let tokenCount: @Sendable (String) -> Int

    /// Creates a rewriter.
    /// - Parameters:
    ///   - historyTokens: tokens of history read, the newest turns first (each turn's standalone
    ///     question and the first two sentences of its answer).
    ///   - tokenCount: counts a text's tokens; a word-based estimate by default.
    public init(historyTokens: Int = 512, tokenCount: @escaping @Sendable (String) -> Int = DeterministicRewriter.approximateTokens) {
        self.historyTokens = historyTokens
        self.tokenCount = tokenCount
    }

    /// A quick token estimate: about four bytes of UTF-8 per token, at least one per word.
    public static func approximateTokens(_ text: String) -> Int {
        var words = 0
        var inWord = false
        for scalar in text.unicodeScalars {
            if scalar.isASCII ? scalar == " " || scalar == "\n" || scalar == "\t" || scalar == "\r" : scalar.properties.isWhitespace {
                inWord = false
            } else if !inWord {
                inWord = true
                words += 1
            }
        }
        return max(words, (text.utf8.count + 3) / 4)
    }

    /// Whether `question` leans on earlier turns by the rules above (pronouns, ellipsis,
    /// continuation words, no name or content word of its own).
    public static func needsContext(_ question: String) -> Bool {
        FollowUpSignals(QuestionText(question)).strength != .none
    }

    /// The standalone form of `question`.
    /// - Parameters:
    ///   - question: the question as asked.
    ///   - history: the earlier turns, oldest first.
    /// - Returns: the rewrite; `.none` when the question needs no context, the history is empty
    ///   or holds nothing to carry.
    public func rewrite(_ question: String, history: [ConversationTurn]) async throws -> FollowUpRewrite {
        rewritten(question, history: history)
    }

    /// `rewrite(_:history:)` without suspending: the rewrite is word matching, tens of
    /// microseconds for a standalone question and a few hundred for a follow-up after a few
    /// turns (release build).
    public func rewritten(_ question: String, history: [ConversationTurn]) -> FollowUpRewrite {
        let read = history.map { ConversationTurn(question: $0.question, standalone: $0.standalone, answer: SalientTerms.lead(of: $0.answer)) }
        let window = HistoryWindow.fit(read, budget: historyTokens, tokenCount: tokenCount)
        var rewrite = FollowUpRewrite(
            question: question, standalone: question, method: .none, historyTurns: window.kept.count,
            droppedTurns: window.dropped, historyTokens: window.tokens
        )
        let text = QuestionText(question)
        let signals = FollowUpSignals(text)
        guard let last = window.kept.last, signals.strength != .none else { return rewrite }
        let own = text.contentWords

        if let fragment = signals.fragment, !signals.references.contains(where: { !$0.local && fragment.contains($0.token) }) {
            let previous = QuestionText(turn: last)
            let anchors = Set(window.kept.dropLast().flatMap { QuestionText(turn: $0).terms.filter(\.isName).map(\.key) })
            if let filled = EllipsisFrame.fill(fragment, of: text, into: previous, anchors: anchors) {
                rewrite.standalone = Self.capitalised(filled.text, like: question)
                rewrite.method = .deterministic
                rewrite.carriedTerms = Array(
                    previous.terms
                        .filter { !$0.verbLike && !$0.tokens.overlaps(filled.replaced) && !$0.words.allSatisfy(own.contains) }
                        .map(\.text).prefix(Self.maxCarriedTerms)
                )
                return rewrite
            }
        }

        let limit: Int
        let namesOnly: Bool
        switch signals.strength {
        case .strong: (limit, namesOnly) = (Self.maxCarriedTerms, false)
        case .moderate: (limit, namesOnly) = (3, false)
        case .weak, .none: (limit, namesOnly) = (2, !signals.hasDefiniteNoun)
        }
        let ranked = SalientTerms.rank(window.kept, excluding: own)
        var carried = SalientTerms.pick(ranked, limit: limit, namesOnly: namesOnly)
        guard !carried.isEmpty else { return rewrite }

        var edits: [(range: Range<Int>, text: String)] = []
        if let opener = signals.opener {
            edits.append((opener, ""))
        }
        var substituted: SalientTerm?
        if let reference = signals.references.first(where: { !$0.local && $0.replaceable && [.pronoun, .possessive, .one].contains($0.kind) }),
            let antecedent = Self.antecedent(in: ranked, carried: carried)
        {
            carried.removeAll { $0.key == antecedent.key }
            substituted = antecedent
            let replacement = reference.kind == .possessive ? Self.possessive(antecedent.noun) : antecedent.noun
            edits.append((reference.token..<(reference.token + 1), replacement))
        }
        var standalone = Self.apply(edits, to: text)
        if !carried.isEmpty {
            standalone = Self.appending(carried.map(\.text), to: standalone)
        }
        rewrite.standalone = Self.capitalised(standalone, like: question)
        rewrite.method = .deterministic
        rewrite.carriedTerms = (substituted.map { [$0.noun] } ?? []) + carried.map(\.text)
        return rewrite
    }

    /// What a pronoun of the follow-up stands for: the noun the last question is most about
    /// (`SalientTerm.lastQuestionRank`), else the most salient carried noun.
    static func antecedent(in ranked: [SalientTerm], carried: [SalientTerm]) -> SalientTerm? {
        let focused = ranked.filter { $0.isAntecedent && !$0.verbLike && $0.lastQuestionRank > 0 }
        return focused.max { $0.lastQuestionRank < $1.lastQuestionRank } ?? carried.first(where: \.isAntecedent)
    }

    /// `text` with each edit's tokens replaced (an empty replacement also takes the space after
    /// the tokens).
    static func apply(_ edits: [(range: Range<Int>, text: String)], to text: QuestionText) -> String {
        let scalars = text.text.unicodeScalars
        var output = ""
        var position = scalars.startIndex
        for edit in edits.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) where !edit.range.isEmpty {
            let start = text.tokens[edit.range.lowerBound].range.lowerBound
            guard start >= position else { continue }
            var end = text.tokens[edit.range.upperBound - 1].range.upperBound
            if edit.text.isEmpty {
                while end < scalars.endIndex, scalars[end].properties.isWhitespace { end = scalars.index(after: end) }
            }
            output += String(Substring(scalars[position..<start])) + edit.text
            position = end
        }
        output += String(Substring(scalars[position...]))
        return output.trimmingWhitespace()
    }

    /// `text` with `terms` in brackets before its closing question mark (or full stop), in the
    /// brackets it ends with when it does.
    static func appending(_ terms: [String], to text: String) -> String {
        var body = Substring(text)
        var closing = ""
        while let last = body.last, "?.!\u{FF1F}\u{3002}".contains(last) {
            closing = String(last) + closing
            body = body.dropLast()
        }
        let trimmed = body.trimmingWhitespace()
        // Into a bracketed list that ends the text: " (…)", not a call's "()".
        if trimmed.hasSuffix(")"), let open = trimmed.lastIndex(of: "("), open > trimmed.startIndex,
            trimmed[trimmed.index(before: open)] == " ", trimmed.index(after: open) < trimmed.index(before: trimmed.endIndex),
            !trimmed[trimmed.index(after: open)...].dropLast().contains(where: { $0 == "(" || $0 == ")" })
        {
            return trimmed.dropLast() + ", " + terms.joined(separator: ", ") + ")" + closing
        }
        return (trimmed.isEmpty ? "" : trimmed + " ") + "(" + terms.joined(separator: ", ") + ")" + closing
    }

    /// "X's", or "X'" when X ends in "s" and is no name.
    static func possessive(_ term: String) -> String {
        term.hasSuffix("s") && term.last?.isUppercase == false ? term + "'" : term + "'s"
    }

    /// `text` with a capital first letter when `original` starts with one.
    static func capitalised(_ text: String, like original: String) -> String {
        guard let first = text.first, first.isLowercase, original.first(where: \.isLetter)?.isUppercase == true else { return text }
        return first.uppercased() + text.dropFirst()
    }
}
