/// Stop words: words left out when texts are compared, because nearly every text has them.
///
/// Two lists, for two purposes that must not be mixed:
/// - `lucene` is for the lexical (BM25) search: Lucene's short English list, the one Anserini's
///   BM25 baselines use, so that Quarry's BM25 ranks as theirs does. These words match nearly
///   every chunk, so leaving them out of a query changes the ranking little and saves scoring
///   every chunk; a longer list would change BM25's ranks.
/// - `english` is for matching content words (extractive answers, the faithfulness scorer):
///   every function word, since a shared "which" or "been" says nothing about whether two
///   sentences are about the same thing. Its two uses differ by a few words, named below
///   (`question`, `claim`), rather than by lists of their own.
public enum StopWords {
    /// Lucene's English stop words (`EnglishAnalyzer`'s default set), which both store backends
    /// leave out of a BM25 query.
    public static let lucene: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
        "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
        "will", "with",
    ]

    /// Common English function words (articles, pronouns, prepositions, auxiliaries, ...), which
    /// carry no topic.
    public static let english: Set<String> = [
        "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at",
        "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could",
        "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has",
        "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it",
        "its", "itself", "just", "me", "more", "most", "my", "no", "nor", "not", "now", "of", "off", "on",
        "once", "only", "or", "other", "our", "ours", "out", "over", "own", "same", "she", "should", "so",
        "some", "such", "than", "that", "the", "their", "theirs", "them", "then", "there", "these", "they",
        "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what",
        "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
        "yours", "also", "may", "might", "must", "shall",
    ]

    /// Words that negate what follows them. The faithfulness scorer checks negation on its own
    /// (a negation barely moves a sentence's embedding or its word overlap).
    public static let negations: Set<String> = ["not", "no", "never", "none", "nor", "neither", "nothing", "nobody", "unless"]

    /// The stop words of a question and the sentences ranked against it (extractive answers):
    /// `english`, and the words a question uses to ask rather than to name its topic ("how do I
    /// use ...", "which one ...").
    public static let question: Set<String> = english.union(["use", "used", "using", "one"])

    /// The stop words of an answer's claims compared with their sources (the faithfulness
    /// scorer's word overlap): `english` and the `negations`, whose polarity is checked on its
    /// own. "use" and "one" stay content words here: a claim that something is used, or is one,
    /// asserts it.
    public static let claim: Set<String> = english.union(negations)
}
