import Foundation
import Hummingbird
import QuarryAccess
import QuarryCore
import QuarryStore

/// The body of `POST /sessions` (may be empty).
struct CreateSessionBody: Decodable {
    /// The collection the session's questions go to when a query names none.
    var collection: String?
}

/// A session as the API shows it (with its turns when one session is read).
struct SessionBody: Encodable {
    var id: String
    var collection: String?
    var keyID: String?
    var createdAt: Date
    var updatedAt: Date
    var expiresAt: Date?
    var archivedAt: Date?
    var turnCount: Int
    var turns: [SessionTurn]?

    init(_ record: SessionRecord, turns: [SessionTurn]? = nil) {
        id = record.id
        collection = record.collection
        keyID = record.keyID
        createdAt = record.createdAt
        updatedAt = record.updatedAt
        expiresAt = record.expiresAt
        archivedAt = record.archivedAt
        turnCount = record.turnCount
        self.turns = turns
    }

    enum CodingKeys: String, CodingKey {
        case id, collection, turns
        case keyID = "key_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case expiresAt = "expires_at"
        case archivedAt = "archived_at"
        case turnCount = "turn_count"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(collection, forKey: .collection)
        try c.encode(keyID, forKey: .keyID)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(expiresAt, forKey: .expiresAt)
        try c.encode(archivedAt, forKey: .archivedAt)
        try c.encode(turnCount, forKey: .turnCount)
        try c.encodeIfPresent(turns, forKey: .turns)
    }
}

/// `POST /sessions`, `GET /sessions`, `GET /sessions/{id}`, `DELETE /sessions/{id}`,
/// `POST /sessions/{id}/archive`. Questions are asked in a session with `session_id` on
/// `POST /query`.
struct SessionRoutes: Sendable {
    let conversations: Conversations
    let maxBodyBytes: Int

    /// Sessions one page of `GET /sessions` holds by default, and at most.
    static let defaultLimit = 50
    static let maxLimit = 500

    func register(on router: Router<QuarryRequestContext>) {
        router.post("/sessions") { request, context in
            let principal = try context.principal(for: .read)
            let body = try await Self.optionalBody(request, limit: maxBodyBytes)
            if let collection = body?.collection { try CollectionName.validate(collection) }
            let session = try await conversations.create(collection: body?.collection, for: principal)
            return try JSON.response(SessionBody(session, turns: []), status: .created)
        }
        router.get("/sessions") { request, context in
            let principal = try context.principal(for: .read)
            let query = request.uri.queryParameters
            let limit = try AdminRoutes.integer(query["limit"], name: "limit", default: Self.defaultLimit, range: 1...Self.maxLimit)
            var after: SessionCursor?
            if let text = query["after"].map(String.init) {
                guard let cursor = SessionCursor(parsing: text, isID: Conversations.isWellFormed) else {
                    throw QuarryError(.invalidRequest, "after must be the next_after of the previous page (or a session id, ses_…)")
                }
                after = cursor
            }
            let key = query["key"].map(String.init)
            let sessions = try await conversations.list(for: principal, keyID: key, limit: limit + 1, after: after)
            let page = sessions.prefix(limit)
            // The last session's place as well as its id: a turn that moves it to the front (or
            // its deletion) before the next page is read does not move the next page.
            let next = sessions.count > limit ? page.last.map { SessionCursor(after: $0).description } : nil
            return try JSON.response(SessionList(sessions: page.map { SessionBody($0) }, nextAfter: next))
        }
        router.get("/sessions/{id}") { _, context in
            let principal = try context.principal(for: .read)
            let session = try await conversations.session(try context.parameters.require("id"), for: principal)
            return try JSON.response(SessionBody(session, turns: try await conversations.turns(of: session)))
        }
        router.delete("/sessions/{id}") { _, context in
            let principal = try context.principal(for: .read)
            try await conversations.delete(try context.parameters.require("id"), for: principal)
            return Response(status: .noContent)
        }
        router.post("/sessions/{id}/archive") { _, context in
            let principal = try context.principal(for: .read)
            let session = try await conversations.archive(try context.parameters.require("id"), for: principal)
            return try JSON.response(SessionBody(session))
        }
    }

    /// A page of sessions.
    struct SessionList: Encodable {
        var sessions: [SessionBody]
        var nextAfter: String?

        enum CodingKeys: String, CodingKey {
            case sessions
            case nextAfter = "next_after"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(sessions, forKey: .sessions)
            try c.encode(nextAfter, forKey: .nextAfter)
        }
    }

    /// The body of `POST /sessions`, which may be empty or absent.
    private static func optionalBody(_ request: Request, limit: Int) async throws -> CreateSessionBody? {
        let buffer = try await JSON.body(of: request, limit: limit)
        guard buffer.readableBytes > 0 else { return nil }
        try JSON.requireJSONContentType(request)
        do {
            return try JSONDecoder().decode(CreateSessionBody.self, from: Data(buffer.readableBytesView))
        } catch {
            throw QuarryError(.invalidRequest, "the body of POST /sessions must be a JSON object such as {\"collection\": \"docs\"}, or empty")
        }
    }
}
