import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryAccess
import QuarryIngest
import QuarryRetrieval
import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// Keys on every route: 401 without a valid one, 403 for a role that may not, 404 (never 403)
/// for another tenant's collection, document or job, and each tenant sees only its own.
@Suite struct AuthenticationTests {
    struct Setup {
        let store: SQLiteChunkStore
        let embedder: HashingEmbedder
        let directory: TemporaryDirectory
        let docs: URL
        var tokens: [String: String] = [:]

        func app(mode: KeyRing.Mode = .whenKeysExist, uses: KeyUseRecorder? = nil) -> some ApplicationProtocol {
            buildApplication(
                retriever: Retriever(store: store, embedder: embedder), store: store,
                configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
                jobs: IngestJobs(store: store, embedder: embedder, roots: [docs], logger: Logger(label: "test")),
                keyRing: KeyRing(store: store, mode: mode, cacheLifetime: .zero, uses: uses), logger: Logger(label: "test")
            )
        }
    }

    /// Three collections named `docs`: the default tenant's, acme's and beta's, each with a
    /// document of its own words.
    static func setUp(keys: Bool = true) async throws -> Setup {
        let directory = try TemporaryDirectory()
        let store = try SQLiteChunkStore(directory: directory.url.appendingPathComponent("store"))
        let embedder = HashingEmbedder()
        let ingestor = FolderIngestor(store: store, embedder: embedder)
        for (tenant, words) in [("default", "lighthouse keepers"), ("acme", "acme rockets"), ("beta", "beta secrets")] {
            try directory.write("The \(words) are described here.", to: "\(tenant)/\(tenant).txt")
            _ = try await ingestor.ingest(
                folder: directory.url.appendingPathComponent(tenant), collection: try Tenant.storeName(of: "docs", in: tenant)
            )
        }
        let docs = directory.url.appendingPathComponent("ingestable", isDirectory: true)
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        try "New words.".write(to: docs.appendingPathComponent("new.txt"), atomically: true, encoding: .utf8)
        var setup = Setup(store: store, embedder: embedder, directory: directory, docs: docs)
        guard keys else { return setup }
        let manager = KeyManager(store: store)
        for (name, tenant, role) in [
            ("acme-reader", "acme", Role.reader), ("acme-writer", "acme", .writer), ("acme-admin", "acme", .admin),
            ("beta-admin", "beta", .admin), ("operator", "default", .operator),
        ] {
            setup.tokens[name] = try await manager.create(KeySpecification(role: role), tenant: tenant, by: KeyManager.commandLine).token
        }
        return setup
    }

    static func request(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    /// The string `field` of each object in the array `list` of a JSON response.
    static func strings(_ response: TestResponse, _ list: String, _ field: String) throws -> [String] {
        let objects = try #require(try json(response)[list] as? [[String: Any]])
        return objects.compactMap { $0[field] as? String }
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    @Test func everyRouteButHealthNeedsAValidKey() async throws {
        let setup = try await Self.setUp()
        defer { setup.directory.cleanUp() }
        try await setup.app().test(.router) { client in
            #expect(try await Self.request(client, .get, "/health", token: nil).status == .ok)
            let routes: [(HTTPRequest.Method, String, String?)] = [
                (.get, "/collections", nil), (.post, "/query", #"{"query": "rockets", "collection": "docs"}"#),
                (.post, "/search", #"{"query": "rockets", "collection": "docs"}"#), (.get, "/documents?collection=docs", nil),
                (.get, "/documents/acme.txt?collection=docs", nil), (.delete, "/documents/acme.txt?collection=docs", nil),
                (.post, "/ingest", #"{"path": "\#(setup.docs.path)", "collection": "docs"}"#), (.get, "/jobs/x", nil),
                (.post, "/v1/embeddings", #"{"input": "hello"}"#), (.get, "/metrics", nil), (.get, "/openapi.json", nil),
                (.get, "/keys", nil), (.post, "/keys", #"{"role": "reader"}"#), (.get, "/tenants", nil),
            ]
            for (method, uri, body) in routes {
                for token in [nil, "qk_0123456789abcdef_" + String(repeating: "A", count: 43), "not-a-key"] {
                    let response = try await Self.request(client, method, uri, token: token, body: body)
                    #expect(response.status == .unauthorized, "\(method) \(uri) with \(token ?? "no key")")
                    #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                    #expect((try Self.json(response)["error"] as? [String: Any])?["code"] as? String == "unauthenticated")
                }
            }
        }
        // Nothing was deleted by the refused requests.
        #expect(try await setup.store.document(in: "acme/docs", path: "acme.txt") != nil)
    }

    @Test func eachTenantSeesOnlyItsOwn() async throws {
        let setup = try await Self.setUp()
        defer { setup.directory.cleanUp() }
        try await setup.app().test(.router) { client in
            let acme = setup.tokens["acme-reader"]
            let collections = try Self.strings(try await Self.request(client, .get, "/collections", token: acme), "collections", "name")
            #expect(collections == ["docs"])
            let body = #"{"query": "secrets rockets keepers", "collection": "docs", "top_k": 10}"#
            let search = try await Self.request(client, .post, "/search", token: acme, body: body)
            #expect(try Self.strings(search, "hits", "document") == ["acme.txt"])
            #expect(try Self.json(search)["collection"] as? String == "docs")
            let beta = setup.tokens["beta-admin"]
            let betaDocuments = try await Self.request(client, .get, "/documents?collection=docs", token: beta)
            #expect(try Self.strings(betaDocuments, "documents", "id") == ["beta.txt"])
            // Another tenant's document and collection do not exist for the caller.
            #expect(try await Self.request(client, .get, "/documents/acme.txt?collection=docs", token: beta).status == .notFound)
            #expect(try await Self.request(client, .delete, "/documents/acme.txt?collection=docs", token: beta).status == .notFound)
            #expect(try await Self.request(client, .post, "/search", token: acme, body: #"{"query": "x", "collection": "hr"}"#).status == .notFound)
            // A tenant cannot reach another by naming its store name.
            let sneaky = try await Self.request(client, .post, "/search", token: acme, body: #"{"query": "x", "collection": "beta/docs"}"#)
            #expect(sneaky.status == .badRequest)
            #expect(try await Self.request(client, .get, "/documents?collection=beta%2Fdocs", token: acme).status == .badRequest)
        }
        #expect(try await setup.store.document(in: "acme/docs", path: "acme.txt") != nil)
    }

    @Test func rolesLimitWhatAKeyMayDo() async throws {
        let setup = try await Self.setUp()
        defer { setup.directory.cleanUp() }
        try await setup.app().test(.router) { client in
            let reader = setup.tokens["acme-reader"], writer = setup.tokens["acme-writer"], admin = setup.tokens["acme-admin"]
            // Into a collection of its own: a folder ingest syncs its collection to the folder.
            let ingest = #"{"path": "\#(setup.docs.path)", "collection": "inbox"}"#
            #expect(try await Self.request(client, .post, "/ingest", token: reader, body: ingest).status == .forbidden)
            #expect(try await Self.request(client, .delete, "/documents/acme.txt?collection=docs", token: reader).status == .forbidden)
            #expect(try await Self.request(client, .get, "/keys", token: writer).status == .forbidden)
            #expect(try await Self.request(client, .get, "/metrics", token: admin).status == .forbidden)
            #expect(try await Self.request(client, .get, "/tenants", token: admin).status == .forbidden)
            #expect(try await Self.request(client, .get, "/metrics", token: setup.tokens["operator"]).status == .ok)

            let started = try await Self.request(client, .post, "/ingest", token: writer, body: ingest)
            #expect(started.status == .accepted)
            let job = try #require(try Self.json(started)["job_id"] as? String)
            let status = try Self.json(try await Self.request(client, .get, "/jobs/\(job)", token: writer))
            #expect(status["collection"] as? String == "inbox")
            // Another tenant's job does not exist for the caller, and cannot be cancelled by it.
            #expect(try await Self.request(client, .get, "/jobs/\(job)", token: setup.tokens["beta-admin"]).status == .notFound)
            #expect(try await Self.request(client, .delete, "/jobs/\(job)", token: setup.tokens["beta-admin"]).status == .notFound)
            #expect(try await Self.request(client, .delete, "/documents/acme.txt?collection=docs", token: writer).status == .ok)
        }
    }

    /// `GET /keys` shows when each key was last used, once the recorder has written it; a key
    /// never used has no `last_used_at`.
    @Test func keysShowWhenTheyWereLastUsed() async throws {
        let setup = try await Self.setUp()
        defer { setup.directory.cleanUp() }
        let uses = KeyUseRecorder(store: setup.store)
        try await setup.app(uses: uses).test(.router) { client in
            let before = Date()
            #expect(try await Self.request(client, .get, "/collections", token: setup.tokens["acme-reader"]).status == .ok)
            #expect(try await Self.request(client, .get, "/keys", token: setup.tokens["acme-admin"]).status == .ok)
            try await uses.flush()
            let listed = try #require(try Self.json(try await Self.request(client, .get, "/keys", token: setup.tokens["acme-admin"]))["keys"] as? [[String: Any]])
            let byID = Dictionary(uniqueKeysWithValues: listed.compactMap { key in (key["id"] as? String).map { ($0, key) } })
            let ids = ["acme-reader", "acme-writer", "acme-admin"].map { setup.tokens[$0].flatMap(KeySecret.id(of:)) ?? "" }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            func lastUsed(_ id: String) -> Date? {
                (byID[id]?["last_used_at"] as? String).flatMap { formatter.date(from: $0) ?? ISO8601DateFormatter().date(from: $0) }
            }
            let reader = try #require(lastUsed(ids[0]), "\(byID[ids[0]] ?? [:])")
            #expect(reader >= before.addingTimeInterval(-1) && reader <= Date().addingTimeInterval(1))
            #expect(lastUsed(ids[2]) != nil, "the admin's own earlier request")
            #expect(byID[ids[1]]?["last_used_at"] == nil, "the writer was never used")
        }
    }

    @Test func adminsManageKeysOverHTTP() async throws {
        let setup = try await Self.setUp()
        defer { setup.directory.cleanUp() }
        try await setup.app().test(.router) { client in
            let admin = setup.tokens["acme-admin"]
            let created = try await Self.request(
                client, .post, "/keys", token: admin, body: #"{"role": "reader", "principals": ["user:ana"], "expires_in_days": 30}"#
            )
            #expect(created.status == .created)
            let body = try Self.json(created)
            let token = try #require(body["key"] as? String)
            let id = try #require(body["id"] as? String)
            #expect(body["tenant"] as? String == "acme" && body["hash"] == nil)
            #expect(try await Self.request(client, .get, "/collections", token: token).status == .ok)

            let listed = try await Self.request(client, .get, "/keys", token: admin)
            #expect(Set(try Self.strings(listed, "keys", "tenant")) == ["acme"])
            #expect(try Self.strings(listed, "keys", "id").contains(id))
            #expect(try Self.strings(listed, "keys", "key").isEmpty && Self.strings(listed, "keys", "hash").isEmpty)

            let rotated = try await Self.request(client, .post, "/keys/\(id)/rotate", token: admin, body: #"{"grace_seconds": 0}"#)
            #expect(rotated.status == .created)
            let newToken = try #require(try Self.json(rotated)["key"] as? String)
            #expect(try await Self.request(client, .get, "/collections", token: newToken).status == .ok)
            #expect(try await Self.request(client, .get, "/collections", token: token).status == .unauthorized)

            let newID = try #require(KeySecret.id(of: newToken))
            #expect(try await Self.request(client, .delete, "/keys/\(newID)", token: setup.tokens["beta-admin"]).status == .notFound)
            #expect(try await Self.request(client, .delete, "/keys/\(newID)", token: admin).status == .ok)
            #expect(try await Self.request(client, .get, "/collections", token: newToken).status == .unauthorized)
            #expect(try await Self.request(client, .post, "/keys", token: admin, body: #"{"role": "operator"}"#).status == .forbidden)
            #expect(try await Self.request(client, .post, "/keys", token: admin, body: #"{"role": "reader", "tenant": "beta"}"#).status == .notFound)
            #expect(try await Self.request(client, .post, "/keys", token: admin, body: #"{"role": "king"}"#).status == .badRequest)
        }
    }

    @Test func withoutKeysLoopbackWorksAsBefore() async throws {
        let setup = try await Self.setUp(keys: false)
        defer { setup.directory.cleanUp() }
        try await setup.app().test(.router) { client in
            let collections = try await Self.request(client, .get, "/collections", token: nil)
            let names = try Self.strings(collections, "collections", "name")
            #expect(names == ["docs"])
            let metrics = try await Self.request(client, .get, "/metrics", token: nil)
            #expect(metrics.status == .ok)
        }
    }
}
