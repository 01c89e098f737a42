import Foundation
import QuarryCore

/// What a check of an answer's citations found: every sentence must cite at least one of the
/// numbered sources it was given, and no citation may point elsewhere.
public struct AnswerCheck: Sendable, Equatable, Codable {
    /// Sentences in the answer.
    public var sentences: Int
    /// The sources the answer cites, by number, in order of first citation.
    public var citedSources: [Int]
    /// Citation numbers that name no given source (the model invented them).
    public var invalidCitations: [Int]
    /// Sentences that cite no given source.
    public var uncitedSentences: [String]

    /// Whether every sentence cites a given source and no citation is invalid.
    public var fullyCited: Bool { sentences > 0 && invalidCitations.isEmpty && uncitedSentences.isEmpty }

    enum CodingKeys: String, CodingKey {
        case sentences
        case citedSources = "cited_sources"
        case invalidCitations = "invalid_citations"
        case uncitedSentences = "uncited_sentences"
        case fullyCited = "fully_cited"
    }

    /// Creates a check's result.
    public init(sentences: Int, citedSources: [Int], invalidCitations: [Int], uncitedSentences: [String]) {
        self.sentences = sentences
        self.citedSources = citedSources
        self.invalidCitations = invalidCitations
        self.uncitedSentences = uncitedSentences
    }

    /// Decodes a result; `fully_cited` is derived, so it is not read.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sentences = try c.decode(Int.self, forKey: .sentences)
        citedSources = try c.decode([Int].self, forKey: .citedSources)
        invalidCitations = try c.decode([Int].self, forKey: .invalidCitations)
        uncitedSentences = try c.decode([String].self, forKey: .uncitedSentences)
    }

    /// Encodes the result with `fully_cited`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sentences, forKey: .sentences)
        try c.encode(citedSources, forKey: .citedSources)
        try c.encode(invalidCitations, forKey: .invalidCitations)
        try c.encode(uncitedSentences, forKey: .uncitedSentences)
        try c.encode(fullyCited, forKey: .fullyCited)
    }

    /// Checks `answer` against sources numbered `1...sourceCount`.
    ///
    /// Citations are read as `CitationMarkers` reads them (`[n]`, `[n, m]`, `[n][m]`,
    /// `[Source n]`, ...); one that follows a sentence's full stop (`... end. [2]`) belongs to
    /// that sentence.
    public static func check(_ answer: String, sourceCount: Int) -> AnswerCheck {
        check(answer, sources: Set(sourceCount > 0 ? Array(1...sourceCount) : []))
    }

    /// Checks `answer` against the sources numbered `sources` (the ones the answerer was given,
    /// when a guard kept some out).
    public static func check(_ answer: String, sources: Set<Int>) -> AnswerCheck {
        let sentences = citedSentences(answer)
        var cited: [Int] = []
        var invalid: [Int] = []
        var uncited: [String] = []
        for sentence in sentences {
            let numbers = CitationMarkers.numbers(in: sentence)
            var valid = false
            for number in numbers {
                if sources.contains(number) {
                    valid = true
                    if !cited.contains(number) { cited.append(number) }
                } else if !invalid.contains(number) {
                    invalid.append(number)
                }
            }
            if !valid { uncited.append(sentence) }
        }
        return AnswerCheck(sentences: sentences.count, citedSources: cited, invalidCitations: invalid, uncitedSentences: uncited)
    }

    /// The sentences of an answer, each with the citations that close it
    /// (`SentenceSplitter.answerSentences`); a line that is only a heading or a label
    /// ("Answer:") is not a claim.
    static func citedSentences(_ answer: String) -> [String] {
        SentenceSplitter.answerSentences(answer).filter { $0.contains(where: \.isLetter) && !$0.hasSuffix(":") }
    }
}
