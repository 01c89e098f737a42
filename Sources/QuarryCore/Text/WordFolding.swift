import Foundation

/// How Quarry reads the words of a text when it compares texts by content (extractive answers,
/// the faithfulness scorer): runs of letters and digits, lower-cased, with common English
/// inflections folded.
///
/// The lexical (BM25) search reads words its own way, as SQLite's FTS5 tokenizer does
/// (`LexicalQuery` in QuarryStore), so that both store backends rank alike.
public enum WordFolding {
    /// The words of `text`, lower-cased and without diacritics ("Beyoncé" meets "beyonce", as
    /// in FTS5's tokenizer), in order with repeats: runs of letters (of any script) and ASCII
    /// digits; every other character separates words.
    public static func words(of text: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.lowercased().decomposedStringWithCanonicalMapping.unicodeScalars {
            if scalar.properties.generalCategory == .nonspacingMark { continue }
            if scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                current.append(scalar)
            } else if !current.isEmpty {
                words.append(String(current))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return words
    }

    /// The content words of `text`, in order with repeats: its `words(of:)` that are not in
    /// `stopWords`, each folded (see `fold(_:)`).
    public static func contentWords(of text: String, ignoring stopWords: Set<String>) -> [String] {
        words(of: text).filter { !stopWords.contains($0) }.map(fold)
    }

    /// Folds common English inflections so that "indexes", "indexed" and "indexing" meet: a word
    /// of more than four characters loses the first of `ing`, `ies`, `ed`, `es`, `s` it ends in
    /// (but not the `s` of `ss`: "process" stays).
    ///
    /// A light fold, not a stemmer: it only has to make a paraphrase's grammar not count against
    /// it, and the same fold is applied to both texts compared.
    public static func fold(_ word: String) -> String {
        guard word.count > 4 else { return word }
        for suffix in ["ing", "ies", "ed", "es", "s"] where word.hasSuffix(suffix) {
            if suffix == "s", word.hasSuffix("ss") { return word }
            return String(word.dropLast(suffix.count))
        }
        return word
    }
}
