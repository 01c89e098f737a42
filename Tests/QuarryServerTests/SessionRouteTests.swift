import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryAccess
import QuarryCore
import QuarryIngest
import QuarryRetrieval
import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// Sessions over HTTP on both backends: `POST/GET /sessions`, `GET/DELETE /sessions/{id}`,
/// `POST /sessions/{id}/archive`, and `session_id` on `POST /query` (a follow-up made standalone
/// from the turns before it, each answer recorded as the next turn). A session is its key's: any
/// other key of the tenant, and every other tenant, gets the 404 of an id that does not exist,
/// except the tenant's admins, who may read and delete it.
@Suite struct SessionRouteTests {
    struct Setup: Sendable {
        let fixture: StoreFixture
        let store: any ChunkStore
        let embedder: HashingEmbedder
        /// Tokens by name (`acme-reader`, `acme-reader2`, `acme-admin`, `beta-admin`, and any made
        /// by the caller of `setUp`).
        let tokens: [String: String]
        /// Key ids by the same names.
        let keyIDs: [String: String]

        /// Quarry over the store, keys required; extractive answers unless `retriever` has a
        /// chat model.
        func app(
            retriever: Retriever? = nil, limits: ServiceLimits? = nil, conversations: Conversations? = nil
        ) -> some ApplicationProtocol {
            buildApplication(
                retriever: retriever ?? Retriever(store: store, embedder: embedder), store: store,
                configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
                keyRing: KeyRing(store: store, mode: .required, cacheLifetime: .zero), limits: limits, conversations: conversations,
                logger: Logger(label: "test")
            )
        }
    }

    /// Documents of acme's `docs` (about SQLite's WAL mode), acme's `wiki` (lighthouses) and
    /// beta's `docs`.
    static let documents: [(tenant: String, collection: String, path: String, text: String)] = [
        (
            "acme", "docs", "wal.md",
            "WAL mode is write-ahead logging: SQLite appends changes to a separate WAL file, so readers keep reading while a writer writes."
        ),
        (
            "acme", "docs", "network.md",
            "WAL mode does not work over a network filesystem, because every process must map the WAL index in shared memory on one host."
        ),
        ("acme", "docs", "keys.md", "Foreign key constraints are off by default in SQLite; turn them on with PRAGMA foreign_keys."),
        ("acme", "wiki", "lighthouse.md", "The lighthouse keepers log the weather every hour and trim the lamp at dusk."),
        ("beta", "docs", "beta.md", "Beta keeps its own notes about WAL mode and network filesystems."),
    ]

    /// The documents above in a store of `backend`, and keys: acme's two readers and admin,
    /// beta's admin, and `extraKeys` (name, tenant, role, tier).
    static func setUp(_ backend: StoreBackend, extraKeys: [(String, String, Role, String?)] = []) async throws -> Setup {
        let fixture = try StoreFixture(backend)
        let store = try await fixture.open()
        let embedder = HashingEmbedder()
        let ingestor = FolderIngestor(store: store, embedder: embedder)
        var folders: Set<String> = []
        for document in documents {
            let folder = "\(document.tenant)-\(document.collection)"
            try fixture.directory.write(document.text, to: "docs/\(folder)/\(document.path)")
            folders.insert(folder)
        }
        for folder in folders.sorted() {
            let parts = folder.split(separator: "-").map(String.init)
            _ = try await ingestor.ingest(
                folder: fixture.directory.url.appendingPathComponent("docs/\(folder)"), collection: try Tenant.storeName(of: parts[1], in: parts[0])
            )
        }
        let manager = KeyManager(store: store)
        _ = try await manager.createTenant("acme", tier: nil, by: KeyManager.commandLine)
        _ = try await manager.createTenant("beta", tier: nil, by: KeyManager.commandLine)
        var tokens: [String: String] = [:]
        var keyIDs: [String: String] = [:]
        let keys: [(String, String, Role, String?)] =
            [
                ("acme-reader", "acme", .reader, nil), ("acme-reader2", "acme", .reader, nil), ("acme-admin", "acme", .admin, nil),
                ("beta-admin", "beta", .admin, nil),
            ] + extraKeys
        for (name, tenant, role, tier) in keys {
            let issued = try await manager.create(KeySpecification(role: role, tier: tier), tenant: tenant, by: KeyManager.commandLine)
            tokens[name] = issued.token
            keyIDs[name] = issued.record.id
        }
        return Setup(fixture: fixture, store: store, embedder: embedder, tokens: tokens, keyIDs: keyIDs)
    }

    static func request(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil
    ) async throws -> TestResponse {
        try await AuthenticationTests.request(client, method, uri, token: token, body: body)
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try AuthenticationTests.json(response)
    }

    /// Starts a session; its JSON.
    static func create(_ client: some TestClientProtocol, token: String?, body: String? = nil) async throws -> [String: Any] {
        let response = try await request(client, .post, "/sessions", token: token, body: body)
        #expect(response.status == .created, "\(String(buffer: response.body))")
        return try json(response)
    }

    /// Asks `question` in session `id` (extractive, lexical, in `collection` when given).
    static func ask(
        _ client: some TestClientProtocol, _ question: String, session id: String?, token: String?, collection: String? = "docs",
        extra: String = ""
    ) async throws -> TestResponse {
        var fields = [#""query": "\#(question)""#, #""mode": "lexical""#, #""top_k": 3"#]
        if let id { fields.append(#""session_id": "\#(id)""#) }
        if let collection { fields.append(#""collection": "\#(collection)""#) }
        if !extra.isEmpty { fields.append(extra) }
        return try await request(client, .post, "/query", token: token, body: "{" + fields.joined(separator: ", ") + "}")
    }

    /// An answer's `session` as `id#turn`; `nil` when it has none (or another shape).
    static func turn(_ body: [String: Any]) -> String? {
        guard let session = body["session"] as? [String: Any], session.count == 2, let id = session["id"] as? String,
            let turn = session["turn"] as? Int
        else { return nil }
        return "\(id)#\(turn)"
    }

    static let first = "What is WAL mode?"
    static let followUp = "Does it work over a network filesystem?"

    // MARK: - A conversation

    @Test(arguments: StoreBackend.allCases)
    func aFollowUpIsMadeStandaloneAndBothTurnsAreKept(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let reader = setup.tokens["acme-reader"]
        try await setup.app().test(.router) { client in
            // A body is optional; one names the session's collection.
            let bare = try await Self.request(client, .post, "/sessions", token: reader)
            #expect(bare.status == .created)
            let bareBody = try Self.json(bare)
            #expect(bareBody["collection"] is NSNull && bareBody["turn_count"] as? Int == 0 && bareBody["archived_at"] is NSNull)
            #expect(bareBody["key_id"] as? String == setup.keyIDs["acme-reader"])
            #expect((bareBody["turns"] as? [Any])?.isEmpty == true)
            let empty = try await Self.request(client, .post, "/sessions", token: reader, body: "")
            #expect(empty.status == .created)

            let session = try await Self.create(client, token: reader, body: #"{"collection": "docs"}"#)
            let id = try #require(session["id"] as? String)
            #expect(id.hasPrefix("ses_") && id.count == 28)
            #expect(session["collection"] as? String == "docs")

            let firstResponse = try await Self.ask(client, Self.first, session: id, token: reader)
            #expect(firstResponse.status == .ok, "\(String(buffer: firstResponse.body))")
            let firstBody = try Self.json(firstResponse)
            #expect(SessionRouteTests.turn(firstBody) == "\(id)#1")
            // The first question has nothing to lean on: asked as it is.
            let firstRewrite = try #require(firstBody["rewrite"] as? [String: Any])
            #expect(firstRewrite["method"] as? String == "none" && firstRewrite["standalone"] as? String == Self.first)
            #expect(firstRewrite["history_turns"] as? Int == 0)

            let secondResponse = try await Self.ask(client, Self.followUp, session: id, token: reader)
            #expect(secondResponse.status == .ok)
            let secondBody = try Self.json(secondResponse)
            #expect(SessionRouteTests.turn(secondBody) == "\(id)#2")
            #expect(secondBody["query"] as? String == Self.followUp, "the answer names the question as asked")
            let rewrite = try #require(secondBody["rewrite"] as? [String: Any])
            #expect(rewrite["question"] as? String == Self.followUp)
            #expect(rewrite["method"] as? String == "deterministic")
            let standalone = try #require(rewrite["standalone"] as? String)
            #expect(standalone.contains("WAL"), "\(standalone)")
            #expect(standalone != Self.followUp)
            #expect(rewrite["history_turns"] as? Int == 1)
            // The standalone question was searched: the network document answers it.
            let citations = try #require(secondBody["citations"] as? [[String: Any]])
            #expect(citations.first?["document"] as? String == "network.md")

            let read = try await Self.request(client, .get, "/sessions/\(id)", token: reader)
            #expect(read.status == .ok)
            let readBody = try Self.json(read)
            #expect(readBody["turn_count"] as? Int == 2)
            let turns = try #require(readBody["turns"] as? [[String: Any]])
            try #require(turns.count == 2)
            #expect(turns.map { $0["seq"] as? Int } == [1, 2])
            #expect(turns.map { $0["question"] as? String } == [Self.first, Self.followUp])
            #expect(turns[0]["standalone_question"] == nil)
            #expect(turns[1]["standalone_question"] as? String == standalone)
            #expect(turns[0]["answer"] as? String == firstBody["answer"] as? String)
            #expect(turns[1]["answer"] as? String == secondBody["answer"] as? String)
            for (turn, body) in zip(turns, [firstBody, secondBody]) {
                let kept = try #require(turn["citations"] as? [[String: Any]])
                let given = try #require(body["citations"] as? [[String: Any]])
                #expect(!kept.isEmpty)
                #expect(kept.map { $0["id"] as? Int } == given.map { $0["id"] as? Int })
                #expect(kept.map { $0["chunk_id"] as? String } == given.map { $0["chunk_id"] as? String })
                #expect(kept.map { $0["document"] as? String } == given.map { $0["document"] as? String })
                #expect(turn["model"] == nil && turn["prompt_tokens"] == nil, "an extractive answer used no model")
            }
            // A turn moves the session's activity and expiry forward.
            let created = try #require(session["expires_at"] as? String).iso8601Date
            let moved = try #require(readBody["expires_at"] as? String).iso8601Date
            #expect(try #require(moved) >= #require(created))
        }
        await setup.store.close()
    }

    /// Without a collection in the query, the session's is searched; with none in either, the
    /// default collection (which acme does not have: 404).
    @Test func theSessionsCollectionIsUsedWhenTheQueryNamesNone() async throws {
        let setup = try await Self.setUp(.sqlite)
        defer { setup.fixture.cleanUp() }
        let reader = setup.tokens["acme-reader"]
        try await setup.app().test(.router) { client in
            let wiki = try #require(try await Self.create(client, token: reader, body: #"{"collection": "wiki"}"#)["id"] as? String)
            let answered = try await Self.ask(client, "When do the lighthouse keepers trim the lamp?", session: wiki, token: reader, collection: nil)
            #expect(answered.status == .ok)
            let body = try Self.json(answered)
            #expect(body["collection"] as? String == "wiki")
            #expect((body["citations"] as? [[String: Any]])?.first?["document"] as? String == "lighthouse.md")
            // The query's own collection wins over the session's.
            let named = try await Self.ask(client, Self.first, session: wiki, token: reader, collection: "docs")
            #expect(try Self.json(named)["collection"] as? String == "docs")
            // A session without a collection: the default one.
            let bare = try #require(try await Self.create(client, token: reader)["id"] as? String)
            #expect(try await Self.ask(client, Self.first, session: bare, token: reader, collection: nil).status == .notFound)
            // A session cannot name a collection the tenant may not use by its store name.
            let sneaky = try await Self.request(client, .post, "/sessions", token: reader, body: #"{"collection": "beta/docs"}"#)
            #expect(sneaky.status == .badRequest)
            // Nor one its key is not limited to (which, to it, does not exist).
            let limited = try await KeyManager(store: setup.store).create(
                KeySpecification(role: .reader, collections: ["docs"]), tenant: "acme", by: KeyManager.commandLine
            ).token
            #expect(try await Self.request(client, .post, "/sessions", token: limited, body: #"{"collection": "wiki"}"#).status == .notFound)
            #expect(try await Self.request(client, .post, "/sessions", token: limited, body: #"{"collection": "docs"}"#).status == .created)
            #expect(try await Self.request(client, .post, "/sessions", token: reader, body: #"{"collection": 5}"#).status == .badRequest)
            #expect(try await Self.request(client, .post, "/sessions", token: reader, body: "not json").status == .badRequest)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aStreamedAnswerInASessionCarriesItsTurnAndRewriteInDone(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let reader = setup.tokens["acme-reader"]
        try await setup.app().test(.router) { client in
            let id = try #require(try await Self.create(client, token: reader, body: #"{"collection": "docs"}"#)["id"] as? String)
            let first = try await Self.ask(client, Self.first, session: id, token: reader, extra: #""stream": true"#)
            #expect(first.status == .ok)
            #expect(first.headers[.contentType]?.hasPrefix("text/event-stream") == true)
            let firstDone = try #require(try LLMAnswerTests.events(first).last)
            #expect(firstDone.name == "done")
            #expect(SessionRouteTests.turn(firstDone.data) == "\(id)#1")

            let second = try await Self.ask(client, Self.followUp, session: id, token: reader, extra: #""stream": true"#)
            let events = try LLMAnswerTests.events(second)
            let done = try #require(events.last)
            #expect(done.name == "done")
            #expect(SessionRouteTests.turn(done.data) == "\(id)#2")
            let rewrite = try #require(done.data["rewrite"] as? [String: Any])
            #expect(rewrite["method"] as? String == "deterministic")
            #expect((rewrite["standalone"] as? String)?.contains("WAL") == true)
            // The streamed answer is the one the turn keeps.
            let streamed = events.filter { $0.name == "delta" }.compactMap { $0.data["text"] as? String }.joined()
            let turns = try #require(try Self.json(try await Self.request(client, .get, "/sessions/\(id)", token: reader))["turns"] as? [[String: Any]])
            #expect(turns.count == 2)
            #expect(turns.last?["answer"] as? String == streamed)
            #expect(turns.last?["standalone_question"] as? String == rewrite["standalone"] as? String)
        }
        await setup.store.close()
    }

    // MARK: - Who may see a session

    @Test(arguments: StoreBackend.allCases)
    func aSessionIsItsKeysAndItsTenantAdminsOnly(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let (reader, other, admin, beta) = (
            setup.tokens["acme-reader"], setup.tokens["acme-reader2"], setup.tokens["acme-admin"], setup.tokens["beta-admin"]
        )
        try await setup.app().test(.router) { client in
            let id = try #require(try await Self.create(client, token: reader, body: #"{"collection": "docs"}"#)["id"] as? String)
            #expect(try await Self.ask(client, Self.first, session: id, token: reader).status == .ok)

            // Another key of the tenant, and another tenant's admin: as if there were no such session.
            for (token, who) in [(other, "another reader of acme"), (beta, "beta's admin")] {
                for (method, uri) in [(HTTPRequest.Method.get, "/sessions/\(id)"), (.delete, "/sessions/\(id)"), (.post, "/sessions/\(id)/archive")] {
                    let response = try await Self.request(client, method, uri, token: token)
                    #expect(response.status == .notFound, "\(who): \(method) \(uri)")
                    #expect(try AdminRouteTests.error(response).code == "not_found", "\(who): \(method) \(uri)")
                }
                let query = try await Self.ask(client, Self.followUp, session: id, token: token)
                #expect(query.status == .notFound, "\(who): /query")
            }
            let unknown = try await Self.request(client, .get, "/sessions/ses_aaaaaaaaaaaaaaaaaaaaaaaa", token: reader)
            #expect(unknown.status == .notFound)
            // The 404 of another's session reads as the 404 of one that does not exist.
            let othersMessage = try AdminRouteTests.error(try await Self.request(client, .get, "/sessions/\(id)", token: other)).message
            #expect(othersMessage == "no session '\(id)' (it may have expired or been deleted)")

            // The tenant's admin reads it.
            let asAdmin = try await Self.request(client, .get, "/sessions/\(id)", token: admin)
            #expect(asAdmin.status == .ok)
            #expect((try Self.json(asAdmin)["turns"] as? [Any])?.count == 1)
            // Nothing was changed by the refused calls.
            let mine = try Self.json(try await Self.request(client, .get, "/sessions/\(id)", token: reader))
            #expect(mine["archived_at"] is NSNull && mine["turn_count"] as? Int == 1)
            #expect(try await Self.ask(client, Self.followUp, session: id, token: reader).status == .ok)
            // And may delete it.
            #expect(try await Self.request(client, .delete, "/sessions/\(id)", token: admin).status == .noContent)
            #expect(try await Self.request(client, .get, "/sessions/\(id)", token: reader).status == .notFound)
        }
        await setup.store.close()
    }

    /// An admin may read and delete another key's session (`Conversations`), not ask in it: its
    /// answers come from documents the session's key may not see (admins see all of them), and
    /// a turn it added would show them to that key.
    @Test(arguments: StoreBackend.allCases)
    func anAdminCannotAddTurnsToAnotherKeysSession(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let (reader, admin) = (setup.tokens["acme-reader"], setup.tokens["acme-admin"])
        try await setup.app().test(.router) { client in
            let id = try #require(try await Self.create(client, token: reader, body: #"{"collection": "docs"}"#)["id"] as? String)
            #expect(try await Self.ask(client, Self.first, session: id, token: reader).status == .ok)
            // The network document becomes legal's only: the reader no longer finds it.
            let restricted = try await Self.request(
                client, .put, "/documents/network.md/access?collection=docs", token: admin, body: #"{"access": ["group:legal"]}"#
            )
            #expect(restricted.status == .ok)
            let alone = try Self.json(try await Self.ask(client, "Does WAL mode work over a network filesystem?", session: nil, token: reader))
            #expect(!((alone["citations"] as? [[String: Any]]) ?? []).contains { $0["document"] as? String == "network.md" })

            let adminsTurn = try await Self.ask(client, Self.followUp, session: id, token: admin)
            #expect(adminsTurn.status == .notFound, "an admin added a turn to another key's session: \(String(buffer: adminsTurn.body))")
            let session = try Self.json(try await Self.request(client, .get, "/sessions/\(id)", token: reader))
            #expect(session["turn_count"] as? Int == 1)
            // Only the reader's own turn, asked while it could still see the network document.
            #expect(((session["turns"] as? [[String: Any]]) ?? []).compactMap { $0["question"] as? String } == [Self.first])
        }
        await setup.store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func malformedIDsAreNotFoundNotServerErrors(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let reader = setup.tokens["acme-reader"]
        try await setup.app().test(.router) { client in
            let long = "ses_" + String(repeating: "a", count: 200)
            for id in ["not-a-session", "ses_", "ses_AAAAAAAAAAAAAAAAAAAAAAAA", "ses_abc%27%3B%20DROP%20TABLE%20quarry_sessions", "%00", long, "ses_%C3%A9t%C3%A9"] {
                for (method, uri) in [(HTTPRequest.Method.get, "/sessions/\(id)"), (.delete, "/sessions/\(id)"), (.post, "/sessions/\(id)/archive")] {
                    let response = try await Self.request(client, method, uri, token: reader)
                    #expect(response.status == .notFound, "\(method) \(uri): \(String(buffer: response.body))")
                }
            }
            for id in ["not-a-session", "ses_AAAAAAAAAAAAAAAAAAAAAAAA", "ses_x'; DROP TABLE quarry_sessions; --", long, ""] {
                let query = try await Self.ask(client, Self.first, session: id, token: reader)
                #expect(query.status == .notFound, "session_id \(id): \(String(buffer: query.body))")
                // Shown cut short.
                #expect((try AdminRouteTests.error(query).message?.count ?? 0) < 200)
            }
            let badCursor = try await Self.request(client, .get, "/sessions?after=x", token: reader)
            #expect(badCursor.status == .badRequest)
            // The store is intact.
            #expect(try await Self.request(client, .post, "/sessions", token: reader).status == .created)
        }
        await setup.store.close()
    }

    // MARK: - Listing

    @Test(arguments: StoreBackend.allCases)
    func sessionsAreListedAPageAtATime(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let (reader, other, admin) = (setup.tokens["acme-reader"], setup.tokens["acme-reader2"], setup.tokens["acme-admin"])
        try await setup.app().test(.router) { client in
            var mine: [String] = []
            for _ in 0..<5 { mine.append(try #require(try await Self.create(client, token: reader)["id"] as? String)) }
            let others = try #require(try await Self.create(client, token: other)["id"] as? String)
            _ = try await Self.create(client, token: setup.tokens["beta-admin"])

            func page(_ query: String, token: String?) async throws -> (ids: [String], next: String?) {
                let response = try await Self.request(client, .get, "/sessions?\(query)", token: token)
                #expect(response.status == .ok, "\(query): \(String(buffer: response.body))")
                let body = try Self.json(response)
                let ids = try #require(body["sessions"] as? [[String: Any]]).compactMap { $0["id"] as? String }
                #expect(body.keys.contains("next_after"))
                return (ids, body["next_after"] as? String)
            }
            // Pages of 2: 2, 2, 1, each next_after the last of its page, no repeats, none missed.
            var seen: [String] = []
            var cursor: String?
            var sizes: [Int] = []
            repeat {
                let (ids, next) = try await page("limit=2" + (cursor.map { "&after=\($0)" } ?? ""), token: reader)
                sizes.append(ids.count)
                if let next, let last = ids.last { #expect(next.hasPrefix(last + "."), "the last session's id and place: \(next)") }
                seen += ids
                cursor = next
            } while cursor != nil && sizes.count < 10
            #expect(sizes == [2, 2, 1])
            #expect(seen.count == 5 && Set(seen) == Set(mine))
            // One page of all of them is the same order.
            let all = try await page("limit=50", token: reader)
            #expect(all.ids == seen && all.next == nil)
            // A turn in the last session of a page moves it to the front; the next page still
            // starts after it, as it stood (a cursor of the bare id would start over).
            let first = try await page("limit=2", token: reader)
            let moved = try #require(first.ids.last)
            #expect(try await Self.ask(client, Self.first, session: moved, token: reader).status == .ok)
            #expect(try await page("limit=1", token: reader).ids == [moved])
            let second = try await page("limit=2&after=\(try #require(first.next))", token: reader)
            #expect(second.ids == Array(seen[2..<4]), "\(second.ids) after \(first.ids), moved \(moved)")
            // A bare id still works as a cursor (placed where the session is now).
            #expect(try await page("limit=2&after=\(seen[2])", token: reader).ids == [seen[3], seen[4]])
            // Another reader sees its own; it may not ask for another key's.
            #expect(try await page("", token: other).ids == [others])
            let refused = try await Self.request(client, .get, "/sessions?key=\(try #require(setup.keyIDs["acme-reader"]))", token: other)
            #expect(refused.status == .forbidden)
            // The admin: every key's of the tenant, or one key's; never beta's.
            #expect(Set(try await page("limit=500", token: admin).ids) == Set(mine + [others]))
            #expect(Set(try await page("key=\(try #require(setup.keyIDs["acme-reader"]))", token: admin).ids) == Set(mine))
            for bad in ["limit=0", "limit=501", "limit=x", "after=nope", "after=ses_x.y", "after=\(mine[0]).-3"] {
                #expect(try await Self.request(client, .get, "/sessions?\(bad)", token: reader).status == .badRequest, "\(bad)")
            }
        }
        await setup.store.close()
    }

    // MARK: - Archive, delete, expiry

    @Test(arguments: StoreBackend.allCases)
    func anArchivedSessionIsReadNotContinuedAndADeletedOneIsGone(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let reader = setup.tokens["acme-reader"]
        try await setup.app().test(.router) { client in
            let id = try #require(try await Self.create(client, token: reader, body: #"{"collection": "docs"}"#)["id"] as? String)
            #expect(try await Self.ask(client, Self.first, session: id, token: reader).status == .ok)
            let archived = try await Self.request(client, .post, "/sessions/\(id)/archive", token: reader)
            #expect(archived.status == .ok)
            let archivedBody = try Self.json(archived)
            let archivedAt = try #require(archivedBody["archived_at"] as? String)
            #expect(archivedBody["turn_count"] as? Int == 1)
            let refused = try await Self.ask(client, Self.followUp, session: id, token: reader)
            #expect(refused.status == .conflict)
            #expect(try AdminRouteTests.error(refused).code == "conflict")
            let streamed = try await Self.ask(client, Self.followUp, session: id, token: reader, extra: #""stream": true"#)
            #expect(streamed.status == .conflict)
            // Still readable, with its one turn; archiving again keeps the first time.
            let read = try Self.json(try await Self.request(client, .get, "/sessions/\(id)", token: reader))
            #expect((read["turns"] as? [Any])?.count == 1 && read["archived_at"] as? String == archivedAt)
            let again = try Self.json(try await Self.request(client, .post, "/sessions/\(id)/archive", token: reader))
            #expect(again["archived_at"] as? String == archivedAt)

            #expect(try await Self.request(client, .delete, "/sessions/\(id)", token: reader).status == .noContent)
            for (method, uri) in [(HTTPRequest.Method.get, "/sessions/\(id)"), (.delete, "/sessions/\(id)"), (.post, "/sessions/\(id)/archive")] {
                #expect(try await Self.request(client, method, uri, token: reader).status == .notFound, "\(method) \(uri)")
            }
            #expect(try await Self.ask(client, Self.first, session: id, token: reader).status == .notFound)
            #expect(try await setup.store.turns(session: id, tenant: "acme", last: nil).isEmpty)
        }
        await setup.store.close()
    }

    /// A session whose expiry has passed is gone for every route; one the same but live is not
    /// (the control). The configured TTL sets a new session's expiry and each turn's.
    @Test(arguments: StoreBackend.allCases)
    func anExpiredSessionIsNotFound(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let reader = setup.tokens["acme-reader"]
        let keyID = try #require(setup.keyIDs["acme-reader"])
        let past = Date(timeIntervalSinceNow: -7200)
        let expired = "ses_expiredexpiredexpired2", live = "ses_liveliveliveliveliveli"
        try await setup.store.createSession(
            SessionRecord(id: expired, tenant: "acme", keyID: keyID, collection: "docs", createdAt: past, expiresAt: past.addingTimeInterval(3600))
        )
        try await setup.store.createSession(
            SessionRecord(id: live, tenant: "acme", keyID: keyID, collection: "docs", createdAt: past, expiresAt: Date(timeIntervalSinceNow: 3600))
        )
        let ttl = Duration.seconds(90)
        let conversations = Conversations(store: setup.store, ttl: ttl, rewriter: DeterministicRewriter())
        try await setup.app(conversations: conversations).test(.router) { client in
            #expect(try await Self.request(client, .get, "/sessions/\(live)", token: reader).status == .ok)
            #expect(try await Self.request(client, .get, "/sessions/\(expired)", token: reader).status == .notFound)
            #expect(try await Self.request(client, .get, "/sessions/\(expired)", token: setup.tokens["acme-admin"]).status == .notFound)
            #expect(try await Self.request(client, .post, "/sessions/\(expired)/archive", token: reader).status == .notFound)
            #expect(try await Self.ask(client, Self.first, session: expired, token: reader).status == .notFound)
            let listed = try Self.json(try await Self.request(client, .get, "/sessions", token: reader))
            #expect((listed["sessions"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [live])
            #expect(try await Self.request(client, .delete, "/sessions/\(expired)", token: reader).status == .notFound)

            // The TTL: a new session expires ttl after it was made, and a turn moves that on.
            let made = try await Self.create(client, token: reader, body: #"{"collection": "docs"}"#)
            let id = try #require(made["id"] as? String)
            let stored = try #require(try await setup.store.session(id: id, tenant: "acme"))
            #expect(abs(try #require(stored.expiresAt).timeIntervalSince(stored.createdAt) - 90) < 0.001)
            #expect(try await Self.ask(client, Self.first, session: id, token: reader).status == .ok)
            let turn = try #require(try await setup.store.turns(session: id, tenant: "acme", last: nil).first)
            let after = try #require(try await setup.store.session(id: id, tenant: "acme"))
            #expect(abs(try #require(after.expiresAt).timeIntervalSince(turn.at) - 90) < 0.001)
        }
        await setup.store.close()
    }

    // MARK: - Durability

    /// A session and its turns are in the store: a new server over the reopened store reads them
    /// and continues the conversation from them.
    @Test(arguments: StoreBackend.allCases)
    func aSessionSurvivesARestart(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let reader = setup.tokens["acme-reader"]
        let id = try await setup.app().test(.router) { client in
            let id = try #require(try await Self.create(client, token: reader, body: #"{"collection": "docs"}"#)["id"] as? String)
            #expect(try await Self.ask(client, Self.first, session: id, token: reader).status == .ok)
            #expect(try await Self.ask(client, Self.followUp, session: id, token: reader).status == .ok)
            return id
        }
        let before = try await setup.store.turns(session: id, tenant: "acme", last: nil)
        #expect(before.count == 2)
        await setup.store.close()

        let reopened = try await setup.fixture.open()
        let restarted = Setup(fixture: setup.fixture, store: reopened, embedder: setup.embedder, tokens: setup.tokens, keyIDs: setup.keyIDs)
        try await restarted.app().test(.router) { client in
            let read = try await Self.request(client, .get, "/sessions/\(id)", token: reader)
            #expect(read.status == .ok)
            let body = try Self.json(read)
            #expect(body["turn_count"] as? Int == 2 && body["collection"] as? String == "docs")
            let turns = try #require(body["turns"] as? [[String: Any]])
            #expect(turns.map { $0["question"] as? String } == [Self.first, Self.followUp])
            #expect(turns.map { $0["answer"] as? String } == before.map(\.answer))
            #expect(turns.last?["standalone_question"] as? String == before.last?.standaloneQuestion)
            // The conversation goes on where it was: the next turn is 3, and its follow-up leans
            // on the turns read back.
            let next = try await Self.ask(client, "Is it on by default?", session: id, token: reader)
            #expect(next.status == .ok)
            let nextBody = try Self.json(next)
            #expect(SessionRouteTests.turn(nextBody) == "\(id)#3")
            let rewrite = try #require(nextBody["rewrite"] as? [String: Any])
            #expect(rewrite["history_turns"] as? Int == 2)
            #expect(rewrite["method"] as? String == "deterministic")
        }
        await reopened.close()
    }
}

extension String {
    /// The date of an ISO 8601 timestamp as the API writes them.
    fileprivate var iso8601Date: Date? { ISO8601DateFormatter().date(from: self) }
}
