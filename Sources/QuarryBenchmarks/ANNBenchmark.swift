import Foundation
import QuarryHNSW
import QuarryKernels

/// Build and query measurements of an HNSW index, for `quarry bench ann`.
public enum ANNBenchmark {
    /// Recall and speed at one `ef`.
    public struct Row: Codable, Sendable {
        /// Candidate list size.
        public var ef: Int
        /// Mean fraction of the true 10 nearest found in the first 10 results.
        public var recallAt10: Double
        /// Queries per second, one query at a time on one thread: the fastest of at least three
        /// passes over all queries (more while they take under half a second, at most 20).
        public var queriesPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case ef
            case recallAt10 = "recall_at_10"
            case queriesPerSecond = "queries_per_s"
        }
    }

    /// A whole run.
    public struct Report: Codable, Sendable {
        /// The metric's name: `cosine`, `innerProduct` or `l2`.
        public var metric: String
        /// Vectors indexed.
        public var count: Int
        /// Length of every vector.
        public var dimension: Int
        /// Queries run at every `ef`.
        public var queries: Int
        /// Links per node on the upper levels (level 0 keeps twice as many).
        public var m: Int
        /// Candidate list size while building.
        public var efConstruction: Int
        /// Threads that built the index.
        public var buildThreads: Int
        /// Wall-clock seconds of the build.
        public var buildSeconds: Double
        /// Bytes held by the index's structures (records, upper links, label table).
        public var indexBytes: Int
        /// Recall and speed, one row per `ef`, in the order given.
        public var rows: [Row]

        enum CodingKeys: String, CodingKey {
            case metric, count, dimension, queries, m, rows
            case efConstruction = "ef_construction"
            case buildThreads = "build_threads"
            case buildSeconds = "build_seconds"
            case indexBytes = "index_bytes"
        }
    }

    /// Builds an index over `base`, then runs every query at every `ef`.
    /// - Parameters:
    ///   - groundTruth: the true neighbours, `queries × gtWidth` row-major, nearest first; when
    ///     `nil`, computed exactly with BLAS.
    /// - Throws: `HNSWError` for inconsistent inputs.
    public static func run(
        base: [Float], queries: [Float], dimension: Int, groundTruth: [Int32]?, groundTruthWidth: Int,
        metric: HNSWMetric, m: Int, efConstruction: Int, efs: [Int], threads: Int
    ) throws -> Report {
        guard dimension > 0, !base.isEmpty, base.count % dimension == 0, queries.count % dimension == 0 else {
            throw HNSWError(
                .invalidArgument, "\(base.count) base and \(queries.count) query floats are not rows of \(dimension)"
            )
        }
        let count = base.count / dimension
        let queryCount = queries.count / dimension
        let truth = try groundTruth.map { gt -> [[Int]] in
            guard groundTruthWidth >= 10, gt.count == queryCount * groundTruthWidth else {
                throw HNSWError(.invalidArgument, "ground truth has \(gt.count) ids for \(queryCount) queries")
            }
            return (0..<queryCount).map { q in gt[q * groundTruthWidth..<q * groundTruthWidth + 10].map(Int.init) }
        } ?? exactNeighbours(base: base, queries: queries, dimension: dimension, metric: metric, k: 10)

        let index = try HNSWIndex(
            dimension: dimension, metric: metric, parameters: HNSWParameters(m: m, efConstruction: efConstruction)
        )
        let start = ContinuousClock.now
        try index.insert(batch: base, labels: (0..<count).map(UInt64.init), threads: threads)
        let buildSeconds = seconds(ContinuousClock.now - start)

        var rows: [Row] = []
        for ef in efs {
            // The fastest of a few passes over all queries (at least 3, until 0.5 s have been
            // spent, at most 20): what other processes on the machine steal is not the index's.
            var best = Double.infinity
            var spent = 0.0
            var passes = 0
            var results: [[HNSWResult]] = []
            while passes < 3 || (spent < 0.5 && passes < 20) {
                results.removeAll(keepingCapacity: true)
                results.reserveCapacity(queryCount)
                let queryStart = ContinuousClock.now
                for q in 0..<queryCount {
                    results.append(try index.search(Array(queries[q * dimension..<(q + 1) * dimension]), k: 10, ef: ef))
                }
                let elapsed = seconds(ContinuousClock.now - queryStart)
                best = min(best, elapsed)
                spent += elapsed
                passes += 1
            }
            var found = 0
            for (q, result) in results.enumerated() {
                let expected = Set(truth[q])
                found += result.filter { expected.contains(Int($0.label)) }.count
            }
            rows.append(Row(ef: ef, recallAt10: Double(found) / Double(10 * queryCount), queriesPerSecond: Double(queryCount) / best))
        }
        return Report(
            metric: "\(metric)", count: count, dimension: dimension, queries: queryCount, m: m,
            efConstruction: efConstruction, buildThreads: threads, buildSeconds: buildSeconds,
            indexBytes: index.memoryBytes, rows: rows
        )
    }

    /// Exact 10 nearest neighbours by BLAS (`sgemm` over all queries at once, in blocks).
    public static func exactNeighbours(base: [Float], queries: [Float], dimension: Int, metric: HNSWMetric, k: Int) -> [[Int]] {
        var baseRows = base
        var queryRows = queries
        if metric == .cosine {
            normalizeRows(&baseRows, dimension: dimension)
            normalizeRows(&queryRows, dimension: dimension)
        }
        let count = base.count / dimension
        let norms = (0..<count).map { i in (0..<dimension).reduce(Float(0)) { $0 + baseRows[i * dimension + $1] * baseRows[i * dimension + $1] } }
        guard let matrix = try? VectorMatrix(dimension: dimension, values: baseRows) else { return [] }
        let queryCount = queries.count / dimension
        var result: [[Int]] = []
        let block = 64
        var first = 0
        while first < queryCount {
            let last = min(queryCount, first + block)
            let products = (try? matrix.innerProducts(queries: Array(queryRows[first * dimension..<last * dimension]))) ?? []
            for q in 0..<(last - first) {
                // Larger is better: the inner product, or −‖x − q‖² up to the constant ‖q‖².
                let scores = (0..<count).map { i -> Float in
                    let dot = products[q * count + i]
                    return metric == .l2 ? 2 * dot - norms[i] : dot
                }
                result.append(TopK.largest(scores, k: k).map(\.index))
            }
            first = last
        }
        return result
    }

    static func normalizeRows(_ values: inout [Float], dimension: Int) {
        var offset = 0
        while offset < values.count {
            var row = Array(values[offset..<offset + dimension])
            Distance.normalize(&row)
            values.replaceSubrange(offset..<offset + dimension, with: row)
            offset += dimension
        }
    }

    static func seconds(_ d: Duration) -> Double {
        let (s, a) = d.components
        return Double(s) + Double(a) / 1e18
    }
}
