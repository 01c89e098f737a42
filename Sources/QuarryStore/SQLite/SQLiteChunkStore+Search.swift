import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryHNSW
import QuarryKernels

// Search runs whole on one of the store's threads: the collection's status, the filter's chunks,
// the index (loaded or caught up when stale) or vector snapshot, and the hits' rows.
extension SQLiteChunkStore {
    public func search(in collection: String, query: [Float], k: Int, ef: Int?, filter: SearchFilter?) async throws -> [SearchHit] {
        try await executor.run { [self] in try searchBlocking(in: collection, query: query, k: k, ef: ef, filter: filter) }
    }

    public func lexicalSearch(in collection: String, query: String, k: Int, filter: SearchFilter?) async throws -> [SearchHit] {
        try await executor.run { [self] in try lexicalSearchBlocking(in: collection, query: query, k: k, filter: filter) }
    }

    public func denseRanking(in collection: String, query: [Float], k: Int, ef: Int?, filter: SearchFilter?) async throws -> [RankedChunk] {
        try await executor.run { [self] in try denseRankingBlocking(in: collection, query: query, k: k, ef: ef, filter: filter) }
    }

    public func lexicalRanking(in collection: String, query: String, k: Int, filter: SearchFilter?) async throws -> [RankedChunk] {
        try await executor.run { [self] in try lexicalRankingBlocking(in: collection, query: query, k: k, filter: filter) }
    }

    public func hits(for ranked: [RankedChunk]) async throws -> [SearchHit] {
        let unread = ranked.filter { $0.hit == nil }.map(\.rowID)
        let read = unread.isEmpty ? [:] : try await executor.run { [self] in try loadHits(unread) }
        return ranked.compactMap { chunk in
            guard var hit = chunk.hit ?? read[chunk.rowID] else { return nil }
            hit.score = chunk.score
            return hit
        }
    }

    public func synchronizeIndex(of collection: String) async throws {
        try requireWritable()
        return try await executor.run { [self] in try synchronizeIndexBlocking(of: collection) }
    }

    func searchBlocking(in collection: String, query: [Float], k: Int, ef: Int?, filter: SearchFilter?) throws -> [SearchHit] {
        try readRanked(denseRankingBlocking(in: collection, query: query, k: k, ef: ef, filter: filter))
    }

    /// The chunks of `ranked` read in one statement, in its order with its scores.
    func readRanked(_ ranked: [RankedChunk]) throws -> [SearchHit] {
        let rows = try loadHits(ranked.map(\.rowID))
        return ranked.compactMap { chunk in
            guard var hit = rows[chunk.rowID] else { return nil }
            hit.score = chunk.score
            return hit
        }
    }

    func denseRankingBlocking(in collection: String, query: [Float], k: Int, ef: Int?, filter: SearchFilter?) throws -> [RankedChunk] {
        guard k > 0 else { return [] }
        let status = try collectionStatus(collection)
        guard query.count == status.dimension else {
            throw QuarryError(
                .invalidRequest,
                "query vector has dimension \(query.count); collection '\(collection)' has \(status.dimension)"
            )
        }
        let allowed = try allowedChunks(status, filter: filter)
        if let allowed, allowed.isEmpty { return [] }
        guard status.chunkCount >= exactSearchLimit else {
            return try exactSearch(in: collection, query: query, k: k, allowed: allowed)
        }
        let index = try indexes.index(
            for: collection, dimension: status.dimension, generation: status.generation, source: indexSource(status.id)
        )
        let results: [HNSWResult]
        do {
            if let allowed {
                // The walk passes through other chunks and collects only allowed ones; when few
                // are allowed the index scans them exactly.
                results = try index.search(
                    query, k: k, ef: ef, filter: { allowed.contains(Int64(bitPattern: $0)) }, expectedMatches: allowed.count
                )
            } else {
                results = try index.search(query, k: k, ef: ef)
            }
        } catch let error as HNSWError {
            let code: QuarryError.Code = error.code == .invalidArgument ? .invalidRequest : .storage
            throw QuarryError(code, "index search failed: \(error.message)", underlying: error)
        }
        return results.map { RankedChunk(rowID: Int64(bitPattern: $0.label), score: 1 - $0.distance) }
    }

    func lexicalSearchBlocking(
        in collection: String, query: String, k: Int, filter: SearchFilter?, engine: LexicalEngine = .automatic
    ) throws -> [SearchHit] {
        try readRanked(lexicalRankingBlocking(in: collection, query: query, k: k, filter: filter, engine: engine))
    }

    func lexicalRankingBlocking(
        in collection: String, query: String, k: Int, filter: SearchFilter?, engine: LexicalEngine = .automatic
    ) throws -> [RankedChunk] {
        guard k > 0 else { return [] }
        let terms = LexicalQuery.terms(query)
        let status = try lexicalStatus(collection)
        guard !terms.isEmpty else { return [] }
        let filtered = try allowedChunks(status, filter: filter)
        if let filtered, filtered.isEmpty { return [] }
        let ranked: [(Int64, Float)]
        if engine != .fts5, let inMemory = try inMemoryRanking(status, terms: terms, k: k, allowed: filtered) {
            ranked = inMemory
        } else if engine == .inMemory {
            throw QuarryError(.unavailable, "the in-memory BM25 index of '\(collection)' cannot answer this query now; FTS5 can")
        } else {
            ranked = try fts5Ranking(status, terms: terms, k: k, filtered: filtered)
        }
        return ranked.map { RankedChunk(rowID: $0.0, score: $0.1) }
    }

    /// The `k` best chunks of the collection for `terms` by FTS5's bm25() (statistics over the
    /// whole FTS5 table, every collection's chunks), among `filtered`.
    func fts5Ranking(_ status: CollectionStatus, terms: [String], k: Int, filtered: ChunkIDSet?) throws -> [(Int64, Float)] {
        let collectionID = status.id
        // FTS5 indexes every collection's chunks together. With several collections, this one's
        // matches are kept by the set of its chunks, remembered per generation like a filter's,
        // rather than by looking up each match's document (which doubled a query's cost, and
        // made every query slower the moment an ingest created a second collection).
        let allowed = try filtered ?? (try collectionCount() > 1 ? members(of: status) : nil)
        // Every term quoted: the user's text never reaches FTS5's query syntax.
        let match = terms.map { "\"\($0)\"" }.joined(separator: " OR ")
        return try reader.withLock { db in
            // One read transaction: the collection count and the matches belong together.
            return try db.readTransaction {
                let count = try db.prepare("SELECT count(*) FROM quarry_collections")
                try count.bind([])
                _ = try count.step()
                let statement: SQLiteStatement
                if let allowed {
                    // Filtered: every match is scored anyway, so the allowed ones are kept in a
                    // top-k as they come; sorting all matches (SQLite's ORDER BY) would cost more
                    // than the scoring when most of them are someone else's.
                    statement = try db.prepare(
                        "SELECT rowid, -bm25(quarry_chunks_fts) FROM quarry_chunks_fts WHERE quarry_chunks_fts MATCH ?"
                    )
                    try statement.bind([.text(match)])
                    var best = TopK.Running(k: k)
                    while try statement.step() {
                        let rowID = statement.int64(0)
                        if allowed.contains(rowID) { best.offer(index: Int(rowID), score: Float(statement.double(1))) }
                    }
                    return best.best().map { (Int64($0.index), $0.score) }
                } else if count.int(0) == 1 {
                    // One collection (the usual case): no need to look up each match's collection,
                    // which doubles the cost of a query.
                    statement = try db.prepare(
                        "SELECT rowid, -bm25(quarry_chunks_fts) FROM quarry_chunks_fts WHERE quarry_chunks_fts MATCH ? ORDER BY bm25(quarry_chunks_fts) LIMIT ?"
                    )
                    try statement.bind([.text(match), .integer(Int64(k))])
                } else {
                    statement = try db.prepare(
                        """
                        SELECT f.rowid, -bm25(quarry_chunks_fts) FROM quarry_chunks_fts f
                        JOIN quarry_chunks c ON c.id = f.rowid JOIN quarry_documents d ON d.id = c.document_id
                        WHERE quarry_chunks_fts MATCH ? AND d.collection_id = ?
                        ORDER BY bm25(quarry_chunks_fts) LIMIT ?
                        """
                    )
                    try statement.bind([.text(match), .integer(collectionID), .integer(Int64(k))])
                }
                var rows: [(Int64, Float)] = []
                while try statement.step() { rows.append((statement.int64(0), Float(statement.double(1)))) }
                return rows
            }
        }
    }

    func synchronizeIndexBlocking(of collection: String) throws {
        let status = try collectionStatus(collection)
        guard status.chunkCount >= exactSearchLimit else {
            indexes.drop(collection)
            return
        }
        _ = try indexes.index(
            for: collection, dimension: status.dimension, generation: status.generation, source: indexSource(status.id),
            persist: true
        )
    }

    /// How many collections the store holds.
    func collectionCount() throws -> Int {
        try reader.withLock { db in
            let statement = try db.prepare("SELECT count(*) FROM quarry_collections")
            try statement.bind([])
            _ = try statement.step()
            return statement.int(0)
        }
    }

    /// The row ids of all the collection's chunks, remembered for its generation.
    func members(of status: CollectionStatus) throws -> ChunkIDSet? {
        let key = AllowedChunksCache.Key(collectionID: status.id, generation: status.generation, filter: SearchFilter())
        return try allowedCache.allowed(for: key) {
            ChunkIDSet(try indexSource(status.id).rowIDs())
        }
    }

    /// The row ids of the collection's chunks that `filter` keeps, remembered for the
    /// collection's generation; `nil` for no filter. A set that happens to hold every chunk is
    /// still a set: a write between this read and the search could add a chunk the filter would
    /// refuse, and only a set keeps such a chunk out.
    func allowedChunks(_ status: CollectionStatus, filter: SearchFilter?) throws -> ChunkIDSet? {
        guard let filter, !filter.isEmpty else { return nil }
        let key = AllowedChunksCache.Key(collectionID: status.id, generation: status.generation, filter: filter)
        return try allowedCache.allowed(for: key) { try allowedChunks(collectionID: status.id, filter: filter) }
    }

    /// The row ids of the collection's chunks that `filter` keeps.
    func allowedChunks(collectionID: Int64, filter: SearchFilter) throws -> ChunkIDSet {
        try reader.withLock { db in
            let statement = try db.prepare(
                """
                SELECT c.id, d.path, coalesce(s.path, d.path), coalesce(d.metadata, ''), d.access FROM quarry_chunks c JOIN quarry_documents d ON d.id = c.document_id
                LEFT JOIN quarry_sources s ON s.id = d.source_id WHERE d.collection_id = ?
                """
            )
            try statement.bind([.integer(collectionID)])
            var allowed: [Int64] = []
            var verdicts: [String: Bool] = [:]
            while try statement.step() {
                let path = statement.text(1)
                let keep = verdicts[path] ?? {
                    let verdict = filter.accepts(
                        path: path, source: statement.text(2), metadata: StoreFormat.decodeMetadata(statement.text(3)),
                        access: StoreFormat.decodeAccess(statement.optionalText(4))
                    )
                    verdicts[path] = verdict
                    return verdict
                }()
                if keep { allowed.append(statement.int64(0)) }
            }
            return ChunkIDSet(allowed)
        }
    }

    /// Exact search: one `sgemv` over the collection's vector snapshot, then top-k.
    func exactSearch(in collection: String, query: [Float], k: Int, allowed: ChunkIDSet?) throws -> [RankedChunk] {
        let snapshot = try currentSnapshot(of: collection)
        var best: [(index: Int, score: Float)]
        do {
            if let allowed {
                let scores = try snapshot.matrix.innerProducts(query)
                var kept: [(index: Int, score: Float)] = []
                for (index, rowID) in snapshot.rowIDs.enumerated() where allowed.contains(rowID) {
                    kept.append((index, scores[index]))
                }
                best = Array(kept.sorted { ($0.score, $1.index) > ($1.score, $0.index) }.prefix(k))
            } else {
                best = try snapshot.matrix.nearest(to: query, k: k)
            }
        } catch {
            throw QuarryError(.internal, "exact search failed", underlying: error)
        }
        return best.map { RankedChunk(rowID: snapshot.rowIDs[$0.index], score: $0.score) }
    }

    struct CollectionStatus {
        var id: Int64
        var generation: Int64
        var dimension: Int
        var chunkCount: Int
    }

    func collectionStatus(_ collection: String) throws -> CollectionStatus {
        try reader.withLock { db in
            guard let info = try countedCollection(named: collection, in: db) else {
                throw QuarryError(.notFound, "collection '\(collection)' does not exist")
            }
            return CollectionStatus(id: info.id, generation: info.generation, dimension: info.model.dimension, chunkCount: info.chunkCount)
        }
    }

    /// How an index reads the chunk rows of one collection.
    func indexSource(_ collectionID: Int64) -> IndexSource {
        IndexSource(
            rowIDs: { [self] in
                try self.reader.withLock { db in
                    let statement = try db.prepare(
                        "SELECT c.id FROM quarry_documents d JOIN quarry_chunks c ON c.document_id = d.id WHERE d.collection_id = ?"
                    )
                    try statement.bind([.integer(collectionID)])
                    var ids: [Int64] = []
                    while try statement.step() { ids.append(statement.int64(0)) }
                    return ids
                }
            },
            vectors: { [self] wanted in
                try self.reader.withLock { db in
                    var ids: [Int64] = []
                    var vectors: [Float] = []
                    try db.forEachChunk("id, vector", ids: wanted) { statement in
                        ids.append(statement.int64(0))
                        statement.appendFloats(1, to: &vectors)
                    }
                    return (ids, vectors)
                }
            }
        )
    }

    /// The collection's vectors as of its current generation, loaded when the cached one is stale.
    func currentSnapshot(of collection: String) throws -> CollectionSnapshot {
        let generation: Int64 = try reader.withLock { db in
            let statement = try db.prepare("SELECT generation FROM quarry_collections WHERE name = ?")
            try statement.bind([.text(collection)])
            guard try statement.step() else {
                throw QuarryError(.notFound, "collection '\(collection)' does not exist")
            }
            return statement.int64(0)
        }
        if let cached = snapshots.withLock({ $0[collection] }), cached.generation == generation {
            return cached
        }
        let fresh = try loadSnapshot(of: collection)
        snapshots.withLock { cache in
            if let existing = cache[collection], existing.generation > fresh.generation { return }
            cache[collection] = fresh
        }
        return fresh
    }

    func loadSnapshot(of collection: String) throws -> CollectionSnapshot {
        try reader.withLock { db in
            // One read transaction, so the generation and the vectors belong together.
            return try db.readTransaction {
                let info = try Self.requireCollection(collection, in: db)
                let generationStatement = try db.prepare("SELECT generation FROM quarry_collections WHERE id = ?")
                try generationStatement.bind([.integer(info.id)])
                _ = try generationStatement.step()
                let generation = generationStatement.int64(0)

                let statement = try db.prepare(
                    """
                    SELECT c.id, c.vector FROM quarry_chunks c JOIN quarry_documents d ON d.id = c.document_id
                    WHERE d.collection_id = ? ORDER BY c.id
                    """
                )
                try statement.bind([.integer(info.id)])
                var rowIDs: [Int64] = []
                var values: [Float] = []
                values.reserveCapacity(info.chunkCount * info.model.dimension)
                while try statement.step() {
                    let appended = statement.appendFloats(1, to: &values)
                    guard appended == info.model.dimension else {
                        throw QuarryError(
                            .storage, "chunk \(statement.int64(0)) has a vector of \(appended) floats, expected \(info.model.dimension)"
                        )
                    }
                    rowIDs.append(statement.int64(0))
                }
                let matrix: VectorMatrix
                do {
                    matrix = try VectorMatrix(dimension: info.model.dimension, values: values)
                } catch {
                    throw QuarryError(.storage, "vectors of collection '\(collection)' are malformed", underlying: error)
                }
                return CollectionSnapshot(generation: generation, rowIDs: rowIDs, matrix: matrix)
            }
        }
    }

    func loadHits(_ rowIDs: [Int64]) throws -> [Int64: SearchHit] {
        guard !rowIDs.isEmpty else { return [:] }
        return try reader.withLock { db in
            let placeholders = Array(repeating: "?", count: rowIDs.count).joined(separator: ",")
            let statement = try db.prepare(
                """
                SELECT \(StoreSQL.hitColumns)
                FROM quarry_chunks c JOIN quarry_documents d ON d.id = c.document_id WHERE c.id IN (\(placeholders))
                """
            )
            try statement.bind(rowIDs.map { .integer($0) })
            var hits: [Int64: SearchHit] = [:]
            while try statement.step() {
                let path = statement.text(1)
                let ordinal = statement.int(2)
                hits[statement.int64(0)] = SearchHit(
                    chunkRowID: statement.int64(0), chunkID: "\(path)#\(ordinal)", document: path, ordinal: ordinal,
                    text: statement.text(3),
                    location: Self.location(statement, from: 4),
                    score: 0
                )
            }
            return hits
        }
    }
}
