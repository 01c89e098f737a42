import Foundation
import QuarryEmbedding

/// One model of an OpenAI-compatible chat API (OpenAI, vLLM, llama.cpp server, Ollama, ...).
public struct ChatModel: Sendable, Equatable {
    /// The API base, for example `https://api.openai.com/v1` or `http://127.0.0.1:8000`; requests
    /// go to `<base>/chat/completions` when it ends in `/v1`, else `<base>/v1/chat/completions`.
    public var baseURL: URL
    /// Sent as `Authorization: Bearer <key>` when present.
    public var apiKey: String?
    /// The model name the service expects.
    public var name: String
    /// Price in US dollars per million prompt tokens, for the cost estimate; `nil` when unknown.
    public var inputCostPerMillion: Double?
    /// Price in US dollars per million completion tokens; `nil` when unknown.
    public var outputCostPerMillion: Double?

    /// Creates a model description.
    public init(
        baseURL: URL, apiKey: String? = nil, name: String, inputCostPerMillion: Double? = nil,
        outputCostPerMillion: Double? = nil
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.name = name
        self.inputCostPerMillion = inputCostPerMillion
        self.outputCostPerMillion = outputCostPerMillion
    }

    /// The chat completions endpoint.
    public var endpoint: URL {
        let path = baseURL.path
        return path.hasSuffix("/v1") || path.hasSuffix("/v1/")
            ? baseURL.appendingPathComponent("chat").appendingPathComponent("completions")
            : baseURL.appendingPathComponent("v1").appendingPathComponent("chat").appendingPathComponent("completions")
    }
}

/// How Quarry talks to chat models: the fallback chain, timeouts and retries.
public struct ChatSettings: Sendable, Equatable {
    /// The models to try, in order: the primary first, then its fallbacks.
    public var models: [ChatModel]
    /// Time allowed to open a connection.
    public var connectTimeout: Duration
    /// Time allowed from sending a request to the first token of the answer (for a non-streamed
    /// answer: to the whole answer's arrival).
    public var firstTokenTimeout: Duration
    /// Time allowed for one attempt from start to finish.
    public var totalTimeout: Duration
    /// Attempts after the first, per model, on 429, 5xx and transport errors.
    public var maxRetries: Int
    /// First back-off; doubled on each retry, with full jitter, up to `maxBackoff`.
    public var initialBackoff: Duration
    /// Longest back-off, also the cap on a server's `Retry-After`.
    public var maxBackoff: Duration
    /// The answer's length limit in tokens, when a request names none.
    public var maxTokens: Int
    /// Sampling temperature (0: the most likely answer).
    public var temperature: Double

    /// Creates settings.
    public init(
        models: [ChatModel], connectTimeout: Duration = .seconds(5), firstTokenTimeout: Duration = .seconds(30),
        totalTimeout: Duration = .seconds(120), maxRetries: Int = 2, initialBackoff: Duration = .milliseconds(500),
        maxBackoff: Duration = .seconds(8), maxTokens: Int = 512, temperature: Double = 0
    ) {
        self.models = models
        self.connectTimeout = connectTimeout
        self.firstTokenTimeout = firstTokenTimeout
        self.totalTimeout = totalTimeout
        self.maxRetries = max(0, maxRetries)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxTokens = maxTokens
        self.temperature = temperature
    }

    /// How failed attempts at one model are retried: `maxRetries`, `initialBackoff`,
    /// `maxBackoff`.
    public var retryPolicy: RetryPolicy {
        RetryPolicy(maxRetries: maxRetries, initialBackoff: initialBackoff, maxBackoff: maxBackoff)
    }
}
