/// Finds and redacts personal data — e-mail addresses, phone numbers, payment card numbers,
/// IBANs, US social security numbers and IP addresses — with validating scanners (Luhn and
/// mod-97 checks, range checks, context words). No model, no allocation beyond the findings:
/// it runs over every retrieved passage and every ingested chunk.
public struct PIIDetector: Sendable {
    /// The kinds of data looked for.
    public let entities: Set<PIIEntity>
    /// Findings scoring below this are dropped.
    public let minimumScore: Double

    private let recognisers: [any PIIRecogniser]

    /// Creates a detector.
    /// - Parameters:
    ///   - entities: The kinds of data to look for; all of them by default.
    ///   - minimumScore: Findings scoring below this (0…1) are dropped. At the default 0.5 a
    ///     weak pattern (a bare nine-digit number, a 7-digit local phone number) needs a
    ///     context word before it to be reported; validated matches always are.
    public init(entities: Set<PIIEntity> = Set(PIIEntity.allCases), minimumScore: Double = 0.5) {
        self.entities = entities
        self.minimumScore = minimumScore
        let all: [any PIIRecogniser] = [
            EmailRecogniser(), PaymentCardRecogniser(), IBANRecogniser(),
            SSNRecogniser(), IPAddressRecogniser(), PhoneRecogniser(),
        ]
        self.recognisers = all.filter { entities.contains($0.entity) }
    }

    /// The personal data in `text`.
    /// - Parameter text: The text to scan.
    /// - Returns: Findings sorted by `start`, none overlapping another: where candidates
    ///   overlap, the higher score wins, then the longer span, then the earlier one.
    public func findings(in text: String) -> [PIIFinding] {
        let scanned = ScannedText(text)
        var candidates: [PIIFinding] = []
        for recogniser in recognisers where recogniser.mayMatch(scanned) {
            for finding in recogniser.scan(scanned) where finding.score >= minimumScore {
                candidates.append(finding)
            }
        }
        return Self.resolveOverlaps(candidates)
    }

    /// `text` with every finding replaced by its entity's placeholder (e.g. `[EMAIL]`).
    /// - Parameter text: The text to redact.
    /// - Returns: The redacted text, and the findings with offsets into the original `text`.
    public func redact(_ text: String) -> (text: String, findings: [PIIFinding]) {
        let found = findings(in: text)
        guard !found.isEmpty else { return (text, found) }
        var output = String.UnicodeScalarView()
        var next = found.startIndex
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            if next < found.endIndex, offset >= found[next].start {
                if offset == found[next].start { output.append(contentsOf: found[next].entity.placeholder.unicodeScalars) }
                if offset + 1 >= found[next].end { next += 1 }
                continue
            }
            output.append(scalar)
        }
        return (String(output), found)
    }

    /// Keeps the best of each group of overlapping candidates; the result is sorted by start.
    static func resolveOverlaps(_ candidates: [PIIFinding]) -> [PIIFinding] {
        guard candidates.count > 1 else { return candidates }
        let ranked = candidates.sorted { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.length != b.length { return a.length > b.length }
            return a.start < b.start
        }
        var kept: [PIIFinding] = []
        for candidate in ranked where !kept.contains(where: { $0.overlaps(candidate) }) {
            kept.append(candidate)
        }
        return kept.sorted { $0.start < $1.start }
    }
}
