import CBLAS

/// Dense layers for a few rows — a query or a handful of them — without BLAS.
///
/// `sgemm` packs its right-hand matrix into panels on every call. For a batch of thousands of
/// word pieces that packing is a small part of the work; for a 20-piece query it is most of it:
/// every weight is copied once to be used 20 times. Here the weights are packed once, when the
/// model loads, into panels of `panelWidth` output features laid out k by k, and the product
/// runs from registers: a tile of `tileRows` input rows × `panelWidth` outputs is 12 SIMD
/// accumulators, and each step over k loads two vectors of the panel and broadcasts one input
/// per row. Each weight is read once per tile of rows, straight from the packed panel.
///
/// Results equal BLAS's to float rounding (the sums run in another order), tested against it.
enum SmallBatchLinear {
    /// Output features per panel: two 8-float vectors.
    static let panelWidth = 16
    /// Input rows per register tile (12 accumulators, 2 weight vectors and a broadcast fit the
    /// 16 vector registers of AVX2).
    static let tileRows = 6
    /// The most rows this path is used for; larger batches go to `sgemm`, which wins once its
    /// packing is shared by enough rows.
    static let maxRows = 48

    /// `weight` (`outFeatures × inFeatures`, row-major, as PyTorch stores a linear layer) packed
    /// into `outFeatures / panelWidth` panels, each `inFeatures × panelWidth`: panel `p` holds,
    /// for each `k`, the weights of outputs `p·16 ..< p·16+16` on input `k`.
    /// - Precondition: `outFeatures` is a multiple of `panelWidth`.
    static func pack(_ weight: [Float], outFeatures: Int, inFeatures: Int) -> [Float] {
        precondition(outFeatures % panelWidth == 0 && weight.count == outFeatures * inFeatures)
        // Each panel is the transpose of 16 weight rows: OpenBLAS's out-of-place transpose does
        // it (fast in debug builds too, where a Swift loop over 10 million floats takes minutes).
        var packed = [Float](repeating: 0, count: weight.count)
        weight.withUnsafeBufferPointer { source in
            packed.withUnsafeMutableBufferPointer { target in
                for panel in 0..<outFeatures / panelWidth {
                    let offset = panel * inFeatures * panelWidth
                    cblas_somatcopy(
                        CblasRowMajor, CblasTrans, Int32(panelWidth), Int32(inFeatures), 1,
                        source.baseAddress! + offset, Int32(inFeatures), target.baseAddress! + offset, Int32(panelWidth)
                    )
                }
            }
        }
        return packed
    }

    /// `output[r][n] = bias[n] + Σₖ input[r][k] · weight[n][k]` for the output features of
    /// `panels` (panel `p` is features `p·16 ..< p·16+16`), every row. Rows are `inFeatures`
    /// and `outFeatures` floats apart.
    static func apply(
        input: UnsafePointer<Float>, rows: Int, inFeatures: Int, packed: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, outFeatures: Int, output: UnsafeMutablePointer<Float>, panels: Range<Int>
    ) {
        for panel in panels {
            let weights = packed + panel * inFeatures * panelWidth
            let column = panel * panelWidth
            let bias0 = UnsafeRawPointer(bias + column).loadUnaligned(as: SIMD8<Float>.self)
            let bias1 = UnsafeRawPointer(bias + column + 8).loadUnaligned(as: SIMD8<Float>.self)
            var row = 0
            while row + tileRows <= rows {
                tile6(
                    input + row * inFeatures, inFeatures: inFeatures, weights: weights, bias0: bias0, bias1: bias1,
                    output: output + row * outFeatures + column, outFeatures: outFeatures
                )
                row += tileRows
            }
            if row + 3 <= rows {
                tile3(
                    input + row * inFeatures, inFeatures: inFeatures, weights: weights, bias0: bias0, bias1: bias1,
                    output: output + row * outFeatures + column, outFeatures: outFeatures
                )
                row += 3
            }
            while row < rows {
                tile1(
                    input + row * inFeatures, inFeatures: inFeatures, weights: weights, bias0: bias0, bias1: bias1,
                    output: output + row * outFeatures + column
                )
                row += 1
            }
        }
    }

    @inline(__always)
    private static func store(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
    }

    // swiftlint:disable:next function_parameter_count
    @inline(__always)
    private static func tile6(
        _ x: UnsafePointer<Float>, inFeatures k: Int, weights: UnsafePointer<Float>, bias0: SIMD8<Float>, bias1: SIMD8<Float>,
        output: UnsafeMutablePointer<Float>, outFeatures n: Int
    ) {
        var a00 = bias0, a01 = bias1, a10 = bias0, a11 = bias1, a20 = bias0, a21 = bias1
        var a30 = bias0, a31 = bias1, a40 = bias0, a41 = bias1, a50 = bias0, a51 = bias1
        let x0 = x, x1 = x + k, x2 = x + 2 * k, x3 = x + 3 * k, x4 = x + 4 * k, x5 = x + 5 * k
        var w = UnsafeRawPointer(weights)
        for i in 0..<k {
            let w0 = w.loadUnaligned(as: SIMD8<Float>.self)
            let w1 = w.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            w += 64
            var s = SIMD8<Float>(repeating: x0[i])
            a00 = a00.addingProduct(s, w0)
            a01 = a01.addingProduct(s, w1)
            s = SIMD8<Float>(repeating: x1[i])
            a10 = a10.addingProduct(s, w0)
            a11 = a11.addingProduct(s, w1)
            s = SIMD8<Float>(repeating: x2[i])
            a20 = a20.addingProduct(s, w0)
            a21 = a21.addingProduct(s, w1)
            s = SIMD8<Float>(repeating: x3[i])
            a30 = a30.addingProduct(s, w0)
            a31 = a31.addingProduct(s, w1)
            s = SIMD8<Float>(repeating: x4[i])
            a40 = a40.addingProduct(s, w0)
            a41 = a41.addingProduct(s, w1)
            s = SIMD8<Float>(repeating: x5[i])
            a50 = a50.addingProduct(s, w0)
            a51 = a51.addingProduct(s, w1)
        }
        store(a00, output); store(a01, output + 8)
        store(a10, output + n); store(a11, output + n + 8)
        store(a20, output + 2 * n); store(a21, output + 2 * n + 8)
        store(a30, output + 3 * n); store(a31, output + 3 * n + 8)
        store(a40, output + 4 * n); store(a41, output + 4 * n + 8)
        store(a50, output + 5 * n); store(a51, output + 5 * n + 8)
    }

    // swiftlint:disable:next function_parameter_count
    @inline(__always)
    private static func tile3(
        _ x: UnsafePointer<Float>, inFeatures k: Int, weights: UnsafePointer<Float>, bias0: SIMD8<Float>, bias1: SIMD8<Float>,
        output: UnsafeMutablePointer<Float>, outFeatures n: Int
    ) {
        var a00 = bias0, a01 = bias1, a10 = bias0, a11 = bias1, a20 = bias0, a21 = bias1
        let x0 = x, x1 = x + k, x2 = x + 2 * k
        var w = UnsafeRawPointer(weights)
        for i in 0..<k {
            let w0 = w.loadUnaligned(as: SIMD8<Float>.self)
            let w1 = w.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            w += 64
            var s = SIMD8<Float>(repeating: x0[i])
            a00 = a00.addingProduct(s, w0)
            a01 = a01.addingProduct(s, w1)
            s = SIMD8<Float>(repeating: x1[i])
            a10 = a10.addingProduct(s, w0)
            a11 = a11.addingProduct(s, w1)
            s = SIMD8<Float>(repeating: x2[i])
            a20 = a20.addingProduct(s, w0)
            a21 = a21.addingProduct(s, w1)
        }
        store(a00, output); store(a01, output + 8)
        store(a10, output + n); store(a11, output + n + 8)
        store(a20, output + 2 * n); store(a21, output + 2 * n + 8)
    }

    @inline(__always)
    private static func tile1(
        _ x: UnsafePointer<Float>, inFeatures k: Int, weights: UnsafePointer<Float>, bias0: SIMD8<Float>, bias1: SIMD8<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        var a0 = bias0, a1 = bias1
        var w = UnsafeRawPointer(weights)
        for i in 0..<k {
            let s = SIMD8<Float>(repeating: x[i])
            a0 = a0.addingProduct(s, w.loadUnaligned(as: SIMD8<Float>.self))
            a1 = a1.addingProduct(s, w.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
            w += 64
        }
        store(a0, output)
        store(a1, output + 8)
    }
}
