/// How vectors are compared.
public enum HNSWMetric: UInt32, Sendable, Codable, CaseIterable {
    /// Cosine similarity; vectors are normalised on insert and query, distance is `1 - cos`.
    case cosine = 1
    /// Inner product; distance is `1 - a·b` (smaller is closer).
    case innerProduct = 2
    /// Squared Euclidean distance.
    case l2 = 3
}

/// Construction and search parameters.
public struct HNSWParameters: Sendable, Hashable, Codable {
    /// Links per node on the upper levels; level 0 keeps `2·m`.
    public var m: Int
    /// Candidate list size while inserting.
    public var efConstruction: Int
    /// Default candidate list size while searching.
    public var ef: Int
    /// Seed of the level draws, so that builds are reproducible.
    public var seed: UInt64

    /// Creates parameters; `m` is at least 2 and `efConstruction` at least `m`.
    public init(m: Int = 16, efConstruction: Int = 200, ef: Int = 64, seed: UInt64 = 0x5157_4152_5259) {
        self.m = max(2, min(m, 128))
        self.efConstruction = max(self.m, efConstruction)
        self.ef = max(1, ef)
        self.seed = seed
    }
}

/// One search result: the caller's label and its distance (smaller is closer).
public struct HNSWResult: Sendable, Hashable {
    /// The label given on insert.
    public var label: UInt64
    /// Distance under the index's metric.
    public var distance: Float

    /// Creates a result.
    public init(label: UInt64, distance: Float) {
        self.label = label
        self.distance = distance
    }
}

/// Errors of the HNSW index, with a code and a message a user can act on.
public struct HNSWError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Code: String, Sendable {
        /// A vector or query has the wrong dimension, or a parameter is out of range.
        case invalidArgument
        /// A label is inserted twice.
        case duplicateLabel
        /// The file is not an index file (wrong magic) or is for another format version.
        case incompatibleFile
        /// The file is truncated or its checksum or structure does not match.
        case corruptFile
        /// Reading or writing the file failed.
        case io
        /// Memory for the index could not be allocated.
        case outOfMemory
    }

    /// What went wrong.
    public var code: Code
    /// What happened and what to do.
    public var message: String
    /// The error that caused this one (a file-system error behind `.io`), when there is one.
    public var underlying: (any Error & Sendable)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The message, followed by the underlying error when there is one.
    public var description: String {
        guard let underlying else { return message }
        return "\(message) (\(underlying))"
    }

    /// Errors are equal when their codes and messages are; the underlying cause is not compared.
    public static func == (lhs: HNSWError, rhs: HNSWError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }
}
