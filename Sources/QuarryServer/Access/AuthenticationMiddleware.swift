import Hummingbird
import Logging
import QuarryAccess

/// Establishes who is asking, from `Authorization: Bearer <key>`, before any route runs. Only
/// `GET /health` is open. The key's id and tenant join the request's log lines; its secret
/// appears nowhere.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = QuarryRequestContext
    let keyRing: KeyRing

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .get, request.uri.path == "/health" { return try await next(request, context) }
        var context = context
        let principal = try await keyRing.authenticate(authorization: request.headers[.authorization])
        context.identity = principal
        context.logger[metadataKey: "quarry.tenant"] = .string(principal.tenant)
        if let keyID = principal.keyID { context.logger[metadataKey: "quarry.key"] = .string(keyID) }
        return try await next(request, context)
    }
}
