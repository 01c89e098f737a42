import CBLAS

/// Row-major vectors of one dimension in one contiguous block, scored against queries with BLAS.
///
/// Exact search is one `sgemv` (one query) or `sgemm` (a batch of queries) over the block, then a
/// partial selection of the top k: the batched product is where BLAS beats a per-pair loop. The
/// same `sgemm` also scores rows kept inside larger fixed-size records (as an HNSW index stores
/// them) without copying them out: `stridedInnerProducts`.
public struct VectorMatrix: Sendable {
    /// Length of every row.
    public let dimension: Int
    /// The rows, one after another.
    public private(set) var values: [Float]

    /// Number of rows.
    public var count: Int { dimension == 0 ? 0 : values.count / dimension }

    /// Creates an empty matrix of rows of `dimension` floats.
    public init(dimension: Int) {
        self.dimension = dimension
        self.values = []
    }

    /// Creates a matrix from rows laid end to end.
    /// - Throws: `KernelError` when `values.count` is not a multiple of `dimension`.
    public init(dimension: Int, values: [Float]) throws {
        guard dimension > 0, values.count % dimension == 0 else {
            throw KernelError("matrix of \(values.count) floats is not made of rows of \(dimension)")
        }
        self.dimension = dimension
        self.values = values
    }

    /// Appends one row.
    /// - Throws: `KernelError` when the row's length is not `dimension`.
    public mutating func append(_ row: [Float]) throws {
        guard row.count == dimension else {
            throw KernelError("row of \(row.count) floats does not fit a matrix of dimension \(dimension)")
        }
        values.append(contentsOf: row)
    }

    /// Inner products of every row with `query`: `scores[i] = rows[i] · query`.
    /// - Throws: `KernelError` when the query's length is not `dimension`.
    public func innerProducts(_ query: [Float]) throws -> [Float] {
        guard query.count == dimension else {
            throw KernelError("query of \(query.count) floats does not fit a matrix of dimension \(dimension)")
        }
        let rows = count
        guard rows > 0 else { return [] }
        var scores = [Float](repeating: 0, count: rows)
        values.withUnsafeBufferPointer { matrix in
            query.withUnsafeBufferPointer { q in
                scores.withUnsafeMutableBufferPointer { out in
                    cblas_sgemv(
                        CblasRowMajor, CblasNoTrans, Int32(rows), Int32(dimension), 1,
                        matrix.baseAddress, Int32(dimension), q.baseAddress, 1, 0, out.baseAddress, 1
                    )
                }
            }
        }
        return scores
    }

    /// Inner products of every row with every query, as one `sgemm`.
    /// - Returns: a row-major `queries.count × count` block of scores.
    /// - Throws: `KernelError` when the queries' length is not a multiple of `dimension`.
    public func innerProducts(queries: [Float]) throws -> [Float] {
        guard queries.count % dimension == 0 else {
            throw KernelError("queries of \(queries.count) floats are not rows of \(dimension)")
        }
        let queryCount = queries.count / dimension
        let rows = count
        guard rows > 0, queryCount > 0 else { return [] }
        var scores = [Float](repeating: 0, count: rows * queryCount)
        try values.withUnsafeBufferPointer { matrix in
            try queries.withUnsafeBufferPointer { q in
                try scores.withUnsafeMutableBufferPointer { out in
                    try Self.stridedInnerProducts(
                        rows: matrix, rowCount: rows, stride: dimension, dimension: dimension,
                        queries: q, queryCount: queryCount, scores: out
                    )
                }
            }
        }
        return scores
    }

    /// The `k` rows with the largest inner product with `query`, best first.
    /// - Throws: `KernelError` when the query's length is not `dimension`.
    public func nearest(to query: [Float], k: Int) throws -> [(index: Int, score: Float)] {
        TopK.largest(try innerProducts(query), k: k)
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
