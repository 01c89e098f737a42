import QuarryGuard

/// What an ingest does with personal data in documents (a collection's `ingest_pii` setting):
/// counts it, or replaces it with placeholders (`[EMAIL]`) in every block and in the document's
/// metadata before anything is chunked, embedded or written — so the store, the index and the
/// logs only ever hold the redacted text.
public struct PersonalDataFilter: Sendable {
    /// `detect` (count) or `redact`.
    public let mode: GuardrailPolicy.IngestPII
    private let detector: PIIDetector

    /// A filter for `mode` over `entities`; `nil` for mode `off`.
    public init?(mode: GuardrailPolicy.IngestPII, entities: Set<PIIEntity> = Set(PIIEntity.allCases)) {
        guard mode != .off else { return nil }
        self.mode = mode
        detector = PIIDetector(entities: entities)
    }

    /// The filter `policy` asks for at ingest; `nil` when it asks for none.
    public init?(policy: GuardrailPolicy) {
        self.init(mode: policy.ingestPII, entities: policy.piiEntities)
    }

    /// `blocks` as they are to be stored, counting what was found into `counts`.
    func apply(to blocks: [DocumentBlock], counts: inout [String: Int]) -> [DocumentBlock] {
        var blocks = blocks
        for index in blocks.indices {
            blocks[index].text = apply(to: blocks[index].text, counts: &counts)
        }
        return blocks
    }

    /// `metadata` as it is to be stored (values redacted, keys kept).
    func apply(to metadata: [String: String], counts: inout [String: Int]) -> [String: String] {
        metadata.mapValues { apply(to: $0, counts: &counts) }
    }

    private func apply(to text: String, counts: inout [String: Int]) -> String {
        switch mode {
        case .off:
            return text
        case .detect:
            for finding in detector.findings(in: text) { counts[finding.entity.rawValue, default: 0] += 1 }
            return text
        case .redact:
            let (redacted, findings) = detector.redact(text)
            for finding in findings { counts[finding.entity.rawValue, default: 0] += 1 }
            return redacted
        }
    }
}
