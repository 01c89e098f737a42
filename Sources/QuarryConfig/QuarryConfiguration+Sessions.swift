import QuarryCore
import QuarryRetrieval

extension QuarryConfiguration {
    /// The `sessions` section: how long conversations live, how much of them a follow-up reads,
    /// and how follow-ups are made standalone.
    ///
    /// ```json
    /// "sessions": {"ttl_seconds": 604800, "history_turns": 8, "history_tokens": 512, "rewrite": "auto"}
    /// ```
    public struct Sessions: Sendable, Equatable, Codable {
        /// How follow-up questions are made standalone before retrieval.
        public enum Rewrite: String, Sendable, Equatable, Codable, CaseIterable {
            /// With the LLM when one is configured, else deterministically.
            case auto
            /// A short prompt to the chat model (deterministic when it fails).
            case llm
            /// Salient terms of the turns before carried into the follow-up, no model call.
            case deterministic
            /// Questions are searched as asked.
            case off
        }

        /// Seconds a session lives after its last turn (each turn extends it).
        public var ttlSeconds = 7.0 * 86_400
        /// Earlier turns a follow-up may read (the newest ones).
        public var historyTurns = 8
        /// Tokens of earlier turns given to the rewriter, newest first; older turns beyond it are
        /// dropped and the response says how many.
        public var historyTokens = 512
        /// How follow-ups are made standalone.
        public var rewrite = Rewrite.auto

        enum CodingKeys: String, CodingKey, CaseIterable {
            case rewrite
            case ttlSeconds = "ttl_seconds"
            case historyTurns = "history_turns"
            case historyTokens = "history_tokens"
        }

        /// The defaults.
        public init() {}

        /// Decodes the section, refusing unknown keys.
        public init(from decoder: any Decoder) throws {
            try QuarryConfiguration.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Sessions()
            ttlSeconds = try c.decodeIfPresent(Double.self, forKey: .ttlSeconds) ?? d.ttlSeconds
            historyTurns = try c.decodeIfPresent(Int.self, forKey: .historyTurns) ?? d.historyTurns
            historyTokens = try c.decodeIfPresent(Int.self, forKey: .historyTokens) ?? d.historyTokens
            if let text = try c.decodeIfPresent(String.self, forKey: .rewrite) {
                guard let value = Rewrite(rawValue: text) else {
                    let known = Rewrite.allCases.map(\.rawValue).joined(separator: ", ")
                    throw QuarryError(.invalidRequest, "sessions.rewrite must be one of \(known), got '\(text)'")
                }
                rewrite = value
            }
        }

        /// Every problem with the section, one line each.
        public func problems() -> [String] {
            var problems: [String] = []
            if !(ttlSeconds >= 60 && ttlSeconds <= 366 * 86_400) {
                problems.append("sessions.ttl_seconds must be 60 to 31622400 (366 days), got \(ttlSeconds)")
            }
            if !(0...100).contains(historyTurns) { problems.append("sessions.history_turns must be 0-100, got \(historyTurns)") }
            if !(16...32_768).contains(historyTokens) {
                problems.append("sessions.history_tokens must be 16-32768, got \(historyTokens)")
            }
            return problems
        }

        /// The rewriter `rewrite` names: the LLM's when it is `llm`, or `auto` with a chat model
        /// (falling back to the deterministic one when the model fails), the deterministic one
        /// otherwise; `nil` when `off`.
        /// - Parameters:
        ///   - llm: the configured chat model's answerer, if any.
        ///   - tokenCount: counts the tokens of history text (the embedder's word pieces).
        public func rewriter(llm: LLMAnswerer?, tokenCount: @escaping @Sendable (String) -> Int) -> (any FollowUpRewriter)? {
            let deterministic = DeterministicRewriter(historyTokens: historyTokens, tokenCount: tokenCount)
            switch rewrite {
            case .off: return nil
            case .deterministic: return deterministic
            case .auto, .llm:
                guard let llm else { return deterministic }
                return LLMRewriter(client: llm.client, historyTokens: historyTokens, tokenCount: tokenCount, fallback: deterministic)
            }
        }
    }
}
