/// A question made standalone for retrieval, and how that came about.
public struct FollowUpRewrite: Sendable, Hashable, Codable {
    /// How the standalone question was made.
    public enum Method: String, Sendable, Codable {
        /// The question needed no context: `standalone == question`.
        case none
        /// Terms of earlier turns were carried into it by `DeterministicRewriter`.
        case deterministic
        /// A chat model rewrote it (`LLMRewriter`).
        case llm
    }

    /// The question as asked.
    public var question: String
    /// What retrieval uses; equal to `question` when `method` is `.none`.
    public var standalone: String
    /// How `standalone` was made.
    public var method: Method
    /// For `.deterministic`: the terms carried over from earlier turns, most salient first.
    public var carriedTerms: [String]
    /// Earlier turns the rewriter read (after truncation to its history budget).
    public var historyTurns: Int
    /// Earlier turns left out to fit the history token budget, the oldest first.
    public var droppedTurns: Int
    /// Tokens of the history the rewriter read.
    public var historyTokens: Int
    /// The LLM call's tokens and cost, whenever a reply came back (a refused one too: see
    /// `fallback`); `nil` when no model was asked or none answered.
    public var usage: ChatUsage?
    /// The model that replied; `nil` when no model was asked or none answered.
    public var model: String?
    /// Why an LLM rewrite fell back to the deterministic one; `nil` when it did not.
    public var fallback: String?

    /// Creates a record.
    public init(
        question: String, standalone: String, method: Method, carriedTerms: [String] = [], historyTurns: Int = 0,
        droppedTurns: Int = 0, historyTokens: Int = 0, usage: ChatUsage? = nil, model: String? = nil, fallback: String? = nil
    ) {
        self.question = question
        self.standalone = standalone
        self.method = method
        self.carriedTerms = carriedTerms
        self.historyTurns = historyTurns
        self.droppedTurns = droppedTurns
        self.historyTokens = historyTokens
        self.usage = usage
        self.model = model
        self.fallback = fallback
    }

    enum CodingKeys: String, CodingKey {
        case question, standalone, method, usage, model, fallback
        case carriedTerms = "carried_terms"
        case historyTurns = "history_turns"
        case droppedTurns = "dropped_turns"
        case historyTokens = "history_tokens"
    }

    /// Hashes every field; `usage` by its counts and cost (`ChatUsage` is only `Equatable`).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(question)
        hasher.combine(standalone)
        hasher.combine(method)
        hasher.combine(carriedTerms)
        hasher.combine(historyTurns)
        hasher.combine(droppedTurns)
        hasher.combine(historyTokens)
        hasher.combine(usage?.promptTokens)
        hasher.combine(usage?.completionTokens)
        hasher.combine(usage?.estimated)
        hasher.combine(usage?.costUSD)
        hasher.combine(model)
        hasher.combine(fallback)
    }
}
