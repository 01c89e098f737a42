import QuarryCore

/// Applies a `GuardrailPolicy` to the texts of one query: the question, each retrieved passage,
/// and the answer's sentences. Deterministic and cheap (patterns and checksums; no model call).
public struct TextGuard: Sendable {
    /// The policy applied.
    public let policy: GuardrailPolicy
    private let scorer: InjectionScorer
    private let detector: PIIDetector

    /// Creates a guard for `policy`.
    public init(policy: GuardrailPolicy) {
        self.policy = policy
        scorer = InjectionScorer(threshold: policy.injectionThreshold)
        detector = PIIDetector(entities: policy.piiEntities)
    }

    /// The question's flag, when the question reads as prompt injection and the policy checks it.
    public func checkQuestion(_ question: String) -> GuardrailFlag? {
        guard policy.question != .off else { return nil }
        let assessment = scorer.assess(question)
        guard assessment.flagged else { return nil }
        return GuardrailFlag(
            kind: .promptInjection, location: .question, score: assessment.score, signals: assessment.signals,
            action: policy.question == .refuse ? .refused : .flagged
        )
    }

    /// The passages (by citation number) that read as prompt injection, with their flags.
    public func checkPassages(_ citations: [Citation]) -> (flags: [GuardrailFlag], flagged: Set<Int>) {
        guard policy.passages != .off else { return ([], []) }
        let action: GuardrailFlag.Action = switch policy.passages {
        case .off, .flag: .flagged
        case .fence: .fenced
        case .exclude: .excluded
        }
        var flags: [GuardrailFlag] = []
        var flagged = Set<Int>()
        for citation in citations {
            let assessment = scorer.assess(citation.text)
            guard assessment.flagged else { continue }
            flagged.insert(citation.id)
            flags.append(
                GuardrailFlag(
                    kind: .promptInjection, location: .passage, citation: citation.id, score: assessment.score,
                    signals: assessment.signals, action: action
                )
            )
        }
        return (flags, flagged)
    }

    /// `text` with the personal data the policy looks for replaced by placeholders, and what was
    /// found (kinds and highest score; `nil` when nothing was).
    public func redactPersonalData(_ text: String) -> (text: String, found: (entities: [String], score: Double)?) {
        let (redacted, findings) = detector.redact(text)
        guard !findings.isEmpty else { return (text, nil) }
        let entities = Array(Set(findings.map(\.entity.rawValue))).sorted()
        return (redacted, (entities, findings.map(\.score).max() ?? 0))
    }
}
