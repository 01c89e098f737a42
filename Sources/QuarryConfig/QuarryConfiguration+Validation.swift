import Foundation
import QuarryCore
import QuarryRetrieval

extension QuarryConfiguration {
    /// Every problem with the settings, one line each; empty when they can be used.
    public func problems() -> [String] {
        var problems: [String] = []
        if store.isEmpty { problems.append("store must not be empty") }
        if !["sqlite", "pgvector"].contains(backend) { problems.append("backend must be sqlite or pgvector, got '\(backend)'") }
        if backend == "pgvector" {
            if let url = postgres.url {
                if !(url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")) {
                    problems.append("postgres.url must start with postgres:// or postgresql://")
                }
            } else {
                problems.append("backend pgvector needs postgres.url (or $QUARRY_PG_URL, or --pg-url)")
            }
            if readOnly {
                problems.append(
                    "read_only applies to the sqlite backend; for PostgreSQL connect as a role with read-only grants, or to a standby"
                )
            }
        }
        if !(1...256).contains(postgres.poolSize) { problems.append("postgres.pool_size must be 1-256, got \(postgres.poolSize)") }
        if postgres.statementTimeoutMS < 0 { problems.append("postgres.statement_timeout_ms must not be negative") }
        if !(2...100).contains(postgres.hnswM) { problems.append("postgres.hnsw_m must be 2-100, got \(postgres.hnswM)") }
        if !((2 * postgres.hnswM)...1000).contains(postgres.hnswEfConstruction) {
            problems.append("postgres.hnsw_ef_construction must be 2 × hnsw_m to 1000, got \(postgres.hnswEfConstruction)")
        }
        if !(0...65_535).contains(server.port) { problems.append("server.port must be 0-65535, got \(server.port)") }
        if server.host.isEmpty { problems.append("server.host must not be empty") }
        if !(1024...(256 << 20)).contains(server.maxBodyBytes) {
            problems.append("server.max_body_bytes must be 1024-268435456, got \(server.maxBodyBytes)")
        }
        if !(1...Retriever.maxTopK).contains(server.defaultTopK) {
            problems.append("server.default_top_k must be 1-\(Retriever.maxTopK), got \(server.defaultTopK)")
        }
        if server.cacheEntries < 0 { problems.append("server.cache_entries must not be negative") }
        if server.semanticCacheEntries < 0 { problems.append("server.semantic_cache_entries must not be negative") }
        if !(0.5...1).contains(server.semanticCacheThreshold) {
            problems.append("server.semantic_cache_threshold must be between 0.5 and 1, got \(server.semanticCacheThreshold)")
        }
        if !(server.semanticCacheTTLSeconds > 0) {
            problems.append("server.semantic_cache_ttl_seconds must be positive, got \(server.semanticCacheTTLSeconds)")
        }
        if !["text", "json"].contains(server.logFormat) {
            problems.append("server.log_format must be text or json, got '\(server.logFormat)'")
        }
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        if !levels.contains(server.logLevel) {
            problems.append("server.log_level must be one of \(levels.joined(separator: ", ")), got '\(server.logLevel)'")
        }
        if !(server.idleTimeoutSeconds > 0 && server.idleTimeoutSeconds <= 86_400) {
            problems.append("server.idle_timeout_seconds must be over 0 and at most 86400, got \(server.idleTimeoutSeconds)")
        }
        if !(server.headerTimeoutSeconds > 0 && server.headerTimeoutSeconds <= 3_600) {
            problems.append("server.header_timeout_seconds must be over 0 and at most 3600, got \(server.headerTimeoutSeconds)")
        }
        if !(server.admissionWaitSeconds >= 0 && server.admissionWaitSeconds <= 3_600) {
            problems.append("server.admission_wait_seconds must be 0-3600, got \(server.admissionWaitSeconds)")
        }
        for (name, admission) in server.admission.sorted(by: { $0.key < $1.key }) {
            if !Server.routeClasses.contains(name) {
                problems.append("server.admission: unknown route class '\(name)'; known: \(Server.routeClasses.joined(separator: ", "))")
            }
            if !(1...100_000).contains(admission.inFlight) {
                problems.append("server.admission.\(name).in_flight must be 1-100000, got \(admission.inFlight)")
            }
            if !(0...100_000).contains(admission.queued) {
                problems.append("server.admission.\(name).queued must be 0-100000, got \(admission.queued)")
            }
        }
        if !(1...100_000).contains(server.embeddings.maxInputs) {
            problems.append("server.embeddings.max_inputs must be 1-100000, got \(server.embeddings.maxInputs)")
        }
        if !(1...100_000_000).contains(server.embeddings.maxTokens) {
            problems.append("server.embeddings.max_tokens must be 1-100000000, got \(server.embeddings.maxTokens)")
        }
        for origin in server.corsOrigins where origin != "*" && !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) {
            problems.append("server.cors_origins: '\(origin)' is not an origin (scheme://host[:port]) or *")
        }
        for root in server.ingestRoots {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) || !isDirectory.boolValue {
                problems.append("server.ingest_roots: \(root) is not a folder")
            }
        }
        if let folder = server.reportsDir {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) || !isDirectory.boolValue {
                problems.append("server.reports_dir: \(folder) is not a folder")
            }
        }
        if search.exactBelow < 0 { problems.append("search.exact_below must not be negative") }
        if !Retriever.contextTokensRange.contains(search.maxContextTokens) {
            problems.append(
                "search.max_context_tokens must be \(Retriever.contextTokensRange.lowerBound)-\(Retriever.contextTokensRange.upperBound), got \(search.maxContextTokens)"
            )
        }
        let fusion = search.fusion
        if !(fusion.denseWeight >= 0 && fusion.lexicalWeight >= 0 && fusion.denseWeight + fusion.lexicalWeight > 0) {
            problems.append("search.fusion weights must not be negative, and not both 0")
        }
        if !(fusion.k >= 0) { problems.append("search.fusion.k must not be negative") }
        if !(1...200).contains(fusion.candidates) { problems.append("search.fusion.candidates must be 1-200, got \(fusion.candidates)") }
        problems += llm.problems()
        problems += abstention.problems()
        problems += guardrails.problems(knownTiers: Set(limits.tiers.keys))
        problems += limits.problems(at: "limits")
        problems += sessions.problems()
        problems += prices.problems(at: "prices")
        problems += routing.problems(at: "routing", knownTiers: Set(limits.tiers.keys), llmConfigured: llm.settings != nil)
        if sessions.rewrite == .llm, llm.settings == nil {
            problems.append("sessions.rewrite llm needs a chat model: set llm.base_url and llm.model, or use auto or deterministic")
        }
        return problems
    }
}
