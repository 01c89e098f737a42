import QuarryCore
import QuarryGuard

/// The output rules of a `GuardrailPolicy`, applied to an answer sentence by sentence: personal
/// data is replaced by placeholders (or the answer refused), and a sentence that cites only
/// passages flagged as prompt injection is dropped (or the answer refused).
struct AnswerGuard: Sendable {
    /// What one sentence became.
    struct Review: Sendable {
        /// The sentence to show; `nil` when it was dropped.
        var text: String?
        /// What fired.
        var flags: [GuardrailFlag]
        /// Whether the rules withhold the whole answer.
        var refuse: Bool
    }

    let textGuard: TextGuard
    /// Citation numbers of passages flagged as prompt injection.
    let flaggedPassages: Set<Int>

    /// Whether any rule applies (otherwise answers pass untouched and stream token by token).
    var isActive: Bool { textGuard.policy.answers != .off }

    /// Reviews one sentence of an answer (with the citations that close it).
    func review(sentence: String) -> Review {
        guard isActive else { return Review(text: sentence, flags: [], refuse: false) }
        let refuse = textGuard.policy.answers == .refuse
        let cited = Set(CitationMarkers.numbers(in: sentence))
        if !cited.isEmpty, cited.isSubset(of: flaggedPassages) {
            let flag = GuardrailFlag(
                kind: .promptInjection, location: .answer, citation: cited.min(), score: 1, signals: ["quotes_flagged_passage"],
                action: refuse ? .refused : .redacted
            )
            return Review(text: nil, flags: [flag], refuse: refuse)
        }
        let (redacted, found) = textGuard.redactPersonalData(sentence)
        guard let found else { return Review(text: sentence, flags: [], refuse: false) }
        let flag = GuardrailFlag(
            kind: .personalData, location: .answer, score: found.score, signals: found.entities, action: refuse ? .refused : .redacted
        )
        return Review(text: refuse ? nil : redacted, flags: [flag], refuse: refuse)
    }

    /// Reviews a whole answer.
    /// - Returns: the answer to show (`nil` when it is withheld, or every sentence was dropped),
    ///   and what fired.
    func review(answer: String) -> (answer: String?, flags: [GuardrailFlag]) {
        guard isActive else { return (answer, []) }
        var kept: [String] = []
        var flags: [GuardrailFlag] = []
        for sentence in Self.sentences(of: answer) {
            let review = review(sentence: sentence)
            flags = Self.merge(flags, review.flags)
            if review.refuse { return (nil, flags) }
            if let text = review.text { kept.append(text) }
        }
        return (kept.isEmpty ? nil : kept.joined(separator: " "), flags)
    }

    /// The sentences of an answer, each with the citations that close it.
    static func sentences(of answer: String) -> [String] {
        let sentences = SentenceSplitter.answerSentences(answer)
        return sentences.isEmpty ? [answer] : sentences
    }

    /// `flags` with `more` added, one flag per kind, place, citation and action (signals merged).
    static func merge(_ flags: [GuardrailFlag], _ more: [GuardrailFlag]) -> [GuardrailFlag] {
        var merged = flags
        for flag in more {
            if let index = merged.firstIndex(where: {
                ($0.kind, $0.location, $0.citation, $0.action) == (flag.kind, flag.location, flag.citation, flag.action)
            }) {
                merged[index].signals = Array(Set(merged[index].signals + flag.signals)).sorted()
                merged[index].score = max(merged[index].score, flag.score)
            } else {
                merged.append(flag)
            }
        }
        return merged
    }
}

/// Streams an answer through an `AnswerGuard`: text is held until a sentence is complete (the
/// next one has begun, or the answer ended), then the sentence is reviewed and passed on, so no
/// personal data or quote of a flagged passage is ever sent before it was checked. Without
/// active rules, text passes straight through.
actor GuardedStream {
    private let answerGuard: AnswerGuard
    private let onText: @Sendable (String) async throws -> Void
    private var held = ""
    private var sentAny = false
    /// The sentences shown so far.
    private(set) var shown: [String] = []
    /// What fired so far.
    private(set) var flags: [GuardrailFlag] = []
    /// Whether a rule withheld the answer (nothing more is passed on).
    private(set) var refused = false

    init(answerGuard: AnswerGuard, onText: @escaping @Sendable (String) async throws -> Void) {
        self.answerGuard = answerGuard
        self.onText = onText
    }

    /// Takes the next piece of the answer.
    func receive(_ piece: String) async throws {
        guard answerGuard.isActive else { return try await onText(piece) }
        guard !refused else { return }
        held += piece
        let sentences = AnswerGuard.sentences(of: held)
        // The last piece must have begun a new sentence (a word, not a citation still arriving
        // for the sentence before it).
        guard sentences.count > 1, let last = sentences.last, last.first != "[", last.contains(where: \.isLetter) else { return }
        // Every sentence but the last is complete; the last may still grow (or gain its citation).
        for sentence in sentences.dropLast() where !refused { try await pass(sentence) }
        // Keep the rest as it came (its spaces included), so the next piece continues it.
        held = held.range(of: last, options: .backwards).map { String(held[$0.lowerBound...]) } ?? last
    }

    /// Ends the answer: reviews and passes on what is held.
    func finish() async throws {
        guard answerGuard.isActive, !refused else { return }
        let rest = held.trimmingWhitespace()
        held = ""
        if !rest.isEmpty {
            for sentence in AnswerGuard.sentences(of: rest) where !refused { try await pass(sentence) }
        }
    }

    private func pass(_ sentence: String) async throws {
        let review = answerGuard.review(sentence: sentence)
        flags = AnswerGuard.merge(flags, review.flags)
        if review.refuse {
            refused = true
            return
        }
        guard let text = review.text else { return }
        shown.append(text)
        try await onText(sentAny ? " " + text : text)
        sentAny = true
    }
}
