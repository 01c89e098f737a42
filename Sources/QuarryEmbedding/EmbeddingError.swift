/// Errors of the embedding layer: a code a caller can switch on, a message a user can act on,
/// and the underlying cause when there is one.
public struct EmbeddingError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, broadly.
    public enum Code: String, Sendable {
        /// The model folder or one of its files is missing.
        case modelMissing
        /// A model file exists but cannot be used (bad header, wrong shape, bad checksum).
        case modelCorrupt
        /// The input cannot be embedded (for example a dimension mismatch).
        case invalidInput
        /// A remote embedding service failed or answered with something unusable.
        case remoteFailure
    }

    /// The broad kind of failure.
    public var code: Code
    /// What happened and, where possible, how to fix it.
    public var message: String
    /// The error that caused this one, if any.
    public var underlying: (any Error)?

    /// Creates an embedding error.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "\(message) (\(underlying))" }
        return message
    }
}
