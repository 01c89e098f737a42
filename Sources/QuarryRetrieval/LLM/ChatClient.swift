import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import QuarryEmbedding
import Synchronization

/// A client of OpenAI-compatible `/v1/chat/completions` APIs, streamed or not.
///
/// Each model of the chain gets `1 + maxRetries` attempts: 429, 5xx, transport errors and timeouts
/// are retried as `settings.retryPolicy` says (full-jitter exponential back-off, honouring
/// `Retry-After`); other 4xx answers and malformed ones move on to the next model at once. Once a streamed answer has produced
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
    ///   - models: the chain of this call, tried in order with `settings`' timeouts and retries
    ///     (a `ModelRouter`'s choice); `settings.models` when `nil`. Each model's own prices
    ///     price the answer it gives.
    ///   - stream: ask for a streamed answer and pass each piece of text to `onText` as it
    ///     arrives; otherwise `onText` gets the whole answer once.
    /// - Returns: the completion; its `configured` is the model of the chain that answered.
    /// - Throws: `ChatError` (`.exhausted` naming every failure when no model answered, or when
    ///   the chain is empty; or the error that broke a stream after it had produced text);
    ///   `CancellationError`.
    public func complete(
        _ messages: [ChatMessage], maxTokens: Int? = nil, models: [ChatModel]? = nil, stream: Bool,
        onText: @escaping @Sendable (String) async throws -> Void = { _ in }
    ) async throws -> ChatCompletion {
        let chain = models ?? settings.models
        guard !chain.isEmpty else { throw ChatError(.exhausted, "no model answered: the chain names no model") }
        var failures: [String] = []
        var attempts = 0
        for model in chain {
            do {
                var completion = try await settings.retryPolicy.run {
                    attempts += 1
                    let produced = Flag()
                    do {
                        return try await attempt(
                            model: model, messages: messages, maxTokens: maxTokens ?? settings.maxTokens, stream: stream
                        ) { text in
                            produced.set()
                            try await onText(text)
                        }
                    } catch let error as ChatError where produced.isSet {
                        throw Delivered(error: error)
                    }
                }
                completion.attempts = attempts
                completion.failures = failures
                completion.configured = model
                return completion
            } catch let delivered as Delivered {
                throw delivered.error
            } catch let error as ChatError {
                failures.append("\(model.name): \(error.message)")
            }
        }
        var exhausted = ChatError(.exhausted, "no model answered: " + failures.joined(separator: "; "))
        exhausted.attempts = attempts
        exhausted.failures = failures
        throw exhausted
    }

    /// A failure after text had reached the caller: neither retried nor passed to the next model.
    private struct Delivered: Error {
        var error: ChatError
    }

    /// One request to one model, raced against its first-token and total deadlines.
    ///
    /// The first piece of text and the first-token deadline meet at a `FirstTokenGate`: whichever
    /// comes first wins, so text that arrives as the deadline passes is either delivered (and the
    /// attempt goes on to the total deadline) or dropped with the timeout, never both.
    private func attempt(
        model: ChatModel, messages: [ChatMessage], maxTokens: Int, stream: Bool,
        onText: @escaping @Sendable (String) async throws -> Void
    ) async throws -> ChatCompletion {
        let gate = FirstTokenGate()
        let settings = settings
        let timedOut = ChatError(
            .firstTokenTimeout, "no answer within the first-token timeout of \(settings.firstTokenTimeout)", retryable: true
        )
        return try await withThrowingTaskGroup(of: ChatCompletion?.self) { group in
            group.addTask {
                try await self.request(model: model, messages: messages, maxTokens: maxTokens, stream: stream) { text in
                    guard gate.arrive() else { throw timedOut }
                    try await onText(text)
                }
            }
            group.addTask {
                try await Task.sleep(for: settings.firstTokenTimeout)
                if gate.expire() { throw timedOut }
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
        let body = ChatRequestBody(
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
            // Clients see this (in `llm.failures`): it names the model, never its address, and
            // the cause only when it holds no address (the client library's own errors).
            let cause = (error as? HTTPClientError).map { "\($0)" } ?? "the connection failed"
            throw ChatError(.transport, "cannot reach the chat API of \(model.name): \(cause)", retryable: true)
        }
        guard (200..<300).contains(response.status.code) else {
            let detail: String
            do {
                let data = Data(try await response.body.collect(upTo: 64 << 10).readableBytesView)
                // The service's message when the body is its JSON error, else the body's start.
                detail = (try? JSONDecoder().decode(ChatErrorBody.self, from: data))?.error?.message
                    ?? String(decoding: data.prefix(300), as: UTF8.self)
            } catch {
                detail = "the body could not be read (\(error))"
            }
            let code = Int(response.status.code)
            let retryAfter = RetryPolicy.retryAfter(response.headers.first(name: "Retry-After"))
            throw ChatError(
                .status, "answered \(code)\(detail.isEmpty ? "" : ": \(detail)")", status: code,
                retryable: RetryPolicy.isRetryable(status: code), retryAfter: retryAfter
            )
        }
        do {
            if stream {
                return try await readStream(response, model: model, onText: onText)
            }
            let data = Data(try await response.body.collect(upTo: 16 << 20).readableBytesView)
            guard let decoded = try? JSONDecoder().decode(ChatCompletionBody.self, from: data),
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
        // A stream that ends without any choice saying why it finished was cut short (llama.cpp's
        // server ends one with `[DONE]` when another request interrupts it): it counts as
        // truncated, not as a whole answer.
        var finished = false
        for try await buffer in response.body {
            for event in parser.feed(buffer.readableBytesView) {
                if event.data == "[DONE]" {
                    return ChatCompletion(
                        text: text, model: answeringModel, usage: usage, truncated: truncated || !finished, attempts: 1, failures: []
                    )
                }
                guard let chunk = try? JSONDecoder().decode(ChatCompletionBody.self, from: Data(event.data.utf8)) else {
                    throw ChatError(.malformed, "sent an event that is not a completion chunk: \(event.data.prefix(200))")
                }
                if let error = chunk.error { throw ChatError(.status, "failed while answering: \(error.message ?? "no message")", retryable: true) }
                if let name = chunk.model { answeringModel = name }
                if let reported = chunk.usage { usage = self.usage(of: reported, model: model) }
                for choice in chunk.choices {
                    if choice.finishReason == "length" { truncated = true }
                    if choice.finishReason != nil { finished = true }
                    if let piece = choice.delta?.content, !piece.isEmpty {
                        text += piece
                        try await onText(piece)
                    }
                }
            }
        }
        // Some servers close the stream without `[DONE]`; what arrived is the answer, unless nothing did.
        guard !text.isEmpty else { throw ChatError(.malformed, "closed the event stream without an answer", retryable: true) }
        return ChatCompletion(text: text, model: answeringModel, usage: usage, truncated: truncated || !finished, attempts: 1, failures: [])
    }

    private func usage(of reported: ChatCompletionBody.Usage, model: ChatModel) -> ChatUsage {
        var usage = ChatUsage(promptTokens: reported.promptTokens ?? 0, completionTokens: reported.completionTokens ?? 0)
        usage.costUSD = Self.cost(promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, model: model)
        return usage
    }

    /// The price of a completion, when the model's prices are configured.
    static func cost(promptTokens: Int, completionTokens: Int, model: ChatModel) -> Double? {
        guard let input = model.inputCostPerMillion, let output = model.outputCostPerMillion else { return nil }
        return (Double(promptTokens) * input + Double(completionTokens) * output) / 1_000_000
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

/// Where an attempt's first piece of text meets its first-token deadline: the first of the two
/// to arrive wins, atomically.
final class FirstTokenGate: Sendable {
    private static let waiting: UInt8 = 0, started: UInt8 = 1, expired: UInt8 = 2
    private let state = Atomic<UInt8>(FirstTokenGate.waiting)

    /// Text arrived: `true` when it may go to the caller (the deadline had not passed).
    func arrive() -> Bool {
        let (exchanged, original) = state.compareExchange(expected: Self.waiting, desired: Self.started, ordering: .acquiringAndReleasing)
        return exchanged || original == Self.started
    }

    /// The deadline passed: `true` when no text had arrived, so the attempt has timed out.
    func expire() -> Bool {
        let (exchanged, original) = state.compareExchange(expected: Self.waiting, desired: Self.expired, ordering: .acquiringAndReleasing)
        return exchanged || original == Self.expired
    }
}

extension Duration {
    /// The duration in whole nanoseconds.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
