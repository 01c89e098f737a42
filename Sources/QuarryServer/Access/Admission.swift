import Foundation
import Hummingbird
import Synchronization

/// The kinds of requests that are admitted separately, so that a flood of one kind cannot take
/// the room of another: a burst of ingests does not hold queries back, nor queries reads.
public enum RouteClass: String, Sendable, CaseIterable, Codable {
    /// `POST /query`, `POST /search`: retrieval, embedding the question.
    case query
    /// `POST /v1/embeddings` calls the encoder runs as interactive work (a few short texts).
    case embeddings
    /// `POST /v1/embeddings` bulk calls: larger bodies (admitted before they are read) and small
    /// bodies that turn out to hold many texts or word pieces. They wait in a queue of their own,
    /// so that small calls never wait behind them.
    case embeddingsBulk = "embeddings_bulk"
    /// Requests that change state: ingest jobs, deletes, keys, tenants.
    case write
    /// Everything else that reads: documents, collections, jobs, audit, the API document.
    case read

    /// The class of a request, `nil` for those never held back (`/health`, `/metrics`: what an
    /// operator needs most when the server is busiest).
    /// `contentLength` is the request's `Content-Length`, `nil` when it has none.
    static func of(method: HTTPRequest.Method, path: String, contentLength: Int? = nil) -> RouteClass? {
        switch path {
        case "/health", "/metrics": return nil
        case "/query", "/search": return method == .post ? .query : .read
        case "/v1/embeddings":
            guard method == .post else { return .read }
            return (contentLength ?? .max) <= smallEmbeddingsBytes ? .embeddings : .embeddingsBulk
        default: return method == .get || method == .head ? .read : .write
        }
    }

    /// The largest `/v1/embeddings` body read before it is admitted (so that its handler can
    /// tell a few texts from bulk work): 16 KB holds the interactive limit of the route (16
    /// texts, 2,048 word pieces) in English with its JSON. A larger body, or one of unknown
    /// length, is bulk work, admitted before it is read.
    static let smallEmbeddingsBytes = 16 * 1024
}

/// How many requests of one class run at once, and how many may wait for a turn.
public struct AdmissionLimit: Sendable, Equatable, Codable {
    /// Requests of the class running at once.
    public var inFlight: Int
    /// Requests of the class waiting for a turn; one more is refused with 503 at once.
    public var queued: Int

    enum CodingKeys: String, CodingKey, CaseIterable {
        case inFlight = "in_flight"
        case queued
    }

    /// Creates a limit.
    public init(inFlight: Int, queued: Int) {
        self.inFlight = inFlight
        self.queued = queued
    }

    /// The defaults: queries and embeddings share two cores, so running more than a few at once
    /// only makes each slower; their queues hold what 32 clients send.
    public static let defaults: [RouteClass: AdmissionLimit] = [
        .query: AdmissionLimit(inFlight: 4, queued: 64),
        .embeddings: AdmissionLimit(inFlight: 4, queued: 64),
        .embeddingsBulk: AdmissionLimit(inFlight: 2, queued: 32),
        .write: AdmissionLimit(inFlight: 8, queued: 32),
        .read: AdmissionLimit(inFlight: 16, queued: 64),
    ]
}

/// Bounded admission per route class: a request runs when its class has a free slot, waits
/// (first come, first served) while the class's queue has room, and is refused with
/// `503 Service Unavailable` and `Retry-After` when the queue is full or it waited longer than
/// `maxWait`. So latency under overload is bounded by the queue, not by how many clients come.
public final class AdmissionControl: Sendable {
    /// The limits per class; a class without one is not held back.
    public let limits: [RouteClass: AdmissionLimit]
    /// Longest a request waits in a queue before it is refused.
    public let maxWait: Duration

    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct ClassState {
        var running = 0
        var waiting: [Waiter] = []
        var admitted = 0
        var refused = 0
    }

    private struct State {
        var classes: [RouteClass: ClassState] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Admission with `limits` per class and `maxWait` in a queue.
    public init(limits: [RouteClass: AdmissionLimit] = AdmissionLimit.defaults, maxWait: Duration = .seconds(30)) {
        self.limits = limits
        self.maxWait = maxWait
    }

    /// What has happened per class since start: running now, waiting now, admitted, refused.
    public func statistics() -> [RouteClass: (running: Int, waiting: Int, admitted: Int, refused: Int)] {
        state.withLock { state in
            state.classes.mapValues { ($0.running, $0.waiting.count, $0.admitted, $0.refused) }
        }
    }

    /// Runs `operation` once `routeClass` has a free slot, and holds the slot until the response
    /// is written: a streamed body (Server-Sent Events) keeps it until its last event.
    /// - Throws: `APIError` 503 `overloaded` when the class's queue is full or the wait is over
    ///   `maxWait`; whatever `operation` throws.
    func run(_ routeClass: RouteClass, _ operation: () async throws -> Response) async throws -> Response {
        guard let limit = limits[routeClass] else { return try await operation() }
        try await acquire(routeClass, limit: limit)
        var response: Response
        do {
            response = try await operation()
        } catch {
            release(routeClass)
            throw error
        }
        guard response.body.contentLength == nil else {
            release(routeClass)
            return response
        }
        let body = response.body
        response.body = ResponseBody { writer in
            do {
                try await body.write(writer)
                self.release(routeClass)
            } catch {
                self.release(routeClass)
                throw error
            }
        }
        return response
    }

    private enum Decision {
        case run
        case wait(UInt64)
        case refuse
    }

    private func acquire(_ routeClass: RouteClass, limit: AdmissionLimit) async throws {
        let decision: Decision = state.withLock { state in
            var entry = state.classes[routeClass, default: ClassState()]
            defer { state.classes[routeClass] = entry }
            if entry.running < max(1, limit.inFlight) && entry.waiting.isEmpty {
                entry.running += 1
                entry.admitted += 1
                return .run
            }
            if entry.waiting.count >= max(0, limit.queued) {
                entry.refused += 1
                return .refuse
            }
            state.nextID += 1
            return .wait(state.nextID)
        }
        switch decision {
        case .run:
            return
        case .refuse:
            throw overloaded(routeClass, reason: "\(limit.inFlight) are running and \(limit.queued) waiting")
        case .wait(let id):
            // Whoever resumes the waiter decides: `release` hands over its slot (true), the
            // timer or cancellation takes the waiter out of the queue (false).
            let admitted = await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    state.withLock { state in
                        state.classes[routeClass, default: ClassState()].waiting.append(Waiter(id: id, continuation: continuation))
                    }
                    Task { [maxWait] in
                        try? await Task.sleep(for: maxWait)
                        self.abandon(routeClass, id: id)
                    }
                }
            } onCancel: {
                self.abandon(routeClass, id: id)
            }
            guard admitted else {
                throw overloaded(routeClass, reason: "none became free within \(maxWait.components.seconds) s")
            }
        }
    }

    /// Takes waiter `id` out of the queue (if still there), resuming it as not admitted.
    private func abandon(_ routeClass: RouteClass, id: UInt64) {
        let waiter: Waiter? = state.withLock { state in
            guard let index = state.classes[routeClass]?.waiting.firstIndex(where: { $0.id == id }) else { return nil }
            state.classes[routeClass]?.refused += 1
            return state.classes[routeClass]?.waiting.remove(at: index)
        }
        waiter?.continuation.resume(returning: false)
    }

    /// Frees a slot of `routeClass`, handing it to the first waiter if there is one.
    private func release(_ routeClass: RouteClass) {
        let next: Waiter? = state.withLock { state in
            guard var entry = state.classes[routeClass] else { return nil }
            defer { state.classes[routeClass] = entry }
            if entry.waiting.isEmpty {
                entry.running -= 1
                return nil
            }
            entry.admitted += 1
            return entry.waiting.removeFirst()
        }
        next?.continuation.resume(returning: true)
    }

    private func overloaded(_ routeClass: RouteClass, reason: String) -> APIError {
        var error = APIError(
            status: .serviceUnavailable, code: "overloaded",
            message: "the server is at its limit for \(routeClass.rawValue) requests (\(reason)); retry after the time in Retry-After"
        )
        error.headers[.retryAfter] = "1"
        return error
    }
}

/// Holds each request to its class's admission (`AdmissionControl`), after authentication, so
/// that requests without a valid key are answered without taking a slot.
struct AdmissionMiddleware: RouterMiddleware {
    typealias Context = QuarryRequestContext
    let admission: AdmissionControl

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let length = request.headers[.contentLength].flatMap { Int($0) }
        // A small `/v1/embeddings` body is read first and admitted by its handler, which then
        // knows whether it is a few texts or bulk work (64 short texts fit in a small body).
        guard let routeClass = RouteClass.of(method: request.method, path: request.uri.path, contentLength: length),
            routeClass != .embeddings
        else {
            return try await next(request, context)
        }
        return try await admission.run(routeClass) { try await next(request, context) }
    }
}
