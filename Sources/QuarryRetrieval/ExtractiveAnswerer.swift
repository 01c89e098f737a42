import Foundation
import QuarryCore

/// Builds an answer from the retrieved passages themselves: the sentences that share the most
/// (rarity-weighted) content words with the query, each followed by the number of its source.
///
/// It needs no model call, so it adds microseconds to a query; every sentence it returns is
/// verbatim from a cited passage.
public struct ExtractiveAnswerer: Sendable {
    /// At most this many sentences make the answer.
    public var maxSentences: Int

    /// Creates an answerer.
    public init(maxSentences: Int = 3) {
        self.maxSentences = max(1, maxSentences)
    }

    /// The answer for `query` from `citations` (numbered sources, best first).
    /// - Returns: sentences each followed by ` [n]`, or `nil` when no sentence shares a content
    ///   word with the query.
    public func answer(query: String, citations: [Citation]) -> String? {
        let queryTerms = Set(Self.contentTerms(of: query))
        guard !queryTerms.isEmpty, !citations.isEmpty else { return nil }

        struct Candidate {
            var sentence: String
            var source: Int
            var rank: Int
            var position: Int
            var score: Double
        }
        var candidates: [Candidate] = []
        var documentFrequency: [String: Int] = [:]
        var sentenceTerms: [[String]] = []
        for (rank, citation) in citations.enumerated() {
            // Paragraphs first, so that a heading never runs into the sentence below it; fragments
            // of fewer than four words (headings, labels) are not answers.
            let sentences = SentenceSplitter.passageSentences(citation.text).filter(AnswerEvidence.Sentences.hasFourWords)
            for (position, sentence) in sentences.enumerated() {
                let terms = Self.contentTerms(of: sentence)
                sentenceTerms.append(terms)
                for term in Set(terms) where queryTerms.contains(term) { documentFrequency[term, default: 0] += 1 }
                candidates.append(Candidate(sentence: sentence, source: citation.id, rank: rank, position: position, score: 0))
            }
        }
        let sentenceCount = Double(candidates.count)
        for index in candidates.indices {
            let terms = Set(sentenceTerms[index])
            var score = 0.0
            for term in terms where queryTerms.contains(term) {
                let frequency = Double(documentFrequency[term] ?? 1)
                score += log(1 + sentenceCount / frequency)
            }
            // Sentences from better-ranked passages win ties; very long sentences are penalised a
            // little so the answer stays readable.
            let rankWeight = 1.0 / (1.0 + 0.15 * Double(candidates[index].rank))
            let lengthPenalty = terms.count > 40 ? 0.8 : 1.0
            candidates[index].score = score * rankWeight * lengthPenalty
        }

        var seen = Set<String>()
        let chosen = candidates
            .filter { $0.score > 0 }
            .sorted { ($0.score, -$0.rank, -$0.position) > ($1.score, -$1.rank, -$1.position) }
            .filter { seen.insert($0.sentence.lowercased()).inserted }
            .prefix(maxSentences)
            .sorted { ($0.rank, $0.position) < ($1.rank, $1.position) }
        guard !chosen.isEmpty else { return nil }
        return chosen.map { "\($0.sentence) \(CitationMarkers.marker(for: $0.source))" }.joined(separator: " ")
    }

    /// The content terms of `text`, in order, with repeats: the words a question and a sentence
    /// are matched on (`StopWords.question` left out, inflections folded).
    private static func contentTerms(of text: String) -> [String] {
        WordFolding.contentWords(of: text, ignoring: StopWords.question)
    }
}
