import CBLAS

/// Kernels for nearest-neighbour graphs: a pairwise distance for the traversal step, which scores
/// one stored vector at a time, and a strided BLAS product that scores a batch of queries against
/// rows kept inside larger fixed-size records (as an HNSW index stores them) without copying them.
public enum TraversalKernels {
    /// The inner product of two vectors of equal length (the same check as `Distance.dot`).
    /// - Throws: `KernelError` when the lengths differ.
    public static func dot(_ a: [Float], _ b: [Float]) throws -> Float {
        try Distance.dot(a, b)
    }

    /// The squared Euclidean distance of two vectors of equal length.
    /// - Throws: `KernelError` when the lengths differ.
    public static func squaredL2(_ a: [Float], _ b: [Float]) throws -> Float {
        try Distance.squaredL2(a, b)
    }

    /// Inner product of `count` floats at `a` and at `b`; the caller guarantees both are readable.
    ///
    /// Four independent accumulators: a fused multiply-add has a latency of about four cycles,
    /// so one or two accumulator chains leave the FMA units idle on vectors that sit in cache.
    @inlinable @inline(__always)
    public static func dotUnchecked(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        let rawA = UnsafeRawPointer(a), rawB = UnsafeRawPointer(b)
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            let o = i &* 4
            acc0.addProduct(
                rawA.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self),
                rawB.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            )
            acc1.addProduct(
                rawA.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self),
                rawB.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self)
            )
            acc2.addProduct(
                rawA.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self),
                rawB.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self)
            )
            acc3.addProduct(
                rawA.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self),
                rawB.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self)
            )
            i &+= 32
        }
        while i + 8 <= n {
            acc0.addProduct(
                rawA.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self),
                rawB.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            )
            i &+= 8
        }
        var sum = ((acc0 + acc1) + (acc2 + acc3)).sum()
        while i < n {
            sum += a[i] * b[i]
            i &+= 1
        }
        return sum
    }

    /// Squared L2 distance of `count` floats at `a` and at `b`; the caller guarantees both are
    /// readable.
    @inlinable @inline(__always)
    public static func squaredL2Unchecked(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        let rawA = UnsafeRawPointer(a), rawB = UnsafeRawPointer(b)
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            let o = i &* 4
            let d0 = rawA.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                - rawB.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let d1 = rawA.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self)
                - rawB.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self)
            let d2 = rawA.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self)
                - rawB.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self)
            let d3 = rawA.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self)
                - rawB.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self)
            acc0.addProduct(d0, d0)
            acc1.addProduct(d1, d1)
            acc2.addProduct(d2, d2)
            acc3.addProduct(d3, d3)
            i &+= 32
        }
        while i + 8 <= n {
            let d = rawA.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
                - rawB.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            acc0.addProduct(d, d)
            i &+= 8
        }
        var sum = ((acc0 + acc1) + (acc2 + acc3)).sum()
        while i < n {
            let d = a[i] - b[i]
            sum += d * d
            i &+= 1
        }
        return sum
    }

    /// Inner products of `queryCount` queries (row-major, `dimension` floats each) with
    /// `rowCount` rows that start at `rows[0]` and lie `stride` floats apart, as one `sgemm`:
    /// `scores[q·rowCount + r] = rows[r·stride ..< r·stride + dimension] · queries[q]`.
    ///
    /// Each stored row is read once for the whole batch, which is where BLAS beats a pair loop.
    /// - Throws: `KernelError` when the queries are not `queryCount` rows of `dimension`, when
    ///   `stride` is shorter than a row, when the last row would run past the end of `rows`, or
    ///   when `scores` has fewer than `queryCount × rowCount` slots.
    public static func stridedInnerProducts(
        rows: UnsafeBufferPointer<Float>, rowCount: Int, stride: Int, dimension: Int,
        queries: UnsafeBufferPointer<Float>, queryCount: Int, scores: UnsafeMutableBufferPointer<Float>
    ) throws {
        guard dimension > 0, queryCount >= 0, rowCount >= 0, stride >= dimension, stride <= Int(Int32.max),
            rowCount <= Int(Int32.max), queryCount <= Int(Int32.max)
        else {
            throw KernelError("strided product: stride \(stride) does not hold rows of \(dimension) floats")
        }
        let (queryFloats, queryOverflow) = queryCount.multipliedReportingOverflow(by: dimension)
        guard !queryOverflow, queryFloats == queries.count else {
            throw KernelError("strided product: \(queries.count) query floats are not \(queryCount) rows of \(dimension)")
        }
        guard rowCount > 0, queryCount > 0 else { return }
        let (span, overflow) = (rowCount - 1).multipliedReportingOverflow(by: stride)
        guard !overflow, span <= rows.count - dimension else {
            throw KernelError("strided product: \(rowCount) rows of stride \(stride) run past \(rows.count) floats")
        }
        let (needed, scoreOverflow) = queryCount.multipliedReportingOverflow(by: rowCount)
        guard !scoreOverflow, scores.count >= needed else {
            throw KernelError("strided product: \(scores.count) score slots for \(queryCount) × \(rowCount)")
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(queryCount), Int32(rowCount), Int32(dimension), 1,
            queries.baseAddress, Int32(dimension), rows.baseAddress, Int32(stride), 0, scores.baseAddress, Int32(rowCount)
        )
    }
}
