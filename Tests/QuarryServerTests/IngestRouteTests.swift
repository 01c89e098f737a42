import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryIngest
import QuarryRetrieval
import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// `POST /ingest`, `/jobs/{id}`, `/documents` and `/search`, on a live server with the hashing
/// embedder; the jobs, documents and search tests on each store backend.
@Suite struct IngestRouteTests {
    struct Setup {
        let root: TemporaryDirectory
        let storeDir: StoreFixture
        let store: any ChunkStore
        let jobs: IngestJobs
        let embedder = HashingEmbedder()

        init(_ backend: StoreBackend = .sqlite) async throws {
            root = try TemporaryDirectory()
            storeDir = try StoreFixture(backend)
            store = try await storeDir.open()
            jobs = IngestJobs(store: store, embedder: embedder, roots: [root.url], logger: Logger(label: "test"))
        }

        func app() -> some ApplicationProtocol {
            buildApplication(
                retriever: Retriever(store: store, embedder: embedder), store: store,
                configuration: ServerConfiguration(host: "127.0.0.1", port: 0), jobs: jobs, logger: Logger(label: "test")
            )
        }

        func cleanUp() {
            root.cleanUp()
            storeDir.cleanUp()
        }
    }

    func json(_ response: TestResponse) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
        return try #require(object as? [String: Any])
    }

    func post(_ client: some TestClientProtocol, _ uri: String, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }

    @Test(arguments: StoreBackend.allCases)
    func ingestJobRunsAndReportsProgressAndErrors(_ backend: StoreBackend) async throws {
        let setup = try await Setup(backend)
        defer { setup.cleanUp() }
        try setup.root.write("# Guide\n\nThe guide explains checkpoints.", to: "docs/guide.md")
        try setup.root.write(#"{"_id": "d1", "title": "One", "text": "First record."}"# + "\nnot json\n", to: "docs/corpus.jsonl")
        try await setup.app().test(.router) { client in
            let started = try await post(client, "/ingest", #"{"path": "docs", "collection": "team"}"#)
            #expect(started.status == .accepted)
            let id = try #require(try json(started)["job_id"] as? String)
            #expect(started.headers[.location] == "/jobs/\(id)")
            await setup.jobs.wait(id)
            let job = try json(try await client.execute(uri: "/jobs/\(id)", method: .get))
            #expect(job["state"] as? String == "succeeded")
            #expect(job["added"] as? Int == 2)
            #expect(job["files_done"] as? Int == 2 && job["files_total"] as? Int == 2)
            #expect(job["chunks_written"] as? Int == 2)
            let errors = try #require(job["errors"] as? [[String: Any]])
            #expect(errors.map { $0["path"] as? String } == ["corpus.jsonl:2"])
            #expect(job["started_at"] is String && job["finished_at"] is String)

            let list = try json(try await client.execute(uri: "/documents?collection=team", method: .get))
            #expect(list["total"] as? Int == 2)
            let ids = (list["documents"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == ["corpus.jsonl#d1", "guide.md"])

            let record = try await client.execute(uri: "/documents/corpus.jsonl%23d1?collection=team", method: .get)
            #expect(record.status == .ok)
            let detail = try json(record)
            #expect((detail["document"] as? [String: Any])?["source"] as? String == "corpus.jsonl")
            let chunks = try #require(detail["chunks"] as? [[String: Any]])
            #expect(chunks.first?["chunk_id"] as? String == "corpus.jsonl#d1#0")
            #expect((chunks.first?["location"] as? [String: Any])?["byte_start"] as? Int == 0)

            let deleted = try await client.execute(uri: "/documents/guide.md?collection=team", method: .delete)
            #expect(deleted.status == .ok)
            let gone = try await client.execute(uri: "/documents/guide.md?collection=team", method: .get)
            #expect(gone.status == .notFound)
            let again = try await client.execute(uri: "/documents/guide.md?collection=team", method: .delete)
            #expect(again.status == .notFound)
            #expect(try await setup.store.documents(in: "team").map(\.path) == ["corpus.jsonl#d1"])
        }
    }

    @Test func pathsOutsideTheRootsAndBadRequestsAreRefused() async throws {
        let setup = try await Setup()
        defer { setup.cleanUp() }
        let outside = try TemporaryDirectory()
        defer { outside.cleanUp() }
        try outside.write("secret", to: "secret.txt")
        try setup.root.write("fine", to: "ok/fine.txt")
        try FileManager.default.createSymbolicLink(
            at: setup.root.url.appendingPathComponent("escape"), withDestinationURL: outside.url
        )
        try FileManager.default.createSymbolicLink(
            at: setup.root.url.appendingPathComponent("ok/leak.txt"), withDestinationURL: outside.url.appendingPathComponent("secret.txt")
        )
        try await setup.app().test(.router) { client in
            for (body, status) in [
                (#"{"path": "../"}"#, HTTPResponse.Status.badRequest),
                (#"{"path": "ok/../../etc"}"#, .badRequest),
                (#"{"path": "escape"}"#, .forbidden),
                (#"{"path": "\#(outside.url.path)"}"#, .forbidden),
                (#"{"path": "/etc"}"#, .forbidden),
                (#"{"path": "missing"}"#, .notFound),
                (#"{"path": "ok/fine.txt"}"#, .badRequest),
                (#"{"path": "ok", "collection": "../x"}"#, .badRequest),
                (#"{"collection": "x"}"#, .badRequest),
                ("not json", .badRequest),
            ] {
                let response = try await post(client, "/ingest", body)
                #expect(response.status == status, "\(body)")
                #expect((try json(response)["error"] as? [String: Any])?["code"] is String)
            }
            // Inside the root, a link that leads out is reported, not followed.
            let started = try await post(client, "/ingest", #"{"path": "ok"}"#)
            let id = try #require(try json(started)["job_id"] as? String)
            await setup.jobs.wait(id)
            let job = try json(try await client.execute(uri: "/jobs/\(id)", method: .get))
            #expect(job["added"] as? Int == 1)
            #expect((job["errors"] as? [[String: Any]])?.first?["path"] as? String == "leak.txt")
            #expect(try await setup.store.documents(in: "default").map(\.path) == ["fine.txt"])

            let unknown = try await client.execute(uri: "/jobs/nope", method: .get)
            #expect(unknown.status == .notFound)
            let badLimit = try await client.execute(uri: "/documents?limit=0", method: .get)
            #expect(badLimit.status == .badRequest)
        }
    }

    /// After deletes over HTTP, the saved index follows the store within moments, without a
    /// search or an ingest to catch it up (`quarry verify` reported it lagging until then).
    @Test func theSavedIndexFollowsDeletes() async throws {
        let root = try TemporaryDirectory()
        defer { root.cleanUp() }
        let storeDirectory = try TemporaryDirectory()
        defer { storeDirectory.cleanUp() }
        for index in 0..<6 { try root.write("document \(index) about checkpoints", to: "docs/d\(index).txt") }
        let store = try SQLiteChunkStore(directory: storeDirectory.url, exactSearchLimit: 1)
        let embedder = HashingEmbedder()
        let jobs = IngestJobs(store: store, embedder: embedder, roots: [root.url], logger: Logger(label: "test"))
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder), store: store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), jobs: jobs, logger: Logger(label: "test")
        )
        try await app.test(.router) { client in
            let id = try #require(try json(try await post(client, "/ingest", #"{"path": "docs"}"#))["job_id"] as? String)
            await jobs.wait(id)
            #expect(try await store.verify().isEmpty)
            for index in 0..<2 {
                #expect(try await client.execute(uri: "/documents/d\(index).txt", method: .delete).status == .ok)
            }
            var problems = try await store.verify()
            for _ in 0..<100 where !problems.isEmpty {
                try await Task.sleep(for: .milliseconds(200))
                problems = try await store.verify()
            }
            #expect(problems.isEmpty, "\(problems)")
        }
        await jobs.shutdown()
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func cancellingAQueuedOrRunningJobStopsItCleanly(_ backend: StoreBackend) async throws {
        let setup = try await Setup(backend)
        defer { setup.cleanUp() }
        for index in 0..<300 { try setup.root.write("file \(index) words", to: "many/f\(index).txt") }
        try setup.root.write("later", to: "later/one.txt")
        try await setup.app().test(.router) { client in
            let first = try #require(try json(try await post(client, "/ingest", #"{"path": "many"}"#))["job_id"] as? String)
            let second = try #require(try json(try await post(client, "/ingest", #"{"path": "later"}"#))["job_id"] as? String)
            let cancelled = try await client.execute(uri: "/jobs/\(second)", method: .delete)
            #expect(cancelled.status == .accepted)
            _ = try await client.execute(uri: "/jobs/\(first)", method: .delete)
            await setup.jobs.wait(first)
            await setup.jobs.wait(second)
            let secondState = try json(try await client.execute(uri: "/jobs/\(second)", method: .get))["state"] as? String
            #expect(secondState == "cancelled")
            let firstState = try json(try await client.execute(uri: "/jobs/\(first)", method: .get))["state"] as? String
            #expect(firstState == "cancelled" || firstState == "succeeded")
            // Whatever the first job wrote is whole: every stored document has its chunk.
            let collection = try await setup.store.collection(named: "default")
            #expect(collection.map { $0.chunkCount == $0.documentCount } ?? true)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func searchRouteReturnsRankedHitsPerMode(_ backend: StoreBackend) async throws {
        let setup = try await Setup(backend)
        defer { setup.cleanUp() }
        try setup.root.write("The zorblax protocol negotiates keys.", to: "docs/rare.txt")
        try setup.root.write("Keys rotate every day in the vault.", to: "docs/keys.txt")
        _ = try await FolderIngestor(store: setup.store, embedder: setup.embedder)
            .ingest(folder: setup.root.url.appendingPathComponent("docs"), collection: "default")
        try await setup.app().test(.router) { client in
            let hybrid = try json(try await post(client, "/search", #"{"query": "zorblax keys", "top_k": 2}"#))
            #expect(hybrid["mode"] as? String == "hybrid")
            let hits = try #require(hybrid["hits"] as? [[String: Any]])
            #expect(hits.map { $0["rank"] as? Int } == [1, 2])
            #expect(hits.first?["document"] as? String == "rare.txt")
            #expect(hits.first?["dense_score"] is Double && hits.first?["lexical_score"] is Double)
            let timings = try #require(hybrid["timings_ms"] as? [String: Any])
            #expect(timings["lexical"] is Double && timings["dense"] is Double && timings["fuse"] is Double)

            let lexical = try json(try await post(client, "/search", #"{"query": "zorblax", "mode": "lexical"}"#))
            #expect((lexical["hits"] as? [[String: Any]])?.map { $0["document"] as? String } == ["rare.txt"])
            let query = try json(try await post(client, "/query", #"{"query": "zorblax", "mode": "dense", "top_k": 1}"#))
            #expect(query["mode"] as? String == "dense")

            let filtered = try json(
                try await post(client, "/search", #"{"query": "zorblax keys", "filter": {"documents": ["keys.txt"]}, "top_k": 5}"#)
            )
            #expect((filtered["hits"] as? [[String: Any]])?.map { $0["document"] as? String } == ["keys.txt"])
            let byType = try json(try await post(client, "/query", #"{"query": "keys", "filter": {"file_types": [".PDF"]}}"#))
            #expect((byType["citations"] as? [Any])?.isEmpty == true)
            #expect(byType["grounded"] as? Bool == false)

            for body in [#"{"query": "keys", "filter": {"documents": "keys.txt"}}"#, #"{"query": "keys", "mode": "fuzzy"}"#, #"{"query": "keys", "mode": 3}"#, #"{"query": ""}"#, #"{"mode": "dense"}"#] {
                let response = try await post(client, "/search", body)
                #expect(response.status == .badRequest, "\(body)")
            }
        }
    }

    @Test func openAICompatibleEmbeddings() async throws {
        let setup = try await Setup()
        defer { setup.cleanUp() }
        try await setup.app().test(.router) { client in
            let one = try json(try await post(client, "/v1/embeddings", #"{"input": "vector search", "model": "hashing-test"}"#))
            #expect(one["object"] as? String == "list")
            #expect(one["model"] as? String == "hashing-test")
            let data = try #require(one["data"] as? [[String: Any]])
            let vector = try #require(data.first?["embedding"] as? [Double])
            #expect(data.first?["index"] as? Int == 0 && data.first?["object"] as? String == "embedding")
            #expect(vector.map { Float($0) } == setup.embedder.vector("vector search"))
            #expect((one["usage"] as? [String: Any])?["prompt_tokens"] as? Int == 4)

            let two = try json(try await post(client, "/v1/embeddings", #"{"input": ["a b", "c"], "encoding_format": "base64"}"#))
            let items = try #require(two["data"] as? [[String: Any]])
            #expect(items.map { $0["index"] as? Int } == [0, 1])
            let text = try #require(items[1]["embedding"] as? String)
            let encoded = try #require(Data(base64Encoded: text))
            let floats = encoded.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            #expect(floats == setup.embedder.vector("c"))

            for body in [
                #"{"input": []}"#, #"{"input": ""}"#, #"{"input": ["ok", ""]}"#, #"{"input": 42}"#, #"{"model": "x"}"#,
                #"{"input": "x", "model": "text-embedding-3-small"}"#, #"{"input": "x", "encoding_format": "int8"}"#,
                "{\"input\": [" + Array(repeating: "\"t\"", count: 257).joined(separator: ",") + "]}",
            ] {
                let response = try await post(client, "/v1/embeddings", body)
                #expect(response.status == .badRequest, "\(body.prefix(60))")
            }
        }
    }

    @Test func requestIDsAndPrometheusMetrics() async throws {
        let setup = try await Setup()
        defer { setup.cleanUp() }
        try setup.root.write("Keys rotate every day in the vault.", to: "docs/keys.txt")
        _ = try await FolderIngestor(store: setup.store, embedder: setup.embedder)
            .ingest(folder: setup.root.url.appendingPathComponent("docs"), collection: "default")
        try await setup.app().test(.router) { client in
            let ok = try await post(client, "/search", #"{"query": "keys vault"}"#)
            let generated = try #require(ok.headers[.init("X-Request-Id")!])
            #expect(!generated.isEmpty)
            let echoed = try await client.execute(
                uri: "/health", method: .get, headers: [.init("X-Request-Id")!: "trace-42.a_b"]
            )
            #expect(echoed.headers[.init("X-Request-Id")!] == "trace-42.a_b")
            let refused = try await client.execute(uri: "/health", method: .get, headers: [.init("X-Request-Id")!: "bad id\n"])
            #expect(refused.headers[.init("X-Request-Id")!] != "bad id\n")
            let failed = try await client.execute(
                uri: "/search", method: .post, headers: [.contentType: "application/json", .init("X-Request-Id")!: "req-7"],
                body: ByteBuffer(string: #"{"query": ""}"#)
            )
            #expect(failed.status == .badRequest)
            #expect(failed.headers[.init("X-Request-Id")!] == "req-7")
            #expect(try json(failed)["request_id"] as? String == "req-7")
            _ = try await post(client, "/query", #"{"query": "keys", "mode": "lexical"}"#)
            _ = try await client.execute(uri: "/jobs/abc", method: .get)

            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = String(buffer: metrics.body)
            #expect(text.contains(#"quarry_http_requests_total{route="/search",method="POST",status="200"} 1"#))
            #expect(text.contains(#"quarry_http_requests_total{route="/search",method="POST",status="400"} 1"#))
            #expect(text.contains(#"quarry_http_requests_total{route="/jobs/{id}",method="GET",status="404"} 1"#))
            #expect(text.contains(#"quarry_http_request_duration_seconds_bucket{route="/health",le="+Inf"} 2"#))
            #expect(text.contains(#"quarry_query_stage_duration_seconds_count{stage="lexical"} 2"#))
            #expect(text.contains(#"quarry_query_stage_duration_seconds_count{stage="embed"} 1"#))
            #expect(text.contains(#"quarry_collection_chunks{collection="default"} 1"#))
            // Every line is a comment or `name{labels} value`.
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                #expect(line.split(separator: " ").count == 2, "\(line)")
            }
        }
    }
}
