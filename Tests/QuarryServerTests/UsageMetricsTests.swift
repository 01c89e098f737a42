import QuarryAccess
import QuarryRetrieval
import Testing

@testable import QuarryServer

/// The model usage and budget metrics of `GET /metrics`: tokens by tenant, model and kind, cost
/// when known, embedding tokens, budgets reached; model names bounded.
@Suite struct UsageMetricsTests {
    func render(_ metrics: ServerMetrics) -> [String] {
        metrics.render(cache: nil, collections: []).split(separator: "\n").map(String.init)
    }

    func lines(_ metrics: ServerMetrics, _ name: String) -> [String] {
        render(metrics).filter { $0.hasPrefix(name + "{") }
    }

    @Test func callsAreCountedByTenantModelAndKind() {
        let metrics = ServerMetrics()
        // Every family is described even before anything is counted.
        for name in [
            "quarry_llm_tokens_total", "quarry_llm_cost_usd_total", "quarry_model_calls_unpriced_total", "quarry_embedding_tokens_total",
            "quarry_budget_exceeded_total",
        ] {
            #expect(render(metrics).contains("# TYPE \(name) counter"), "\(name)")
        }
        metrics.recordUsage(tenant: "acme", usage: .chat(model: "gpt-4o-mini", promptTokens: 100, completionTokens: 20), costUSD: 0.5)
        metrics.recordUsage(tenant: "acme", usage: .chat(model: "gpt-4o-mini", promptTokens: 50, completionTokens: 5), costUSD: 0.25)
        metrics.recordUsage(tenant: "beta", usage: .chat(model: "llama\"3", promptTokens: 7, completionTokens: 3), costUSD: nil)
        metrics.recordUsage(tenant: "acme", usage: .embedding(model: "text-embedding-3-small", tokens: 12), costUSD: 0.125)
        metrics.recordUsage(tenant: "acme", usage: .embedding(model: "all-MiniLM-L6-v2", tokens: 8), costUSD: nil)
        #expect(lines(metrics, "quarry_llm_tokens_total") == [
            #"quarry_llm_tokens_total{tenant="acme",model="gpt-4o-mini",kind="prompt"} 150"#,
            #"quarry_llm_tokens_total{tenant="acme",model="gpt-4o-mini",kind="completion"} 25"#,
            #"quarry_llm_tokens_total{tenant="beta",model="llama\"3",kind="prompt"} 7"#,
            #"quarry_llm_tokens_total{tenant="beta",model="llama\"3",kind="completion"} 3"#,
        ])
        #expect(lines(metrics, "quarry_llm_cost_usd_total") == [
            #"quarry_llm_cost_usd_total{tenant="acme",model="gpt-4o-mini"} 0.75"#,
            #"quarry_llm_cost_usd_total{tenant="acme",model="text-embedding-3-small"} 0.125"#,
        ])
        #expect(lines(metrics, "quarry_model_calls_unpriced_total") == [
            #"quarry_model_calls_unpriced_total{tenant="acme",model="all-MiniLM-L6-v2"} 1"#,
            #"quarry_model_calls_unpriced_total{tenant="beta",model="llama\"3"} 1"#,
        ])
        #expect(lines(metrics, "quarry_embedding_tokens_total") == [#"quarry_embedding_tokens_total{tenant="acme"} 20"#])
    }

    @Test func budgetsReachedAreCountedByLimitAndAction() {
        let metrics = ServerMetrics()
        let daily = LimitExceeded(limit: .keyDailyTokens, message: "used")
        metrics.recordBudget(.allowed(clampedContext: 1, clampedCompletion: 1))
        metrics.recordBudget(.refused(daily))
        metrics.recordBudget(.refused(daily))
        metrics.recordBudget(.extractive(daily))
        metrics.recordBudget(.refused(LimitExceeded(limit: .maxCompletionTokens, message: "too long")))
        #expect(lines(metrics, "quarry_budget_exceeded_total") == [
            #"quarry_budget_exceeded_total{limit="key_daily_tokens",action="extractive"} 1"#,
            #"quarry_budget_exceeded_total{limit="key_daily_tokens",action="refused"} 2"#,
            #"quarry_budget_exceeded_total{limit="max_completion_tokens",action="refused"} 1"#,
        ])
    }

    @Test func modelNamesBeyondTheBoundAreCountedAsOther() {
        let metrics = ServerMetrics()
        for index in 0..<(ServerMetrics.maxModels + 5) {
            metrics.recordUsage(tenant: "acme", usage: .chat(model: "m\(1000 + index)", promptTokens: 1, completionTokens: 0), costUSD: 0.5)
        }
        metrics.recordUsage(tenant: "acme", usage: .chat(model: "m1000", promptTokens: 1, completionTokens: 0), costUSD: 0.5)
        let cost = lines(metrics, "quarry_llm_cost_usd_total")
        #expect(cost.count == ServerMetrics.maxModels + 1)
        #expect(cost.first == #"quarry_llm_cost_usd_total{tenant="acme",model="m1000"} 1.0"#)
        #expect(cost.last == #"quarry_llm_cost_usd_total{tenant="acme",model="other"} 2.5"#)
    }
}
