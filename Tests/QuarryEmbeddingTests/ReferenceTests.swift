import Foundation
import Testing

@testable import QuarryEmbedding

/// The reference word-piece ids and embeddings of all-MiniLM-L6-v2 (Fixtures/minilm).
struct ReferenceLine: Decodable {
    var text: String
    var tokenIDs: [Int32]
    var embedding: [Float]

    enum CodingKeys: String, CodingKey {
        case text, embedding
        case tokenIDs = "token_ids"
    }

    static func load() throws -> [ReferenceLine] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/minilm/vectors", withExtension: "jsonl"))
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(ReferenceLine.self, from: Data($0.utf8)) }
    }
}

/// The model folder: `$QUARRY_MODEL`, else `models/all-MiniLM-L6-v2` at the package root.
func modelDirectory() -> URL {
    if let path = ProcessInfo.processInfo.environment["QUARRY_MODEL"], !path.isEmpty {
        return URL(fileURLWithPath: path, isDirectory: true)
    }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/all-MiniLM-L6-v2", isDirectory: true)
}

/// One embedder for the whole test run: loading it copies 90 MB of weights.
let sharedEmbedder: Result<MiniLMEmbedder, any Error> = Result {
    do {
        return try MiniLMEmbedder(modelDirectory: modelDirectory())
    } catch {
        // Say how to get the model rather than failing with a bare error: CI fetches it first.
        Issue.record("cannot load the model (run scripts/fetch-model.sh): \(error)")
        throw error
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Float {
    var dot: Float = 0, na: Float = 0, nb: Float = 0
    for i in a.indices {
        dot += a[i] * b[i]
        na += a[i] * a[i]
        nb += b[i] * b[i]
    }
    return dot / (na.squareRoot() * nb.squareRoot())
}

@Suite struct ReferenceTests {
    @Test func wordPieceIDsMatchExactly() throws {
        let embedder = try sharedEmbedder.get()
        for line in try ReferenceLine.load() {
            #expect(embedder.tokenizer.encode(line.text, maxLength: 256) == line.tokenIDs, "\(line.text)")
            #expect(embedder.tokenCount(line.text) >= line.tokenIDs.count - 2)
        }
    }

    @Test func embeddingsMatchTheReferenceInOneBatch() throws {
        let embedder = try sharedEmbedder.get()
        let lines = try ReferenceLine.load()
        let vectors = try embedder.embedBatch(lines.map(\.text))
        for (line, vector) in zip(lines, vectors) {
            #expect(vector.count == 384)
            #expect(cosine(vector, line.embedding) >= 0.9999, "\(line.text)")
        }
    }

    @Test func embeddingsMatchTheReferenceOneAtATime() async throws {
        let embedder = try sharedEmbedder.get()
        for line in try ReferenceLine.load() {
            let vector = try #require(try await embedder.embed([line.text]).first)
            #expect(cosine(vector, line.embedding) >= 0.9999, "\(line.text)")
        }
    }

    @Test func batchCompanyDoesNotChangeAVector() throws {
        let embedder = try sharedEmbedder.get()
        let lines = try ReferenceLine.load().map(\.text)
        let alone = try embedder.embedBatch([lines[4]])[0]
        let inBatch = try embedder.embedBatch(lines)[4]
        let reversed = try embedder.embedBatch(lines.reversed())[lines.count - 1 - 4]
        for (a, b) in zip(alone, inBatch) { #expect(abs(a - b) <= 1e-6) }
        for (a, b) in zip(alone, reversed) { #expect(abs(a - b) <= 1e-6) }
    }

    @Test func smallPassesAndAReusedWorkspaceGiveTheSameVectors() throws {
        let embedder = try sharedEmbedder.get()
        // Passes of at most 40 pieces: the longest lines run alone, first, and the later,
        // shorter passes reuse a workspace holding their stale activations.
        let small = try MiniLMEmbedder(
            modelDirectory: modelDirectory(), threads: 2, maxInputTokens: 256, tokensPerPass: 40
        )
        let lines = try ReferenceLine.load()
        let expected = try embedder.embedBatch(lines.map(\.text))
        let vectors = try small.embedBatch(lines.map(\.text))
        for (line, (a, b)) in zip(lines, zip(expected, vectors)) {
            #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(line.text)")
            #expect(cosine(b, line.embedding) >= 0.9999, "\(line.text)")
        }
        #expect(try small.embedBatch(["x"]) == small.embedBatch(["x"]))
    }

    @Test func knownPairSimilarity() throws {
        let embedder = try sharedEmbedder.get()
        let vectors = try embedder.embedBatch(["A man is eating food.", "A man is eating a piece of bread."])
        #expect(abs(cosine(vectors[0], vectors[1]) - 0.7553) < 0.001)
    }

    @Test func modelIdentity() throws {
        let model = try sharedEmbedder.get().model
        #expect(model.name == "all-MiniLM-L6-v2")
        #expect(model.dimension == 384)
        #expect(model.fingerprint == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")
    }

    @Test func emptyAndHugeInputs() throws {
        let embedder = try sharedEmbedder.get()
        #expect(try embedder.embedBatch([]).isEmpty)
        let vectors = try embedder.embedBatch(["", String(repeating: "word ", count: 5000)])
        #expect(vectors.map(\.count) == [384, 384])
        #expect(embedder.tokenizer.encode(String(repeating: "word ", count: 5000)).count == 256)
        #expect(embedder.tokenizer.encode("") == [101, 102])
    }
}
