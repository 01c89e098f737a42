import Foundation
import QuarryErrors
import Testing

@testable import QuarryEmbedding

/// Each encoder kernel against a plain scalar twin written from the textbook formula.
@Suite struct KernelTwinTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
    }

    func random(_ count: Int, seed: UInt64, range: ClosedRange<Float> = -3...3) -> [Float] {
        var g = Generator(state: seed)
        return (0..<count).map { _ in Float.random(in: range, using: &g) }
    }

    @Test func erfAndGeluMatchLibm() {
        var xs = stride(from: Float(-6), through: 6, by: 0.001).map { $0 }
        xs += [0, -0, 1e-8, -1e-8, 40, -40]
        var gelu = xs
        gelu.withUnsafeMutableBufferPointer { BertKernels.gelu($0.baseAddress!, count: $0.count) }
        for (x, y) in zip(xs, gelu) {
            let expected = 0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))
            // For x far below 0, 1 + erf(x) cancels in float: a few 1e-6 absolute is all float can do.
            #expect(abs(Double(y) - expected) <= 3e-6 + 1e-6 * abs(expected), "gelu(\(x)) = \(y), expected \(expected)")
        }
    }

    @Test func expMatchesLibm() {
        for x in stride(from: Float(-87), through: 88, by: 0.37) {
            let value = BertKernels.exp(SIMD8(repeating: x))[0]
            let expected = Foundation.exp(Double(x))
            #expect(abs(Double(value) - expected) <= 3e-7 * expected, "exp(\(x))")
        }
        #expect(BertKernels.exp(SIMD8(repeating: -1000))[0] < 1e-37)
    }

    @Test(arguments: [1, 7, 8, 13, 64, 257])
    func exponentiateMatchesTwin(columns: Int) {
        let rows = 3
        let input = random(rows * columns, seed: UInt64(columns), range: -20...20)
        var output = input
        var sums = [Float](repeating: .nan, count: rows)
        output.withUnsafeMutableBufferPointer { out in
            sums.withUnsafeMutableBufferPointer {
                BertKernels.exponentiate(out.baseAddress!, rows: rows, columns: columns, stride: columns, sums: $0.baseAddress!)
            }
        }
        for r in 0..<rows {
            let row = input[r * columns..<(r + 1) * columns].map { Double($0) }
            let m = row.max()!
            let total = row.reduce(0) { $0 + Foundation.exp($1 - m) }
            #expect(abs(Double(sums[r]) - total) <= 1e-6 * total)
            for (j, value) in row.enumerated() {
                #expect(abs(Double(output[r * columns + j]) - Foundation.exp(value - m)) < 1e-6)
                #expect(abs(Double(output[r * columns + j] / sums[r]) - Foundation.exp(value - m) / total) < 1e-6)
            }
        }
    }

    @Test func multiplyMatchesTwin() {
        for count in [0, 1, 7, 8, 32, 35] {
            let input = random(count, seed: UInt64(count) + 100)
            var output = input
            output.withUnsafeMutableBufferPointer { BertKernels.multiply($0.baseAddress!, count: count, by: -1.5) }
            #expect(output == input.map { $0 * -1.5 })
        }
    }

    @Test func layerNormMatchesTwin() {
        let rows = 5, width = 384
        let input = random(rows * width, seed: 1, range: -10...10)
        let gamma = random(width, seed: 2), beta = random(width, seed: 3)
        var output = input
        output.withUnsafeMutableBufferPointer { out in
            BertKernels.layerNorm(out.baseAddress!, rows: rows, width: width, gamma: gamma, beta: beta, epsilon: 1e-12)
        }
        for r in 0..<rows {
            let row = input[r * width..<(r + 1) * width].map(Double.init)
            let mean = row.reduce(0, +) / Double(width)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(width)
            for (j, x) in row.enumerated() {
                let expected = (x - mean) / (variance + 1e-12).squareRoot() * Double(gamma[j]) + Double(beta[j])
                #expect(abs(Double(output[r * width + j]) - expected) < 1e-4)
            }
        }
    }

    @Test func linearMatchesTripleLoop() {
        let rows = 7, inFeatures = 24, outFeatures = 40
        let input = random(rows * inFeatures, seed: 4), weight = random(outFeatures * inFeatures, seed: 5)
        let bias = random(outFeatures, seed: 6)
        var output = [Float](repeating: .nan, count: rows * outFeatures)
        output.withUnsafeMutableBufferPointer { out in
            BertKernels.linear(
                input: input, rows: rows, inFeatures: inFeatures, weight: weight, bias: bias, outFeatures: outFeatures,
                output: out.baseAddress!
            )
        }
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var expected = Double(bias[o])
                for i in 0..<inFeatures { expected += Double(input[r * inFeatures + i]) * Double(weight[o * inFeatures + i]) }
                #expect(abs(Double(output[r * outFeatures + o]) - expected) < 1e-4)
            }
        }
    }

    /// Both paths: BLAS (a head width that is not whole vectors, a long sequence) and the short
    /// sequences' SIMD loops.
    @Test(arguments: [(9, 4), (9, 16), (30, 32), (70, 8)])
    func attentionMatchesTwin(length: Int, headWidth: Int) {
        let stride = 3 * headWidth
        let qkv = random(length * stride, seed: UInt64(7 + length))
        var scores = [Float](repeating: 0, count: length * length)
        var output = [Float](repeating: 0, count: length * headWidth)
        var sums = [Float](repeating: 0, count: length)
        qkv.withUnsafeBufferPointer { base in
            scores.withUnsafeMutableBufferPointer { s in
                output.withUnsafeMutableBufferPointer { o in
                    sums.withUnsafeMutableBufferPointer { rowSums in
                        BertKernels.attention(
                            query: base.baseAddress!, key: base.baseAddress! + headWidth, value: base.baseAddress! + 2 * headWidth, stride: stride,
                            length: length, headWidth: headWidth, scale: 0.5, scores: s.baseAddress!,
                            rowSums: rowSums.baseAddress!, output: o.baseAddress!, outputStride: headWidth
                        )
                    }
                }
            }
        }
        for i in 0..<length {
            var weights = (0..<length).map { j in
                (0..<headWidth).reduce(0.0) { $0 + Double(qkv[i * stride + $1]) * Double(qkv[j * stride + headWidth + $1]) } * 0.5
            }
            let m = weights.max()!
            weights = weights.map { Foundation.exp($0 - m) }
            let total = weights.reduce(0, +)
            for d in 0..<headWidth {
                let expected = (0..<length).reduce(0.0) { $0 + weights[$1] / total * Double(qkv[$1 * stride + 2 * headWidth + d]) }
                #expect(abs(Double(output[i * headWidth + d]) - expected) < 1e-5, "length \(length), width \(headWidth)")
            }
        }
    }
}

@Suite struct ModelFileTests {
    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func safetensors(header: String, payload: [UInt8]) -> Data {
        var data = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(contentsOf: payload)
        return data
    }

    @Test func readsAValidFile() throws {
        let floats: [Float] = [1, 2, 3, 4, 5, 6]
        let payload = floats.withUnsafeBytes { Array($0) }
        let file = try SafeTensorsFile(
            data: safetensors(header: #"{"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}"#, payload: payload)
        )
        #expect(try file.floats("w", shape: [2, 3]) == floats)
        #expect(throws: QuarryError.self) { try file.floats("w", shape: [3, 2]) }
        #expect(throws: QuarryError.self) { try file.floats("missing", shape: [1]) }
    }

    @Test(arguments: [
        #"{"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 48]}}"#,  // past the end
        #"{"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 24]}}"#,  // shape and size disagree
        #"{"w": {"dtype": "Q7", "shape": [6], "data_offsets": [0, 24]}}"#,  // unknown dtype
        #"{"w": {"dtype": "F32", "shape": [-6], "data_offsets": [0, 24]}}"#,  // negative dimension
        #"{"w": {"dtype": "F32", "shape": [6], "data_offsets": [24, 0]}}"#,  // reversed range
        #"{"w": "not an object"}"#,
        #"[1, 2, 3]"#,
        #"{"w": {"dtype": "F32", "shape": [9223372036854775807, 4], "data_offsets": [0, 24]}}"#,  // overflow
    ])
    func refusesCorruptHeaders(header: String) {
        let data = safetensors(header: header, payload: [UInt8](repeating: 0, count: 24))
        #expect(throws: QuarryError.self) { try SafeTensorsFile(data: data) }
    }

    @Test func refusesTruncatedModelFileAtEveryCut() throws {
        let url = modelDirectory().appendingPathComponent("model.safetensors")
        let handle = try FileHandle(forReadingFrom: url)
        let head = try handle.read(upToCount: 200_000) ?? Data()
        try handle.close()
        for cut in [0, 3, 8, 9, 100, 5_000, 199_999] {
            #expect(throws: QuarryError.self) { try SafeTensorsFile(data: head.prefix(cut)) }
        }
    }

    @Test func missingOrDamagedModelFolderSaysHowToFix() throws {
        do {
            _ = try MiniLMEmbedder(modelDirectory: URL(fileURLWithPath: "/nonexistent/model"))
            Issue.record("a missing model folder was accepted")
        } catch let error as QuarryError {
            #expect(error.code == .modelMissing)
            #expect(error.message.contains("scripts/fetch-model.sh"))
        }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = modelDirectory()
        for file in ["vocab.txt", "config.json"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        // A weights file cut short after its header.
        let handle = try FileHandle(forReadingFrom: source.appendingPathComponent("model.safetensors"))
        try (handle.read(upToCount: 1_000_000) ?? Data()).write(to: dir.appendingPathComponent("model.safetensors"))
        try handle.close()
        do {
            _ = try MiniLMEmbedder(modelDirectory: dir)
            Issue.record("a truncated model was accepted")
        } catch let error as QuarryError {
            #expect(error.code == .modelCorrupt)
        }
    }
}
