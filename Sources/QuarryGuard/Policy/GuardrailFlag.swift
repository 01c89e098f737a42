/// One thing a guard found in a query: what, where, how strongly, and what was done about it.
/// Reported in a query's `guardrails` field (values of personal data are never included).
public struct GuardrailFlag: Sendable, Hashable, Codable {
    /// Which guard fired.
    public enum Kind: String, Sendable, Hashable, Codable {
        case promptInjection = "prompt_injection"
        case personalData = "personal_data"
    }

    /// Where it fired.
    public enum Location: String, Sendable, Hashable, Codable {
        case question, passage, answer
    }

    /// What was done.
    public enum Action: String, Sendable, Hashable, Codable {
        /// Reported only.
        case flagged
        /// The passage went to the chat model fenced as quoted data.
        case fenced
        /// The passage was kept out of the answer.
        case excluded
        /// The text was replaced by placeholders, or the sentences quoting a flagged passage
        /// were dropped.
        case redacted
        /// The answer was withheld.
        case refused
    }

    /// Which guard fired.
    public var kind: Kind
    /// Where it fired.
    public var location: Location
    /// The passage's citation number, for `passage` (and for `answer` flags about quoting one).
    public var citation: Int?
    /// The guard's score, 0…1 (for personal data, the highest finding's).
    public var score: Double
    /// What fired: the injection scorer's signals, or the kinds of personal data found.
    public var signals: [String]
    /// What was done.
    public var action: Action

    /// Creates a flag.
    public init(kind: Kind, location: Location, citation: Int? = nil, score: Double, signals: [String], action: Action) {
        self.kind = kind
        self.location = location
        self.citation = citation
        self.score = score
        self.signals = signals
        self.action = action
    }
}
