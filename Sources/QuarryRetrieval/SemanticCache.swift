import QuarryCore
import QuarryKernels
import QuarryStore
import Synchronization

/// Answers kept by the meaning of their question: a question whose embedding is within
/// `threshold` (cosine) of a cached question's, asked in the same scope, gets that answer —
/// unless the two questions differ where embeddings are blind (`QuestionMatch`: a negation or
/// polar word, a number, a name, a key term, the order of the same words), in which case the
/// cache misses rather than answer the other question.
///
/// The scope is everything else a result depends on, as for the exact cache (`QueryCache.Scope`):
/// a change to the collection makes its entries unreachable, and callers who may see different
/// documents never share an answer. Entries expire after `timeToLive`; the least recently used go first when full.
public final class SemanticCache: Sendable {
    /// What a cached answer depends on besides the question (the exact cache's scope).
    typealias Scope = QueryCache.Scope

    /// A hit: the cached result and how close its question was.
    struct Hit {
        var result: QueryResult
        var similarity: Float
    }

    private struct Entry {
        var question: String
        var vector: [Float]
        var result: QueryResult
        var stored: ContinuousClock.Instant
        var used: UInt64
    }

    private struct State {
        var scopes: [Scope: [Entry]] = [:]
        var count = 0
        var clock: UInt64 = 0
        var hits = 0
        var misses = 0
        var refused: [QuestionMatch.Mismatch: Int] = [:]
    }

    /// The most answers kept.
    public let capacity: Int
    /// The lowest cosine similarity between two questions for one to take the other's answer.
    public let threshold: Float
    /// How long an answer is kept.
    public let timeToLive: Duration
    private let state = Mutex(State())

    /// Creates a cache of at most `capacity` answers.
    public init(capacity: Int, threshold: Float = QuestionMatch.defaultSimilarity, timeToLive: Duration = .seconds(3600)) {
        self.capacity = max(1, capacity)
        self.threshold = threshold
        self.timeToLive = timeToLive
    }

    /// Hits, misses, answers kept, and the candidates refused by `QuestionMatch`, by reason.
    public var statistics: (hits: Int, misses: Int, entries: Int, refused: [QuestionMatch.Mismatch: Int]) {
        state.withLock { ($0.hits, $0.misses, $0.count, $0.refused) }
    }

    /// The answer of the closest cached question of `scope` that `question` may reuse.
    /// - Parameter vector: `question`'s embedding (unit length).
    func lookup(_ question: String, vector: [Float], in scope: Scope, now: ContinuousClock.Instant = .now) -> Hit? {
        state.withLock { state in
            state.clock += 1
            guard var entries = state.scopes[scope] else {
                state.misses += 1
                return nil
            }
            let before = entries.count
            entries.removeAll { now - $0.stored > timeToLive }
            state.count -= before - entries.count
            var candidates: [(index: Int, similarity: Float)] = []
            vector.withUnsafeBufferPointer { query in
                for (index, entry) in entries.enumerated() where entry.vector.count == query.count {
                    let similarity = entry.vector.withUnsafeBufferPointer { Distance.dotUnchecked(query, $0) }
                    if similarity >= threshold { candidates.append((index, similarity)) }
                }
            }
            var hit: Hit?
            for candidate in candidates.sorted(by: { $0.similarity > $1.similarity }) {
                if let reason = QuestionMatch.mismatch(cached: entries[candidate.index].question, candidate: question) {
                    state.refused[reason, default: 0] += 1
                    continue
                }
                entries[candidate.index].used = state.clock
                hit = Hit(result: entries[candidate.index].result, similarity: candidate.similarity)
                break
            }
            state.scopes[scope] = entries.isEmpty ? nil : entries
            if hit == nil { state.misses += 1 } else { state.hits += 1 }
            return hit
        }
    }

    /// Keeps `result` as the answer to `question` in `scope`.
    func store(_ result: QueryResult, question: String, vector: [Float], in scope: Scope, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            state.clock += 1
            // A newer generation of the collection makes the older ones' answers unreachable:
            // they go now rather than when they are the least recently used.
            for stale in state.scopes.keys where stale.collection == scope.collection && stale.generation < scope.generation {
                state.count -= state.scopes.removeValue(forKey: stale)?.count ?? 0
            }
            var entries = state.scopes[scope] ?? []
            if let same = entries.firstIndex(where: { $0.question == question }) {
                entries[same] = Entry(question: question, vector: vector, result: result, stored: now, used: state.clock)
            } else {
                entries.append(Entry(question: question, vector: vector, result: result, stored: now, used: state.clock))
                state.count += 1
            }
            state.scopes[scope] = entries
            if state.count > capacity { evict(&state) }
        }
    }

    /// Drops the least recently used eighth of the answers (so eviction is rare).
    private func evict(_ state: inout State) {
        var all: [(scope: Scope, used: UInt64)] = []
        for (scope, entries) in state.scopes {
            for entry in entries { all.append((scope, entry.used)) }
        }
        all.sort { $0.used < $1.used }
        let cutoff = all[min(all.count - 1, max(1, capacity / 8) - 1)].used
        for scope in Array(state.scopes.keys) {
            let kept = state.scopes[scope]!.filter { $0.used > cutoff }
            state.count -= state.scopes[scope]!.count - kept.count
            state.scopes[scope] = kept.isEmpty ? nil : kept
        }
    }
}
