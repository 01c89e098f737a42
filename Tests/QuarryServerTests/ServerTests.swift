import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryEmbedding
import QuarryIngest
import QuarryRetrieval
import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// Tests against a live server on loopback, with the real MiniLM model and a real SQLite store.
@Suite(.serialized) struct ServerTests {
    /// One store, ingested once, shared by the tests of this suite.
    actor Fixture {
        static let shared = Fixture()
        private var built: (store: SQLiteChunkStore, embedder: MiniLMEmbedder)?

        func get() async throws -> (store: SQLiteChunkStore, embedder: MiniLMEmbedder) {
            if let built { return built }
            let embedder = try MiniLMEmbedder(modelDirectory: modelDirectory())
            let docs = try TemporaryDirectory()
            try docs.write(
                """
                # Write-Ahead Logging

                The write-ahead log lets readers and writers work at the same time. \
                Changes are appended to a separate WAL file and moved into the database by a checkpoint.

                ## Checkpoints

                A checkpoint copies the pages of the WAL file back into the database file.
                """,
                to: "wal.md"
            )
            try docs.write(
                "Foreign key constraints are off by default. Enable them with PRAGMA foreign_keys = ON.",
                to: "foreign-keys.txt"
            )
            let store = try SQLiteChunkStore(directory: docs.url.appendingPathComponent(".store"))
            _ = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: docs.url, collection: "default")
            built = (store, embedder)
            return (store, embedder)
        }
    }

    func app() async throws -> some ApplicationProtocol {
        let (store, embedder) = try await Fixture.shared.get()
        return buildApplication(
            retriever: Retriever(store: store, embedder: embedder), store: store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), logger: Logger(label: "test")
        )
    }

    func json(_ response: TestResponse) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
        return try #require(object as? [String: Any])
    }

    func expectError(_ response: TestResponse, status: HTTPResponse.Status, code: String) throws {
        #expect(response.status == status)
        #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
        let error = try #require(try json(response)["error"] as? [String: Any])
        #expect(error["code"] as? String == code)
        #expect((error["message"] as? String)?.isEmpty == false)
    }

    func post(_ client: some TestClientProtocol, _ body: String, uri: String = "/query") async throws -> TestResponse {
        try await client.execute(
            uri: uri, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body)
        )
    }

    @Test func queryReturnsGroundedAnswerWithCitations() async throws {
        try await app().test(.router) { client in
            // Dense, so that the score is the cosine similarity (hybrid scores are fusion scores).
            let response = try await post(
                client, #"{"query": "What does a checkpoint do with the WAL file?", "top_k": 2, "mode": "dense"}"#
            )
            #expect(response.status == .ok)
            let body = try json(response)
            let citations = try #require(body["citations"] as? [[String: Any]])
            // Two chunks retrieved; neighbouring chunks of one document are merged into one passage.
            #expect(citations.flatMap { $0["chunk_ids"] as? [String] ?? [] }.count == 2)
            let first = try #require(citations.first)
            #expect(first["id"] as? Int == 1)
            #expect(first["document"] as? String == "wal.md")
            #expect((first["chunk_id"] as? String)?.hasPrefix("wal.md#") == true)
            #expect((first["text"] as? String)?.contains("checkpoint") == true)
            #expect((first["score"] as? Double).map { $0 > 0.3 } == true)
            let location = try #require(first["location"] as? [String: Any])
            #expect((location["line_start"] as? Int).map { $0 >= 1 } == true)
            let answer = try #require(body["answer"] as? String)
            #expect(answer.contains("[1]"))
            #expect(answer.contains("checkpoint"))
            #expect(body["grounded"] as? Bool == true)
            let timings = try #require(body["timings_ms"] as? [String: Any])
            #expect(timings["total"] is Double)
        }
    }

    @Test func healthAndCollections() async throws {
        try await app().test(.router) { client in
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
            #expect(try json(health)["status"] as? String == "ok")
            let collections = try await client.execute(uri: "/collections", method: .get)
            let list = try #require(try json(collections)["collections"] as? [[String: Any]])
            #expect(list.first?["name"] as? String == "default")
            #expect(list.first?["documents"] as? Int == 2)
        }
    }

    @Test func badRequestsGetJSONErrors() async throws {
        try await app().test(.router) { client in
            try expectError(try await post(client, #"{"query": ""}"#), status: .badRequest, code: "invalid_request")
            try expectError(try await post(client, #"{"query": "   "}"#), status: .badRequest, code: "invalid_request")
            try expectError(try await post(client, #"{"top_k": 3}"#), status: .badRequest, code: "invalid_request")
            try expectError(try await post(client, #"{"query": 42}"#), status: .badRequest, code: "invalid_request")
            try expectError(try await post(client, #"{"query": "wal""#), status: .badRequest, code: "invalid_request")
            try expectError(try await post(client, "not json at all"), status: .badRequest, code: "invalid_request")
            try expectError(try await post(client, ""), status: .badRequest, code: "invalid_request")
            try expectError(try await post(client, "[1, 2]"), status: .badRequest, code: "invalid_request")
            // A number that does not fit its field is named, not called "not valid JSON".
            let fractional = try await post(client, #"{"query": "wal", "top_k": 5.5}"#)
            try expectError(fractional, status: .badRequest, code: "invalid_request")
            let message = String(decoding: fractional.body.readableBytesView, as: UTF8.self)
            #expect(message.contains("'top_k' must be a whole number, got 5.5"), "\(message)")
            try expectError(
                try await post(client, #"{"query": "wal", "top_k": 0}"#), status: .badRequest, code: "invalid_request"
            )
            try expectError(
                try await post(client, #"{"query": "wal", "top_k": 100000}"#), status: .badRequest, code: "invalid_request"
            )
            try expectError(
                try await post(client, #"{"query": "wal", "collection": "nope"}"#), status: .notFound, code: "not_found"
            )
            try expectError(try await post(client, #"{"query": "wal", "ef": 0}"#), status: .badRequest, code: "invalid_request")
            try expectError(try await post(client, #"{"query": "wal", "ef": 5000}"#), status: .badRequest, code: "invalid_request")
            try expectError(try await post(client, #"{"query": "wal", "ef": "high"}"#), status: .badRequest, code: "invalid_request")
            try expectError(
                try await post(client, #"{"query": "wal", "collection": "../etc"}"#), status: .badRequest,
                code: "invalid_request"
            )
            let huge = #"{"query": ""# + String(repeating: "a", count: 1 << 20) + #""}"#
            try expectError(try await post(client, huge), status: .contentTooLarge, code: "payload_too_large")
            try expectError(
                try await client.execute(uri: "/no-such-route", method: .get), status: .notFound, code: "not_found"
            )
        }
    }

    @Test func serverKeepsServingAfterErrors() async throws {
        try await app().test(.router) { client in
            for _ in 0..<3 {
                _ = try await post(client, "{")
            }
            let response = try await post(client, #"{"query": "foreign keys", "ef": 100}"#)
            #expect(response.status == .ok)
            #expect(try json(response)["answer"] as? String != nil)
        }
    }
}
