/// International bank account numbers: a country code, two check digits and the country's
/// BBAN, written solid or in groups of four separated by single spaces or dashes. A match must
/// have exactly the registry length for its country and pass the ISO 13616 mod-97 check, which
/// a random string passes about once in 97 tries. Lower-case IBANs are accepted at a slightly
/// lower score.
struct IBANRecogniser: PIIRecogniser {
    let entity = PIIEntity.iban

    static let score = 0.95
    static let lowerCaseScore = 0.85
    static let context = ContextWords(["iban", "bank", "account", "transfer", "konto", "virement", "bic", "swift"])

    func mayMatch(_ text: ScannedText) -> Bool { text.digitCount >= 6 }

    func scan(_ text: ScannedText) -> [PIIFinding] {
        var results: [PIIFinding] = []
        var i = 0
        while i + 4 < text.count {
            guard text.isASCIILetter(i), text.isASCIILetter(i + 1), text.isDigit(i + 2), text.isDigit(i + 3),
                  !text.isWordCharacter(i - 1),
                  let length = IBANLengths.byCountry[text.string(i, i + 2).uppercased()],
                  let end = read(text, from: i, length: length) else { i += 1; continue }
            let characters = (i..<end).map { text[$0] }.filter { $0 != 0x20 && $0 != 0x2D }
            let upper = characters.map { Scalar.isASCIILetter($0) ? $0 & ~0x20 : $0 }
            if Checksums.ibanIsValid(upper) {
                let isUpper = characters == upper
                let isLower = characters.allSatisfy { !Scalar.isUpper($0) }
                if isUpper || isLower {
                    var score = isUpper ? Self.score : Self.lowerCaseScore
                    if Self.context.occur(in: text, before: i) { score = min(1, score + 0.05) }
                    results.append(text.finding(.iban, i, end, score: score))
                    i = end
                    continue
                }
            }
            i += 1
        }
        return results
    }

    /// The end of an IBAN of `length` characters starting at `start`, or nil when the text
    /// there is not one: separators only between groups of four and all alike, and no letter or
    /// digit glued to the end.
    private func read(_ text: ScannedText, from start: Int, length: Int) -> Int? {
        var i = start
        var count = 0
        var separator: UInt32?
        while count < length {
            let value = text[i]
            if Scalar.isDigit(value) || Scalar.isASCIILetter(value) {
                count += 1
                i += 1
            } else if (value == 0x20 || value == 0x2D), count % 4 == 0, count > 0,
                      separator == nil || separator == value, text.isWordCharacter(i + 1) {
                separator = value
                i += 1
            } else {
                return nil
            }
        }
        return text.isWordCharacter(i) ? nil : i
    }
}
