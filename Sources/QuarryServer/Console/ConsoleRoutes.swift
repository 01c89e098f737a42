import Hummingbird
import NIOCore

/// Serves the web console: `GET /` is its page, `GET /console/{file}` its scripts, styles and
/// icons. Open without a key (they hold no data: the page asks for a key when the API does).
struct ConsoleRoutes {
    let assets: ConsoleAssets

    func register(on router: Router<QuarryRequestContext>) {
        router.get("/") { _, _ in try serve("index.html") }
        router.get("/console/{file}") { _, context in try serve(try context.parameters.require("file")) }
    }

    /// Whether a request is for the console's files, which need no key.
    static func isConsole(method: HTTPRequest.Method, path: String) -> Bool {
        (method == .get || method == .head) && (path == "/" || path.hasPrefix("/console/"))
    }

    private func serve(_ name: String) throws -> Response {
        guard let file = assets.file(named: name) else {
            throw APIError(status: .notFound, code: "not_found", message: "the console has no file '\(name.prefix(64))'")
        }
        var headers: HTTPFields = [.contentType: file.contentType, .cacheControl: "no-cache"]
        if name.hasSuffix(".html") { headers[.contentSecurityPolicy] = ConsoleAssets.contentSecurityPolicy }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }
}

/// Headers every response carries: no content-type sniffing (a JSON body can never be read as
/// HTML or script), never framed by another page, no referrer leaves with a link. A response
/// that sets its own `Content-Security-Policy` (the console page, an eval report) keeps it;
/// every other one gets a policy that allows nothing, should a browser ever render it.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = QuarryRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            Self.apply(to: &response.headers)
            return response
        } catch {
            var apiError = APIError(error)
            Self.apply(to: &apiError.headers)
            throw apiError
        }
    }

    static func apply(to headers: inout HTTPFields) {
        headers[.xContentTypeOptions] = "nosniff"
        if headers[.xFrameOptions] == nil { headers[.xFrameOptions] = "DENY" }
        headers[.referrerPolicy] = "no-referrer"
        if headers[.contentSecurityPolicy] == nil { headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'" }
    }
}

extension HTTPFields.Element.Name {
    static let xFrameOptions = HTTPFields.Element.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPFields.Element.Name("Referrer-Policy")!
}
