import Foundation
import Hummingbird
import HummingbirdTesting
import QuarryAccess
import QuarryCore
import QuarryStore
import QuarryTestSupport
import Testing

/// `GET /usage` with the daily counters on both backends: rows per tenant, key, model and day, or
/// grouped by one of them, over a range of days (the `period` month by default), for the admin's
/// own tenant or, for an operator, any or every tenant; clear 400s for bad ranges.
@Suite struct UsageRouteTests {
    /// The answer of `GET /usage`, its daily part only.
    struct Report: Decodable {
        struct Daily: Decodable, Equatable {
            var from: String
            var to: String
            var key: String?
            var group_by: String?
            var rows: [Row]
            var total: Counts
        }

        struct Counts: Decodable, Equatable {
            var requests: Int64
            var prompt_tokens: Int64
            var completion_tokens: Int64
            var embedding_tokens: Int64
            var tokens: Int64
            var cost_usd: Double
        }

        struct Row: Decodable, Equatable {
            var tenant: String
            var day: String?
            var key_id: String?
            var model: String?
            var requests: Int64
            var prompt_tokens: Int64
            var completion_tokens: Int64
            var embedding_tokens: Int64
            var tokens: Int64
            var cost_usd: Double

            init(_ tenant: String, day: String? = nil, key: String? = nil, model: String? = nil, _ counts: Counts) {
                self.tenant = tenant
                self.day = day
                key_id = key
                self.model = model
                requests = counts.requests
                prompt_tokens = counts.prompt_tokens
                completion_tokens = counts.completion_tokens
                embedding_tokens = counts.embedding_tokens
                tokens = counts.tokens
                cost_usd = counts.cost_usd
            }
        }

        var period: String
        var tenants: [AdminRouteTests.Usage.TenantUsage]
        var daily: Daily?
    }

    /// Calls, prompt, completion and embedding tokens, and dollars (binary fractions, so sums are
    /// exact on both backends).
    static func counts(_ requests: Int64, _ prompt: Int64, _ completion: Int64, _ embedding: Int64, _ cost: Double) -> Report.Counts {
        Report.Counts(
            requests: requests, prompt_tokens: prompt, completion_tokens: completion, embedding_tokens: embedding, tokens: prompt + completion,
            cost_usd: cost
        )
    }

    static let a1 = "a1a1a1a1a1a1a1a1", a2 = "a2a2a2a2a2a2a2a2", b1 = "b1b1b1b1b1b1b1b1"

    /// AdminRouteTests' tenants and keys, and daily counters of acme (two keys, two models, over
    /// the end of November and the start of December), beta, and acme's local identity long ago.
    static func setUp(_ backend: StoreBackend) async throws -> AdminRouteTests.Setup {
        let setup = try await AdminRouteTests.setUp(backend)
        for record in [
            DailyUsageRecord(tenant: "acme", keyID: a1, model: "gpt-4o-mini", day: "2026-11-30", requests: 1, promptTokens: 100, completionTokens: 20, cost: 0.5),
            DailyUsageRecord(tenant: "acme", keyID: a1, model: "gpt-4o-mini", day: "2026-12-01", requests: 1, promptTokens: 200, completionTokens: 40, cost: 0.125),
            DailyUsageRecord(tenant: "acme", keyID: a1, model: "gpt-4o-mini", day: "2026-12-01", requests: 1, promptTokens: 100, completionTokens: 20, cost: 0.125),
            DailyUsageRecord(tenant: "acme", keyID: a1, model: "text-embedding-3-small", day: "2026-12-01", requests: 2, embeddingTokens: 40, cost: 0.125),
            DailyUsageRecord(tenant: "acme", keyID: a2, model: "gpt-4o-mini", day: "2026-12-02", requests: 1, promptTokens: 50, completionTokens: 10, cost: 0.125),
            DailyUsageRecord(tenant: "beta", keyID: b1, model: "gpt-4o-mini", day: "2026-12-01", requests: 1, promptTokens: 10, completionTokens: 5, cost: 0.0625),
            DailyUsageRecord(tenant: "acme", keyID: "", model: "llama3", day: "2025-12-31", requests: 1, promptTokens: 7, completionTokens: 3),
        ] {
            try await setup.store.addDailyUsage(record)
        }
        return setup
    }

    static func report(_ client: some TestClientProtocol, _ uri: String, token: String?) async throws -> Report {
        let response = try await AdminRouteTests.get(client, uri, token: token)
        #expect(response.status == .ok, "\(uri): \(String(buffer: response.body))")
        return try JSONDecoder().decode(Report.self, from: Data(response.body.readableBytesView))
    }

    static func daily(_ client: some TestClientProtocol, _ uri: String, token: String?) async throws -> Report.Daily {
        try #require(try await report(client, uri, token: token).daily, "\(uri)")
    }

    @Test(arguments: StoreBackend.allCases)
    func anAdminSeesItsTenantsUsageByDayKeyAndModel(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        let (a1, a2) = (Self.a1, Self.a2)
        try await setup.app().test(.router) { client in
            let acme = setup.tokens["acme-admin"]
            let december = "from=2026-12-01&to=2026-12-31"
            // One row per tenant, key, model and day, the same row's adds summed.
            #expect(try await Self.daily(client, "/usage?\(december)", token: acme) == Report.Daily(
                from: "2026-12-01", to: "2026-12-31", key: nil, group_by: nil,
                rows: [
                    Report.Row("acme", day: "2026-12-01", key: a1, model: "gpt-4o-mini", Self.counts(2, 300, 60, 0, 0.25)),
                    Report.Row("acme", day: "2026-12-01", key: a1, model: "text-embedding-3-small", Self.counts(2, 0, 0, 40, 0.125)),
                    Report.Row("acme", day: "2026-12-02", key: a2, model: "gpt-4o-mini", Self.counts(1, 50, 10, 0, 0.125)),
                ],
                total: Self.counts(5, 350, 70, 40, 0.5)
            ))
            #expect(try await Self.daily(client, "/usage?\(december)&group_by=model", token: acme).rows == [
                Report.Row("acme", model: "gpt-4o-mini", Self.counts(3, 350, 70, 0, 0.375)),
                Report.Row("acme", model: "text-embedding-3-small", Self.counts(2, 0, 0, 40, 0.125)),
            ])
            #expect(try await Self.daily(client, "/usage?\(december)&group_by=day", token: acme).rows == [
                Report.Row("acme", day: "2026-12-01", Self.counts(4, 300, 60, 40, 0.375)),
                Report.Row("acme", day: "2026-12-02", Self.counts(1, 50, 10, 0, 0.125)),
            ])
            // From November 30: the day before counts too.
            let byKey = try await Self.daily(client, "/usage?from=2026-11-30&to=2026-12-31&group_by=key", token: acme)
            #expect(byKey.rows == [
                Report.Row("acme", key: a1, Self.counts(5, 400, 80, 40, 0.875)), Report.Row("acme", key: a2, Self.counts(1, 50, 10, 0, 0.125)),
            ])
            #expect(byKey.total == Self.counts(6, 450, 90, 40, 1))
            // One key; a key of another tenant has nothing in this one.
            let one = try await Self.daily(client, "/usage?\(december)&key=\(a2)", token: acme)
            #expect(one.key == a2 && one.rows.map(\.key_id) == [a2] && one.total == Self.counts(1, 50, 10, 0, 0.125))
            let other = try await Self.daily(client, "/usage?\(december)&key=\(Self.b1)", token: acme)
            #expect(other.rows.isEmpty && other.total == Self.counts(0, 0, 0, 0, 0))
            // The local identity's requests are under key "".
            #expect(try await Self.daily(client, "/usage?from=2025-12-31&to=2025-12-31", token: acme).rows == [
                Report.Row("acme", day: "2025-12-31", key: "", model: "llama3", Self.counts(1, 7, 3, 0, 0))
            ])
            // What a grouping leaves out is there as null, not absent.
            let raw = try AuthenticationTests.json(try await AdminRouteTests.get(client, "/usage?\(december)&group_by=day", token: acme))
            let daily = try #require(raw["daily"] as? [String: Any])
            let row = try #require((daily["rows"] as? [[String: Any]])?.first)
            #expect(row["key_id"] is NSNull && row["model"] is NSNull && daily["key"] is NSNull)
            #expect(Set(row.keys) == [
                "tenant", "day", "key_id", "model", "requests", "prompt_tokens", "completion_tokens", "embedding_tokens", "tokens", "cost_usd",
            ])
            // Another tenant's admin sees its own.
            #expect(try await Self.daily(client, "/usage?\(december)", token: setup.tokens["beta-admin"]).rows == [
                Report.Row("beta", day: "2026-12-01", key: Self.b1, model: "gpt-4o-mini", Self.counts(1, 10, 5, 0, 0.0625))
            ])
            // Another tenant does not exist for an admin.
            #expect(try await AdminRouteTests.get(client, "/usage?\(december)&tenant=beta", token: acme).status == .notFound)
            #expect(try await AdminRouteTests.get(client, "/usage?\(december)", token: setup.tokens["acme-reader"]).status == .forbidden)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func anOperatorSeesEveryTenantOrTheOneItNames(_ backend: StoreBackend) async throws {
        let setup = try await Self.setUp(backend)
        defer { setup.fixture.cleanUp() }
        try await setup.app().test(.router) { client in
            let operatorKey = setup.tokens["operator"]
            let all = try await Self.daily(client, "/usage?from=2026-12-01&to=2026-12-31&group_by=model", token: operatorKey)
            #expect(all.rows == [
                Report.Row("acme", model: "gpt-4o-mini", Self.counts(3, 350, 70, 0, 0.375)),
                Report.Row("acme", model: "text-embedding-3-small", Self.counts(2, 0, 0, 40, 0.125)),
                Report.Row("beta", model: "gpt-4o-mini", Self.counts(1, 10, 5, 0, 0.0625)),
            ])
            #expect(all.total == Self.counts(6, 360, 75, 40, 0.5625))
            let beta = try await Self.daily(client, "/usage?from=2026-12-01&to=2026-12-31&group_by=model&tenant=beta", token: operatorKey)
            #expect(beta.rows == [Report.Row("beta", model: "gpt-4o-mini", Self.counts(1, 10, 5, 0, 0.0625))])
            #expect(try await AdminRouteTests.get(client, "/usage?group_by=day&tenant=ghost", token: operatorKey).status == .notFound)
        }
    }

    @Test func theRangeIsThePeriodsMonthUnlessToldAndOnlyWhenAskedFor() async throws {
        let setup = try await Self.setUp(.sqlite)
        defer { setup.fixture.cleanUp() }
        try await setup.app().test(.router) { client in
            let acme = setup.tokens["acme-admin"]
            // Without from, to, key or group_by, the answer is what it always was.
            let plain = try await Self.report(client, "/usage?period=2026-12", token: acme)
            #expect(plain.daily == nil && plain.period == "2026-12" && plain.tenants.map(\.tenant) == ["acme"])
            let body = String(buffer: try await AdminRouteTests.get(client, "/usage", token: acme).body)
            #expect(!body.contains("\"daily\""))
            // The days of `period`, else of this month.
            let december = try await Self.daily(client, "/usage?period=2026-12&group_by=day", token: acme)
            #expect(december.from == "2026-12-01" && december.to == "2026-12-31" && december.group_by == "day")
            #expect(december.total == Self.counts(5, 350, 70, 40, 0.5))
            let february = try await Self.daily(client, "/usage?period=2024-02&key=\(Self.a1)", token: acme)
            #expect(february.from == "2024-02-01" && february.to == "2024-02-29" && february.rows.isEmpty)
            let now = UsageDay(containing: Date())
            let thisMonth = try await Self.daily(client, "/usage?group_by=model", token: acme)
            #expect(thisMonth.from == now.firstOfMonth.id && thisMonth.to == now.lastOfMonth.id)
            // One end given: the other is the period's.
            let fromMid = try await Self.daily(client, "/usage?period=2026-12&from=2026-12-02", token: acme)
            #expect(fromMid.from == "2026-12-02" && fromMid.to == "2026-12-31" && fromMid.total == Self.counts(1, 50, 10, 0, 0.125))
            let toFirst = try await Self.daily(client, "/usage?period=2026-12&to=2026-12-01", token: acme)
            #expect(toFirst.from == "2026-12-01" && toFirst.to == "2026-12-01" && toFirst.total.requests == 4)
            // A year, leap day or not, is the most one answer covers.
            #expect(try await Self.daily(client, "/usage?from=2025-01-01&to=2026-01-01", token: acme).rows.count == 1)
            #expect(try await Self.daily(client, "/usage?from=2024-01-01&to=2024-12-31", token: acme).rows.isEmpty)
        }
    }

    @Test func badRangesAreTheCallersToFix() async throws {
        let setup = try await Self.setUp(.sqlite)
        defer { setup.fixture.cleanUp() }
        try await setup.app().test(.router) { client in
            let acme = setup.tokens["acme-admin"]
            for (uri, message) in [
                ("/usage?from=2026-13-01", "from must be a day written YYYY-MM-DD, from 1970-01-01 to 9999-12-31 (2026-12-01), not '2026-13-01'"),
                ("/usage?to=yesterday", "to must be a day written YYYY-MM-DD, from 1970-01-01 to 9999-12-31 (2026-12-01), not 'yesterday'"),
                ("/usage?from=2026-02-29", "from must be a day written YYYY-MM-DD, from 1970-01-01 to 9999-12-31 (2026-12-01), not '2026-02-29'"),
                ("/usage?from=2026-12-02&to=2026-12-01", "to (2026-12-01) must not be before from (2026-12-02); both days are included"),
                ("/usage?from=2025-01-01&to=2026-01-02", "from 2025-01-01 to 2026-01-02 is 367 days; ask for at most 366 days at a time"),
                ("/usage?group_by=tenant", "group_by must be one of day, key, model, not 'tenant'"),
                ("/usage?key=", "key must be a key id as GET /keys shows it (1-64 letters, digits, '-' or '_'), not ''"),
                ("/usage?key=a%2Fb", "key must be a key id as GET /keys shows it (1-64 letters, digits, '-' or '_'), not 'a/b'"),
                ("/usage?period=2026-13&group_by=day", nil),
            ] {
                let response = try await AdminRouteTests.get(client, uri, token: acme)
                #expect(response.status == .badRequest, "\(uri)")
                let (code, text) = try AdminRouteTests.error(response)
                #expect(code == "invalid_request", "\(uri)")
                if let message { #expect(text == message, "\(uri)") }
            }
        }
    }
}
