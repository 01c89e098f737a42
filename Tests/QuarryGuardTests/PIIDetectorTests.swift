import Foundation
@testable import QuarryGuard
import Testing

/// The detector as a whole: offsets, overlap resolution, entity selection, thresholds and
/// redaction.
@Suite struct PIIDetectorTests {
    @Test func offsetsCountUnicodeScalars() throws {
        // "é" is one scalar, "😀" one scalar (two UTF-16 units, four UTF-8 bytes), "👍🏽" two.
        let text = "é😀👍🏽 mail x.y@z.io now"
        let finding = try #require(PIIDetector().findings(in: text).first)
        #expect(finding.start == 10)
        #expect(finding.end == 18)
        let scalars = Array(text.unicodeScalars)
        #expect(String(String.UnicodeScalarView(scalars[finding.start..<finding.end])) == "x.y@z.io")
    }

    @Test func findingsAreSortedByStart() {
        let text = "ip 10.1.2.3, mail a@example.com, card 4111 1111 1111 1111"
        let findings = PIIDetector().findings(in: text)
        #expect(findings.map(\.entity) == [.ipAddress, .email, .creditCard])
        #expect(findings.map(\.start) == findings.map(\.start).sorted())
    }

    @Test func overlapsKeepTheHigherScoreThenTheLongerSpan() {
        let a = PIIFinding(entity: .phone, start: 0, end: 10, score: 0.6, text: "")
        let b = PIIFinding(entity: .usSSN, start: 2, end: 8, score: 0.9, text: "")
        let c = PIIFinding(entity: .phone, start: 9, end: 20, score: 0.9, text: "")
        let d = PIIFinding(entity: .email, start: 30, end: 40, score: 0.7, text: "")
        let e = PIIFinding(entity: .ipAddress, start: 32, end: 36, score: 0.7, text: "")
        #expect(PIIDetector.resolveOverlaps([a, b, c, d, e]) == [b, c, d])
    }

    @Test func aValidatedCardBeatsThePhoneShapeItAlsoHas() {
        // 15 digits grouped 4-6-5 is also a phone-like run; the Luhn-checked card wins.
        let findings = PIIDetector().findings(in: "Call about card 3782 822463 10005 please")
        #expect(findings.map(\.entity) == [.creditCard])
    }

    @Test func entitiesCanBeSelected() {
        let text = "a@example.com 4111111111111111"
        #expect(PIIDetector(entities: [.email]).findings(in: text).map(\.entity) == [.email])
        #expect(PIIDetector(entities: []).findings(in: text).isEmpty)
    }

    @Test func minimumScoreFiltersWeakMatches() {
        let text = "the code is 555-0134"
        #expect(PIIDetector().findings(in: text).isEmpty)
        #expect(PIIDetector(minimumScore: 0.3).findings(in: text).map(\.text) == ["555-0134"])
    }

    @Test func scoresStayWithinZeroAndOne() {
        let text = "Visa card 4111 1111 1111 1111, ssn 536-22-1234, phone +1 212-555-0147, IBAN DE89370400440532013000"
        let findings = PIIDetector(minimumScore: 0).findings(in: text)
        #expect(findings.count == 4)
        #expect(findings.allSatisfy { (0...1).contains($0.score) })
    }

    @Test func redactionReplacesEachFindingWithItsPlaceholder() {
        let text = "Hé 😀 call (415) 555-2671 or mail jo@example.org; IBAN GB82 WEST 1234 5698 7654 32."
        let (redacted, findings) = PIIDetector().redact(text)
        #expect(redacted == "Hé 😀 call [PHONE] or mail [EMAIL]; IBAN [IBAN].")
        #expect(findings.map(\.text) == ["(415) 555-2671", "jo@example.org", "GB82 WEST 1234 5698 7654 32"])
    }

    @Test func redactionOfAdjacentFindingsAndOfTextWithout() {
        #expect(PIIDetector().redact("a@example.com,b@example.com").text == "[EMAIL],[EMAIL]")
        #expect(PIIDetector().redact("nothing personal here").text == "nothing personal here")
        #expect(PIIDetector().redact("").text == "")
        #expect(PIIDetector().redact("536-22-1234").text == "[US_SSN]")
    }

    @Test func findingsRoundTripThroughJSON() throws {
        let finding = PIIFinding(entity: .creditCard, start: 3, end: 22, score: 0.9, text: "4111 1111 1111 1111")
        let data = try JSONEncoder().encode(finding)
        #expect(try JSONDecoder().decode(PIIFinding.self, from: data) == finding)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["entity"] as? String == "credit_card")
    }
}
