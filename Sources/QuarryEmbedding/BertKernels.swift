import CBLAS

/// The encoder's numeric kernels: dense layers on `sgemm`, and SIMD loops for what BLAS does not
/// do (bias, exact GELU, LayerNorm, softmax). Each is checked in the tests against a plain scalar
/// twin. Callers pass buffers whose sizes they have checked; the public entry points that wrap
/// these are in `BertEncoder`.
enum BertKernels {
    /// `output[t×outFeatures] = input[t×inFeatures] · weightᵀ + bias`, with `weight` stored
    /// `[outFeatures × inFeatures]` row-major as PyTorch's `Linear` keeps it.
    static func linear(
        input: UnsafePointer<Float>, rows: Int, inFeatures: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, outFeatures: Int,
        output: UnsafeMutablePointer<Float>
    ) {
        // Start from the bias in every row, then accumulate the product onto it (beta = 1).
        for row in 0..<rows {
            (output + row * outFeatures).update(from: bias, count: outFeatures)
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outFeatures), Int32(inFeatures),
            1, input, Int32(inFeatures), weight, Int32(inFeatures), 1, output, Int32(outFeatures)
        )
    }

    /// One attention head over one sequence: `output = softmax(Q Kᵀ · scale) V`. `query`, `key`
    /// and `value` are `length × headWidth` views with row stride `stride`; `scores` holds at least
    /// `length²` floats and `rowSums` `length`; `output` rows are `outputStride` apart.
    ///
    /// The scale rides on the first product's alpha, and the softmax's division is applied to
    /// the `headWidth` outputs of each row instead of its `length` weights: the same arithmetic
    /// with one pass fewer over the score matrix.
    static func attention(
        query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>, stride: Int,
        length: Int, headWidth: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
        rowSums: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        if length <= smallAttentionLength, headWidth % 8 == 0 {
            smallAttention(
                query: query, key: key, value: value, stride: stride, length: length, headWidth: headWidth, scale: scale,
                scores: scores, rowSums: rowSums, output: output, outputStride: outputStride
            )
            return
        }
        let n = Int32(length), d = Int32(headWidth)
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, scale, query, Int32(stride), key, Int32(stride), 0, scores, n
        )
        exponentiate(scores, rows: length, columns: length, stride: length, sums: rowSums)
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1, scores, n, value, Int32(stride), 0, output,
            Int32(outputStride)
        )
        for row in 0..<length {
            multiply(output + row * outputStride, count: headWidth, by: 1 / rowSums[row])
        }
    }

    /// The longest sequence whose attention runs in `smallAttention`: below it, two `sgemm` calls
    /// per head cost more in their setup and packing than the products themselves.
    static let smallAttentionLength = 64

    /// `attention` for a short sequence, without BLAS: each score is a dot product of SIMD
    /// vectors, each output row a sum of value rows weighted by its softmax.
    // swiftlint:disable:next function_parameter_count
    static func smallAttention(
        query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>, stride: Int,
        length: Int, headWidth: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
        rowSums: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        let vectors = headWidth / 8
        for i in 0..<length {
            let q = UnsafeRawPointer(query + i * stride)
            for j in 0..<length {
                let k = UnsafeRawPointer(key + j * stride)
                var sum = SIMD8<Float>()
                for v in 0..<vectors {
                    sum = sum.addingProduct(
                        q.loadUnaligned(fromByteOffset: v * 32, as: SIMD8<Float>.self),
                        k.loadUnaligned(fromByteOffset: v * 32, as: SIMD8<Float>.self)
                    )
                }
                scores[i * length + j] = sum.sum() * scale
            }
        }
        exponentiate(scores, rows: length, columns: length, stride: length, sums: rowSums)
        for i in 0..<length {
            let out = UnsafeMutableRawPointer(output + i * outputStride)
            let inverse = 1 / rowSums[i]
            for v in 0..<vectors {
                var sum = SIMD8<Float>()
                for j in 0..<length {
                    sum = sum.addingProduct(
                        SIMD8(repeating: scores[i * length + j]),
                        UnsafeRawPointer(value + j * stride).loadUnaligned(fromByteOffset: v * 32, as: SIMD8<Float>.self)
                    )
                }
                out.storeBytes(of: sum * inverse, toByteOffset: v * 32, as: SIMD8<Float>.self)
            }
        }
    }

    /// `data[0..<count] *= factor`.
    @inline(__always)
    static func multiply(_ data: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        let raw = UnsafeMutableRawPointer(data)
        var i = 0
        while i + 8 <= count {
            raw.storeBytes(
                of: raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * factor, toByteOffset: i * 4,
                as: SIMD8<Float>.self
            )
            i += 8
        }
        while i < count {
            data[i] *= factor
            i += 1
        }
    }

    /// `layerNorm` with the layer's gamma and beta as stored.
    static func layerNorm(_ data: UnsafeMutablePointer<Float>, rows: Int, width: Int, gamma: [Float], beta: [Float], epsilon: Float) {
        gamma.withUnsafeBufferPointer { gamma in
            beta.withUnsafeBufferPointer { beta in
                layerNorm(data, rows: rows, width: width, gamma: gamma.baseAddress!, beta: beta.baseAddress!, epsilon: epsilon)
            }
        }
    }

    /// LayerNorm over each row of `width` values, in place: `(x - mean) / sqrt(var + eps) * gamma + beta`.
    static func layerNorm(
        _ data: UnsafeMutablePointer<Float>, rows: Int, width: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float
    ) {
        precondition(width % 8 == 0, "LayerNorm width must be a multiple of 8")
        let raw = UnsafeMutableRawPointer(data)
        let rawGamma = UnsafeRawPointer(gamma), rawBeta = UnsafeRawPointer(beta)
        for row in 0..<rows {
            let base = row * width * 4
            var sum = SIMD8<Float>()
            var i = 0
            while i < width {
                sum += raw.loadUnaligned(fromByteOffset: base + i * 4, as: SIMD8<Float>.self)
                i += 8
            }
            let mean = sum.sum() / Float(width)
            var squares = SIMD8<Float>()
            i = 0
            while i < width {
                let d = raw.loadUnaligned(fromByteOffset: base + i * 4, as: SIMD8<Float>.self) - mean
                squares += d * d
                i += 8
            }
            let inverse = 1 / (squares.sum() / Float(width) + epsilon).squareRoot()
            i = 0
            while i < width {
                let x = raw.loadUnaligned(fromByteOffset: base + i * 4, as: SIMD8<Float>.self)
                let g = rawGamma.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                let b = rawBeta.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                raw.storeBytes(of: (x - mean) * inverse * g + b, toByteOffset: base + i * 4, as: SIMD8<Float>.self)
                i += 8
            }
        }
    }

    /// `a += b`, element-wise over `count` values (the residual connections).
    static func add(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
        let rawA = UnsafeMutableRawPointer(a), rawB = UnsafeRawPointer(b)
        var i = 0
        while i + 8 <= count {
            let sum = rawA.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                + rawB.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            rawA.storeBytes(of: sum, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            a[i] += b[i]
            i += 1
        }
    }

    /// Exact (erf) GELU in place: `0.5 · x · (1 + erf(x / √2))`.
    static func gelu(_ data: UnsafeMutablePointer<Float>, count: Int) {
        let raw = UnsafeMutableRawPointer(data)
        var i = 0
        while i + 8 <= count {
            let x = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: 0.5 * x * (1 + erf(x * 0.707_106_77)), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            var tail = SIMD8<Float>(repeating: 0)
            tail[0] = data[i]
            data[i] = (0.5 * tail * (1 + erf(tail * 0.707_106_77)))[0]
            i += 1
        }
    }

    /// The unnormalised softmax of each row of `scores` (`rows × columns`, row stride `stride`),
    /// in place: `e^(x - max of the row)`, with each row's total in `sums[row]`. Dividing a row by
    /// its total gives the softmax.
    static func exponentiate(
        _ scores: UnsafeMutablePointer<Float>, rows: Int, columns: Int, stride: Int, sums: UnsafeMutablePointer<Float>
    ) {
        for row in 0..<rows {
            let p = scores + row * stride
            let raw = UnsafeMutableRawPointer(p)
            var maxima = SIMD8<Float>(repeating: -.infinity)
            var j = 0
            while j + 8 <= columns {
                let v = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                maxima = maxima.replacing(with: v, where: v .> maxima)
                j += 8
            }
            var maximum = maxima.max()
            while j < columns {
                maximum = max(maximum, p[j])
                j += 1
            }
            var total = SIMD8<Float>()
            j = 0
            while j + 8 <= columns {
                let e = exp(raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - maximum)
                raw.storeBytes(of: e, toByteOffset: j * 4, as: SIMD8<Float>.self)
                total += e
                j += 8
            }
            var sum = total.sum()
            while j < columns {
                var tail = SIMD8<Float>(repeating: 0)
                tail[0] = p[j] - maximum
                p[j] = exp(tail)[0]
                sum += p[j]
                j += 1
            }
            sums[row] = sum
        }
    }

    /// Each lane of `x` limited to `[low, high]`. (The standard library's `clamped` is generic and
    /// was not inlined, costing more than the polynomials it guards.)
    @inline(__always)
    static func clamp(_ x: SIMD8<Float>, _ low: Float, _ high: Float) -> SIMD8<Float> {
        x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
    }

    /// erf(x) to within about 1e-7: the rational approximation used by Eigen and XLA for float32,
    /// on x clamped to [-4, 4] (erf is ±1 to float precision beyond).
    @inline(__always)
    static func erf(_ input: SIMD8<Float>) -> SIMD8<Float> {
        let x = clamp(input, -4, 4)
        let x2 = x * x
        var p = x2 * -2.726_142_3e-10 + 2.770_681_4e-08
        p = x2 * p + -2.101_024e-06
        p = x2 * p + -5.692_506_4e-05
        p = x2 * p + -7.349_906_3e-04
        p = x2 * p + -2.954_600_0e-03
        p = x2 * p + -1.609_603_3e-02
        p = x * p
        var q = x2 * -1.456_607_2e-05 + -2.133_740_6e-04
        q = x2 * q + -1.682_827e-03
        q = x2 * q + -7.373_329_2e-03
        q = x2 * q + -1.426_473_9e-02
        return p / q
    }

    /// e^x to about 2 ulp for x in the float range: x = n·ln2 + r, |r| ≤ ln2/2, e^r by a degree-6
    /// polynomial, scaled by 2^n through the exponent bits. Inputs below -87 give about 0.
    ///
    /// n is rounded with the 1.5·2²³ trick (adding it leaves n in the low mantissa bits), which
    /// stays in SIMD registers; a float-to-integer vector conversion does not in Swift today.
    @inline(__always)
    static func exp(_ input: SIMD8<Float>) -> SIMD8<Float> {
        let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5 · 2^23
        let x = clamp(input, -87.3, 88.3)
        let shifted = x * 1.442_695_04 + magic
        let n = shifted - magic
        let r = x - n * 0.693_145_75 - n * 1.428_606_8e-06
        var p = r * (1.0 / 720) + (1.0 / 120)
        p = r * p + (1.0 / 24)
        p = r * p + (1.0 / 6)
        p = r * p + 0.5
        p = r * p + 1
        p = r * p + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
        return p * scale
    }
}
