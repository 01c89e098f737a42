/// A kernel was called with shapes that do not fit together.
public struct KernelError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What did not fit.
    public var message: String

    /// Creates a shape error.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
