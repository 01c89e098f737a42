/// A run of digits split into groups by single separators, as card numbers, phone numbers and
/// social security numbers are written ("4111 1111 1111 1111", "555-123-4567").
struct DigitGroups: Sendable {
    /// The offset of the first digit.
    let start: Int
    /// The offset just past the last digit.
    let end: Int
    /// The length of each group of digits.
    let lengths: [Int]
    /// The separator between each pair of groups (one fewer than `lengths`).
    let separators: [UInt32]

    /// The number of digits.
    var digitCount: Int { lengths.reduce(0, +) }

    /// Whether every separator is the same scalar (trivially true with one group).
    var separatorsAreUniform: Bool { separators.allSatisfy { $0 == separators.first } }

    /// Reads groups from `start` (which must be a digit), allowing any scalar in `allowed` as a
    /// single separator between groups, and stopping after `maxDigits` digits (a longer run is
    /// still read to its end so the caller can reject it).
    static func read(_ text: ScannedText, from start: Int, allowed: Set<UInt32>, maxDigits: Int) -> DigitGroups {
        var lengths: [Int] = []
        var separators: [UInt32] = []
        var i = start
        var total = 0
        while true {
            let groupEnd = text.endOfDigits(from: i)
            lengths.append(groupEnd - i)
            total += groupEnd - i
            i = groupEnd
            guard total <= maxDigits, allowed.contains(text[i]), text.isDigit(i + 1) else { break }
            separators.append(text[i])
            i += 1
        }
        return DigitGroups(start: start, end: i, lengths: lengths, separators: separators)
    }

    /// Whether a number may start at `index`: a digit not glued to a word or to a longer
    /// dotted, dashed or slashed number before it ("v1.2", "#123", "12/…", "-5").
    static func canStart(_ text: ScannedText, at index: Int) -> Bool {
        guard text.isDigit(index), !text.isWordCharacter(index - 1) else { return false }
        switch text[index - 1] {
        case 0x23, 0x24, 0xA3, 0x20AC:  // # $ £ €: an order number or an amount
            return false
        case 0x2E, 0x2C, 0x2D, 0x2F, 0x3A, 0x2B:  // . , - / : + after a digit: the number goes on
            return !text.isDigit(index - 2)
        default:
            return true
        }
    }

    /// Whether a number ending at `index` (exclusive) ends there: not glued to a word, and not
    /// continued by a dot, comma or dash and more digits ("4111…1111.5", "555-1234-99").
    static func endsCleanly(_ text: ScannedText, at index: Int) -> Bool {
        if text.isWordCharacter(index) { return false }
        switch text[index] {
        case 0x2E, 0x2C, 0x2D, 0x2F: return !text.isDigit(index + 1)
        default: return true
        }
    }
}
