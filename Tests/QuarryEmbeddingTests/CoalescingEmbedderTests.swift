import Foundation
import QuarryErrors
import QuarryEmbedding
import Synchronization
import Testing

/// A slow embedder that records the batches it is given; fails for any text "fail".
final class RecordingEmbedder: Embedder {
    let model = EmbeddingModelInfo(name: "recording", dimension: 2, fingerprint: "r")
    let maxInputTokens = 100
    let batches = Mutex<[[String]]>([])

    func tokenCount(_ text: String) -> Int { text.count }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        batches.withLock { $0.append(texts) }
        try await Task.sleep(for: .milliseconds(30))
        if texts.contains("fail") { throw QuarryError(.invalidRequest, "cannot embed 'fail'") }
        return texts.map { [Float($0.count), 1] }
    }
}

@Suite struct CoalescingEmbedderTests {
    @Test func concurrentCallsShareBatchesAndGetTheirOwnVectors() async throws {
        let base = RecordingEmbedder()
        let embedder = CoalescingEmbedder(base, maxBatch: 8)
        let texts = (0..<40).map { String(repeating: "x", count: $0 + 1) }
        let results = try await withThrowingTaskGroup(of: (Int, [[Float]]).self) { group in
            for (index, text) in texts.enumerated() {
                group.addTask { (index, try await embedder.embed(index % 5 == 0 ? [text, text + "y"] : [text])) }
            }
            return try await group.reduce(into: [Int: [[Float]]]()) { $0[$1.0] = $1.1 }
        }
        for (index, text) in texts.enumerated() {
            let expected: [[Float]] = index % 5 == 0 ? [[Float(text.count), 1], [Float(text.count + 1), 1]] : [[Float(text.count), 1]]
            #expect(results[index] == expected)
        }
        let batches = base.batches.withLock { $0 }
        #expect(batches.reduce(0) { $0 + $1.count } == 48)
        #expect(batches.count < 20, "\(batches.count) batches for 40 calls")
        #expect(batches.allSatisfy { $0.count <= 8 })
        #expect(embedder.statistics.calls == 40 && embedder.statistics.batches == batches.count)
    }

    @Test func aLoneCallRunsAtOnceAndLargeCallsGoStraightThrough() async throws {
        let base = RecordingEmbedder()
        let embedder = CoalescingEmbedder(base, maxBatch: 4)
        #expect(try await embedder.embed(["a"]) == [[1, 1]])
        #expect(try await embedder.embed(["a", "bb", "ccc", "dddd", "eeeee"]).count == 5)
        #expect(try await embedder.embed([]) == [])
        #expect(base.batches.withLock { $0 } == [["a"], ["a", "bb", "ccc", "dddd", "eeeee"]])
    }

    @Test func aFailureReachesEveryCallOfItsBatchOnly() async throws {
        let base = RecordingEmbedder()
        let embedder = CoalescingEmbedder(base, maxBatch: 64)
        // The first call runs alone; the next three wait and share one batch, which fails.
        async let first = embedder.embed(["first"])
        try await Task.sleep(for: .milliseconds(5))
        async let a = Result(catching: { try await embedder.embed(["a"]) })
        async let b = Result(catching: { try await embedder.embed(["fail"]) })
        async let c = Result(catching: { try await embedder.embed(["c"]) })
        #expect(try await first == [[5, 1]])
        let outcomes = await [a, b, c]
        #expect(outcomes.allSatisfy { if case .failure = $0 { true } else { false } })
        #expect(try await embedder.embed(["after"]) == [[5, 1]])
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
