import Foundation

/// The BERT uncased WordPiece tokenizer, as the model's `tokenizer.json` specifies it:
/// special tokens matched literally in the raw text; text cleaned (control characters dropped,
/// white space unified), CJK ideographs split, accents stripped (NFD, non-spacing marks
/// dropped), lower-cased; split on white space and punctuation; then greedy longest-match-first
/// WordPiece with `##` continuations, `[UNK]` for words it cannot cover or over 100 characters.
///
/// It never pads: `encode` returns exactly the real tokens, `[CLS] … [SEP]`, truncated to
/// `maxLength`.
public struct WordPieceTokenizer: Sendable {
    /// Id of `[PAD]`.
    public let padID: Int32
    /// Id of `[UNK]`.
    public let unknownID: Int32
    /// Id of `[CLS]`.
    public let classID: Int32
    /// Id of `[SEP]`.
    public let separatorID: Int32

    private let vocabulary: [String: Int32]
    /// Special tokens recognised in raw text, longest first.
    private let specialTokens: [(text: [Unicode.Scalar], id: Int32)]
    private let maxWordCharacters = 100

    /// Loads `vocab.txt` (one piece per line; the line number is the id).
    /// - Throws: `EmbeddingError.modelMissing` when the file is absent, `.modelCorrupt` when a
    ///   special token is missing from it.
    public init(vocabularyURL: URL) throws {
        let text: String
        do {
            text = try String(contentsOf: vocabularyURL, encoding: .utf8)
        } catch {
            throw EmbeddingError(
                .modelMissing, "cannot read the vocabulary \(vocabularyURL.path); run scripts/fetch-model.sh",
                underlying: error
            )
        }
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(32_000)
        var id: Int32 = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let piece = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if !piece.isEmpty, vocabulary[piece] == nil { vocabulary[piece] = id }
            id += 1
        }
        try self.init(vocabulary: vocabulary)
    }

    /// Creates a tokenizer from a piece → id table.
    /// - Throws: `EmbeddingError.modelCorrupt` when a special token is missing.
    public init(vocabulary: [String: Int32]) throws {
        func special(_ token: String) throws -> Int32 {
            guard let id = vocabulary[token] else {
                throw EmbeddingError(.modelCorrupt, "the vocabulary has no \(token) token")
            }
            return id
        }
        self.vocabulary = vocabulary
        padID = try special("[PAD]")
        unknownID = try special("[UNK]")
        classID = try special("[CLS]")
        separatorID = try special("[SEP]")
        let mask = try special("[MASK]")
        specialTokens = [
            ("[PAD]", padID), ("[UNK]", unknownID), ("[CLS]", classID), ("[SEP]", separatorID), ("[MASK]", mask),
        ].map { (Array($0.0.unicodeScalars), $0.1) }
    }

    /// The ids of `text` with `[CLS]` and `[SEP]`, truncated to `maxLength` ids in all.
    public func encode(_ text: String, maxLength: Int = 256) -> [Int32] {
        let budget = max(0, maxLength - 2)
        var ids: [Int32] = [classID]
        ids.reserveCapacity(min(budget, text.utf8.count / 3 + 8) + 2)
        tokenize(text, limit: budget) { ids.append($0) }
        ids.append(separatorID)
        return ids
    }

    /// The number of word pieces of `text`, without `[CLS]`/`[SEP]` and without truncation.
    public func tokenCount(_ text: String) -> Int {
        var count = 0
        tokenize(text, limit: .max) { _ in count += 1 }
        return count
    }

    /// Calls `emit` with the id of each word piece of `text`, at most `limit` of them.
    private func tokenize(_ text: String, limit: Int, emit: (Int32) -> Void) {
        var emitted = 0
        var segment: [Unicode.Scalar] = []
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func flushSegment() {
            guard !segment.isEmpty, emitted < limit else {
                segment.removeAll(keepingCapacity: true)
                return
            }
            for word in words(of: normalize(segment)) {
                for id in wordPieces(word) {
                    guard emitted < limit else { return }
                    emit(id)
                    emitted += 1
                }
            }
            segment.removeAll(keepingCapacity: true)
        }
        while index < scalars.count, emitted < limit {
            if scalars[index] == "[", let special = specialToken(at: index, in: scalars) {
                flushSegment()
                if emitted < limit {
                    emit(special.id)
                    emitted += 1
                }
                index += special.length
                continue
            }
            segment.append(scalars[index])
            index += 1
        }
        flushSegment()
    }

    private func specialToken(at index: Int, in scalars: [Unicode.Scalar]) -> (id: Int32, length: Int)? {
        for token in specialTokens where index + token.text.count <= scalars.count {
            if scalars[index..<index + token.text.count].elementsEqual(token.text) {
                return (token.id, token.text.count)
            }
        }
        return nil
    }

    /// Cleans, splits CJK ideographs, strips accents and lower-cases.
    func normalize(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(input.count + 8)
        for scalar in input {
            let value = scalar.value
            if value < 0x80 {
                // ASCII fast path: no accents, lower-casing is arithmetic.
                switch value {
                case 0x09, 0x0A, 0x0D, 0x20: output.append(" ")
                case 0x00..<0x20, 0x7F: continue
                case 0x41...0x5A: output.append(Unicode.Scalar(value + 0x20) ?? scalar)
                default: output.append(scalar)
                }
                continue
            }
            if value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                output.append(" ")
                continue
            }
            if Self.isCJKIdeograph(value) {
                output.append(" ")
                output.append(scalar)
                output.append(" ")
                continue
            }
            // Decompose (NFD), drop non-spacing marks, lower-case what is left.
            for decomposed in String(scalar).decomposedStringWithCanonicalMapping.unicodeScalars
            where decomposed.properties.generalCategory != .nonspacingMark {
                if decomposed.properties.changesWhenLowercased {
                    output.append(contentsOf: decomposed.properties.lowercaseMapping.unicodeScalars)
                } else {
                    output.append(decomposed)
                }
            }
        }
        return output
    }

    /// Splits normalised text on white space (dropped) and punctuation (kept, one per word).
    func words(of scalars: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var start = 0
        for (index, scalar) in scalars.enumerated() {
            if scalar == " " {
                if start < index { words.append(scalars[start..<index]) }
                start = index + 1
            } else if Self.isPunctuation(scalar) {
                if start < index { words.append(scalars[start..<index]) }
                words.append(scalars[index..<index + 1])
                start = index + 1
            }
        }
        if start < scalars.count { words.append(scalars[start...]) }
        return words
    }

    /// Greedy longest-match-first WordPiece over one word.
    func wordPieces(_ word: ArraySlice<Unicode.Scalar>) -> [Int32] {
        guard word.count <= maxWordCharacters else { return [unknownID] }
        var pieces: [Int32] = []
        var start = word.startIndex
        while start < word.endIndex {
            var end = word.endIndex
            var found: Int32?
            while start < end {
                var candidate = start == word.startIndex ? "" : "##"
                candidate.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return [unknownID] }
            pieces.append(id)
            start = end
        }
        return pieces
    }

    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: true
        default: false
        }
    }

    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) {
            return true
        }
        guard v >= 0x80 else { return false }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    static func isCJKIdeograph(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}
