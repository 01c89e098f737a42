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

#if canImport(Glibc)
import Glibc
#endif

/// What the HTTP edge answers to requests no route describes: a method a path does not take, a
/// HEAD, a body HTTP cannot parse. A live server on loopback over a real SQLite store.
@Suite struct HTTPMethodTests {
    func withServer(_ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let docs = try TemporaryDirectory()
        defer { docs.cleanUp() }
        try docs.write("# Guide\n\nThe guide explains checkpoints.", to: "guide.md")
        let store = try SQLiteChunkStore(directory: docs.url.appendingPathComponent(".store"))
        let embedder = HashingEmbedder()
        _ = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: docs.url, collection: "default")
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder), store: store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0, maxBodyBytes: 1024), logger: Logger(label: "test")
        )
        try await app.test(.live, test)
    }

    @Test func aMethodAPathDoesNotTakeIs405WithTheMethodsItTakes() async throws {
        try await withServer { client in
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.options, "/query", "POST"),
                (.trace, "/health", "GET, HEAD"),
                (.delete, "/health", "GET, HEAD"),
                (.head, "/search", "POST"),
                (.patch, "/keys", "GET, HEAD, POST"),
                (.options, "/jobs/123", "DELETE, GET, HEAD"),
                (.post, "/documents/guide.md", "DELETE, GET, HEAD"),
                (.put, "/documents/guide.md", "DELETE, GET, HEAD"),
                (.post, "/documents/guide.md/access", "PUT"),
                (.get, "/documents/guide.md/access", "PUT"),
                (.delete, "/documents/guide.md/access", "PUT"),
                (.put, "/tenants", "GET, HEAD, POST"),
            ]
            for (method, uri, allow) in cases {
                let response = try await client.execute(uri: uri, method: method)
                #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                if method != .head {
                    let body = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                    #expect((body?["error"] as? [String: Any])?["code"] as? String == "method_not_allowed", "\(method) \(uri)")
                }
            }
            // The document is still there: none of the refused requests touched it.
            #expect(try await client.execute(uri: "/documents/guide.md", method: .get).status == .ok)
        }
    }

    @Test func unknownPathsStay404() async throws {
        try await withServer { client in
            for (method, uri) in [(HTTPRequest.Method.get, "/nothing"), (.options, "/nothing"), (.head, "/query/x"), (.get, "/jobs/1/x")] {
                let response = try await client.execute(uri: uri, method: method)
                #expect(response.status == .notFound, "\(method) \(uri)")
                #expect(response.headers[.allow] == nil, "\(method) \(uri)")
            }
            // A document that does not exist is still a 404 to the methods its path takes.
            #expect(try await client.execute(uri: "/documents/missing.md", method: .get).status == .notFound)
        }
    }

    @Test func headAnswersLikeGetWithoutTheBody() async throws {
        try await withServer { client in
            for uri in ["/health", "/collections", "/documents/guide.md", "/openapi.json"] {
                let get = try await client.execute(uri: uri, method: .get)
                let head = try await client.execute(uri: uri, method: .head)
                #expect(get.status == .ok && head.status == .ok, "\(uri)")
                #expect(head.headers[.contentType] == get.headers[.contentType], "\(uri)")
                #expect(head.body.readableBytes == 0 && get.body.readableBytes > 0, "\(uri)")
            }
            #expect(try await client.execute(uri: "/documents/missing.md", method: .head).status == .notFound)
        }
    }

    /// A chunked body whose chunk size is not hexadecimal is the client's mistake: 400, not the
    /// 413 of a body over the limit (which a chunked body over the limit still gets).
    @Test func aMalformedChunkedBodyIs400AndAnOversizedOne413() async throws {
        try await withServer { client in
            let port = try #require(client.port)
            for route in ["/ingest", "/query", "/keys/abc/rotate"] {
                let malformed = try await RawHTTP.exchange(
                    port: port,
                    "POST \(route) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "ZZ\r\n{\"path\": \"x\"}\r\n0\r\n\r\n"
                ).response
                #expect(malformed.hasPrefix("HTTP/1.1 400 "), "\(route): \(malformed)")
                #expect(malformed.contains("could not be read"), "\(route): \(malformed)")
            }
            let chunk = String(repeating: "a", count: 800)
            let oversized = try await RawHTTP.exchange(
                port: port,
                "POST /query HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "320\r\n\(chunk)\r\n320\r\n\(chunk)\r\n0\r\n\r\n"
            ).response
            #expect(oversized.hasPrefix("HTTP/1.1 413 "), "\(oversized)")
            // The optional body of a key rotation has a limit of its own (64 KiB): over it, 413.
            let big = String(repeating: " ", count: 70_000)
            let rotation = try await RawHTTP.exchange(
                port: port,
                "POST /keys/abc/rotate HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n\(String(big.utf8.count, radix: 16))\r\n\(big)\r\n0\r\n\r\n"
            ).response
            #expect(rotation.hasPrefix("HTTP/1.1 413 "), "\(rotation)")
        }
    }
}
