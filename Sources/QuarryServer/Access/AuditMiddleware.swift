import Foundation
import Hummingbird
import QuarryAccess

/// Records every state-changing request and every query in the audit log, after the route ran:
/// who (tenant, key id, role), what (method, route, collection, document), how it ended (ok,
/// denied, error; the status) and, for queries, the text as the log's query mode says. A record
/// waits only for room in the log's buffer, never for the store.
struct AuditMiddleware: RouterMiddleware {
    typealias Context = QuarryRequestContext
    let log: AuditLog
    let maxBodyBytes: Int

    /// Whether `request` is a query (`POST /query`, `/search`).
    static func isQuery(_ request: Request) -> Bool {
        request.method == .post && ["/query", "/search"].contains(request.uri.path)
    }

    /// Whether `request` is recorded: every state-changing request and every query.
    static func isAudited(_ request: Request) -> Bool {
        request.method != .get && request.method != .head || isQuery(request)
    }

    /// Records a request refused before any key was recognised (`401`): no principal, no query
    /// text (the body of an unauthenticated request is not read), the route as it was asked for.
    static func recordUnauthenticated(_ request: Request, _ context: Context, in log: AuditLog) async throws {
        guard isAudited(request) else { return }
        try await log.record(
            AuditRecord(
                requestID: context.id, principal: nil, method: request.method.rawValue, route: request.uri.path,
                collection: request.uri.queryParameters["collection"].map(String.init), documents: [], outcome: .denied,
                status: 401, query: nil, queryMode: log.queryMode
            )
        )
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let isQuery = Self.isQuery(request)
        guard Self.isAudited(request) else { return try await next(request, context) }
        var request = request
        var query: String?
        var collection = request.uri.queryParameters["collection"].map(String.init)
        if isQuery, let body = try? await request.collectBody(upTo: maxBodyBytes),
            let fields = try? JSONDecoder().decode(QueryFields.self, from: Data(body.readableBytesView))
        {
            query = fields.query
            collection = fields.collection ?? collection
        }
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            try await record(request, context, collection: collection, query: query, status: Int(APIError(error).status.code))
            throw error
        }
        try await record(request, context, collection: collection, query: query, status: Int(response.status.code))
        return response
    }

    private struct QueryFields: Decodable {
        var query: String?
        var collection: String?
    }

    private func record(_ request: Request, _ context: Context, collection: String?, query: String?, status: Int) async throws {
        let outcome: AuditRecord.Outcome = status < 400 ? .ok : [401, 403, 404, 429].contains(status) ? .denied : .error
        let document = request.uri.path.hasPrefix("/documents/") ? String(request.uri.path.dropFirst("/documents/".count)).removingPercentEncoding : nil
        try await log.record(
            AuditRecord(
                requestID: context.id, principal: context.identity, method: request.method.rawValue,
                route: context.endpointPath ?? request.uri.path, collection: collection, documents: document.map { [$0] } ?? [],
                outcome: outcome, status: status, query: query, queryMode: log.queryMode
            )
        )
    }
}
