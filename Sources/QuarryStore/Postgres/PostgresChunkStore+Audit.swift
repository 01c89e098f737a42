import Foundation
import QuarryCore

// The audit log, one chain for every node that uses the database. Appends and prunes take a
// transaction-scoped advisory lock first, so one node at a time reads the last row and links to
// it; the next waits for the commit and then (READ COMMITTED: each statement sees what was
// committed before it began) reads the row just written.
extension PostgresChunkStore {
    /// The advisory lock key that serialises audit appends (the schema migration uses
    /// 7135792205).
    static let auditLockKey: Int64 = 7_135_792_206

    @discardableResult
    public func appendAudit(_ entries: [AuditEntry], link: @escaping AuditLink) async throws -> [AuditRow] {
        guard !entries.isEmpty else { return [] }
        return try await pool.transaction { db in
            try db.execute("SELECT pg_advisory_xact_lock($1)", [.integer(Self.auditLockKey)])
            let rows = AuditSQL.chain(entries, after: try Self.lastAuditLink(db), link: link)
            try Self.insertAudit(rows, into: db)
            return rows
        }
    }

    public func auditRows(since: Date?, tenant: String?, after seq: Int64, limit: Int) async throws -> [AuditRow] {
        try await auditRows(since: since, until: nil, tenant: tenant, after: seq, limit: limit)
    }

    public func auditRows(since: Date?, until: Date?, tenant: String?, after seq: Int64, limit: Int) async throws -> [AuditRow] {
        try await pool.withConnection { db in
            var sql = AuditSQL.select + " WHERE seq > $1"
            var values: [PostgresValue] = [.integer(seq)]
            if let since {
                values.append(.real(since.timeIntervalSince1970))
                sql += " AND at >= $\(values.count)"
            }
            if let until {
                values.append(.real(until.timeIntervalSince1970))
                sql += " AND at < $\(values.count)"
            }
            if let tenant {
                values.append(.text(tenant))
                sql += " AND tenant = $\(values.count)"
            }
            values.append(.integer(Int64(max(0, limit))))
            sql += " ORDER BY seq LIMIT $\(values.count)"
            let rows = try db.execute(sql, values)
            return (0..<rows.count).map { Self.readAudit(rows, $0) }
        }
    }

    public func lastAuditRow() async throws -> AuditRow? {
        try await pool.withConnection { db in
            let rows = try db.execute(AuditSQL.select + " ORDER BY seq DESC LIMIT 1")
            return rows.count == 1 ? Self.readAudit(rows, 0) : nil
        }
    }

    @discardableResult
    public func pruneAudit(
        before: Date, link: @escaping AuditLink, record: @escaping @Sendable (AuditPrune) throws -> AuditEntry
    ) async throws -> AuditPrune? {
        try await pool.transaction { db -> AuditPrune? in
            try db.execute("SELECT pg_advisory_xact_lock($1)", [.integer(Self.auditLockKey)])
            // Everything before the first row young enough to keep, by sequence number.
            let firstKept = try db.execute("SELECT min(seq) FROM quarry_audit WHERE at >= $1", [.real(before.timeIntervalSince1970)])
                .int64(0, 0)
            let throughSeq: Int64
            if let firstKept {
                throughSeq = firstKept - 1
            } else {
                guard let last = try Self.lastAuditLink(db) else { return nil }
                throughSeq = last.seq
            }
            let anchor = try db.execute("SELECT hash FROM quarry_audit WHERE seq = $1", [.integer(throughSeq)])
            guard anchor.count == 1, let anchorHash = anchor.string(0, 0) else { return nil }
            let removed = try db.execute("DELETE FROM quarry_audit WHERE seq <= $1", [.integer(throughSeq)]).affected ?? 0
            let prune = AuditPrune(throughSeq: throughSeq, anchorHash: anchorHash, removed: removed)
            let rows = AuditSQL.chain([try record(prune)], after: try Self.lastAuditLink(db) ?? (throughSeq, anchorHash), link: link)
            try Self.insertAudit(rows, into: db)
            return prune
        }
    }

    /// The last row's sequence number and hash, read under the advisory lock.
    static func lastAuditLink(_ db: PostgresConnection) throws -> (seq: Int64, hash: String)? {
        let rows = try db.execute("SELECT seq, hash FROM quarry_audit ORDER BY seq DESC LIMIT 1")
        guard rows.count == 1, let seq = rows.int64(0, 0), let hash = rows.string(0, 1) else { return nil }
        return (seq, hash)
    }

    /// Inserts `rows`, a few hundred to a statement (one round trip each).
    static func insertAudit(_ rows: [AuditRow], into db: PostgresConnection) throws {
        let columns = 6
        var start = 0
        while start < rows.count {
            let page = rows[start..<min(start + 500, rows.count)]
            let placeholders = (0..<page.count).map { row in
                "(" + (1...columns).map { "$\(row * columns + $0)" }.joined(separator: ", ") + ")"
            }
            let values: [PostgresValue] = page.flatMap { row -> [PostgresValue] in
                [
                    .integer(row.seq), .real(row.at.timeIntervalSince1970), row.tenant.map { .text($0) } ?? .null, .text(row.record),
                    .text(row.previousHash), .text(row.hash),
                ]
            }
            try db.execute(
                "INSERT INTO quarry_audit (seq, at, tenant, record, previous_hash, hash) VALUES " + placeholders.joined(separator: ", "),
                values
            )
            start += page.count
        }
    }

    static func readAudit(_ rows: PostgresRows, _ row: Int) -> AuditRow {
        AuditRow(
            seq: rows.int64(row, 0) ?? 0, at: Date(timeIntervalSince1970: rows.double(row, 1) ?? 0), tenant: rows.string(row, 2),
            record: rows.string(row, 3) ?? "", previousHash: rows.string(row, 4) ?? "", hash: rows.string(row, 5) ?? ""
        )
    }
}

