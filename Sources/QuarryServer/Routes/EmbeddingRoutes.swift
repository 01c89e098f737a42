import Foundation
import Hummingbird
import QuarryCore
import QuarryEmbedding

/// The body of `POST /v1/embeddings`, as OpenAI's embeddings API takes it.
struct EmbeddingsRequestBody: Decodable {
    /// One text or several.
    var input: Input
    /// Accepted and ignored unless it names another model than the server runs.
    var model: String?
    /// `float` (default) or `base64` (little-endian float32, as OpenAI's clients ask for).
    var encodingFormat: String?

    enum CodingKeys: String, CodingKey {
        case input, model
        case encodingFormat = "encoding_format"
    }

    enum Input: Decodable {
        case one(String)
        case many([String])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .one(text)
            } else if let texts = try? container.decode([String].self) {
                self = .many(texts)
            } else {
                throw DecodingError.typeMismatch(
                    String.self, .init(codingPath: decoder.codingPath, debugDescription: "input must be a string or an array of strings")
                )
            }
        }

        var texts: [String] {
            switch self {
            case .one(let text): [text]
            case .many(let texts): texts
            }
        }
    }
}

/// `POST /v1/embeddings`: Quarry's embedder behind OpenAI's API, so that other tools can use it.
struct EmbeddingRoutes: Sendable {
    let embedder: any Embedder
    let maxBodyBytes: Int
    let limits: EmbeddingLimits
    /// Admits small bodies once read, as `embeddings` or `embeddings_bulk` by what they hold
    /// (`AdmissionMiddleware` admits larger ones before reading them).
    let admission: AdmissionControl
    /// Where each call's word pieces are counted for its key (`nil`: not counted).
    let usage: ServiceLimits?
    let metrics: ServerMetrics

    struct Response: Encodable {
        var object = "list"
        var data: [Item]
        var model: String
        var usage: Usage

        struct Item: Encodable {
            var object = "embedding"
            var index: Int
            var embedding: Embedding
        }

        enum Embedding: Encodable {
            case floats([Float])
            case base64(String)

            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .floats(let values): try container.encode(values)
                case .base64(let text): try container.encode(text)
                }
            }
        }

        struct Usage: Encodable {
            var promptTokens: Int
            var totalTokens: Int
            enum CodingKeys: String, CodingKey {
                case promptTokens = "prompt_tokens"
                case totalTokens = "total_tokens"
            }
        }
    }

    func register(on router: Router<QuarryRequestContext>) {
        router.post("/v1/embeddings") { request, context in
            let principal = try context.principal(for: .read)
            let body = try await JSON.decode(EmbeddingsRequestBody.self, from: request, limit: maxBodyBytes)
            let texts = body.input.texts
            guard !texts.isEmpty, texts.count <= limits.maxInputs else {
                throw QuarryError(.invalidRequest, "input must hold 1 to \(limits.maxInputs) texts, got \(texts.count)")
            }
            if let index = texts.firstIndex(where: { $0.isEmpty }) {
                throw QuarryError(.invalidRequest, "input[\(index)] is empty")
            }
            // Texts longer than the model's window are truncated, as the embedder does; the
            // limit and usage count what is embedded.
            let tokens = embedder.encodedTokenCount(texts)
            guard tokens <= limits.maxTokens else {
                throw QuarryError(.invalidRequest,
                    "input has \(tokens) word pieces (after truncating each text to \(embedder.maxInputTokens)); at most \(limits.maxTokens) per call: split it into several calls"
                )
            }
            if let model = body.model, !model.isEmpty, !Self.names(embedder.model.name, model) {
                throw QuarryError(.invalidRequest, "this server embeds with \(embedder.model.name), not \(model)")
            }
            let base64: Bool
            switch body.encodingFormat ?? "float" {
            case "float": base64 = false
            case "base64": base64 = true
            default: throw QuarryError(.invalidRequest, "encoding_format must be \"float\" or \"base64\"")
            }
            let interactive = texts.count <= limits.interactiveInputs && tokens <= limits.interactiveTokens
            let length = request.headers[.contentLength].flatMap { Int($0) }
            let response: Hummingbird.Response
            if RouteClass.of(method: request.method, path: "/v1/embeddings", contentLength: length) == .embeddings {
                response = try await admission.run(interactive ? .embeddings : .embeddingsBulk) {
                    try await embed(texts, tokens: tokens, interactive: interactive, base64: base64, request: request)
                }
            } else {
                response = try await embed(texts, tokens: tokens, interactive: interactive, base64: base64, request: request)
            }
            try await usage?.record(.embedding(model: embedder.model.name, tokens: tokens), for: principal, metrics: metrics)
            return response
        }
    }

    /// Embeds a call's texts and builds its response.
    private func embed(_ texts: [String], tokens: Int, interactive: Bool, base64: Bool, request: Request) async throws -> Hummingbird.Response {
            let vectors: [[Float]]
            var closeAfter = false
            do {
                if interactive {
                    vectors = try await embedder.embed(texts, priority: .interactive)
                } else {
                    // Bulk work runs behind queries, in slices, and stops at the next slice when
                    // the client goes away. Watching for that reads the connection past this
                    // request, so the connection is closed after the response.
                    closeAfter = true
                    vectors = try await request.body.consumeWithCancellationOnInboundClose { _ in
                        try await embedder.embed(texts, priority: .bulk)
                    }
                }
            } catch is CancellationError {
                throw APIError(status: .serviceUnavailable, code: "unavailable", message: "the request was cancelled")
            } catch {
                throw QuarryError(.embedding, "cannot embed the input", underlying: error)
            }
            let data = vectors.enumerated().map { index, vector in
                Response.Item(
                    index: index,
                    embedding: base64 ? .base64(vector.withUnsafeBytes { Data($0) }.base64EncodedString()) : .floats(vector)
                )
            }
            var response = try JSON.response(
                Response(data: data, model: embedder.model.name, usage: .init(promptTokens: tokens, totalTokens: tokens))
            )
            if closeAfter { response.headers[.connection] = "close" }
            return response
    }

    /// Whether `requested` names the model `served` (`all-MiniLM-L6-v2` also answers to
    /// `sentence-transformers/all-MiniLM-L6-v2`).
    static func names(_ served: String, _ requested: String) -> Bool {
        let short = { (name: String) in name.split(separator: "/").last.map(String.init)?.lowercased() ?? name.lowercased() }
        return short(served) == short(requested)
    }
}
