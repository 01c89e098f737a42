import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryCore
import QuarryIngest
import QuarryRetrieval
import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// What a careless or hostile client tried (issue 15): a path outside the roots answers the same
/// whether or not it exists, a NUL cannot shorten a document id, the job queue is bounded, and an
/// ended job cannot be cancelled.
@Suite struct IngestHardeningTests {
    @Test func probesAndFloodsAreRefusedPlainly() async throws {
        let root = try TemporaryDirectory()
        defer { root.cleanUp() }
        let storeDirectory = try TemporaryDirectory()
        defer { storeDirectory.cleanUp() }
        let store = try SQLiteChunkStore(directory: storeDirectory.url)
        let embedder = HashingEmbedder()
        for index in 0..<300 { try root.write("file \(index) words", to: "many/f\(index).txt") }
        try root.write("<p>hello</p>", to: "web/xss.html")
        let jobs = IngestJobs(store: store, embedder: embedder, roots: [root.url], logger: Logger(label: "test"), maxQueuedJobs: 2)
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder), store: store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), jobs: jobs, logger: Logger(label: "test")
        )
        try await app.test(.router) { client in
            func ingest(_ body: String) async throws -> TestResponse {
                try await client.execute(uri: "/ingest", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
            }
            // Outside the roots: 403 whether the folder exists or not (no existence oracle).
            #expect(try await ingest(#"{"path": "/etc"}"#).status == .forbidden)
            #expect(try await ingest(#"{"path": "/no/such/folder/anywhere"}"#).status == .forbidden)
            #expect(try await ingest(#"{"path": "missing"}"#).status == .notFound)

            let web = try await ingest(#"{"path": "web"}"#)
            let webID = try #require((try JSONSerialization.jsonObject(with: Data(web.body.readableBytesView)) as? [String: Any])?["job_id"] as? String)
            await jobs.wait(webID)
            // A NUL (or any control character) in a document id is refused, never cut at.
            for method in [HTTPRequest.Method.get, .delete] {
                let response = try await client.execute(uri: "/documents/xss.html%00ZZZ", method: method)
                #expect(response.status == .badRequest, "\(method)")
            }
            #expect(try await store.documents(in: "default").map(\.path) == ["xss.html"])
            // An ended job cannot be cancelled.
            #expect(try await client.execute(uri: "/jobs/\(webID)", method: .delete).status == .conflict)

            // Two may wait (and one run, once it has started); the next is refused with 429 rather
            // than queued.
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<5 { statuses.append(try await ingest(#"{"path": "many"}"#).status) }
            let accepted = statuses.prefix { $0 == .accepted }.count
            #expect((2...3).contains(accepted), "\(statuses)")
            #expect(statuses.dropFirst(accepted).allSatisfy { $0 == .tooManyRequests }, "\(statuses)")
            await jobs.shutdown()
        }
        await store.close()
    }

    /// A page on another site can make a browser POST `text/plain` or a form here without asking
    /// first; every JSON route refuses anything but JSON (415), so it cannot start an ingest or
    /// spend a tenant's tokens.
    @Test func onlyJSONBodiesAreAccepted() async throws {
        let storeDirectory = try TemporaryDirectory()
        defer { storeDirectory.cleanUp() }
        let store = try SQLiteChunkStore(directory: storeDirectory.url)
        let embedder = HashingEmbedder()
        _ = try await store.ensureCollection(named: "default", model: embedder.model)
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder), store: store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), logger: Logger(label: "test")
        )
        try await app.test(.router) { client in
            let body = ByteBuffer(string: #"{"query": "anything", "abstain": "never"}"#)
            for (type, expected) in [
                ("text/plain", HTTPResponse.Status.unsupportedMediaType), ("application/x-www-form-urlencoded", .unsupportedMediaType),
                ("multipart/form-data; boundary=x", .unsupportedMediaType), (nil, .unsupportedMediaType),
                ("application/json", .ok), ("application/json; charset=utf-8", .ok), ("Application/JSON", .ok), ("application/vnd.quarry+json", .ok),
            ] {
                var headers: HTTPFields = [:]
                if let type { headers[.contentType] = type }
                for uri in ["/query", "/ingest", "/v1/embeddings"] {
                    let response = try await client.execute(uri: uri, method: .post, headers: headers, body: body)
                    if expected == .unsupportedMediaType {
                        #expect(response.status == expected, "\(uri) \(type ?? "none")")
                        let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                        #expect(text.contains("Content-Type"), "\(text)")
                    } else if uri == "/query" {
                        #expect(response.status == expected, "\(uri) \(type ?? "none")")
                    }
                }
            }
        }
        await store.close()
    }
}
