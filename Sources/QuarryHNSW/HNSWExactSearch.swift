import QuarryKernels

/// Exact (brute-force) search: the ground truth for recall, and the fallback of `search` when a
/// filter keeps so few vectors that walking the graph would score more nodes than scanning them.
///
/// One query is scored one SIMD pair at a time over the accepted slots: measured on 5k and 50k
/// 384-d records, a strided `sgemv` over every slot is at best 8 % faster on an unfiltered scan
/// (single-threaded OpenBLAS), slower as soon as a filter drops rows, and four times slower when
/// OpenBLAS spreads the call over cores that are busy. A batch of queries is one strided `sgemm`
/// per segment, which reads every stored vector once for the whole batch: that is where BLAS wins.
extension HNSWIndex {
    /// Exact nearest neighbours over every live vector the filter accepts, as ground truth and as
    /// the fallback for selective filters.
    /// - Throws: `HNSWError.invalidArgument` for a wrong dimension.
    public func exactSearch(_ query: [Float], k: Int, filter: (@Sendable (UInt64) -> Bool)? = nil) throws -> [HNSWResult] {
        guard query.count == dimension else {
            throw HNSWError(.invalidArgument, "query has dimension \(query.count), the index \(dimension)")
        }
        var prepared = query
        if metric == .cosine { Distance.normalize(&prepared) }
        let allocated = state.withLock { $0.count }
        return prepared.withUnsafeBufferPointer { exactSearch($0, k: k, filter: filter, allocated: allocated) }
    }

    func exactSearch(_ q: UnsafeBufferPointer<Float>, k: Int, filter: (@Sendable (UInt64) -> Bool)?, allocated: Int) -> [HNSWResult] {
        guard k > 0, allocated > 0 else { return [] }
        var results = Heap<FarthestFirst>(minimumCapacity: 256)
        for raw in 0..<allocated {
            let id = UInt32(raw)
            guard !isDeleted(id), filter?(labelOf(id)) ?? true else { continue }
            results.insert(Candidate(distance: distance(q, vectorOf(id)), id: id), keepingBest: k)
        }
        return results.removeAllTopLast().map { HNSWResult(label: labelOf($0.id), distance: $0.distance) }
    }

    /// Exact nearest neighbours of many queries at once, over every live vector the filter
    /// accepts: one strided `sgemm` per segment of records and block of up to 64 queries.
    /// - Parameters:
    ///   - queries: `n × dimension` floats, one query after another.
    ///   - k: how many results per query.
    ///   - filter: when given, only labels it accepts are returned.
    /// - Returns: for every query, its `k` nearest, nearest first, with distances as `search`
    ///   gives them (L2 is expanded as ‖x‖² − 2 x·q + ‖q‖², equal up to rounding).
    /// - Throws: `HNSWError.invalidArgument` when `queries` is not made of `dimension`-float rows.
    public func exactSearch(
        batch queries: [Float], k: Int, filter: (@Sendable (UInt64) -> Bool)? = nil
    ) throws -> [[HNSWResult]] {
        guard queries.count % dimension == 0 else {
            throw HNSWError(.invalidArgument, "\(queries.count) query floats are not rows of \(dimension)")
        }
        let queryCount = queries.count / dimension
        var prepared = queries
        if metric == .cosine {
            for row in 0..<queryCount {
                var query = Array(prepared[row * dimension..<(row + 1) * dimension])
                Distance.normalize(&query)
                prepared.replaceSubrange(row * dimension..<(row + 1) * dimension, with: query)
            }
        }
        let allocated = state.withLock { $0.count }
        guard k > 0, queryCount > 0, allocated > 0 else { return [[HNSWResult]](repeating: [], count: queryCount) }

        // Which slots count, and for L2 their squared norms: ‖x − q‖² = ‖x‖² − 2 x·q + ‖q‖².
        var accepted = [Bool](repeating: false, count: allocated)
        var norms = [Float](repeating: 0, count: metric == .l2 ? allocated : 0)
        for raw in 0..<allocated {
            let id = UInt32(raw)
            accepted[raw] = !isDeleted(id) && (filter?(labelOf(id)) ?? true)
            if metric == .l2, accepted[raw] {
                let v = vectorOf(id)
                norms[raw] = Distance.dotUnchecked(v, v)
            }
        }
        let block = 64
        var heaps = [Heap<FarthestFirst>](repeating: Heap(minimumCapacity: 256), count: queryCount)
        var scores = [Float](repeating: 0, count: block * min(allocated, Self.segmentCapacity))
        var firstQuery = 0
        while firstQuery < queryCount {
            let blockCount = min(block, queryCount - firstQuery)
            let queryNorms = (0..<blockCount).map { b -> Float in
                let start = (firstQuery + b) * dimension
                return metric == .l2 ? prepared[start..<start + dimension].reduce(0) { $0 + $1 * $1 } : 0
            }
            var firstRow = 0
            while firstRow < allocated {
                let rows = min(Self.segmentCapacity, allocated - firstRow)
                guard let (vectors, stride) = segmentVectors(from: firstRow) else {
                    throw HNSWError(.invalidArgument, "segment of slot \(firstRow) is missing")
                }
                do {
                    try prepared.withUnsafeBufferPointer { all in
                        try scores.withUnsafeMutableBufferPointer { out in
                            try VectorMatrix.stridedInnerProducts(
                                rows: vectors, rowCount: rows, stride: stride,
                                dimension: dimension,
                                queries: UnsafeBufferPointer(rebasing: all[firstQuery * dimension..<(firstQuery + blockCount) * dimension]),
                                queryCount: blockCount, scores: out
                            )
                        }
                    }
                } catch let error as KernelError {
                    throw HNSWError(.invalidArgument, "exact batch search: \(error.message)", underlying: error)
                }
                for b in 0..<blockCount {
                    for r in 0..<rows where accepted[firstRow + r] {
                        let dot = scores[b * rows + r]
                        let d = metric == .l2 ? norms[firstRow + r] - 2 * dot + queryNorms[b] : 1 - dot
                        heaps[firstQuery + b].insert(Candidate(distance: d, id: UInt32(firstRow + r)), keepingBest: k)
                    }
                }
                firstRow += rows
            }
            firstQuery += blockCount
        }
        return heaps.indices.map { i in
            heaps[i].removeAllTopLast().map { HNSWResult(label: labelOf($0.id), distance: $0.distance) }
        }
    }
}
