import Foundation
import Hummingbird
import Logging
import QuarryCore
import QuarryRetrieval

/// Streamed queries as Server-Sent Events: `retrieval` (the numbered sources), `delta` (a piece
/// of the answer), `citation` (a source, when the answer first cites it), then `done` (usage,
/// check, timings) or `error`.
enum ServerSentEvents {
    private enum Item: Sendable {
        case event(AnswerEvent)
        case done(QueryResponseBody)
        case failure(any Error)
    }

    /// Runs `work` and answers with its events. Errors before the first event (a bad request, an
    /// unknown collection) are thrown, so they become ordinary JSON error responses; later ones
    /// end the stream with an `error` event.
    static func response(
        requestID: String, logger: Logger,
        _ work: @escaping @Sendable (@escaping @Sendable (AnswerEvent) async throws -> Void) async throws -> QueryResponseBody
    ) async throws -> Response {
        let (items, continuation) = AsyncStream<Item>.makeStream()
        let task = Task {
            do {
                let done = try await work { event in
                    try Task.checkCancellation()
                    continuation.yield(.event(event))
                }
                continuation.yield(.done(done))
            } catch {
                continuation.yield(.failure(error))
            }
            continuation.finish()
        }
        var iterator = items.makeAsyncIterator()
        guard let first = await iterator.next() else { throw CancellationError() }
        if case .failure(let error) = first { throw error }

        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                do {
                    try await writer.write(encode(first, requestID: requestID, logger: logger))
                    // The stream has one consumer at a time: the first item was read above.
                    for await item in items {
                        try await writer.write(encode(item, requestID: requestID, logger: logger))
                    }
                    try await writer.finish(nil)
                } catch {
                    // The client went away: stop generating.
                    task.cancel()
                    throw error
                }
            }
        )
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private struct Delta: Encodable { var text: String }

    private struct Retrieval: Encodable {
        var citations: [Citation]
        var timingsMS: QueryTimings
        enum CodingKeys: String, CodingKey {
            case citations
            case timingsMS = "timings_ms"
        }
    }

    private static func encode(_ item: Item, requestID: String, logger: Logger) throws -> ByteBuffer {
        let name: String
        let data: Data
        switch item {
        case .event(.retrieval(let citations, let timings)):
            (name, data) = ("retrieval", try encoder.encode(Retrieval(citations: citations, timingsMS: timings)))
        case .event(.delta(let text)):
            (name, data) = ("delta", try encoder.encode(Delta(text: text)))
        case .event(.citation(let citation)):
            (name, data) = ("citation", try encoder.encode(citation))
        case .done(let body):
            (name, data) = ("done", try encoder.encode(body))
        case .failure(let error):
            let api = APIError(error)
            logger.error("streamed query failed", metadata: ["error": "\(error)"])
            (name, data) = ("error", try encoder.encode(APIError.Body(error: .init(code: api.code, message: api.message), requestID: requestID)))
        }
        var buffer = ByteBuffer()
        buffer.writeString("event: \(name)\ndata: ")
        buffer.writeBytes(data)
        buffer.writeString("\n\n")
        return buffer
    }
}
