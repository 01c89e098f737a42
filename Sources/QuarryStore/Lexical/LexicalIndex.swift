import Foundation

/// One collection's inverted index for BM25, immutable once built and shared by concurrent
/// searches: term → postings (row, term frequency) in row order, every row's length in tokens,
/// and the collection's own statistics (rows, mean length, rows per term).
///
/// Rows are numbered densely in chunk row id order (`rowIDs[row]`); chunk row ids only grow, so
/// rows added later take the next numbers and every postings list stays sorted. A catch-up makes
/// a new index from the previous one (`applying`), sharing the lists it does not touch.
final class LexicalIndex: Sendable {
    /// The postings of one term: rows ascending, with the term's frequency in each.
    struct Postings: Sendable {
        var rows: [UInt32] = []
        var frequencies: [UInt32] = []
    }

    /// The collection generation the index reflects.
    let generation: Int64
    let termIDs: [String: Int32]
    let postings: [Postings]
    /// The largest saturated frequency of each term over its rows (MaxScore's upper bound,
    /// times the term's idf).
    let maxSaturation: [Double]
    /// Chunk row id of each row, ascending.
    let rowIDs: [Int64]
    /// Tokens of each row.
    let lengths: [UInt32]
    /// `BM25.lengthNorm` of each row, for this index's mean length.
    let norms: [Double]
    let totalLength: Int

    /// Rows (chunks) in the collection: BM25's N.
    var count: Int { rowIDs.count }
    var averageLength: Double { rowIDs.isEmpty ? 0 : Double(totalLength) / Double(rowIDs.count) }

    /// The postings held, over all terms.
    let postingCount: Int

    /// The index's size in bytes, from its layout: 8 per posting, 20 per row (row id, length,
    /// norm), and per term its text, its dictionary slot, two array headers and its bound.
    var estimatedBytes: Int {
        let termBytes = termIDs.keys.reduce(0) { $0 + $1.utf8.count } + termIDs.count * (16 + 4 + 8) * 2
        return postingCount * 8 + rowIDs.count * 20 + termBytes + postings.count * (2 * 32 + 8)
    }

    init(generation: Int64, termIDs: [String: Int32], postings: [Postings], rowIDs: [Int64], lengths: [UInt32]) {
        self.generation = generation
        self.termIDs = termIDs
        self.postings = postings
        self.rowIDs = rowIDs
        self.lengths = lengths
        let total = lengths.reduce(0) { $0 + Int($1) }
        totalLength = total
        let average = rowIDs.isEmpty ? 0 : Double(total) / Double(rowIDs.count)
        let norms = lengths.map { BM25.lengthNorm(length: Double($0), averageLength: average) }
        self.norms = norms
        var postingCount = 0
        maxSaturation = postings.map { list in
            postingCount += list.rows.count
            var best = 0.0
            for (row, frequency) in zip(list.rows, list.frequencies) {
                best = max(best, BM25.saturation(frequency: Double(frequency), norm: norms[Int(row)]))
            }
            return best
        }
        self.postingCount = postingCount
    }

    /// An empty index.
    convenience init(generation: Int64) {
        self.init(generation: generation, termIDs: [:], postings: [], rowIDs: [], lengths: [])
    }

    /// A row to add: its chunk row id, its tokens in order (FTS5's), as term → frequency.
    struct AddedRow {
        var rowID: Int64
        var length: Int
        var frequencies: [String: UInt32]
    }

    /// This index without the rows `removed` and with `added` (whose row ids must all exceed
    /// the ones it holds), as of `generation`.
    func applying(removed: Set<Int64>, added: [AddedRow], generation: Int64) -> LexicalIndex {
        var termIDs = self.termIDs
        var postings = self.postings
        var rowIDs = self.rowIDs
        var lengths = self.lengths
        if !removed.isEmpty {
            // Renumber the rows that stay, then rewrite every list through the new numbers.
            var renumbered = [UInt32](repeating: .max, count: rowIDs.count)
            var keptIDs: [Int64] = []
            var keptLengths: [UInt32] = []
            keptIDs.reserveCapacity(rowIDs.count)
            for (row, rowID) in rowIDs.enumerated() where !removed.contains(rowID) {
                renumbered[row] = UInt32(keptIDs.count)
                keptIDs.append(rowID)
                keptLengths.append(lengths[row])
            }
            rowIDs = keptIDs
            lengths = keptLengths
            for term in postings.indices {
                let list = postings[term]
                var kept = Postings()
                kept.rows.reserveCapacity(list.rows.count)
                kept.frequencies.reserveCapacity(list.rows.count)
                for (row, frequency) in zip(list.rows, list.frequencies) where renumbered[Int(row)] != .max {
                    kept.rows.append(renumbered[Int(row)])
                    kept.frequencies.append(frequency)
                }
                postings[term] = kept
            }
            // Terms no row holds any more are dropped, so a long-lived index does not grow
            // with every word it ever saw.
            if postings.contains(where: { $0.rows.isEmpty }) {
                var compactIDs: [String: Int32] = [:]
                var compactPostings: [Postings] = []
                for (term, id) in termIDs where !postings[Int(id)].rows.isEmpty {
                    compactIDs[term] = Int32(compactPostings.count)
                    compactPostings.append(postings[Int(id)])
                }
                termIDs = compactIDs
                postings = compactPostings
            }
        }
        for row in added.sorted(by: { $0.rowID < $1.rowID }) {
            let number = UInt32(rowIDs.count)
            rowIDs.append(row.rowID)
            lengths.append(UInt32(row.length))
            for (term, frequency) in row.frequencies {
                let id: Int32
                if let existing = termIDs[term] {
                    id = existing
                } else {
                    id = Int32(postings.count)
                    termIDs[term] = id
                    postings.append(Postings())
                }
                postings[Int(id)].rows.append(number)
                postings[Int(id)].frequencies.append(frequency)
            }
        }
        return LexicalIndex(generation: generation, termIDs: termIDs, postings: postings, rowIDs: rowIDs, lengths: lengths)
    }

    /// The `k` best rows for `tokens` (the query's tokens, each once per quoted term that made
    /// it, so a token two terms share counts twice as in FTS5's OR of phrases), among the row
    /// ids `allowed` keeps, best first; ties go to the lower chunk row id.
    ///
    /// MaxScore (Turtle and Flood 1995): terms sorted by their upper bound; once the k-th best
    /// score exceeds what the lowest terms together could add, rows holding only those terms
    /// are never visited, and a candidate stops being scored as soon as the bounds of its
    /// remaining terms cannot lift it past the k-th best.
    func search(tokens: [String], k: Int, allowed: ChunkIDSet?) -> [(rowID: Int64, score: Double)] {
        guard k > 0, !rowIDs.isEmpty else { return [] }
        var multiplicity: [Int32: Int] = [:]
        for token in tokens {
            if let id = termIDs[token], !postings[Int(id)].rows.isEmpty { multiplicity[id, default: 0] += 1 }
        }
        guard !multiplicity.isEmpty else { return [] }
        var terms = multiplicity.map { id, times in
            let list = postings[Int(id)]
            let weight = Double(times) * BM25.idf(documents: rowIDs.count, containing: list.rows.count)
            return Cursor(postings: list, weight: weight, bound: weight * maxSaturation[Int(id)])
        }
        terms.sort { ($0.bound, $0.postings.rows.count) < ($1.bound, $1.postings.rows.count) }
        // bounds[i]: what terms 0...i together could add to a row's score.
        var bounds: [Double] = []
        var sum = 0.0
        for term in terms {
            sum += term.bound
            bounds.append(sum)
        }
        var best = Best(k: k)
        // Terms below `essential` cannot alone lift a row into the top k: rows are found only
        // through the others.
        var essential = 0
        let end = UInt32.max
        while essential < terms.count {
            var row = end
            for i in essential..<terms.count { row = min(row, terms[i].current) }
            guard row != end else { break }
            if let allowed, !allowed.contains(rowIDs[Int(row)]) {
                for i in essential..<terms.count where terms[i].current == row { terms[i].advance() }
                continue
            }
            let norm = norms[Int(row)]
            var score = 0.0
            for i in essential..<terms.count where terms[i].current == row {
                score += terms[i].weight * BM25.saturation(frequency: Double(terms[i].frequency), norm: norm)
                terms[i].advance()
            }
            var pruned = false
            var i = essential - 1
            while i >= 0 {
                if best.cannotEnter(score + bounds[i]) {
                    pruned = true
                    break
                }
                if terms[i].seek(row) {
                    score += terms[i].weight * BM25.saturation(frequency: Double(terms[i].frequency), norm: norm)
                }
                i -= 1
            }
            guard !pruned, best.offer(row: row, score: score) else { continue }
            while essential < terms.count, best.cannotEnter(bounds[essential]) { essential += 1 }
        }
        return best.sorted().map { (rowIDs[Int($0.row)], $0.score) }
    }

    /// A position in one term's postings.
    private struct Cursor {
        let postings: Postings
        let weight: Double
        let bound: Double
        var position = 0

        init(postings: Postings, weight: Double, bound: Double) {
            self.postings = postings
            self.weight = weight
            self.bound = bound
        }

        /// The row at the position, or `UInt32.max` past the end.
        var current: UInt32 { position < postings.rows.count ? postings.rows[position] : .max }
        var frequency: UInt32 { postings.frequencies[position] }

        mutating func advance() { position += 1 }

        /// Moves to the first row at or after `row` (galloping, then binary search); whether
        /// that row is `row`.
        mutating func seek(_ row: UInt32) -> Bool {
            let rows = postings.rows
            guard position < rows.count else { return false }
            if rows[position] >= row { return rows[position] == row }
            var step = 1
            var low = position
            var high = position + 1
            while high < rows.count, rows[high] < row {
                low = high
                step *= 2
                high = position + step
            }
            high = min(high, rows.count)
            // rows[low] < row; the answer is in (low, high].
            var first = low + 1
            var last = high
            while first < last {
                let middle = (first + last) / 2
                if rows[middle] < row { first = middle + 1 } else { last = middle }
            }
            position = first
            return position < rows.count && rows[position] == row
        }
    }

    /// The best `k` rows so far, worst first: higher score wins, then the lower row.
    private struct Best {
        let k: Int
        private(set) var entries: [(row: UInt32, score: Double)] = []

        init(k: Int) {
            self.k = k
            entries.reserveCapacity(k + 1)
        }

        /// Whether a row scoring at most `bound` cannot enter the top k. The margin covers the
        /// rounding of sums taken in another order than the bounds'.
        func cannotEnter(_ bound: Double) -> Bool {
            guard entries.count == k, let worst = entries.first else { return false }
            return bound * (1 + 1e-9) < worst.score
        }

        /// Keeps the row if it is among the best k; whether the k-th best score rose.
        mutating func offer(row: UInt32, score: Double) -> Bool {
            if entries.count == k, let worst = entries.first {
                // Rows come in ascending order: a tie loses to the row already kept.
                guard score > worst.score else { return false }
                entries.removeFirst()
            }
            // Worst first: lower score, then the higher row.
            let index = entries.firstIndex { ($0.score, row) > (score, $0.row) } ?? entries.count
            entries.insert((row, score), at: index)
            return entries.count == k
        }

        func sorted() -> [(row: UInt32, score: Double)] { entries.reversed() }
    }
}
