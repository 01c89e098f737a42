import Foundation
import QuarryAccess
import QuarryCore
import QuarryRetrieval
import QuarryStore

/// Sessions over HTTP: who may see which, how long they live, and what a follow-up reads of the
/// turns before it.
///
/// A session belongs to the tenant and the key that made it: another key of the tenant gets a
/// 404 for it (as for an id that does not exist), except the tenant's admins, who may read and
/// delete their tenant's sessions. The local identity (a server without keys) owns the sessions
/// it makes with no key.
public struct Conversations: Sendable {
    /// Where sessions and turns are kept.
    public let store: any SessionStore
    /// How long a session lives after its last turn.
    public let ttl: Duration
    /// Earlier turns a follow-up reads.
    public let historyTurns: Int
    /// Makes follow-ups standalone; `nil` searches questions as asked.
    public let rewriter: (any FollowUpRewriter)?
    /// Whether `rewriter` calls a chat model (which budgets then govern).
    public var rewritesWithModel: Bool { rewriter is LLMRewriter }

    /// Creates the service.
    public init(store: any SessionStore, ttl: Duration = .seconds(7 * 86_400), historyTurns: Int = 8, rewriter: (any FollowUpRewriter)?) {
        self.store = store
        self.ttl = ttl
        self.historyTurns = historyTurns
        self.rewriter = rewriter
    }

    /// A new session id: `ses_` and 24 characters of base 32 (120 random bits).
    static func newID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var generator = SystemRandomNumberGenerator()
        return "ses_" + String((0..<24).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] })
    }

    /// When a session touched at `date` expires.
    func expiry(after date: Date) -> Date {
        date.addingTimeInterval(Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18)
    }

    /// Starts a session for `principal`.
    /// - Parameter collection: the collection its questions go to when a query names none (the
    ///   caller's name for it); checked against the key's collections.
    public func create(collection: String?, for principal: Principal, at date: Date = Date()) async throws -> SessionRecord {
        if let collection { _ = try principal.storeName(of: collection) }
        let record = SessionRecord(
            id: Self.newID(), tenant: principal.tenant, keyID: principal.keyID, collection: collection, createdAt: date,
            expiresAt: expiry(after: date)
        )
        try await store.createSession(record)
        return record
    }

    /// The session `id` if `principal` may see it.
    /// - Throws: `QuarryError(.notFound)` when there is none, it expired, or it is another key's
    ///   (and the caller is not an admin of the tenant).
    public func session(_ id: String, for principal: Principal) async throws -> SessionRecord {
        guard Self.isWellFormed(id), let record = try await store.session(id: id, tenant: principal.tenant),
            record.keyID == principal.keyID || principal.role >= .admin
        else {
            throw QuarryError(.notFound, "no session '\(Self.shown(id))' (it may have expired or been deleted)")
        }
        return record
    }

    /// The sessions `principal` may see: its own; an admin's `keyID` picks another key's (`nil`:
    /// every key's of the tenant).
    public func list(for principal: Principal, keyID: String?, limit: Int, after: SessionCursor?) async throws -> [SessionRecord] {
        let owner = principal.role >= .admin ? keyID : principal.keyID
        if principal.role < .admin, let keyID, keyID != principal.keyID {
            throw QuarryError(.forbidden, "only an admin may list another key's sessions")
        }
        return try await store.listSessions(tenant: principal.tenant, keyID: owner, limit: limit, after: after)
    }

    /// The session's turns, oldest first (only the last `last` when given).
    public func turns(of session: SessionRecord, last: Int? = nil) async throws -> [SessionTurn] {
        try await store.turns(session: session.id, tenant: session.tenant, last: last)
    }

    /// Deletes a session `principal` may see.
    public func delete(_ id: String, for principal: Principal) async throws {
        let record = try await session(id, for: principal)
        guard try await store.deleteSession(id: record.id, tenant: record.tenant) else {
            throw QuarryError(.notFound, "no session '\(Self.shown(id))'")
        }
    }

    /// Archives a session `principal` may see: kept and readable, closed to new turns.
    public func archive(_ id: String, for principal: Principal, at date: Date = Date()) async throws -> SessionRecord {
        let record = try await session(id, for: principal)
        _ = try await store.archiveSession(id: record.id, tenant: record.tenant, at: date)
        return try await session(id, for: principal)
    }

    /// What a question asked in `session` reads before retrieval: the session, after checking
    /// that it takes turns, and the question made standalone from its latest turns.
    /// - Parameter useModel: whether the rewriter may call its chat model; when not (a budget is
    ///   used up), an LLM rewriter's deterministic fallback rewrites instead.
    public func prepare(_ question: String, in session: SessionRecord, useModel: Bool = true) async throws -> (history: Int, rewrite: FollowUpRewrite?) {
        guard session.archivedAt == nil else {
            throw QuarryError(.conflict, "session '\(session.id)' is archived: it can be read, not continued; start a new one")
        }
        guard let rewriter else { return (0, nil) }
        guard historyTurns > 0, session.turnCount > 0 else {
            // Nothing before it: the question stands as asked (and the answer says so).
            return (0, FollowUpRewrite(question: question, standalone: question, method: .none))
        }
        let turns = try await store.turns(session: session.id, tenant: session.tenant, last: historyTurns)
        let history = turns.map { ConversationTurn(question: $0.question, standalone: $0.standaloneQuestion, answer: $0.answer) }
        if !useModel, let llm = rewriter as? LLMRewriter {
            var rewrite = try await llm.fallback.rewrite(question, history: history)
            rewrite.fallback = "a token budget is used up: rewritten without the chat model"
            return (history.count, rewrite)
        }
        return (history.count, try await rewriter.rewrite(question, history: history))
    }

    /// The session `id` if `principal` may ask in it: only the key that started it (an admin
    /// may read another key's session, not speak in it: its answers would draw on documents
    /// the owner may not see, and the owner would read them).
    /// - Throws: `QuarryError(.notFound)` as `session(_:for:)` does, also for another key's.
    public func sessionToContinue(_ id: String, for principal: Principal) async throws -> SessionRecord {
        let record = try await session(id, for: principal)
        guard record.keyID == principal.keyID else {
            throw QuarryError(.notFound, "no session '\(Self.shown(id))' of this key (it may have expired or been deleted)")
        }
        return record
    }

    /// Records a turn and moves the session's expiry.
    public func record(_ turn: SessionTurn, in session: SessionRecord) async throws -> SessionTurn {
        try await store.appendTurn(turn, session: session.id, tenant: session.tenant, expiresAt: expiry(after: turn.at))
    }

    /// Whether `id` has the shape of a session id (anything else is not looked up).
    static func isWellFormed(_ id: String) -> Bool {
        id.utf8.count <= 64 && id.hasPrefix("ses_") && id.utf8.dropFirst(4).allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }
    }

    /// `id` as an error message may show it (a caller's text, cut short).
    static func shown(_ id: String) -> String {
        id.count > 64 ? String(id.prefix(64)) + "…" : id
    }
}
