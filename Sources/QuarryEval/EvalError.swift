/// Errors of an evaluation's own making: a code a caller can switch on, a message a user can act
/// on, and the cause underneath. (A malformed dataset or QA file is a `QuarryError`, as it is for
/// every reader of input files.)
public struct EvalError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public enum Code: String, Sendable {
        /// A failure bar is not `METRIC=VALUE` or names an unknown metric.
        case invalidFailureBar
        /// LLM answers were asked for, and no chat model is configured.
        case answererUnavailable
    }

    /// What went wrong.
    public var code: Code
    /// What happened and, where possible, what to do about it.
    public var message: String
    /// The error underneath, if any.
    public var underlying: (any Error)?

    /// Creates an evaluation error.
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
