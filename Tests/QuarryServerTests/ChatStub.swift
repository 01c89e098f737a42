import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// A local OpenAI-compatible chat API for the tests, scripted by model name:
///
/// - `good`: answers `ChatStub.goodAnswer` (two cited sentences), streamed word by word or whole.
/// - `flaky`: answers 429 (`Retry-After: 0`) to its first two requests, then as `good`.
/// - `stall`: waits two seconds before answering (longer than the tests' first-token timeout).
/// - `hang`: answers only when the stub stops (beyond any first-token timeout a test sets).
/// - `broken`: answers 500.
/// - `garbage`: answers 200 with text that is not JSON.
/// - `inventive`: an answer with an uncited sentence and a citation of source 9.
/// - `abstain`: `NOT_IN_SOURCES`.
/// - `dies`: streams one piece of text, then an error event.
/// - `nousage`: as `good`, without usage.
/// - `cut`: as `good`, but a stream ends with `[DONE]` and no `finish_reason` (interrupted).
/// - `leaky`: `ChatStub.leakyAnswer`, whose first sentence holds an e-mail address and a card
///   number (split across pieces when streamed).
final class ChatStub: Sendable {
    static let goodAnswer = "A checkpoint copies the pages of the WAL file back into the database [1]. Readers and writers work at the same time [2]."
    static let leakyAnswer = "Ask the DBA at dba.team@example.com or pay with 4111 1111 1111 1111 before a checkpoint [1]. Readers and writers work at the same time [2]."
    static let inventiveAnswer = "A checkpoint copies WAL pages back [1]. It also defragments the disk. Checkpoints run every minute [9]."

    struct Received: Sendable {
        var model: String
        var stream: Bool
        var maxTokens: Int?
        var messages: [[String: String]]
        var authorization: String?
    }

    private let received = Mutex<[Received]>([])
    private let stopping = Atomic<Bool>(false)

    /// Every request so far, in order.
    var requests: [Received] { received.withLock { $0 } }

    /// Runs `body` with the stub listening on a loopback port, passing the stub's base URL.
    func run(_ body: @escaping @Sendable (URL) async throws -> Void) async throws {
        let router = Router()
        router.post("/v1/chat/completions") { request, _ in try await self.answer(request) }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Logger(label: "stub"))
        try await app.test(.live) { client in
            defer { stopping.store(true, ordering: .relaxed) }
            let port = try #require(client.port)
            try await body(URL(string: "http://127.0.0.1:\(port)/v1")!)
        }
    }

    private func answer(_ request: Request) async throws -> Response {
        let data = try await request.body.collect(upTo: 1 << 20)
        let json = try JSONSerialization.jsonObject(with: Data(data.readableBytesView)) as? [String: Any] ?? [:]
        let model = json["model"] as? String ?? ""
        let stream = json["stream"] as? Bool ?? false
        let messages = (json["messages"] as? [[String: String]]) ?? []
        let count = received.withLock { received in
            received.append(
                Received(
                    model: model, stream: stream, maxTokens: json["max_tokens"] as? Int, messages: messages,
                    authorization: request.headers[.authorization]
                )
            )
            return received.filter { $0.model == model }.count
        }
        // An LLM judge's two questions, whatever the model: three claims, the last unsupported.
        let system = messages.first { $0["role"] == "system" }?["content"] ?? ""
        if system.contains("split an answer into its factual claims") {
            return reply(#"Here you are: {"claims": ["A checkpoint copies WAL pages.", "Readers work while writers write.", "Checkpoints run hourly."]}"#, model: model, stream: stream, usage: true)
        }
        if system.contains("You check claims against a context") {
            return reply(#"```json\n{"verdicts": [{"claim": 1, "supported": true}, {"claim": 2, "supported": true}, {"claim": 3, "supported": false}]}\n```"#, model: model, stream: stream, usage: true)
        }
        switch model {
        case "good", "nousage": return reply(Self.goodAnswer, model: model, stream: stream, usage: model == "good")
        case "cut": return reply(Self.goodAnswer, model: model, stream: stream, usage: false, finishes: false)
        case "flaky":
            if count <= 2 {
                return Response(
                    status: .tooManyRequests, headers: [.retryAfter: "0", .contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"error": {"message": "rate limited"}}"#))
                )
            }
            return reply(Self.goodAnswer, model: model, stream: stream, usage: true)
        case "stall":
            try await Task.sleep(for: .seconds(2))
            return reply(Self.goodAnswer, model: model, stream: stream, usage: true)
        case "hang":
            while !stopping.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(50)) }
            return reply(Self.goodAnswer, model: model, stream: stream, usage: true)
        case "broken":
            return Response(
                status: .internalServerError, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"error": {"message": "model crashed"}}"#))
            )
        case "garbage":
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "<html>oops</html>")))
        case "inventive": return reply(Self.inventiveAnswer, model: model, stream: stream, usage: true)
        case "leaky": return reply(Self.leakyAnswer, model: model, stream: stream, usage: true)
        case "abstain": return reply("NOT_IN_SOURCES", model: model, stream: stream, usage: true)
        case "dies":
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream"],
                body: ResponseBody { writer in
                    try await writer.write(Self.event(["model": model, "choices": [["index": 0, "delta": ["content": "A checkpoint "]]]]))
                    try await Task.sleep(for: .milliseconds(20))
                    try await writer.write(Self.event(["error": ["message": "overloaded"]]))
                    try await writer.finish(nil)
                }
            )
        default:
            return Response(
                status: .notFound, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"error": {"message": "no such model"}}"#))
            )
        }
    }

    private func reply(_ text: String, model: String, stream: Bool, usage: Bool, finishes: Bool = true) -> Response {
        guard stream else {
            let usageObject: [String: Any] = ["prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150]
            var body: [String: Any] = [
                "id": "chatcmpl-1", "object": "chat.completion", "model": model,
                "choices": [["index": 0, "message": ["role": "assistant", "content": text], "finish_reason": "stop"]],
            ]
            if usage { body["usage"] = usageObject }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: body)))
            )
        }
        // Word by word, as models stream, with pieces that split citation markers.
        var pieces: [String] = []
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if word.hasPrefix("["), word.count > 2 {
                pieces.append(" " + String(word.prefix(2)))
                pieces.append(String(word.dropFirst(2)))
            } else {
                pieces.append(pieces.isEmpty ? String(word) : " " + word)
            }
        }
        let chunks = pieces
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream"],
            body: ResponseBody { writer in
                let usageObject: [String: Any] = ["prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150]
                for piece in chunks {
                    try await writer.write(Self.event(["model": model, "choices": [["index": 0, "delta": ["content": piece]]]]))
                    try await Task.sleep(for: .milliseconds(2))
                }
                if finishes { try await writer.write(Self.event(["model": model, "choices": [["index": 0, "delta": [:], "finish_reason": "stop"]]])) }
                if usage { try await writer.write(Self.event(["model": model, "choices": [], "usage": usageObject])) }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            }
        )
    }

    private static func event(_ object: [String: Any]) -> ByteBuffer {
        ByteBuffer(string: "data: " + String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self) + "\n\n")
    }
}
