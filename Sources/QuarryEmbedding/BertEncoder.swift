import CBLAS
import Foundation
import QuarryErrors

/// Shape of a BERT encoder, from the model's `config.json`.
public struct BertConfiguration: Sendable, Hashable, Codable {
    /// Width of every token's hidden state.
    public var hiddenSize: Int
    /// Transformer layers.
    public var layerCount: Int
    /// Attention heads per layer.
    public var headCount: Int
    /// Width of the feed-forward layer.
    public var intermediateSize: Int
    /// Word-piece vocabulary size.
    public var vocabularySize: Int
    /// Learned positions.
    public var maxPositions: Int
    /// Token types (segments).
    public var typeVocabularySize: Int
    /// LayerNorm epsilon.
    public var layerNormEpsilon: Float
    /// The model's name as its `config.json` records it (`_name_or_path`), when it does.
    public var nameOrPath: String?

    enum CodingKeys: String, CodingKey {
        case nameOrPath = "_name_or_path"
        case hiddenSize = "hidden_size"
        case layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case vocabularySize = "vocab_size"
        case maxPositions = "max_position_embeddings"
        case typeVocabularySize = "type_vocab_size"
        case layerNormEpsilon = "layer_norm_eps"
    }

    /// all-MiniLM-L6-v2's shape.
    public static let miniLM = BertConfiguration(
        hiddenSize: 384, layerCount: 6, headCount: 12, intermediateSize: 1536, vocabularySize: 30522,
        maxPositions: 512, typeVocabularySize: 2, layerNormEpsilon: 1e-12
    )
}

/// A BERT encoder whose matrix products are CBLAS `sgemm` calls, with mean pooling.
///
/// A batch is run without padding: the tokens of all its sequences are stacked into one
/// `tokens × hidden` matrix for the dense layers (one large `sgemm` each), and attention runs per
/// sequence and head. No token ever sees another sequence's tokens, so a text's vector does not
/// depend on what else is in the batch, and no work is spent on padding.
public struct BertEncoder: Sendable {
    struct Layer: Sendable {
        var qkvWeight: [Float]  // [3H × H]: query, key and value weights stacked
        var qkvBias: [Float]
        var outputWeight: [Float]
        var outputBias: [Float]
        var attentionNormGamma: [Float]
        var attentionNormBeta: [Float]
        var intermediateWeight: [Float]
        var intermediateBias: [Float]
        var ffnOutputWeight: [Float]
        var ffnOutputBias: [Float]
        var outputNormGamma: [Float]
        var outputNormBeta: [Float]
        /// The four weight matrices again, packed for `SmallBatchLinear` (a few rows).
        var qkvPacked: [Float] = []
        var outputPacked: [Float] = []
        var intermediatePacked: [Float] = []
        var ffnOutputPacked: [Float] = []
        /// The four weight matrices in bfloat16, packed for `BFloat16Linear` (bfloat16 precision).
        var qkvBFloat16: [UInt16] = []
        var outputBFloat16: [UInt16] = []
        var intermediateBFloat16: [UInt16] = []
        var ffnOutputBFloat16: [UInt16] = []

        /// Packs the weights for small batches (when every width is a whole number of panels).
        mutating func packForSmallBatches(hidden h: Int, intermediate f: Int) {
            let width = SmallBatchLinear.panelWidth
            guard h % width == 0, f % width == 0 else { return }
            qkvPacked = SmallBatchLinear.pack(qkvWeight, outFeatures: 3 * h, inFeatures: h)
            outputPacked = SmallBatchLinear.pack(outputWeight, outFeatures: h, inFeatures: h)
            intermediatePacked = SmallBatchLinear.pack(intermediateWeight, outFeatures: f, inFeatures: h)
            ffnOutputPacked = SmallBatchLinear.pack(ffnOutputWeight, outFeatures: h, inFeatures: f)
        }

        var packedForSmallBatches: Bool { !qkvPacked.isEmpty }

        /// Packs the weights in bfloat16 (when every width is a whole number of panels).
        mutating func packInBFloat16(hidden h: Int, intermediate f: Int) -> Bool {
            let width = BFloat16Linear.panelWidth
            guard h % width == 0, f % width == 0 else { return false }
            qkvBFloat16 = BFloat16Linear.pack(qkvWeight, outFeatures: 3 * h, inFeatures: h)
            outputBFloat16 = BFloat16Linear.pack(outputWeight, outFeatures: h, inFeatures: h)
            intermediateBFloat16 = BFloat16Linear.pack(intermediateWeight, outFeatures: f, inFeatures: h)
            ffnOutputBFloat16 = BFloat16Linear.pack(ffnOutputWeight, outFeatures: h, inFeatures: f)
            return true
        }
    }

    /// The encoder's shape.
    public let configuration: BertConfiguration
    /// Workers a batch is shared between (each running single-threaded BLAS; see `runLayer`).
    public var threads: Int = 2
    /// Whether batches of at most `SmallBatchLinear.maxRows` word pieces use the packed
    /// small-batch products instead of `sgemm` (off: always `sgemm`, the reference path).
    public var smallBatchPath = true
    /// The dense layers' arithmetic: bfloat16 (with float sums) where the CPU runs it, else
    /// float32 (`sgemm` and the small-batch products).
    public private(set) var precision: EncoderPrecision
    private let wordEmbeddings: [Float]
    private let positionEmbeddings: [Float]
    private let typeEmbeddings: [Float]
    private let embeddingNormGamma: [Float]
    private let embeddingNormBeta: [Float]
    private var layers: [Layer]

    /// Loads the weights of a BERT model from safetensors, checking every tensor's shape.
    /// - Throws: `QuarryError.modelCorrupt` when a tensor is missing or misshapen.
    /// - Parameter precision: the dense layers' arithmetic; bfloat16 only where the CPU runs it
    ///   (`EncoderPrecision.preferred` by default).
    public init(weights: SafeTensorsFile, configuration: BertConfiguration, precision: EncoderPrecision = .preferred) throws {
        let c = configuration
        let h = c.hiddenSize
        let sizes = [h, c.layerCount, c.headCount, c.intermediateSize, c.vocabularySize, c.maxPositions, c.typeVocabularySize]
        guard sizes.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }), c.layerNormEpsilon >= 0 else {
            throw QuarryError(.modelCorrupt, "config.json has a size that is zero, negative or implausibly large: \(c)")
        }
        guard h % c.headCount == 0, h % 8 == 0 else {
            throw QuarryError(.modelCorrupt, "hidden size \(h) does not split into \(c.headCount) heads")
        }
        self.configuration = c
        wordEmbeddings = try weights.floats("embeddings.word_embeddings.weight", shape: [c.vocabularySize, h])
        positionEmbeddings = try weights.floats("embeddings.position_embeddings.weight", shape: [c.maxPositions, h])
        typeEmbeddings = try weights.floats("embeddings.token_type_embeddings.weight", shape: [c.typeVocabularySize, h])
        embeddingNormGamma = try weights.floats("embeddings.LayerNorm.weight", shape: [h])
        embeddingNormBeta = try weights.floats("embeddings.LayerNorm.bias", shape: [h])
        layers = try (0..<c.layerCount).map { index in
            let p = "encoder.layer.\(index)."
            let attention = p + "attention.self."
            return Layer(
                qkvWeight: try weights.floats(attention + "query.weight", shape: [h, h])
                    + weights.floats(attention + "key.weight", shape: [h, h])
                    + weights.floats(attention + "value.weight", shape: [h, h]),
                qkvBias: try weights.floats(attention + "query.bias", shape: [h])
                    + weights.floats(attention + "key.bias", shape: [h])
                    + weights.floats(attention + "value.bias", shape: [h]),
                outputWeight: try weights.floats(p + "attention.output.dense.weight", shape: [h, h]),
                outputBias: try weights.floats(p + "attention.output.dense.bias", shape: [h]),
                attentionNormGamma: try weights.floats(p + "attention.output.LayerNorm.weight", shape: [h]),
                attentionNormBeta: try weights.floats(p + "attention.output.LayerNorm.bias", shape: [h]),
                intermediateWeight: try weights.floats(p + "intermediate.dense.weight", shape: [c.intermediateSize, h]),
                intermediateBias: try weights.floats(p + "intermediate.dense.bias", shape: [c.intermediateSize]),
                ffnOutputWeight: try weights.floats(p + "output.dense.weight", shape: [h, c.intermediateSize]),
                ffnOutputBias: try weights.floats(p + "output.dense.bias", shape: [h]),
                outputNormGamma: try weights.floats(p + "output.LayerNorm.weight", shape: [h]),
                outputNormBeta: try weights.floats(p + "output.LayerNorm.bias", shape: [h])
            )
        }
        var precision = BFloat16Linear.available ? precision : .float32
        if precision == .bfloat16 {
            for index in layers.indices where !layers[index].packInBFloat16(hidden: h, intermediate: c.intermediateSize) {
                precision = .float32
            }
        }
        if precision == .float32 {
            for index in layers.indices { layers[index].packForSmallBatches(hidden: h, intermediate: c.intermediateSize) }
        }
        self.precision = precision
    }

    /// Mean-pooled, L2-normalised embeddings of tokenised sequences.
    /// - Parameter sequences: token ids per sequence, with their special tokens.
    /// - Returns: one vector of `hiddenSize` floats per sequence.
    /// - Throws: `QuarryError.invalidRequest` for an empty sequence, one longer than the model's
    ///   positions, or an id outside the vocabulary.
    public func embed(_ sequences: [[Int32]]) throws -> [[Float]] {
        var workspace = Workspace()
        return try embed(sequences, workspace: &workspace)
    }

    /// Scratch memory of forward passes, kept between batches so that each batch does not
    /// allocate (and page-fault in) tens of megabytes again. It only grows.
    public struct Workspace: Sendable {
        var hidden: [Float] = []
        var qkv: [Float] = []
        var context: [Float] = []
        var projected: [Float] = []
        var intermediate: [Float] = []
        var scores: [Float] = []
        /// A layer's input rounded to bfloat16 (bfloat16 precision).
        var rounded: [UInt16] = []

        /// An empty workspace; it grows to the largest batch it is used for.
        public init() {}

        mutating func prepare(tokens: Int, longest: Int, workers: Int, configuration c: BertConfiguration) {
            func grow(_ buffer: inout [Float], _ count: Int) {
                if buffer.count < count { buffer = [Float](repeating: 0, count: count) }
            }
            grow(&hidden, tokens * c.hiddenSize)
            grow(&qkv, tokens * 3 * c.hiddenSize)
            grow(&context, tokens * c.hiddenSize)
            grow(&projected, tokens * c.hiddenSize)
            grow(&intermediate, tokens * c.intermediateSize)
            // Per attention worker: a length² score matrix and the row sums of its softmax.
            grow(&scores, max(1, workers) * (longest * longest + longest))
            if rounded.count < tokens * c.intermediateSize { rounded = [UInt16](repeating: 0, count: tokens * c.intermediateSize) }
        }
    }

    /// Mean-pooled, L2-normalised embeddings of tokenised sequences, using (and growing)
    /// `workspace` for the intermediate activations.
    /// - Parameters:
    ///   - sequences: token ids per sequence, with their special tokens.
    ///   - workspace: scratch memory; reuse one per caller to avoid allocating per batch.
    /// - Returns: one vector of `hiddenSize` floats per sequence.
    ///   - betweenLayers: called after the embeddings and after each layer, on the calling
    ///     thread; a scheduler runs more urgent work there (with another workspace), so that it
    ///     waits one layer of this pass rather than all of it. It returns how many workers the
    ///     next layer may use (at most `threads`): fewer leaves cores to other work.
    /// - Throws: `QuarryError.invalidRequest` for an empty sequence, one longer than the model's
    ///   positions, or an id outside the vocabulary.
    public func embed(
        _ sequences: [[Int32]], workspace: inout Workspace, betweenLayers: () -> Int = { .max }
    ) throws -> [[Float]] {
        guard !sequences.isEmpty else { return [] }
        let c = configuration
        for sequence in sequences {
            guard !sequence.isEmpty, sequence.count <= c.maxPositions else {
                throw QuarryError(.invalidRequest, "a sequence has \(sequence.count) tokens; 1 to \(c.maxPositions) are allowed")
            }
            guard sequence.allSatisfy({ $0 >= 0 && Int($0) < c.vocabularySize }) else {
                throw QuarryError(.invalidRequest, "a token id is outside the vocabulary of \(c.vocabularySize)")
            }
        }
        forward(sequences, workspace: &workspace, betweenLayers: betweenLayers)
        let hidden = workspace.hidden
        let h = c.hiddenSize
        var offset = 0
        return sequences.map { sequence in
            var pooled = [Float](repeating: 0, count: h)
            for t in offset..<offset + sequence.count {
                for j in 0..<h { pooled[j] += hidden[t * h + j] }
            }
            offset += sequence.count
            var norm: Float = 0
            for j in 0..<h {
                pooled[j] /= Float(sequence.count)
                norm += pooled[j] * pooled[j]
            }
            let inverse = norm > 0 ? 1 / norm.squareRoot() : 0
            return pooled.map { $0 * inverse }
        }
    }

    /// Runs the encoder: afterwards the first `totalTokens × hiddenSize` floats of
    /// `workspace.hidden` are the last hidden state of every token, sequences stacked.
    func forward(_ sequences: [[Int32]], workspace: inout Workspace, betweenLayers: () -> Int = { .max }) {
        let c = configuration
        let h = c.hiddenSize
        let total = sequences.reduce(0) { $0 + $1.count }
        let headWidth = h / c.headCount
        let longest = sequences.map(\.count).max() ?? 0

        guard total > 0 else { return }
        workspace.prepare(tokens: total, longest: longest, workers: threads, configuration: c)

        // Embeddings: word + position + token type 0, then LayerNorm.
        workspace.hidden.withUnsafeMutableBufferPointer { out in
            guard let base = out.baseAddress else { return }
            var t = 0
            for sequence in sequences {
                for (position, id) in sequence.enumerated() {
                    let row = base + t * h
                    let word = Int(id) * h, place = position * h
                    for j in 0..<h { row[j] = wordEmbeddings[word + j] + positionEmbeddings[place + j] + typeEmbeddings[j] }
                    t += 1
                }
            }
            BertKernels.layerNorm(base, rows: total, width: h, gamma: embeddingNormGamma, beta: embeddingNormBeta, epsilon: c.layerNormEpsilon)
        }

        let scale = 1 / Float(headWidth).squareRoot()
        let lengths = sequences.map(\.count)
        for layer in layers {
            let workers = max(1, min(threads, betweenLayers()))
            workspace.hidden.withUnsafeMutableBufferPointer { xBuffer in
                workspace.qkv.withUnsafeMutableBufferPointer { qkvBuffer in
                    workspace.context.withUnsafeMutableBufferPointer { contextBuffer in
                        workspace.projected.withUnsafeMutableBufferPointer { projectedBuffer in
                            workspace.intermediate.withUnsafeMutableBufferPointer { intermediateBuffer in
                                workspace.scores.withUnsafeMutableBufferPointer { scoresBuffer in
                                    workspace.rounded.withUnsafeMutableBufferPointer { roundedBuffer in
                                        let buffers = LayerBuffers(
                                            x: xBuffer.baseAddress!, qkv: qkvBuffer.baseAddress!, context: contextBuffer.baseAddress!,
                                            projected: projectedBuffer.baseAddress!, intermediate: intermediateBuffer.baseAddress!,
                                            scores: scoresBuffer.baseAddress!
                                        )
                                        if precision == .bfloat16 {
                                            runBFloat16Layer(
                                                layer, workers: workers, tokens: total, lengths: lengths, headWidth: headWidth, scale: scale,
                                                buffers: buffers, rounded: roundedBuffer.baseAddress!
                                            )
                                        } else {
                                            runLayer(
                                                layer, workers: workers, tokens: total, lengths: lengths, headWidth: headWidth,
                                                scale: scale, buffers: buffers
                                            )
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // swiftlint:disable:next function_parameter_count
    private func runLayer(
        _ layer: Layer, workers allowed: Int, tokens: Int, lengths: [Int], headWidth: Int, scale: Float, buffers: LayerBuffers
    ) {
        // The two cores are shared out by Quarry, not by OpenBLAS (which runs single-threaded):
        // the dense layers split the token rows between workers, attention splits the
        // (sequence, head) pairs. Each worker's BLAS call then has a whole core and no thread
        // wake-ups, which is where OpenBLAS's own threading lost time on these sizes. Measured
        // on 2 cores (128 SciFact passages): 6,700 word pieces/s at batch 8 and 32 this way
        // against at most 5,600 with OpenBLAS on 2 threads and one worker; OpenBLAS threading
        // also loses attention's many small products (one per head), which stay serial, and
        // degrades worse when another process takes a core (batch 1: 2,900 against 1,900).
        if tokens <= SmallBatchLinear.maxRows, layer.packedForSmallBatches, smallBatchPath {
            runSmallLayer(layer, workers: allowed, tokens: tokens, lengths: lengths, headWidth: headWidth, scale: scale, buffers: buffers)
            return
        }
        let c = configuration
        let h = c.hiddenSize
        let f = c.intermediateSize
        let qkvWidth = 3 * h
        let epsilon = c.layerNormEpsilon
        let workers = max(1, min(allowed, tokens))
        let rowsPerWorker = (tokens + workers - 1) / workers

        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let first = worker * rowsPerWorker
            let rows = min(tokens, first + rowsPerWorker) - first
            guard rows > 0 else { return }
            layer.qkvWeight.withUnsafeBufferPointer { w in
                layer.qkvBias.withUnsafeBufferPointer { b in
                    BertKernels.linear(
                        input: buffers.x + first * h, rows: rows, inFeatures: h, weight: w.baseAddress!,
                        bias: b.baseAddress!, outFeatures: qkvWidth, output: buffers.qkv + first * qkvWidth
                    )
                }
            }
        }

        attend(lengths: lengths, workers: allowed, headWidth: headWidth, scale: scale, buffers: buffers)

        // Output projection, residual, LayerNorm, feed-forward (GELU), residual, LayerNorm: all
        // row-wise, so each worker runs its rows through the whole chain.
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let first = worker * rowsPerWorker
            let rows = min(tokens, first + rowsPerWorker) - first
            guard rows > 0 else { return }
            let xRows = buffers.x + first * h
            let projectedRows = buffers.projected + first * h
            let intermediateRows = buffers.intermediate + first * f
            layer.outputWeight.withUnsafeBufferPointer { w in
                layer.outputBias.withUnsafeBufferPointer { b in
                    BertKernels.linear(
                        input: buffers.context + first * h, rows: rows, inFeatures: h, weight: w.baseAddress!,
                        bias: b.baseAddress!, outFeatures: h, output: projectedRows
                    )
                }
            }
            BertKernels.add(xRows, projectedRows, count: rows * h)
            BertKernels.layerNorm(xRows, rows: rows, width: h, gamma: layer.attentionNormGamma, beta: layer.attentionNormBeta, epsilon: epsilon)
            layer.intermediateWeight.withUnsafeBufferPointer { w in
                layer.intermediateBias.withUnsafeBufferPointer { b in
                    BertKernels.linear(
                        input: xRows, rows: rows, inFeatures: h, weight: w.baseAddress!, bias: b.baseAddress!,
                        outFeatures: f, output: intermediateRows
                    )
                }
            }
            BertKernels.gelu(intermediateRows, count: rows * f)
            layer.ffnOutputWeight.withUnsafeBufferPointer { w in
                layer.ffnOutputBias.withUnsafeBufferPointer { b in
                    BertKernels.linear(
                        input: intermediateRows, rows: rows, inFeatures: f, weight: w.baseAddress!,
                        bias: b.baseAddress!, outFeatures: h, output: projectedRows
                    )
                }
            }
            BertKernels.add(xRows, projectedRows, count: rows * h)
            BertKernels.layerNorm(xRows, rows: rows, width: h, gamma: layer.outputNormGamma, beta: layer.outputNormBeta, epsilon: epsilon)
        }
    }

    /// One layer for a few rows (`SmallBatchLinear`): the dense products split their output
    /// features between the workers instead of their rows (there are too few rows to share),
    /// and the row-wise steps between them run on the calling thread.
    private func runSmallLayer(
        _ layer: Layer, workers allowed: Int, tokens: Int, lengths: [Int], headWidth: Int, scale: Float, buffers: LayerBuffers
    ) {
        let c = configuration
        let h = c.hiddenSize
        let f = c.intermediateSize
        let epsilon = c.layerNormEpsilon
        let width = SmallBatchLinear.panelWidth
        // Fewer than about 8 rows do not pay for a second worker's wake-up on every product.
        let workers = tokens < 8 ? 1 : max(1, min(allowed, threads))

        func product(
            _ packed: [Float], _ bias: [Float], input: UnsafePointer<Float>, inFeatures: Int, outFeatures: Int,
            output: UnsafeMutablePointer<Float>, gelu: Bool = false
        ) {
            let panels = outFeatures / width
            packed.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    let step = SmallProduct(
                        input: input, rows: tokens, inFeatures: inFeatures, packed: w.baseAddress!, bias: b.baseAddress!,
                        outFeatures: outFeatures, output: output, gelu: gelu
                    )
                    if workers == 1 {
                        step.run(panels: 0..<panels)
                    } else {
                        let share = (panels + workers - 1) / workers
                        DispatchQueue.concurrentPerform(iterations: workers) { worker in
                            let range = min(panels, worker * share)..<min(panels, (worker + 1) * share)
                            if !range.isEmpty { step.run(panels: range) }
                        }
                    }
                }
            }
        }

        product(layer.qkvPacked, layer.qkvBias, input: buffers.x, inFeatures: h, outFeatures: 3 * h, output: buffers.qkv)
        attendOnThisThread(lengths: lengths, headWidth: headWidth, scale: scale, buffers: buffers)
        product(layer.outputPacked, layer.outputBias, input: buffers.context, inFeatures: h, outFeatures: h, output: buffers.projected)
        BertKernels.add(buffers.x, buffers.projected, count: tokens * h)
        BertKernels.layerNorm(buffers.x, rows: tokens, width: h, gamma: layer.attentionNormGamma, beta: layer.attentionNormBeta, epsilon: epsilon)
        product(
            layer.intermediatePacked, layer.intermediateBias, input: buffers.x, inFeatures: h, outFeatures: f,
            output: buffers.intermediate, gelu: true
        )
        product(layer.ffnOutputPacked, layer.ffnOutputBias, input: buffers.intermediate, inFeatures: f, outFeatures: h, output: buffers.projected)
        BertKernels.add(buffers.x, buffers.projected, count: tokens * h)
        BertKernels.layerNorm(buffers.x, rows: tokens, width: h, gamma: layer.outputNormGamma, beta: layer.outputNormBeta, epsilon: epsilon)
    }

    /// Attention, per sequence and head: softmax(Q Kᵀ / √d) V, the (sequence, head) pairs shared
    /// between the workers, each with scores of its own.
    func attend(lengths: [Int], workers allowed: Int, headWidth: Int, scale: Float, buffers: LayerBuffers) {
        let h = configuration.hiddenSize
        let qkvWidth = 3 * h
        var work: [(start: Int, length: Int, head: Int)] = []
        var start = 0
        for length in lengths {
            for head in 0..<configuration.headCount { work.append((start, length, head)) }
            start += length
        }
        let longest = lengths.max() ?? 0
        let attentionWorkers = max(1, min(allowed, work.count))
        let items = work
        DispatchQueue.concurrentPerform(iterations: attentionWorkers) { worker in
            let scoresSlice = buffers.scores + worker * (longest * longest + longest)
            var index = worker
            while index < items.count {
                let item = items[index]
                let q = buffers.qkv + item.start * qkvWidth + item.head * headWidth
                BertKernels.attention(
                    query: q, key: q + h, value: q + 2 * h, stride: qkvWidth, length: item.length, headWidth: headWidth,
                    scale: scale, scores: scoresSlice, rowSums: scoresSlice + longest * longest,
                    output: buffers.context + item.start * h + item.head * headWidth, outputStride: h
                )
                index += attentionWorkers
            }
        }
    }

    /// Attention of a few short sequences on the calling thread (a second worker's wake-up per
    /// head would cost more than the head).
    func attendOnThisThread(lengths: [Int], headWidth: Int, scale: Float, buffers: LayerBuffers) {
        let h = configuration.hiddenSize
        var start = 0
        for length in lengths {
            for head in 0..<configuration.headCount {
                let q = buffers.qkv + start * 3 * h + head * headWidth
                BertKernels.attention(
                    query: q, key: q + h, value: q + 2 * h, stride: 3 * h, length: length, headWidth: headWidth,
                    scale: scale, scores: buffers.scores, rowSums: buffers.scores + length * length,
                    output: buffers.context + start * h + head * headWidth, outputStride: h
                )
            }
            start += length
        }
    }

    /// Floating-point operations of one forward pass over sequences of these lengths (a
    /// multiply-add counts 2): the dense layers and the two attention products.
    public func flops(lengths: [Int]) -> Double {
        let c = configuration
        let h = Double(c.hiddenSize), f = Double(c.intermediateSize)
        let tokens = Double(lengths.reduce(0, +))
        let dense = 2 * tokens * (3 * h * h + h * h + 2 * h * f)
        let attention = lengths.reduce(0.0) { $0 + 2 * 2 * Double($1) * Double($1) * h }
        return Double(c.layerCount) * (dense + attention)
    }
}

/// One small-batch product, shared by the workers that compute its panels: each writes only the
/// output columns of its own panels.
private struct SmallProduct: @unchecked Sendable {
    let input: UnsafePointer<Float>
    let rows: Int
    let inFeatures: Int
    let packed: UnsafePointer<Float>
    let bias: UnsafePointer<Float>
    let outFeatures: Int
    let output: UnsafeMutablePointer<Float>
    /// Whether GELU follows on the panels' outputs.
    let gelu: Bool

    func run(panels: Range<Int>) {
        SmallBatchLinear.apply(
            input: input, rows: rows, inFeatures: inFeatures, packed: packed, bias: bias, outFeatures: outFeatures,
            output: output, panels: panels
        )
        guard gelu else { return }
        let width = SmallBatchLinear.panelWidth
        for row in 0..<rows {
            BertKernels.gelu(output + row * outFeatures + panels.lowerBound * width, count: panels.count * width)
        }
    }
}

/// The buffers one layer's workers share. Every worker writes only its own token rows (dense
/// layers), its own heads' columns of `context` and its own slice of `scores` (attention), so no
/// two workers ever write the same float; reads of another worker's rows happen only after the
/// `concurrentPerform` that wrote them has returned.
struct LayerBuffers: @unchecked Sendable {
    let x: UnsafeMutablePointer<Float>
    let qkv: UnsafeMutablePointer<Float>
    let context: UnsafeMutablePointer<Float>
    let projected: UnsafeMutablePointer<Float>
    let intermediate: UnsafeMutablePointer<Float>
    let scores: UnsafeMutablePointer<Float>
}
