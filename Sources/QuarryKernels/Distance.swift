/// Pairwise distances of single vector pairs: the one entry point for every caller (the HNSW
/// traversal step, exact scans, normalisation), where a BLAS call would cost more than the work.
///
/// The checked forms take arrays and throw on a length mismatch; the unchecked forms take
/// buffers or pointers whose lengths the caller guarantees, and inline into its loop.
public enum Distance {
    /// The inner product of two vectors of equal length.
    /// - Throws: `KernelError` when the lengths differ.
    public static func dot(_ a: [Float], _ b: [Float]) throws -> Float {
        guard a.count == b.count else {
            throw KernelError("dot: lengths differ (\(a.count) and \(b.count))")
        }
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in dotUnchecked(pa, pb) }
        }
    }

    /// The squared Euclidean distance of two vectors of equal length.
    /// - Throws: `KernelError` when the lengths differ.
    public static func squaredL2(_ a: [Float], _ b: [Float]) throws -> Float {
        guard a.count == b.count else {
            throw KernelError("squaredL2: lengths differ (\(a.count) and \(b.count))")
        }
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in squaredL2Unchecked(pa, pb) }
        }
    }

    /// Scales `v` in place to unit length; a zero vector stays zero.
    public static func normalize(_ v: inout [Float]) {
        let norm = v.withUnsafeBufferPointer { dotUnchecked($0, $0) }.squareRoot()
        guard norm > 0 else { return }
        let inverse = 1 / norm
        for i in v.indices { v[i] *= inverse }
    }

    /// Inner product over two buffers of equal length; the caller guarantees the lengths.
    @inlinable @inline(__always)
    public static func dotUnchecked(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        return dotUnchecked(pa, pb, count: a.count)
    }

    /// Squared L2 distance over two buffers of equal length; the caller guarantees the lengths.
    @inlinable @inline(__always)
    public static func squaredL2Unchecked(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        return squaredL2Unchecked(pa, pb, count: a.count)
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
}
