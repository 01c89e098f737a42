import Foundation
import Testing

@testable import QuarryEmbedding

/// The small-batch path (issue 16): packed weights and register tiles instead of `sgemm` for a
/// few word pieces. Same products as a scalar twin, same vectors as the `sgemm` path and the
/// reference model.
@Suite struct SmallBatchTests {
    @Test(arguments: [1, 5, 6, 7, 13, 48])
    func productsMatchAScalarTwin(rows: Int) {
        let inFeatures = 40, outFeatures = 48
        var generator = KernelTwinTests.Generator(state: UInt64(rows))
        let input = (0..<rows * inFeatures).map { _ in Float.random(in: -2...2, using: &generator) }
        let weight = (0..<outFeatures * inFeatures).map { _ in Float.random(in: -1...1, using: &generator) }
        let bias = (0..<outFeatures).map { _ in Float.random(in: -1...1, using: &generator) }
        let packed = SmallBatchLinear.pack(weight, outFeatures: outFeatures, inFeatures: inFeatures)
        var output = [Float](repeating: .nan, count: rows * outFeatures)
        // Two calls over two ranges of panels, as two workers would make them.
        for panels in [0..<1, 1..<3] {
            output.withUnsafeMutableBufferPointer { out in
                SmallBatchLinear.apply(
                    input: input, rows: rows, inFeatures: inFeatures, packed: packed, bias: bias,
                    outFeatures: outFeatures, output: out.baseAddress!, panels: panels
                )
            }
        }
        for r in 0..<rows {
            for n in 0..<outFeatures {
                var expected = Double(bias[n])
                for k in 0..<inFeatures { expected += Double(input[r * inFeatures + k]) * Double(weight[n * inFeatures + k]) }
                #expect(abs(Double(output[r * outFeatures + n]) - expected) < 1e-4, "row \(r), output \(n)")
            }
        }
    }

    /// Queries of 1 to 48 word pieces, alone and several together: the same vectors whichever
    /// path runs them, and the reference model's.
    @Test func vectorsEqualTheSgemmPathAndTheReference() throws {
        let embedder = try sharedEmbedder.get()
        var reference = embedder.encoder
        reference.smallBatchPath = false
        let texts = ["a", "what is a write-ahead log?", "How do checkpoints move pages from the WAL file back into the database, and when?"]
        let sequences = texts.map { embedder.tokenizer.encode($0, maxLength: 256) }
        #expect(sequences.allSatisfy { $0.count <= SmallBatchLinear.maxRows })
        for batch in [[0], [1], [2], [0, 1, 2]] {
            let chosen = batch.map { sequences[$0] }
            #expect(chosen.reduce(0) { $0 + $1.count } <= SmallBatchLinear.maxRows)
            let fast = try embedder.encoder.embed(chosen)
            let slow = try reference.embed(chosen)
            for (a, b) in zip(fast, slow) { #expect(cosine(a, b) >= 0.9999, "\(batch)") }
        }
        for line in try ReferenceLine.load() where line.tokenIDs.count <= SmallBatchLinear.maxRows {
            let vector = try embedder.encoder.embed([line.tokenIDs])[0]
            #expect(cosine(vector, line.embedding) >= 0.9999, "\(line.text)")
        }
    }
}
