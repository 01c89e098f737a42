import QuarryCore

/// What the guards do for one query or one ingest: the effective policy of a collection for a
/// caller's tier (see `GuardrailSettings`). Every field has a safe default.
public struct GuardrailPolicy: Sendable, Hashable, Codable {
    /// What a question that reads as prompt injection gets.
    public enum QuestionAction: String, Sendable, Hashable, Codable, CaseIterable {
        /// No check.
        case off
        /// Checked and reported in `guardrails`; answered as usual.
        case flag
        /// Reported, and the query abstains with reason `guardrail` (no model call).
        case refuse
    }

    /// What a retrieved passage that reads as prompt injection gets.
    public enum PassageAction: String, Sendable, Hashable, Codable, CaseIterable {
        /// No check.
        case off
        /// Reported in `guardrails`; used like any passage.
        case flag
        /// Reported; given to a chat model only inside a fence that marks it as quoted data
        /// (`<untrusted-passage>`), never as text that could read as the prompt's own.
        case fence
        /// Reported, and kept out of the answer: no chat model sees it, no extractive answer
        /// quotes it (it stays in `citations`, marked, so the caller sees what was left out).
        case exclude
    }

    /// What ingest does with personal data found in a document.
    public enum IngestPII: String, Sendable, Hashable, Codable, CaseIterable {
        /// No check.
        case off
        /// Counted per entity type and reported (types and counts only, never the values).
        case detect
        /// Replaced by a placeholder (`[EMAIL]`) before anything is embedded or stored: the
        /// store, the index and the logs only ever see the redacted text.
        case redact
    }

    /// What an answer that would show personal data or quote a flagged passage gets.
    public enum OutputAction: String, Sendable, Hashable, Codable, CaseIterable {
        /// Shown as written.
        case off
        /// Personal data replaced by placeholders (in the answer and the citations' text);
        /// sentences citing only flagged passages dropped.
        case redact
        /// The answer withheld (abstention with reason `guardrail`).
        case refuse
    }

    /// The check of the question.
    public var question: QuestionAction
    /// The check of retrieved passages (indirect injection).
    public var passages: PassageAction
    /// The injection score (0…1) at which a question or passage is flagged.
    public var injectionThreshold: Double
    /// Personal data at ingest.
    public var ingestPII: IngestPII
    /// Personal data and flagged passages in answers.
    public var answers: OutputAction
    /// The kinds of personal data looked for.
    public var piiEntities: Set<PIIEntity>

    /// The score a flagged text reaches unless configured otherwise.
    public static let defaultInjectionThreshold = 0.5

    /// Creates a policy; the defaults are the safe ones documented in docs/guardrails.md.
    public init(
        question: QuestionAction = .refuse, passages: PassageAction = .exclude,
        injectionThreshold: Double = GuardrailPolicy.defaultInjectionThreshold, ingestPII: IngestPII = .detect,
        answers: OutputAction = .redact, piiEntities: Set<PIIEntity> = Set(PIIEntity.allCases)
    ) {
        self.question = question
        self.passages = passages
        self.injectionThreshold = injectionThreshold
        self.ingestPII = ingestPII
        self.answers = answers
        self.piiEntities = piiEntities
    }

    /// A policy with every guard off (for measurements that need the raw answerer).
    public static let off = GuardrailPolicy(question: .off, passages: .off, ingestPII: .off, answers: .off)

    /// The same policy with `overrides`' settings laid over it.
    public func applying(_ overrides: GuardrailOverrides) -> GuardrailPolicy {
        var policy = self
        if let value = overrides.question { policy.question = value }
        if let value = overrides.passages { policy.passages = value }
        if let value = overrides.injectionThreshold { policy.injectionThreshold = value }
        if let value = overrides.ingestPII { policy.ingestPII = value }
        if let value = overrides.answers { policy.answers = value }
        if let value = overrides.piiEntities { policy.piiEntities = Set(value) }
        return policy
    }
}

/// Some of a `GuardrailPolicy`'s settings: one layer of the configuration (the default, a tier,
/// a collection). In the configuration file (snake_case, unknown keys refused):
/// `{"question": "refuse", "passages": "exclude", "injection_threshold": 0.5,
///   "ingest_pii": "redact", "answers": "redact", "pii_entities": ["email", "phone"]}`.
public struct GuardrailOverrides: Sendable, Hashable, Codable {
    /// See `GuardrailPolicy.question`.
    public var question: GuardrailPolicy.QuestionAction?
    /// See `GuardrailPolicy.passages`.
    public var passages: GuardrailPolicy.PassageAction?
    /// See `GuardrailPolicy.injectionThreshold`.
    public var injectionThreshold: Double?
    /// See `GuardrailPolicy.ingestPII`.
    public var ingestPII: GuardrailPolicy.IngestPII?
    /// See `GuardrailPolicy.answers`.
    public var answers: GuardrailPolicy.OutputAction?
    /// See `GuardrailPolicy.piiEntities`.
    public var piiEntities: [PIIEntity]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case question, passages, answers
        case injectionThreshold = "injection_threshold"
        case ingestPII = "ingest_pii"
        case piiEntities = "pii_entities"
    }

    /// Creates a layer; fields left `nil` keep the layer below.
    public init(
        question: GuardrailPolicy.QuestionAction? = nil, passages: GuardrailPolicy.PassageAction? = nil,
        injectionThreshold: Double? = nil, ingestPII: GuardrailPolicy.IngestPII? = nil,
        answers: GuardrailPolicy.OutputAction? = nil, piiEntities: [PIIEntity]? = nil
    ) {
        self.question = question
        self.passages = passages
        self.injectionThreshold = injectionThreshold
        self.ingestPII = ingestPII
        self.answers = answers
        self.piiEntities = piiEntities
    }

    /// Decodes a layer, refusing unknown keys and naming the allowed values of a wrong one.
    public init(from decoder: any Decoder) throws {
        try GuardrailSettings.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        question = try Self.decode(c, .question)
        passages = try Self.decode(c, .passages)
        injectionThreshold = try c.decodeIfPresent(Double.self, forKey: .injectionThreshold)
        ingestPII = try Self.decode(c, .ingestPII)
        answers = try Self.decode(c, .answers)
        if let names = try c.decodeIfPresent([String].self, forKey: .piiEntities) {
            piiEntities = try names.map { name in
                guard let entity = PIIEntity(rawValue: name) else {
                    throw QuarryError(
                        .invalidRequest,
                        "\(Self.path(c, .piiEntities)): unknown entity '\(name)' (known: \(PIIEntity.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                return entity
            }
        }
    }

    private static func decode<Value: RawRepresentable & CaseIterable>(
        _ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys
    ) throws -> Value? where Value.RawValue == String {
        guard let raw = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let value = Value(rawValue: raw) else {
            throw QuarryError(
                .invalidRequest,
                "\(path(c, key)) must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", ")), got '\(raw)'"
            )
        }
        return value
    }

    private static func path(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) -> String {
        (c.codingPath.map(\.stringValue) + [key.rawValue]).joined(separator: ".")
    }

    /// Every problem with the layer's values, each naming its setting under `path`.
    public func problems(at path: String) -> [String] {
        var problems: [String] = []
        if let injectionThreshold, !(injectionThreshold.isFinite && (0...1).contains(injectionThreshold)) {
            problems.append("\(path).injection_threshold must be between 0 and 1, got \(injectionThreshold)")
        }
        if let piiEntities, piiEntities.isEmpty {
            problems.append("\(path).pii_entities must name at least one entity; set ingest_pii and answers to off to look for none")
        }
        return problems
    }
}
