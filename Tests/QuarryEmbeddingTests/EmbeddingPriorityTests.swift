import Foundation
import Synchronization
import Testing

@testable import QuarryEmbedding

/// Queries first (issue 15): interactive embedding runs between the layers of bulk work instead
/// of after it, bulk work stops at its next slice once cancelled, and neither changes a vector.
@Suite(.serialized) struct EmbeddingPriorityTests {
    /// Eight passages of about 40 word pieces, in slices of at most 64: eight slices of bulk work
    /// (the tests run a debug build, where the encoder is many times slower than released).
    static let bulkTexts: [String] = (0..<8).map { index in
        (0..<4).map { "passage\(index) word\($0) of the bulk ingest batch" }.joined(separator: " ")
    }

    /// An embedder of its own whose bulk slices are small, so that slices are many but short.
    static let slicing: Result<MiniLMEmbedder, any Error> = Result {
        try MiniLMEmbedder(
            modelDirectory: modelDirectory(), threads: 2, maxInputTokens: 256,
            tokensPerPass: MiniLMEmbedder.defaultTokensPerPass, bulkTokensPerSlice: 64
        )
    }

    @Test func slicesKeepInputOrderAndTheirTokenBound() {
        #expect(MiniLMEmbedder.slices(of: [100, 300, 200, 600, 50], tokens: 512) == [[0, 1], [2], [3], [4]])
        #expect(MiniLMEmbedder.slices(of: [], tokens: 512).isEmpty)
        #expect(MiniLMEmbedder.slices(of: [10, 10, 10], tokens: 512) == [[0, 1, 2]])
    }

    @Test func aQueryDoesNotWaitForBulkWork() async throws {
        let embedder = try Self.slicing.get()
        let question = "how does write-ahead logging work?"
        let alone = try await embedder.embed([question], priority: .interactive)
        let bulkAlone = try await embedder.embed(Array(Self.bulkTexts.prefix(3)), priority: .bulk)

        let finished = Mutex<[String]>([])
        let runsBefore = embedder.interactiveRunCount
        async let bulk: [[Float]] = {
            let vectors = try await embedder.embed(Self.bulkTexts, priority: .bulk)
            finished.withLock { $0.append("bulk") }
            return vectors
        }()
        // Let the bulk work start, then ask as a query would.
        try await Task.sleep(for: .milliseconds(150))
        let clock = ContinuousClock()
        let start = clock.now
        let vector = try await embedder.embed([question], priority: .interactive)
        let waited = clock.now - start
        finished.withLock { $0.append("query") }
        let bulkVectors = try await bulk

        #expect(finished.withLock { $0 } == ["query", "bulk"], "the query finished after the bulk work")
        #expect(embedder.interactiveRunCount > runsBefore)
        // Not a timing assertion on the machine's speed: the query must not have waited for all of
        // the bulk work, which is what it did before (recorded for the reader).
        print("EmbeddingPriorityTests: the query waited \(waited) behind \(Self.bulkTexts.count) bulk passages")
        #expect(embedder.bulkTokensPerSlice == 64 && MiniLMEmbedder.slices(of: Array(repeating: 40, count: 8), tokens: 64).count == 8)
        // Same vectors whatever ran around them.
        #expect(zip(vector[0], alone[0]).allSatisfy { abs($0 - $1) < 1e-5 })
        for index in 0..<3 {
            #expect(zip(bulkVectors[index], bulkAlone[index]).allSatisfy { abs($0 - $1) < 1e-5 })
        }
        #expect(bulkVectors.count == Self.bulkTexts.count && bulkVectors.allSatisfy { $0.count == 384 })
    }

    /// While a foreground request runs (a query past its embedding: search, ranking), bulk work
    /// makes room for it between its layers (pausing, then one worker), and its vectors are
    /// those it gives alone.
    @Test func bulkWorkMakesRoomForForegroundRequests() async throws {
        let embedder = try Self.slicing.get()
        let texts = Array(Self.bulkTexts.prefix(4))
        // (Foreground work is counted for the whole process, and other suites' queries may run
        // now: only that bulk work made room while this one ran is checked.)
        let alone = try await embedder.embed(texts, priority: .bulk)
        let gate = AsyncStream<Void>.makeStream()
        let started = AsyncStream<Void>.makeStream()
        let query = Task {
            await ForegroundWork.run {
                started.continuation.yield()
                for await _ in gate.stream { break }
            }
        }
        for await _ in started.stream { break }
        #expect(ForegroundWork.isActive)
        let turnsBefore = embedder.foregroundTurnCount
        let crowded = try await embedder.embed(texts, priority: .bulk)
        gate.continuation.finish()
        await query.value
        #expect(embedder.foregroundTurnCount > turnsBefore, "bulk work never made room for the foreground request")
        for (a, b) in zip(crowded, alone) { #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 }) }
    }

    @Test func cancelledBulkWorkStopsAtTheNextSlice() async throws {
        let embedder = try Self.slicing.get()
        let texts = Self.bulkTexts + Self.bulkTexts
        let task = Task { try await embedder.embed(texts, priority: .bulk) }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        print("EmbeddingPriorityTests: the cancelled bulk work ended \(clock.now - start) after the cancel")
        // The encoder is free again at once for the next caller.
        #expect(try await embedder.embed(["after"], priority: .interactive).count == 1)
    }

    @Test func concurrentInteractiveCallsGetTheirOwnVectors() async throws {
        let embedder = try Self.slicing.get()
        let questions = (0..<6).map { "question number \($0) about \($0 * 7) things" }
        let alone = try await questions.asyncMap { try await embedder.embed([$0])[0] }
        let bulk = Task { try await embedder.embed(Array(Self.bulkTexts.prefix(4)), priority: .bulk) }
        let together = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (index, question) in questions.enumerated() {
                group.addTask { (index, try await embedder.embed([question], priority: .interactive)[0]) }
            }
            var vectors = [[Float]](repeating: [], count: questions.count)
            for try await (index, vector) in group { vectors[index] = vector }
            return vectors
        }
        _ = try await bulk.value
        for (a, b) in zip(together, alone) { #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 }) }
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
