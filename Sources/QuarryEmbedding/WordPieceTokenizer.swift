import Foundation
import QuarryErrors

/// The BERT uncased WordPiece tokenizer, as the model's `tokenizer.json` specifies it:
/// special tokens matched literally in the raw text; text cleaned (control characters dropped,
/// white space unified), CJK ideographs split, accents stripped (NFD, non-spacing marks
/// dropped), lower-cased; split on white space and punctuation; then greedy longest-match-first
/// WordPiece with `##` continuations, `[UNK]` for words it cannot cover or over 100 characters.
///
/// It never pads: `encode` returns exactly the real tokens, `[CLS] … [SEP]`, truncated to
/// `maxLength`.
///
/// Tokenising is one pass over the text's Unicode scalars with no per-word or per-piece
/// allocation: normalisation happens scalar by scalar into a reused word buffer, and pieces are
/// looked up in an open-addressing table keyed by scalar sequences, whose hashes for every prefix
/// of the remaining word are computed in one sweep.
public struct WordPieceTokenizer: Sendable {
    /// Id of `[PAD]`.
    public let padID: Int32
    /// Id of `[UNK]`.
    public let unknownID: Int32
    /// Id of `[CLS]`.
    public let classID: Int32
    /// Id of `[SEP]`.
    public let separatorID: Int32
    /// Number of ids in the vocabulary (one more than the largest id).
    public let vocabularySize: Int

    private let pieces: PieceTable
    /// Special tokens recognised in raw text.
    private let specialTokens: [SpecialToken]
    /// Words longer than this many characters become `[UNK]`, as in BERT.
    static let maxWordCharacters = 100

    struct SpecialToken: Sendable {
        var scalars: [Unicode.Scalar]
        var id: Int32
    }

    /// Loads `vocab.txt` (one piece per line; the line number is the id).
    /// - Throws: `QuarryError.modelMissing` when the file is absent, `.modelCorrupt` when a
    ///   special token is missing from it.
    public init(vocabularyURL: URL) throws {
        let text: String
        do {
            text = try String(contentsOf: vocabularyURL, encoding: .utf8)
        } catch {
            throw QuarryError(.modelMissing, "cannot read the vocabulary \(vocabularyURL.path); run scripts/fetch-model.sh",
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
    /// - Throws: `QuarryError.modelCorrupt` when a special token is missing or an id is
    ///   negative.
    public init(vocabulary: [String: Int32]) throws {
        func special(_ token: String) throws -> Int32 {
            guard let id = vocabulary[token] else {
                throw QuarryError(.modelCorrupt, "the vocabulary has no \(token) token")
            }
            return id
        }
        guard vocabulary.values.allSatisfy({ $0 >= 0 }) else {
            throw QuarryError(.modelCorrupt, "the vocabulary has a negative id")
        }
        padID = try special("[PAD]")
        unknownID = try special("[UNK]")
        classID = try special("[CLS]")
        separatorID = try special("[SEP]")
        let mask = try special("[MASK]")
        vocabularySize = Int(vocabulary.values.max() ?? -1) + 1
        specialTokens = [("[PAD]", padID), ("[UNK]", unknownID), ("[CLS]", classID), ("[SEP]", separatorID), ("[MASK]", mask)]
            .map { SpecialToken(scalars: Array($0.0.unicodeScalars), id: $0.1) }
        pieces = PieceTable(vocabulary)
    }

    /// The ids of `text` with `[CLS]` and `[SEP]`, truncated to `maxLength` ids in all (at
    /// least the two special tokens are always returned).
    public func encode(_ text: String, maxLength: Int = 256) -> [Int32] {
        let budget = max(0, maxLength - 2)
        var run = TokenizerRun(tokenizer: self, limit: budget, keepIDs: true)
        run.ids.reserveCapacity(min(budget, text.utf8.count / 3 + 8) + 2)
        run.ids.append(classID)
        run.tokenize(text)
        run.ids.append(separatorID)
        return run.ids
    }

    /// The number of word pieces of `text`, without `[CLS]`/`[SEP]` and without truncation.
    public func tokenCount(_ text: String) -> Int {
        var run = TokenizerRun(tokenizer: self, limit: .max, keepIDs: false)
        run.tokenize(text)
        return run.emitted
    }

    /// One tokenisation: the scratch buffers and the output. Kept in a value so that the hot
    /// loop works on locals, not on captured variables.
    private struct TokenizerRun {
        let tokenizer: WordPieceTokenizer
        let limit: Int
        let keepIDs: Bool
        var ids: [Int32] = []
        var emitted = 0
        /// The current word's normalised scalars (only the first `maxWordCharacters + 1` are
        /// kept: a longer word is `[UNK]` whatever it holds).
        var word: [UInt32]
        var wordLength = 0
        /// Hashes of the prefixes of the rest of the word, for the longest-match search.
        var prefixHashes: [UInt64]
        /// The current word's pieces, emitted only once the whole word is covered.
        var wordPieces: [Int32] = []
        var decomposed: [UInt32] = []

        init(tokenizer: WordPieceTokenizer, limit: Int, keepIDs: Bool) {
            self.tokenizer = tokenizer
            self.limit = limit
            self.keepIDs = keepIDs
            word = [UInt32](repeating: 0, count: WordPieceTokenizer.maxWordCharacters + 1)
            prefixHashes = [UInt64](repeating: 0, count: max(1, tokenizer.pieces.longestPiece))
            wordPieces.reserveCapacity(WordPieceTokenizer.maxWordCharacters)
        }

        var isFull: Bool { emitted >= limit }

        mutating func tokenize(_ text: String) {
            guard limit > 0 else { return }
            let scalars = text.unicodeScalars
            var index = scalars.startIndex
            while index < scalars.endIndex, !isFull {
                let scalar = scalars[index]
                let value = scalar.value
                if value < 0x80 {
                    if value == 0x5B, let special = tokenizer.specialToken(at: index, in: scalars) {
                        flushWord()
                        emit(special.id)
                        index = special.end
                        continue
                    }
                    addASCII(value)
                } else {
                    addNonASCII(scalar)
                }
                scalars.formIndex(after: &index)
            }
            flushWord()
        }

        /// Cleaning, lower-casing and splitting of one ASCII scalar.
        @inline(__always)
        mutating func addASCII(_ value: UInt32) {
            switch value {
            case 0x09, 0x0A, 0x0D, 0x20: flushWord()
            case 0x00..<0x20, 0x7F: break  // control characters are dropped
            case 0x41...0x5A: append(value + 0x20)
            case 33...47, 58...64, 91...96, 123...126:
                flushWord()
                emitSingle(value)
            default: append(value)
            }
        }

        /// Cleaning, CJK splitting, accent stripping, lower-casing and splitting of one
        /// non-ASCII scalar.
        mutating func addNonASCII(_ scalar: Unicode.Scalar) {
            let value = scalar.value
            if value == 0xFFFD || WordPieceTokenizer.isControl(scalar) { return }
            if scalar.properties.isWhitespace {
                flushWord()
                return
            }
            if WordPieceTokenizer.isCJKIdeograph(value) {
                flushWord()
                emitSingle(value)
                return
            }
            // Decompose (NFD), drop non-spacing marks, lower-case what is left; a decomposition
            // may yield ASCII (U+037E is ";"), so every result is classified again.
            decomposed.removeAll(keepingCapacity: true)
            for part in String(scalar).decomposedStringWithCanonicalMapping.unicodeScalars {
                decomposed.append(part.value)
            }
            for part in decomposed {
                guard let partScalar = Unicode.Scalar(part) else { continue }
                if part >= 0x80, partScalar.properties.generalCategory == .nonspacingMark { continue }
                if partScalar.properties.changesWhenLowercased {
                    for lower in partScalar.properties.lowercaseMapping.unicodeScalars { addNormalized(lower) }
                } else {
                    addNormalized(partScalar)
                }
            }
        }

        /// Splitting of an already normalised scalar.
        @inline(__always)
        mutating func addNormalized(_ scalar: Unicode.Scalar) {
            let value = scalar.value
            if value < 0x80 {
                addASCII(value)
            } else if WordPieceTokenizer.isPunctuation(scalar) {
                flushWord()
                emitSingle(value)
            } else {
                append(value)
            }
        }

        @inline(__always)
        mutating func append(_ value: UInt32) {
            if wordLength < word.count { word[wordLength] = value }
            wordLength += 1
        }

        /// A word of one scalar (punctuation, a CJK ideograph).
        mutating func emitSingle(_ value: UInt32) {
            guard !isFull else { return }
            var single = value
            let id = withUnsafePointer(to: &single) { pointer in
                tokenizer.pieces.lookup(
                    hash: PieceTable.step(PieceTable.seed(continuation: false), value),
                    scalars: UnsafeBufferPointer(start: pointer, count: 1)
                )
            }
            emit(id ?? tokenizer.unknownID)
        }

        /// Greedy longest-match-first WordPiece over the buffered word, then emits its pieces.
        mutating func flushWord() {
            let length = wordLength
            wordLength = 0
            guard length > 0, !isFull else { return }
            guard length <= WordPieceTokenizer.maxWordCharacters else {
                emit(tokenizer.unknownID)
                return
            }
            wordPieces.removeAll(keepingCapacity: true)
            let table = tokenizer.pieces
            let covered = word.withUnsafeBufferPointer { word in
                prefixHashes.withUnsafeMutableBufferPointer { hashes in
                    var start = 0
                    while start < length {
                        let longest = min(length, start + hashes.count)
                        var hash = PieceTable.seed(continuation: start > 0)
                        for end in start..<longest {
                            hash = PieceTable.step(hash, word[end])
                            hashes[end - start] = hash
                        }
                        var end = longest
                        var found: Int32?
                        while end > start, found == nil {
                            found = table.lookup(
                                hash: hashes[end - start - 1], scalars: UnsafeBufferPointer(rebasing: word[start..<end])
                            )
                            if found == nil { end -= 1 }
                        }
                        guard let id = found else { return false }
                        wordPieces.append(id)
                        start = end
                    }
                    return true
                }
            }
            guard covered else {
                emit(tokenizer.unknownID)
                return
            }
            for id in wordPieces {
                guard !isFull else { return }
                emit(id)
            }
        }

        @inline(__always)
        mutating func emit(_ id: Int32) {
            guard emitted < limit else { return }
            if keepIDs { ids.append(id) }
            emitted += 1
        }
    }

    /// The special token spelled at `index` in `scalars`, and the index just past it.
    private func specialToken(
        at index: String.UnicodeScalarView.Index, in scalars: String.UnicodeScalarView
    ) -> (id: Int32, end: String.UnicodeScalarView.Index)? {
        for token in specialTokens {
            var position = index
            var matched = true
            for expected in token.scalars {
                guard position < scalars.endIndex, scalars[position] == expected else {
                    matched = false
                    break
                }
                scalars.formIndex(after: &position)
            }
            if matched { return (token.id, position) }
        }
        return nil
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

/// The vocabulary as an open-addressing hash table keyed by (continuation?, scalar sequence),
/// so that a candidate piece is looked up straight from the word buffer, without building a
/// `String`. At most half full, so every probe sequence ends at an empty slot.
struct PieceTable: Sendable {
    private let slots: [Int32]  // entry index + 1; 0 is empty
    private let hashes: [UInt64]
    private let starts: [Int]
    private let lengths: [Int]
    private let ids: [Int32]
    private let storage: [UInt32]
    private let mask: Int
    /// The longest piece, in scalars (without `##`): no longer candidate can match.
    let longestPiece: Int

    init(_ vocabulary: [String: Int32]) {
        var hashes: [UInt64] = [], starts: [Int] = [], lengths: [Int] = [], ids: [Int32] = []
        var storage: [UInt32] = []
        var longest = 0
        // Sorted so that the table's layout does not depend on dictionary order.
        for (piece, id) in vocabulary.sorted(by: { $0.value < $1.value || ($0.value == $1.value && $0.key < $1.key) }) {
            let continuation = piece.hasPrefix("##") && piece.unicodeScalars.count > 2
            let scalars = Array((continuation ? piece.dropFirst(2) : Substring(piece)).unicodeScalars.map(\.value))
            var hash = Self.seed(continuation: continuation)
            for value in scalars { hash = Self.step(hash, value) }
            hashes.append(hash)
            starts.append(storage.count)
            lengths.append(scalars.count)
            ids.append(id)
            storage += scalars
            longest = max(longest, scalars.count)
        }
        var capacity = 16
        while capacity < 2 * max(1, ids.count) { capacity *= 2 }
        var slots = [Int32](repeating: 0, count: capacity)
        let mask = capacity - 1
        for entry in ids.indices {
            var slot = Self.slot(hashes[entry], mask: mask)
            // Skip an entry equal to one already stored (the same piece under two ids): the
            // first, lowest id wins, as in vocab.txt.
            var duplicate = false
            while slots[slot] != 0 {
                let other = Int(slots[slot] - 1)
                if hashes[other] == hashes[entry], lengths[other] == lengths[entry],
                    storage[starts[other]..<starts[other] + lengths[other]]
                        == storage[starts[entry]..<starts[entry] + lengths[entry]]
                {
                    duplicate = true
                    break
                }
                slot = (slot + 1) & mask
            }
            if !duplicate { slots[slot] = Int32(entry + 1) }
        }
        self.slots = slots
        self.hashes = hashes
        self.starts = starts
        self.lengths = lengths
        self.ids = ids
        self.storage = storage
        self.mask = mask
        self.longestPiece = longest
    }

    /// FNV-1a start value; pieces and `##` continuations hash differently.
    @inline(__always)
    static func seed(continuation: Bool) -> UInt64 {
        continuation ? 0x84222325_CBF29CE4 : 0xCBF29CE4_84222325
    }

    /// One FNV-1a step over a whole scalar.
    @inline(__always)
    static func step(_ hash: UInt64, _ value: UInt32) -> UInt64 {
        (hash ^ UInt64(value)) &* 0x0000_0100_0000_01B3
    }

    /// FNV's low bits mix poorly, so the slot comes from a finalised hash.
    @inline(__always)
    static func slot(_ hash: UInt64, mask: Int) -> Int {
        var h = hash
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return Int(truncatingIfNeeded: h) & mask
    }

    /// The id of the piece spelled by `scalars` (hashed, with its kind's seed, as `hash`).
    @inline(__always)
    func lookup(hash: UInt64, scalars: UnsafeBufferPointer<UInt32>) -> Int32? {
        var slot = Self.slot(hash, mask: mask)
        while true {
            let entry = Int(slots[slot]) - 1
            guard entry >= 0 else { return nil }
            if hashes[entry] == hash, lengths[entry] == scalars.count {
                let start = starts[entry]
                var equal = true
                for i in 0..<scalars.count where storage[start + i] != scalars[i] {
                    equal = false
                    break
                }
                if equal { return ids[entry] }
            }
            slot = (slot + 1) & mask
        }
    }
}
