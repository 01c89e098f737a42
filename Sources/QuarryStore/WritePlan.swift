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

    /// The distinct files of `writes`, in the order they first appear: each is looked up (or
    /// recorded as not yet complete) once per transaction.
    static func sources(of writes: [DocumentWrite]) -> [String] {
        var seen = Set<String>()
        return writes.map(\.document.source).filter { seen.insert($0).inserted }
    }

    /// The documents of a completely ingested file that its new ingest did not produce
    /// (`keeping`); none when `keeping` is `nil` (the caller keeps them all).
    static func staleDocuments(stored: [String], keeping: Set<String>?) -> [String] {
        guard let keeping else { return [] }
        return stored.filter { !keeping.contains($0) }
    }
}
