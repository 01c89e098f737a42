/// Payment card numbers: 12–19 digits, optionally in groups separated by single spaces or
/// dashes (4-4-4-4, 4-6-5 and the like), that pass the Luhn check. A number with a known issuer
/// prefix and a length that issuer uses scores high; one that passes Luhn but matches no issuer
/// needs a context word ("card", "visa", …).
struct PaymentCardRecogniser: PIIRecogniser {
    let entity = PIIEntity.creditCard

    static let context = ContextWords(["card", "cards", "credit", "debit", "visa", "mastercard", "amex", "discover",
                                       "jcb", "diners", "maestro", "unionpay", "cc", "pan", "payment", "paid", "pay"])
    /// Words that say a long number is something else.
    static let contrary = ContextWords(["order", "invoice", "tracking", "isbn", "serial", "ref", "reference", "sku",
                                        "account", "ticket", "transaction", "parcel", "shipment", "imei", "id"], window: 3)

    private static let separators: Set<UInt32> = [0x20, 0x2D]

    func mayMatch(_ text: ScannedText) -> Bool { text.longestSeparatedDigitRun >= 12 }

    func scan(_ text: ScannedText) -> [PIIFinding] {
        var results: [PIIFinding] = []
        var i = 0
        while i < text.count {
            guard DigitGroups.canStart(text, at: i) else { i += 1; continue }
            let groups = DigitGroups.read(text, from: i, allowed: Self.separators, maxDigits: 19)
            i = max(groups.end, i + 1)
            guard (12...19).contains(groups.digitCount), DigitGroups.endsCleanly(text, at: groups.end),
                  groups.separatorsAreUniform, Self.groupingIsPlausible(groups.lengths) else { continue }
            let digits = text.digits(groups.start, groups.end)
            guard Checksums.luhnIsValid(digits), digits.contains(where: { $0 != digits[0] }) else { continue }
            let issuer = CardIssuer.match(digits)
            guard issuer != nil || digits.count >= 13 else { continue }
            var score = issuer == nil ? 0.3 : (digits.count >= 13 ? 0.9 : 0.45)
            if Self.context.occur(in: text, before: groups.start) {
                score += score >= 0.9 ? 0.1 : 0.35
            } else if Self.contrary.occur(in: text, before: groups.start) {
                score -= 0.45
            }
            results.append(text.finding(.creditCard, groups.start, groups.end, score: score))
        }
        return results
    }

    /// Card numbers are printed in fours (the last group shorter), or 4-6-5 / 4-6-4 (Amex,
    /// Diners); other groupings are phone numbers, dates or account numbers.
    static func groupingIsPlausible(_ lengths: [Int]) -> Bool {
        if lengths.count == 1 { return true }
        if lengths == [4, 6, 5] || lengths == [4, 6, 4] { return true }
        return lengths.dropLast().allSatisfy { $0 == 4 } && (1...4).contains(lengths.last ?? 0)
    }
}

/// Card issuers by their issuer identification number (IIN) prefix and the lengths they issue.
enum CardIssuer: Sendable {
    case visa, mastercard, amex, discover, diners, jcb, unionPay, maestro, mir

    /// The issuer whose prefix and length `digits` match, if any.
    static func match(_ digits: [UInt8]) -> CardIssuer? {
        func prefix(_ count: Int) -> Int { digits.prefix(count).reduce(0) { $0 * 10 + Int($1) } }
        let length = digits.count
        let p1 = prefix(1), p2 = prefix(2), p3 = prefix(3), p4 = prefix(4), p6 = prefix(6)
        if p1 == 4, [13, 16, 19].contains(length) { return .visa }
        if ((51...55).contains(p2) || (2221...2720).contains(p4)), length == 16 { return .mastercard }
        if p2 == 34 || p2 == 37, length == 15 { return .amex }
        if p4 == 6011 || p2 == 65 || (644...649).contains(p3) || (622126...622925).contains(p6), (16...19).contains(length) { return .discover }
        if (300...305).contains(p3) || p2 == 36 || p2 == 38 || p2 == 39 || p4 == 3095, (14...19).contains(length) { return .diners }
        if (3528...3589).contains(p4), (16...19).contains(length) { return .jcb }
        if p4 == 2131 || p4 == 1800, length == 15 { return .jcb }
        if (2200...2204).contains(p4), (16...19).contains(length) { return .mir }
        if p2 == 62 || p2 == 81, (16...19).contains(length) { return .unionPay }
        if p2 == 50 || (56...69).contains(p2), (12...19).contains(length) { return .maestro }
        return nil
    }
}
