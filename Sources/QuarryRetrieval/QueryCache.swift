import QuarryCore
import QuarryGuard
import QuarryStore
import Synchronization

/// An exact-match cache of query results: bounded (least recently used entries go first) and
/// keyed by the collection's generation, so that any change to the collection (an ingest, a
/// deletion) makes its old entries unreachable; they age out.
public final class QueryCache: Sendable {
    /// What a cached result depends on besides its question: the collection (whose store name
    /// holds the tenant) at one generation, the filter (which holds the caller's document
    /// permissions) and every setting of the request. The semantic cache keeps answers per
    /// scope too.
    struct Scope: Hashable, Sendable {
        var collection: String
        var generation: Int64
        var topK: Int
        var ef: Int?
        var mode: SearchMode
        var filter: SearchFilter?
        var maxContextTokens: Int
        var answer: AnswerKind
        var maxTokens: Int?
        var abstention: AbstentionPolicy
        var guardrails: GuardrailPolicy
        /// The model route of an LLM answer (`RoutingDecision.route`); `nil` for others.
        var route: String? = nil
    }

    /// What a cached result depends on: its scope and its question (trimmed).
    struct Key: Hashable, Sendable {
        var scope: Scope
        var query: String
    }

    private struct State {
        var entries: [Key: (result: QueryResult, used: UInt64)] = [:]
        var clock: UInt64 = 0
        var hits = 0
        var misses = 0
    }

    /// The most results kept.
    public let capacity: Int
    private let state = Mutex(State())

    /// Creates a cache of at most `capacity` results.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Hits and misses so far.
    public var statistics: (hits: Int, misses: Int, entries: Int) {
        state.withLock { ($0.hits, $0.misses, $0.entries.count) }
    }

    func result(for key: Key) -> QueryResult? {
        state.withLock { state in
            state.clock += 1
            guard var entry = state.entries[key] else {
                state.misses += 1
                return nil
            }
            state.hits += 1
            entry.used = state.clock
            state.entries[key] = entry
            return entry.result
        }
    }

    func store(_ result: QueryResult, for key: Key) {
        state.withLock { state in
            state.clock += 1
            state.entries[key] = (result, state.clock)
            if state.entries.count > capacity {
                // Evict the least recently used eighth at once, so eviction is rare.
                let victims = state.entries.sorted { $0.value.used < $1.value.used }.prefix(max(1, capacity / 8))
                for victim in victims { state.entries[victim.key] = nil }
            }
        }
    }
}
