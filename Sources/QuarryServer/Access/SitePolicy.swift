import Foundation
import Hummingbird

/// Which sites may talk to the server: the `Host` names it answers to (a defence against DNS
/// rebinding, where a web page's own name comes to point at this server) and the web origins
/// allowed to call it from a browser (CORS, off unless configured).
public struct SitePolicy: Sendable, Equatable {
    /// Host names (optionally `name:port`) requests may carry in `Host`; `["*"]` for any.
    public var allowedHosts: [String]
    /// Origins (`https://app.example.com`) whose pages may call the API from a browser;
    /// `["*"]` for any; empty turns CORS off.
    public var corsOrigins: [String]

    /// A policy; see `resolved(listeningOn:)` for what an empty host list means.
    public init(allowedHosts: [String] = [], corsOrigins: [String] = []) {
        self.allowedHosts = allowedHosts
        self.corsOrigins = corsOrigins
    }

    /// The policy as served on `host`: with no host names configured, a server on loopback
    /// answers only to loopback names (`localhost`, `127.0.0.1`, `[::1]`), and one on any other
    /// address to any name (it cannot know the names it is reached by: configure them).
    public func resolved(listeningOn host: String) -> SitePolicy {
        guard allowedHosts.isEmpty else { return self }
        var policy = self
        policy.allowedHosts = Self.isLoopback(host) ? ["localhost", "127.0.0.1", "[::1]", host] : ["*"]
        return policy
    }

    /// Whether `host` (an address to listen on) is the loopback interface.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Whether the `Host` value `authority` (`name` or `name:port`) is allowed.
    func allows(host authority: String) -> Bool {
        if allowedHosts.contains("*") { return true }
        let (name, port) = Self.split(authority.lowercased())
        return allowedHosts.contains { entry in
            let (allowedName, allowedPort) = Self.split(entry.lowercased())
            return allowedName == name && (allowedPort == nil || allowedPort == port)
        }
    }

    /// Whether pages of `origin` may call the API (CORS).
    func allowsCORS(from origin: String) -> Bool {
        corsOrigins.contains("*") || corsOrigins.contains { $0.lowercased() == origin.lowercased() }
    }

    /// `name` and `port` of `host[:port]`, IPv6 literals in brackets kept whole.
    static func split(_ authority: String) -> (name: String, port: String?) {
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
            let name = String(authority[...end])
            let rest = authority[authority.index(after: end)...]
            return (name, rest.hasPrefix(":") ? String(rest.dropFirst()) : nil)
        }
        // A bare IPv6 literal has several colons and no port.
        if authority.filter({ $0 == ":" }).count > 1 { return ("[\(authority)]", nil) }
        if let colon = authority.lastIndex(of: ":") {
            return (String(authority[..<colon]), String(authority[authority.index(after: colon)...]))
        }
        return (authority, nil)
    }

    /// `host[:port]` of an origin (`scheme://host[:port]`), `nil` for `null` or a malformed one.
    static func authority(ofOrigin origin: String) -> String? {
        guard let range = origin.range(of: "://") else { return nil }
        let rest = origin[range.upperBound...]
        guard !rest.isEmpty, !rest.contains("/") else { return nil }
        return String(rest).lowercased()
    }
}

/// Applies the `SitePolicy` before anything else runs: a request whose `Host` is not allowed is
/// refused (421 Misdirected Request), a browser request from another origin that is not allowed
/// is refused (403), and allowed cross-origin requests get CORS headers (preflights answered
/// here, without a key, as browsers send none).
struct SiteMiddleware: RouterMiddleware {
    typealias Context = QuarryRequestContext
    let policy: SitePolicy

    static let exposedHeaders = "Retry-After, RateLimit, RateLimit-Policy, X-Request-ID"
    static let allowedMethods = "GET, POST, DELETE"
    static let allowedHeaders = "Authorization, Content-Type, X-Request-ID"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let host = request.head.authority
        if let host, !policy.allows(host: host) {
            throw APIError(
                status: .misdirectedRequest, code: "host_not_allowed",
                message: "this server does not answer to the host name \(Self.printable(host)); add it to server.allowed_hosts"
            )
        }
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        let sameOrigin = host.map { SitePolicy.authority(ofOrigin: origin) == $0.lowercased() } ?? false
        let cors = policy.allowsCORS(from: origin)
        guard sameOrigin || cors else {
            throw APIError(
                status: .forbidden, code: "origin_not_allowed",
                message: "requests from pages of \(Self.printable(origin)) are not allowed; add the origin to server.cors_origins"
            )
        }
        // A CORS preflight: answer it here, before authentication (browsers send no key with it).
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers = corsHeaders(origin: origin)
            headers[.accessControlAllowMethods] = Self.allowedMethods
            headers[.accessControlAllowHeaders] = Self.allowedHeaders
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Errors carry the CORS headers too, so the page can read why it was refused.
            var apiError = APIError(error)
            if cors { for field in corsHeaders(origin: origin) { apiError.headers[field.name] = field.value } }
            throw apiError
        }
        if cors { for field in corsHeaders(origin: origin) { response.headers[field.name] = field.value } }
        return response
    }

    private func corsHeaders(origin: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.accessControlAllowOrigin] = origin
        headers[.vary] = "Origin"
        headers[.accessControlExposeHeaders] = Self.exposedHeaders
        return headers
    }

    /// A header value as it may appear in a message: short and without control characters.
    static func printable(_ value: String) -> String {
        let clean = String(value.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(100).map(Character.init))
        return "'\(clean)'"
    }
}
