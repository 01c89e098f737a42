import Foundation
import Hummingbird
import QuarryAccess
import QuarryRetrieval
import QuarryStore
import Synchronization

/// The server's metrics, rendered in Prometheus's text format by `GET /metrics`: requests and
/// latency per route, latency per query stage, result-cache hits, model tokens and cost per
/// tenant, budgets reached, and collection sizes.
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

    /// A tenant and a model, the labels of the usage counters.
    struct ModelKey: Hashable, Comparable {
        var tenant: String
        var model: String

        static func < (lhs: ModelKey, rhs: ModelKey) -> Bool { (lhs.tenant, lhs.model) < (rhs.tenant, rhs.model) }
    }

    /// A budget reached and what the request got.
    struct BudgetKey: Hashable, Comparable {
        var limit: String
        var action: String

        static func < (lhs: BudgetKey, rhs: BudgetKey) -> Bool { (lhs.limit, lhs.action) < (rhs.limit, rhs.action) }
    }

    /// The most model names the usage counters name; calls of models beyond them are counted
    /// under `other`. The names come from the models' APIs, which a server does not control.
    static let maxModels = 32

    private struct State {
        var requests: [RequestKey: Int] = [:]
        var routeLatency: [String: Histogram] = [:]
        var stageLatency: [String: Histogram] = [:]
        var promptTokens: [ModelKey: Int] = [:]
        var completionTokens: [ModelKey: Int] = [:]
        var costUSD: [ModelKey: Double] = [:]
        var unpriced: [ModelKey: Int] = [:]
        var embeddingTokens: [String: Int] = [:]
        var budgetExceeded: [BudgetKey: Int] = [:]
        var models: Set<String> = []

        /// `model`, or `other` once `maxModels` others are named.
        mutating func label(ofModel model: String) -> String {
            if models.contains(model) { return model }
            guard models.count < ServerMetrics.maxModels else { return "other" }
            models.insert(model)
            return model
        }
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

    /// Counts what one model call of `tenant` used: its LLM tokens by kind, or the tokens it
    /// embedded, and its cost when known (`BudgetLedger.record`'s answer); a call of unknown cost
    /// counts in `quarry_model_calls_unpriced_total`.
    func recordUsage(tenant: String, usage: ModelUsage, costUSD: Double?) {
        state.withLock { state in
            let key = ModelKey(tenant: tenant, model: state.label(ofModel: usage.model))
            switch usage.kind {
            case .chat:
                state.promptTokens[key, default: 0] += usage.promptTokens
                state.completionTokens[key, default: 0] += usage.completionTokens
            case .embedding:
                state.embeddingTokens[tenant, default: 0] += usage.embeddingTokens
            }
            if let costUSD {
                state.costUSD[key, default: 0] += costUSD
            } else {
                state.unpriced[key, default: 0] += 1
            }
        }
    }

    /// Counts a request that reached a budget or a per-request limit, and what it got (`refused`
    /// or `extractive`); an allowed decision counts nothing.
    func recordBudget(_ decision: BudgetDecision) {
        guard let exceeded = decision.exceeded, let action = decision.action else { return }
        state.withLock { $0.budgetExceeded[BudgetKey(limit: exceeded.limit.rawValue, action: action), default: 0] += 1 }
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
        out += Self.usage(snapshot)
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

    private static func usage(_ snapshot: State) -> String {
        func labels(_ key: ModelKey) -> String { "tenant=\"\(escape(key.tenant))\",model=\"\(escape(key.model))\"" }
        var out = "# HELP quarry_llm_tokens_total LLM tokens by tenant, model and kind (prompt, completion).\n"
        out += "# TYPE quarry_llm_tokens_total counter\n"
        for key in Set(snapshot.promptTokens.keys).union(snapshot.completionTokens.keys).sorted() {
            out += "quarry_llm_tokens_total{\(labels(key)),kind=\"prompt\"} \(snapshot.promptTokens[key] ?? 0)\n"
            out += "quarry_llm_tokens_total{\(labels(key)),kind=\"completion\"} \(snapshot.completionTokens[key] ?? 0)\n"
        }
        out += "# HELP quarry_llm_cost_usd_total Cost in US dollars of the model calls whose price is known, by tenant and model.\n"
        out += "# TYPE quarry_llm_cost_usd_total counter\n"
        for (key, cost) in snapshot.costUSD.sorted(by: { $0.key < $1.key }) {
            out += "quarry_llm_cost_usd_total{\(labels(key))} \(cost)\n"
        }
        out += "# HELP quarry_model_calls_unpriced_total Model calls whose model has no price, by tenant and model.\n"
        out += "# TYPE quarry_model_calls_unpriced_total counter\n"
        for (key, count) in snapshot.unpriced.sorted(by: { $0.key < $1.key }) {
            out += "quarry_model_calls_unpriced_total{\(labels(key))} \(count)\n"
        }
        out += "# HELP quarry_embedding_tokens_total Word pieces embedded for requests (questions, /v1/embeddings calls, ingest jobs), by tenant.\n"
        out += "# TYPE quarry_embedding_tokens_total counter\n"
        for (tenant, tokens) in snapshot.embeddingTokens.sorted(by: { $0.key < $1.key }) {
            out += "quarry_embedding_tokens_total{tenant=\"\(escape(tenant))\"} \(tokens)\n"
        }
        out += "# HELP quarry_budget_exceeded_total Requests that reached an LLM budget or a per-request limit, by limit and action.\n"
        out += "# TYPE quarry_budget_exceeded_total counter\n"
        for (key, count) in snapshot.budgetExceeded.sorted(by: { $0.key < $1.key }) {
            out += "quarry_budget_exceeded_total{limit=\"\(key.limit)\",action=\"\(key.action)\"} \(count)\n"
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
