/// Phone numbers in the forms people write them: international (`+CC …`, `00CC …`), North
/// American (`(xxx) xxx-xxxx`, `xxx-xxx-xxxx`, `xxx.xxx.xxxx`, with an optional leading 1),
/// European national numbers with a trunk 0 (`06 12 34 56 78`, `0490 75 40 81`,
/// `020 7946 0958`, `01.84.17.61.18`), with an optional extension (`x123`, `ext. 45`).
///
/// A phone number has no checksum, so the shape decides: 7–15 digits (E.164's limit), North
/// American area and exchange codes that do not start with 0 or 1, and no date
/// (`12.03.2024`, `2024-03-12`), year range, IP-like dotted quad, ISBN (978/979…), amount or
/// percentage. International and North American forms score at or above 0.55; other groupings
/// and bare digit runs score below 0.5 and need a context word ("phone", "tel", "call",
/// "mobile", "fax", "cell", …) within five words before them.
struct PhoneRecogniser: PIIRecogniser {
    let entity = PIIEntity.phone

    static let contextBoost = 0.35
    static let context = ContextWords(["phone", "phones", "telephone", "tel", "tél", "téléphone", "telefon", "telefono",
                                       "call", "calls", "called", "calling", "mobile", "mob", "fax", "cell", "cellphone",
                                       "contact", "dial", "sms", "text", "whatsapp", "hotline", "landline", "ph", "reach",
                                       "handy", "portable", "numéro", "helpline", "tlf"])
    /// Words that say a grouped number is something else.
    static let contrary = ContextWords(["order", "invoice", "tracking", "isbn", "issn", "serial", "sku", "ref",
                                        "reference", "account", "acct", "ticket", "case", "transaction", "version",
                                        "build", "patent", "part", "model", "id", "doi", "page", "pages", "vat", "zip",
                                        "postcode", "ean", "upc", "imei", "policy", "claim", "confirmation", "booking",
                                        "receipt", "lot", "batch", "item", "population", "total", "ssn", "social"], window: 3)
    /// Labels written just after a number in contact blocks ("555 1234 office", "… (fax)").
    static let labelsAfter = ContextWords(["office", "fax", "mobile", "cell", "home", "work", "tel", "phone", "direct",
                                           "landline", "mob"], window: 1)

    func mayMatch(_ text: ScannedText) -> Bool { text.digitCount >= 7 }

    func scan(_ text: ScannedText) -> [PIIFinding] {
        var results: [PIIFinding] = []
        var i = 0
        while i < text.count {
            let value = text[i]
            guard value == 0x2B || value == 0x28 || Scalar.isDigit(value),
                  let shape = PhoneNumberShape.read(text, at: i) else { i += 1; continue }
            i = max(i + 1, shape.endWithExtension)
            guard let base = Self.baseScore(shape, text) else { continue }
            var score = base
            if Self.context.occur(in: text, before: shape.start)
                || Self.labelsAfter.occur(in: text, after: shape.endWithExtension) {
                score = min(0.95, score + Self.contextBoost)
            } else if Self.contrary.occur(in: text, before: shape.start) {
                score -= 0.3
            }
            results.append(text.finding(.phone, shape.start, shape.endWithExtension, score: score))
        }
        return results
    }

    /// The score of a shape before context, or nil when it is not a phone number.
    static func baseScore(_ shape: PhoneNumberShape, _ text: ScannedText) -> Double? {
        let digits = shape.digits, groups = shape.groups, n = shape.digitCount
        guard (7...15).contains(n), shape.punctuation.count <= 1 else { return nil }
        // Glued to more text, or an amount / percentage.
        let next = text[shape.end]
        if text.isWordCharacter(shape.end) && shape.endWithExtension == shape.end { return nil }
        if next == 0x25 { return nil }
        if (next == 0x2E || next == 0x2C || next == 0x2D || next == 0x2F) && text.isDigit(shape.end + 1) { return nil }
        if looksLikeDate(shape) || looksLikeDottedQuad(shape) { return nil }
        if n == 13 && (digits.starts(with: [9, 7, 8]) || digits.starts(with: [9, 7, 9])) { return nil }

        if shape.hasPlus {
            guard groups.count > 1 || n >= 8 else { return nil }
            // The first group is the country code (1–3 digits) unless the number is solid.
            if groups.count > 1 && groups[0] > 3 && shape.parenthesised.first != 0 { return 0.5 }
            return groups.count > 1 ? 0.7 : 0.6
        }
        // A single-digit group is a list or a sum, except North America's leading 1 or "(0)".
        let singleDigitGroups = groups.indices.filter { groups[$0] == 1 && !shape.parenthesised.contains($0) }
        if let first = singleDigitGroups.first, !(first == 0 && digits[0] == 1 && singleDigitGroups.count == 1) { return nil }

        if digits.starts(with: [0, 0]), n >= 10, groups.count > 1 { return 0.55 }
        if let score = northAmerican(shape) { return score }
        // 3-2-4 is how social security numbers are written, not phone numbers.
        let ssnShaped = groups == [3, 2, 4]
        if digits[0] == 0 && !digits.starts(with: [0, 0]) && (9...11).contains(n) && groups.count >= 2 && !ssnShaped {
            let pairs = groups.count >= 4 && groups.dropFirst().allSatisfy { $0 == 2 || $0 == 3 }
            return pairs ? 0.55 : 0.5
        }
        if groups.count == 1 { return (10...11).contains(n) ? 0.25 : 0.15 }
        return n <= 12 ? 0.3 : 0.2
    }

    /// North American numbering plan: ten digits (after an optional leading 1) whose area and
    /// exchange codes start with 2–9, written 3-3-4 (or solid, scored low).
    static func northAmerican(_ shape: PhoneNumberShape) -> Double? {
        var digits = shape.digits[...], groups = shape.groups[...]
        if digits.count == 11 && digits.first == 1 {
            digits = digits.dropFirst()
            if groups.count > 1 { groups = groups.dropFirst() }
        }
        guard digits.count == 10 else {
            if shape.digits.count == 7, shape.groups == [3, 4], shape.digits[0] >= 2 { return 0.35 }
            return nil
        }
        let isValid = digits[digits.startIndex] >= 2 && digits[digits.startIndex + 3] >= 2
        // Written 3-3-4 but with an area or exchange code no one is given: still shaped like a
        // phone number, but it needs a context word.
        if Array(groups) == [3, 3, 4] { return !isValid ? 0.4 : shape.parenthesised.isEmpty ? 0.6 : 0.65 }
        guard isValid else { return nil }
        if groups.count == 1 || groups.count == 11 - digits.count { return 0.3 }
        return nil
    }

    /// `12.03.2024`, `2024-03-12`, `3/12/24`, and year ranges such as `2019-2020`.
    static func looksLikeDate(_ shape: PhoneNumberShape) -> Bool {
        let g = shape.groups
        guard shape.parenthesised.isEmpty, !shape.hasPlus else { return false }
        if g.count == 3 && !(shape.hasSpace && !shape.punctuation.isEmpty) {
            let dayFirst = g[0] <= 2 && g[1] <= 2 && (g[2] == 2 || g[2] == 4)
            let yearFirst = g[0] == 4 && g[1] <= 2 && g[2] <= 2
            if dayFirst || yearFirst { return true }
        }
        if g == [4, 4] {
            let first = shape.digits.prefix(4).reduce(0) { $0 * 10 + Int($1) }
            let second = shape.digits.suffix(4).reduce(0) { $0 * 10 + Int($1) }
            if (1800...2199).contains(first) && (1800...2199).contains(second) { return true }
        }
        return false
    }

    /// Four dotted groups of at most three digits: an IP address or a version, not a phone.
    static func looksLikeDottedQuad(_ shape: PhoneNumberShape) -> Bool {
        shape.punctuation == [0x2E] && shape.groups.count == 4 && shape.groups.allSatisfy { $0 <= 3 }
    }
}
