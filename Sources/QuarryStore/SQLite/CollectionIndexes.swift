import Foundation
import Logging
import QuarryCore
import QuarryHNSW
import Synchronization

/// The HNSW indexes of a store's collections: derived from SQLite, persisted beside it, and
/// brought up to date from SQLite whenever a collection's generation moves on.
///
/// SQLite stays the source of truth. An index file is only a head start: on first use it is
/// loaded and checked (format, checksum, dimension), then caught up with the chunk rows it lacks
/// (new rows have higher row ids, as chunk ids only grow) and stripped of rows SQLite no longer
/// has. A missing, damaged or foreign file is rebuilt from SQLite.
final class CollectionIndexes: Sendable {
    /// An index and the collection generation it reflects.
    final class Entry: Sendable {
        let index: HNSWIndex
        let generation: Int64
        init(index: HNSWIndex, generation: Int64) {
            self.index = index
            self.generation = generation
        }
    }

    let directory: URL
    let parameters: HNSWParameters
    /// Whether indexes are saved to (and dropped from) the directory; a read-only store keeps
    /// the ones it builds in memory only.
    let persistent: Bool
    private let entries = Mutex<[String: Entry]>([:])
    /// One catch-up at a time; searches keep using the previous entry meanwhile.
    private let maintenance = Mutex<Void>(())
    private let persistQueue = DispatchQueue(label: "quarry.index.persist")
    private let logger = Logger(label: "quarry.index")

    init(directory: URL, parameters: HNSWParameters, persistent: Bool = true) {
        self.directory = directory
        self.parameters = parameters
        self.persistent = persistent
    }

    /// Removes the temporary files an index save left behind when its process died before the
    /// rename (`.NAME.hnsw.UUID.tmp`), if they are older than `age` — a younger one may be a save
    /// another process is making right now.
    /// - Returns: how many were removed.
    @discardableResult
    func removeStaleTemporaryFiles(olderThan age: TimeInterval = 600, now: Date = Date()) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var removed = 0
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            let url = directory.appendingPathComponent(name)
            let modified = (try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date) ?? now
            guard now.timeIntervalSince(modified) > age else { continue }
            if (try? FileManager.default.removeItem(at: url)) != nil { removed += 1 }
        }
        return removed
    }

    func fileURL(for collection: String) -> URL {
        directory.appendingPathComponent("\(collection).hnsw")
    }

    /// The collection's index as of `generation`, caught up from `source` when it lags.
    /// - Parameters:
    ///   - persist: write the file before returning (ingest) rather than in the background (queries).
    func index(
        for collection: String, dimension: Int, generation: Int64, source: IndexSource, persist: Bool = false
    ) throws -> HNSWIndex {
        let cached = entries.withLock { $0[collection] }
        if let cached, cached.generation == generation, !persist {
            return cached.index
        }
        // Searches never wait behind a catch-up: while another thread runs one, they use the
        // previous index (hits on rows that have since gone are dropped when read from SQLite).
        if let cached, !persist {
            let caughtUp = try maintenance.withLockIfAvailable { _ in
                try catchUpLocked(collection, dimension: dimension, generation: generation, source: source, persist: false)
            }
            return caughtUp ?? cached.index
        }
        return try maintenance.withLock { _ in
            try catchUpLocked(collection, dimension: dimension, generation: generation, source: source, persist: persist)
        }
    }

    private func catchUpLocked(
        _ collection: String, dimension: Int, generation: Int64, source: IndexSource, persist: Bool
    ) throws -> HNSWIndex {
        if let entry = entries.withLock({ $0[collection] }), entry.generation == generation, !persist {
            return entry.index
        }
        let base = try entries.withLock { $0[collection] }?.index ?? loadOrCreate(collection, dimension: dimension)
        var index = base
        // An ingest's catch-up (persist) is bulk work and takes one core, leaving the other to
        // the queries served meanwhile; a query waiting on the catch-up takes both.
        let changed = try catchUp(index, from: source, threads: persist ? 1 : 2)
        if index.tombstoneRatio > 0.3 {
            index = try index.compacted()
        }
        entries.withLock { $0[collection] = Entry(index: index, generation: generation) }
        if persistent, changed || index !== base || persist {
            let url = fileURL(for: collection)
            let current = index
            if persist {
                // On the same queue as background writes, so that an older index never lands last.
                try persistQueue.sync { try write(current, to: url) }
            } else {
                persistQueue.async { [logger] in
                    do {
                        try self.write(current, to: url)
                    } catch {
                        logger.warning("cannot persist the index of '\(collection)': \(error)")
                    }
                }
            }
        }
        return index
    }

    /// Waits for the index saves queued in the background, so that a store that closes leaves
    /// every index it built on disk (each save is atomic: the old file or the new one).
    func flush() {
        persistQueue.sync {}
    }

    /// Forgets a collection's index and deletes its file.
    func drop(_ collection: String) {
        entries.withLock { $0[collection] = nil }
        guard persistent else { return }
        persistQueue.sync { try? FileManager.default.removeItem(at: fileURL(for: collection)) }
    }

    private func write(_ index: HNSWIndex, to url: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try index.write(to: url)
    }

    private func loadOrCreate(_ collection: String, dimension: Int) throws -> HNSWIndex {
        let url = fileURL(for: collection)
        if FileManager.default.fileExists(atPath: url.path) {
            do {
                let loaded = try HNSWIndex.load(from: url)
                if loaded.dimension == dimension, loaded.metric == .cosine, loaded.parameters.m == parameters.m {
                    return loaded
                }
                logger.warning("index file \(url.lastPathComponent) was built for other settings; rebuilding it from the store")
            } catch {
                // The damaged file goes at once, so that a stop before the rebuilt index is saved
                // leaves no file rather than the damaged one (the next start rebuilds either way).
                logger.warning("\(error); removing it and rebuilding the index of '\(collection)' from the store")
                persistQueue.sync { try? FileManager.default.removeItem(at: url) }
            }
        }
        do {
            return try HNSWIndex(dimension: dimension, metric: .cosine, parameters: parameters)
        } catch {
            throw QuarryError(.internal, "cannot create an index of dimension \(dimension)", underlying: error)
        }
    }

    /// Removes labels SQLite no longer has and inserts the rows the index lacks.
    /// - Returns: whether anything changed.
    private func catchUp(_ index: HNSWIndex, from source: IndexSource, threads: Int) throws -> Bool {
        let rowIDs = try source.rowIDs()
        let wanted = Set(rowIDs.map { UInt64(bitPattern: $0) })
        var changed = false
        for label in index.labels where !wanted.contains(label) {
            index.remove(label)
            changed = true
        }
        let missing = rowIDs.filter { !index.contains(UInt64(bitPattern: $0)) }
        guard !missing.isEmpty else { return changed }
        var start = 0
        while start < missing.count {
            let batch = Array(missing[start..<min(start + 4096, missing.count)])
            let (ids, vectors) = try source.vectors(batch)
            do {
                try index.insert(batch: vectors, labels: ids.map { UInt64(bitPattern: $0) }, threads: threads)
            } catch {
                throw QuarryError(.storage, "cannot add vectors to the index", underlying: error)
            }
            start += batch.count
        }
        index.lastStoreRowID = max(index.lastStoreRowID, rowIDs.max() ?? 0)
        return true
    }
}

/// Where an index reads the rows it mirrors.
struct IndexSource {
    /// Every chunk row id of the collection.
    var rowIDs: () throws -> [Int64]
    /// The vectors of the given row ids (those that still exist), row-major.
    var vectors: ([Int64]) throws -> (ids: [Int64], vectors: [Float])
}
