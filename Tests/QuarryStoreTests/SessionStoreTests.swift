import Foundation
import QuarryCore
import QuarryStore
import QuarryTestSupport
import Testing

/// Conversations in both stores: what is stored is what is read, by id, by page and after a
/// reopen; turns get consecutive seqs however many connections append at once; another tenant's
/// session, an expired one and an archived one behave as their documentation says.
@Suite struct SessionStoreTests {
    /// A fixed time with an exact binary fraction, so it survives the trip through a REAL column
    /// and JSON unchanged.
    static let base = Date(timeIntervalSince1970: 1_790_000_000.25)
    /// An hour from now, in whole seconds (a time stored as seconds since 1970 comes back equal):
    /// a session that is live whenever the test runs.
    static var later: Date { Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 3_600).rounded()) }
    /// An hour ago: a session that has expired.
    static var earlier: Date { Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3_600).rounded()) }

    static func turn(_ question: String, at offset: TimeInterval = 0) -> SessionTurn {
        SessionTurn(at: base.addingTimeInterval(offset), question: question, answer: "answer to \(question)")
    }

    /// Runs `body` and expects it to throw a `QuarryError` with `code`.
    static func expectError(_ code: QuarryError.Code, _ what: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("\(what) did not throw")
        } catch let error as QuarryError {
            #expect(error.code == code, "\(what): \(error)")
        } catch {
            Issue.record("\(what) threw \(error)")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func sessionsAreStoredReadAndListedByPage(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        // Updated at 0, 10, 10, 20 and 30 seconds after `base`: two share a time, so the id breaks the tie.
        let sessions = [
            SessionRecord(id: "ses_a", tenant: "acme", keyID: "k1", collection: "docs", createdAt: Self.base, expiresAt: Self.later),
            SessionRecord(id: "ses_b", tenant: "acme", keyID: "k2", createdAt: Self.base, updatedAt: Self.base.addingTimeInterval(10)),
            SessionRecord(id: "ses_c", tenant: "acme", keyID: "k1", createdAt: Self.base, updatedAt: Self.base.addingTimeInterval(10)),
            SessionRecord(id: "ses_d", tenant: "acme", createdAt: Self.base, updatedAt: Self.base.addingTimeInterval(20)),
            SessionRecord(id: "ses_e", tenant: "acme", keyID: "k1", createdAt: Self.base, updatedAt: Self.base.addingTimeInterval(30)),
        ]
        for session in sessions { try await store.createSession(session) }
        #expect(try await store.session(id: "ses_a", tenant: "acme") == sessions[0])
        #expect(try await store.session(id: "ses_d", tenant: "acme") == sessions[3])
        #expect(try await store.session(id: "ses_z", tenant: "acme") == nil)

        // Newest activity first, id descending among equals, two at a time.
        var pages: [[String]] = []
        var after: SessionCursor?
        repeat {
            let page = try await store.listSessions(tenant: "acme", keyID: nil, limit: 2, after: after)
            pages.append(page.map(\.id))
            after = page.count == 2 ? page.last.map(SessionCursor.init(after:)) : nil
        } while after != nil
        #expect(pages == [["ses_e", "ses_d"], ["ses_c", "ses_b"], ["ses_a"]])
        #expect(try await store.listSessions(tenant: "acme", keyID: nil, limit: 10, after: nil) == Array(sessions.reversed()))
        #expect(try await store.listSessions(tenant: "acme", keyID: "k1", limit: 10, after: nil).map(\.id) == ["ses_e", "ses_c", "ses_a"])
        #expect(try await store.listSessions(tenant: "acme", keyID: "k1", limit: 1, after: "ses_e").map(\.id) == ["ses_c"])
        #expect(try await store.listSessions(tenant: "acme", keyID: "k3", limit: 10, after: nil).isEmpty)
        #expect(try await store.listSessions(tenant: "acme", keyID: nil, limit: 0, after: nil).isEmpty)

        await Self.expectError(.conflict, "a second session with a taken id") {
            try await store.createSession(SessionRecord(id: "ses_a", tenant: "globex"))
        }
        await Self.expectError(.invalidRequest, "a new session with turns") {
            try await store.createSession(SessionRecord(id: "ses_f", tenant: "acme", turnCount: 3))
        }
        // A cursor with its place goes on from there whatever became of its session since: a turn
        // that moved it to the front, or its deletion.
        let afterD = SessionCursor(after: sessions[3])
        _ = try await store.appendTurn(Self.turn("moves ses_d to the front", at: 100), session: "ses_d", tenant: "acme", expiresAt: nil)
        #expect(try await store.listSessions(tenant: "acme", keyID: nil, limit: 10, after: nil).first?.id == "ses_d")
        #expect(try await store.listSessions(tenant: "acme", keyID: nil, limit: 2, after: afterD).map(\.id) == ["ses_c", "ses_b"])
        let afterC = SessionCursor(after: sessions[2])
        #expect(try await store.deleteSession(id: "ses_c", tenant: "acme"))
        #expect(try await store.listSessions(tenant: "acme", keyID: nil, limit: 2, after: afterC).map(\.id) == ["ses_b", "ses_a"])
        // A bare id deleted since its page was read: refused, not an empty page that looks like the end.
        await Self.expectError(.invalidRequest, "a listing after a deleted session") {
            _ = try await store.listSessions(tenant: "acme", keyID: nil, limit: 2, after: "ses_c")
        }
        // The cursor's text reads back as the same place, to the last bit of the stored time.
        let odd = SessionRecord(id: "ses_f", tenant: "acme", createdAt: Self.base, updatedAt: Self.base.addingTimeInterval(50.123_456_7))
        try await store.createSession(odd)
        let stored = try #require(try await store.session(id: "ses_f", tenant: "acme"))
        let text = SessionCursor(after: stored).description
        let parsed = try #require(SessionCursor(parsing: text, isID: { $0.hasPrefix("ses_") }))
        #expect(parsed == SessionCursor(after: stored) && parsed.id == "ses_f", "\(text)")
        #expect(try await store.listSessions(tenant: "acme", keyID: nil, limit: 10, after: nil).map(\.id) == ["ses_d", "ses_f", "ses_e", "ses_b", "ses_a"])
        #expect(try await store.listSessions(tenant: "acme", keyID: nil, limit: 1, after: parsed).map(\.id) == ["ses_e"], "neither ses_f again nor one skipped")
        for bad in ["", "ses_f.", "ses_f.x", "ses_f.-1", "ses_f.nan", "ses_f.inf", "other.5"] {
            #expect(SessionCursor(parsing: bad, isID: { $0.hasPrefix("ses_") && $0.count > 4 }) == nil, "\(bad)")
        }
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func anotherTenantsSessionIsNotFound(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        try await store.createSession(SessionRecord(id: "ses_a", tenant: "acme", keyID: "k1", createdAt: Self.base))
        _ = try await store.appendTurn(Self.turn("first"), session: "ses_a", tenant: "acme", expiresAt: nil)

        #expect(try await store.session(id: "ses_a", tenant: "globex") == nil)
        #expect(try await store.listSessions(tenant: "globex", keyID: nil, limit: 10, after: nil).isEmpty)
        #expect(try await store.turns(session: "ses_a", tenant: "globex", last: nil).isEmpty)
        await Self.expectError(.notFound, "another tenant's append") {
            _ = try await store.appendTurn(Self.turn("intruder"), session: "ses_a", tenant: "globex", expiresAt: nil)
        }
        // Another tenant's id is no cursor either: nothing about acme's order shows through.
        await Self.expectError(.invalidRequest, "another tenant's session as a cursor") {
            _ = try await store.listSessions(tenant: "globex", keyID: nil, limit: 10, after: "ses_a")
        }
        #expect(try await store.archiveSession(id: "ses_a", tenant: "globex", at: Self.base) == false)
        #expect(try await store.deleteSession(id: "ses_a", tenant: "globex") == false)

        // acme's session is as it was.
        let kept = try #require(try await store.session(id: "ses_a", tenant: "acme"))
        #expect(kept.turnCount == 1 && kept.archivedAt == nil)
        #expect(try await store.turns(session: "ses_a", tenant: "acme", last: nil).map(\.question) == ["first"])
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func turnsAreNumberedInOrderAndReadAsWritten(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        let expiry = Self.later
        try await store.createSession(SessionRecord(id: "ses_a", tenant: "acme", createdAt: Self.base, expiresAt: expiry))
        // Every field set, with text JSON must escape, and a time with a fraction of a second.
        let full = SessionTurn(
            seq: 99, at: Self.base.addingTimeInterval(1.5), question: "What does \"WAL\" mean?\n/slashes/ and ünïcödé",
            standaloneQuestion: "What does write-ahead logging mean in SQLite?", answer: "Write-ahead logging [1].", abstained: false,
            citations: [SessionCitation(id: 1, chunkID: "wal.md#0", document: "wal.md"), SessionCitation(id: 2, chunkID: "x#3", document: "x")],
            promptTokens: 812, completionTokens: 45, model: "gpt-test"
        )
        let first = try await store.appendTurn(full, session: "ses_a", tenant: "acme", expiresAt: nil)
        var expected = full
        expected.seq = 1
        #expect(first == expected)
        let abstained = SessionTurn(at: Self.base.addingTimeInterval(2), question: "And the moon?", answer: "I don't know.", abstained: true)
        #expect(try await store.appendTurn(abstained, session: "ses_a", tenant: "acme", expiresAt: nil).seq == 2)
        let pushed = expiry.addingTimeInterval(600)
        #expect(try await store.appendTurn(Self.turn("third", at: 3), session: "ses_a", tenant: "acme", expiresAt: pushed).seq == 3)

        let turns = try await store.turns(session: "ses_a", tenant: "acme", last: nil)
        #expect(turns.map(\.seq) == [1, 2, 3])
        #expect(turns.first == expected)
        #expect(turns[1].abstained && turns[1].citations.isEmpty && turns[1].promptTokens == nil && turns[1].model == nil)
        #expect(try await store.turns(session: "ses_a", tenant: "acme", last: 2).map(\.seq) == [2, 3])
        #expect(try await store.turns(session: "ses_a", tenant: "acme", last: 10).map(\.seq) == [1, 2, 3])
        #expect(try await store.turns(session: "ses_a", tenant: "acme", last: 0).isEmpty)

        let session = try #require(try await store.session(id: "ses_a", tenant: "acme"))
        #expect(session.turnCount == 3)
        #expect(session.updatedAt == Self.base.addingTimeInterval(3))
        #expect(session.expiresAt == pushed)
        // A turn stamped earlier than the last one does not move updatedAt back.
        _ = try await store.appendTurn(Self.turn("late", at: -100), session: "ses_a", tenant: "acme", expiresAt: nil)
        #expect(try await store.session(id: "ses_a", tenant: "acme")?.updatedAt == Self.base.addingTimeInterval(3))
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func concurrentAppendsFromTwoConnectionsGetConsecutiveSeqs(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        // Two handles on the same store: two processes, or two nodes of a PostgreSQL deployment.
        let first = try await fixture.open()
        let second = try await fixture.open()
        try await first.createSession(SessionRecord(id: "ses_a", tenant: "acme", createdAt: Self.base))
        // Eight writers of ten turns each: no more at once than a handle has connections.
        let writers = 8
        let perWriter = 10
        let seqs = try await withThrowingTaskGroup(of: [Int].self) { group in
            for writer in 0..<writers {
                let store = writer.isMultiple(of: 2) ? first : second
                group.addTask {
                    var seqs: [Int] = []
                    for index in 0..<perWriter {
                        let turn = Self.turn("w\(writer)-\(index)", at: Double(index))
                        seqs.append(try await store.appendTurn(turn, session: "ses_a", tenant: "acme", expiresAt: nil).seq)
                    }
                    return seqs
                }
            }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        let total = writers * perWriter
        #expect(seqs.sorted() == Array(1...total))
        let turns = try await second.turns(session: "ses_a", tenant: "acme", last: nil)
        #expect(turns.map(\.seq) == Array(1...total))
        let expectedQuestions = Set((0..<writers).flatMap { writer in (0..<perWriter).map { "w\(writer)-\($0)" } })
        #expect(Set(turns.map(\.question)) == expectedQuestions)
        // Each writer's turns are in the order it appended them.
        for writer in 0..<writers {
            let mine = turns.filter { $0.question.hasPrefix("w\(writer)-") }.map(\.question)
            #expect(mine == (0..<perWriter).map { "w\(writer)-\($0)" })
        }
        #expect(try await first.session(id: "ses_a", tenant: "acme")?.turnCount == total)
        await first.close()
        await second.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func anArchivedSessionIsReadableButTakesNoTurns(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        try await store.createSession(SessionRecord(id: "ses_a", tenant: "acme", createdAt: Self.base))
        _ = try await store.appendTurn(Self.turn("first"), session: "ses_a", tenant: "acme", expiresAt: nil)
        let archivedAt = Self.base.addingTimeInterval(60)
        #expect(try await store.archiveSession(id: "ses_a", tenant: "acme", at: archivedAt))
        await Self.expectError(.conflict, "a turn for an archived session") {
            _ = try await store.appendTurn(Self.turn("second"), session: "ses_a", tenant: "acme", expiresAt: nil)
        }
        // Archiving again keeps the first time.
        #expect(try await store.archiveSession(id: "ses_a", tenant: "acme", at: archivedAt.addingTimeInterval(60)))
        let session = try #require(try await store.session(id: "ses_a", tenant: "acme"))
        #expect(session.archivedAt == archivedAt)
        #expect(session.turnCount == 1)
        #expect(try await store.turns(session: "ses_a", tenant: "acme", last: nil).map(\.question) == ["first"])
        #expect(try await store.listSessions(tenant: "acme", keyID: nil, limit: 10, after: nil).map(\.id) == ["ses_a"])
        #expect(try await store.archiveSession(id: "ses_z", tenant: "acme", at: archivedAt) == false)
        await Self.expectError(.notFound, "a turn for a missing session") {
            _ = try await store.appendTurn(Self.turn("x"), session: "ses_z", tenant: "acme", expiresAt: nil)
        }
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func anExpiredSessionIsGoneAndPruned(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        let now = Date()
        try await store.createSession(SessionRecord(id: "ses_live", tenant: "acme", createdAt: Self.base, expiresAt: Self.later))
        try await store.createSession(SessionRecord(id: "ses_forever", tenant: "acme", createdAt: Self.base))
        try await store.createSession(SessionRecord(id: "ses_expired", tenant: "acme", createdAt: Self.base, expiresAt: Self.later))
        try await store.createSession(SessionRecord(id: "ses_old", tenant: "globex", createdAt: Self.base))
        try await store.createSession(SessionRecord(id: "ses_recent", tenant: "globex", createdAt: Self.base))
        // Two turns, the second moving the expiry into the past: the session has expired with its turns.
        _ = try await store.appendTurn(Self.turn("one"), session: "ses_expired", tenant: "acme", expiresAt: nil)
        _ = try await store.appendTurn(Self.turn("two"), session: "ses_expired", tenant: "acme", expiresAt: Self.earlier)
        _ = try await store.appendTurn(Self.turn("old"), session: "ses_old", tenant: "globex", expiresAt: nil)
        #expect(try await store.archiveSession(id: "ses_old", tenant: "globex", at: now.addingTimeInterval(-10 * 86_400)))
        #expect(try await store.archiveSession(id: "ses_recent", tenant: "globex", at: now.addingTimeInterval(-3_600)))

        #expect(try await store.session(id: "ses_expired", tenant: "acme") == nil)
        #expect(try await store.turns(session: "ses_expired", tenant: "acme", last: nil).isEmpty)
        #expect(Set(try await store.listSessions(tenant: "acme", keyID: nil, limit: 10, after: nil).map(\.id)) == ["ses_live", "ses_forever"])
        await Self.expectError(.notFound, "a turn for an expired session") {
            _ = try await store.appendTurn(Self.turn("three"), session: "ses_expired", tenant: "acme", expiresAt: Self.later)
        }
        #expect(try await store.archiveSession(id: "ses_expired", tenant: "acme", at: now) == false)

        // Expired sessions first; archived ones only when asked, and only those archived before the bound.
        #expect(try await store.pruneSessions(now: Date(), archivedBefore: nil) == 1)
        #expect(try await store.pruneSessions(now: Date(), archivedBefore: now.addingTimeInterval(-86_400)) == 1)
        #expect(try await store.pruneSessions(now: Date(), archivedBefore: now.addingTimeInterval(-86_400)) == 0)
        #expect(try await store.session(id: "ses_recent", tenant: "globex")?.archivedAt != nil)
        #expect(try await store.session(id: "ses_live", tenant: "acme") != nil)
        #expect(try await store.session(id: "ses_forever", tenant: "acme") != nil)
        // The pruned sessions' turns went with them: the ids start again from seq 1.
        for (id, tenant) in [("ses_expired", "acme"), ("ses_old", "globex")] {
            try await store.createSession(SessionRecord(id: id, tenant: tenant, createdAt: Self.base))
            #expect(try await store.turns(session: id, tenant: tenant, last: nil).isEmpty)
            #expect(try await store.appendTurn(Self.turn("again"), session: id, tenant: tenant, expiresAt: nil).seq == 1)
        }
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func deletingASessionRemovesItsTurns(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        try await store.createSession(SessionRecord(id: "ses_a", tenant: "acme", createdAt: Self.base))
        try await store.createSession(SessionRecord(id: "ses_b", tenant: "acme", createdAt: Self.base))
        for question in ["one", "two"] {
            _ = try await store.appendTurn(Self.turn(question), session: "ses_a", tenant: "acme", expiresAt: nil)
            _ = try await store.appendTurn(Self.turn(question), session: "ses_b", tenant: "acme", expiresAt: nil)
        }
        #expect(try await store.deleteSession(id: "ses_a", tenant: "acme"))
        #expect(try await store.deleteSession(id: "ses_a", tenant: "acme") == false)
        #expect(try await store.session(id: "ses_a", tenant: "acme") == nil)
        await Self.expectError(.notFound, "a turn for a deleted session") {
            _ = try await store.appendTurn(Self.turn("three"), session: "ses_a", tenant: "acme", expiresAt: nil)
        }
        // Its turns are gone (a new session of the same id starts empty, from seq 1); the other's stay.
        try await store.createSession(SessionRecord(id: "ses_a", tenant: "acme", createdAt: Self.base))
        #expect(try await store.turns(session: "ses_a", tenant: "acme", last: nil).isEmpty)
        #expect(try await store.appendTurn(Self.turn("again"), session: "ses_a", tenant: "acme", expiresAt: nil).seq == 1)
        #expect(try await store.turns(session: "ses_b", tenant: "acme", last: nil).map(\.question) == ["one", "two"])
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func sessionsSurviveReopeningTheStore(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        let created = SessionRecord(id: "ses_a", tenant: "acme", keyID: "k1", collection: "docs", createdAt: Self.base, expiresAt: Self.later)
        try await store.createSession(created)
        let turn = try await store.appendTurn(Self.turn("kept", at: 5), session: "ses_a", tenant: "acme", expiresAt: nil)
        await store.close()

        let reopened = try await fixture.open()
        var expected = created
        expected.turnCount = 1
        expected.updatedAt = Self.base.addingTimeInterval(5)
        #expect(try await reopened.session(id: "ses_a", tenant: "acme") == expected)
        #expect(try await reopened.turns(session: "ses_a", tenant: "acme", last: nil) == [turn])
        #expect(try await reopened.appendTurn(Self.turn("next", at: 6), session: "ses_a", tenant: "acme", expiresAt: nil).seq == 2)
        await reopened.close()
    }
}
