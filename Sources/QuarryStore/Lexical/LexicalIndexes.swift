import Foundation
import Logging
import QuarryCore
import Synchronization

/// The in-memory BM25 indexes of a store's collections, derived from SQLite like the HNSW
/// indexes (`CollectionIndexes`): built on a collection's first lexical query, and caught up
/// from the store whenever its generation (bumped by every write, from any process) moved on —
/// rows SQLite no longer has are dropped, rows the index lacks are tokenized by FTS5's own
/// tokenizer and added.
///
/// FTS5 stays the source of truth and the fallback: `index` answers `nil` (and the caller asks
/// FTS5) while another thread catches the collection up, when the tokenizer cannot be had, and
/// when the collection's index would not fit the memory budget.
final class LexicalIndexes: Sendable {
    /// Where an index reads the rows it mirrors.
    struct Source {
        /// Every chunk row id of the collection.
        var rowIDs: () throws -> [Int64]
        /// The text of the given row ids (those that still exist), in any order.
        var texts: ([Int64]) throws -> [(Int64, String)]
        /// The ids of every collection of the store (indexes of the others are dropped).
        var collectionIDs: () throws -> Set<Int64>
    }

    private struct State {
        var entries: [Int64: LexicalIndex] = [:]
        /// Collections whose index did not fit, with their generation then: tried again only
        /// once a write moved it on.
        var refused: [Int64: Int64] = [:]
    }

    /// Most bytes all indexes may take together (estimated from their layout).
    let budgetBytes: Int
    private let state = Mutex(State())
    /// One catch-up at a time; searches meanwhile go to FTS5.
    private let maintenance = Mutex<Void>(())
    /// Query terms are tokenized here (a few microseconds under the lock); catch-ups use a
    /// tokenizer of their own.
    private let queryTokenizer: Mutex<FTS5Tokenizer?>
    private let logger = Logger(label: "quarry.lexical")

    init(budgetBytes: Int = 512 << 20) {
        self.budgetBytes = budgetBytes
        let tokenizer: FTS5Tokenizer?
        do {
            tokenizer = try FTS5Tokenizer()
        } catch {
            logger.warning("no in-memory BM25: \(error); FTS5 answers every lexical query")
            tokenizer = nil
        }
        queryTokenizer = Mutex(tokenizer)
    }

    /// The query's tokens, one per term, as FTS5 makes them from the quoted terms of the MATCH;
    /// `nil` when a term makes more or fewer than one token (FTS5 reads such a term as a phrase,
    /// which only FTS5 scores) or the tokenizer is unavailable.
    func queryTokens(_ terms: [String]) -> [String]? {
        queryTokenizer.withLock { tokenizer -> [String]? in
            guard let tokenizer else { return nil }
            var tokens: [String] = []
            for term in terms {
                guard let made = try? tokenizer.tokens(term, query: true), made.count == 1 else { return nil }
                tokens.append(made[0])
            }
            return tokens
        }
    }

    /// The collection's index as of `generation`, caught up from `source` when it lags; `nil`
    /// when FTS5 must answer instead.
    func index(collectionID: Int64, generation: Int64, source: Source) throws -> LexicalIndex? {
        let (cached, refusedAt) = state.withLock { ($0.entries[collectionID], $0.refused[collectionID]) }
        if let cached, cached.generation == generation { return cached }
        if refusedAt == generation { return nil }
        let caughtUp = try maintenance.withLockIfAvailable { _ in
            try catchUpLocked(collectionID: collectionID, generation: generation, source: source)
        }
        return caughtUp ?? nil
    }

    /// The estimated bytes of every index held.
    var estimatedBytes: Int {
        state.withLock { $0.entries.values.reduce(0) { $0 + $1.estimatedBytes } }
    }

    private func catchUpLocked(collectionID: Int64, generation: Int64, source: Source) throws -> LexicalIndex? {
        let current = state.withLock { $0.entries[collectionID] }
        if let current, current.generation == generation { return current }
        let existing = try source.collectionIDs()
        state.withLock { state in
            state.entries = state.entries.filter { existing.contains($0.key) }
            state.refused = state.refused.filter { existing.contains($0.key) }
        }
        var base = current ?? LexicalIndex(generation: generation)
        // Read after `generation`, the rows are at least that new: a later query that sees a
        // newer generation catches up again, and finds nothing or little to do.
        let rowIDs = try source.rowIDs()
        let wanted = Set(rowIDs)
        let held = Set(base.rowIDs)
        let removed = held.subtracting(wanted)
        var missing = rowIDs.filter { !held.contains($0) }.sorted()
        // Chunk row ids only grow, so new rows come after the held ones; were that ever not so,
        // the index is built afresh rather than unsorted.
        if let first = missing.first, let last = base.rowIDs.last, first < last {
            base = LexicalIndex(generation: generation)
            missing = rowIDs.sorted()
        }
        let tokenizer = try FTS5Tokenizer()
        var added: [LexicalIndex.AddedRow] = []
        added.reserveCapacity(missing.count)
        var start = 0
        while start < missing.count {
            let batch = Array(missing[start..<min(start + 2000, missing.count)])
            for (rowID, text) in try source.texts(batch) {
                var frequencies: [String: UInt32] = [:]
                var length = 0
                try tokenizer.tokenize(text) { token in
                    frequencies[String(decoding: token, as: UTF8.self), default: 0] += 1
                    length += 1
                }
                added.append(LexicalIndex.AddedRow(rowID: rowID, length: length, frequencies: frequencies))
            }
            start += batch.count
        }
        let index = base.applying(removed: removed, added: added, generation: generation)
        return state.withLock { state -> LexicalIndex? in
            let others = state.entries.filter { $0.key != collectionID }.values.reduce(0) { $0 + $1.estimatedBytes }
            guard others + index.estimatedBytes <= budgetBytes else {
                state.entries[collectionID] = nil
                state.refused[collectionID] = generation
                logger.notice(
                    "the in-memory BM25 index of collection \(collectionID) would take \(index.estimatedBytes >> 20) MiB, over the budget; FTS5 answers its lexical queries"
                )
                return nil
            }
            state.refused[collectionID] = nil
            state.entries[collectionID] = index
            return index
        }
    }
}
