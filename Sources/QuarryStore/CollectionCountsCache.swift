import Foundation
import Synchronization

/// The document and chunk counts of collections, remembered per generation (both stores).
///
/// Counting means reading every document row of a collection (SciFact's 5,184 cost about
/// 0.6 ms), and every query asked for them twice: once for the collection's record and once
/// to choose between exact and HNSW search. A collection's generation moves on with every
/// write that changes its documents, from any process, so counts read at one generation stay
/// true for as long as the generation does. The key also holds the collection's creation time:
/// SQLite may give a deleted collection's id to the next one created.
final class CollectionCountsCache: Sendable {
    struct Key: Hashable, Sendable {
        var collectionID: Int64
        var createdAt: Double
        var generation: Int64
    }

    struct Counts: Sendable, Equatable {
        var documents: Int
        var chunks: Int
    }

    private let entries = Mutex<[Key: Counts]>([:])
    /// Most collections remembered (one generation each).
    let capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = capacity
    }

    func counts(for key: Key) -> Counts? {
        entries.withLock { $0[key] }
    }

    /// Remembers `counts` for `key`, forgetting the collection's other generations.
    func remember(_ counts: Counts, for key: Key) {
        entries.withLock { entries in
            entries = entries.filter { $0.key.collectionID != key.collectionID }
            if entries.count >= capacity { entries.removeAll() }
            entries[key] = counts
        }
    }
}
