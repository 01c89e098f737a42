import CQuarryBF16
import Foundation

/// The arithmetic of the encoder's dense layers.
///
/// `bfloat16` rounds weights and each layer's inputs to bfloat16 (8 bits of mantissa) and sums
/// in float: on a CPU with AVX-512 BF16 one instruction does 32 multiply-adds where float FMA
/// does 16, and the weights take half the memory traffic (a query's pass reads every weight once,
/// so this matters most for short queries). Vectors stay within cosine 0.9999 of float's
/// (measured on SciFact queries and passages: ≥ 0.99997), tested against the reference.
public enum EncoderPrecision: String, Sendable, CaseIterable {
    case float32
    case bfloat16

    /// bfloat16 when this CPU runs it (`BFloat16Linear.available`), float32 otherwise; the
    /// environment variable `QUARRY_ENCODER_PRECISION=float32` keeps float32 (the command line
    /// refuses values other than `float32` and `bfloat16`).
    public static var preferred: EncoderPrecision {
        let asked = ProcessInfo.processInfo.environment["QUARRY_ENCODER_PRECISION"].flatMap { EncoderPrecision(rawValue: $0.lowercased()) }
        if asked == .float32 || !BFloat16Linear.available { return .float32 }
        return .bfloat16
    }
}

/// Dense layers in bfloat16 with float sums (`CQuarryBF16`): weights packed once at load into
/// panels of 16 output features, inputs rounded once per product.
enum BFloat16Linear {
    /// Output features per panel.
    static let panelWidth = Int(QUARRY_BF16_PANEL)

    /// Whether this CPU runs the kernels (AVX-512 BF16).
    static let available: Bool = quarry_bf16_available() != 0

    /// `weight` (`outFeatures × inFeatures`, row-major) rounded and packed for `apply`.
    /// - Precondition: `outFeatures` is a multiple of `panelWidth` and `inFeatures` is even.
    static func pack(_ weight: [Float], outFeatures: Int, inFeatures: Int) -> [UInt16] {
        precondition(outFeatures % panelWidth == 0 && inFeatures % 2 == 0 && weight.count == outFeatures * inFeatures)
        var packed = [UInt16](repeating: 0, count: weight.count)
        weight.withUnsafeBufferPointer { source in
            packed.withUnsafeMutableBufferPointer { target in
                quarry_bf16_pack(source.baseAddress!, outFeatures, inFeatures, target.baseAddress!)
            }
        }
        return packed
    }

    /// `count` floats rounded to bfloat16.
    static func convert(_ input: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<UInt16>) {
        quarry_bf16_convert(input, count, output)
    }
}

/// One bfloat16 product whose rows (already rounded into `input`) the workers share out by
/// panels or by rows; each writes only its own outputs.
struct BFloat16Product: @unchecked Sendable {
    let input: UnsafePointer<UInt16>
    let inFeatures: Int
    let packed: UnsafePointer<UInt16>
    let bias: UnsafePointer<Float>
    let outFeatures: Int
    let output: UnsafeMutablePointer<Float>
    /// Whether GELU follows on the outputs.
    let gelu: Bool

    var panelCount: Int { outFeatures / BFloat16Linear.panelWidth }

    /// The outputs of `panels` for `rows`.
    func run(rows: Range<Int>, panels: Range<Int>) {
        guard !rows.isEmpty, !panels.isEmpty else { return }
        quarry_bf16_linear(
            input + rows.lowerBound * inFeatures, rows.count, inFeatures, packed, bias,
            output + rows.lowerBound * outFeatures, outFeatures, panels.lowerBound, panels.upperBound
        )
        guard gelu else { return }
        let width = BFloat16Linear.panelWidth
        if panels.count == panelCount {
            BertKernels.gelu(output + rows.lowerBound * outFeatures, count: rows.count * outFeatures)
        } else {
            for row in rows {
                BertKernels.gelu(output + row * outFeatures + panels.lowerBound * width, count: panels.count * width)
            }
        }
    }
}

extension BertEncoder {
    /// Runs `body` with the product of `packed` weights (and `bias`) on `input`.
    private static func product(
        _ packed: [UInt16], _ bias: [Float], input: UnsafePointer<UInt16>, inFeatures: Int, outFeatures: Int,
        output: UnsafeMutablePointer<Float>, gelu: Bool = false, body: (BFloat16Product) -> Void
    ) {
        packed.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                body(BFloat16Product(
                    input: input, inFeatures: inFeatures, packed: w.baseAddress!, bias: b.baseAddress!,
                    outFeatures: outFeatures, output: output, gelu: gelu
                ))
            }
        }
    }

    /// One layer in bfloat16. Few rows (a query or a handful): each product's panels are shared
    /// between the workers and the row-wise steps run on the calling thread. Many rows (a batch
    /// of passages): as the float path, each worker takes its rows through every step but
    /// attention.
    // swiftlint:disable:next function_parameter_count
    func runBFloat16Layer(
        _ layer: Layer, workers allowed: Int, tokens: Int, lengths: [Int], headWidth: Int, scale: Float,
        buffers: LayerBuffers, rounded: UnsafeMutablePointer<UInt16>
    ) {
        let c = configuration
        let h = c.hiddenSize
        let f = c.intermediateSize
        let epsilon = c.layerNormEpsilon

        if tokens <= SmallBatchLinear.maxRows {
            // Fewer than 32 rows (one query) do not pay for waking a second worker on every
            // product: `quarry bench queries` measured one query of 22 pieces at 2.05 ms on one
            // worker and 2.22 ms on two; two queries together (44 pieces) 3.59 ms and 3.22 ms.
            let workers = tokens < 32 ? 1 : max(1, min(allowed, threads))
            func shared(_ step: BFloat16Product) {
                let panels = step.panelCount
                if workers == 1 { return step.run(rows: 0..<tokens, panels: 0..<panels) }
                let share = (panels + workers - 1) / workers
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    step.run(rows: 0..<tokens, panels: min(panels, worker * share)..<min(panels, (worker + 1) * share))
                }
            }
            BFloat16Linear.convert(buffers.x, count: tokens * h, into: rounded)
            Self.product(layer.qkvBFloat16, layer.qkvBias, input: rounded, inFeatures: h, outFeatures: 3 * h, output: buffers.qkv, body: shared)
            attendOnThisThread(lengths: lengths, headWidth: headWidth, scale: scale, buffers: buffers)
            BFloat16Linear.convert(buffers.context, count: tokens * h, into: rounded)
            Self.product(layer.outputBFloat16, layer.outputBias, input: rounded, inFeatures: h, outFeatures: h, output: buffers.projected, body: shared)
            BertKernels.add(buffers.x, buffers.projected, count: tokens * h)
            BertKernels.layerNorm(buffers.x, rows: tokens, width: h, gamma: layer.attentionNormGamma, beta: layer.attentionNormBeta, epsilon: epsilon)
            BFloat16Linear.convert(buffers.x, count: tokens * h, into: rounded)
            Self.product(
                layer.intermediateBFloat16, layer.intermediateBias, input: rounded, inFeatures: h, outFeatures: f,
                output: buffers.intermediate, gelu: true, body: shared
            )
            BFloat16Linear.convert(buffers.intermediate, count: tokens * f, into: rounded)
            Self.product(layer.ffnOutputBFloat16, layer.ffnOutputBias, input: rounded, inFeatures: f, outFeatures: h, output: buffers.projected, body: shared)
            BertKernels.add(buffers.x, buffers.projected, count: tokens * h)
            BertKernels.layerNorm(buffers.x, rows: tokens, width: h, gamma: layer.outputNormGamma, beta: layer.outputNormBeta, epsilon: epsilon)
            return
        }

        // Many rows: each worker rounds and multiplies its own rows (its slice of `rounded` is
        // `f` values per row, room for any input width).
        let workers = max(1, min(allowed, tokens))
        let rowsPerWorker = (tokens + workers - 1) / workers
        let roundedRows = UnsafeMutableSendablePointer(rounded)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let rows = min(tokens, worker * rowsPerWorker)..<min(tokens, (worker + 1) * rowsPerWorker)
            guard !rows.isEmpty else { return }
            let slice = roundedRows.pointer + rows.lowerBound * f - rows.lowerBound * h
            BFloat16Linear.convert(buffers.x + rows.lowerBound * h, count: rows.count * h, into: slice + rows.lowerBound * h)
            Self.product(layer.qkvBFloat16, layer.qkvBias, input: slice, inFeatures: h, outFeatures: 3 * h, output: buffers.qkv) { step in
                step.run(rows: rows, panels: 0..<step.panelCount)
            }
        }
        attend(lengths: lengths, workers: allowed, headWidth: headWidth, scale: scale, buffers: buffers)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let rows = min(tokens, worker * rowsPerWorker)..<min(tokens, (worker + 1) * rowsPerWorker)
            guard !rows.isEmpty else { return }
            // Row r of an input `width` wide is read at `slice + r * width`: the worker's slice
            // starts at its first row's `f`-wide offset.
            func slice(width: Int) -> UnsafeMutablePointer<UInt16> { roundedRows.pointer + rows.lowerBound * f - rows.lowerBound * width }
            func round(_ input: UnsafePointer<Float>, width: Int) -> UnsafeMutablePointer<UInt16> {
                let target = slice(width: width)
                BFloat16Linear.convert(input + rows.lowerBound * width, count: rows.count * width, into: target + rows.lowerBound * width)
                return target
            }
            let xRows = buffers.x + rows.lowerBound * h
            let context = round(buffers.context, width: h)
            Self.product(layer.outputBFloat16, layer.outputBias, input: context, inFeatures: h, outFeatures: h, output: buffers.projected) { step in
                step.run(rows: rows, panels: 0..<step.panelCount)
            }
            BertKernels.add(xRows, buffers.projected + rows.lowerBound * h, count: rows.count * h)
            BertKernels.layerNorm(xRows, rows: rows.count, width: h, gamma: layer.attentionNormGamma, beta: layer.attentionNormBeta, epsilon: epsilon)
            let normed = round(buffers.x, width: h)
            Self.product(
                layer.intermediateBFloat16, layer.intermediateBias, input: normed, inFeatures: h, outFeatures: f,
                output: buffers.intermediate, gelu: true
            ) { step in
                step.run(rows: rows, panels: 0..<step.panelCount)
            }
            let activated = round(buffers.intermediate, width: f)
            Self.product(layer.ffnOutputBFloat16, layer.ffnOutputBias, input: activated, inFeatures: f, outFeatures: h, output: buffers.projected) { step in
                step.run(rows: rows, panels: 0..<step.panelCount)
            }
            BertKernels.add(xRows, buffers.projected + rows.lowerBound * h, count: rows.count * h)
            BertKernels.layerNorm(xRows, rows: rows.count, width: h, gamma: layer.outputNormGamma, beta: layer.outputNormBeta, epsilon: epsilon)
        }
    }
}

/// A pointer the workers of one `concurrentPerform` share, each using its own part.
struct UnsafeMutableSendablePointer<Pointee>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Pointee>
    init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
}
