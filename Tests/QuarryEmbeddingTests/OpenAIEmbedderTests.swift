import Foundation
import QuarryErrors
import Synchronization
import Testing

@testable import QuarryEmbedding

#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 that answers each request with the next scripted
/// response (repeating the last), for testing the HTTP embedder without a network.
final class StubHTTPServer: Sendable {
    struct Reply: Sendable {
        var status: Int
        var body: String
        var headers: [String: String] = [:]
    }

    let port: UInt16
    private let socketFD: Int32
    private let replies: Mutex<[Reply]>
    private let requests = Mutex<[String]>([])

    /// Bodies of the requests received so far.
    var receivedBodies: [String] { requests.withLock { $0 } }

    init(replies: [Reply]) throws {
        self.replies = Mutex(replies)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        socketFD = fd
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in serve() }
    }

    func stop() {
        shutdown(socketFD, Int32(SHUT_RDWR))
        close(socketFD)
    }

    private func serve() {
        while true {
            let client = accept(socketFD, nil, nil)
            guard client >= 0 else { return }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        // Read the head, then as many body bytes as Content-Length says.
        while true {
            let n = read(client, &buffer, buffer.count)
            guard n > 0 else { return }
            received += buffer[0..<n]
            let text = String(decoding: received, as: UTF8.self)
            guard let headEnd = text.range(of: "\r\n\r\n") else { continue }
            let head = text[..<headEnd.lowerBound].lowercased()
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            let body = text[headEnd.upperBound...]
            if body.utf8.count >= length {
                requests.withLock { $0.append(String(body)) }
                break
            }
        }
        let reply = replies.withLock { replies in replies.count > 1 ? replies.removeFirst() : replies[0] }
        var response = "HTTP/1.1 \(reply.status) Stub\r\nContent-Type: application/json\r\nConnection: close\r\n"
        for (name, value) in reply.headers { response += "\(name): \(value)\r\n" }
        response += "Content-Length: \(reply.body.utf8.count)\r\n\r\n\(reply.body)"
        let bytes = Array(response.utf8)
        _ = bytes.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
    }
}

@Suite struct OpenAIEmbedderTests {
    func embedder(port: UInt16, retries: Int = 3) -> OpenAIEmbedder {
        OpenAIEmbedder(
            configuration: OpenAIEmbedderConfiguration(
                baseURL: URL(string: "http://127.0.0.1:\(port)")!, apiKey: "test-key", model: "stub-embed", dimension: 3,
                timeout: .seconds(5), maxRetries: retries, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(50)
            )
        )
    }

    static let twoVectors = #"{"data": [{"index": 1, "embedding": [0, 3, 4]}, {"index": 0, "embedding": [2, 0, 0]}]}"#

    @Test func retriesA429ThenReturnsNormalisedVectorsInOrder() async throws {
        let server = try StubHTTPServer(replies: [
            .init(status: 429, body: #"{"error": {"message": "slow down"}}"#, headers: ["Retry-After": "0"]),
            .init(status: 503, body: "overloaded"),
            .init(status: 200, body: Self.twoVectors),
        ])
        defer { server.stop() }
        let vectors = try await embedder(port: server.port).embed(["first", "second"])
        #expect(vectors == [[1, 0, 0], [0, 0.6, 0.8]])
        #expect(server.receivedBodies.count == 3)
        let request = try JSONSerialization.jsonObject(with: Data(server.receivedBodies[0].utf8)) as? [String: Any]
        #expect(request?["model"] as? String == "stub-embed")
        #expect(request?["input"] as? [String] == ["first", "second"])
    }

    @Test func clientErrorsAreNotRetriedAndCarryTheServersMessage() async throws {
        let server = try StubHTTPServer(replies: [.init(status: 400, body: #"{"error": {"message": "unknown model"}}"#)])
        defer { server.stop() }
        do {
            _ = try await embedder(port: server.port).embed(["x"])
            Issue.record("a 400 was accepted")
        } catch let error as QuarryError {
            #expect(error.code == .embedding)
            #expect(error.message.contains("400"))
            #expect(error.message.contains("unknown model"))
        }
        #expect(server.receivedBodies.count == 1)
    }

    @Test func persistentServerErrorsGiveUpAfterTheRetries() async throws {
        let server = try StubHTTPServer(replies: [.init(status: 500, body: "boom")])
        defer { server.stop() }
        await #expect(throws: QuarryError.self) { try await embedder(port: server.port, retries: 2).embed(["x"]) }
        #expect(server.receivedBodies.count == 3)
    }

    @Test(arguments: [
        "not json",
        #"{"data": [{"index": 0, "embedding": [1, 0]}]}"#,
        #"{"data": [{"index": 0, "embedding": [1, 0, 0]}, {"index": 0, "embedding": [1, 0, 0]}]}"#,
        #"{"data": []}"#,
    ])
    func malformedAnswersAreRefused(body: String) async throws {
        let server = try StubHTTPServer(replies: [.init(status: 200, body: body)])
        defer { server.stop() }
        await #expect(throws: QuarryError.self) { try await embedder(port: server.port).embed(["a", "b"]) }
    }

    @Test func unreachableServiceIsARemoteFailure() async throws {
        let server = try StubHTTPServer(replies: [.init(status: 200, body: "{}")])
        let port = server.port
        server.stop()
        await #expect(throws: QuarryError.self) { try await embedder(port: port, retries: 1).embed(["x"]) }
    }

    @Test func endpointAndRetryPolicy() {
        let plain = OpenAIEmbedderConfiguration(baseURL: URL(string: "http://h:1")!, model: "m", dimension: 3)
        #expect(plain.endpoint.absoluteString == "http://h:1/v1/embeddings")
        let versioned = OpenAIEmbedderConfiguration(baseURL: URL(string: "https://api.openai.com/v1")!, model: "m", dimension: 3)
        #expect(versioned.endpoint.absoluteString == "https://api.openai.com/v1/embeddings")
        #expect(plain.retryPolicy == RetryPolicy(maxRetries: 4, initialBackoff: .milliseconds(500), maxBackoff: .seconds(8)))
    }
}
