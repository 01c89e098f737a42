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
    /// - Returns: `nil` when there is nothing to judge: an abstention, or an answer in which the
    ///   model finds no claim.
    /// - Throws: `ChatError` when no model of the chain answers, or `.malformed` when a reply is
    ///   not the JSON asked for; `CancellationError`.
    public func faithfulness(question: String, result: QueryResult) async throws -> Double? {
        guard !FaithfulnessScorer.isAbstention(result) else { return nil }
        let answer = CitationMarkers.removing(from: result.answer)
        let context = result.citations.map { "\(CitationMarkers.marker(for: $0.id)) \($0.text)" }.joined(separator: "\n\n")
        return try await faithfulness(question: question, answer: answer, context: context)
    }

    /// The judge's faithfulness of `answer` to `context`: supported claims / claims.
    /// - Returns: `nil` when the model finds no claim in the answer.
    /// - Throws: `ChatError` when no model of the chain answers, or `.malformed` when a reply is
    ///   not the JSON asked for; `CancellationError`.
    public func faithfulness(question: String, answer: String, context: String) async throws -> Double? {
        let claimsReply = try await client.complete(
            [
                ChatMessage(role: "system", content: Self.claimsPrompt),
                ChatMessage(role: "user", content: "Question: \(question)\n\nAnswer: \(answer)"),
            ], stream: false
        ).text
        let claims = try Self.parseClaims(claimsReply)
        guard !claims.isEmpty else { return nil }
        let numbered = claims.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: "\n")
        let verdictsReply = try await client.complete(
            [
                ChatMessage(role: "system", content: Self.verdictsPrompt),
                ChatMessage(role: "user", content: "Context:\n\(context)\n\nClaims:\n\(numbered)"),
            ], stream: false
        ).text
        let verdicts = try Self.parseVerdicts(verdictsReply, claims: claims.count)
        return Double(verdicts.filter { $0 }.count) / Double(verdicts.count)
    }

    /// The claims of the model's reply, trimmed, empty ones left out: `{"claims": [...]}` or a
    /// bare array, possibly in a code fence or after prose; each claim a string or
    /// `{"claim": "..."}`.
    /// - Throws: `ChatError.malformed` when the reply is not that JSON.
    static func parseClaims(_ reply: String) throws -> [String] {
        let items = try list(in: reply, as: ClaimsReply.self, \.claims, asked: #"{"claims": [strings]}"#)
        return items.map { $0.text.trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    /// One verdict per claim, in claim order, from `{"verdicts": [...]}` or a bare array of
    /// booleans, `"yes"`/`"no"`, 1/0, or objects with `supported` or `verdict` (and optionally
    /// `claim`, 1-based).
    /// - Throws: `ChatError.malformed` unless the reply is that JSON with exactly one verdict for
    ///   each of `claims`.
    static func parseVerdicts(_ reply: String, claims: Int) throws -> [Bool] {
        let asked = #"{"verdicts": [{"claim": n, "supported": true or false}, ...]}"#
        let items = try list(in: reply, as: VerdictsReply.self, \.verdicts, asked: asked)
        func malformed(_ reason: String) -> ChatError {
            ChatError(.malformed, "the judge's verdicts are not \(asked): \(reason)")
        }
        guard items.count == claims else { throw malformed("verdicts: \(items.count), claims: \(claims)") }
        var verdicts = [Bool?](repeating: nil, count: claims)
        for (index, item) in items.enumerated() {
            var position = index
            if let number = item.claim {
                guard (1...claims).contains(number) else { throw malformed("a verdict for claim \(number) of \(claims)") }
                position = number - 1
            }
            guard verdicts[position] == nil else { throw malformed("two verdicts for claim \(position + 1)") }
            verdicts[position] = item.supported
        }
        // One verdict per claim, none twice: every claim has its verdict.
        return verdicts.compactMap { $0 }
    }

    /// The list of the first JSON object or array in `reply` (after any prose or code fence): an
    /// object's list under its key, or the array itself.
    private static func list<Reply: Decodable, Item: Decodable>(
        in reply: String, as type: Reply.Type, _ items: KeyPath<Reply, [Item]>, asked: String
    ) throws -> [Item] {
        func malformed(_ reason: String) -> ChatError {
            let excerpt = reply.prefix(200).split(whereSeparator: \.isNewline).joined(separator: " ")
            return ChatError(.malformed, "the judge's reply is not \(asked): \(reason) (the reply: \(excerpt))")
        }
        guard let start = reply.firstIndex(where: { $0 == "{" || $0 == "[" }) else { throw malformed("no JSON in it") }
        let close: Character = reply[start] == "{" ? "}" : "]"
        guard let end = reply.lastIndex(of: close), start < end else { throw malformed("its JSON is not closed") }
        let json = Data(reply[start...end].utf8)
        do {
            if reply[start] == "{" { return try JSONDecoder().decode(Reply.self, from: json)[keyPath: items] }
            return try JSONDecoder().decode([Item].self, from: json)
        } catch let error as DecodingError {
            throw malformed(error.summary)
        }
    }
}

extension LLMJudge {
    /// The judge model's reply to the claims prompt, when it is an object: `{"claims": [...]}`.
    struct ClaimsReply: Decodable {
        /// One claim: a string, or an object with the claim under `claim`.
        struct Claim: Decodable {
            var text: String

            init(from decoder: any Decoder) throws {
                switch try JSONValue(from: decoder) {
                case .string(let text):
                    self.text = text
                case .object(let object):
                    guard case .string(let text)? = object["claim"] else {
                        throw DecodingError.dataCorruptedError(in: decoder, "a claim object without a \"claim\" string")
                    }
                    self.text = text
                default:
                    throw DecodingError.dataCorruptedError(in: decoder, "a claim that is not a string")
                }
            }
        }

        var claims: [Claim]
    }

    /// The judge model's reply to the verdicts prompt, when it is an object: `{"verdicts": [...]}`.
    struct VerdictsReply: Decodable {
        /// One verdict: a bare value, or an object with the value under `supported` (or `verdict`)
        /// and optionally the 1-based number of its claim under `claim`. A value is a boolean, 1 or
        /// 0, or `yes`/`true`/`supported` or `no`/`false`/`unsupported`/`not supported`.
        struct Verdict: Decodable {
            /// The claim it is for, when the model numbered it (a `claim` that is not a whole number
            /// is ignored, as if absent).
            var claim: Int?
            var supported: Bool

            init(from decoder: any Decoder) throws {
                let value: JSONValue?
                switch try JSONValue(from: decoder) {
                case .object(let object):
                    if case .number(let number)? = object["claim"], number.rounded() == number, abs(number) < 1e9 {
                        claim = Int(number)
                    }
                    value = object["supported"] ?? object["verdict"]
                case let bare:
                    value = bare
                }
                guard let supported = value.flatMap(Self.boolean) else {
                    throw DecodingError.dataCorruptedError(in: decoder, "a verdict that is not true or false")
                }
                self.supported = supported
            }

            private static func boolean(_ value: JSONValue) -> Bool? {
                switch value {
                case .bool(let value): return value
                case .number(1): return true
                case .number(0): return false
                case .string(let text):
                    switch text.trimmingWhitespace().lowercased() {
                    case "true", "yes", "supported": return true
                    case "false", "no", "unsupported", "not supported": return false
                    default: return nil
                    }
                default: return nil
                }
            }
        }

        var verdicts: [Verdict]
    }
}

extension DecodingError {
    /// A value's own check failed, at the decoder's coding path.
    fileprivate static func dataCorruptedError(in decoder: any Decoder, _ reason: String) -> DecodingError {
        .dataCorrupted(Context(codingPath: decoder.codingPath, debugDescription: reason))
    }
}
