import QuarryErrors
/// Identity of an embedding model: what a collection records so that vectors from different
/// models are never mixed in one collection.
public struct EmbeddingModelInfo: Sendable, Hashable, Codable {
    /// Human-readable model name, for example `all-MiniLM-L6-v2`.
    public var name: String
    /// Length of every vector the model produces.
    public var dimension: Int
    /// Checksum of the weights (SHA-256, lower-case hex) or, for a remote model, of its
    /// name and endpoint.
    public var fingerprint: String

    /// Creates a model identity.
    public init(name: String, dimension: Int, fingerprint: String) {
        self.name = name
        self.dimension = dimension
        self.fingerprint = fingerprint
    }
}

/// Turns texts into fixed-length, L2-normalised vectors.
///
/// Implementations must give the same vector for a text whatever else is in the batch.
public protocol Embedder: Sendable {
    /// The model this embedder runs.
    var model: EmbeddingModelInfo { get }

    /// The largest input, in the model's tokens, that is embedded without truncation.
    var maxInputTokens: Int { get }

    /// Counts the model tokens of `text` (without special tokens), as chunkers need.
    func tokenCount(_ text: String) -> Int

    /// Embeds a batch of texts.
    /// - Returns: one vector of `model.dimension` floats per text, in input order.
    /// - Throws: `QuarryError` when the model cannot run or the remote service fails.
    func embed(_ texts: [String]) async throws -> [[Float]]

    /// Embeds a batch of texts as `priority` says: interactive work (a query waiting for its
    /// answer) goes ahead of bulk work (ingest batches, large embedding requests), which runs in
    /// slices that stop with a `CancellationError` once its task is cancelled.
    func embed(_ texts: [String], priority: EmbeddingPriority) async throws -> [[Float]]
}

/// Who waits for an embedding, and so what goes first when both want the encoder.
public enum EmbeddingPriority: Sendable, Hashable {
    /// A person or an app waiting on a request: queries, small embedding requests.
    case interactive
    /// Throughput work that can wait for a query: ingest batches, large embedding requests.
    case bulk
}

extension Embedder {
    /// The word pieces the encoder runs on for `texts`: each text's tokens, cut to the model's
    /// window, plus its two special tokens — what usage counts (`/v1/embeddings`' `usage`, the
    /// embedding tokens of questions and ingest jobs).
    public func encodedTokenCount(_ texts: some Sequence<String>) -> Int {
        texts.reduce(0) { $0 + min(tokenCount($1), maxInputTokens - 2) + 2 }
    }

    /// Embedders that have one queue (remote services, test doubles) treat every call alike.
    public func embed(_ texts: [String], priority: EmbeddingPriority) async throws -> [[Float]] {
        try await embed(texts)
    }
}
