import Hummingbird
import Logging
import QuarryCore

/// Turns every error a route throws into a JSON error response with the right status, and logs
/// the ones that are the server's fault.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError(error)
            // A write to a read-only store is the caller's to avoid, not a server failure.
            if apiError.status.code >= 500, apiError.code != QuarryError.Code.readOnly.rawValue {
                context.logger.error("\(request.method) \(request.uri.path) failed: \(String(reflecting: error))")
            }
            return try apiError.response(from: request, context: context)
        }
    }
}
