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

/// The routes the web console added to the API: `GET /info`, `POST /search` with `explain`,
/// `GET /jobs`, `GET /documents?contains=`, and `model` on `POST /query`.
@Suite struct ConsoleAPITests {
    typealias Auth = AuthenticationTests

    @Test func infoTellsEachCallerWhatItMayDo() async throws {
        let setup = try await Auth.setUp()
        defer { setup.directory.cleanUp() }
        try await setup.app().test(.router) { client in
            #expect(try await Auth.request(client, .get, "/info", token: nil).status == .unauthorized)
            let reader = try Auth.json(try await Auth.request(client, .get, "/info", token: setup.tokens["acme-reader"]))
            #expect(reader["keys_required"] as? Bool == true)
            #expect((reader["principal"] as? [String: Any])?["tenant"] as? String == "acme")
            #expect((reader["principal"] as? [String: Any])?["role"] as? String == "reader")
            let readerCan = try #require(reader["can"] as? [String: Bool])
            #expect(readerCan == ["query": true, "read_documents": true, "ingest": false, "delete_documents": false, "administer": false])
            // Server paths only for those who may ingest under them.
            #expect(reader["ingest_roots"] == nil)
            #expect(reader["answerers"] as? [String] == ["none", "extractive"])
            #expect(reader["models"] as? [String] == [])
            #expect(reader["reports"] as? Bool == false)

            let writer = try Auth.json(try await Auth.request(client, .get, "/info", token: setup.tokens["acme-writer"]))
            #expect(writer["ingest_roots"] as? [String] == [setup.docs.standardizedFileURL.resolvingSymlinksInPath().path])
            #expect((writer["can"] as? [String: Bool])?["ingest"] == true)
            let admin = try Auth.json(try await Auth.request(client, .get, "/info", token: setup.tokens["acme-admin"]))
            #expect((admin["can"] as? [String: Bool])?["administer"] == true)
        }
    }

    /// The dense and lexical rankings explained are the ones each mode returns on its own, and
    /// each fused hit says where it stood in them.
    @Test func searchExplainsEachRetrieversRanking() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let texts = [
            "Checkpoints copy WAL pages back into the database file.", "The WAL file grows until a checkpoint runs.",
            "Foreign keys are off by default.", "Vacuum rebuilds the database file.", "Readers see a snapshot in WAL mode.",
            "Pages are the unit of storage.", "Locks protect the database from concurrent writers.",
        ]
        for (index, text) in texts.enumerated() { try directory.write(text, to: "docs/\(index).txt") }
        let store = try SQLiteChunkStore(directory: directory.url.appendingPathComponent("store"))
        let embedder = HashingEmbedder()
        _ = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: directory.url.appendingPathComponent("docs"), collection: "default")
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder), store: store, configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
            logger: Logger(label: "test")
        )
        try await app.test(.router) { client in
            func search(_ body: String) async throws -> [String: Any] {
                let response = try await Auth.request(client, .post, "/search", token: nil, body: body)
                #expect(response.status == .ok)
                return try Auth.json(response)
            }
            func ids(_ hits: Any?) -> [String] { (hits as? [[String: Any]] ?? []).compactMap { $0["chunk_id"] as? String } }
            let query = #""query": "WAL checkpoint pages database", "top_k": 3"#
            let explained = try await search("{\(query), \"explain\": true}")
            let explain = try #require(explained["explain"] as? [String: Any])
            #expect(ids(explain["dense"]) == ids(try await search("{\(query), \"mode\": \"dense\"}")["hits"]))
            #expect(ids(explain["lexical"]) == ids(try await search("{\(query), \"mode\": \"lexical\"}")["hits"]))
            #expect(ids(explained["hits"]) == ids(try await search("{\(query)}")["hits"]))
            #expect(explain["candidates"] as? Int == 50)
            let hits = try #require(explained["hits"] as? [[String: Any]])
            let denseIDs = ids(explain["dense"])
            for hit in hits {
                // A hit in the top 3 of a ranking has that rank; every fused hit was in one.
                let id = try #require(hit["chunk_id"] as? String)
                if let index = denseIDs.firstIndex(of: id) { #expect(hit["dense_rank"] as? Int == index + 1) }
                #expect(hit["dense_rank"] != nil || hit["lexical_rank"] != nil)
            }
            // Any mode is explained with both rankings; without `explain`, nothing is added.
            let lexical = try await search("{\(query), \"mode\": \"lexical\", \"explain\": true}")
            #expect(ids((lexical["explain"] as? [String: Any])?["dense"]) == denseIDs)
            #expect(ids(lexical["hits"]).count == 3)
            let plain = try await search("{\(query)}")
            #expect(plain["explain"] == nil && (plain["hits"] as? [[String: Any]])?.first?["dense_rank"] == nil)
        }
        await store.close()
    }

    @Test func jobsAreListedNewestFirstForTheirTenantOnly() async throws {
        let setup = try await Auth.setUp()
        defer { setup.directory.cleanUp() }
        try await setup.app().test(.router) { client in
            var started: [String] = []
            for collection in ["one", "two"] {
                let response = try await Auth.request(
                    client, .post, "/ingest", token: setup.tokens["acme-writer"], body: #"{"path": "\#(setup.docs.path)", "collection": "\#(collection)"}"#
                )
                #expect(response.status == .accepted)
                started.append(try #require(try Auth.json(response)["job_id"] as? String))
            }
            let list = try Auth.json(try await Auth.request(client, .get, "/jobs", token: setup.tokens["acme-writer"]))
            let jobs = try #require(list["jobs"] as? [[String: Any]])
            #expect(jobs.compactMap { $0["id"] as? String } == started.reversed())
            #expect(jobs.compactMap { $0["collection"] as? String } == ["two", "one"])
            let limited = try Auth.json(try await Auth.request(client, .get, "/jobs?limit=1", token: setup.tokens["acme-writer"]))
            #expect((limited["jobs"] as? [[String: Any]])?.count == 1)
            // Another tenant sees none of them; a reader may not list jobs; a bad limit is the caller's.
            let beta = try Auth.json(try await Auth.request(client, .get, "/jobs", token: setup.tokens["beta-admin"]))
            #expect((beta["jobs"] as? [[String: Any]])?.isEmpty == true)
            #expect(try await Auth.request(client, .get, "/jobs", token: setup.tokens["acme-reader"]).status == .forbidden)
            #expect(try await Auth.request(client, .get, "/jobs?limit=0", token: setup.tokens["acme-writer"]).status == .badRequest)
        }
    }

    @Test func documentsAreSearchedByPath() async throws {
        let setup = try await Auth.setUp()
        defer { setup.directory.cleanUp() }
        try await setup.app().test(.router) { client in
            let found = try Auth.json(try await Auth.request(client, .get, "/documents?collection=docs&contains=ACME", token: setup.tokens["acme-reader"]))
            #expect(found["total"] as? Int == 1)
            let none = try Auth.json(try await Auth.request(client, .get, "/documents?collection=docs&contains=beta", token: setup.tokens["acme-reader"]))
            #expect(none["total"] as? Int == 0)
            let long = String(repeating: "x", count: 1025)
            #expect(try await Auth.request(client, .get, "/documents?collection=docs&contains=\(long)", token: setup.tokens["acme-reader"]).status == .badRequest)
        }
    }

    /// `model` picks one of the caller's models and the answer says so; any other name, or a
    /// model without an LLM answer, is the caller's mistake.
    @Test func aRequestMayNameOneOfItsModels() async throws {
        try await LLMAnswerTests.withQuarry(models: ["broken", "good"], maxRetries: 0) { client, stub in
            let info = try Auth.json(try await client.execute(uri: "/info", method: .get))
            #expect(info["models"] as? [String] == ["broken", "good"])
            #expect(info["answerers"] as? [String] == ["none", "extractive", "llm"])
            let body = try LLMAnswerTests.json(try await LLMAnswerTests.query(client, #"{\#(LLMAnswerTests.question), "answer": "llm", "model": "good"}"#))
            #expect((body["llm"] as? [String: Any])?["model"] as? String == "good")
            #expect((body["routing"] as? [String: Any])?["route"] as? String == "request.model")
            #expect(stub.requests.map(\.model) == ["good"])
            for (request, words) in [
                (#"{\#(LLMAnswerTests.question), "answer": "llm", "model": "gpt-9"}"#, ["gpt-9", "'broken', 'good'"]),
                (#"{\#(LLMAnswerTests.question), "answer": "extractive", "model": "good"}"#, ["answer 'llm'"]),
                (#"{\#(LLMAnswerTests.question), "model": "good"}"#, ["answer 'llm'"]),
            ] {
                let response = try await LLMAnswerTests.query(client, request)
                #expect(response.status == .badRequest)
                let message = ((try LLMAnswerTests.json(response)["error"] as? [String: Any])?["message"] as? String) ?? ""
                for word in words { #expect(message.contains(word), "\(message)") }
            }
            #expect(stub.requests.count == 1)
        }
    }

    @Test func theModelsACallerMayNameAreItsTiersRoutes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let store = try SQLiteChunkStore(directory: directory.url)
        let small = ChatModel(baseURL: URL(string: "http://127.0.0.1:8081/v1")!, name: "small")
        let large = ChatModel(baseURL: URL(string: "http://127.0.0.1:8082/v1")!, name: "large")
        let router = ModelRouter(
            tiers: [
                "free": TierRoutes(chain: ModelRoute(name: "tiers.free.chain", models: [], fallbackToExtractive: true)),
                "pro": TierRoutes(
                    chain: ModelRoute(name: "tiers.pro.chain", models: [large, small], fallbackToExtractive: true),
                    short: ModelRoute(name: "tiers.pro.short", models: [small], fallbackToExtractive: true)
                ),
            ],
            defaultRoutes: TierRoutes(chain: ModelRoute(name: "default.chain", models: [small], fallbackToExtractive: true))
        )
        let llm = LLMAnswerer(client: ChatClient(settings: ChatSettings(models: [small, large])))
        let routed = Retriever(store: store, embedder: HashingEmbedder(), llm: llm, router: router)
        #expect(routed.selectableModels(tier: "pro").map(\.name) == ["large", "small"])
        #expect(routed.selectableModels(tier: "free").isEmpty)
        #expect(routed.selectableModels(tier: nil).map(\.name) == ["small"])
        #expect(routed.selectableModels(tier: "unknown").map(\.name) == ["small"])
        #expect(Retriever(store: store, embedder: HashingEmbedder(), llm: llm).selectableModels(tier: "pro").map(\.name) == ["small", "large"])
        #expect(Retriever(store: store, embedder: HashingEmbedder()).selectableModels(tier: nil).isEmpty)
    }
}
