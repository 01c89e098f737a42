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
    /// The loop is `TraversalKernels.dotUnchecked`, the one every pairwise caller shares.
    @inlinable @inline(__always)
    public static func dotUnchecked(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        return TraversalKernels.dotUnchecked(pa, pb, count: a.count)
    }

    /// Squared L2 distance over two buffers of equal length; the caller guarantees the lengths.
    @inlinable @inline(__always)
    public static func squaredL2Unchecked(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        return TraversalKernels.squaredL2Unchecked(pa, pb, count: a.count)
    }
}
