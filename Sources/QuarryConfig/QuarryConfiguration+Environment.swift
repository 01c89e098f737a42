import Foundation
import QuarryCore
import QuarryEmbedding

extension QuarryConfiguration {
    /// Applies `QUARRY_*` environment variables: `QUARRY_STORE`, `QUARRY_READ_ONLY` (`true`/`1` or
    /// `false`/`0`), `QUARRY_MODEL`, `QUARRY_MODEL_NAME`, `QUARRY_BACKEND`,
    /// `QUARRY_PG_URL`, `QUARRY_PG_POOL_SIZE`, `QUARRY_HOST`,
    /// `QUARRY_PORT`, `QUARRY_INGEST_ROOTS` (separated by `:`), `QUARRY_CACHE_ENTRIES`,
    /// `QUARRY_SEMANTIC_CACHE_ENTRIES`, `QUARRY_SEMANTIC_CACHE_THRESHOLD`,
    /// `QUARRY_LOG_LEVEL`, `QUARRY_LOG_FORMAT`, `QUARRY_EXACT_BELOW`, `QUARRY_MAX_CONTEXT_TOKENS`,
    /// `QUARRY_FUSION_DENSE_WEIGHT`, `QUARRY_FUSION_LEXICAL_WEIGHT`, `QUARRY_LLM_BASE_URL`,
    /// `QUARRY_LLM_API_KEY`, `QUARRY_LLM_MODEL`, `QUARRY_LLM_FALLBACK_MODELS` (comma-separated,
    /// on the primary's API), `QUARRY_LLM_MAX_TOKENS`, `QUARRY_LLM_TOTAL_TIMEOUT_MS`.
    /// `QUARRY_ENCODER_PRECISION` (`float32` or `bfloat16`) is read by the encoder itself
    /// (`EncoderPrecision.preferred`); it is checked here, so that a misspelt value is refused.
    /// - Throws: `QuarryError.invalidRequest` for a number or flag that does not parse.
    public mutating func applyEnvironment(_ environment: [String: String]) throws {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        func integer(_ name: String) throws -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text) else { throw QuarryError(.invalidRequest, "\(name)=\(text) is not an integer") }
            return number
        }
        func real(_ name: String) throws -> Double? {
            guard let text = value(name) else { return nil }
            guard let number = Double(text) else { throw QuarryError(.invalidRequest, "\(name)=\(text) is not a number") }
            return number
        }
        if let v = value("QUARRY_STORE") { store = v }
        if let v = value("QUARRY_READ_ONLY") {
            switch v.lowercased() {
            case "1", "true", "yes", "on": readOnly = true
            case "0", "false", "no", "off": readOnly = false
            default: throw QuarryError(.invalidRequest, "QUARRY_READ_ONLY=\(v) must be true or false")
            }
        }
        if let v = value("QUARRY_ENCODER_PRECISION"), EncoderPrecision(rawValue: v.lowercased()) == nil {
            throw QuarryError(.invalidRequest, "QUARRY_ENCODER_PRECISION=\(v) must be float32 or bfloat16")
        }
        if let v = value("QUARRY_MODEL") { model = v }
        if let v = value("QUARRY_MODEL_NAME") { modelName = v }
        if let v = value("QUARRY_BACKEND") { backend = v }
        if let v = value("QUARRY_PG_URL") { postgres.url = v }
        if let v = try integer("QUARRY_PG_POOL_SIZE") { postgres.poolSize = v }
        if let v = value("QUARRY_HOST") { server.host = v }
        if let v = try integer("QUARRY_PORT") { server.port = v }
        if let v = value("QUARRY_INGEST_ROOTS") { server.ingestRoots = v.split(separator: ":").map(String.init) }
        if let v = value("QUARRY_REPORTS_DIR") { server.reportsDir = v }
        if let v = try integer("QUARRY_CACHE_ENTRIES") { server.cacheEntries = v }
        if let v = try integer("QUARRY_SEMANTIC_CACHE_ENTRIES") { server.semanticCacheEntries = v }
        if let v = try real("QUARRY_SEMANTIC_CACHE_THRESHOLD") { server.semanticCacheThreshold = v }
        if let v = value("QUARRY_LOG_LEVEL") { server.logLevel = v }
        if let v = value("QUARRY_LOG_FORMAT") { server.logFormat = v }
        if let v = try integer("QUARRY_EXACT_BELOW") { search.exactBelow = v }
        if let v = try integer("QUARRY_MAX_CONTEXT_TOKENS") { search.maxContextTokens = v }
        if let v = try real("QUARRY_FUSION_DENSE_WEIGHT") { search.fusion.denseWeight = v }
        if let v = try real("QUARRY_FUSION_LEXICAL_WEIGHT") { search.fusion.lexicalWeight = v }
        if let v = value("QUARRY_LLM_BASE_URL") { llm.baseURL = v }
        if let v = value("QUARRY_LLM_API_KEY") { llm.apiKey = v }
        if let v = value("QUARRY_LLM_MODEL") { llm.model = v }
        if let v = value("QUARRY_LLM_FALLBACK_MODELS") {
            llm.fallbacks = v.split(separator: ",").map { LLM.Fallback(model: $0.trimmingCharacters(in: .whitespaces)) }
        }
        if let v = try integer("QUARRY_LLM_MAX_TOKENS") { llm.maxTokens = v }
        if let v = try integer("QUARRY_LLM_TOTAL_TIMEOUT_MS") { llm.totalTimeoutMS = v }
    }
}
