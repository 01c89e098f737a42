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

/// What schemathesis found over `/openapi.json` (scripts/schemathesis.sh), each kept fixed: input
/// the document refuses is a 400, never stored, and every answer, streamed ones included, is
/// what the document says.
@Suite struct FuzzFindingsTests {
    @Test func badInputIsRefusedAndEveryAnswerIsDescribed() async throws {
        let docs = try TemporaryDirectory()
        defer { docs.cleanUp() }
        try docs.write("# Guide\n\nThe guide explains checkpoints and the WAL file.", to: "docs/guide.md")
        let store = try SQLiteChunkStore(directory: docs.url.appendingPathComponent(".store"))
        let embedder = HashingEmbedder()
        _ = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: docs.url.appendingPathComponent("docs"), collection: "default")
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder), store: store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), logger: Logger(label: "test")
        )
        try await app.test(.router) { client in
            let spec = try await client.execute(uri: "/openapi.json", method: .get)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(spec.body.readableBytesView)) as? [String: Any])
            let checker = SchemaChecker(document: document)

            func call(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil) async throws -> (Int, String) {
                let response = try await client.execute(
                    uri: uri, method: method, headers: [.contentType: "application/json"], body: body.map { ByteBuffer(string: $0) }
                )
                return (Int(response.status.code), String(decoding: response.body.readableBytesView, as: UTF8.self))
            }
            // Refused, each with a 400 naming what is wrong (nothing is created on the way).
            let refused: [(HTTPRequest.Method, String, String?, String)] = [
                // A key for 10^300 days ended in the year 506713, which no date-time holds.
                (.post, "/keys", #"{"role": "reader", "expires_in_days": 1e300}"#, "expires_in_days"),
                (.post, "/tenants", #"{"name": "t1", "tier": ""}"#, "tier name"),
                (.put, "/tenants/default", #"{"tier": "no tier"}"#, "tier name"),
                (.post, "/keys", #"{"role": "reader", "tier": ""}"#, "tier name"),
                (.get, "/keys?tenant=", nil, "tenant name"),
                (.post, "/ingest", #"{"path": "docs", "access": ["user:a\u0001b"]}"#, "principal"),
                (.put, "/documents/guide.md/access", #"{"access": ["user:a\u007fb"]}"#, "principal"),
            ]
            for (method, uri, body, mentions) in refused {
                let (status, text) = try await call(method, uri, body)
                #expect(status == 400, "\(method) \(uri) \(body ?? ""): \(status) \(text)")
                #expect(text.contains(mentions), "\(method) \(uri): \(text)")
            }
            #expect(try await call(.get, "/keys").1.contains(#""keys":[]"#))

            // A streamed query: every event is one the document describes, with the data it says.
            let (status, stream) = try await call(.post, "/query", #"{"query": "checkpoints WAL", "stream": true}"#)
            #expect(status == 200)
            let variants = try #require(((document["components"] as? [String: Any])?["schemas"] as? [String: Any])?["QueryEvent"] as? [String: Any])
            let branches = try #require(variants["oneOf"] as? [[String: Any]])
            var names: [String] = []
            for block in stream.components(separatedBy: "\n\n") where !block.isEmpty {
                let lines = block.split(separator: "\n")
                let name = try #require(lines.first { $0.hasPrefix("event: ") }).dropFirst("event: ".count)
                let data = try #require(lines.first { $0.hasPrefix("data: ") }).dropFirst("data: ".count)
                names.append(String(name))
                let branch = branches.first { (($0["properties"] as? [String: Any])?["event"] as? [String: Any])?["const"] as? String == String(name) }
                let dataSchema = try #require(((branch?["properties"] as? [String: Any])?["data"] as? [String: Any])?["contentSchema"] as? [String: Any], "event \(name)")
                let value = try JSONSerialization.jsonObject(with: Data(data.utf8))
                #expect(checker.problems(value, dataSchema).isEmpty, "\(name): \(checker.problems(value, dataSchema))")
            }
            #expect(names.first == "retrieval" && names.last == "done", "\(names)")

            // An RFC 3339 time with fractional seconds is a date-time like any other (last: once a
            // key exists, every request needs one).
            let (created, key) = try await call(.post, "/keys", #"{"role": "reader", "expires_at": "2090-01-02T03:04:05.678Z"}"#)
            #expect(created == 201, "\(key)")
            #expect(key.contains(#""expires_at":"2090-01-02T03:04:05Z""#), "\(key)")
        }
    }
}
