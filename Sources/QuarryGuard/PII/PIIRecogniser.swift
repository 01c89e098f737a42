/// One kind of personal data, found by a hand-written scanner: it proposes candidate spans,
/// validates them (checksums, ranges, known formats) and scores them, raising the score when a
/// context word stands shortly before.
protocol PIIRecogniser: Sendable {
    /// The kind of data this recogniser finds.
    var entity: PIIEntity { get }
    /// Whether `text` can hold a match at all, decided from facts gathered while the text was
    /// prepared; lets the detector skip the scan.
    func mayMatch(_ text: ScannedText) -> Bool
    /// Every validated match in `text`, scored; overlaps between them are allowed and resolved
    /// by the detector.
    func scan(_ text: ScannedText) -> [PIIFinding]
}
