/// A text prepared for the recognisers: its Unicode scalars in an array (so offsets are scalar
/// offsets, as `PIIFinding` promises) and a few facts gathered in one pass that let the
/// detector skip recognisers that cannot match.
struct ScannedText: Sendable {
    /// The scalar values of the text.
    let scalars: [UInt32]
    /// Whether the text contains `@` (e-mail addresses need one).
    let hasAt: Bool
    /// Whether the text contains `:` (IPv6 addresses need one).
    let hasColon: Bool
    /// The number of ASCII digits in the text.
    let digitCount: Int
    /// The most digits in one run where single spaces or dashes may sit between digits; a
    /// payment card needs 12 or more.
    let longestSeparatedDigitRun: Int

    /// Prepares `text` for scanning.
    init(_ text: String) {
        var scalars: [UInt32] = []
        scalars.reserveCapacity(text.utf8.count)
        var hasAt = false, hasColon = false
        var digits = 0, run = 0, longest = 0
        var previousWasSeparator = false
        for scalar in text.unicodeScalars {
            let value = scalar.value
            scalars.append(value)
            switch value {
            case 0x30...0x39:
                digits += 1
                run += 1
                longest = max(longest, run)
                previousWasSeparator = false
            case 0x20, 0x2D:
                if previousWasSeparator || run == 0 { run = 0 }
                previousWasSeparator = true
            default:
                if value == 0x40 { hasAt = true } else if value == 0x3A { hasColon = true }
                run = 0
                previousWasSeparator = false
            }
        }
        self.scalars = scalars
        self.hasAt = hasAt
        self.hasColon = hasColon
        self.digitCount = digits
        self.longestSeparatedDigitRun = longest
    }

    /// The number of scalars.
    var count: Int { scalars.count }

    /// The scalar at `index`, or 0 outside the text (so look-arounds need no bounds checks).
    subscript(index: Int) -> UInt32 {
        index >= 0 && index < scalars.count ? scalars[index] : 0
    }

    /// The text of the scalars in `start..<end`.
    func string(_ start: Int, _ end: Int) -> String {
        var result = String.UnicodeScalarView()
        for value in scalars[start..<end] {
            if let scalar = Unicode.Scalar(value) { result.append(scalar) }
        }
        return String(result)
    }

    /// Makes a finding for the scalars in `start..<end`.
    func finding(_ entity: PIIEntity, _ start: Int, _ end: Int, score: Double) -> PIIFinding {
        PIIFinding(entity: entity, start: start, end: end, score: min(1, max(0, score)), text: string(start, end))
    }

    func isDigit(_ index: Int) -> Bool { Scalar.isDigit(self[index]) }
    func isHexDigit(_ index: Int) -> Bool { Scalar.isHexDigit(self[index]) }
    func isASCIILetter(_ index: Int) -> Bool { Scalar.isASCIILetter(self[index]) }
    /// Whether the scalar at `index` is a letter or digit of any script (a word character).
    func isWordCharacter(_ index: Int) -> Bool { Scalar.isWordCharacter(self[index]) }

    /// The index of the first scalar at or after `index` that is not a digit.
    func endOfDigits(from index: Int) -> Int {
        var i = index
        while i < scalars.count && Scalar.isDigit(scalars[i]) { i += 1 }
        return i
    }

    /// The digits of `start..<end` as numbers 0…9, other scalars skipped.
    func digits(_ start: Int, _ end: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(end - start)
        for value in scalars[start..<end] where Scalar.isDigit(value) {
            result.append(UInt8(value - 0x30))
        }
        return result
    }
}

/// Character classes on scalar values; ASCII tests are inlined comparisons, the rest defer to
/// Unicode properties.
enum Scalar {
    static func isDigit(_ value: UInt32) -> Bool { value &- 0x30 < 10 }
    static func isASCIILetter(_ value: UInt32) -> Bool { (value | 0x20) &- 0x61 < 26 }
    static func isUpper(_ value: UInt32) -> Bool { value &- 0x41 < 26 }
    static func isHexDigit(_ value: UInt32) -> Bool { isDigit(value) || (value | 0x20) &- 0x61 < 6 }
    static func isWordCharacter(_ value: UInt32) -> Bool {
        if value < 0x80 { return isDigit(value) || isASCIILetter(value) || value == 0x5F }
        guard let scalar = Unicode.Scalar(value) else { return false }
        return scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }
    /// Lower-cases an ASCII letter; other scalars are returned unchanged.
    static func lowered(_ value: UInt32) -> UInt32 { isUpper(value) ? value | 0x20 : value }
}
