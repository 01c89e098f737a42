import Foundation

/// BM25 exactly as FTS5's `bm25()` computes it (`ext/fts5/fts5_aux.c`, one column, weight 1):
/// for each phrase of the query, `idf · tf·(k1+1) / (tf + k1·(1 − b + b·D/avgdl))`, summed, with
/// `idf = log((N − n + 0.5) / (n + 0.5))` raised to 1e-6 when it is not positive (a term in more
/// than half the rows), `N` the rows, `n` the rows holding the phrase, `D` the row's tokens and
/// `avgdl` the mean of `D`. FTS5 returns the negation; Quarry's scores are the sum itself.
enum BM25 {
    static let k1 = 1.2
    static let b = 0.75

    /// The inverse document frequency of a term held by `containing` of `documents` rows.
    static func idf(documents: Int, containing: Int) -> Double {
        let idf = log((Double(documents) - Double(containing) + 0.5) / (Double(containing) + 0.5))
        return idf <= 0 ? 1e-6 : idf
    }

    /// The length part of the denominator for a row of `length` tokens, `k1·(1 − b + b·D/avgdl)`,
    /// grouped as FTS5 groups it so the floating-point result is the same.
    static func lengthNorm(length: Double, averageLength: Double) -> Double {
        k1 * (1 - b + b * length / averageLength)
    }

    /// The saturated term frequency `tf·(k1+1) / (tf + norm)`.
    @inline(__always)
    static func saturation(frequency: Double, norm: Double) -> Double {
        (frequency * (k1 + 1)) / (frequency + norm)
    }
}
