import Foundation
import Hummingbird
import QuarryRetrieval
import QuarryStore
import Synchronization

/// The server's metrics, rendered in Prometheus's text format by `GET /metrics`: requests and
/// latency per route, latency per query stage, result-cache hits, and collection sizes.
public final class ServerMetrics: Sendable {
    /// Histogram bucket bounds, in seconds.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Histogram {
        var counts = [Int](repeating: 0, count: ServerMetrics.buckets.count)
        var count = 0
        var sum = 0.0

        mutating func observe(_ seconds: Double) {
            count += 1
            sum += seconds
            if let index = ServerMetrics.buckets.firstIndex(where: { seconds <= $0 }) { counts[index] += 1 }
        }
    }

    struct RequestKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    private struct State {
        var requests: [RequestKey: Int] = [:]
        var routeLatency: [String: Histogram] = [:]
        var stageLatency: [String: Histogram] = [:]
    }

    private let state = Mutex(State())

    /// Creates an empty registry.
    public init() {}

    func recordRequest(route: String, method: String, status: Int, seconds: Double) {
        state.withLock { state in
            state.requests[RequestKey(route: route, method: method, status: status), default: 0] += 1
            state.routeLatency[route, default: Histogram()].observe(seconds)
        }
    }

    /// Records the stages of one query (stages that did not run are left out).
    func recordStages(_ timings: QueryTimings) {
        let stages = [
            ("embed", timings.embed), ("dense", timings.dense), ("lexical", timings.lexical), ("fuse", timings.fuse),
            ("assemble", timings.assemble), ("answer", timings.answer), ("generate", timings.generate),
        ]
        state.withLock { state in
            for (stage, milliseconds) in stages where milliseconds > 0 {
                state.stageLatency[stage, default: Histogram()].observe(milliseconds / 1000)
            }
        }
    }

    /// The metrics in Prometheus's text exposition format.
    func render(
        cache: QueryCache?, semanticCache: SemanticCache? = nil, collections: [CollectionInfo], admission: AdmissionControl? = nil
    ) -> String {
        let snapshot = state.withLock { $0 }
        var out = ""
        out += "# HELP quarry_http_requests_total HTTP requests by route, method and status.\n"
        out += "# TYPE quarry_http_requests_total counter\n"
        for (key, count) in snapshot.requests.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            out += "quarry_http_requests_total{route=\"\(Self.escape(key.route))\",method=\"\(key.method)\",status=\"\(key.status)\"} \(count)\n"
        }
        out += Self.histograms("quarry_http_request_duration_seconds", "HTTP request latency by route.", label: "route", snapshot.routeLatency)
        out += Self.histograms("quarry_query_stage_duration_seconds", "Query latency by stage.", label: "stage", snapshot.stageLatency)
        if let cache {
            let statistics = cache.statistics
            out += "# HELP quarry_result_cache_hits_total Queries answered from the result cache.\n"
            out += "# TYPE quarry_result_cache_hits_total counter\nquarry_result_cache_hits_total \(statistics.hits)\n"
            out += "# HELP quarry_result_cache_misses_total Queries the result cache could not answer.\n"
            out += "# TYPE quarry_result_cache_misses_total counter\nquarry_result_cache_misses_total \(statistics.misses)\n"
            out += "# HELP quarry_result_cache_entries Results held by the result cache.\n"
            out += "# TYPE quarry_result_cache_entries gauge\nquarry_result_cache_entries \(statistics.entries)\n"
        }
        if let semanticCache {
            let statistics = semanticCache.statistics
            out += "# HELP quarry_semantic_cache_hits_total Queries answered with the answer of a paraphrase asked before.\n"
            out += "# TYPE quarry_semantic_cache_hits_total counter\nquarry_semantic_cache_hits_total \(statistics.hits)\n"
            out += "# HELP quarry_semantic_cache_misses_total Queries the semantic cache could not answer.\n"
            out += "# TYPE quarry_semantic_cache_misses_total counter\nquarry_semantic_cache_misses_total \(statistics.misses)\n"
            out += "# HELP quarry_semantic_cache_refused_total Close cached questions refused as different, by reason.\n"
            out += "# TYPE quarry_semantic_cache_refused_total counter\n"
            for reason in QuestionMatch.Mismatch.allCases {
                out += "quarry_semantic_cache_refused_total{reason=\"\(reason.rawValue)\"} \(statistics.refused[reason] ?? 0)\n"
            }
            out += "# HELP quarry_semantic_cache_entries Answers held by the semantic cache.\n"
            out += "# TYPE quarry_semantic_cache_entries gauge\nquarry_semantic_cache_entries \(statistics.entries)\n"
        }
        if let admission {
            let statistics = admission.statistics()
            let classes = RouteClass.allCases.filter { statistics[$0] != nil }
            out += "# HELP quarry_requests_in_flight Requests running now, by route class.\n# TYPE quarry_requests_in_flight gauge\n"
            for routeClass in classes { out += "quarry_requests_in_flight{class=\"\(routeClass.rawValue)\"} \(statistics[routeClass]!.running)\n" }
            out += "# HELP quarry_requests_waiting Requests waiting for a turn, by route class.\n# TYPE quarry_requests_waiting gauge\n"
            for routeClass in classes { out += "quarry_requests_waiting{class=\"\(routeClass.rawValue)\"} \(statistics[routeClass]!.waiting)\n" }
            out += "# HELP quarry_requests_refused_total Requests refused with 503 overloaded, by route class.\n# TYPE quarry_requests_refused_total counter\n"
            for routeClass in classes { out += "quarry_requests_refused_total{class=\"\(routeClass.rawValue)\"} \(statistics[routeClass]!.refused)\n" }
        }
        out += "# HELP quarry_collection_chunks Chunks (and vectors) per collection.\n# TYPE quarry_collection_chunks gauge\n"
        for collection in collections {
            out += "quarry_collection_chunks{collection=\"\(Self.escape(collection.name))\"} \(collection.chunkCount)\n"
        }
        out += "# HELP quarry_collection_documents Documents per collection.\n# TYPE quarry_collection_documents gauge\n"
        for collection in collections {
            out += "quarry_collection_documents{collection=\"\(Self.escape(collection.name))\"} \(collection.documentCount)\n"
        }
        return out
    }

    private static func histograms(_ name: String, _ help: String, label: String, _ values: [String: Histogram]) -> String {
        var out = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (key, histogram) in values.sorted(by: { $0.key < $1.key }) {
            var cumulative = 0
            for (bound, count) in zip(buckets, histogram.counts) {
                cumulative += count
                out += "\(name)_bucket{\(label)=\"\(escape(key))\",le=\"\(bound)\"} \(cumulative)\n"
            }
            out += "\(name)_bucket{\(label)=\"\(escape(key))\",le=\"+Inf\"} \(histogram.count)\n"
            out += "\(name)_sum{\(label)=\"\(escape(key))\"} \(histogram.sum)\n"
            out += "\(name)_count{\(label)=\"\(escape(key))\"} \(histogram.count)\n"
        }
        return out
    }

    private static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// Counts and times every request by its route pattern (`/jobs/{id}`, not the path, so that ids
/// do not multiply the series).
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        metrics.recordRequest(
            route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: response.status.code,
            seconds: seconds
        )
        return response
    }
}
