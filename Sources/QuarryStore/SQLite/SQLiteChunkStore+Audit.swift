import Foundation
import QuarryCore

// The audit log. Appends and prunes run on the writer connection in `BEGIN IMMEDIATE`
// transactions: SQLite has one writer across every process that opens the file, so reading the
// last row and appending after it cannot interleave with another appender.
extension SQLiteChunkStore {
    @discardableResult
    public func appendAudit(_ entries: [AuditEntry], link: @escaping AuditLink) async throws -> [AuditRow] {
        guard !entries.isEmpty else { return [] }
        return try await write { db in
            try db.transaction {
                let rows = AuditSQL.chain(entries, after: try Self.lastAuditLink(db), link: link)
                try Self.insertAudit(rows, into: db)
                return rows
            }
        }
    }

    public func auditRows(since: Date?, tenant: String?, after seq: Int64, limit: Int) async throws -> [AuditRow] {
        try await auditRows(since: since, until: nil, tenant: tenant, after: seq, limit: limit)
    }

    public func auditRows(since: Date?, until: Date?, tenant: String?, after seq: Int64, limit: Int) async throws -> [AuditRow] {
        try await read { db in
            var sql = AuditSQL.select + " WHERE seq > ?"
            var values: [SQLiteStatement.Value] = [.integer(seq)]
            if let since {
                sql += " AND at >= ?"
                values.append(.real(since.timeIntervalSince1970))
            }
            if let until {
                sql += " AND at < ?"
                values.append(.real(until.timeIntervalSince1970))
            }
            if let tenant {
                sql += " AND tenant = ?"
                values.append(.text(tenant))
            }
            sql += " ORDER BY seq LIMIT ?"
            values.append(.integer(Int64(max(0, limit))))
            let statement = try db.prepare(sql).bind(values)
            var rows: [AuditRow] = []
            while try statement.step() { rows.append(Self.readAudit(statement)) }
            return rows
        }
    }

    public func lastAuditRow() async throws -> AuditRow? {
        try await read { db in
            let statement = try db.prepare(AuditSQL.select + " ORDER BY seq DESC LIMIT 1").bind([])
            return try statement.step() ? Self.readAudit(statement) : nil
        }
    }

    @discardableResult
    public func pruneAudit(
        before: Date, link: @escaping AuditLink, record: @escaping @Sendable (AuditPrune) throws -> AuditEntry
    ) async throws -> AuditPrune? {
        try await write { db in
            try db.transaction { () throws -> AuditPrune? in
                // Everything before the first row young enough to keep, by sequence number.
                let kept = try db.prepare("SELECT min(seq) FROM quarry_audit WHERE at >= ?").bind([.real(before.timeIntervalSince1970)])
                let firstKept = try kept.step() ? kept.optionalInt(0).map(Int64.init) : nil
                let throughSeq: Int64
                if let firstKept {
                    throughSeq = firstKept - 1
                } else {
                    guard let last = try Self.lastAuditLink(db) else { return nil }
                    throughSeq = last.seq
                }
                let anchor = try db.prepare("SELECT hash FROM quarry_audit WHERE seq = ?").bind([.integer(throughSeq)])
                guard try anchor.step() else { return nil }
                let anchorHash = anchor.text(0)
                try db.prepare("DELETE FROM quarry_audit WHERE seq <= ?").run([.integer(throughSeq)])
                let prune = AuditPrune(throughSeq: throughSeq, anchorHash: anchorHash, removed: db.changes)
                let rows = AuditSQL.chain([try record(prune)], after: try Self.lastAuditLink(db) ?? (throughSeq, anchorHash), link: link)
                try Self.insertAudit(rows, into: db)
                return prune
            }
        }
    }

    /// The last row's sequence number and hash, read inside the writer's transaction.
    static func lastAuditLink(_ db: SQLiteConnection) throws -> (seq: Int64, hash: String)? {
        let statement = try db.prepare("SELECT seq, hash FROM quarry_audit ORDER BY seq DESC LIMIT 1").bind([])
        return try statement.step() ? (statement.int64(0), statement.text(1)) : nil
    }

    static func insertAudit(_ rows: [AuditRow], into db: SQLiteConnection) throws {
        let insert = try db.prepare(
            "INSERT INTO quarry_audit (seq, at, tenant, record, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?)"
        )
        for row in rows {
            try insert.run([
                .integer(row.seq), .real(row.at.timeIntervalSince1970), row.tenant.map { .text($0) } ?? .null, .text(row.record),
                .text(row.previousHash), .text(row.hash),
            ])
        }
    }

    static func readAudit(_ statement: SQLiteStatement) -> AuditRow {
        AuditRow(
            seq: statement.int64(0), at: Date(timeIntervalSince1970: statement.double(1)), tenant: statement.optionalText(2),
            record: statement.text(3), previousHash: statement.text(4), hash: statement.text(5)
        )
    }
}

