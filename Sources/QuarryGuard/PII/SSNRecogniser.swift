/// US social security numbers: `ddd-dd-dddd`, or with spaces or dots (the same separator twice),
/// or nine bare digits only after a context word ("ssn", "social security").
///
/// Validation follows the SSA's rules: area 000, 666 and 900–999 are never issued, nor group
/// 00 or serial 0000. Numbers made of one repeated digit and the well-known published examples
/// (123-45-6789, 078-05-1120 from the Woolworth wallet card, 219-09-9999 from an SSA leaflet)
/// are rejected: they name nobody, and they appear in documentation as examples.
struct SSNRecogniser: PIIRecogniser {
    let entity = PIIEntity.usSSN

    static let dashedScore = 0.6
    static let spacedScore = 0.35
    static let bareScore = 0.3
    static let contextBoost = 0.35
    static let context = ContextWords(["ssn", "ssns", "ss", "social", "security", "ssa", "taxpayer"])

    static let knownExamples: Set<String> = ["123456789", "078051120", "219099999"]
    private static let separators: Set<UInt32> = [0x2D, 0x20, 0x2E]

    func mayMatch(_ text: ScannedText) -> Bool { text.digitCount >= 9 }

    func scan(_ text: ScannedText) -> [PIIFinding] {
        var results: [PIIFinding] = []
        var i = 0
        while i < text.count {
            guard DigitGroups.canStart(text, at: i) else { i += 1; continue }
            let groups = DigitGroups.read(text, from: i, allowed: Self.separators, maxDigits: 9)
            i = max(groups.end, i + 1)
            guard groups.lengths == [3, 2, 4] || groups.lengths == [9], groups.separatorsAreUniform,
                  DigitGroups.endsCleanly(text, at: groups.end) else { continue }
            let digits = text.digits(groups.start, groups.end)
            guard Self.isValid(digits) else { continue }
            let hasContext = Self.context.occur(in: text, before: groups.start)
            var score: Double
            switch groups.separators.first {
            case 0x2D: score = Self.dashedScore
            case .some: score = Self.spacedScore
            case .none:
                guard hasContext else { continue }
                score = Self.bareScore
            }
            if hasContext { score += Self.contextBoost }
            results.append(text.finding(.usSSN, groups.start, groups.end, score: score))
        }
        return results
    }

    /// Whether nine digits can be an issued SSN.
    static func isValid(_ digits: [UInt8]) -> Bool {
        guard digits.count == 9 else { return false }
        let area = Int(digits[0]) * 100 + Int(digits[1]) * 10 + Int(digits[2])
        let group = Int(digits[3]) * 10 + Int(digits[4])
        let serial = digits[5...].reduce(0) { $0 * 10 + Int($1) }
        guard area != 0, area != 666, area < 900, group != 0, serial != 0 else { return false }
        guard digits.contains(where: { $0 != digits[0] }) else { return false }
        return !knownExamples.contains(String(digits.map { Character(String($0)) }))
    }
}
