import QuarryEmbedding
import QuarryRetrieval
import QuarryStore

extension QuarryConfiguration {
    /// The retriever these settings describe: hybrid fusion from `search.fusion`, the context
    /// budget `search.maxContextTokens`, a result cache of `server.cacheEntries` queries (none
    /// when 0) with a semantic cache of `server.semanticCacheEntries` answers on top, and, when `llm` names a model, LLM answers that fall back to extractive ones as
    /// `llm.fallbackToExtractive` says, routed by tier and question shape as `routing` says (its
    /// router cannot fail once `problems()` is empty), and the `abstention` and `guardrails`
    /// sections.
    /// - Parameters:
    ///   - store: the store searched.
    ///   - embedder: the model queries are embedded with.
    public func makeRetriever(store: any ChunkStore, embedder: any Embedder) -> Retriever {
        Retriever(
            store: store, embedder: embedder, fusion: search.fusion.settings,
            cache: server.cacheEntries > 0 ? QueryCache(capacity: server.cacheEntries) : nil,
            semanticCache: server.cacheEntries > 0 && server.semanticCacheEntries > 0
                ? SemanticCache(
                    capacity: server.semanticCacheEntries, threshold: Float(server.semanticCacheThreshold),
                    timeToLive: .milliseconds(Int64(server.semanticCacheTTLSeconds * 1000))
                ) : nil,
            contextTokens: search.maxContextTokens,
            llm: routing.clientSettings(llm: llm.settings).map {
                LLMAnswerer(client: ChatClient(settings: $0), fallbackToExtractive: llm.fallbackToExtractive)
            },
            router: try? routing.makeRouter(llm: llm.settings, fallbackToExtractive: llm.fallbackToExtractive),
            abstention: abstention.policies, guardrails: guardrails
        )
    }
}
