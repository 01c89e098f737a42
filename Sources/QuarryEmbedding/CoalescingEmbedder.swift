import QuarryErrors
import Synchronization

/// Runs concurrent small `embed` calls as shared batches: while one batch is being embedded, new
/// calls wait, and when it is done all of them go together as the next batch. A lone call runs at
/// once, so there is no timer and no added latency when the server is idle; under load, many
/// one-query calls become one pass of the encoder, which costs far less than as many passes.
///
/// Vectors do not depend on batch companions (the `Embedder` contract), so the results are the
/// ones each call would get alone.
public final class CoalescingEmbedder: Embedder {
    /// The embedder that does the work.
    public let base: any Embedder
    /// The most texts in one shared batch; calls with at least this many texts run on their own.
    public let maxBatch: Int

    private struct Waiting {
        var texts: [String]
        var continuation: CheckedContinuation<[[Float]], any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var draining = false
        var batches = 0
        var calls = 0
    }

    private let state = Mutex(State())

    /// Wraps `base`.
    public init(_ base: any Embedder, maxBatch: Int = 32) {
        self.base = base
        self.maxBatch = max(1, maxBatch)
    }

    public var model: EmbeddingModelInfo { base.model }
    public var maxInputTokens: Int { base.maxInputTokens }
    public func tokenCount(_ text: String) -> Int { base.tokenCount(text) }

    /// Calls so far, and the batches they were embedded in.
    public var statistics: (calls: Int, batches: Int) {
        state.withLock { ($0.calls, $0.batches) }
    }

    /// Embeds `texts` as interactive work, in a shared batch.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try await embed(texts, priority: .interactive)
    }

    /// Interactive calls are shared batches; bulk calls go to the base embedder as they are.
    public func embed(_ texts: [String], priority: EmbeddingPriority) async throws -> [[Float]] {
        if texts.isEmpty { return [] }
        if priority == .bulk { return try await base.embed(texts, priority: .bulk) }
        if texts.count >= maxBatch { return try await base.embed(texts, priority: .interactive) }
        return try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state in
                state.calls += 1
                state.waiting.append(Waiting(texts: texts, continuation: continuation))
                defer { state.draining = true }
                return !state.draining
            }
            if start { Task { await self.drain() } }
        }
    }

    /// Embeds what waits, batch after batch, until nothing does.
    private func drain() async {
        while true {
            let batch: [Waiting] = state.withLock { state in
                var taken: [Waiting] = []
                var count = 0
                while let next = state.waiting.first, taken.isEmpty || count + next.texts.count <= maxBatch {
                    taken.append(state.waiting.removeFirst())
                    count += next.texts.count
                }
                if taken.isEmpty {
                    state.draining = false
                } else {
                    state.batches += 1
                }
                return taken
            }
            if batch.isEmpty { return }
            do {
                let vectors = try await base.embed(batch.flatMap(\.texts), priority: .interactive)
                guard vectors.count == batch.reduce(0, { $0 + $1.texts.count }) else {
                    throw QuarryError(.invalidRequest, "the embedder returned \(vectors.count) vectors for a batch")
                }
                var offset = 0
                for waiting in batch {
                    waiting.continuation.resume(returning: Array(vectors[offset..<offset + waiting.texts.count]))
                    offset += waiting.texts.count
                }
            } catch {
                for waiting in batch { waiting.continuation.resume(throwing: error) }
            }
        }
    }
}
