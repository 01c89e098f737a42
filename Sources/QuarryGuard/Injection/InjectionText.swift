/// A text as the injection scorer reads it: its words normalised so that spelling tricks do not
/// hide a phrase, the sentence each word is in, and what the normalising itself noticed.
///
/// Normalising folds case and diacritics ("Prüfen" reads "prufen", "ß" reads "ss"), drops
/// zero-width characters and soft hyphens, maps Cyrillic and Greek look-alike letters to Latin
/// inside words that mix scripts ("іgnore" with a Cyrillic і), undoes light leetspeak inside words
/// that mix letters and digits ("1gn0re" reads "ignore"), and splits words at anything that is
/// not a letter or digit (apostrophes are dropped, so "don't" reads "dont"). Sentences end at
/// `.`, `!`, `?`, `;` and line breaks.
struct InjectionText: Sendable {
    /// The normalised words, in order.
    var words: [String] = []
    /// For each word, the index of its sentence.
    var sentence: [Int] = []
    /// For each word, whether it is the first word of its sentence.
    var startsSentence: [Bool] = []
    /// The UTF-8 bytes of the text, for the markers read from the raw text (encoded blobs).
    var bytes: [UInt8] = []
    /// The same bytes with ASCII lower-cased (chat-template tokens, URLs).
    var lowercasedBytes: [UInt8] = []
    /// Zero-width characters and soft hyphens found inside words (and dropped). Between words
    /// they are left uncounted: scraped text has them there innocently.
    var zeroWidthCount = 0
    /// Words that mixed Latin letters with Cyrillic look-alikes.
    var mixedScriptWords = 0

    /// Reads `text`.
    init(_ text: String) {
        bytes = Array(text.utf8)
        lowercasedBytes = bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
        var builder = Builder()
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                switch value {
                case 0x41...0x5A: builder.appendLatin(UInt8(value + 0x20))
                case 0x61...0x7A: builder.appendLatin(UInt8(value))
                case 0x30...0x39: builder.appendDigit(UInt8(value))
                case 0x27: continue  // an apostrophe joins "don" and "t"
                case 0x2E, 0x21, 0x3F, 0x3B, 0x0A: builder.endSentence()  // . ! ? ; newline
                default: builder.endWord()
                }
                continue
            }
            if let folded = Self.latinFolds[scalar] {
                for byte in folded.utf8 { builder.appendLatin(byte) }
                continue
            }
            switch value {
            case 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD:
                builder.noteInvisible()
                continue
            case 0x2019, 0x0300...0x036F:  // ’ as an apostrophe; combining marks of decomposed text
                continue
            case 0x2028, 0x2029, 0x3002:
                builder.endSentence()
                continue
            default:
                break
            }
            let properties = scalar.properties
            if properties.isAlphabetic {
                let lower = properties.isUppercase ? (properties.lowercaseMapping.unicodeScalars.first ?? scalar) : scalar
                builder.appendOther(lower, isLookAlike: Self.lookAlikes[lower] != nil)
            } else if properties.generalCategory != .nonspacingMark {
                builder.endWord()
            }
        }
        builder.endWord()
        words = builder.words
        sentence = builder.sentence
        startsSentence = builder.startsSentence
        zeroWidthCount = builder.zeroWidthCount
        mixedScriptWords = builder.mixedScriptWords
    }

    /// The word-by-word state of the scan in `init`: a struct with mutating methods rather than
    /// closures over local variables, which would cost a dynamic exclusivity check per character.
    private struct Builder {
        var words: [String] = []
        var sentence: [Int] = []
        var startsSentence: [Bool] = []
        var zeroWidthCount = 0
        var mixedScriptWords = 0
        private var word: [UInt8] = []
        private var hasLookAlike = false, hasLetter = false, hasDigit = false
        private var latinCount = 0
        private var invisibleInWord = 0
        private var sentenceIndex = 0
        private var atSentenceStart = true

        mutating func appendLatin(_ byte: UInt8) {
            settleInvisible()
            word.append(byte)
            hasLetter = true
            latinCount += 1
        }

        mutating func appendDigit(_ byte: UInt8) {
            settleInvisible()
            word.append(byte)
            hasDigit = true
        }

        mutating func appendOther(_ scalar: Unicode.Scalar, isLookAlike: Bool) {
            settleInvisible()
            word.append(contentsOf: String(scalar).utf8)
            hasLetter = true
            if isLookAlike { hasLookAlike = true }
        }

        /// A zero-width character counts only once a letter follows it in the same word.
        mutating func noteInvisible() {
            if !word.isEmpty { invisibleInWord += 1 }
        }

        private mutating func settleInvisible() {
            zeroWidthCount += invisibleInWord
            invisibleInWord = 0
        }

        mutating func endWord() {
            guard !word.isEmpty else { return }
            var text = String(decoding: word, as: UTF8.self)
            if latinCount >= 2 && hasLookAlike {
                text = String(String.UnicodeScalarView(text.unicodeScalars.map { InjectionText.lookAlikes[$0] ?? $0 }))
                mixedScriptWords += 1
            }
            if hasLetter && hasDigit {
                text = String(String.UnicodeScalarView(text.unicodeScalars.map { InjectionText.leet[$0] ?? $0 }))
            }
            words.append(text)
            sentence.append(sentenceIndex)
            startsSentence.append(atSentenceStart)
            atSentenceStart = false
            word.removeAll(keepingCapacity: true)
            hasLookAlike = false; hasLetter = false; hasDigit = false
            latinCount = 0
            invisibleInWord = 0
        }

        mutating func endSentence() {
            endWord()
            if !atSentenceStart { sentenceIndex += 1 }
            atSentenceStart = true
        }
    }

    /// Latin letters with diacritics, and ligatures, folded to lower-case ASCII: the Latin-1
    /// Supplement and Latin Extended-A blocks, which cover the languages the phrases are written
    /// in. A table, not Unicode decomposition: decomposing every passage costs more than the
    /// rest of the scoring.
    private static let latinFolds: [Unicode.Scalar: String] = {
        let bases: [(ClosedRange<UInt32>, String)] = [
            (0xC0...0xC5, "a"), (0xC7...0xC7, "c"), (0xC8...0xCB, "e"), (0xCC...0xCF, "i"), (0xD0...0xD0, "d"),
            (0xD1...0xD1, "n"), (0xD2...0xD6, "o"), (0xD8...0xD8, "o"), (0xD9...0xDC, "u"), (0xDD...0xDD, "y"),
            (0xE0...0xE5, "a"), (0xE7...0xE7, "c"), (0xE8...0xEB, "e"), (0xEC...0xEF, "i"), (0xF0...0xF0, "d"),
            (0xF1...0xF1, "n"), (0xF2...0xF6, "o"), (0xF8...0xF8, "o"), (0xF9...0xFC, "u"), (0xFD...0xFD, "y"),
            (0xFF...0xFF, "y"),
            (0x100...0x105, "a"), (0x106...0x10D, "c"), (0x10E...0x111, "d"), (0x112...0x11B, "e"), (0x11C...0x123, "g"),
            (0x124...0x127, "h"), (0x128...0x131, "i"), (0x134...0x135, "j"), (0x136...0x138, "k"), (0x139...0x142, "l"),
            (0x143...0x14B, "n"), (0x14C...0x151, "o"), (0x154...0x159, "r"), (0x15A...0x161, "s"), (0x162...0x167, "t"),
            (0x168...0x173, "u"), (0x174...0x175, "w"), (0x176...0x178, "y"), (0x179...0x17E, "z"),
        ]
        var table: [Unicode.Scalar: String] = [:]
        for (range, base) in bases {
            for value in range { if let scalar = Unicode.Scalar(value) { table[scalar] = base } }
        }
        let ligatures: [Unicode.Scalar: String] = [
            "ß": "ss", "ẞ": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "Þ": "th", "þ": "th", "Ĳ": "ij", "ĳ": "ij",
        ]
        table.merge(ligatures) { _, ligature in ligature }
        return table
    }()

    /// Cyrillic lower-case letters drawn like Latin ones. Greek is left out: science writes
    /// "NF-κB" and "TNFα" with Greek letters inside Latin words as a matter of course.
    fileprivate static let lookAlikes: [Unicode.Scalar: Unicode.Scalar] = [
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
        "к": "k", "м": "m", "т": "t", "н": "h", "в": "b",
    ]

    /// Digits read as the letters they stand in for, inside words that mix letters and digits.
    fileprivate static let leet: [Unicode.Scalar: Unicode.Scalar] = [
        "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
    ]
}
