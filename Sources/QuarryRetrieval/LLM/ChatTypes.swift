import Foundation

/// A message of a chat conversation.
public struct ChatMessage: Sendable, Codable, Equatable {
    /// `system`, `user` or `assistant`.
    public var role: String
    /// The text.
    public var content: String

    /// Creates a message.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Tokens a completion used, and what they cost.
public struct ChatUsage: Sendable, Equatable, Codable {
    /// Tokens of the prompt.
    public var promptTokens: Int
    /// Tokens of the answer.
    public var completionTokens: Int
    /// Whether the counts are Quarry's estimate (the service reported none).
    public var estimated: Bool
    /// Estimated cost in US dollars; `nil` when the model's prices are not configured.
    public var costUSD: Double?

    /// Creates a usage record.
    public init(promptTokens: Int, completionTokens: Int, estimated: Bool = false, costUSD: Double? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.estimated = estimated
        self.costUSD = costUSD
    }

    /// Prompt and completion tokens together.
    public var totalTokens: Int { promptTokens + completionTokens }

    enum CodingKeys: String, CodingKey {
        case estimated
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case costUSD = "cost_usd"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(completionTokens, forKey: .completionTokens)
        try container.encode(estimated, forKey: .estimated)
        try container.encode(costUSD, forKey: .costUSD)
    }
}

/// A finished completion.
public struct ChatCompletion: Sendable {
    /// The answer text.
    public var text: String
    /// The model that answered (after fallbacks, the one that succeeded).
    public var model: String
    /// Token usage; `nil` when the service reported none.
    public var usage: ChatUsage?
    /// Whether the answer stopped at `max_tokens`.
    public var truncated: Bool
    /// Requests made, across retries and fallbacks.
    public var attempts: Int
    /// What went wrong with the models tried before the one that answered.
    public var failures: [String]
    /// The configured model that answered (its prices price the answer).
    public var configured: ChatModel? = nil
}

// MARK: - The wire format of `/chat/completions`

/// The body of a `/chat/completions` request.
struct ChatRequestBody: Encodable {
    struct StreamOptions: Encodable {
        var includeUsage = true
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }
    var model: String
    var messages: [ChatMessage]
    var maxTokens: Int
    var temperature: Double
    var stream: Bool
    var streamOptions: StreamOptions?

    enum CodingKeys: String, CodingKey {
        case model, messages, temperature, stream
        case maxTokens = "max_tokens"
        case streamOptions = "stream_options"
    }
}

/// A completion as the API sends it: the whole answer (`message`), or one chunk of a streamed
/// answer (`delta`).
struct ChatCompletionBody: Decodable {
    struct Message: Decodable { var content: String? }
    struct Choice: Decodable {
        var message: Message?
        var delta: Message?
        var finishReason: String?
        enum CodingKeys: String, CodingKey {
            case message, delta
            case finishReason = "finish_reason"
        }
    }
    struct Usage: Decodable {
        var promptTokens: Int?
        var completionTokens: Int?
        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
        }
    }
    var model: String?
    var choices: [Choice]
    var usage: Usage?
    var error: ChatErrorBody.Detail?

    enum CodingKeys: String, CodingKey { case model, choices, usage, error }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        choices = try c.decodeIfPresent([Choice].self, forKey: .choices) ?? []
        usage = try c.decodeIfPresent(Usage.self, forKey: .usage)
        error = try c.decodeIfPresent(ChatErrorBody.Detail.self, forKey: .error)
    }
}

/// An error as the API sends it: `{"error": {"message": ...}}`.
struct ChatErrorBody: Decodable {
    struct Detail: Decodable { var message: String? }
    var error: Detail?
}
