import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

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
}

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

/// Why a chat request failed.
public struct ChatError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure.
    public enum Kind: String, Sendable {
        /// The service could not be reached, or the connection broke.
        case transport
        /// The service answered with an error status.
        case status
        /// No first token within the first-token timeout.
        case firstTokenTimeout = "first_token_timeout"
        /// The attempt ran past the total timeout.
        case totalTimeout = "total_timeout"
        /// The answer was not the expected JSON or event stream.
        case malformed
        /// Every model of the chain failed.
        case exhausted
    }

    /// What kind of failure.
    public var kind: Kind
    /// What happened, for people.
    public var message: String
    /// The HTTP status, for `.status`.
    public var status: Int?
    /// Whether another attempt at the same model may succeed.
    public var retryable: Bool
    /// How long the server asked to wait before retrying.
    var retryAfter: Duration?

    /// Creates an error; what the chat client throws, and what a caller reading a model's reply
    /// throws when the reply is not what it asked for (`.malformed`).
    public init(_ kind: Kind, _ message: String, status: Int? = nil, retryable: Bool = false, retryAfter: Duration? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retryAfter = retryAfter
    }

    public var description: String { message }
}

/// A client of OpenAI-compatible `/v1/chat/completions` APIs, streamed or not.
///
/// Each model of the chain gets `1 + maxRetries` attempts: 429, 5xx, transport errors and timeouts
/// are retried with full-jitter exponential back-off (honouring `Retry-After`); other 4xx answers
/// and malformed ones move on to the next model at once. Once a streamed answer has produced
/// text, nothing is retried: the text is already with the caller.
public struct ChatClient: Sendable {
    /// The chain, timeouts and retry policy.
    public let settings: ChatSettings
    private let http: HTTPClient

    /// Creates a client.
    public init(settings: ChatSettings) {
        self.settings = settings
        self.http = HTTPClients.client(connectTimeout: settings.connectTimeout)
    }

    /// Sends `messages` to the chain until a model answers.
    /// - Parameters:
    ///   - maxTokens: the answer's length limit; `settings.maxTokens` when `nil`.
    ///   - stream: ask for a streamed answer and pass each piece of text to `onText` as it
    ///     arrives; otherwise `onText` gets the whole answer once.
    /// - Throws: `ChatError` (`.exhausted` naming every failure when no model answered, or the
    ///   error that broke a stream after it had produced text); `CancellationError`.
    public func complete(
        _ messages: [ChatMessage], maxTokens: Int? = nil, stream: Bool,
        onText: @escaping @Sendable (String) async throws -> Void = { _ in }
    ) async throws -> ChatCompletion {
        var failures: [String] = []
        var attempts = 0
        for model in settings.models {
            var retry = 0
            while true {
                attempts += 1
                let produced = Flag()
                do {
                    var completion = try await attempt(
                        model: model, messages: messages, maxTokens: maxTokens ?? settings.maxTokens, stream: stream
                    ) { text in
                        produced.set()
                        try await onText(text)
                    }
                    completion.attempts = attempts
                    completion.failures = failures
                    completion.configured = model
                    return completion
                } catch let error as ChatError {
                    if produced.isSet { throw error }
                    if error.retryable, retry < settings.maxRetries {
                        try await Task.sleep(for: backoff(attempt: retry, retryAfter: error.retryAfter))
                        retry += 1
                        continue
                    }
                    failures.append("\(model.name): \(error.message)")
                    break
                }
            }
        }
        throw ChatError(.exhausted, "no model answered: " + failures.joined(separator: "; "))
    }

    /// Full-jitter exponential back-off: uniform in [0, min(max, initial · 2^attempt)], or the
    /// server's `Retry-After` when it gave one (capped at `maxBackoff`).
    func backoff(attempt: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return min(retryAfter, settings.maxBackoff) }
        let ceiling = min(settings.maxBackoff, settings.initialBackoff * (1 << min(attempt, 20)))
        return ceiling * Double.random(in: 0...1)
    }

    private struct RequestBody: Encodable {
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

    /// One request to one model, raced against its first-token and total deadlines.
    private func attempt(
        model: ChatModel, messages: [ChatMessage], maxTokens: Int, stream: Bool,
        onText: @escaping @Sendable (String) async throws -> Void
    ) async throws -> ChatCompletion {
        let firstToken = Flag()
        let settings = settings
        return try await withThrowingTaskGroup(of: ChatCompletion?.self) { group in
            group.addTask {
                try await self.request(model: model, messages: messages, maxTokens: maxTokens, stream: stream) { text in
                    firstToken.set()
                    try await onText(text)
                }
            }
            group.addTask {
                try await Task.sleep(for: settings.firstTokenTimeout)
                if !firstToken.isSet {
                    throw ChatError(
                        .firstTokenTimeout, "no answer within the first-token timeout of \(settings.firstTokenTimeout)",
                        retryable: true
                    )
                }
                try await Task.sleep(for: settings.totalTimeout - settings.firstTokenTimeout)
                throw ChatError(.totalTimeout, "the answer took longer than the total timeout of \(settings.totalTimeout)", retryable: true)
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw CancellationError()
        }
    }

    private func request(
        model: ChatModel, messages: [ChatMessage], maxTokens: Int, stream: Bool,
        onText: @escaping @Sendable (String) async throws -> Void
    ) async throws -> ChatCompletion {
        var request = HTTPClientRequest(url: model.endpoint.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: stream ? "text/event-stream" : "application/json")
        if let key = model.apiKey, !key.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        let body = RequestBody(
            model: model.name, messages: messages, maxTokens: maxTokens, temperature: settings.temperature, stream: stream,
            streamOptions: stream ? .init() : nil
        )
        request.body = .bytes(ByteBuffer(bytes: Array(try JSONEncoder().encode(body))))

        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .nanoseconds(Int64(settings.totalTimeout.nanoseconds)))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ChatError(.transport, "cannot reach \(model.endpoint.absoluteString): \(error)", retryable: true)
        }
        guard (200..<300).contains(response.status.code) else {
            let data = (try? await response.body.collect(upTo: 64 << 10)).map { Data($0.readableBytesView) } ?? Data()
            let detail = (try? JSONDecoder().decode(ErrorBody.self, from: data))?.error?.message
                ?? String(decoding: data.prefix(300), as: UTF8.self)
            let code = Int(response.status.code)
            let retryAfter = response.headers.first(name: "Retry-After").flatMap(Double.init).map { Duration.seconds($0) }
            throw ChatError(
                .status, "answered \(code)\(detail.isEmpty ? "" : ": \(detail)")", status: code,
                retryable: code == 429 || code >= 500, retryAfter: retryAfter
            )
        }
        do {
            if stream {
                return try await readStream(response, model: model, onText: onText)
            }
            let data = Data(try await response.body.collect(upTo: 16 << 20).readableBytesView)
            guard let decoded = try? JSONDecoder().decode(CompletionBody.self, from: data),
                let choice = decoded.choices.first, let text = choice.message?.content
            else {
                throw ChatError(.malformed, "answered with JSON that is not a chat completion")
            }
            try await onText(text)
            return ChatCompletion(
                text: text, model: decoded.model ?? model.name, usage: decoded.usage.map { usage(of: $0, model: model) },
                truncated: choice.finishReason == "length", attempts: 1, failures: []
            )
        } catch let error as ChatError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as NIOTooManyBytesError {
            throw ChatError(.malformed, "answered with a body that is too large (\(error))")
        } catch {
            throw ChatError(.transport, "the connection broke: \(error)", retryable: true)
        }
    }

    /// Reads a `text/event-stream` of completion chunks up to `data: [DONE]`.
    private func readStream(
        _ response: HTTPClientResponse, model: ChatModel, onText: @Sendable (String) async throws -> Void
    ) async throws -> ChatCompletion {
        var parser = ServerSentEventParser()
        var text = ""
        var usage: ChatUsage?
        var answeringModel = model.name
        var truncated = false
        for try await buffer in response.body {
            for event in parser.feed(buffer.readableBytesView) {
                if event.data == "[DONE]" {
                    return ChatCompletion(text: text, model: answeringModel, usage: usage, truncated: truncated, attempts: 1, failures: [])
                }
                guard let chunk = try? JSONDecoder().decode(CompletionBody.self, from: Data(event.data.utf8)) else {
                    throw ChatError(.malformed, "sent an event that is not a completion chunk: \(event.data.prefix(200))")
                }
                if let error = chunk.error { throw ChatError(.status, "failed while answering: \(error.message ?? "no message")", retryable: true) }
                if let name = chunk.model { answeringModel = name }
                if let reported = chunk.usage { usage = self.usage(of: reported, model: model) }
                for choice in chunk.choices {
                    if choice.finishReason == "length" { truncated = true }
                    if let piece = choice.delta?.content, !piece.isEmpty {
                        text += piece
                        try await onText(piece)
                    }
                }
            }
        }
        // Some servers close the stream without `[DONE]`; what arrived is the answer, unless nothing did.
        guard !text.isEmpty else { throw ChatError(.malformed, "closed the event stream without an answer", retryable: true) }
        return ChatCompletion(text: text, model: answeringModel, usage: usage, truncated: truncated, attempts: 1, failures: [])
    }

    private func usage(of reported: CompletionBody.Usage, model: ChatModel) -> ChatUsage {
        var usage = ChatUsage(promptTokens: reported.promptTokens ?? 0, completionTokens: reported.completionTokens ?? 0)
        usage.costUSD = Self.cost(promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, model: model)
        return usage
    }

    /// The price of a completion, when the model's prices are configured.
    static func cost(promptTokens: Int, completionTokens: Int, model: ChatModel) -> Double? {
        guard let input = model.inputCostPerMillion, let output = model.outputCostPerMillion else { return nil }
        return (Double(promptTokens) * input + Double(completionTokens) * output) / 1_000_000
    }

    private struct CompletionBody: Decodable {
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
        var error: ErrorBody.Detail?

        enum CodingKeys: String, CodingKey { case model, choices, usage, error }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            model = try c.decodeIfPresent(String.self, forKey: .model)
            choices = try c.decodeIfPresent([Choice].self, forKey: .choices) ?? []
            usage = try c.decodeIfPresent(Usage.self, forKey: .usage)
            error = try c.decodeIfPresent(ErrorBody.Detail.self, forKey: .error)
        }
    }

    private struct ErrorBody: Decodable {
        struct Detail: Decodable { var message: String? }
        var error: Detail?
    }
}

/// One HTTP client per connect timeout, for the life of the process: `HTTPClient`s must be shut
/// down before they are released, and chat clients are cheap values created per configuration.
enum HTTPClients {
    private static let clients = Mutex<[Duration: HTTPClient]>([:])

    static func client(connectTimeout: Duration) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[connectTimeout] { return client }
            var configuration = HTTPClient.Configuration()
            configuration.timeout = .init(connect: .nanoseconds(Int64(connectTimeout.nanoseconds)))
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[connectTimeout] = client
            return client
        }
    }
}

/// A flag set once, read from any task.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .releasing) }

    var isSet: Bool { value.load(ordering: .acquiring) }
}

extension Duration {
    /// The duration in whole nanoseconds.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// Splits a `text/event-stream` into events, whatever the byte boundaries of its pieces.
struct ServerSentEventParser {
    struct Event: Equatable {
        var name: String?
        var data: String
    }

    private var pending: [UInt8] = []
    private var name: String?
    private var data: [String] = []

    /// The events completed by `bytes`.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [Event] {
        var events: [Event] = []
        for byte in bytes {
            guard byte == UInt8(ascii: "\n") else {
                pending.append(byte)
                continue
            }
            if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
            let line = String(decoding: pending, as: UTF8.self)
            pending.removeAll(keepingCapacity: true)
            if line.isEmpty {
                if !data.isEmpty { events.append(Event(name: name, data: data.joined(separator: "\n"))) }
                name = nil
                data = []
            } else if line.hasPrefix(":") {
                continue  // a comment, often a keep-alive
            } else {
                let field = line.prefix { $0 != ":" }
                var value = line.dropFirst(field.count).dropFirst()
                if value.hasPrefix(" ") { value = value.dropFirst() }
                switch field {
                case "data": data.append(String(value))
                case "event": name = String(value)
                default: break
                }
            }
        }
        return events
    }
}
