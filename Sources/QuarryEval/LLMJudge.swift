import Foundation
import QuarryCore
import QuarryRetrieval

/// A RAGAS-style faithfulness judge: a chat model lists the answer's claims, then says of each
/// whether the context supports it; faithfulness is supported claims / claims.
public struct LLMJudge: Sendable {
    /// The chat model chain that judges.
    public let client: ChatClient

    /// Creates a judge.
    public init(client: ChatClient) {
        self.client = client
    }

    static let claimsPrompt = """
        You split an answer into its factual claims. Each claim is one short, self-contained \
        statement (replace pronouns by what they refer to). Reply with JSON only, no prose: \
        {"claims": ["...", "..."]}
        """

    static let verdictsPrompt = """
        You check claims against a context. A claim is supported only if the context states it or \
        it follows directly from the context; use no other knowledge. Reply with JSON only, no \
        prose, one verdict per claim in order: {"verdicts": [{"claim": 1, "supported": true}, ...]}
        """

    /// The judge's faithfulness of `result`'s answer to its citations: supported claims / claims.
    /// - Returns: `nil` for an abstention, or when the model's output is not the JSON asked for
    ///   (no claims, or not one verdict per claim).
    /// - Throws: `ChatError` when no model of the chain answers; `CancellationError`.
    public func faithfulness(question: String, result: QueryResult) async throws -> Double? {
        guard !FaithfulnessScorer.isAbstention(result) else { return nil }
        let answer = CitationMarkers.removing(from: result.answer)
        let context = result.citations.map { "\(CitationMarkers.marker(for: $0.id)) \($0.text)" }.joined(separator: "\n\n")
        return try await faithfulness(question: question, answer: answer, context: context)
    }

    /// The judge's faithfulness of `answer` to `context`: supported claims / claims.
    /// - Returns: `nil` when the model's output is not the JSON asked for.
    /// - Throws: `ChatError` when no model of the chain answers; `CancellationError`.
    public func faithfulness(question: String, answer: String, context: String) async throws -> Double? {
        let claimsReply = try await client.complete(
            [
                ChatMessage(role: "system", content: Self.claimsPrompt),
                ChatMessage(role: "user", content: "Question: \(question)\n\nAnswer: \(answer)"),
            ], stream: false
        ).text
        guard let claims = Self.parseClaims(claimsReply) else { return nil }
        let numbered = claims.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: "\n")
        let verdictsReply = try await client.complete(
            [
                ChatMessage(role: "system", content: Self.verdictsPrompt),
                ChatMessage(role: "user", content: "Context:\n\(context)\n\nClaims:\n\(numbered)"),
            ], stream: false
        ).text
        guard let verdicts = Self.parseVerdicts(verdictsReply, claims: claims.count) else { return nil }
        return Double(verdicts.filter { $0 }.count) / Double(verdicts.count)
    }

    /// The claims of the model's reply: `{"claims": [strings]}` or a bare array, possibly in a
    /// code fence or after prose; `nil` when there is none or the reply is not that JSON.
    static func parseClaims(_ reply: String) -> [String]? {
        guard let json = jsonValue(in: reply) else { return nil }
        let list = (json as? [String: Any])?["claims"] ?? json
        guard let items = list as? [Any] else { return nil }
        var claims: [String] = []
        for item in items {
            guard let claim = (item as? String) ?? ((item as? [String: Any])?["claim"] as? String) else { return nil }
            let trimmed = claim.trimmingWhitespace()
            if !trimmed.isEmpty { claims.append(trimmed) }
        }
        return claims.isEmpty ? nil : claims
    }

    /// One verdict per claim, in claim order, from `{"verdicts": [...]}` or a bare array of
    /// booleans, `"yes"`/`"no"`, or objects with `supported` (and optionally `claim`, 1-based);
    /// `nil` unless there is exactly one readable verdict for each of `claims`.
    static func parseVerdicts(_ reply: String, claims: Int) -> [Bool]? {
        guard let json = jsonValue(in: reply) else { return nil }
        let list = (json as? [String: Any])?["verdicts"] ?? json
        guard let items = list as? [Any], items.count == claims else { return nil }
        var verdicts = [Bool?](repeating: nil, count: claims)
        for (index, item) in items.enumerated() {
            var position = index
            let value: Any?
            if let object = item as? [String: Any] {
                if let number = object["claim"] as? Int {
                    guard (1...claims).contains(number) else { return nil }
                    position = number - 1
                }
                value = object["supported"] ?? object["verdict"]
            } else {
                value = item
            }
            guard let verdict = value.flatMap(boolean), verdicts[position] == nil else { return nil }
            verdicts[position] = verdict
        }
        let all = verdicts.compactMap { $0 }
        return all.count == claims ? all : nil
    }

    private static func boolean(_ value: Any) -> Bool? {
        if let number = value as? NSNumber {
            // JSONSerialization gives booleans and 0/1 as NSNumber.
            switch number.doubleValue {
            case 1: return true
            case 0: return false
            default: return nil
            }
        }
        switch (value as? String)?.trimmingWhitespace().lowercased() {
        case "true", "yes", "supported": return true
        case "false", "no", "unsupported", "not supported": return false
        default: return nil
        }
    }

    /// The first JSON object or array in `reply` (after any prose or code fence), parsed.
    private static func jsonValue(in reply: String) -> Any? {
        guard let start = reply.firstIndex(where: { $0 == "{" || $0 == "[" }) else { return nil }
        let close: Character = reply[start] == "{" ? "}" : "]"
        guard let end = reply.lastIndex(of: close), start < end else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(reply[start...end].utf8))
    }
}
