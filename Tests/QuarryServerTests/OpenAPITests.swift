import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryAccess
import QuarryEmbedding
import QuarryEval
import QuarryIngest
import QuarryRetrieval
import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// A small JSON Schema checker: the keywords `GET /openapi.json` uses ($ref, type, required,
/// properties, additionalProperties, items, enum, const, oneOf, allOf, format date-time).
struct SchemaChecker {
    let document: [String: Any]

    func resolve(_ schema: [String: Any]) -> [String: Any] {
        guard let ref = schema["$ref"] as? String else { return schema }
        var node: Any = document
        for part in ref.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(part)] as Any }
        return resolve(node as? [String: Any] ?? [:])
    }

    /// Problems of `value` against `schema`, with their JSON paths.
    func problems(_ value: Any, _ schema: [String: Any], at path: String = "$") -> [String] {
        let schema = resolve(schema)
        var problems: [String] = []
        for part in schema["allOf"] as? [[String: Any]] ?? [] { problems += self.problems(value, part, at: path) }
        if let options = schema["oneOf"] as? [[String: Any]] {
            let matching = options.filter { self.problems(value, $0, at: path).isEmpty }
            if matching.count != 1 { problems.append("\(path): matches \(matching.count) of oneOf") }
        }
        if let allowed = schema["enum"] as? [Any], !allowed.contains(where: { "\($0)" == "\(value)" }) {
            problems.append("\(path): \(value) not in \(allowed)")
        }
        if let constant = schema["const"], "\(constant)" != "\(value)" { problems.append("\(path): \(value) is not \(constant)") }
        if let expected = schema["type"] as? String {
            let ok: Bool
            switch expected {
            case "object": ok = value is [String: Any]
            case "array": ok = value is [Any]
            case "string": ok = value is String
            case "boolean": ok = value is Bool
            case "null": ok = value is NSNull
            case "integer": ok = (value as? NSNumber).map { $0.doubleValue == $0.doubleValue.rounded() } ?? false
            case "number": ok = value is NSNumber
            default: ok = true
            }
            if !ok { problems.append("\(path): \(type(of: value)) is not \(expected)") }
        }
        if schema["format"] as? String == "date-time", let text = value as? String, ISO8601DateFormatter().date(from: text) == nil {
            problems.append("\(path): \(text) is not a date-time")
        }
        if let object = value as? [String: Any] {
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                problems.append("\(path): missing \(key)")
            }
            let properties = schema["properties"] as? [String: [String: Any]] ?? [:]
            for (key, child) in object {
                if let property = properties[key] {
                    problems += self.problems(child, property, at: "\(path).\(key)")
                } else if let extra = schema["additionalProperties"] as? [String: Any] {
                    problems += self.problems(child, extra, at: "\(path).\(key)")
                } else if schema["additionalProperties"] as? Bool == false {
                    problems.append("\(path): undocumented field \(key)")
                }
            }
        }
        if let array = value as? [Any], let items = schema["items"] as? [String: Any] {
            for (index, item) in array.enumerated() { problems += self.problems(item, items, at: "\(path)[\(index)]") }
        }
        return problems
    }

    /// The schema of `route`'s JSON response for `method` and `status`, or `nil` when undocumented.
    func responseSchema(_ route: String, _ method: String, _ status: Int) -> [String: Any]? {
        let paths = document["paths"] as? [String: Any]
        let operation = (paths?[route] as? [String: Any])?[method] as? [String: Any]
        guard let response = (operation?["responses"] as? [String: Any])?[String(status)] as? [String: Any] else { return nil }
        let content = resolve(response)["content"] as? [String: Any]
        return (content?["application/json"] as? [String: Any])?["schema"] as? [String: Any]
    }
}

@Suite struct OpenAPITests {
    @Test func everyResponseConformsToTheDocument() async throws {
        let root = try TemporaryDirectory()
        let storeDir = try TemporaryDirectory()
        defer {
            root.cleanUp()
            storeDir.cleanUp()
        }
        try root.write("# Guide\n\nThe guide explains checkpoints and the WAL file.", to: "docs/guide.md")
        try root.write(
            #"{"_id": "r1", "title": "Record", "text": "A record about vacuum.", "metadata": {"lang": "en", "year": 2020}}"# + "\n"
                + #"{"_id": "r2", "title": "Other", "text": "Another record about vacuum.", "metadata": {"lang": "de", "year": 2021}}"#,
            to: "docs/corpus.jsonl"
        )
        let store = try SQLiteChunkStore(directory: storeDir.url)
        let embedder = HashingEmbedder()
        _ = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: root.url.appendingPathComponent("docs"), collection: "default")
        _ = try await store.ensureCollection(named: "other", model: EmbeddingModelInfo(name: "another-model", dimension: 8, fingerprint: "x"))
        let jobs = IngestJobs(store: store, embedder: embedder, roots: [root.url], logger: Logger(label: "test"))
        // Two eval reports, for the reports routes.
        try root.write(HTMLReport.render(ReportRouteTests.report("2026-01-01T00:00:00Z", modes: [("dense", ["ndcg@10": 0.5])])), to: "reports/a.html")
        try root.write(
            HTMLReport.render(ReportRouteTests.report("2026-02-01T00:00:00Z", modes: [("dense", ["ndcg@10": 0.6]), ("hybrid", ["ndcg@10": 0.7])])),
            to: "reports/b.html"
        )
        let reports = try ReportLibrary(folder: root.url.appendingPathComponent("reports"))
        // A low threshold lets the hashing embedder's close wordings meet in the semantic cache.
        let semantic = SemanticCache(capacity: 8, threshold: 0.3)
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder, cache: QueryCache(capacity: 8), semanticCache: semantic), store: store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), jobs: jobs, reports: reports, logger: Logger(label: "test")
        )
        try await app.test(.router) { client in
            let spec = try await client.execute(uri: "/openapi.json", method: .get)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(spec.body.readableBytesView)) as? [String: Any])
            #expect(document["openapi"] as? String == "3.1.0")
            let checker = SchemaChecker(document: document)

            var jobID = ""
            // (route as documented, method, uri, body)
            let calls: [(String, String, String, String?)] = [
                ("/query", "post", "/query", #"{"query": "checkpoints WAL", "top_k": 3}"#),
                ("/query", "post", "/query", #"{"query": "checkpoints WAL", "top_k": 3}"#),
                ("/query", "post", "/query", #"{"query": "the checkpoints WAL", "top_k": 3}"#),
                ("/query", "post", "/query", #"{"query": "vacuum", "mode": "lexical", "filter": {"file_types": ["jsonl"]}}"#),
                ("/query", "post", "/query", #"{"query": "vacuum", "answer": "none"}"#),
                ("/query", "post", "/query", #"{"query": "vacuum", "answer": "llm"}"#),
                ("/query", "post", "/query", #"{"query": ""}"#),
                ("/query", "post", "/query", #"{"query": "x", "collection": "missing"}"#),
                ("/search", "post", "/search", #"{"query": "checkpoints", "mode": "hybrid"}"#),
                ("/search", "post", "/search", #"{"query": "checkpoints", "mode": "nope"}"#),
                ("/search", "post", "/search", #"{"query": "vacuum", "filter": {"metadata": {"lang": ["en"]}}}"#),
                ("/search", "post", "/search", #"{"query": "checkpoints", "explain": true}"#),
                ("/search", "post", "/search", #"{"query": "checkpoints", "mode": "lexical", "explain": true}"#),
                ("/info", "get", "/info", nil),
                ("/jobs", "get", "/jobs?limit=5", nil),
                ("/jobs", "get", "/jobs?limit=0", nil),
                ("/documents", "get", "/documents?contains=GUIDE", nil),
                ("/reports", "get", "/reports", nil),
                ("/reports/compare", "get", "/reports/compare?a=a&b=b", nil),
                ("/reports/compare", "get", "/reports/compare?a=a&b=missing", nil),
                ("/reports/compare", "get", "/reports/compare?a=a", nil),
                ("/reports/{name}", "get", "/reports/..%2Fsecret", nil),
                ("/console/{file}", "get", "/console/nothing.js", nil),
                ("/ingest", "post", "/ingest", #"{"path": "docs"}"#),
                ("/ingest", "post", "/ingest", #"{"path": "/etc"}"#),
                ("/ingest", "post", "/ingest", #"{"path": "missing"}"#),
                ("/documents", "get", "/documents?collection=default", nil),
                ("/documents", "get", "/documents?limit=0", nil),
                ("/documents/{id}", "get", "/documents/corpus.jsonl%23r1", nil),
                ("/documents/{id}", "get", "/documents/nothing.md", nil),
                ("/documents/{id}/access", "put", "/documents/corpus.jsonl%23r2/access", #"{"access": ["group:legal", "user:ana"]}"#),
                ("/documents/{id}/access", "put", "/documents/corpus.jsonl%23r2/access", #"{"access": null}"#),
                ("/documents/{id}/access", "put", "/documents/nothing.md/access", #"{"access": null}"#),
                ("/documents/{id}/access", "put", "/documents/guide.md/access", #"{"access": ["user:a b"]}"#),
                ("/v1/embeddings", "post", "/v1/embeddings", #"{"input": ["a", "b"]}"#),
                ("/v1/embeddings", "post", "/v1/embeddings", #"{"input": "a", "encoding_format": "base64"}"#),
                ("/v1/embeddings", "post", "/v1/embeddings", #"{"input": []}"#),
                ("/health", "get", "/health", nil),
                ("/collections", "get", "/collections", nil),
            ]
            for (route, method, uri, body) in calls {
                let response = try await client.execute(
                    uri: uri, method: try #require(HTTPRequest.Method(method.uppercased())), headers: [.contentType: "application/json"],
                    body: body.map { ByteBuffer(string: $0) }
                )
                let status = Int(response.status.code)
                guard let schema = checker.responseSchema(route, method, status) else {
                    Issue.record("\(method) \(route) answered \(status), which the document does not describe")
                    continue
                }
                let value = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                #expect(checker.problems(value, schema).isEmpty, "\(method) \(uri) \(status): \(checker.problems(value, schema))")
                if route == "/ingest", status == 202 { jobID = ((value as? [String: Any])?["job_id"] as? String) ?? "" }
            }
            await jobs.wait(jobID)
            let listed = try await client.execute(uri: "/jobs", method: .get)
            #expect(checker.problems(try JSONSerialization.jsonObject(with: Data(listed.body.readableBytesView)), try #require(checker.responseSchema("/jobs", "get", 200))).isEmpty)
            // The HTML routes answer what the document says they do.
            for (uri, route, type) in [("/", "/", "text/html"), ("/reports/a", "/reports/{name}", "text/html"), ("/console/main.js", "/console/{file}", "text/javascript")] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .ok, "\(uri)")
                #expect(response.headers[.contentType]?.hasPrefix(type) == true, "\(uri)")
                let content = ((((document["paths"] as? [String: Any])?[route] as? [String: Any])?["get"] as? [String: Any])?["responses"] as? [String: Any])?["200"]
                #expect(((content as? [String: Any])?["content"] as? [String: Any])?[type] != nil, "\(route)")
            }
            // The job has ended: it is read, and it can no longer be cancelled.
            for (method, status) in [("get", 200), ("delete", 409)] {
                let response = try await client.execute(uri: "/jobs/\(jobID)", method: method == "get" ? .get : .delete)
                #expect(Int(response.status.code) == status)
                let schema = try #require(checker.responseSchema("/jobs/{id}", method, status))
                let value = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                #expect(checker.problems(value, schema).isEmpty, "\(method) /jobs: \(checker.problems(value, schema))")
            }
            // A failed job (the collection belongs to another model) reports its error and code.
            let failing = try await client.execute(
                uri: "/ingest", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"path": "docs", "collection": "other"}"#)
            )
            let failingID = try #require((try JSONSerialization.jsonObject(with: Data(failing.body.readableBytesView)) as? [String: Any])?["job_id"] as? String)
            await jobs.wait(failingID)
            let failed = try JSONSerialization.jsonObject(
                with: Data(try await client.execute(uri: "/jobs/\(failingID)", method: .get).body.readableBytesView)
            )
            #expect((failed as? [String: Any])?["error_code"] as? String == "conflict", "\(failed)")
            #expect(checker.problems(failed, try #require(checker.responseSchema("/jobs/{id}", "get", 200))).isEmpty, "\(failed)")

            let deleted = try await client.execute(uri: "/documents/guide.md", method: .delete)
            let value = try JSONSerialization.jsonObject(with: Data(deleted.body.readableBytesView))
            #expect(checker.problems(value, try #require(checker.responseSchema("/documents/{id}", "delete", 200))).isEmpty)

            // Metadata filters: string, number values; the documents list shows the metadata.
            for (filter, expected) in [(#"{"lang": "de"}"#, ["corpus.jsonl#r2"]), (#"{"year": 2020}"#, ["corpus.jsonl#r1"]), (#"{"lang": "fr"}"#, [])] {
                let response = try await client.execute(
                    uri: "/search", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"query": "vacuum record", "top_k": 10, "filter": {"metadata": \#(filter)}}"#)
                )
                let hits = (try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])?["hits"] as? [[String: Any]]
                #expect(Set(hits?.compactMap { $0["document"] as? String } ?? ["?"]) == Set(expected), "\(filter)")
            }
            let record = try await client.execute(uri: "/documents/corpus.jsonl%23r2", method: .get)
            let recordBody = try JSONSerialization.jsonObject(with: Data(record.body.readableBytesView)) as? [String: Any]
            #expect((recordBody?["document"] as? [String: Any])?["metadata"] as? [String: String] == ["lang": "de", "year": "2021"])

            // The reworded query was a semantic hit, and its `cache` object conformed above.
            #expect(semantic.statistics.hits == 1)

            try await Self.checkKeysAndTenants(client, checker)

            // The checker itself catches a wrong shape.
            let citationSchema = ["$ref": "#/components/schemas/Citation"]
            #expect(!checker.problems(["id": "one"], citationSchema).isEmpty)
        }
    }

    /// The key and tenant routes, last: once a key exists, every request needs one. The first
    /// key is made by the local operator (no key yet), the others with it.
    static func checkKeysAndTenants(_ client: some TestClientProtocol, _ checker: SchemaChecker) async throws {
        var token: String?
        func call(_ route: String, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, expect status: HTTPResponse.Status) async throws -> [String: Any] {
            var headers: HTTPFields = [.contentType: "application/json"]
            if let token { headers[.authorization] = "Bearer \(token)" }
            let response = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
            #expect(response.status == status, "\(method) \(uri)")
            let value = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
            guard let schema = checker.responseSchema(route, method.rawValue.lowercased(), Int(response.status.code)) else {
                Issue.record("\(method) \(route) answered \(response.status.code), which the document does not describe")
                return [:]
            }
            #expect(checker.problems(value, schema).isEmpty, "\(method) \(uri) \(response.status.code): \(checker.problems(value, schema))")
            return value as? [String: Any] ?? [:]
        }
        let operatorKey = try await call("/keys", .post, "/keys", #"{"role": "operator"}"#, expect: .created)
        token = try #require(operatorKey["key"] as? String)
        _ = try await call("/tenants", .post, "/tenants", #"{"name": "acme", "tier": "pro"}"#, expect: .created)
        _ = try await call("/tenants", .post, "/tenants", #"{"name": "acme"}"#, expect: .conflict)
        let reader = try await call(
            "/keys", .post, "/keys",
            #"{"role": "reader", "tenant": "acme", "collections": ["docs"], "principals": ["user:ana"], "rate": 5, "burst": 10, "expires_in_days": 30, "tier": "pro"}"#,
            expect: .created
        )
        let readerID = try #require(reader["id"] as? String)
        _ = try await call("/keys", .post, "/keys", #"{"role": "king"}"#, expect: .badRequest)
        let rotated = try await call("/keys/{id}/rotate", .post, "/keys/\(readerID)/rotate", #"{"grace_seconds": 60}"#, expect: .created)
        #expect(rotated["rotated_from"] as? String == readerID)
        let revoked = try await call("/keys/{id}", .delete, "/keys/\(readerID)", expect: .ok)
        #expect(revoked["revoked_at"] is String)
        let keys = try await call("/keys", .get, "/keys", expect: .ok)
        #expect((keys["keys"] as? [Any])?.count == 3)
        _ = try await call("/keys", .get, "/keys?tenant=acme", expect: .ok)
        let tenants = try await call("/tenants", .get, "/tenants", expect: .ok)
        #expect((tenants["tenants"] as? [[String: Any]])?.contains { $0["name"] as? String == "acme" && $0["tier"] as? String == "pro" } == true)
        let moved = try await call("/tenants/{name}", .put, "/tenants/acme", #"{"tier": null}"#, expect: .ok)
        #expect(moved["name"] as? String == "acme" && moved["tier"] == nil)
        _ = try await call("/tenants/{name}", .put, "/tenants/acme", #"{"tier": "pro"}"#, expect: .ok)
        _ = try await call("/tenants/{name}", .put, "/tenants/nobody", #"{"tier": "pro"}"#, expect: .notFound)
        token = nil
        _ = try await call("/tenants", .get, "/tenants", expect: .unauthorized)
    }
}

extension OpenAPITests {
    /// The routes and fields of sessions, budgets and routing, checked against the document:
    /// `POST/GET /sessions`, `GET/DELETE /sessions/{id}`, `POST /sessions/{id}/archive`, `/query`
    /// answers with `session` and `rewrite` (and a stream's `done` event), with `routing`, with
    /// `budget`, a `429` for a budget, and `GET /usage` with `from`, `to` and `group_by`.
    @Test func sessionsBudgetsRoutingAndDailyUsageConformToTheDocument() async throws {
        let setup = try await SessionRouteTests.setUp(.sqlite, extraKeys: [("free", "acme", .reader, "free"), ("pro", "acme", .reader, "pro")])
        defer { setup.fixture.cleanUp() }
        let stub = ChatStub()
        try await stub.run { baseURL in
            let good = ModelRoutingTests.model("good", at: baseURL, input: 1, output: 2)
            let router = ModelRouter(
                tiers: [
                    "free": TierRoutes(chain: ModelRoute(name: "tiers.free.chain", models: [], fallbackToExtractive: true)),
                    "pro": TierRoutes(chain: ModelRoute(name: "tiers.pro.chain", models: [good], fallbackToExtractive: true)),
                ],
                defaultRoutes: TierRoutes(chain: ModelRoute(name: "default.chain", models: [good], fallbackToExtractive: true))
            )
            let retriever = Retriever(
                store: setup.store, embedder: setup.embedder, llm: LLMAnswerer(client: ChatClient(settings: ModelRoutingTests.settings([good]))),
                router: router
            )
            let configuration = LimitsConfiguration(
                tiers: ["free": Tier(), "pro": Tier(maxCompletionTokens: 64, keyDailyTokens: 100)], onBudgetExceeded: .extractive
            )
            let limits = ServiceLimits(configuration: configuration, usage: setup.store)
            try await setup.app(retriever: retriever, limits: limits).test(.router) { client in
                let reader = setup.tokens["acme-reader"]
                let spec = try await SessionRouteTests.request(client, .get, "/openapi.json", token: reader)
                let document = try #require(try JSONSerialization.jsonObject(with: Data(spec.body.readableBytesView)) as? [String: Any])
                let checker = SchemaChecker(document: document)

                /// Calls `uri`, checks the status and the body against the document; the body.
                @discardableResult
                func call(
                    _ route: String, _ method: HTTPRequest.Method, _ uri: String, token: String?, _ body: String? = nil,
                    expect status: HTTPResponse.Status
                ) async throws -> [String: Any] {
                    let response = try await SessionRouteTests.request(client, method, uri, token: token, body: body)
                    #expect(response.status == status, "\(method) \(uri): \(String(buffer: response.body))")
                    let code = Int(response.status.code)
                    if code == 204 {
                        let operation = ((document["paths"] as? [String: Any])?[route] as? [String: Any])?[method.rawValue.lowercased()] as? [String: Any]
                        #expect((operation?["responses"] as? [String: Any])?["204"] != nil, "\(method) \(route) answered 204, which the document does not describe")
                        return [:]
                    }
                    let value = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                    if let schema = checker.responseSchema(route, method.rawValue.lowercased(), code) {
                        #expect(checker.problems(value, schema).isEmpty, "\(method) \(uri) \(code): \(checker.problems(value, schema))")
                    } else {
                        Issue.record("\(method) \(route) answered \(code), which the document does not describe")
                    }
                    return value as? [String: Any] ?? [:]
                }
                let question = #""collection": "docs", "mode": "lexical", "top_k": 3"#

                // Sessions.
                let session = try await call("/sessions", .post, "/sessions", token: reader, #"{"collection": "docs"}"#, expect: .created)
                let id = try #require(session["id"] as? String)
                try await call("/sessions", .post, "/sessions", token: reader, expect: .created)
                try await call("/sessions", .post, "/sessions", token: reader, #"{"collection": "beta/docs"}"#, expect: .badRequest)
                try await call("/query", .post, "/query", token: reader, #"{"query": "What is WAL mode?", "session_id": "\#(id)"}"#, expect: .ok)
                let followUp = try await call(
                    "/query", .post, "/query", token: reader, #"{"query": "Does it work over a network filesystem?", "session_id": "\#(id)", \#(question)}"#,
                    expect: .ok
                )
                #expect(followUp["rewrite"] != nil && followUp["session"] != nil)
                // A stream's done event is a QueryOutcome.
                let streamed = try await SessionRouteTests.request(
                    client, .post, "/query", token: reader, body: #"{"query": "Is it on by default?", "session_id": "\#(id)", "stream": true, \#(question)}"#
                )
                let done = try #require(try LLMAnswerTests.events(streamed).last)
                #expect(done.name == "done" && done.data["session"] != nil && done.data["rewrite"] != nil)
                let outcome = ["$ref": "#/components/schemas/QueryOutcome"]
                #expect(checker.problems(done.data, outcome).isEmpty, "done: \(checker.problems(done.data, outcome))")
                let listed = try await call("/sessions", .get, "/sessions?limit=1", token: reader, expect: .ok)
                #expect(listed["next_after"] is String)
                try await call("/sessions", .get, "/sessions?limit=0", token: reader, expect: .badRequest)
                let read = try await call("/sessions/{id}", .get, "/sessions/\(id)", token: reader, expect: .ok)
                #expect((read["turns"] as? [Any])?.count == 3)
                try await call("/sessions/{id}", .get, "/sessions/\(id)", token: setup.tokens["acme-reader2"], expect: .notFound)
                try await call("/sessions/{id}/archive", .post, "/sessions/\(id)/archive", token: reader, expect: .ok)
                try await call("/query", .post, "/query", token: reader, #"{"query": "And then?", "session_id": "\#(id)"}"#, expect: .conflict)
                try await call("/sessions/{id}", .delete, "/sessions/\(id)", token: reader, expect: .noContent)
                try await call("/sessions/{id}", .delete, "/sessions/\(id)", token: reader, expect: .notFound)
                try await call("/sessions/{id}/archive", .post, "/sessions/ses_nothing/archive", token: reader, expect: .notFound)

                // Routing: a model's answer, and an extractive route's.
                let pro = try await call("/query", .post, "/query", token: setup.tokens["pro"], #"{"query": "What is WAL mode?", "answer": "llm", \#(question)}"#, expect: .ok)
                #expect((pro["routing"] as? [String: Any])?["route"] as? String == "tiers.pro.chain")
                let free = try await call("/query", .post, "/query", token: setup.tokens["free"], #"{"query": "What is WAL mode?", "answer": "llm", \#(question)}"#, expect: .ok)
                #expect((free["routing"] as? [String: Any])?["extractive"] as? Bool == true)
                // Budgets: a request over its tier's answer length is refused; once the key's day
                // is used up, the answer is extractive and says why.
                let refused = try await call(
                    "/query", .post, "/query", token: setup.tokens["pro"], #"{"query": "What is WAL mode?", "answer": "llm", "max_tokens": 100, \#(question)}"#,
                    expect: .tooManyRequests
                )
                #expect((refused["error"] as? [String: Any])?["limit"] as? String == "max_completion_tokens")
                let budgeted = try await call("/query", .post, "/query", token: setup.tokens["pro"], #"{"query": "What is WAL mode?", "answer": "llm", \#(question)}"#, expect: .ok)
                #expect((budgeted["budget"] as? [String: Any])?["limit"] as? String == "key_daily_tokens")
                #expect(stub.requests.count == 1)

                // Daily usage.
                let today = UsageDay(containing: Date()).id
                let admin = setup.tokens["acme-admin"]
                let byModel = try await call("/usage", .get, "/usage?from=\(today)&to=\(today)&group_by=model", token: admin, expect: .ok)
                #expect(((byModel["daily"] as? [String: Any])?["rows"] as? [[String: Any]])?.compactMap { $0["model"] as? String } == ["good", "hashing-test"], "the chat model and the embedding of the questions")
                try await call("/usage", .get, "/usage?from=\(today)&to=\(today)", token: admin, expect: .ok)
                try await call("/usage", .get, "/usage?from=\(today)&to=\(today)&group_by=key", token: admin, expect: .ok)
                try await call("/usage", .get, "/usage?from=\(today)&group_by=tenant", token: admin, expect: .badRequest)
            }
        }
    }
}
