import Hummingbird
import Logging
import QuarryAccess
import QuarryCore

/// Establishes who is asking, from `Authorization: Bearer <key>`, before any route runs. Only
/// `GET /health` and the console's files (`GET /`, `GET /console/…`) are open. The key's id and tenant join the request's log lines; its secret
/// appears nowhere. A state-changing request or query refused here (401) is recorded in the
/// audit log, without a principal.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = QuarryRequestContext
    let keyRing: KeyRing
    var audit: AuditLog?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .get, request.uri.path == "/health" { return try await next(request, context) }
        if ConsoleRoutes.isConsole(method: request.method, path: request.uri.path) { return try await next(request, context) }
        var context = context
        let principal: Principal
        do {
            principal = try await keyRing.authenticate(authorization: request.headers[.authorization])
        } catch let error as QuarryError where error.code == .unauthenticated {
            if let audit { try await AuditMiddleware.recordUnauthenticated(request, context, in: audit) }
            throw error
        }
        context.identity = principal
        context.logger[metadataKey: "quarry.tenant"] = .string(principal.tenant)
        if let keyID = principal.keyID { context.logger[metadataKey: "quarry.key"] = .string(keyID) }
        return try await next(request, context)
    }
}
