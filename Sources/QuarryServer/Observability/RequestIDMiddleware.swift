import Hummingbird
import Logging

/// Gives every request an id: the caller's `X-Request-Id` when it is 1–128 letters, digits, `-`,
/// `_` or `.`, else the server's own. The id is in every log line of the request (as
/// `hb.request.id`), in the response's `X-Request-Id` header, and in error bodies.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let incoming = request.headers[.init("X-Request-Id")!], Self.isValid(incoming) {
            context.logger[metadataKey: "hb.request.id"] = .string(incoming)
        }
        let id = context.id
        var response = try await next(request, context)
        response.headers[.init("X-Request-Id")!] = id
        return response
    }

    static func isValid(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E }
    }
}
