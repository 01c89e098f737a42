import Foundation
import QuarryCore

/// A term of earlier turns that a follow-up may carry, and how salient it is.
struct SalientTerm {
    /// What it is known by across turns (`QuestionTerm.key`).
    var key: String
    var text: String
    /// The noun that may stand for a pronoun ("" for none; see `QuestionTerm.noun`).
    var noun: String
    var words: [String]
    var score: Double
    var isName: Bool
    var verbLike: Bool
    /// Found only in answers, never in a question.
    var fromAnswer: Bool
    /// The newest turn it was found in: 0 for the last turn.
    var distance: Int
    /// Its rank in the last turn's question, 0 when that does not name it outside brackets: what
    /// a pronoun of the follow-up most likely points at (centering): first a term a rewrite put
    /// in for a pronoun of that question (the entity the conversation stays with), then by role
    /// (not after a preposition) and place.
    var lastQuestionRank: Double
    /// Its text comes from brackets (an earlier rewrite's carried terms), where a verb phrase
    /// reads like a noun: any plain mention's text replaces it.
    var bracketed: Bool
    /// Its place among the terms of that turn.
    var order: Int

    /// Whether it may stand for a pronoun: it names a noun, said in a question.
    var isAntecedent: Bool { !noun.isEmpty && !fromAnswer }
}

/// Ranks the terms of a conversation's turns by how likely a follow-up is to be about them.
///
/// Each turn is read as retrieval read it (its standalone form), with terms broken where the
/// rewrite inserted words, so that an antecedent put in for "it" counts as a mention of its own
/// (the user did point at it) and never runs into the user's words. Terms are known by their
/// noun: "create a trigger" and "the trigger" are one term. A term scores 1, times:
/// - 0.65 per turn back (the last turn 1, the one before 0.65, …), summed over the turns it is
///   in (a subject the conversation keeps coming back to outranks one mentioned once);
/// - 1.25 for a name, 1.1 for several words;
/// - 0.7 after a preposition ("in SQLite": the setting more often than the subject);
/// - 0.5 for a verb ("can I *drop* …"), which is never carried alone;
/// - 0.15 inside brackets (terms an earlier rewrite carried, or an aside: the turns they came
///   from are read too, and counting the echo would make whatever was carried once outweigh
///   the turns that follow);
/// - 1 / (1 + 0.1 × its place among the question's terms).
///
/// Answers are read lightly: only the names of their first two sentences, at 0.3 of a question's
/// weight; a term also in a question adds to that term's score, and at most one term found only
/// in answers is ever carried, so an answer never outweighs the questions.
enum SalientTerms {
    static let decay = 0.65
    static let answerWeight = 0.3
    static let maxAnswerTerms = 1

    /// The terms of `turns` (oldest first), most salient first, without those whose words are
    /// all in `excluding` (the follow-up's own words).
    static func rank(_ turns: [ConversationTurn], excluding: Set<String>) -> [SalientTerm] {
        var terms: [SalientTerm] = []
        var byKey: [String: Int] = [:]
        func add(_ term: QuestionTerm, score: Double, distance: Int, order: Int, fromAnswer: Bool) {
            guard !term.words.isEmpty, !term.words.allSatisfy(excluding.contains) else { return }
            let rank = !fromAnswer && distance == 0 && (!term.bracketed || term.inserted) ? focus(of: term, order: order) : 0
            if let index = byKey[term.key] {
                terms[index].score += score
                terms[index].lastQuestionRank = max(terms[index].lastQuestionRank, rank)
                if !fromAnswer && (terms[index].fromAnswer || (terms[index].bracketed && !term.bracketed)) {
                    terms[index].fromAnswer = false
                    terms[index].bracketed = term.bracketed
                    terms[index].text = term.text
                    terms[index].noun = term.noun
                    terms[index].verbLike = term.verbLike
                }
                return
            }
            byKey[term.key] = terms.count
            terms.append(
                SalientTerm(
                    key: term.key, text: term.text, noun: term.noun, words: term.words, score: score, isName: term.isName, verbLike: term.verbLike,
                    fromAnswer: fromAnswer, distance: distance, lastQuestionRank: rank, bracketed: term.bracketed, order: order
                )
            )
        }
        for (distance, turn) in turns.reversed().enumerated() {
            let recency = pow(decay, Double(distance))
            for (order, term) in QuestionText(turn: turn).terms.enumerated() {
                add(term, score: recency * weight(of: term, order: order), distance: distance, order: order, fromAnswer: false)
            }
        }
        for (distance, turn) in turns.reversed().enumerated() where !turn.answer.isEmpty {
            let recency = pow(decay, Double(distance))
            // Nouns only: "run VACUUM" is read as "VACUUM".
            let read = QuestionText(lead(of: turn.answer))
            let names = read.terms.compactMap { term -> QuestionTerm? in
                guard !term.verbLike, term.nounTokens.contains(where: { read.tokens[$0].isName }) else { return nil }
                var noun = term
                noun.text = term.noun
                noun.words = term.nounWords
                return noun
            }
            for (order, term) in names.enumerated() {
                add(term, score: answerWeight * recency * weight(of: term, order: order), distance: distance, order: order, fromAnswer: true)
            }
        }
        return terms.sorted { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.distance != b.distance { return a.distance < b.distance }
            return a.order < b.order
        }
    }

    /// A term's rank as what its own question is about: put in for a pronoun first (×2), then
    /// names (×1.25), not after a preposition (×0.7 after one), earlier.
    static func focus(of term: QuestionTerm, order: Int) -> Double {
        guard !term.noun.isEmpty else { return 0 }
        return (term.inserted ? 2 : 1) * (term.isName ? 1.25 : 1) * (term.afterPreposition ? 0.7 : 1) / (1 + 0.1 * Double(order))
    }

    static func weight(of term: QuestionTerm, order: Int) -> Double {
        var weight = 1.0 / (1.0 + 0.1 * Double(order))
        if term.isName { weight *= 1.25 }
        if term.words.count > 1 { weight *= 1.1 }
        if term.afterPreposition { weight *= 0.7 }
        if term.verbLike { weight *= 0.5 }
        if term.bracketed { weight *= 0.15 }
        return weight
    }

    /// The most salient terms, at most `limit`: those scoring at least half the best one's
    /// score (names a quarter: the setting of a conversation, like the product every question is
    /// about, scores low in each question yet is worth keeping), no verb alone, names only when
    /// `namesOnly`, no term sharing all its words with one picked before.
    static func pick(_ ranked: [SalientTerm], limit: Int, namesOnly: Bool) -> [SalientTerm] {
        let eligible = ranked.filter { !$0.verbLike && (!namesOnly || $0.isName) }
        guard let best = eligible.first else { return [] }
        var picked: [SalientTerm] = []
        var answerTerms = 0
        for term in eligible where picked.count < limit && term.score >= best.score / (term.isName ? 4 : 2) {
            if term.fromAnswer && answerTerms >= maxAnswerTerms { continue }
            let words = Set(term.words)
            if picked.contains(where: { words.isSubset(of: $0.words) || words.isSuperset(of: $0.words) }) { continue }
            if term.fromAnswer { answerTerms += 1 }
            picked.append(term)
        }
        return picked
    }

    /// The part of an answer read for names: its first two sentences, at most 400 characters
    /// (citation markers are no names, and stay).
    static func lead(of answer: String) -> String {
        guard !answer.isEmpty else { return "" }
        return SentenceSplitter.split(String(answer.prefix(400))).prefix(2).joined(separator: " ")
    }
}
