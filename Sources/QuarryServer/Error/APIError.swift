import Foundation
import Hummingbird
import QuarryAccess
import QuarryCore
import QuarryEmbedding
import QuarryHNSW
import QuarryKernels
import QuarryRetrieval

/// An error as the HTTP API reports it: a status and a JSON body
/// `{"error": {"code": "...", "message": "..."}}`.
///
/// Domain errors (`QuarryError`) become `APIError`s here, at the HTTP edge, and nowhere else.
public struct APIError: Error, HTTPResponseError, Sendable {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// The stable error code of the body.
    public var code: String
    /// The human-readable message of the body.
    public var message: String
    /// For a 429: which limit (`rate`, `monthly_tokens`, …), in the body's `error.limit`.
    public var limit: String?
    /// Fields the response carries besides the body (`Retry-After`, `RateLimit`, …).
    public var headers: HTTPFields = [:]

    /// Creates an API error.
    public init(status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// Maps any error thrown below the HTTP edge to the status and body a client should see: the
    /// one place where every library's error type (`QuarryError`, `HNSWError`,
    /// `KernelError`, `ChatError`, decoding errors) meets an HTTP status. Anything else becomes a
    /// 500 with a generic message, so internal details do not leak.
    public init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as QuarryError:
            self.init(status: Self.status(for: error.code), code: error.code.rawValue, message: error.clientMessage)
            if let exceeded = LimitExceeded.find(in: error) {
                limit = exceeded.limit.rawValue
                for field in RateLimitHeaders.fields(for: exceeded) {
                    if let name = HTTPFields.Element.Name(field.name) { headers[name] = field.value }
                }
            }
        case let error as HNSWError:
            let code: QuarryError.Code = error.code == .invalidArgument ? .invalidRequest : .storage
            self.init(status: Self.status(for: code), code: code.rawValue, message: error.message)
        case let error as KernelError:
            self.init(status: .badRequest, code: QuarryError.Code.invalidRequest.rawValue, message: error.message)
        case let error as ChatError:
            self.init(status: .serviceUnavailable, code: QuarryError.Code.llmUnavailable.rawValue, message: error.message)
        case is DecodingError:
            self.init(status: .badRequest, code: QuarryError.Code.invalidRequest.rawValue, message: "the request body is not valid JSON for this route")
        case is CancellationError:
            self.init(status: .serviceUnavailable, code: QuarryError.Code.unavailable.rawValue, message: "the request was cancelled")
        case let error as HTTPError:
            self.init(status: error.status, code: Self.code(for: error.status), message: error.body ?? error.status.reasonPhrase)
        case let error as any HTTPResponseError:
            self.init(status: error.status, code: Self.code(for: error.status), message: error.status.reasonPhrase)
        default:
            self.init(status: .internalServerError, code: QuarryError.Code.internal.rawValue, message: "internal error")
        }
    }

    static func status(for code: QuarryError.Code) -> HTTPResponse.Status {
        switch code {
        case .invalidRequest: .badRequest
        case .notFound: .notFound
        case .conflict: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .unreadableInput: .unprocessableContent
        case .forbidden: .forbidden
        case .unauthenticated: .unauthorized
        case .rateLimited: .tooManyRequests
        case .embedding, .modelMissing, .modelCorrupt, .storage, .llmUnavailable, .unavailable, .shuttingDown, .readOnly:
            .serviceUnavailable
        case .internal: .internalServerError
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: QuarryError.Code.invalidRequest.rawValue
        case 404: QuarryError.Code.notFound.rawValue
        case 405: "method_not_allowed"
        case 401: QuarryError.Code.unauthenticated.rawValue
        case 403: QuarryError.Code.forbidden.rawValue
        case 429: QuarryError.Code.rateLimited.rawValue
        case 409: QuarryError.Code.conflict.rawValue
        case 413: QuarryError.Code.payloadTooLarge.rawValue
        case 422: QuarryError.Code.unreadableInput.rawValue
        case 500...: QuarryError.Code.internal.rawValue
        default: "http_\(status.code)"
        }
    }

    /// The JSON body of an error: `{"error": {"code", "message"}, "request_id"}`.
    struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
            var limit: String?
        }
        var error: Detail
        var requestID: String

        enum CodingKeys: String, CodingKey {
            case error
            case requestID = "request_id"
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(Body(error: .init(code: code, message: message, limit: limit), requestID: context.id))
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        // RFC 6750: a 401 names the scheme the caller should use.
        if status == .unauthorized { headers[.wwwAuthenticate] = #"Bearer realm="quarry""# }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
