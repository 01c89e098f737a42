/// What the prompt-injection scorer found in a text.
public struct InjectionAssessment: Sendable, Hashable, Codable {
    /// The score, 0…1: how strongly the text reads as instructions aimed at the model.
    public var score: Double
    /// Whether `score` reached the scorer's threshold.
    public var flagged: Bool
    /// The names of the signals that fired (e.g. `override_instructions`, `reveal_prompt`).
    public var signals: [String]

    /// Creates an assessment.
    public init(score: Double, flagged: Bool, signals: [String]) {
        self.score = score
        self.flagged = flagged
        self.signals = signals
    }
}
