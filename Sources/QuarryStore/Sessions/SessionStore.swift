import Foundation
import QuarryCore

/// A conversation as stored: who owns it and how long it lives. Its turns are kept apart
/// (`SessionTurn`), appended one at a time.
public struct SessionRecord: Sendable, Hashable, Codable {
    /// The session's public id (`ses_` and 24 random base-32 characters).
    public var id: String
    /// The tenant it belongs to.
    public var tenant: String
    /// The key that created it; only that key (and the tenant's admins) may use it. `nil` for
    /// the local identity of a server without keys.
    public var keyID: String?
    /// The collection its questions go to when a query names none (the name the caller uses,
    /// not the store name).
    public var collection: String?
    /// When it was created.
    public var createdAt: Date
    /// When its last turn was added (its creation time before the first).
    public var updatedAt: Date
    /// When it expires; `nil` for never. Each turn pushes it forward by the configured TTL.
    public var expiresAt: Date?
    /// When it was archived: kept and readable, but takes no more turns. `nil` while open.
    public var archivedAt: Date?
    /// Turns recorded.
    public var turnCount: Int

    /// Creates a record.
    public init(
        id: String, tenant: String, keyID: String? = nil, collection: String? = nil, createdAt: Date = Date(),
        updatedAt: Date? = nil, expiresAt: Date? = nil, archivedAt: Date? = nil, turnCount: Int = 0
    ) {
        self.id = id
        self.tenant = tenant
        self.keyID = keyID
        self.collection = collection
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.expiresAt = expiresAt
        self.archivedAt = archivedAt
        self.turnCount = turnCount
    }

    /// Whether it has expired at `date`.
    public func isExpired(at date: Date) -> Bool {
        expiresAt.map { $0 <= date } ?? false
    }
}

/// A source an answer cited, as a turn keeps it.
public struct SessionCitation: Sendable, Hashable, Codable {
    /// The citation's number in the answer (`[2]`).
    public var id: Int
    /// The chunk's id.
    public var chunkID: String
    /// The document's path.
    public var document: String

    /// Creates a citation.
    public init(id: Int, chunkID: String, document: String) {
        self.id = id
        self.chunkID = chunkID
        self.document = document
    }

    enum CodingKeys: String, CodingKey {
        case id, document
        case chunkID = "chunk_id"
    }
}

/// One question and its answer in a session. Stored as JSON, in the shape the API returns.
public struct SessionTurn: Sendable, Hashable, Codable {
    /// Its place in the session, from 1.
    public var seq: Int
    /// When it was answered.
    public var at: Date
    /// The question as asked.
    public var question: String
    /// The standalone question retrieval used, when the follow-up was rewritten.
    public var standaloneQuestion: String?
    /// The answer given (the abstention text when the service abstained).
    public var answer: String
    /// Whether the service abstained.
    public var abstained: Bool
    /// The sources the answer was given.
    public var citations: [SessionCitation]
    /// Prompt tokens of the LLM calls (rewrite and answer); `nil` for none.
    public var promptTokens: Int?
    /// Completion tokens of the LLM calls; `nil` for none.
    public var completionTokens: Int?
    /// The model that answered; `nil` for an extractive answer.
    public var model: String?

    /// Creates a turn; the store gives it its `seq`.
    public init(
        seq: Int = 0, at: Date = Date(), question: String, standaloneQuestion: String? = nil, answer: String, abstained: Bool = false,
        citations: [SessionCitation] = [], promptTokens: Int? = nil, completionTokens: Int? = nil, model: String? = nil
    ) {
        self.seq = seq
        self.at = at
        self.question = question
        self.standaloneQuestion = standaloneQuestion
        self.answer = answer
        self.abstained = abstained
        self.citations = citations
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.model = model
    }

    enum CodingKeys: String, CodingKey {
        case seq, at, question, answer, abstained, citations, model
        case standaloneQuestion = "standalone_question"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
    }
}

/// A place in a listing of sessions (newest activity first): after the session `id` as it stood
/// at `updatedAt`.
///
/// A cursor with its place stays valid when its session gets a turn (and moves to the front) or
/// is deleted between two pages: the next page starts where the last one ended. A bare id (the
/// cursor of earlier versions) is placed where that session is now.
public struct SessionCursor: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The last session of the page before.
    public var id: String
    /// Its `updatedAt` when the page was read, in seconds since 1970, exactly as the store keeps
    /// it; `nil` to read it from the store.
    public var updatedAt: Double?

    /// A cursor after `id` at `updatedAt` (`nil`: where the session is now).
    public init(id: String, updatedAt: Double? = nil) {
        self.id = id
        self.updatedAt = updatedAt
    }

    /// The cursor after `session`, placed where it is now.
    public init(after session: SessionRecord) {
        self.init(id: session.id, updatedAt: session.updatedAt.timeIntervalSince1970)
    }

    /// A bare session id.
    public init(stringLiteral id: String) {
        self.init(id: id)
    }

    /// Reads `id` or `id.SECONDS` (what `description` writes); `nil` for anything else.
    public init?(parsing text: String, isID: (String) -> Bool) {
        guard let dot = text.firstIndex(of: ".") else {
            guard isID(text) else { return nil }
            self.init(id: text)
            return
        }
        let id = String(text[..<dot])
        guard isID(id), let seconds = Double(text[text.index(after: dot)...]), seconds.isFinite, seconds >= 0 else { return nil }
        self.init(id: id, updatedAt: seconds)
    }

    /// `id.SECONDS` (the shortest decimal that reads back as the same double), or the bare id.
    public var description: String {
        updatedAt.map { "\(id).\($0)" } ?? id
    }
}

/// Where conversations live: in the store, on both backends, so they survive a restart and
/// every node of a PostgreSQL deployment sees the same ones.
///
/// Every read and write names the tenant as well as the id: a session of another tenant is not
/// found, whatever its id. A session whose `expiresAt` has passed (by the store's clock) is as
/// good as gone before `pruneSessions` removes it: not read, not listed, takes no turns.
public protocol SessionStore: Sendable {
    /// Stores a new session.
    /// - Throws: `QuarryError(.conflict)` when the id is taken (by any tenant);
    ///   `.invalidRequest` for an empty id or tenant, or a `turnCount` other than 0; `.readOnly`
    ///   on a read-only store.
    func createSession(_ session: SessionRecord) async throws
    /// The session `id` of `tenant`; `nil` when there is none, it is another tenant's, or it has
    /// expired. An archived session is returned (with its `archivedAt`).
    func session(id: String, tenant: String) async throws -> SessionRecord?
    /// The tenant's sessions that have not expired, newest activity first (`updatedAt`, then id,
    /// both descending); only `keyID`'s when it is given. At most `limit`, after the place
    /// `after` names in that order (the cursor of the last session of the page before).
    /// - Throws: `QuarryError(.invalidRequest)` when `after` is a bare session id and the tenant
    ///   has no such session (deleted or pruned since its page was read): the listing starts again
    ///   rather than ending early. A cursor with its place needs no session.
    func listSessions(tenant: String, keyID: String?, limit: Int, after: SessionCursor?) async throws -> [SessionRecord]
    /// Appends a turn: it gets the next `seq`, and the session's `updatedAt`, `turnCount` and
    /// (when `expiresAt` is given) `expiresAt` move with it, in one transaction.
    /// - Returns: the turn as stored, with its `seq`.
    /// - Throws: `QuarryError(.notFound)` when the session is gone (or another tenant's, or
    ///   expired); `QuarryError(.conflict)` when it is archived; `.readOnly` on a read-only store.
    func appendTurn(_ turn: SessionTurn, session id: String, tenant: String, expiresAt: Date?) async throws -> SessionTurn
    /// The session's turns in order; only the last `last` when given. Empty when there is no such
    /// session (or it has expired).
    func turns(session id: String, tenant: String, last: Int?) async throws -> [SessionTurn]
    /// Archives the session: kept and readable, closed to new turns. Archiving it again keeps the
    /// first `archivedAt`.
    /// - Returns: whether there was such a session (an expired one is not archived).
    func archiveSession(id: String, tenant: String, at date: Date) async throws -> Bool
    /// Deletes the session and its turns.
    /// - Returns: whether there was such a session (an expired one is deleted, and `false`).
    func deleteSession(id: String, tenant: String) async throws -> Bool
    /// Deletes, over every tenant, the sessions expired at `now` and those archived before
    /// `archivedBefore` (when given), with their turns.
    /// - Returns: how many sessions were deleted.
    func pruneSessions(now: Date, archivedBefore: Date?) async throws -> Int
}

/// What both backends check and share.
enum SessionSQL {
    /// The select list, in the order `SessionRecord`s are read.
    static let select = "SELECT id, tenant, key_id, collection, created_at, updated_at, expires_at, archived_at, turn_count FROM quarry_sessions"

    /// Checks a new session before it reaches the store.
    static func validate(_ session: SessionRecord) throws {
        guard !session.id.isEmpty, !session.tenant.isEmpty else {
            throw QuarryError(.invalidRequest, "a session needs an id and a tenant")
        }
        // The next turn's seq is turn_count + 1: a new session starts at 0, or its seqs would skip.
        guard session.turnCount == 0 else {
            throw QuarryError(.invalidRequest, "a new session has no turns (turnCount \(session.turnCount)); turns are appended")
        }
    }

    /// A turn as stored: JSON in the API's shape, keys sorted, dates in seconds since 1970 (which
    /// keep fractions of a second; ISO 8601 text would drop them).
    static func encode(_ turn: SessionTurn) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .secondsSince1970
        do {
            return String(decoding: try encoder.encode(turn), as: UTF8.self)
        } catch {
            throw QuarryError(.invalidRequest, "the turn cannot be stored as JSON", underlying: error)
        }
    }

    /// A stored turn; its `seq` column is the one that counts.
    /// - Throws: `QuarryError(.storage)` when the record is not a turn (the store was edited by hand).
    static func decode(_ record: String, seq: Int, session id: String) throws -> SessionTurn {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        do {
            var turn = try decoder.decode(SessionTurn.self, from: Data(record.utf8))
            turn.seq = seq
            return turn
        } catch {
            throw QuarryError(.storage, "turn \(seq) of session '\(id)' is not a readable turn record", underlying: error)
        }
    }

    /// Checks that a turn may be appended to the session whose row the appending transaction
    /// read (and locked): `found` is whether the tenant has a session of that id.
    /// - Throws: `QuarryError(.notFound)` when there is none or it has expired at `now`;
    ///   `QuarryError(.conflict)` when it is archived.
    static func checkAppendable(id: String, found: Bool, archivedAt: Date?, expiresAt: Date?, now: Date) throws {
        guard found, !(expiresAt.map { $0 <= now } ?? false) else {
            throw QuarryError(.notFound, "session '\(id)' does not exist (or has expired)")
        }
        if archivedAt != nil { throw QuarryError(.conflict, "session '\(id)' is archived and takes no more turns") }
    }

    /// The error for a listing after a session that is no longer there (deleted or pruned since
    /// the previous page).
    static func missingCursor(_ id: String) -> QuarryError {
        QuarryError(.invalidRequest, "the session '\(id)' to list after is gone; list again from the first page")
    }

    /// The condition a session meets while it has not expired at the time bound to `parameter`.
    static func live(_ parameter: String) -> String {
        "(expires_at IS NULL OR expires_at > \(parameter))"
    }
}
