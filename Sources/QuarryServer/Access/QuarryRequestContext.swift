import Hummingbird
import QuarryAccess
import QuarryCore

/// The context of a Quarry request: Hummingbird's, and who is asking.
public struct QuarryRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AuthenticationMiddleware`; `nil` before it ran (and on `/health`, which needs no
    /// identity).
    public var identity: Principal?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.identity = nil
    }

    /// The caller, checked for `action`.
    /// - Throws: `QuarryError(.unauthenticated)` when no identity was established (a route that
    ///   asks for one fails closed), `.forbidden` when the role does not allow `action`.
    public func principal(for action: Action) throws -> Principal {
        guard let identity else { throw QuarryError(.unauthenticated, "this route needs an API key") }
        try identity.require(action)
        return identity
    }
}
