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
        // Runs of ASCII letters and digits are read byte by byte (most text is mostly ASCII, and
        // Unicode decomposition costs far more); a run holding any other byte goes through the
        // Unicode path. ASCII punctuation and spaces separate words in both, so the result is
        // the same as reading the whole text the Unicode way.
        var text = text
        return text.withUTF8 { bytes in
            var words: [String] = []
            var start = 0
            var ascii = true
            func flush(_ end: Int) {
                guard end > start else { return }
                let run = UnsafeBufferPointer(rebasing: bytes[start..<end])
                if ascii {
                    words.append(String(unsafeUninitializedCapacity: run.count) { buffer in
                        for (index, byte) in run.enumerated() { buffer[index] = (0x41...0x5A).contains(byte) ? byte | 0x20 : byte }
                        return run.count
                    })
                } else {
                    words += unicodeWords(of: String(decoding: run, as: UTF8.self))
                }
            }
            for (index, byte) in bytes.enumerated() {
                let isASCIIWordByte = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                if isASCIIWordByte || byte >= 0x80 {
                    if byte >= 0x80 { ascii = false }
                    continue
                }
                flush(index)
                start = index + 1
                ascii = true
            }
            flush(bytes.count)
            return words
        }
    }

    /// `words(of:)` the Unicode way: lower-cased, decomposed, marks dropped.
    static func unicodeWords(of text: String) -> [String] {
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
        guard word.utf8.count > 4, word.count > 4 else { return word }
        for suffix in ["ing", "ies", "ed", "es", "s"] where word.hasSuffix(suffix) {
            if suffix == "s", word.hasSuffix("ss") { return word }
            return String(word.dropLast(suffix.count))
        }
        return word
    }
}
