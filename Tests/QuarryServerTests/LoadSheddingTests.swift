import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryCore
import QuarryEmbedding
import QuarryRetrieval
import QuarryStore
import QuarryTestSupport
import Synchronization
import Testing

@testable import QuarryServer

/// Embeds calls of more than `gatedAbove` texts only once `open()` is called; smaller calls at
/// once. `waitUntilHeld()` returns when a call is waiting at the gate.
final class GatedEmbedder: Embedder {
    let base = HashingEmbedder()
    let gatedAbove: Int
    private let state = Mutex<(held: Int, open: Bool)>((0, false))
    init(gatedAbove: Int = 16) { self.gatedAbove = gatedAbove }
    var model: EmbeddingModelInfo { base.model }
    var maxInputTokens: Int { base.maxInputTokens }
    func tokenCount(_ text: String) -> Int { base.tokenCount(text) }
    func embed(_ texts: [String]) async throws -> [[Float]] {
        if texts.count > gatedAbove {
            state.withLock { $0.held += 1 }
            while !state.withLock({ $0.open }) { try await Task.sleep(for: .milliseconds(10)) }
        }
        return try await base.embed(texts)
    }
    func waitUntilHeld() async {
        while state.withLock({ $0.held }) == 0 { try? await Task.sleep(for: .milliseconds(10)) }
    }
    func open() { state.withLock { $0.open = true } }
}

/// A request written byte for byte on a plain socket, as a careless or hostile client would.
enum RawHTTP {
    /// Connects to 127.0.0.1:`port`, writes `text`, waits `pause`, writes `rest`, and reads until the
    /// server closes or `timeout` passes. Returns what was read and whether the server closed.
    /// The socket is read and written on a thread of its own: blocking one of Swift concurrency's
    /// few threads would starve the in-process server the test talks to.
    static func exchange(port: Int, _ text: String, pause: Duration = .zero, rest: String = "", timeout: Double = 60) async throws -> (response: String, closed: Bool) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try blockingExchange(port: port, text, pause: pause, rest: rest, timeout: timeout) })
            }
        }
    }

    private static func blockingExchange(port: Int, _ text: String, pause: Duration, rest: String, timeout: Double) throws -> (response: String, closed: Bool) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        var interval = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        _ = text.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        if pause > .zero { Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18 + Double(pause.components.seconds)) }
        if !rest.isEmpty { _ = rest.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return (String(decoding: received, as: UTF8.self), true) }
            if count < 0 { return (String(decoding: received, as: UTF8.self), false) }
            received += buffer[0..<count]
        }
    }
}

/// Issue 15: a bounded number of requests run per route class and a bounded number wait, beyond
/// which the server answers 503 with `Retry-After` at once; connections that do not send a
/// request in time are closed; only allowed hosts and origins are answered; `/v1/embeddings`
/// holds each call to its limits.
@Suite struct LoadSheddingTests {
    @Test func admissionRunsQueuesThenRefuses() async throws {
        let admission = AdmissionControl(limits: [.query: AdmissionLimit(inFlight: 1, queued: 1)], maxWait: .milliseconds(400))
        let gate = AsyncStream<Void>.makeStream()
        let first = Task {
            try await admission.run(.query) {
                for await _ in gate.stream { break }
                return Response(status: .ok)
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        // The second waits (the queue holds one), the third is refused at once.
        let second = Task { try await admission.run(.query) { Response(status: .ok) } }
        try await Task.sleep(for: .milliseconds(50))
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await admission.run(.query) { Response(status: .ok) }
            Issue.record("a third request ran past a full queue")
        } catch let error as APIError {
            #expect(error.status == .serviceUnavailable && error.code == "overloaded")
            #expect(error.headers[.retryAfter] == "1")
        }
        #expect(clock.now - start < .milliseconds(300), "refused at once, not after waiting")
        // Other classes are not held back by this one.
        #expect(try await admission.run(.read) { Response(status: .ok) }.status == .ok)
        // The waiting one gives up after maxWait, with a 503 too.
        do {
            _ = try await second.value
            Issue.record("the waiting request ran while the first still held the only slot")
        } catch let error as APIError {
            #expect(error.status == .serviceUnavailable)
        }
        gate.continuation.finish()
        #expect(try await first.value.status == .ok)
        // The slot is free again.
        #expect(try await admission.run(.query) { Response(status: .ok) }.status == .ok)
        let statistics = admission.statistics()[.query]
        #expect(statistics?.running == 0 && statistics?.waiting == 0 && statistics?.refused == 2)
    }

    @Test func aWaitingRequestRunsWhenASlotFrees() async throws {
        let admission = AdmissionControl(limits: [.write: AdmissionLimit(inFlight: 1, queued: 4)], maxWait: .seconds(10))
        final class Order: Sendable { let values = Mutex<[Int]>([]) }
        let order = Order()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<4 {
                group.addTask {
                    _ = try await admission.run(.write) {
                        order.values.withLock { $0.append(index) }
                        try await Task.sleep(for: .milliseconds(30))
                        return Response(status: .ok)
                    }
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            try await group.waitForAll()
        }
        #expect(order.values.withLock { $0 } == [0, 1, 2, 3], "first come, first served")
    }

    @Test func overloadedRoutesAnswer503WithRetryAfterAndHealthStaysUp() async throws {
        let storeDirectory = try TemporaryDirectory()
        defer { storeDirectory.cleanUp() }
        let store = try SQLiteChunkStore(directory: storeDirectory.url)
        let embedder = GatedEmbedder(gatedAbove: 0)
        _ = try await store.ensureCollection(named: "default", model: embedder.model)
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder), store: store,
            configuration: ServerConfiguration(
                // The test client's own connection idles while the raw exchanges run (it may not
                // even have sent its first request): a busy machine must not see it closed by the
                // idle or header timeout, which this test is not about.
                host: "127.0.0.1", port: 0, idleTimeout: .seconds(300), headerTimeout: .seconds(300), admission: [.query: AdmissionLimit(inFlight: 1, queued: 0)]
            ),
            logger: Logger(label: "test")
        )
        try await app.test(.live) { client in
            // Two connections at once (the test client has one): the second finds the only slot taken.
            let port = try #require(client.port)
            let body = #"{"query": "anything", "mode": "dense"}"#
            let request = "POST /search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            let slow = Task { try await RawHTTP.exchange(port: port, request) }
            await embedder.waitUntilHeld()
            let refused = try await RawHTTP.exchange(port: port, request).response
            #expect(refused.hasPrefix("HTTP/1.1 503"))
            #expect(refused.lowercased().contains("retry-after: 1"))
            #expect(refused.contains("\"overloaded\""))
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
            embedder.open()
            #expect(try await slow.value.response.hasPrefix("HTTP/1.1 200"))
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains(#"quarry_requests_refused_total{class="query"} 1"#))
            #expect(metrics.contains(#"quarry_requests_in_flight{class="query"} 0"#))
        }
        await store.close()
    }

    @Test func aConnectionThatSendsNoWholeRequestIsClosed() async throws {
        let storeDirectory = try TemporaryDirectory()
        defer { storeDirectory.cleanUp() }
        let store = try SQLiteChunkStore(directory: storeDirectory.url)
        let embedder = HashingEmbedder()
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder), store: store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0, idleTimeout: .seconds(2), headerTimeout: .seconds(1)),
            logger: Logger(label: "test")
        )
        try await app.test(.live) { client in
            let port = try #require(client.port)
            // Half a request head, then nothing: the server closes the connection (after the 1 s
            // header timeout; the test waits far longer, so a busy machine cannot fail it, while a
            // server without the timeout keeps the connection open for as long as the client waits).
            let half = try await RawHTTP.exchange(port: port, "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ", timeout: 30)
            #expect(half.closed, "the connection was still open after 30 s")
            // A whole request is answered; then the idle keep-alive connection is closed (2 s).
            let whole = try await RawHTTP.exchange(port: port, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n", timeout: 30)
            #expect(whole.response.hasPrefix("HTTP/1.1 200"))
            #expect(whole.closed, "the idle connection was still open after 30 s")
            // A head sent in two parts within the timeout is answered.
            let parts = try await RawHTTP.exchange(
                port: port, "GET /health HTTP/1.1\r\nHost: loc", pause: .milliseconds(300), rest: "alhost\r\nConnection: close\r\n\r\n"
            )
            #expect(parts.response.hasPrefix("HTTP/1.1 200"))
        }
        await store.close()
    }

    @Test func onlyAllowedHostsAndOriginsAreAnswered() async throws {
        let storeDirectory = try TemporaryDirectory()
        defer { storeDirectory.cleanUp() }
        let store = try SQLiteChunkStore(directory: storeDirectory.url)
        let embedder = HashingEmbedder()
        _ = try await store.ensureCollection(named: "default", model: embedder.model)
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder), store: store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0, site: SitePolicy(corsOrigins: ["https://app.example.com"])),
            logger: Logger(label: "test")
        )
        try await app.test(.live) { client in
            let port = try #require(client.port)
            func raw(_ head: String, body: String = "") async throws -> String {
                let length = body.isEmpty ? "" : "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
                return try await RawHTTP.exchange(port: port, "\(head)\(length)Connection: close\r\n\r\n\(body)").response
            }
            let search = #"{"query": "x"}"#
            // DNS rebinding: a name that is not this server's.
            #expect(try await raw("POST /search HTTP/1.1\r\nHost: attacker.example\r\n", body: search).hasPrefix("HTTP/1.1 421"))
            #expect(try await raw("POST /search HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n", body: search).hasPrefix("HTTP/1.1 200"))
            // A page of another site: refused; the same origin and the configured one are answered.
            let evil = try await raw("POST /search HTTP/1.1\r\nHost: localhost:\(port)\r\nOrigin: https://evil.example\r\n", body: search)
            #expect(evil.hasPrefix("HTTP/1.1 403") && evil.contains("origin_not_allowed"))
            #expect(!evil.lowercased().contains("access-control-allow-origin"))
            let same = try await raw("POST /search HTTP/1.1\r\nHost: localhost:\(port)\r\nOrigin: http://localhost:\(port)\r\n", body: search)
            #expect(same.hasPrefix("HTTP/1.1 200"))
            let allowed = try await raw("POST /search HTTP/1.1\r\nHost: localhost:\(port)\r\nOrigin: https://app.example.com\r\n", body: search)
            #expect(allowed.hasPrefix("HTTP/1.1 200"))
            #expect(allowed.lowercased().contains("access-control-allow-origin: https://app.example.com"))
            // The preflight is answered without a key.
            let preflight = try await raw(
                "OPTIONS /query HTTP/1.1\r\nHost: localhost:\(port)\r\nOrigin: https://app.example.com\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, content-type\r\n"
            )
            #expect(preflight.hasPrefix("HTTP/1.1 204"))
            #expect(preflight.lowercased().contains("access-control-allow-methods: get, post, delete"))
            #expect(preflight.lowercased().contains("access-control-allow-headers: authorization, content-type"))
        }
        await store.close()
    }

    @Test func sitePolicyNames() {
        let loopback = SitePolicy().resolved(listeningOn: "127.0.0.1")
        #expect(loopback.allows(host: "localhost:8080") && loopback.allows(host: "127.0.0.1") && loopback.allows(host: "[::1]:80"))
        #expect(!loopback.allows(host: "rebound.attacker.example:8080"))
        #expect(SitePolicy().resolved(listeningOn: "0.0.0.0").allows(host: "quarry.internal"))
        let named = SitePolicy(allowedHosts: ["quarry.internal", "search.example:443"]).resolved(listeningOn: "0.0.0.0")
        #expect(named.allows(host: "QUARRY.internal:8080") && named.allows(host: "search.example:443"))
        #expect(!named.allows(host: "search.example:8443") && !named.allows(host: "other"))
        #expect(SitePolicy.authority(ofOrigin: "https://App.Example.com") == "app.example.com")
        #expect(SitePolicy.authority(ofOrigin: "null") == nil)
        #expect(SitePolicy(corsOrigins: ["*"]).allowsCORS(from: "https://anything.example"))
    }

    /// Small `/v1/embeddings` calls are admitted apart from large ones: a full bulk class refuses
    /// the next large call (a large body, or a small body of many texts) while a one-text call
    /// still runs at once.
    @Test func smallEmbeddingCallsNeverWaitBehindLargeOnes() async throws {
        #expect(RouteClass.of(method: .post, path: "/v1/embeddings", contentLength: 200) == .embeddings)
        #expect(RouteClass.of(method: .post, path: "/v1/embeddings", contentLength: 200_000) == .embeddingsBulk)
        #expect(RouteClass.of(method: .post, path: "/v1/embeddings", contentLength: nil) == .embeddingsBulk, "chunked: size unknown")
        let storeDirectory = try TemporaryDirectory()
        defer { storeDirectory.cleanUp() }
        let store = try SQLiteChunkStore(directory: storeDirectory.url)
        let embedder = GatedEmbedder()
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder), store: store,
            configuration: ServerConfiguration(
                host: "127.0.0.1", port: 0, idleTimeout: .seconds(300), headerTimeout: .seconds(300),
                admission: [.embeddings: AdmissionLimit(inFlight: 1, queued: 0), .embeddingsBulk: AdmissionLimit(inFlight: 1, queued: 0)]
            ),
            logger: Logger(label: "test")
        )
        try await app.test(.live) { client in
            let port = try #require(client.port)
            func request(_ texts: [String]) throws -> String {
                let body = String(decoding: try JSONSerialization.data(withJSONObject: ["input": texts]), as: UTF8.self)
                return "POST /v1/embeddings HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            }
            let large = try request((0..<64).map { "passage \($0): " + String(repeating: "words of a long passage ", count: 12) })
            let running = Task { try await RawHTTP.exchange(port: port, large) }
            // The first large call holds the only bulk turn until the gate opens.
            await embedder.waitUntilHeld()
            let refused = try await RawHTTP.exchange(port: port, large).response
            #expect(refused.hasPrefix("HTTP/1.1 503") && refused.contains("embeddings_bulk"), "\(refused.prefix(300))")
            // Many short texts make a small body, but bulk work all the same: read, then refused.
            let manyShort = try await RawHTTP.exchange(port: port, try request((0..<64).map { "question \($0)" })).response
            #expect(manyShort.hasPrefix("HTTP/1.1 503") && manyShort.contains("embeddings_bulk"), "\(manyShort.prefix(300))")
            let small = try await RawHTTP.exchange(port: port, try request(["one question"])).response
            #expect(small.hasPrefix("HTTP/1.1 200"), "\(small.prefix(300))")
            embedder.open()
            #expect(try await running.value.response.hasPrefix("HTTP/1.1 200"))
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains(#"quarry_requests_refused_total{class="embeddings_bulk"} 2"#))
            #expect(metrics.contains(#"quarry_requests_refused_total{class="embeddings"} 0"#))
        }
        await store.close()
    }

    @Test func embeddingCallsAreHeldToTheirLimits() async throws {
        let storeDirectory = try TemporaryDirectory()
        defer { storeDirectory.cleanUp() }
        let store = try SQLiteChunkStore(directory: storeDirectory.url)
        let embedder = HashingEmbedder()
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder), store: store,
            // Over a socket, since bulk work watches the connection (the router test framework
            // has none); a busy machine must not see the test client's connection timed out.
            configuration: ServerConfiguration(
                host: "127.0.0.1", port: 0, idleTimeout: .seconds(300), headerTimeout: .seconds(300),
                embeddings: EmbeddingLimits(maxInputs: 8, maxTokens: 100, interactiveInputs: 2)
            ),
            logger: Logger(label: "test")
        )
        try await app.test(.live) { client in
            func embed(_ input: [String]) async throws -> TestResponse {
                let body = try JSONSerialization.data(withJSONObject: ["input": input])
                return try await client.execute(uri: "/v1/embeddings", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(bytes: body))
            }
            #expect(try await embed(["one", "two"]).status == .ok)
            let many = try await embed(Array(repeating: "text", count: 9))
            #expect(many.status == .badRequest && String(buffer: many.body).contains("1 to 8 texts"))
            let long = try await embed(Array(repeating: (0..<30).map { "word\($0)" }.joined(separator: " "), count: 5))
            #expect(long.status == .badRequest && String(buffer: long.body).contains("at most 100 per call"))
            // A large call within the limits is bulk work, answered whole, and its connection closed after it.
            let bulk = try await embed(Array(repeating: "a b c", count: 8))
            #expect(bulk.status == .ok)
            #expect(bulk.headers[.connection] == "close")
        }
        await store.close()
    }
}
