import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryAccess
import QuarryCore
import QuarryEval
import QuarryRetrieval
import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// `GET /reports`, `GET /reports/{name}` and `GET /reports/compare` over HTTP: a reader key of
/// any tenant sees the server's reports, a page comes with its own policy, names never leave the
/// folder, and a server without a reports folder says how to give it one.
@Suite struct ReportRouteTests {
    struct Setup {
        let directory: TemporaryDirectory
        let store: SQLiteChunkStore
        let reports: URL
        let tokens: [String: String]

        func app(reports library: ReportLibrary?) -> some ApplicationProtocol {
            buildApplication(
                retriever: Retriever(store: store, embedder: HashingEmbedder()), store: store,
                configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
                keyRing: KeyRing(store: store, mode: .required, cacheLifetime: .zero), reports: library, logger: Logger(label: "test")
            )
        }

        func library() throws -> ReportLibrary {
            try ReportLibrary(folder: reports)
        }
    }

    static func report(_ date: String, modes: [(String, [String: Double])], text: String = "what is WAL?") -> EvalReport {
        let query = QueryEvaluation(id: "q1", text: text, metrics: ["ndcg@10": 0], relevant: ["d1": 1], retrieved: [])
        return EvalReport(
            generatedAt: date,
            retrieval: RetrievalEvaluation(
                dataset: "scifact", split: "test", corpusDocuments: 3, queries: 1, topK: 10,
                modes: modes.map { ModeEvaluation(mode: $0.0, metrics: $0.1, recallCurve: [], latency: LatencySummary(samples: [1]), perQuery: [query]) }
            )
        )
    }

    /// Reports `base` and `next` (whose worst query is hostile markup), an older page without
    /// results, and a link to a file outside the folder; reader keys of two tenants.
    static func setUp() async throws -> Setup {
        let directory = try TemporaryDirectory()
        let store = try SQLiteChunkStore(directory: directory.url.appendingPathComponent("store"))
        let reports = directory.url.appendingPathComponent("reports", isDirectory: true)
        try FileManager.default.createDirectory(at: reports, withIntermediateDirectories: true)
        try directory.write(HTMLReport.render(report("2026-01-01T00:00:00Z", modes: [("dense", ["ndcg@10": 0.5, "recall@10": 0.6])])), to: "reports/base.html")
        try directory.write(
            HTMLReport.render(
                report("2026-02-01T00:00:00Z", modes: [("hybrid", ["ndcg@10": 0.7]), ("dense", ["ndcg@10": 0.75])], text: "</script><img src=x onerror=alert(1)>")
            ),
            to: "reports/next.html"
        )
        try directory.write("<!DOCTYPE html><title>Quarry evaluation</title>", to: "reports/old.html")
        try directory.write("<p>outside the reports folder</p>", to: "secret.html")
        try FileManager.default.createSymbolicLink(
            atPath: reports.appendingPathComponent("leak.html").path, withDestinationPath: directory.url.appendingPathComponent("secret.html").path
        )
        let manager = KeyManager(store: store)
        var tokens: [String: String] = [:]
        for (name, tenant) in [("acme-reader", "acme"), ("beta-reader", "beta")] {
            tokens[name] = try await manager.create(KeySpecification(role: .reader), tenant: tenant, by: KeyManager.commandLine).token
        }
        return Setup(directory: directory, store: store, reports: reports, tokens: tokens)
    }

    static func get(_ client: some TestClientProtocol, _ uri: String, token: String?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: uri, method: .get, headers: headers)
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    static func errorCode(_ response: TestResponse) throws -> String? {
        (try json(response)["error"] as? [String: Any])?["code"] as? String
    }

    @Test func listsTheReportsForAnyTenantsReader() async throws {
        let setup = try await Self.setUp()
        defer { setup.directory.cleanUp() }
        try await setup.app(reports: try setup.library()).test(.router) { client in
            #expect(try await Self.get(client, "/reports", token: nil).status == .unauthorized)
            var bodies: [String] = []
            for token in ["acme-reader", "beta-reader"] {
                let response = try await Self.get(client, "/reports", token: setup.tokens[token])
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                bodies.append(String(buffer: response.body))
                let reports = try #require(try Self.json(response)["reports"] as? [[String: Any]])
                #expect(reports.compactMap { $0["name"] as? String } == ["next", "base", "old"])
                for report in reports {
                    #expect(Set(report.keys) == ["name", "title", "generated_at", "dataset", "modes", "comparable", "bytes"])
                }
                #expect(reports[0]["title"] as? String == "Quarry evaluation · scifact")
                #expect(reports[0]["generated_at"] as? String == "2026-02-01T00:00:00Z")
                #expect(reports[0]["dataset"] as? String == "scifact")
                #expect(reports[0]["modes"] as? [String] == ["hybrid", "dense"])
                #expect(reports[0]["comparable"] as? Bool == true)
                let size = try Data(contentsOf: setup.reports.appendingPathComponent("next.html")).count
                #expect(reports[0]["bytes"] as? Int == size)
                #expect(reports[2]["generated_at"] is NSNull)
                #expect(reports[2]["dataset"] is NSNull)
                #expect(reports[2]["modes"] as? [String] == [])
                #expect(reports[2]["comparable"] as? Bool == false)
            }
            // Server-wide: every tenant sees the same folder.
            #expect(bodies[0] == bodies[1])
        }
    }

    @Test func servesAReportUnderItsOwnPolicy() async throws {
        let setup = try await Self.setUp()
        defer { setup.directory.cleanUp() }
        try await setup.app(reports: try setup.library()).test(.router) { client in
            #expect(try await Self.get(client, "/reports/next", token: nil).status == .unauthorized)
            let response = try await Self.get(client, "/reports/next", token: setup.tokens["acme-reader"])
            #expect(response.status == .ok)
            #expect(Data(response.body.readableBytesView) == (try Data(contentsOf: setup.reports.appendingPathComponent("next.html"))))
            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            #expect(
                response.headers[.contentSecurityPolicy]
                    == "default-src 'none'; style-src '\(HTMLReport.stylesheetHash)'; img-src data:; frame-ancestors 'self'; sandbox"
            )
            #expect(response.headers[.xContentTypeOptions] == "nosniff")
            // The page itself: its one style block is the one the policy allows, and the hostile
            // query is text.
            let page = String(buffer: response.body)
            #expect(page.contains("<style>\(HTMLReport.stylesheet)</style>"))
            #expect(!page.contains("<img"))
            #expect(page.contains("\\u003c/script>\\u003cimg src=x onerror=alert(1)>"))
            // A client that percent-encodes a plain character still finds the report.
            #expect(try await Self.get(client, "/reports/%6Eext", token: setup.tokens["acme-reader"]).status == .ok)
        }
    }

    @Test func namesNeverLeaveTheFolder() async throws {
        let setup = try await Self.setUp()
        defer { setup.directory.cleanUp() }
        try await setup.app(reports: try setup.library()).test(.router) { client in
            let token = setup.tokens["acme-reader"]
            for uri in ["/reports/%2e%2e", "/reports/..%2fsecret", "/reports/%2E%2E%2Fsecret", "/reports/.hidden", "/reports/a%20b", "/reports/%2fetc%2fpasswd"] {
                let response = try await Self.get(client, uri, token: token)
                #expect(response.status == .badRequest, "\(uri)")
                #expect(try Self.errorCode(response) == "invalid_request", "\(uri)")
            }
            for uri in ["/reports/leak", "/reports/missing", "/reports/base.html"] {
                let response = try await Self.get(client, uri, token: token)
                #expect(response.status == .notFound, "\(uri)")
                #expect(try Self.errorCode(response) == "not_found", "\(uri)")
            }
            // Paths with more segments match no route at all.
            for uri in ["/reports/../secret", "/reports/x/../../secret"] {
                let response = try await Self.get(client, uri, token: token)
                #expect(response.status != .ok, "\(uri)")
                #expect(!String(buffer: response.body).contains("outside the reports folder"), "\(uri)")
            }
        }
    }

    @Test func comparesTwoRuns() async throws {
        let setup = try await Self.setUp()
        defer { setup.directory.cleanUp() }
        try await setup.app(reports: try setup.library()).test(.router) { client in
            let token = setup.tokens["beta-reader"]
            #expect(try await Self.get(client, "/reports/compare?a=base&b=next", token: nil).status == .unauthorized)
            let response = try await Self.get(client, "/reports/compare?a=base&b=next", token: token)
            #expect(response.status == .ok)
            let body = try Self.json(response)
            #expect(Set(body.keys) == ["a", "b", "modes", "qa"])
            #expect(body["a"] as? [String: String] == ["name": "base", "generated_at": "2026-01-01T00:00:00Z"])
            #expect(body["b"] as? [String: String] == ["name": "next", "generated_at": "2026-02-01T00:00:00Z"])
            #expect(body["qa"] as? [Any] != nil && (body["qa"] as? [Any])?.isEmpty == true)
            let modes = try #require(body["modes"] as? [[String: Any]])
            #expect(modes.compactMap { $0["mode"] as? String } == ["dense", "hybrid"])
            let dense = try #require(modes[0]["metrics"] as? [[String: Any]])
            #expect(dense.compactMap { $0["metric"] as? String } == ["ndcg@10", "recall@10"])
            #expect(dense[0]["a"] as? Double == 0.5)
            #expect(dense[0]["b"] as? Double == 0.75)
            #expect(dense[0]["delta"] as? Double == 0.25)
            #expect(dense[1]["a"] as? Double == 0.6)
            #expect(dense[1]["b"] is NSNull)
            #expect(dense[1]["delta"] is NSNull)
            let hybrid = try #require(modes[1]["metrics"] as? [[String: Any]])
            #expect(hybrid.count == 1)
            #expect(Set(hybrid[0].keys) == ["metric", "a", "b", "delta"])
            #expect(hybrid[0]["a"] is NSNull)
            #expect(hybrid[0]["b"] as? Double == 0.7)

            for (uri, status, code) in [
                ("/reports/compare?a=base", HTTPResponse.Status.badRequest, "invalid_request"), ("/reports/compare", .badRequest, "invalid_request"),
                ("/reports/compare?a=base&b=", .badRequest, "invalid_request"), ("/reports/compare?a=base&b=..", .badRequest, "invalid_request"),
                ("/reports/compare?a=base&b=old", .badRequest, "invalid_request"), ("/reports/compare?a=base&b=missing", .notFound, "not_found"),
                ("/reports/compare?a=leak&b=base", .notFound, "not_found"),
            ] {
                let response = try await Self.get(client, uri, token: token)
                #expect(response.status == status, "\(uri)")
                #expect(try Self.errorCode(response) == code, "\(uri)")
            }
        }
    }

    @Test func withoutAReportsFolderEveryRouteSaysHowToGetOne() async throws {
        let setup = try await Self.setUp()
        defer { setup.directory.cleanUp() }
        try await setup.app(reports: nil).test(.router) { client in
            for uri in ["/reports", "/reports/base", "/reports/compare?a=base&b=next"] {
                #expect(try await Self.get(client, uri, token: nil).status == .unauthorized, "\(uri)")
                let response = try await Self.get(client, uri, token: setup.tokens["acme-reader"])
                #expect(response.status == .notFound, "\(uri)")
                let error = try #require(try Self.json(response)["error"] as? [String: Any])
                #expect(error["code"] as? String == "reports_disabled")
                #expect((error["message"] as? String)?.contains("quarry serve --reports DIR") == true)
            }
        }
    }
}
