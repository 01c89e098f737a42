/// What one request asks of the chat model before the call: the sizes it asked for (or the
/// server's defaults) and the prompt it brings besides the retrieved context.
public struct ModelRequest: Sendable, Hashable {
    /// The request's `max_context_tokens`; `nil` when it asked for none.
    public var contextTokens: Int?
    /// The request's `max_tokens`; `nil` when it asked for none.
    public var completionTokens: Int?
    /// The server's context size when the request asks for none.
    public var defaultContextTokens: Int
    /// The server's answer length when the request asks for none (`llm.max_tokens`).
    public var defaultCompletionTokens: Int
    /// Estimated tokens of the prompt apart from the retrieved context: the instructions, the
    /// question, and any conversation carried along.
    public var promptTokens: Int
    /// The smallest context a query takes (`Retriever.contextTokensRange.lowerBound`): less
    /// room than this is refused rather than passed on as a size the retriever refuses.
    public var minimumContextTokens: Int

    /// Creates a request.
    public init(
        contextTokens: Int? = nil, completionTokens: Int? = nil, defaultContextTokens: Int, defaultCompletionTokens: Int, promptTokens: Int = 0,
        minimumContextTokens: Int = 1
    ) {
        self.contextTokens = contextTokens
        self.completionTokens = completionTokens
        self.defaultContextTokens = defaultContextTokens
        self.defaultCompletionTokens = defaultCompletionTokens
        self.promptTokens = promptTokens
        self.minimumContextTokens = minimumContextTokens
    }
}

/// What one model call used, to be counted by `BudgetLedger.record`.
public struct ModelUsage: Sendable, Hashable {
    /// The kind of call.
    public enum Kind: String, Sendable, Hashable {
        /// A chat completion: prompt and completion tokens, one LLM call.
        case chat
        /// An embedding (of a question): embedding tokens.
        case embedding
    }

    /// The kind of call.
    public var kind: Kind
    /// The model, as its API reported it (`gpt-4o-mini-2024-07-18`); the counters are kept by
    /// this name.
    public var model: String
    /// The name the model was configured with, looked up in the price table when the reported one
    /// is not there.
    public var configuredModel: String?
    /// Prompt tokens.
    public var promptTokens: Int
    /// Completion tokens.
    public var completionTokens: Int
    /// Tokens embedded.
    public var embeddingTokens: Int
    /// The cost, when it is known from elsewhere (the `llm` section's prices of the configured
    /// model); the price table wins when it prices the model.
    public var knownCostUSD: Double?

    /// Creates a record of a call.
    public init(
        kind: Kind, model: String, configuredModel: String? = nil, promptTokens: Int = 0, completionTokens: Int = 0, embeddingTokens: Int = 0,
        knownCostUSD: Double? = nil
    ) {
        self.kind = kind
        self.model = model
        self.configuredModel = configuredModel
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.embeddingTokens = embeddingTokens
        self.knownCostUSD = knownCostUSD
    }

    /// A chat completion.
    /// - Parameters:
    ///   - model: the model as the API reported it (`ChatCompletion.model`).
    ///   - configuredModel: its configured name (`ChatCompletion.configured?.name`).
    ///   - costUSD: its cost from the `llm` section's prices (`ChatUsage.costUSD`), if any.
    public static func chat(
        model: String, configuredModel: String? = nil, promptTokens: Int, completionTokens: Int, costUSD: Double? = nil
    ) -> ModelUsage {
        ModelUsage(
            kind: .chat, model: model, configuredModel: configuredModel, promptTokens: promptTokens, completionTokens: completionTokens,
            knownCostUSD: costUSD
        )
    }

    /// An embedding of `tokens` tokens by `model`.
    public static func embedding(model: String, tokens: Int) -> ModelUsage {
        ModelUsage(kind: .embedding, model: model, embeddingTokens: tokens)
    }

    /// Prompt and completion tokens: what the token budgets count.
    public var llmTokens: Int { promptTokens + completionTokens }
}

/// What `BudgetLedger` decided about a request that wants an LLM answer.
public enum BudgetDecision: Sendable, Hashable {
    /// Go ahead, with at most `clampedContext` tokens of retrieved context and an answer of at
    /// most `clampedCompletion` tokens (the request's or the server's sizes, clamped to the tier's
    /// maximums and to the prompt's room).
    case allowed(clampedContext: Int, clampedCompletion: Int)
    /// Refuse: a 429 carrying the limit (`exceeded.error`). Per-request limits always refuse; a
    /// used-up budget refuses when `limits.on_budget_exceeded` is `refuse`.
    case refused(LimitExceeded)
    /// A budget is used up and `limits.on_budget_exceeded` is `extractive`: answer extractively,
    /// calling no LLM, and say which budget in the answer.
    case extractive(LimitExceeded)

    /// The limit reached; `nil` when allowed.
    public var exceeded: LimitExceeded? {
        switch self {
        case .allowed: nil
        case .refused(let exceeded), .extractive(let exceeded): exceeded
        }
    }

    /// `refused` or `extractive`, as `quarry_budget_exceeded_total` labels what was done; `nil`
    /// when allowed.
    public var action: String? {
        switch self {
        case .allowed: nil
        case .refused: "refused"
        case .extractive: "extractive"
        }
    }
}
