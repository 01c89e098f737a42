import QuarryEmbedding

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
    /// How long the server asked to wait before retrying (`Retry-After`), if it said.
    public var retryAfter: Duration?
    /// For `.exhausted`: the requests made, across retries and models.
    public var attempts = 0
    /// For `.exhausted`: each model's last failure, "model: what happened".
    public var failures: [String] = []

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

extension ChatError: RetryableFailure {}
