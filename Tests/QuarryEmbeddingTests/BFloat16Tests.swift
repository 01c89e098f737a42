import CQuarryBF16
import Foundation
import Testing

@testable import QuarryEmbedding

/// The bfloat16 encoder (issue 16): products equal to a scalar twin over the same rounded
/// values, and vectors within cosine 0.9999 of the float32 paths and the reference model, for
/// queries (few rows, panels shared between workers) and batches of passages (rows shared).
@Suite(.enabled(if: BFloat16Linear.available, "this CPU has no AVX-512 BF16; the float32 paths are tested elsewhere"))
struct BFloat16Tests {
    /// A float rounded to bfloat16 and back, as the kernels round (nearest, ties to even).
    static func rounded(_ value: Float) -> Float {
        var bits = value.bitPattern
        bits = (bits &+ 0x7fff &+ ((bits >> 16) & 1)) & 0xffff_0000
        return Float(bitPattern: bits)
    }

    @Test(arguments: [1, 7, 8, 9, 22, 48, 131])
    func productsMatchAScalarTwin(rows: Int) {
        // 5 panels: a pair, a pair and a single one, split 0..<3 and 3..<5 as two workers would.
        let inFeatures = 38, outFeatures = 80
        var generator = KernelTwinTests.Generator(state: UInt64(rows) &+ 17)
        let input = (0..<rows * inFeatures).map { _ in Float.random(in: -2...2, using: &generator) }
        let weight = (0..<outFeatures * inFeatures).map { _ in Float.random(in: -1...1, using: &generator) }
        let bias = (0..<outFeatures).map { _ in Float.random(in: -1...1, using: &generator) }
        let packed = BFloat16Linear.pack(weight, outFeatures: outFeatures, inFeatures: inFeatures)
        var converted = [UInt16](repeating: 0, count: input.count)
        input.withUnsafeBufferPointer { BFloat16Linear.convert($0.baseAddress!, count: input.count, into: &converted) }
        #expect(converted.enumerated().allSatisfy { Float(bitPattern: UInt32($1) << 16) == Self.rounded(input[$0]) })
        var output = [Float](repeating: .nan, count: rows * outFeatures)
        for (rowRange, panels) in [(0..<rows, 0..<3), (0..<rows / 2, 3..<5), (rows / 2..<rows, 3..<5)] {
            converted.withUnsafeBufferPointer { x in
                packed.withUnsafeBufferPointer { w in
                    output.withUnsafeMutableBufferPointer { out in
                        BFloat16Product(
                            input: x.baseAddress!, inFeatures: inFeatures, packed: w.baseAddress!, bias: bias,
                            outFeatures: outFeatures, output: out.baseAddress!, gelu: false
                        ).run(rows: rowRange, panels: panels)
                    }
                }
            }
        }
        for r in 0..<rows {
            for n in 0..<outFeatures {
                var expected = Double(bias[n])
                for k in 0..<inFeatures {
                    expected += Double(Self.rounded(input[r * inFeatures + k])) * Double(Self.rounded(weight[n * inFeatures + k]))
                }
                #expect(abs(Double(output[r * outFeatures + n]) - expected) < 1e-4, "row \(r), output \(n)")
            }
        }
    }

    /// Queries alone and together (few rows) and a batch of passages (many rows): the same
    /// vectors as the float32 small-batch and sgemm paths, and the reference model's.
    @Test func vectorsMatchFloat32AndTheReference() throws {
        let embedder = try sharedEmbedder.get()
        let fast = try embedder.encoder(in: .bfloat16)
        #expect(fast.precision == .bfloat16)
        let small = try embedder.encoder(in: .float32)
        #expect(small.precision == .float32)
        var blas = small
        blas.smallBatchPath = false
        let lines = try ReferenceLine.load()
        let short = lines.filter { $0.tokenIDs.count <= SmallBatchLinear.maxRows }.prefix(6).map(\.tokenIDs)
        let batch = lines.map(\.tokenIDs)
        #expect(batch.reduce(0) { $0 + $1.count } > SmallBatchLinear.maxRows)
        for sequences in short.map({ [$0] }) + [Array(short.prefix(2)), batch] {
            let vectors = try fast.embed(sequences)
            for (a, b) in zip(vectors, try small.embed(sequences)) { #expect(cosine(a, b) >= 0.9999) }
            for (a, b) in zip(vectors, try blas.embed(sequences)) { #expect(cosine(a, b) >= 0.9999) }
        }
        let all = try fast.embed(batch)
        for (vector, line) in zip(all, lines) { #expect(cosine(vector, line.embedding) >= 0.9999, "\(line.text)") }
        // Alone or in company, a text gets the same vector.
        for (index, line) in lines.enumerated().prefix(5) {
            #expect(cosine(try fast.embed([line.tokenIDs])[0], all[index]) >= 0.99999)
        }
    }
}

/// The float32 encoder stays available (CPUs without AVX-512 BF16, `QUARRY_ENCODER_PRECISION`).
@Suite struct EncoderPrecisionTests {
    @Test func float32IsAlwaysAvailableAndBFloat16OnlyWhereTheCPURunsIt() throws {
        let embedder = try sharedEmbedder.get()
        #expect(try embedder.encoder(in: .float32).precision == .float32)
        #expect(try embedder.encoder(in: .bfloat16).precision == (BFloat16Linear.available ? .bfloat16 : .float32))
        #expect(embedder.encoder.precision == EncoderPrecision.preferred)
    }
}
