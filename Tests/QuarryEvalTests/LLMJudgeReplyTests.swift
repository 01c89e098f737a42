@testable import QuarryEval
import Testing

/// The LLM judge's reading of model output.
@Suite struct LLMJudgeReplyTests {
    @Test func claims() {
        #expect(LLMJudge.parseClaims(#"{"claims": ["WAL is fast.", " ", "Readers do not block writers."]}"#) == ["WAL is fast.", "Readers do not block writers."])
        #expect(LLMJudge.parseClaims("Sure! Here they are:\n```json\n[\"A.\", \"B.\"]\n```") == ["A.", "B."])
        #expect(LLMJudge.parseClaims(#"{"claims": []}"#) == nil)
        #expect(LLMJudge.parseClaims("The answer has two claims.") == nil)
        #expect(LLMJudge.parseClaims(#"{"claims": [1, 2]}"#) == nil)
        #expect(LLMJudge.parseClaims(#"{"claims": ["A.", "B."#) == nil)
    }

    @Test func verdicts() {
        #expect(LLMJudge.parseVerdicts(#"{"verdicts": [{"claim": 2, "supported": false}, {"claim": 1, "supported": true}]}"#, claims: 2) == [true, false])
        #expect(LLMJudge.parseVerdicts(#"[true, "no", "yes"]"#, claims: 3) == [true, false, true])
        #expect(LLMJudge.parseVerdicts(#"{"verdicts": [{"supported": "Supported"}, {"verdict": 0}]}"#, claims: 2) == [true, false])
        // Not one readable verdict per claim.
        #expect(LLMJudge.parseVerdicts(#"{"verdicts": [true]}"#, claims: 2) == nil)
        #expect(LLMJudge.parseVerdicts(#"{"verdicts": [{"claim": 1, "supported": true}, {"claim": 1, "supported": false}]}"#, claims: 2) == nil)
        #expect(LLMJudge.parseVerdicts(#"{"verdicts": [{"claim": 3, "supported": true}, {"claim": 1, "supported": false}]}"#, claims: 2) == nil)
        #expect(LLMJudge.parseVerdicts(#"[true, "maybe"]"#, claims: 2) == nil)
        #expect(LLMJudge.parseVerdicts("All supported.", claims: 1) == nil)
    }
}
