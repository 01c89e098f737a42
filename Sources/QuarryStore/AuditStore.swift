import Foundation

/// One audit record on its way into the log: its canonical text and the two columns the log is
/// searched by. The store gives it a sequence number and its place in the hash chain.
public struct AuditEntry: Sendable, Hashable {
    /// When the audited event happened (the `at` column: export and retention select by it).
    public var at: Date
    /// The tenant it belongs to (the `tenant` column); `nil` for server-wide events.
    public var tenant: String?
    /// The record's canonical encoding, hashed into the chain byte for byte.
    public var record: String

    /// Creates an entry.
    public init(at: Date, tenant: String?, record: String) {
        self.at = at
        self.tenant = tenant
        self.record = record
    }
}

/// A stored audit row: an entry, its sequence number, and the hash that links it to the row
/// before.
public struct AuditRow: Sendable, Hashable {
    /// Its position in the log: 1, 2, 3, … with no gaps, pruning aside.
    public var seq: Int64
    /// The `at` column.
    public var at: Date
    /// The `tenant` column.
    public var tenant: String?
    /// The canonical record.
    public var record: String
    /// The hash of the row before (`AuditChain.genesisHash` for the first row ever written).
    public var previousHash: String
    /// `link(previousHash, record)`.
    public var hash: String

    /// Creates a row.
    public init(seq: Int64, at: Date, tenant: String?, record: String, previousHash: String, hash: String) {
        self.seq = seq
        self.at = at
        self.tenant = tenant
        self.record = record
        self.previousHash = previousHash
        self.hash = hash
    }
}

extension AuditRow {
    /// The row as `quarry audit export` writes it and `GET /audit` lists it:
    /// `{"seq":…,"previous_hash":"…","hash":"…","record":{…}}`. The record goes in verbatim when
    /// it is a JSON object, so the exported bytes are the hashed bytes and a line can be checked
    /// with any SHA-256 tool; a record that is not (a damaged row) goes in as a string.
    public var exportJSON: String {
        let isObject = (try? JSONSerialization.jsonObject(with: Data(record.utf8))) is [String: Any]
        return "{\"seq\":\(seq),\"previous_hash\":\(Self.quoted(previousHash)),\"hash\":\(Self.quoted(hash)),"
            + "\"record\":\(isObject ? record : Self.quoted(record))}"
    }

    private static func quoted(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }
}

/// What a prune removed: every row through `throughSeq`, the last of which had the hash
/// `anchorHash` (the `previousHash` of the first row left).
public struct AuditPrune: Sendable, Hashable {
    /// The last sequence number removed.
    public var throughSeq: Int64
    /// The hash of that row: the anchor a verifier starts from.
    public var anchorHash: String
    /// How many rows were removed.
    public var removed: Int

    /// Creates a description of a prune.
    public init(throughSeq: Int64, anchorHash: String, removed: Int) {
        self.throughSeq = throughSeq
        self.anchorHash = anchorHash
        self.removed = removed
    }
}

/// Computes a row's hash from the hash of the row before and the row's canonical record. The
/// store takes it as a parameter because it cannot see the digest (`QuarryAccess` provides
/// `AuditHash.link`, SHA-256); writer and verifier must be given the same function.
public typealias AuditLink = @Sendable (_ previousHash: String, _ record: String) -> String

/// The append-only, hash-chained audit log, beside the data it describes so every node of a
/// PostgreSQL deployment writes into one chain.
///
/// Appends are serialised across processes and nodes (SQLite's single writer; a PostgreSQL
/// advisory lock), so the chain never forks: each append reads the last row and links to it in
/// the same transaction.
public protocol AuditStore: Sendable {
    /// Appends `entries` in order, in one transaction: reads the last row's sequence number and
    /// hash, gives the entries the next numbers and chains each to the one before with `link`.
    /// - Returns: the rows as written.
    /// - Throws: `QuarryError.storage` when the store fails; nothing is written then.
    @discardableResult
    func appendAudit(_ entries: [AuditEntry], link: @escaping AuditLink) async throws -> [AuditRow]

    /// Rows in sequence order, after `seq`, at most `limit` of them: a page of an export or of a
    /// verification.
    /// - Parameters:
    ///   - since: only rows whose `at` is at or after this; `nil` for all.
    ///   - tenant: only rows of this tenant; `nil` for every row, server-wide ones included.
    ///   - seq: the last sequence number of the page before (0 to start).
    ///   - limit: the page size.
    func auditRows(since: Date?, tenant: String?, after seq: Int64, limit: Int) async throws -> [AuditRow]

    /// Rows in sequence order, after `seq`, at most `limit` of them, whose `at` is at or after
    /// `since` and before `until`: a page of an export over a window of time (`GET /audit`).
    /// Rows are selected by their `at` column but paged by `seq`, so a node whose clock ran
    /// ahead or behind never makes a page skip a row.
    /// - Parameters:
    ///   - since: only rows whose `at` is at or after this; `nil` for no lower bound.
    ///   - until: only rows whose `at` is before this; `nil` for no upper bound.
    ///   - tenant: only rows of this tenant; `nil` for every row, server-wide ones included.
    ///   - seq: the last sequence number of the page before (0 to start).
    ///   - limit: the page size.
    func auditRows(since: Date?, until: Date?, tenant: String?, after seq: Int64, limit: Int) async throws -> [AuditRow]

    /// The last row written, to export as an anchor; `nil` for an empty log.
    func lastAuditRow() async throws -> AuditRow?

    /// Removes the oldest rows, those before the first row whose `at` is at or after `before`
    /// (rows are removed by sequence number, so a clock that went backwards never punches a hole
    /// into the chain), and appends the entry `record` makes of the prune in the same
    /// transaction, so that a verifier can tell a prune from a deletion.
    /// - Parameters:
    ///   - link: the chain function, as for `appendAudit`.
    ///   - record: the entry that records the prune.
    /// - Returns: what was removed; `nil` (and nothing written) when no row is that old.
    @discardableResult
    func pruneAudit(
        before: Date, link: @escaping AuditLink, record: @escaping @Sendable (AuditPrune) throws -> AuditEntry
    ) async throws -> AuditPrune?
}

extension AuditStore {
    /// The window query for a store that implements only `auditRows(since:tenant:after:limit:)`
    /// (a wrapper in a test): pages through that listing and leaves out rows from `until` on.
    /// Both backends answer it in one SQL statement instead.
    public func auditRows(since: Date?, until: Date?, tenant: String?, after seq: Int64, limit: Int) async throws -> [AuditRow] {
        guard let until else { return try await auditRows(since: since, tenant: tenant, after: seq, limit: limit) }
        let pageSize = max(limit, 256)
        var rows: [AuditRow] = []
        var after = seq
        while rows.count < limit {
            let page = try await auditRows(since: since, tenant: tenant, after: after, limit: pageSize)
            rows += page.filter { $0.at < until }.prefix(limit - rows.count)
            guard page.count == pageSize, let last = page.last else { break }
            after = last.seq
        }
        return rows
    }
}

/// The SQL both backends share.
enum AuditSQL {
    /// The select list, in the order `AuditRow`s are read.
    static let select = "SELECT seq, at, tenant, record, previous_hash, hash FROM quarry_audit"

    /// Gives `entries` the sequence numbers after `last` and chains them to it.
    static func chain(_ entries: [AuditEntry], after last: (seq: Int64, hash: String)?, link: AuditLink) -> [AuditRow] {
        var seq = last?.seq ?? 0
        var previous = last?.hash ?? AuditChain.genesisHash
        return entries.map { entry in
            seq += 1
            let hash = link(previous, entry.record)
            defer { previous = hash }
            return AuditRow(seq: seq, at: entry.at, tenant: entry.tenant, record: entry.record, previousHash: previous, hash: hash)
        }
    }
}
