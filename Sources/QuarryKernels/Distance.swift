/// Pairwise distance kernels for single vector pairs, where a BLAS call costs more than the work.
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
        let n = a.count
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        let rawA = UnsafeRawPointer(pa), rawB = UnsafeRawPointer(pb)
        while i + 16 <= n {
            acc0.addProduct(
                rawA.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self),
                rawB.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            )
            acc1.addProduct(
                rawA.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self),
                rawB.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
            )
            i += 16
        }
        var sum = (acc0 + acc1).sum()
        while i < n {
            sum += pa[i] * pb[i]
            i += 1
        }
        return sum
    }

    /// Squared L2 distance over two buffers of equal length; the caller guarantees the lengths.
    @inlinable @inline(__always)
    public static func squaredL2Unchecked(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        let n = a.count
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        let rawA = UnsafeRawPointer(pa), rawB = UnsafeRawPointer(pb)
        while i + 16 <= n {
            let d0 = rawA.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                - rawB.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let d1 = rawA.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
                - rawB.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
            acc0.addProduct(d0, d0)
            acc1.addProduct(d1, d1)
            i += 16
        }
        var sum = (acc0 + acc1).sum()
        while i < n {
            let d = pa[i] - pb[i]
            sum += d * d
            i += 1
        }
        return sum
    }
}
