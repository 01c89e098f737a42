import Foundation
import QuarryCore
import QuarryKernels

/// Which engine ranks a lexical query of the SQLite store.
public enum LexicalEngine: String, Sendable, CaseIterable {
    /// The in-memory BM25 index when it can answer, else FTS5.
    case automatic
    /// FTS5's `bm25()` over `quarry_chunks_fts`.
    case fts5
    /// The in-memory index only (benchmarks and tests); fails where `automatic` would use FTS5.
    case inMemory = "in_memory"
}

// Lexical ranking: FTS5's bm25() over the one FTS5 table, or the collection's in-memory BM25
// index (`LexicalIndexes`), which scores with the collection's own statistics.
extension SQLiteChunkStore {
    /// BM25 search through the chosen engine (`lexicalSearch(in:query:k:filter:)` is
    /// `.automatic`).
    /// - Throws: `QuarryError.unavailable` when `.inMemory` is asked and the index cannot answer
    ///   (a term FTS5 reads as a phrase, over the memory budget, a catch-up under way).
    public func lexicalSearch(in collection: String, query: String, k: Int, filter: SearchFilter?, engine: LexicalEngine) async throws -> [SearchHit] {
        try await executor.run { [self] in try lexicalSearchBlocking(in: collection, query: query, k: k, filter: filter, engine: engine) }
    }

    /// The estimated bytes of the in-memory BM25 indexes held (from their layout).
    public var inMemoryLexicalBytes: Int { lexicalIndexes.estimatedBytes }

    /// The `k` best chunks of the collection for `terms` by the in-memory index, among
    /// `allowed`; `nil` when FTS5 must rank instead.
    func inMemoryRanking(_ status: CollectionStatus, terms: [String], k: Int, allowed: ChunkIDSet?) throws -> [(Int64, Float)]? {
        guard let tokens = lexicalIndexes.queryTokens(terms) else { return nil }
        guard
            let index = try lexicalIndexes.index(collectionID: status.id, generation: status.generation, source: lexicalSource(status.id))
        else { return nil }
        return index.search(tokens: tokens, k: k, allowed: allowed).map { ($0.rowID, Float($0.score)) }
    }

    /// The collection's id and generation, which is all a lexical search needs of its status:
    /// `collectionStatus` also sums the chunk counts of its documents, a scan of every document
    /// row that cost SciFact's 5,184 documents about 0.6 ms a query, more than the in-memory
    /// ranking itself. `chunkCount` is not read on this path and left 0.
    func lexicalStatus(_ collection: String) throws -> CollectionStatus {
        try reader.withLock { db in
            let statement = try db.prepare("SELECT id, generation, dimension FROM quarry_collections WHERE name = ?")
            try statement.bind([.text(collection)])
            guard try statement.step() else {
                throw QuarryError(.notFound, "collection '\(collection)' does not exist")
            }
            return CollectionStatus(id: statement.int64(0), generation: statement.int64(1), dimension: statement.int(2), chunkCount: 0)
        }
    }

    /// How an in-memory index reads the chunks of one collection.
    func lexicalSource(_ collectionID: Int64) -> LexicalIndexes.Source {
        LexicalIndexes.Source(
            rowIDs: { [self] in try indexSource(collectionID).rowIDs() },
            texts: { [self] wanted in
                try reader.withLock { db in
                    var rows: [(Int64, String)] = []
                    rows.reserveCapacity(wanted.count)
                    try db.forEachChunk("id, text", ids: wanted) { rows.append(($0.int64(0), $0.text(1))) }
                    return rows
                }
            },
            collectionIDs: { [self] in
                try reader.withLock { db in
                    let statement = try db.prepare("SELECT id FROM quarry_collections")
                    try statement.bind([])
                    var ids = Set<Int64>()
                    while try statement.step() { ids.insert(statement.int64(0)) }
                    return ids
                }
            }
        )
    }
}
