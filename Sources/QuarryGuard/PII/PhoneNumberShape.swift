/// How a candidate phone number is written: its groups of digits and what separates them. The
/// phone recogniser reads one from the text, then judges it.
struct PhoneNumberShape: Sendable {
    /// The offset of the first scalar (`+`, `(` or a digit).
    var start: Int
    /// The offset just past the last digit of the number proper.
    var end: Int
    /// The offset just past an extension ("x123", "ext. 45"), or `end` when there is none.
    var endWithExtension: Int
    /// The digits of the number proper, extension left out.
    var digits: [UInt8] = []
    /// The length of each group of digits.
    var groups: [Int] = []
    /// Whether the number starts with `+`.
    var hasPlus = false
    /// The index in `groups` of each group written in parentheses.
    var parenthesised: [Int] = []
    /// The distinct non-space separators used between groups (`-`, `.`, `/`).
    var punctuation: Set<UInt32> = []
    /// Whether a space separates any two groups.
    var hasSpace = false

    /// The number of digits of the number proper.
    var digitCount: Int { digits.count }

    /// Reads the longest phone-like run at `start`, or nil when none starts there.
    static func read(_ text: ScannedText, at start: Int) -> PhoneNumberShape? {
        var shape = PhoneNumberShape(start: start, end: start, endWithExtension: start)
        var i = start
        switch text[start] {
        case 0x2B:  // +
            guard !text.isWordCharacter(start - 1), text[start - 1] != 0x29 else { return nil }
            i += 1
            if text[i] == 0x20 { i += 1 }
            guard text.isDigit(i) else { return nil }
            shape.hasPlus = true
        case 0x28:  // (
            guard !text.isWordCharacter(start - 1), text.isDigit(start + 1) else { return nil }
        default:
            guard DigitGroups.canStart(text, at: start) else { return nil }
        }
        while shape.digits.count <= 20 {
            // One group, possibly in parentheses.
            var inParens = false
            if text[i] == 0x28 {
                guard text.isDigit(i + 1) else { break }
                inParens = true
                i += 1
            }
            let groupEnd = text.endOfDigits(from: i)
            shape.groups.append(groupEnd - i)
            for index in i..<groupEnd { shape.digits.append(UInt8(text[index] - 0x30)) }
            i = groupEnd
            shape.end = i
            if inParens {
                guard text[i] == 0x29 else { return nil }
                shape.parenthesised.append(shape.groups.count - 1)
                i += 1
                shape.end = i
            }
            // A separator, then the next group.
            let value = text[i]
            if inParens && text.isDigit(i) {
                continue
            } else if value == 0x28 && text.isDigit(i + 1) {
                continue
            } else if value == 0x20 && text[i + 1] == 0x28 && text.isDigit(i + 2) {
                shape.hasSpace = true
                i += 1
            } else if (value == 0x20 || value == 0x2D || value == 0x2E || value == 0x2F) && text.isDigit(i + 1) {
                if value == 0x20 { shape.hasSpace = true } else { shape.punctuation.insert(value) }
                i += 1
            } else {
                break
            }
        }
        shape.endWithExtension = readExtension(text, at: shape.end) ?? shape.end
        return shape
    }

    /// The end of an extension ("x12", " ext. 345", " extension 6") at `index`, if any.
    private static func readExtension(_ text: ScannedText, at index: Int) -> Int? {
        var i = index
        if text[i] == 0x20 { i += 1 }
        var word = ""
        while text.isASCIILetter(i), word.count < 10 {
            word.unicodeScalars.append(Unicode.Scalar(UInt8(Scalar.lowered(text[i]))))
            i += 1
        }
        guard ["x", "ext", "extension"].contains(word) else { return nil }
        if text[i] == 0x2E { i += 1 }
        if text[i] == 0x20 { i += 1 }
        let end = text.endOfDigits(from: i)
        guard (1...6).contains(end - i), !text.isWordCharacter(end) else { return nil }
        return end
    }
}
