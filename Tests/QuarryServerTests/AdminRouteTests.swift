import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryAccess
import QuarryCore
import QuarryRetrieval
import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// `GET /audit` and `GET /usage` on both backends: an admin sees its own tenant only (another
/// tenant is a 404, as one that does not exist), readers and writers get 403, operators see every
/// tenant; audit pages follow a cursor without gaps or repeats; usage shows what the store
/// counted and what the tenant stores.
@Suite struct AdminRouteTests {
    /// `pro` is acme's tier; every other tenant is on the default tier, `free`.
    static let limits = LimitsConfiguration(
        tiers: [
            "free": Tier(rate: 50, burst: 100, ingestJobs: 1, maxChunks: 1000, monthlyTokens: 10_000, monthlyCostUSD: 5),
            "pro": Tier(rate: 100, maxChunks: 50_000, monthlyTokens: 1_000_000),
        ],
        defaultTier: "free"
    )
    /// The time of the first audit row; row `i` is `i` hours later.
    static let start = Date(timeIntervalSince1970: 1_796_083_200)  // 2026-12-01T00:00:00Z
    /// The tenant of audit row `i` (1-based seq): acme, beta, default, … and a last row without
    /// one (a request refused before a key was recognised).
    static let auditTenants: [String?] = ["acme", "beta", "default", "acme", "beta", "default", "acme", "beta", "default", nil]

    struct Setup: Sendable {
        let fixture: StoreFixture
        let store: any ChunkStore
        let embedder: HashingEmbedder
        let tokens: [String: String]

        func app(limits: LimitsConfiguration? = AdminRouteTests.limits) -> some ApplicationProtocol {
            buildApplication(
                retriever: Retriever(store: store, embedder: embedder), store: store, configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
                keyRing: KeyRing(store: store, mode: .required, cacheLifetime: .zero),
                limits: limits.map { ServiceLimits(configuration: $0, usage: store) }, logger: Logger(label: "test")
            )
        }
    }

    /// Collections (documents: chunks): default `docs` (1: 2), acme `docs` (2: 1 + 2) and `wiki`
    /// (1: 1), beta `docs` (1: 5). Keys of acme (reader, writer, admin), beta (admin) and an
    /// operator; acme is on tier `pro`. Ten audit rows, `auditTenants`, an hour apart.
    static func setUp(_ backend: StoreBackend) async throws -> Setup {
        let fixture = try StoreFixture(backend)
        let store = try await fixture.open()
        let embedder = HashingEmbedder(dimension: 32)
        let layout: [(tenant: String, collection: String, documents: [Int])] = [
            ("default", "docs", [2]), ("acme", "docs", [1, 2]), ("acme", "wiki", [1]), ("beta", "docs", [5]),
        ]
        for (tenant, collection, documents) in layout {
            let stored = try Tenant.storeName(of: collection, in: tenant)
            _ = try await store.ensureCollection(named: stored, model: embedder.model)
            for (index, chunkCount) in documents.enumerated() {
                let texts = (0..<chunkCount).map { "\(tenant) \(collection) document \(index) part \($0)" }
                try await store.replaceDocument(
                    in: stored,
                    document: DocumentRecord(path: "doc\(index).md", contentHash: "\(stored)\(index)", size: 1, modificationTime: 1, chunkCount: chunkCount),
                    chunks: texts.enumerated().map { Chunk(ordinal: $0, text: $1, location: ChunkLocation(lineStart: 1, lineEnd: 1)) },
                    vectors: texts.map(embedder.vector)
                )
            }
        }
        let manager = KeyManager(store: store)
        _ = try await manager.createTenant("acme", tier: "pro", by: KeyManager.commandLine)
        var tokens: [String: String] = [:]
        for (name, tenant, role) in [
            ("acme-reader", "acme", Role.reader), ("acme-writer", "acme", .writer), ("acme-admin", "acme", .admin),
            ("beta-admin", "beta", .admin), ("operator", "default", .operator),
        ] {
            tokens[name] = try await manager.create(KeySpecification(role: role), tenant: tenant, by: KeyManager.commandLine).token
        }
        let entries = try auditTenants.enumerated().map { index, tenant in
            let record = AuditRecord(
                at: start.addingTimeInterval(Double(index) * 3600), requestID: "req-\(index + 1)",
                principal: tenant.map { Principal(tenant: $0, keyID: "00000000000000\(index)0", role: .writer) }, method: "DELETE",
                route: "/documents/{id}", collection: "docs", documents: ["doc0.md"], outcome: tenant == nil ? .denied : .ok,
                status: tenant == nil ? 401 : 200
            )
            return AuditEntry(at: record.at, tenant: record.tenant, record: try record.canonicalJSON())
        }
        try await store.appendAudit(entries, link: AuditHash.link)
        return Setup(fixture: fixture, store: store, embedder: embedder, tokens: tokens)
    }

    /// A page of `GET /audit`.
    struct AuditPage: Decodable {
        struct Row: Decodable {
            var seq: Int64
            var previousHash: String
            var hash: String
            var record: AuditRecord

            enum CodingKeys: String, CodingKey {
                case seq, hash, record
                case previousHash = "previous_hash"
            }
        }

        var nextAfter: Int64?
        var records: [Row]

        enum CodingKeys: String, CodingKey {
            case records
            case nextAfter = "next_after"
        }

        var seqs: [Int64] { records.map(\.seq) }
        var tenants: [String?] { records.map(\.record.tenant) }
    }

    /// The answer of `GET /usage`.
    struct Usage: Decodable, Equatable {
        struct TenantUsage: Decodable, Equatable {
            struct LLM: Decodable, Equatable {
                var requests: Int64
                var tokens: Int64
                var cost_usd: Double
            }

            struct Storage: Decodable, Equatable {
                var collections: Int
                var documents: Int
                var chunks: Int
            }

            struct Limits: Decodable, Equatable {
                var tier: String?
                var rate: Double?
                var burst: Int?
                var ingest_jobs: Int?
                var max_chunks: Int?
                var monthly_tokens: Int?
                var monthly_cost_usd: Double?
            }

            var tenant: String
            var llm: LLM
            var storage: Storage
            var limits: Limits
        }

        var period: String
        var tenants: [TenantUsage]

        var names: [String] { tenants.map(\.tenant) }
    }

    static func get(_ client: some TestClientProtocol, _ uri: String, token: String?) async throws -> TestResponse {
        try await AuthenticationTests.request(client, .get, uri, token: token)
    }

    static func auditPage(_ client: some TestClientProtocol, _ uri: String, token: String?) async throws -> AuditPage {
        let response = try await get(client, uri, token: token)
        #expect(response.status == .ok, "\(uri): \(String(buffer: response.body))")
        return try JSONDecoder().decode(AuditPage.self, from: Data(response.body.readableBytesView))
    }

    static func usage(_ client: some TestClientProtocol, _ uri: String, token: String?) async throws -> Usage {
        let response = try await get(client, uri, token: token)
        #expect(response.status == .ok, "\(uri): \(String(buffer: response.body))")
        return try JSONDecoder().decode(Usage.self, from: Data(response.body.readableBytesView))
    }

    /// The error code and message of an error response.
    static func error(_ response: TestResponse) throws -> (code: String?, message: String?) {
        let error = try AuthenticationTests.json(response)["error"] as? [String: Any]
        return (error?["code"] as? String, error?["message"] as? String)
    }

    @Test(arguments: StoreBackend.allCases)
    func anAdminReadsItsOwnTenantsAuditLogOnly(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let rows = try await setup.store.auditRows(since: nil, tenant: nil, after: 0, limit: 100)
        try await setup.app().test(.router) { client in
            let acme = setup.tokens["acme-admin"], beta = setup.tokens["beta-admin"]
            let own = try await Self.auditPage(client, "/audit", token: acme)
            #expect(own.seqs == [1, 4, 7])
            #expect(own.tenants == ["acme", "acme", "acme"])
            #expect(own.nextAfter == nil)
            #expect(try await Self.auditPage(client, "/audit?tenant=acme", token: acme).seqs == [1, 4, 7])
            #expect(try await Self.auditPage(client, "/audit", token: beta).seqs == [2, 5, 8])
            // The rows as the CLI's export writes them: the record verbatim, the bytes that were
            // hashed, so each row checks against its hash.
            let body = String(buffer: try await Self.get(client, "/audit", token: acme).body)
            for row in rows where row.tenant == "acme" { #expect(body.contains(row.exportJSON)) }
            for row in own.records { #expect(rows.contains { $0.seq == row.seq && $0.hash == row.hash && $0.previousHash == row.previousHash }) }
            // Another tenant does not exist for an admin, exactly as one that does not exist.
            for (uri, name) in [("/audit?tenant=beta", "beta"), ("/audit?tenant=ghost", "ghost"), ("/audit?tenant=default", "default")] {
                let response = try await Self.get(client, uri, token: acme)
                #expect(response.status == .notFound, "\(uri)")
                let (code, message) = try Self.error(response)
                #expect(code == "not_found" && message == "tenant '\(name)' does not exist")
            }
            #expect(try await Self.get(client, "/audit?tenant=bad%2Fname", token: acme).status == .badRequest)
        }
    }

    @Test func readersAndWritersMayNotReadTheAuditLogOrUsage() async throws {
        let setup = try await Self.setUp(.sqlite)
        defer { setup.fixture.cleanUp() }
        try await setup.app().test(.router) { client in
            for uri in ["/audit", "/usage", "/audit?tenant=acme", "/usage?tenant=acme"] {
                for name in ["acme-reader", "acme-writer"] {
                    let response = try await Self.get(client, uri, token: setup.tokens[name])
                    #expect(response.status == .forbidden, "\(name) \(uri)")
                    #expect(try Self.error(response).code == "forbidden")
                }
                #expect(try await Self.get(client, uri, token: nil).status == .unauthorized)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func anOperatorReadsEveryTenantsAuditLog(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        try await setup.app().test(.router) { client in
            let operatorKey = setup.tokens["operator"]
            // Every row, the server-wide one (no tenant) included, oldest first.
            let all = try await Self.auditPage(client, "/audit", token: operatorKey)
            #expect(all.seqs == Array(1...10))
            #expect(all.tenants == Self.auditTenants)
            #expect(all.records[9].record.outcome == .denied && all.records[9].record.status == 401)
            #expect(try await Self.auditPage(client, "/audit?tenant=beta", token: operatorKey).seqs == [2, 5, 8])
            #expect(try await Self.auditPage(client, "/audit?tenant=default", token: operatorKey).seqs == [3, 6, 9])
            let ghost = try await Self.get(client, "/audit?tenant=ghost", token: operatorKey)
            #expect(ghost.status == .notFound)
            #expect(try Self.error(ghost).message == "tenant 'ghost' does not exist")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func auditPagesFollowACursorAndATimeWindow(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        try await setup.app().test(.router) { client in
            let operatorKey = setup.tokens["operator"], acme = setup.tokens["acme-admin"]
            // Pages of three: every row once, in order; the last page says there is no next.
            var seen: [Int64] = []
            var cursors: [Int64?] = []
            var after: Int64 = 0
            while true {
                let page = try await Self.auditPage(client, "/audit?limit=3&after=\(after)", token: operatorKey)
                seen += page.seqs
                cursors.append(page.nextAfter)
                guard let next = page.nextAfter else { break }
                #expect(next == page.seqs.last)
                after = next
            }
            #expect(seen == Array(1...10))
            #expect(cursors == [3, 6, 9, nil])
            // A page that ends exactly at the last row says so: no request for an empty page.
            let exact = try await Self.auditPage(client, "/audit?limit=5&after=5", token: operatorKey)
            #expect(exact.seqs == [6, 7, 8, 9, 10] && exact.nextAfter == nil)
            // An admin's pages hold its own rows only.
            let first = try await Self.auditPage(client, "/audit?limit=2", token: acme)
            #expect(first.seqs == [1, 4] && first.nextAfter == 4)
            let second = try await Self.auditPage(client, "/audit?limit=2&after=4", token: acme)
            #expect(second.seqs == [7] && second.nextAfter == nil)
            // since is inclusive, until exclusive; dates, times with and without fractions.
            let window = try await Self.auditPage(
                client, "/audit?since=2026-12-01T03:00:00Z&until=2026-12-01T06:00:00.000Z", token: operatorKey
            )
            #expect(window.seqs == [4, 5, 6])
            #expect(try await Self.auditPage(client, "/audit?since=2026-12-01T05:00:00%2B01:00", token: acme).seqs == [7])
            #expect(try await Self.auditPage(client, "/audit?until=2026-12-01", token: operatorKey).seqs.isEmpty)
            #expect(try await Self.auditPage(client, "/audit?since=2026-12-02", token: operatorKey).seqs.isEmpty)
            let windowPage = try await Self.auditPage(client, "/audit?since=2026-12-01T01:00:00Z&until=2026-12-01T08:00:00Z&limit=4", token: operatorKey)
            #expect(windowPage.seqs == [2, 3, 4, 5] && windowPage.nextAfter == 5)
            let windowRest = try await Self.auditPage(
                client, "/audit?since=2026-12-01T01:00:00Z&until=2026-12-01T08:00:00Z&limit=4&after=5", token: operatorKey
            )
            #expect(windowRest.seqs == [6, 7, 8] && windowRest.nextAfter == nil)
            // Bad parameters are the caller's to fix: 400, naming the parameter.
            for (uri, mentions) in [
                ("/audit?since=yesterday", "since"), ("/audit?until=2026-13-01", "until"), ("/audit?limit=0", "limit"),
                ("/audit?limit=1001", "limit"), ("/audit?limit=ten", "limit"), ("/audit?after=-1", "after"),
                ("/audit?since=2026-12-02&until=2026-12-01", "until"),
            ] {
                let response = try await Self.get(client, uri, token: operatorKey)
                #expect(response.status == .badRequest, "\(uri)")
                let (code, message) = try Self.error(response)
                #expect(code == "invalid_request" && message?.contains(mentions) == true, "\(uri): \(message ?? "")")
            }
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func usageShowsWhatWasCountedStoredAndAllowed(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let month = UsagePeriod(containing: Date())
        let earlier = try UsagePeriod(year: 2026, month: 1)
        try await setup.store.addUsage(tenant: "acme", period: month.id, requests: 1, tokens: 1200, cost: 0.25)
        try await setup.store.addUsage(tenant: "acme", period: month.id, requests: 2, tokens: 800, cost: 1.5)
        try await setup.store.addUsage(tenant: "acme", period: earlier.id, requests: 1, tokens: 5, cost: 0.125)
        try await setup.store.addUsage(tenant: "beta", period: month.id, requests: 4, tokens: 40, cost: 0)
        typealias TenantUsage = Usage.TenantUsage
        let pro = TenantUsage.Limits(
            tier: "pro", rate: 100, burst: 100, ingest_jobs: nil, max_chunks: 50_000, monthly_tokens: 1_000_000, monthly_cost_usd: nil
        )
        let free = TenantUsage.Limits(tier: "free", rate: 50, burst: 100, ingest_jobs: 1, max_chunks: 1000, monthly_tokens: 10_000, monthly_cost_usd: 5)
        let acmeNow = TenantUsage(
            tenant: "acme", llm: .init(requests: 3, tokens: 2000, cost_usd: 1.75), storage: .init(collections: 2, documents: 3, chunks: 4), limits: pro
        )
        let betaNow = TenantUsage(
            tenant: "beta", llm: .init(requests: 4, tokens: 40, cost_usd: 0), storage: .init(collections: 1, documents: 1, chunks: 5), limits: free
        )
        let defaultNow = TenantUsage(
            tenant: "default", llm: .init(requests: 0, tokens: 0, cost_usd: 0), storage: .init(collections: 1, documents: 1, chunks: 2), limits: free
        )
        try await setup.app().test(.router) { client in
            let acme = setup.tokens["acme-admin"], beta = setup.tokens["beta-admin"], operatorKey = setup.tokens["operator"]
            // An admin: its own tenant, this month by default.
            #expect(try await Self.usage(client, "/usage", token: acme) == Usage(period: month.id, tenants: [acmeNow]))
            #expect(try await Self.usage(client, "/usage?tenant=acme", token: acme) == Usage(period: month.id, tenants: [acmeNow]))
            #expect(try await Self.usage(client, "/usage", token: beta) == Usage(period: month.id, tenants: [betaNow]))
            // Another month: its counters; storage is what the tenant stores now.
            let before = try await Self.usage(client, "/usage?period=2026-01", token: acme)
            #expect(before.period == "2026-01")
            #expect(before.tenants.first?.llm == .init(requests: 1, tokens: 5, cost_usd: 0.125))
            #expect(before.tenants.first?.storage == acmeNow.storage)
            // Another tenant does not exist for an admin.
            for uri in ["/usage?tenant=beta", "/usage?tenant=ghost"] {
                let response = try await Self.get(client, uri, token: acme)
                #expect(response.status == .notFound, "\(uri)")
                #expect(try Self.error(response).code == "not_found")
            }
            for uri in ["/usage?period=2026-13", "/usage?period=december", "/usage?tenant=no%2Fslash"] {
                let response = try await Self.get(client, uri, token: acme)
                #expect(response.status == .badRequest, "\(uri)")
            }
            // An operator: every tenant, or the one it names.
            #expect(try await Self.usage(client, "/usage", token: operatorKey) == Usage(period: month.id, tenants: [acmeNow, betaNow, defaultNow]))
            #expect(try await Self.usage(client, "/usage?tenant=beta", token: operatorKey) == Usage(period: month.id, tenants: [betaNow]))
            #expect(try await Self.get(client, "/usage?tenant=ghost", token: operatorKey).status == .notFound)
        }
        // A server without limits limits nothing, and says so.
        try await setup.app(limits: nil).test(.router) { client in
            let report = try await Self.usage(client, "/usage", token: setup.tokens["acme-admin"])
            #expect(report.tenants.first?.limits == TenantUsage.Limits())
            #expect(report.tenants.first?.llm == acmeNow.llm)
        }
    }

    @Test func theAnswersMatchTheOpenAPIDocument() async throws {
        let setup = try await Self.setUp(.sqlite)
        defer { setup.fixture.cleanUp() }
        try await setup.store.addUsage(tenant: "acme", period: UsagePeriod(containing: Date()).id, requests: 1, tokens: 10, cost: 0.5)
        try await setup.app().test(.router) { client in
            let acme = setup.tokens["acme-admin"], operatorKey = setup.tokens["operator"]
            let spec = try await Self.get(client, "/openapi.json", token: acme)
            let checker = SchemaChecker(document: try AuthenticationTests.json(spec))
            let calls: [(route: String, uri: String, token: String?, status: Int)] = [
                ("/audit", "/audit", acme, 200), ("/audit", "/audit?limit=1", operatorKey, 200), ("/audit", "/audit?tenant=beta", acme, 404),
                ("/audit", "/audit?limit=0", acme, 400), ("/audit", "/audit", setup.tokens["acme-reader"], 403),
                ("/usage", "/usage", acme, 200), ("/usage", "/usage", operatorKey, 200), ("/usage", "/usage?tenant=beta", acme, 404),
                ("/usage", "/usage?period=13", acme, 400), ("/usage", "/usage", setup.tokens["acme-writer"], 403),
            ]
            for call in calls {
                let response = try await Self.get(client, call.uri, token: call.token)
                #expect(Int(response.status.code) == call.status, "\(call.uri)")
                guard let schema = checker.responseSchema(call.route, "get", call.status) else {
                    Issue.record("GET \(call.route) answered \(call.status), which the document does not describe")
                    continue
                }
                let value = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                let problems = checker.problems(value, schema)
                #expect(problems.isEmpty, "\(call.uri): \(problems)")
            }
        }
    }
}
