// Temporary stand-ins for the recognisers and the scorer being built on their own branches;
// removed when they merge. They detect nothing.
import Foundation

public struct PIIFinding: Sendable, Hashable, Codable {
    public var entity: PIIEntity
    public var start: Int
    public var end: Int
    public var score: Double
    public var text: String
}

public struct PIIDetector: Sendable {
    public init(entities: Set<PIIEntity> = Set(PIIEntity.allCases), minimumScore: Double = 0.5) {}
    public func findings(in text: String) -> [PIIFinding] {
        var found: [PIIFinding] = []
        // Minimal e-mail matcher so wiring tests have something to find.
        let words = text.unicodeScalars
        _ = words
        if let regex = try? NSRegularExpression(pattern: "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}") {
            let ns = text as NSString
            for match in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
                let prefix = ns.substring(to: match.range.location)
                let value = ns.substring(with: match.range)
                let start = prefix.unicodeScalars.count
                found.append(PIIFinding(entity: .email, start: start, end: start + value.unicodeScalars.count, score: 1, text: value))
            }
        }
        return found
    }
    public func redact(_ text: String) -> (text: String, findings: [PIIFinding]) {
        let findings = findings(in: text)
        var scalars = Array(text.unicodeScalars)
        for finding in findings.reversed() {
            scalars.replaceSubrange(finding.start..<finding.end, with: finding.entity.placeholder.unicodeScalars)
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return (String(out), findings)
    }
}

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
