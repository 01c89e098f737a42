@testable import QuarryEval
import QuarryRetrieval
import Testing

/// The LLM judge's reading of model output: typed JSON, and a `ChatError.malformed` naming what
/// is wrong when the reply is not the JSON asked for.
@Suite struct LLMJudgeReplyTests {
    @Test func claims() throws {
        #expect(try LLMJudge.parseClaims(#"{"claims": ["WAL is fast.", " ", "Readers do not block writers."]}"#) == ["WAL is fast.", "Readers do not block writers."])
        #expect(try LLMJudge.parseClaims("Sure! Here they are:\n```json\n[\"A.\", {\"claim\": \"B.\"}]\n```") == ["A.", "B."])
        // No claim is an answer, not a malformed one: there is nothing to judge.
        #expect(try LLMJudge.parseClaims(#"{"claims": []}"#) == [])
    }

    @Test(arguments: [
        ("The answer has two claims.", "no JSON in it"),
        (#"{"claims": [1, 2]}"#, "a claim that is not a string"),
        (#"{"claims": [{"text": "A."}]}"#, #"a claim object without a "claim" string"#),
        (#"{"claims": ["A.", "B."#, "its JSON is not closed"),
        (#"{"facts": ["A."]}"#, #"no "claims""#),
        (#"{"claims": ["A." "B."]}"#, "not valid JSON"),
    ])
    func malformedClaimsSayWhy(reply: String, reason: String) {
        let error = #expect(throws: ChatError.self) { try LLMJudge.parseClaims(reply) }
        #expect(error?.kind == .malformed)
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
    }

    @Test func verdicts() throws {
        #expect(try LLMJudge.parseVerdicts(#"{"verdicts": [{"claim": 2, "supported": false}, {"claim": 1, "supported": true}]}"#, claims: 2) == [true, false])
        #expect(try LLMJudge.parseVerdicts(#"[true, "no", "yes"]"#, claims: 3) == [true, false, true])
        #expect(try LLMJudge.parseVerdicts(#"{"verdicts": [{"supported": "Supported"}, {"verdict": 0}]}"#, claims: 2) == [true, false])
        // A claim number that is not a whole number is ignored: the verdict's place counts.
        #expect(try LLMJudge.parseVerdicts(#"[{"claim": "two", "supported": 1}, {"claim": 1.5, "supported": false}]"#, claims: 2) == [true, false])
    }

    @Test(arguments: [
        (#"{"verdicts": [true]}"#, "verdicts: 1, claims: 2"),
        (#"{"verdicts": [{"claim": 1, "supported": true}, {"claim": 1, "supported": false}]}"#, "two verdicts for claim 1"),
        (#"{"verdicts": [{"claim": 3, "supported": true}, {"claim": 1, "supported": false}]}"#, "a verdict for claim 3 of 2"),
        (#"[true, "maybe"]"#, "a verdict that is not true or false"),
        (#"[true, {"supported": null}]"#, "a verdict that is not true or false"),
        ("All supported.", "no JSON in it"),
    ])
    func malformedVerdictsSayWhy(reply: String, reason: String) {
        let error = #expect(throws: ChatError.self) { try LLMJudge.parseVerdicts(reply, claims: 2) }
        #expect(error?.kind == .malformed)
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
    }
}
