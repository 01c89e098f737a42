import Foundation
import QuarryCore
import Synchronization

/// One collection's `quarry_postings`, in memory, as of one generation: immutable once built and
/// shared by concurrent searches. It ranks as the BM25 statement of
/// `PostgresChunkStore.lexicalRanking` does — the same postings, the same formula with the same
/// grouping of operations, the same tie order (score descending, then chunk id) — without a
/// round trip through the planner and an aggregate over every matching posting.
///
/// Chunks are numbered densely (`rows`); each lexeme's postings are one slice of the flat
/// `postingRows` / `postingFrequencies` arrays, from `offsets[term]` to `offsets[term + 1]`.
final class PostgresLexicalIndex: Sendable {
    /// The collection generation the postings are of.
    let generation: Int64
    let termIDs: [String: Int32]
    /// Where each term's postings start; one more entry than there are terms.
    let offsets: [UInt32]
    let postingRows: [UInt32]
    let postingFrequencies: [UInt32]
    /// The chunk id of each row.
    let chunkIDs: [Int64]
    /// Each row's `token_count` (as the postings carry it).
    let lengths: [Double]
    /// Score accumulators of finished searches, zeroed, kept for the next ones.
    private let scratch = Mutex<[[Double]]>([])

    /// Chunks with at least one posting.
    var rowCount: Int { chunkIDs.count }
    var postingCount: Int { postingRows.count }

    /// The index's size in bytes from its layout: 8 per posting, 16 per chunk, and per term its
    /// text, its dictionary slot and its offset.
    let estimatedBytes: Int

    static func estimatedBytes(postings: Int, rows: Int, termBytes: Int, terms: Int) -> Int {
        postings * 8 + rows * 16 + termBytes + terms * (16 + 4 + 8 + 4)
    }

    fileprivate init(
        generation: Int64, termIDs: [String: Int32], offsets: [UInt32], postingRows: [UInt32], postingFrequencies: [UInt32],
        chunkIDs: [Int64], lengths: [Double]
    ) {
        self.generation = generation
        self.termIDs = termIDs
        self.offsets = offsets
        self.postingRows = postingRows
        self.postingFrequencies = postingFrequencies
        self.chunkIDs = chunkIDs
        self.lengths = lengths
        estimatedBytes = Self.estimatedBytes(
            postings: postingRows.count, rows: chunkIDs.count, termBytes: termIDs.keys.reduce(0) { $0 + $1.utf8.count }, terms: termIDs.count
        )
    }

    /// The BM25 parameters and collection statistics a search scores with: the values the SQL
    /// statement binds (`N` and `avgdl` from `PostgresChunkStore.status`, which count every chunk,
    /// those without a posting too).
    struct Scoring {
        var chunkCount: Double
        var averageLength: Double
        var k1: Double
        var b: Double
    }

    /// The `k` best chunks for `lexemes` (distinct, as `to_tsvector` made them from the query),
    /// best first; equal scores go to the lower chunk id.
    ///
    /// Term at a time into one accumulator per row, then a heap of `k` over the rows touched:
    /// a query's words touch a few thousand postings, which costs less than skipping among them.
    func search(lexemes: [String], k: Int, scoring: Scoring) -> [(chunkID: Int64, score: Double)] {
        guard k > 0 else { return [] }
        var seen = Set<Int32>()
        let terms = lexemes.compactMap { termIDs[$0] }.filter { seen.insert($0).inserted }
        guard !terms.isEmpty else { return [] }
        var scores = scratch.withLock { $0.popLast() } ?? [Double](repeating: 0, count: rowCount)
        var touched: [UInt32] = []
        let (k1, b, averageLength) = (scoring.k1, scoring.b, scoring.averageLength)
        for term in terms {
            let start = Int(offsets[Int(term)])
            let end = Int(offsets[Int(term) + 1])
            // The statement's idf: greatest(ln((N − df + 0.5) / (df + 0.5)), 1e-6).
            let df = Double(end - start)
            let idf = max(log((scoring.chunkCount - df + 0.5) / (df + 0.5)), 1e-6)
            for posting in start..<end {
                let row = Int(postingRows[posting])
                let tf = Double(postingFrequencies[posting])
                // Grouped as the statement writes it: idf · tf · (k1 + 1) / (tf + k1 · (1 − b + b · len / avgdl)).
                let score = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[row] / averageLength))
                // Every posting's score is positive (idf ≥ 1e-6, tf ≥ 1): zero is "not yet seen".
                if scores[row] == 0 { touched.append(UInt32(row)) }
                scores[row] += score
            }
        }
        var best = Best(k: k)
        for row in touched {
            best.offer(chunkID: chunkIDs[Int(row)], score: scores[Int(row)])
            scores[Int(row)] = 0
        }
        scratch.withLock { free in
            // A few accumulators are enough for the searches that run at once.
            if free.count < 8 { free.append(scores) }
        }
        return best.sorted()
    }

    /// The best `k` (score, chunk id) pairs offered, in a binary heap whose root is the worst kept:
    /// the lowest score, and among equal scores the highest chunk id.
    private struct Best {
        let k: Int
        private var heap: [(chunkID: Int64, score: Double)] = []

        init(k: Int) {
            self.k = k
            heap.reserveCapacity(min(k, 1024))
        }

        /// Whether `a` ranks below `b`.
        @inline(__always)
        private static func worse(_ a: (chunkID: Int64, score: Double), _ b: (chunkID: Int64, score: Double)) -> Bool {
            a.score < b.score || (a.score == b.score && a.chunkID > b.chunkID)
        }

        mutating func offer(chunkID: Int64, score: Double) {
            let entry = (chunkID: chunkID, score: score)
            if heap.count < k {
                heap.append(entry)
                var child = heap.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard Self.worse(heap[child], heap[parent]) else { break }
                    heap.swapAt(child, parent)
                    child = parent
                }
                return
            }
            guard Self.worse(heap[0], entry) else { return }
            heap[0] = entry
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < heap.count else { break }
                var worst = left
                if left + 1 < heap.count, Self.worse(heap[left + 1], heap[left]) { worst = left + 1 }
                guard Self.worse(heap[worst], heap[parent]) else { break }
                heap.swapAt(worst, parent)
                parent = worst
            }
        }

        /// The entries kept, best first.
        func sorted() -> [(chunkID: Int64, score: Double)] {
            heap.sorted { Self.worse($1, $0) }
        }
    }

    /// Collects a collection's postings, those of one lexeme together (as an `ORDER BY lexeme`
    /// gives them), and freezes them into an index.
    struct Builder {
        private var termIDs: [String: Int32] = [:]
        private var termBytes = 0
        private var lastLexeme = ""
        /// Where each term's postings start.
        private var starts: [UInt32] = []
        private var rowOfChunk: [Int64: UInt32] = [:]
        private var chunkIDs: [Int64] = []
        private var lengths: [Double] = []
        private var rows: [UInt32] = []
        private var frequencies: [UInt32] = []

        /// The size the index would have now.
        var estimatedBytes: Int {
            PostgresLexicalIndex.estimatedBytes(postings: rows.count, rows: chunkIDs.count, termBytes: termBytes, terms: termIDs.count)
        }

        /// Adds the posting of `lexeme` in the chunk `chunkID` of `length` tokens, where it occurs
        /// `frequency` times.
        /// - Throws: `QuarryError.storage` when an earlier lexeme comes back after another one.
        mutating func add(chunkID: Int64, lexeme: String, frequency: UInt32, length: Int64) throws {
            if starts.isEmpty || lexeme != lastLexeme {
                guard termIDs[lexeme] == nil else {
                    throw QuarryError(.storage, "the postings of '\(lexeme)' did not come in one run")
                }
                termIDs[lexeme] = Int32(termIDs.count)
                termBytes += lexeme.utf8.count
                starts.append(UInt32(rows.count))
                lastLexeme = lexeme
            }
            let row: UInt32
            if let known = rowOfChunk[chunkID] {
                row = known
            } else {
                row = UInt32(chunkIDs.count)
                rowOfChunk[chunkID] = row
                chunkIDs.append(chunkID)
                lengths.append(Double(length))
            }
            rows.append(row)
            frequencies.append(frequency)
        }

        /// The index of the postings added, as of `generation`.
        func build(generation: Int64) -> PostgresLexicalIndex {
            PostgresLexicalIndex(
                generation: generation, termIDs: termIDs, offsets: starts + [UInt32(rows.count)], postingRows: rows,
                postingFrequencies: frequencies, chunkIDs: chunkIDs, lengths: lengths
            )
        }
    }
}
