import Foundation
import QuarryErrors

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Settings of an OpenAI-compatible embeddings endpoint (OpenAI, vLLM, llama.cpp, Ollama, TEI).
public struct OpenAIEmbedderConfiguration: Sendable {
    /// The API base, for example `https://api.openai.com/v1` or `http://127.0.0.1:8000`;
    /// requests go to `<base>/embeddings` when it ends in `/v1`, else `<base>/v1/embeddings`.
    public var baseURL: URL
    /// Sent as `Authorization: Bearer <key>` when present.
    public var apiKey: String?
    /// The model name the service expects.
    public var model: String
    /// The dimension of its vectors; answers of another dimension are refused.
    public var dimension: Int
    /// Texts per request.
    public var batchSize: Int
    /// Time allowed for one request.
    public var timeout: Duration
    /// Attempts after the first, on 429, 5xx and transport errors.
    public var maxRetries: Int
    /// First back-off; doubled on each retry, with full jitter, up to `maxBackoff`.
    public var initialBackoff: Duration
    /// Longest back-off, also the cap on a server's `Retry-After`.
    public var maxBackoff: Duration
    /// The model's input limit in tokens, for chunkers.
    public var maxInputTokens: Int

    /// Creates a configuration.
    public init(
        baseURL: URL, apiKey: String? = nil, model: String, dimension: Int, batchSize: Int = 64,
        timeout: Duration = .seconds(30), maxRetries: Int = 4, initialBackoff: Duration = .milliseconds(500),
        maxBackoff: Duration = .seconds(8), maxInputTokens: Int = 512
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.model = model
        self.dimension = dimension
        self.batchSize = max(1, batchSize)
        self.timeout = timeout
        self.maxRetries = max(0, maxRetries)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxInputTokens = maxInputTokens
    }

    /// How failed requests are retried: `maxRetries`, `initialBackoff`, `maxBackoff`.
    public var retryPolicy: RetryPolicy {
        RetryPolicy(maxRetries: maxRetries, initialBackoff: initialBackoff, maxBackoff: maxBackoff)
    }

    /// The embeddings endpoint.
    public var endpoint: URL {
        baseURL.path.hasSuffix("/v1") || baseURL.path.hasSuffix("/v1/")
            ? baseURL.appendingPathComponent("embeddings")
            : baseURL.appendingPathComponent("v1").appendingPathComponent("embeddings")
    }
}

/// An `Embedder` backed by an OpenAI-compatible `/v1/embeddings` API, through `URLSession`.
///
/// Retries 429, 5xx and transport failures as its configuration's `retryPolicy` says (full-jitter
/// exponential back-off, honouring `Retry-After`), checks that every answer has one vector of the right dimension per input, and
/// L2-normalises the vectors so they mix with exact and HNSW cosine search.
public final class OpenAIEmbedder: Embedder {
    /// The endpoint's settings.
    public let configuration: OpenAIEmbedderConfiguration
    private let session: URLSession
    private let counter: @Sendable (String) -> Int

    /// Creates an embedder.
    /// - Parameters:
    ///   - configuration: endpoint, model and retry settings.
    ///   - tokenCounter: counts the model's tokens; defaults to an estimate of one token per
    ///     four characters.
    public init(configuration: OpenAIEmbedderConfiguration, tokenCounter: (@Sendable (String) -> Int)? = nil) {
        self.configuration = configuration
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        let (seconds, attoseconds) = configuration.timeout.components
        sessionConfiguration.timeoutIntervalForRequest = Double(seconds) + Double(attoseconds) / 1e18
        sessionConfiguration.timeoutIntervalForResource = sessionConfiguration.timeoutIntervalForRequest
        self.session = URLSession(configuration: sessionConfiguration)
        self.counter = tokenCounter ?? { max(1, ($0.utf8.count + 3) / 4) }
    }

    /// The model's name and dimension, and the endpoint as its fingerprint.
    public var model: EmbeddingModelInfo {
        EmbeddingModelInfo(
            name: configuration.model, dimension: configuration.dimension,
            fingerprint: "openai-compatible:\(configuration.endpoint.absoluteString)#\(configuration.model)"
        )
    }

    /// The model's input limit in tokens, as configured.
    public var maxInputTokens: Int { configuration.maxInputTokens }

    /// The tokens of `text`, by the counter given at creation (or the estimate).
    public func tokenCount(_ text: String) -> Int { counter(text) }

    /// One L2-normalised vector per text, in order, `batchSize` texts per request.
    /// - Throws: `QuarryError.embedding` when the service fails after the retries, or
    ///   answers with something other than one vector of the configured dimension per text.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let batch = Array(texts[start..<min(start + configuration.batchSize, texts.count)])
            vectors += try await embedWithRetries(batch)
            start += batch.count
        }
        return vectors
    }

    private struct RequestBody: Encodable {
        var model: String
        var input: [String]
        var encodingFormat = "float"
        enum CodingKeys: String, CodingKey {
            case model, input
            case encodingFormat = "encoding_format"
        }
    }

    private struct ResponseBody: Decodable {
        struct Item: Decodable {
            var index: Int
            var embedding: [Float]
        }
        var data: [Item]
    }

    private struct ErrorBody: Decodable {
        struct Detail: Decodable { var message: String? }
        var error: Detail?
    }

    /// One failed attempt: whether it is worth retrying, and how long the server asked to wait.
    private struct AttemptFailure: RetryableFailure {
        var error: QuarryError
        var retryable: Bool
        var retryAfter: Duration?
    }

    private func embedWithRetries(_ texts: [String]) async throws -> [[Float]] {
        do {
            return try await configuration.retryPolicy.run { try await attemptRequest(texts) }
        } catch let failure as AttemptFailure {
            throw failure.error
        }
    }

    private func attemptRequest(_ texts: [String]) async throws -> [[Float]] {
        var request = URLRequest(url: configuration.endpoint)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key = configuration.apiKey, !key.isEmpty {
            request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        }
        request.httpBody = try JSONEncoder().encode(RequestBody(model: configuration.model, input: texts))

        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw AttemptFailure(
                error: QuarryError(.embedding, "cannot reach \(configuration.endpoint.absoluteString)", underlying: error),
                retryable: true, retryAfter: nil
            )
        }
        guard let http = response as? HTTPURLResponse else {
            throw AttemptFailure(
                error: QuarryError(.embedding, "\(configuration.endpoint.absoluteString) gave a non-HTTP answer"),
                retryable: false, retryAfter: nil
            )
        }
        guard (200..<300).contains(http.statusCode) else {
            let detail = (try? JSONDecoder().decode(ErrorBody.self, from: data))?.error?.message
                ?? String(decoding: data.prefix(300), as: UTF8.self)
            let retryAfter = RetryPolicy.retryAfter(http.value(forHTTPHeaderField: "Retry-After"))
            throw AttemptFailure(
                error: QuarryError(.embedding,
                    "embedding service answered \(http.statusCode)\(detail.isEmpty ? "" : ": \(detail)")"
                ),
                retryable: RetryPolicy.isRetryable(status: http.statusCode), retryAfter: retryAfter
            )
        }
        let body: ResponseBody
        do {
            body = try JSONDecoder().decode(ResponseBody.self, from: data)
        } catch {
            throw AttemptFailure(
                error: QuarryError(.embedding, "embedding service answered with malformed JSON", underlying: error),
                retryable: false, retryAfter: nil
            )
        }
        return try order(body.data, count: texts.count)
    }

    /// Puts the answer's vectors in input order, checking count, indices and dimension.
    private func order(_ items: [ResponseBody.Item], count: Int) throws -> [[Float]] {
        func malformed(_ reason: String) -> AttemptFailure {
            AttemptFailure(error: QuarryError(.embedding, "embedding service answer: \(reason)"), retryable: false, retryAfter: nil)
        }
        guard items.count == count else { throw malformed("\(items.count) vectors for \(count) inputs") }
        var vectors = [[Float]](repeating: [], count: count)
        for item in items {
            guard (0..<count).contains(item.index), vectors[item.index].isEmpty else {
                throw malformed("index \(item.index) is out of range or repeated")
            }
            guard item.embedding.count == configuration.dimension else {
                throw malformed("a vector of dimension \(item.embedding.count), expected \(configuration.dimension)")
            }
            let norm = item.embedding.reduce(0) { $0 + $1 * $1 }.squareRoot()
            vectors[item.index] = norm > 0 ? item.embedding.map { $0 / norm } : item.embedding
        }
        return vectors
    }
}
