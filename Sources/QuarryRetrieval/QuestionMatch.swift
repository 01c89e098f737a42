import QuarryCore

/// Whether a new question may reuse the answer cached for another question whose embedding is
/// close to its own.
///
/// Sentence embeddings are nearly blind to the words that turn a question into another one:
/// "how do I turn on X" and "how do I turn off X" are more than 0.9 similar, and so are "convert
/// JSON to CSV" and "convert CSV to JSON". A semantic cache that trusts the cosine alone serves
/// each the other's answer. `mismatch(cached:candidate:)` looks, word by word, for such a
/// difference; the cache must then miss. The checks, in the order they are tried:
///
/// 1. **negation** (`.negation`): the two differ in how many negating words they hold (`not`,
///    `no`, `never`, `n't`, `cannot`, `without`, `none`, `nor`, `neither`, `nothing`, `nobody`),
///    or, on some polar axis (on/off, enable/disable, start/stop, open/close, add/remove,
///    increase/decrease, before/after, max/min, allow/deny, include/exclude, above/below,
///    more/less, first/last, import/export, encrypt/decrypt, upper/lower, true/false,
///    success/failure, win/lose, read/write, …), both name a side and the sides they name differ
///    ("enable X" vs "turn off X"). Only both-sided differences count, because the short polar
///    words are also prepositions ("on Linux"): "turn on X" vs "enable X" is the same side, and
///    "enable X on Linux" vs "enable X in Linux" names no second side.
/// 2. **number** (`.number`): the sets of numbers differ: digits ("5", "3.11", "1,000" = "1000")
///    and number words ("two" … "twenty", "thirty" … "hundred", "second" … "twentieth" as
///    "2nd" … "20th"). "one" is left out ("which one"), and "first" is polar (first/last).
/// 3. **entity** (`.entity`): a name in one question is not a word of the other (case-folded).
///    Names are words capitalised other than at a sentence's start, ALLCAPS, words with a capital
///    after their first letter (SQLite, iPhone), words with a digit, dot or underscore inside
///    (`fts5`, `v2.3`, `max_tokens`), and quoted strings (as a run of words). A few spellings of
///    one name count as one (Postgres and PostgreSQL, k8s and Kubernetes, …).
/// 4. **terms** (`.terms`): the content words (not stop words, negations, polar words or numbers;
///    inflections folded as `WordFolding.fold` does, a final "e" dropped, a few synonyms joined,
///    a word meeting another it begins) differ too much: each question has a word the other lacks
///    and the share of words not shared exceeds `maxChangedShare`, or one question adds more than
///    `maxAddedWords` words to the other.
/// 5. **order** (`.order`): the same words in other roles. One of three: two content words next
///    to each other in one question are both in the other but never one after the other there
///    ("white circle and red background" vs "red circle and white background"); one has "u C v"
///    and the other "v C u" with the same connecting words C, other than "and"/"or" ("JSON to
///    CSV" vs "CSV to JSON"); or a word both use is a sentence's subject (nothing before it) or
///    an agent ("by X") in one and never in that place in the other ("Madiun is on the road to
///    Yogyakarta" vs "Yogyakarta is on the road to Madiun"). "X of Y" is read as "Y X" first (as
///    "Y's X" reads), so "the size of the connection pool" meets "the connection pool size", and
///    clauses moved as a whole keep their words' neighbours ("She sailed from Galveston on 12
///    September" vs "She sailed on 12 September from Galveston").
///
/// The checks compare words only: they hold no model and give the same answer every time; a pair
/// of Wikipedia sentences (PAWS, ~20 words each) costs about 60 µs in a release build, both texts
/// read on every call. They err towards a miss: a paraphrase that rewords most of a question
/// ("turn on WAL mode" vs "enable write-ahead logging") is refused as `.terms`. They do not see
/// every swap: "does the lexical score override the dense score" vs "does the dense score
/// override the lexical score" passes (the repeated "score" hides it).
public enum QuestionMatch {
    /// Why a cached question's answer may not serve another question.
    public enum Mismatch: String, Sendable, Codable, CaseIterable {
        /// A negation, or the other side of a polar pair (on/off, enable/disable, …).
        case negation
        /// Different numbers.
        case number
        /// A name (product, place, identifier, quoted string) only one of them has.
        case entity
        /// Different content words.
        case terms
        /// The same words in other roles ("X of Y" vs "Y of X").
        case order
    }

    /// The cosine similarity at or above which a cached question is a candidate (default).
    ///
    /// Chosen on PAWS-Wiki dev and Quarry's hand-written questions (Benchmarks/semantic-cache/
    /// README.md, "Results"). The aim, at most 1 % false hits, is not reached on PAWS at any
    /// threshold from 0.80 to 0.98: with `mismatch`, dev's false hits go only from 11.0 % to
    /// 8.1 % over that range (by the cosine alone, 98.5 % to 43.2 %), while the hand-written
    /// questions' paraphrase hits fall from 85 % to 35 %. 0.90 keeps 79 % of those hits.
    public static let defaultSimilarity: Float = 0.90

    /// The largest share of content words that one question may have and the other not, when
    /// each has some word the other lacks (a substitution rather than an addition).
    static let maxChangedShare = 0.0

    /// How many content words one question may add to the other (the other has none of its own).
    static let maxAddedWords = 1

    /// `nil` when `candidate` (a new question) may reuse the answer to `cached`; else the first
    /// reason it may not (see `QuestionMatch` for the checks, in their order).
    /// - Parameters:
    ///   - cached: the question whose answer is cached.
    ///   - candidate: the new question.
    /// - Returns: `nil`, or the first check that failed. Symmetric: swapping the two questions
    ///   gives the same result.
    public static func mismatch(cached: String, candidate: String) -> Mismatch? {
        mismatch(QuestionWords(cached), QuestionWords(candidate))
    }

    static func mismatch(_ a: QuestionWords, _ b: QuestionWords) -> Mismatch? {
        if a.negations != b.negations { return .negation }
        for (axis, sides) in a.polarSides where sides != (b.polarSides[axis] ?? sides) {
            return .negation
        }
        if a.numbers != b.numbers { return .number }
        if !a.entities.allSatisfy(b.mentions) || !b.entities.allSatisfy(a.mentions) { return .entity }
        if termsDiffer(a.terms, b.terms) { return .terms }
        if brokenNeighbours(a, b) || brokenNeighbours(b, a) || reversedRelation(a, b) || movedWord(a, b) { return .order }
        if reordered(a, b) && reordered(b, a) { return .order }
        return nil
    }

    /// Whether the words both questions use come in another order in one than in the other
    /// (content words, numbers, and the few verbs and adverbs of place that carry roles — "use",
    /// "have", "did", "here", "below" —, each at its first use, "X of Y" read as "Y X"). Moving
    /// a phrase often keeps the meaning ("in 1990 he moved to Paris"), but swapping the roles of
    /// two words never does ("the 12th district and the 22nd" vs "the 22nd district and the
    /// 12th"), and words alone cannot tell the two apart: the cache misses on both.
    ///
    /// Clauses (words between punctuation) of `b` may move as a whole: "where are the logs
    /// written on Linux?" meets "on Linux, where are the logs written?" (up to
    /// `maxPermutedClauses` clauses are tried in every order). Not symmetric: `mismatch` asks
    /// both ways.
    static func reordered(_ a: QuestionWords, _ b: QuestionWords) -> Bool {
        let shared = Set(a.orderClauses.joined()).intersection(b.orderClauses.joined())
        func order(_ clauses: [[String]]) -> [String] {
            var seen = Set<String>()
            return clauses.joined().filter { shared.contains($0) && seen.insert($0).inserted }
        }
        let wanted = order(a.orderClauses)
        let clauses = b.orderClauses.filter { $0.contains(where: shared.contains) }
        if order(clauses) == wanted { return false }
        guard clauses.count <= maxPermutedClauses else { return true }
        return !permutations(of: clauses.indices.map { $0 }).contains { order($0.map { clauses[$0] }) == wanted }
    }

    /// The most clauses `reordered` tries in every order (4! = 24 orders).
    static let maxPermutedClauses = 4

    /// Every order of `items` (Heap's algorithm).
    static func permutations(of items: [Int]) -> [[Int]] {
        var items = items
        var result = [items]
        var counters = [Int](repeating: 0, count: items.count)
        var index = 1
        while index < items.count {
            if counters[index] < index {
                items.swapAt(index % 2 == 0 ? 0 : counters[index], index)
                result.append(items)
                counters[index] += 1
                index = 1
            } else {
                counters[index] = 0
                index += 1
            }
        }
        return result
    }

    /// Whether the content-word sets differ more than a paraphrase's grammar explains.
    static func termsDiffer(_ a: Set<String>, _ b: Set<String>) -> Bool {
        let onlyA = a.filter { !Self.matches($0, in: b) }
        let onlyB = b.filter { !Self.matches($0, in: a) }
        if onlyA.isEmpty || onlyB.isEmpty { return max(onlyA.count, onlyB.count) > maxAddedWords }
        let union = a.union(b).count
        return Double(onlyA.count + onlyB.count) / Double(max(1, union)) > maxChangedShare
    }

    /// `word` is in `others`, or begins one of them, or one of them begins it (at least four
    /// letters shared: "config" and "configuration").
    static func matches(_ word: String, in others: Set<String>) -> Bool {
        if others.contains(word) { return true }
        guard word.utf8.count >= 4 else { return false }
        return others.contains { other in
            other.utf8.count >= 4 && (other.hasPrefix(word) || word.hasPrefix(other))
        }
    }

    /// Whether two content words side by side in `a` are both in `b` but never side by side
    /// there in that order.
    static func brokenNeighbours(_ a: QuestionWords, _ b: QuestionWords) -> Bool {
        for pair in a.neighbours where !b.follows.contains(pair) {
            if b.orderWords.contains(pair.first) && b.orderWords.contains(pair.second) { return true }
        }
        return false
    }

    /// Whether a word both use always follows other stop words in one than in the other ("on the
    /// road to Madiun" vs "Madiun is on the road to").
    static func movedWord(_ a: QuestionWords, _ b: QuestionWords) -> Bool {
        for (word, contexts) in a.leftContexts {
            guard let others = b.leftContexts[word], others.isDisjoint(with: contexts) else { continue }
            if !contexts.isDisjoint(with: QuestionLexicon.roleContexts) || !others.isDisjoint(with: QuestionLexicon.roleContexts) { return true }
        }
        return false
    }

    /// Whether `a` has "u C v" where `b` has "v C u" (and not "u C v").
    static func reversedRelation(_ a: QuestionWords, _ b: QuestionWords) -> Bool {
        for relation in a.relations {
            let reversed = Relation(first: relation.second, connector: relation.connector, second: relation.first)
            if b.relations.contains(reversed) && !b.relations.contains(relation) && !a.relations.contains(reversed) { return true }
        }
        return false
    }
}

/// Two content words side by side.
struct WordPair: Hashable {
    var first: String
    var second: String
}

/// Two content words joined by stop words only ("tributary of the river": connector "of").
struct Relation: Hashable {
    var first: String
    var connector: String
    var second: String
}

/// What `QuestionMatch` reads from one question.
struct QuestionWords {
    /// How many negating words.
    var negations = 0
    /// For each polar axis named, the sides named (bit 0: the first side, bit 1: the second).
    var polarSides: [Int: UInt8] = [:]
    var numbers: Set<String> = []
    /// Names, case-folded; quoted strings as their words joined by spaces.
    var entities: Set<String> = []
    /// Every word, case-folded, and the runs of words quoted strings are checked against.
    var words: Set<String> = []
    var wordSequence = ""
    /// Content words, folded.
    var terms: Set<String> = []
    /// Content words and names, folded, as the order checks see them.
    var orderWords: Set<String> = []
    /// Content words, numbers (`#12`) and `QuestionLexicon.roleWords` (`~use`) in the order of
    /// the question, clause by clause, "X of Y" read as "Y X".
    var orderClauses: [[String]] = []
    /// Content words side by side, and content words one after the other in a clause.
    var neighbours: Set<WordPair> = []
    var follows: Set<WordPair> = []
    var relations: Set<Relation> = []
    /// For each content word, the stop words before each of its uses ("^": a clause's start).
    var leftContexts: [String: Set<String>] = [:]

    /// Whether `entity` is a word (or, for a quoted string, a run of words) of this question.
    func mentions(_ entity: String) -> Bool {
        if entity.contains(" ") { return (" " + wordSequence + " ").contains(" " + entity + " ") }
        return words.contains(entity) || QuestionLexicon.aliases[entity].map(words.contains) == true
            || words.contains { QuestionLexicon.aliases[$0] == entity }
    }

    init(_ text: String) {
        let tokens = QuestionTokenizer.tokens(of: text)
        var clause: [ClauseWord] = []
        var gap: [String] = []
        var adjacent = false
        var quoted: [String]?
        var sequence: [String] = []
        // The clause as `orderClauses` reads it: content words, numbers and role words.
        var marked: [ClauseWord] = []
        var markedGap: [String] = []
        func mark(_ word: String) {
            marked.append(ClauseWord(word: word, adjacent: markedGap.isEmpty, connector: markedGap.joined(separator: " ")))
            markedGap = []
        }
        for (index, token) in tokens.enumerated() {
            switch token.kind {
            case .quote:
                if let run = quoted {
                    if !run.isEmpty { entities.insert(run.joined(separator: " ")) }
                    quoted = nil
                } else {
                    quoted = []
                }
                adjacent = false
                continue
            case .boundary:
                addClause(clause)
                if !marked.isEmpty { orderClauses.append(Self.readingOfAsPossessive(marked).map(\.word)) }
                marked = []
                markedGap = []
                clause = []
                gap = []
                adjacent = false
                continue
            case .word:
                break
            }
            let lower = token.lower
            words.insert(lower)
            sequence.append(lower)
            quoted?.append(lower)
            if QuestionLexicon.negations.contains(lower) {
                negations += 1
                markedGap.append("not")
                gap.append("not")
                adjacent = false
                continue
            }
            if let number = QuestionLexicon.number(lower, after: index > 0 ? tokens[index - 1].lower : nil) {
                // Numbers are compared on their own; to the order checks they are not there.
                numbers.insert(number)
                mark("#" + number)
                continue
            }
            let stem = QuestionLexicon.stem(lower)
            let polar = QuestionLexicon.polar[lower] ?? QuestionLexicon.polar[stem]
            if let polar { polarSides[polar.axis, default: 0] |= polar.negative ? 2 : 1 }
            if token.isName { entities.insert(QuestionLexicon.aliases[lower] ?? lower) }
            if !token.isName && (QuestionLexicon.stopWords.contains(lower) || lower.utf8.count == 1 || QuestionLexicon.lightWords.contains(lower)) {
                if !QuestionLexicon.articles.contains(lower) && !QuestionLexicon.lightWords.contains(lower) { gap.append(lower) }
                if QuestionLexicon.roleWords.contains(lower) {
                    mark("~" + lower)
                } else if !QuestionLexicon.articles.contains(lower) && !QuestionLexicon.lightWords.contains(lower) {
                    markedGap.append(lower)
                }
                adjacent = false
                continue
            }
            let word = QuestionLexicon.canonical(stem)
            if polar == nil { terms.insert(word) }
            orderWords.insert(word)
            mark(word)
            clause.append(ClauseWord(word: word, adjacent: adjacent && gap.isEmpty, connector: gap.joined(separator: " ")))
            gap = []
            adjacent = true
        }
        addClause(clause)
        if !marked.isEmpty { orderClauses.append(Self.readingOfAsPossessive(marked).map(\.word)) }
        wordSequence = sequence.joined(separator: " ")
    }

    /// `clause` with each "X of Y" turned into "Y X" (as "Y's X" reads).
    static func readingOfAsPossessive(_ original: [ClauseWord]) -> [ClauseWord] {
        var clause = original
        var index = 1
        while index < clause.count {
            guard clause[index].connector == "of" else {
                index += 1
                continue
            }
            var end = index + 1
            while end < clause.count && clause[end].adjacent { end += 1 }
            var run = Array(clause[index..<end])
            var head = clause[index - 1]
            run[0].adjacent = head.adjacent
            run[0].connector = head.connector
            head.adjacent = true
            head.connector = ""
            clause.replaceSubrange((index - 1)..<end, with: run + [head])
            index = end
        }
        return clause
    }

    /// Reads the pairs of one clause (words between punctuation) into `neighbours`, `follows`
    /// and `relations`, after turning "X of Y" into "Y X" (as "Y's X" reads), so that "the size
    /// of the connection pool" meets "the connection pool size".
    private mutating func addClause(_ original: [ClauseWord]) {
        guard !original.isEmpty else { return }
        let clause = Self.readingOfAsPossessive(original)
        for (position, word) in original.enumerated() {
            let preposition = word.connector.split(separator: " ").last { QuestionLexicon.prepositions.contains(String($0)) }
            let context = preposition.map(String.init) ?? (position == 0 && word.connector.isEmpty ? "^" : "-")
            leftContexts[word.word, default: []].insert(context)
        }
        for (previous, current) in zip(clause, clause.dropFirst()) {
            follows.insert(WordPair(first: previous.word, second: current.word))
            if current.adjacent {
                neighbours.insert(WordPair(first: previous.word, second: current.word))
            } else if !current.connector.isEmpty, !QuestionLexicon.symmetricConnectors.contains(current.connector),
                current.connector.split(separator: " ").count <= 3
            {
                relations.insert(Relation(first: previous.word, connector: current.connector, second: current.word))
            }
        }
    }
}

/// A content word of a clause: whether it directly follows the previous one, else the stop
/// words between them (articles left out).
struct ClauseWord {
    var word: String
    var adjacent: Bool
    var connector: String
}

/// A word or a separator of a question, as `QuestionMatch` reads it.
struct QuestionToken {
    enum Kind { case word, boundary, quote }
    var kind: Kind
    /// The word, lower-cased ("" for a separator).
    var lower: String
    /// Capitalised other than at a sentence's start, ALLCAPS, a capital after the first letter,
    /// or a digit, dot or underscore inside a word with letters.
    var isName: Bool
}

/// Splits a question into words, separators and quote marks, reading Unicode scalars (cheaper
/// than characters; questions are short and mostly ASCII).
enum QuestionTokenizer {
    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let v = scalar.value
            return (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v)
        }
        return scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }

    /// Kept inside a word when a letter or digit follows ("v2.3", "max_tokens", "don't").
    static func isInner(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "." || scalar == "_" || scalar == "'" || scalar == "\u{2019}"
    }

    static func isQuote(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\"" || scalar == "`" || scalar == "\u{201C}" || scalar == "\u{201D}"
    }

    static func tokens(of text: String) -> [QuestionToken] {
        let scalars = Array(text.unicodeScalars)
        var tokens: [QuestionToken] = []
        tokens.reserveCapacity(scalars.count / 4)
        var sentenceStart = true
        var index = 0
        while index < scalars.count {
            let c = scalars[index]
            if isWordScalar(c) {
                var end = index + 1
                while end < scalars.count {
                    if isWordScalar(scalars[end]) {
                        end += 1
                    } else if isInner(scalars[end]), end + 1 < scalars.count, isWordScalar(scalars[end + 1]) {
                        end += 1
                    } else {
                        break
                    }
                }
                appendWord(scalars[index..<end], sentenceStart: sentenceStart, to: &tokens)
                sentenceStart = false
                index = end
                continue
            }
            if isQuote(c) {
                // `` and '' (PAWS's quotes) are one quote mark each.
                if c == "`", index + 1 < scalars.count, scalars[index + 1] == "`" { index += 1 }
                tokens.append(QuestionToken(kind: .quote, lower: "", isName: false))
            } else if c == "'", index + 1 < scalars.count, scalars[index + 1] == "'" {
                tokens.append(QuestionToken(kind: .quote, lower: "", isName: false))
                index += 1
            } else if !c.properties.isWhitespace, c != "-", c != "/", c != "'" {
                tokens.append(QuestionToken(kind: .boundary, lower: "", isName: false))
                if c == "." || c == "?" || c == "!" || c == ":" { sentenceStart = true }
            }
            index += 1
        }
        return tokens
    }

    static func lowercased(_ word: ArraySlice<Unicode.Scalar>) -> String {
        if word.allSatisfy(\.isASCII) {
            return String(unsafeUninitializedCapacity: word.count) { buffer in
                for (offset, scalar) in word.enumerated() {
                    let byte = UInt8(scalar.value)
                    buffer[offset] = (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
                }
                return word.count
            }
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: word)
        return String(view).lowercased()
    }

    /// Appends a word, split at its apostrophe: "don't" gives "do" "not", "SQLite's" gives
    /// "SQLite", "n't" alone (PAWS's "does n't") gives "not", "cannot" gives "can" "not".
    static func appendWord(_ word: ArraySlice<Unicode.Scalar>, sentenceStart: Bool, to tokens: inout [QuestionToken]) {
        var word = word
        var negated = false
        var lower: String
        if let apostrophe = word.firstIndex(where: { $0 == "'" || $0 == "\u{2019}" }) {
            let head = word[..<apostrophe]
            let tail = lowercased(word[(apostrophe + 1)...])
            let headLower = lowercased(head)
            if tail == "t", headLower.hasSuffix("n") {
                negated = true
                word = head.dropLast()
                switch headLower.dropLast() {
                case "ca": lower = "can"
                case "wo": lower = "will"
                default: lower = String(headLower.dropLast())
                }
            } else {
                word = head
                lower = headLower
            }
        } else {
            lower = lowercased(word)
        }
        if lower == "cannot" {
            lower = "can"
            negated = true
        }
        if !lower.isEmpty {
            tokens.append(QuestionToken(kind: .word, lower: lower, isName: isName(word, sentenceStart: sentenceStart)))
        }
        if negated { tokens.append(QuestionToken(kind: .word, lower: "not", isName: false)) }
    }

    static func isName(_ word: ArraySlice<Unicode.Scalar>, sentenceStart: Bool) -> Bool {
        if word.count == 1 && word.first == "I" { return false }
        var letters = 0
        var upper = 0
        var digits = 0
        var upperAfterFirst = false
        var inner = false
        for (offset, c) in word.enumerated() {
            if c.properties.isAlphabetic {
                letters += 1
                if c.properties.isUppercase {
                    upper += 1
                    if offset > 0 { upperAfterFirst = true }
                }
            } else if c.properties.numericType != nil {
                digits += 1
            } else {
                inner = true
            }
        }
        if letters == 0 { return false }  // a number
        if digits > 0 || inner || upperAfterFirst { return true }
        if upper == letters && letters >= 2 { return true }
        return upper > 0 && !sentenceStart
    }
}

/// The word lists `QuestionMatch` reads with.
enum QuestionLexicon {
    static let negations: Set<String> = [
        "not", "no", "never", "without", "none", "nor", "neither", "nothing", "nobody", "cannot",
    ]

    /// Stop words: `StopWords.question` and a few more words a question asks with.
    static let stopWords: Set<String> = StopWords.question.union([
        "can", "could", "would", "should", "will", "shall", "do", "does", "did", "s", "t", "ll", "ve", "re", "d",
        "there", "anyone", "someone", "anything", "something", "please", "thanks", "also", "else", "ever", "yet", "per", "each", "every",
    ]).subtracting(negations)

    static let articles: Set<String> = ["the", "a", "an"]

    /// The places before a word that mark its role: a sentence's subject (nothing before it), an agent.
    static let roleContexts: Set<String> = ["^", "by"]

    static let prepositions: Set<String> = [
        "of", "to", "from", "in", "on", "at", "by", "for", "with", "into", "onto", "than", "between", "about", "over",
        "under", "through", "after", "before", "during", "against", "within", "via", "per",
    ]

    /// Words a question uses to ask rather than to name its topic; not compared as terms.
    static let lightWords: Set<String> = [
        "turn", "switch", "way", "ways", "possible", "best", "want", "need", "like", "know", "tell", "go", "going",
        "get", "make", "properly", "correctly", "actually", "exactly", "really", "simply", "easily", "thing",
    ]

    /// Function words whose place carries a role ("if we have X, we use Y" vs "if we use X, we
    /// have Y"; "described here, linked below" vs "described below, linked here"): the order
    /// check reads them with the content words.
    static let roleWords: Set<String> = [
        "have", "has", "had", "use", "used", "uses", "using", "do", "does", "did", "done", "need", "needs",
        "here", "below", "above", "before", "after",
    ]

    static let symmetricConnectors: Set<String> = ["and", "or", "nor", "but", "as well as"]

    /// Polar words: axis, side. Built from `polarAxes`, with inflected forms.
    static let polar: [String: (axis: Int, negative: Bool)] = {
        var table: [String: (axis: Int, negative: Bool)] = [:]
        for (axis, sides) in polarAxes.enumerated() {
            for (negative, words) in [(false, sides.0), (true, sides.1)] {
                for word in words {
                    for form in forms(of: word) where table[form] == nil { table[form] = (axis, negative) }
                }
            }
        }
        return table
    }()

    /// Words of more than three letters get their inflections ("enables", "enabled", "enabling",
    /// "stopped"); shorter ones ("on", "off", "max") stand alone.
    static func forms(of word: String) -> [String] {
        guard word.count > 3 else { return [word] }
        var result = [word, word + "s", word + "es", word + "d", word + "ed", word + "ing"]
        if word.hasSuffix("e") { result.append(String(word.dropLast()) + "ing") }
        if let last = word.last, !"aeiouwy".contains(last) {
            result += [word + String(last) + "ed", word + String(last) + "ing"]
        }
        return result
    }

    static let polarAxes: [([String], [String])] = [
        (["on", "enable", "activate"], ["off", "disable", "deactivate"]),
        (["start", "resume", "launch", "boot"], ["stop", "pause", "halt", "shutdown"]),
        (["open", "opened"], ["close", "shut"]),
        (["add", "insert", "create", "append"], ["remove", "delete", "drop", "erase", "truncate"]),
        (["install", "installation"], ["uninstall", "uninstallation"]),
        (["increase", "raise", "grow", "expand", "enlarge", "extend"], ["decrease", "reduce", "shrink", "cut"]),
        (["before", "prior", "earlier"], ["after", "later", "subsequent"]),
        (["maximum", "max", "most", "largest", "biggest", "longest", "maximal", "maximize"], ["minimum", "min", "least", "smallest", "shortest", "minimal", "minimize"]),
        (["allow", "permit", "grant", "accept", "approve", "allowlist", "whitelist"], ["deny", "forbid", "reject", "refuse", "revoke", "prevent", "denylist", "blacklist", "block"]),
        (["include", "inclusive"], ["exclude", "exclusive", "except"]),
        (["above"], ["below", "beneath", "underneath"]),
        (["more", "greater", "larger", "bigger", "longer"], ["less", "fewer", "lesser", "smaller", "shorter"]),
        (["fast", "faster", "fastest", "quick", "quicker", "quickly"], ["slow", "slower", "slowest", "slowly"]),
        (["first", "earliest", "oldest", "ascending", "asc"], ["last", "latest", "newest", "descending", "desc"]),
        (["upper", "higher", "highest", "high", "uppercase"], ["lower", "lowest", "low", "lowercase"]),
        (["import", "input", "upload", "inbound", "ingress"], ["export", "output", "download", "outbound", "egress"]),
        (["read", "reader"], ["write", "writer"]),
        (["push"], ["pull"]),
        (["send", "sender"], ["receive", "receiver"]),
        (["encrypt", "encryption", "encode", "compress", "serialize", "zip"], ["decrypt", "decryption", "decode", "decompress", "deserialize", "unzip"]),
        (["lock"], ["unlock"]),
        (["connect", "connection"], ["disconnect"]),
        (["mount"], ["unmount"]),
        (["show", "visible", "unhide"], ["hide", "hidden", "invisible"]),
        (["public"], ["private"]),
        (["true", "yes"], ["false"]),
        (["success", "succeed", "successful", "successfully"], ["failure", "fail", "unsuccessful"]),
        (["win", "won", "winner", "victory"], ["lose", "lost", "loser", "loss"]),
        (["up", "upgrade", "upward", "upwards"], ["down", "downgrade", "downward", "downwards"]),
        (["inner"], ["outer"]),
        (["internal"], ["external"]),
        (["local", "locally"], ["remote", "remotely"]),
        (["static"], ["dynamic"]),
        (["sync", "synchronous", "synchronously"], ["async", "asynchronous", "asynchronously"]),
        (["horizontal", "horizontally"], ["vertical", "vertically"]),
        (["valid"], ["invalid"]),
        (["positive"], ["negative"]),
        (["major"], ["minor"]),
        (["north", "northern"], ["south", "southern"]),
        (["east", "eastern"], ["west", "western"]),
        (["old", "older", "previous", "legacy"], ["new", "newer", "next"]),
        (["same", "identical", "equal"], ["different", "distinct", "unequal"]),
        (["buy", "bought", "purchase"], ["sell", "sold"]),
        (["male", "men", "man", "boys", "boy"], ["female", "women", "woman", "girls", "girl"]),
    ]

    static let numberWords: [String: String] = {
        let cardinals = [
            "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
            "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
        ]
        let ordinals = [
            "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth",
            "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth",
        ]
        var table: [String: String] = [:]
        for (offset, word) in cardinals.enumerated() { table[word] = String(offset + 2) }
        for (offset, word) in ordinals.enumerated() { table[word] = "\(offset + 2)th" }
        for (word, value) in [("thirty", "30"), ("forty", "40"), ("fifty", "50"), ("sixty", "60"), ("seventy", "70"), ("eighty", "80"), ("ninety", "90"), ("hundred", "100"), ("thousand", "1000"), ("million", "1000000"), ("billion", "1000000000"), ("dozen", "12"), ("twice", "2"), ("double", "2"), ("half", "0.5")] {
            table[word] = value
        }
        return table
    }()

    /// The number `word` stands for, if any: digits (commas dropped; "1st" as "1th"), or a number
    /// word. "second" after a number or "per" is the unit, not an ordinal.
    static func number(_ word: String, after previous: String?) -> String? {
        if let first = word.unicodeScalars.first, ("0"..."9").contains(first) {
            let digits = word.filter { $0 != "," }
            for suffix in ["st", "nd", "rd", "th"] where digits.hasSuffix(suffix) && digits.dropLast(2).allSatisfy(\.isNumber) {
                return String(digits.dropLast(2)) + "th"
            }
            if digits.allSatisfy({ $0.isNumber || $0 == "." }) { return digits }
            return nil  // "5gb", "1990s": a name
        }
        if word == "second", let previous, previous == "per" || previous == "a" || previous.first?.isNumber == true { return nil }
        return numberWords[word]
    }

    /// `WordFolding.fold`, then a final "e" dropped ("delete", "deleted" → "delet").
    static func stem(_ word: String) -> String {
        let count = word.utf8.count
        if count >= 3, count <= 4, word.hasSuffix("s"), !["ss", "us", "is", "os"].contains(where: word.hasSuffix) {
            return String(word.dropLast())  // "keys", "rows", "ids": too short for `WordFolding.fold`
        }
        let folded = WordFolding.fold(word)
        if folded.utf8.count > 4, folded.hasSuffix("e") { return String(folded.dropLast()) }
        return folded
    }

    /// One spelling for a few names written several ways.
    static let aliases: [String: String] = [
        "postgresql": "postgres", "pg": "postgres", "psql": "postgres", "k8s": "kubernetes", "js": "javascript",
        "ts": "typescript", "py": "python", "golang": "go", "mac": "macos", "osx": "macos",
    ]

    /// Synonyms folded to one word (after `stem`).
    static let synonyms: [String: String] = {
        let groups: [[String]] = [
            ["show", "list", "display", "view", "print", "see"],
            ["get", "retriev", "fetch", "obtain"],
            ["chang", "modify", "alter", "adjust", "configur", "set", "tweak"],
            ["fix", "solv", "resolv", "repair"],
            ["big", "larg", "huge"],
            ["small", "little", "tiny"],
            ["run", "execut"],
            ["setting", "option", "parameter", "config", "configuration"],
            ["db", "databas"],
            ["directory", "folder", "dir"],
            ["error", "exception"],
            ["app", "application", "program"],
            ["speed", "perform"],
            ["count", "number"],
            ["doc", "documentation", "docs"],
            ["mean", "average", "avg"],
            ["find", "search", "look"],
            ["storag", "disk", "spac"],
            ["memory", "ram"],
            ["check", "verify", "confirm"],
            ["rename", "renam"],
        ]
        var table: [String: String] = [:]
        for group in groups { for word in group { table[word] = group[0] } }
        return table
    }()

    static func canonical(_ stem: String) -> String { synonyms[stem] ?? aliases[stem] ?? stem }
}
