import Foundation
import QuarryCore

// Conversations, shared by every node that uses the database. An append locks the session's row
// (`SELECT … FOR UPDATE`) before it reads the turn count, so appends to one session from any
// node take turns: the next waits for the commit and then reads the count just written.
extension PostgresChunkStore {
    public func createSession(_ session: SessionRecord) async throws {
        try SessionSQL.validate(session)
        try await pool.withConnection { db in
            let inserted = try db.execute(
                """
                INSERT INTO quarry_sessions (id, tenant, key_id, collection, created_at, updated_at, expires_at, archived_at, turn_count)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) ON CONFLICT (id) DO NOTHING RETURNING id
                """,
                [
                    .text(session.id), .text(session.tenant), session.keyID.map { .text($0) } ?? .null,
                    session.collection.map { .text($0) } ?? .null, .real(session.createdAt.timeIntervalSince1970),
                    .real(session.updatedAt.timeIntervalSince1970), session.expiresAt.map { .real($0.timeIntervalSince1970) } ?? .null,
                    session.archivedAt.map { .real($0.timeIntervalSince1970) } ?? .null,
                ]
            )
            if inserted.count == 0 { throw QuarryError(.conflict, "session '\(session.id)' exists") }
        }
    }

    public func session(id: String, tenant: String) async throws -> SessionRecord? {
        let now = Date()
        return try await pool.withConnection { db in
            let rows = try db.execute(
                SessionSQL.select + " WHERE id = $1 AND tenant = $2 AND " + SessionSQL.live("$3"),
                [.text(id), .text(tenant), .real(now.timeIntervalSince1970)]
            )
            return rows.count == 1 ? Self.readSession(rows, 0) : nil
        }
    }

    public func listSessions(tenant: String, keyID: String?, limit: Int, after: SessionCursor?) async throws -> [SessionRecord] {
        let now = Date()
        return try await pool.withConnection { db in
            var sql = SessionSQL.select + " WHERE tenant = $1 AND " + SessionSQL.live("$2")
            var values: [PostgresValue] = [.text(tenant), .real(now.timeIntervalSince1970)]
            if let keyID {
                values.append(.text(keyID))
                sql += " AND key_id = $\(values.count)"
            }
            if let after {
                // A bare id: its place now.
                var updatedAt = after.updatedAt
                if updatedAt == nil {
                    let cursor = try db.execute("SELECT updated_at FROM quarry_sessions WHERE id = $1 AND tenant = $2", [.text(after.id), .text(tenant)])
                    guard cursor.count == 1, let stored = cursor.double(0, 0) else { throw SessionSQL.missingCursor(after.id) }
                    updatedAt = stored
                }
                values += [.real(updatedAt ?? 0), .text(after.id)]
                sql += " AND (updated_at, id) < ($\(values.count - 1), $\(values.count))"
            }
            values.append(.integer(Int64(max(0, limit))))
            sql += " ORDER BY updated_at DESC, id DESC LIMIT $\(values.count)"
            let rows = try db.execute(sql, values)
            return (0..<rows.count).map { Self.readSession(rows, $0) }
        }
    }

    public func appendTurn(_ turn: SessionTurn, session id: String, tenant: String, expiresAt: Date?) async throws -> SessionTurn {
        let now = Date()
        return try await pool.transaction { db in
            let row = try db.execute(
                "SELECT turn_count, archived_at, expires_at FROM quarry_sessions WHERE id = $1 AND tenant = $2 FOR UPDATE",
                [.text(id), .text(tenant)]
            )
            let found = row.count == 1
            try SessionSQL.checkAppendable(
                id: id, found: found, archivedAt: found ? row.double(0, 1).map(Date.init(timeIntervalSince1970:)) : nil,
                expiresAt: found ? row.double(0, 2).map(Date.init(timeIntervalSince1970:)) : nil, now: now
            )
            guard let count = row.int64(0, 0) else { throw QuarryError(.storage, "session '\(id)' has no turn count") }
            var stored = turn
            stored.seq = Int(count) + 1
            try db.execute(
                "INSERT INTO quarry_session_turns (session_id, seq, at, record) VALUES ($1, $2, $3, $4)",
                [.text(id), .integer(Int64(stored.seq)), .real(stored.at.timeIntervalSince1970), .text(try SessionSQL.encode(stored))]
            )
            try db.execute(
                """
                UPDATE quarry_sessions SET turn_count = $2, updated_at = greatest(updated_at, $3), expires_at = coalesce($4, expires_at)
                WHERE id = $1
                """,
                [
                    .text(id), .integer(Int64(stored.seq)), .real(stored.at.timeIntervalSince1970),
                    expiresAt.map { .real($0.timeIntervalSince1970) } ?? .null,
                ]
            )
            return stored
        }
    }

    public func turns(session id: String, tenant: String, last: Int?) async throws -> [SessionTurn] {
        let now = Date()
        return try await pool.withConnection { db in
            var sql = """
                SELECT t.seq, t.record FROM quarry_session_turns t JOIN quarry_sessions s ON s.id = t.session_id
                WHERE s.id = $1 AND s.tenant = $2 AND \(SessionSQL.live("$3"))
                """
            var values: [PostgresValue] = [.text(id), .text(tenant), .real(now.timeIntervalSince1970)]
            if let last {
                // The last `last` by seq, through the primary key: seqs run 1…turn_count without gaps.
                values.append(.integer(Int64(max(0, last))))
                sql += " AND t.seq > s.turn_count - $4"
            }
            let rows = try db.execute(sql + " ORDER BY t.seq", values)
            return try (0..<rows.count).map { row in
                guard let seq = rows.int64(row, 0), let record = rows.string(row, 1) else {
                    throw QuarryError(.storage, "a turn of session '\(id)' has no seq or record")
                }
                return try SessionSQL.decode(record, seq: Int(seq), session: id)
            }
        }
    }

    public func archiveSession(id: String, tenant: String, at date: Date) async throws -> Bool {
        let now = Date()
        return try await pool.withConnection { db in
            let updated = try db.execute(
                "UPDATE quarry_sessions SET archived_at = coalesce(archived_at, $1) WHERE id = $2 AND tenant = $3 AND "
                    + SessionSQL.live("$4") + " RETURNING id",
                [.real(date.timeIntervalSince1970), .text(id), .text(tenant), .real(now.timeIntervalSince1970)]
            )
            return updated.count == 1
        }
    }

    public func deleteSession(id: String, tenant: String) async throws -> Bool {
        let now = Date()
        return try await pool.withConnection { db in
            // Its turns go with it (ON DELETE CASCADE). An expired session is gone already as far
            // as callers know: removed, but not reported.
            let deleted = try db.execute(
                "DELETE FROM quarry_sessions WHERE id = $1 AND tenant = $2 RETURNING " + SessionSQL.live("$3"),
                [.text(id), .text(tenant), .real(now.timeIntervalSince1970)]
            )
            return deleted.count == 1 && deleted.bool(0, 0) == true
        }
    }

    public func pruneSessions(now: Date, archivedBefore: Date?) async throws -> Int {
        try await pool.withConnection { db in
            // Turns go with their sessions (ON DELETE CASCADE). A NULL bound never compares true:
            // without `archivedBefore`, archived sessions stay.
            let deleted = try db.execute(
                "DELETE FROM quarry_sessions WHERE expires_at <= $1 OR archived_at < $2",
                [.real(now.timeIntervalSince1970), archivedBefore.map { .real($0.timeIntervalSince1970) } ?? .null]
            )
            return deleted.affected ?? 0
        }
    }

    static func readSession(_ rows: PostgresRows, _ row: Int) -> SessionRecord {
        SessionRecord(
            id: rows.string(row, 0) ?? "", tenant: rows.string(row, 1) ?? "", keyID: rows.string(row, 2), collection: rows.string(row, 3),
            createdAt: Date(timeIntervalSince1970: rows.double(row, 4) ?? 0), updatedAt: Date(timeIntervalSince1970: rows.double(row, 5) ?? 0),
            expiresAt: rows.double(row, 6).map(Date.init(timeIntervalSince1970:)),
            archivedAt: rows.double(row, 7).map(Date.init(timeIntervalSince1970:)), turnCount: Int(rows.int64(row, 8) ?? 0)
        )
    }
}
