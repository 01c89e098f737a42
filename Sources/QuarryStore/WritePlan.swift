import QuarryCore

/// What both backends decide alike when documents are written: which writes are acceptable,
/// which documents an ingest left behind. The backends keep only how they say it in SQL, and
/// both move a collection's generation on with every change to what a search can return (chunks
/// written or removed, locations moved) and nothing else.
enum WritePlan {
    /// Checks, before any transaction starts, that every write has one vector per chunk.
    /// - Throws: `QuarryError.invalidRequest` naming the first document that does not pair up.
    static func checkPairing(_ writes: [DocumentWrite]) throws {
        for write in writes where write.chunks.count != write.vectors.count {
            throw QuarryError(
                .invalidRequest, "\(write.chunks.count) chunks but \(write.vectors.count) vectors for \(write.document.path)"
            )
        }
    }

    /// Checks that every vector of `writes` has the collection's dimension.
    /// - Throws: `QuarryError.invalidRequest` for the first vector that does not.
    static func checkDimension(_ writes: [DocumentWrite], collection: String, dimension: Int) throws {
        if let bad = writes.lazy.flatMap(\.vectors).first(where: { $0.count != dimension }) {
            throw QuarryError(
                .invalidRequest, "vector of dimension \(bad.count) does not fit collection '\(collection)' (\(dimension))"
            )
        }
    }

    /// The store id of each file of `writes`, each looked up (or recorded as not yet complete, an
    /// empty hash, until its ingest ends) once per transaction, in the order the files first
    /// appear.
    /// - Parameter resolve: finds or creates one file's row; its id.
    static func sourceIDs(of writes: [DocumentWrite], _ resolve: (String) throws -> Int64) rethrows -> [String: Int64] {
        var ids: [String: Int64] = [:]
        for write in writes where ids[write.document.source] == nil {
            ids[write.document.source] = try resolve(write.document.source)
        }
        return ids
    }

    /// The id `sourceIDs` gave the file of `document`.
    /// - Throws: `QuarryError.internal` when it has none (a write it was not given).
    static func sourceID(of document: DocumentRecord, in ids: [String: Int64]) throws -> Int64 {
        guard let id = ids[document.source] else {
            throw QuarryError(.internal, "no source row for \(document.source)")
        }
        return id
    }

    /// The documents of a completely ingested file that its new ingest did not produce
    /// (`keeping`); none when `keeping` is `nil` (the caller keeps them all).
    static func staleDocuments(stored: [String], keeping: Set<String>?) -> [String] {
        guard let keeping else { return [] }
        return stored.filter { !keeping.contains($0) }
    }
}
