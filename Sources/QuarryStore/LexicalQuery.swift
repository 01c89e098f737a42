import Foundation
import QuarryCore

/// How both stores read a lexical query.
enum LexicalQuery {
    /// The words of a query for FTS5: runs of letters and digits, lower-cased, each once, in
    /// order, at most 64, Lucene's stop words (`StopWords.lucene`) left out unless the query has
    /// nothing else.
    static func terms(_ query: String) -> [String] {
        var seen = Set<String>()
        var terms: [String] = []
        for word in query.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }) where terms.count < 64 {
            let term = String(word)
            if seen.insert(term).inserted { terms.append(term) }
        }
        let content = terms.filter { !StopWords.lucene.contains($0) }
        return content.isEmpty ? terms : content
    }

    /// Text as FTS5's `unicode61 remove_diacritics 2` tokenizer reads it: runs of letters and
    /// digits, lower-cased, diacritics removed, one space between. The pgvector backend indexes
    /// this form, so both backends see the same words.
    static func words(_ text: String) -> String {
        text.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil)
            .split(whereSeparator: { !$0.isLetter && !$0.isNumber })
            .joined(separator: " ")
    }
}
