import Hummingbird
import QuarryCore

/// Answers a request for a path the server serves, with a method the path does not take (`TRACE
/// /health`, `POST /documents/{id}`, `OPTIONS` when CORS does not answer it), with 405 and an
/// `Allow` header naming the methods it takes, where the router alone answers 404. Unknown paths
/// stay 404.
///
/// Registered after every route, it wraps only the router's not-found responder, so routed
/// requests never pass through it. It knows the paths from a copy of the router's own table
/// (`Router.routes`), resolved by a second router so a path matches here exactly as it does there.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Resolves a path to a 204 whose `Allow` header lists the path's methods, or a 404.
    private let lookup: RouterResponder<Context>

    /// - Parameter routes: every route of the router, by path and method.
    init(routes: [(path: RouterPath, method: HTTPRequest.Method)]) {
        var methods: [String: (path: RouterPath, methods: Set<HTTPRequest.Method>)] = [:]
        for route in routes {
            methods[route.path.description, default: (route.path, [])].methods.insert(route.method)
        }
        let router = Router(context: Context.self)
        for (path, allowed) in methods.values {
            let header = Self.allowHeader(allowed)
            router.on(path, method: .get, responder: CallbackResponder { _, _ in Response(status: .noContent, headers: [.allow: header]) })
        }
        lookup = router.buildResponder()
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let probe = Request(
            head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: request.uri.path),
            body: RequestBody(buffer: ByteBuffer())
        )
        let answer = try await lookup.respond(to: probe, context: context)
        guard answer.status == .noContent, let allow = answer.headers[.allow] else {
            return try await next(request, context)
        }
        throw APIError.methodNotAllowed(request.method, allow: allow)
    }

    /// The value of an `Allow` header for `methods`: HEAD wherever GET is (the router answers
    /// HEAD like GET, without the body), in a stable order.
    static func allowHeader(_ methods: Set<HTTPRequest.Method>) -> String {
        var methods = methods
        if methods.contains(.get) { methods.insert(.head) }
        return methods.map(\.rawValue).sorted().joined(separator: ", ")
    }
}

extension MethodNotAllowedMiddleware {
    /// Adds the middleware to `router`; call it after every route is registered.
    ///
    /// `PUT /documents/**` serves only `/documents/{id}/access` (the route tells the two apart
    /// by the last segment, as a document id may hold slashes), so it is listed under that path.
    static func register(on router: Router<Context>) {
        let routes = router.routes.map { route in
            route.path == DocumentRoutes.documentPath && route.method == .put
                ? (path: DocumentRoutes.accessPath, method: route.method) : (path: route.path, method: route.method)
        }
        router.add(middleware: MethodNotAllowedMiddleware(routes: routes))
    }
}

extension APIError {
    /// 405 for `method` on a path that takes the methods of `allow` (an `Allow` header value).
    static func methodNotAllowed(_ method: HTTPRequest.Method, allow: String) -> APIError {
        var error = APIError(
            status: .methodNotAllowed, code: "method_not_allowed", message: "\(method.rawValue) is not allowed here; this path takes \(allow)"
        )
        error.headers[.allow] = allow
        return error
    }
}
