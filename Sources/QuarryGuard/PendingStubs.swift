// Temporary stand-in for the injection scorer being built on its own branch; removed when it
// merges.
import Foundation

public struct InjectionScorer: Sendable {
    public static let defaultThreshold = 0.5
    let threshold: Double
    public init(threshold: Double = InjectionScorer.defaultThreshold) { self.threshold = threshold }
    public func assess(_ text: String) -> InjectionAssessment {
        let lower = text.lowercased()
        let hit = lower.contains("ignore previous instructions") || lower.contains("ignore all previous instructions")
        return InjectionAssessment(score: hit ? 0.95 : 0.01, flagged: hit && 0.95 >= threshold, signals: hit ? ["override_instructions"] : [])
    }
}
