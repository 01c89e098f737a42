import CBLAS

/// Row-major vectors of one dimension in one contiguous block, scored against queries with BLAS.
///
/// Exact search is one `sgemv` (one query) or `sgemm` (a batch of queries) over the block, then a
/// partial selection of the top k: the batched product is where BLAS beats a per-pair loop.
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
        values.withUnsafeBufferPointer { matrix in
            queries.withUnsafeBufferPointer { q in
                scores.withUnsafeMutableBufferPointer { out in
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(queryCount), Int32(rows),
                        Int32(dimension), 1, q.baseAddress, Int32(dimension), matrix.baseAddress,
                        Int32(dimension), 0, out.baseAddress, Int32(rows)
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
}
