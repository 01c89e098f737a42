import Foundation

/// Citation markers: how an answer names the numbered sources it was given (`[2]`), as Quarry
/// writes them and as it reads them in a model's answer.
///
/// Quarry writes `[n]`. It reads `[n]`, `[n, m]`, `[n; m]`, `[n][m]`, `[Source n]`, `[src n]` and
/// `[#n]` (numbers of at most four digits); other bracketed text (`[a, b]`, `[1-3]`, `[12345]`)
/// is not a marker.
public enum CitationMarkers {
    /// The marker of source `number`: `[2]`.
    public static func marker(for number: Int) -> String {
        "[\(number)]"
    }

    /// Every source number the markers of `text` name, in order, with repeats.
    public static func numbers(in text: String) -> [Int] {
        var numbers: [Int] = []
        var index = text.startIndex
        while let open = text[index...].firstIndex(of: "[") {
            guard let close = text[open...].firstIndex(of: "]") else { break }
            if let parsed = Self.numbers(inMarker: text[text.index(after: open)..<close]) { numbers += parsed }
            index = text.index(after: close)
        }
        return numbers
    }

    /// The numbers a marker names, given what stands between its brackets: `1`, `1, 2`, `1;2`,
    /// `Source 3`, `source 1, source 2` → numbers; anything else → `nil`.
    public static func numbers(inMarker inside: Substring) -> [Int]? {
        var numbers: [Int] = []
        for part in inside.split(whereSeparator: { $0 == "," || $0 == ";" }) {
            var word = part.trimmingCharacters(in: .whitespaces).lowercased()
            for prefix in ["source", "src", "#"] where word.hasPrefix(prefix) {
                word = String(word.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
            }
            guard !word.isEmpty, word.count <= 4, let number = Int(word) else { return nil }
            numbers.append(number)
        }
        return numbers.isEmpty ? nil : numbers
    }

    /// Whether `bracketed` (`[` through the first `]` after it) is a marker.
    static func isMarker(_ bracketed: Substring) -> Bool {
        numbers(inMarker: bracketed.dropFirst().dropLast()) != nil
    }

    /// `text` without its markers (other bracketed text stays), white space collapsed and no
    /// space left before punctuation: `end [2].` → `end.`.
    public static func removing(from text: String) -> String {
        var collapsed = blanking(in: text).split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
        for mark in [".", ",", ";", ":", "!", "?"] { collapsed = collapsed.replacingOccurrences(of: " " + mark, with: mark) }
        return collapsed.trimmingWhitespace()
    }

    /// `text` without its citation markers and the spaces before each, nothing else changed
    /// (`pages [1]. Next` → `pages. Next`): for reading an answer's words and sentences, where
    /// `removing(from:)`'s tidying of the whole text is not needed.
    public static func blanking(in text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "[")) else { return text }
        var output = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "[") {
            output += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "]") else {
                rest = rest[open...]
                break
            }
            let bracketed = rest[open...close]
            rest = rest[rest.index(after: close)...]
            if isMarker(bracketed) {
                while output.last == " " || output.last == "\t" { output.removeLast() }
                // A marker glued to the next word (`[1]Next`) still parts it from the last one.
                if let next = rest.first, next.isLetter || next.isNumber, !output.isEmpty { output += " " }
            } else {
                output += bracketed
            }
        }
        output += rest
        return output
    }

    /// Splits off the markers that open `sentence`: `[2] [3] Next` → (`[2] [3]`, `Next`); with no
    /// marker first, (``, `sentence`).
    public static func leadingMarkers(of sentence: String) -> (markers: String, rest: String) {
        var index = sentence.startIndex
        var end = index
        while index < sentence.endIndex, sentence[index] == "[" {
            guard let close = sentence[index...].firstIndex(of: "]"), isMarker(sentence[index...close]) else { break }
            index = sentence.index(after: close)
            end = index
            while index < sentence.endIndex, sentence[index] == " " { index = sentence.index(after: index) }
        }
        let markers = String(sentence[..<end]).trimmingCharacters(in: .whitespaces)
        return (markers, String(sentence[end...]).trimmingCharacters(in: .whitespaces))
    }

    /// Splits `line` after each marker that a space and a capitalised word follow: a marker
    /// closes a claim even when the claim has no full stop (`… utc [1] A similar effect …`).
    /// The pieces are trimmed; empty ones are dropped.
    public static func splittingAfterMarkers(_ line: String) -> [String] {
        var pieces: [String] = []
        var start = line.startIndex
        var index = line.startIndex
        while let open = line[index...].firstIndex(of: "["), let close = line[open...].firstIndex(of: "]") {
            index = line.index(after: close)
            guard isMarker(line[open...close]) else { continue }
            let next = line[index...].drop { $0 == " " }
            if next.first?.isUppercase == true, next.startIndex > index {
                pieces.append(String(line[start..<index]))
                start = next.startIndex
            }
        }
        pieces.append(String(line[start...]))
        return pieces.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
