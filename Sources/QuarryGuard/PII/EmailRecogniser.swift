/// E-mail addresses: `local@domain.tld`, the local part in RFC 5322's unquoted ("dot-atom")
/// form, the domain of letter/digit/hyphen labels (any script) with a top-level label of two or
/// more letters (or an `xn--` punycode label). Quoted local parts and IP-literal domains are
/// not recognised.
struct EmailRecogniser: PIIRecogniser {
    let entity = PIIEntity.email

    /// A structurally valid address is rarely anything else; a context word only confirms it.
    static let score = 0.9
    static let scoreWithContext = 1.0
    static let context = ContextWords(["email", "e-mail", "mail", "contact", "write", "courriel"])

    func mayMatch(_ text: ScannedText) -> Bool { text.hasAt }

    func scan(_ text: ScannedText) -> [PIIFinding] {
        var results: [PIIFinding] = []
        var searchFrom = 0
        for at in 0..<text.count where text[at] == 0x40 && at >= searchFrom {
            guard let start = localPartStart(text, at: at), let end = domainEnd(text, at: at) else { continue }
            let score = Self.context.occur(in: text, before: start) ? Self.scoreWithContext : Self.score
            results.append(text.finding(.email, start, end, score: score))
            searchFrom = end
        }
        return results
    }

    private static func isLocalCharacter(_ value: UInt32) -> Bool {
        if Scalar.isWordCharacter(value) { return true }
        switch value {
        // ! # $ % & ' * + - / = ? ^ _ ` { | } ~ .
        case 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x2F, 0x3D, 0x3F, 0x5E, 0x5F, 0x60, 0x7B...0x7E: return true
        default: return false
        }
    }

    /// The start of the local part before the `@` at `at`, or nil when there is none.
    private func localPartStart(_ text: ScannedText, at: Int) -> Int? {
        var i = at
        while i > 0 && at - i < 64 && Self.isLocalCharacter(text[i - 1]) { i -= 1 }
        // A dot cannot start the local part, end it, or repeat; prose punctuation before the
        // address ("'", "/") is not part of it either.
        while i < at && !text.isWordCharacter(i) { i += 1 }
        guard i < at, text[at - 1] != 0x2E else { return nil }
        var j = at - 1
        while j > i {
            if text[j] == 0x2E && text[j - 1] == 0x2E { return nil }
            j -= 1
        }
        return i
    }

    /// The end of the domain after the `@` at `at`, or nil when it is not a valid domain.
    private func domainEnd(_ text: ScannedText, at: Int) -> Int? {
        var i = at + 1
        var labelStarts: [Int] = [i]
        while i < text.count {
            let value = text[i]
            if Scalar.isWordCharacter(value) && value != 0x5F || value == 0x2D {
                i += 1
            } else if value == 0x2E && text.isWordCharacter(i + 1) && text[i + 1] != 0x5F && text[i - 1] != 0x2E {
                i += 1
                labelStarts.append(i)
            } else {
                break
            }
        }
        // Trailing hyphens belong to the prose, not the domain.
        while i > at + 1 && text[i - 1] == 0x2D { i -= 1 }
        guard labelStarts.count >= 2, let last = labelStarts.last, last < i else { return nil }
        // Each label: 1…63 characters, no hyphen at either end.
        var bounds = labelStarts.map { $0 }
        bounds.append(i + 1)
        for index in 0..<(bounds.count - 1) {
            let labelStart = bounds[index], labelEnd = bounds[index + 1] - 1
            guard labelEnd > labelStart, labelEnd - labelStart <= 63,
                  text[labelStart] != 0x2D, text[labelEnd - 1] != 0x2D else { return nil }
        }
        // The top-level label: two or more letters, or punycode.
        let tld = text.string(last, i).lowercased()
        let tldIsLetters = tld.unicodeScalars.count >= 2 && tld.unicodeScalars.allSatisfy { $0.properties.isAlphabetic }
        guard tldIsLetters || tld.hasPrefix("xn--") else { return nil }
        // `icon@2x.png`: an image-density suffix, not an address.
        let first = text.string(at + 1, bounds[1] - 1)
        if first.count >= 2, first.hasSuffix("x"), first.dropLast().allSatisfy(\.isNumber) { return nil }
        return i
    }
}
