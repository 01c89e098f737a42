import Foundation
import QuarryCore

// Conversations: changes on the writer connection, each in a `BEGIN IMMEDIATE` transaction
// (SQLite has one writer across every process that opens the file, so an append reads the
// turn count and writes the next turn without another append in between); lookups on a reader.
extension SQLiteChunkStore {
    public func createSession(_ session: SessionRecord) async throws {
        try SessionSQL.validate(session)
        try await write { db in
            try db.prepare(
                """
                INSERT INTO quarry_sessions (id, tenant, key_id, collection, created_at, updated_at, expires_at, archived_at, turn_count)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (id) DO NOTHING
                """
            ).run([
                .text(session.id), .text(session.tenant), session.keyID.map { .text($0) } ?? .null,
                session.collection.map { .text($0) } ?? .null, .real(session.createdAt.timeIntervalSince1970),
                .real(session.updatedAt.timeIntervalSince1970), session.expiresAt.map { .real($0.timeIntervalSince1970) } ?? .null,
                session.archivedAt.map { .real($0.timeIntervalSince1970) } ?? .null,
            ])
            if db.changes == 0 { throw QuarryError(.conflict, "session '\(session.id)' exists") }
        }
    }

    public func session(id: String, tenant: String) async throws -> SessionRecord? {
        let now = Date()
        return try await read { db in
            let statement = try db.prepare(SessionSQL.select + " WHERE id = ? AND tenant = ? AND " + SessionSQL.live("?"))
                .bind([.text(id), .text(tenant), .real(now.timeIntervalSince1970)])
            return try statement.step() ? Self.readSession(statement) : nil
        }
    }

    public func listSessions(tenant: String, keyID: String?, limit: Int, after: SessionCursor?) async throws -> [SessionRecord] {
        let now = Date()
        return try await read { db in
            try db.readTransaction {
                var sql = SessionSQL.select + " WHERE tenant = ? AND " + SessionSQL.live("?")
                var values: [SQLiteStatement.Value] = [.text(tenant), .real(now.timeIntervalSince1970)]
                if let keyID {
                    sql += " AND key_id = ?"
                    values.append(.text(keyID))
                }
                if let after {
                    // A bare id: its place now, read in the same snapshot as the page.
                    var updatedAt = after.updatedAt
                    if updatedAt == nil {
                        let cursor = try db.prepare("SELECT updated_at FROM quarry_sessions WHERE id = ? AND tenant = ?")
                            .bind([.text(after.id), .text(tenant)])
                        guard try cursor.step() else { throw SessionSQL.missingCursor(after.id) }
                        updatedAt = cursor.double(0)
                    }
                    sql += " AND (updated_at < ? OR (updated_at = ? AND id < ?))"
                    values += [.real(updatedAt ?? 0), .real(updatedAt ?? 0), .text(after.id)]
                }
                sql += " ORDER BY updated_at DESC, id DESC LIMIT ?"
                values.append(.integer(Int64(max(0, limit))))
                let statement = try db.prepare(sql).bind(values)
                var sessions: [SessionRecord] = []
                while try statement.step() { sessions.append(Self.readSession(statement)) }
                return sessions
            }
        }
    }

    public func appendTurn(_ turn: SessionTurn, session id: String, tenant: String, expiresAt: Date?) async throws -> SessionTurn {
        let now = Date()
        return try await write { db in
            try db.transaction {
                let row = try db.prepare("SELECT turn_count, archived_at, expires_at FROM quarry_sessions WHERE id = ? AND tenant = ?")
                    .bind([.text(id), .text(tenant)])
                let found = try row.step()
                try SessionSQL.checkAppendable(
                    id: id, found: found, archivedAt: found ? row.optionalDouble(1).map(Date.init(timeIntervalSince1970:)) : nil,
                    expiresAt: found ? row.optionalDouble(2).map(Date.init(timeIntervalSince1970:)) : nil, now: now
                )
                var stored = turn
                stored.seq = row.int(0) + 1
                try db.prepare("INSERT INTO quarry_session_turns (session_id, seq, at, record) VALUES (?, ?, ?, ?)").run([
                    .text(id), .integer(Int64(stored.seq)), .real(stored.at.timeIntervalSince1970), .text(try SessionSQL.encode(stored)),
                ])
                try db.prepare(
                    """
                    UPDATE quarry_sessions SET turn_count = ?, updated_at = max(updated_at, ?), expires_at = coalesce(?, expires_at)
                    WHERE id = ?
                    """
                ).run([
                    .integer(Int64(stored.seq)), .real(stored.at.timeIntervalSince1970),
                    expiresAt.map { .real($0.timeIntervalSince1970) } ?? .null, .text(id),
                ])
                return stored
            }
        }
    }

    public func turns(session id: String, tenant: String, last: Int?) async throws -> [SessionTurn] {
        let now = Date()
        return try await read { db in
            var sql = """
                SELECT t.seq, t.record FROM quarry_session_turns t JOIN quarry_sessions s ON s.id = t.session_id
                WHERE s.id = ? AND s.tenant = ? AND \(SessionSQL.live("?"))
                """
            var values: [SQLiteStatement.Value] = [.text(id), .text(tenant), .real(now.timeIntervalSince1970)]
            if let last {
                // The last `last` by seq, through the primary key: seqs run 1…turn_count without gaps.
                sql += " AND t.seq > s.turn_count - ?"
                values.append(.integer(Int64(max(0, last))))
            }
            let statement = try db.prepare(sql + " ORDER BY t.seq").bind(values)
            var turns: [SessionTurn] = []
            while try statement.step() { turns.append(try SessionSQL.decode(statement.text(1), seq: statement.int(0), session: id)) }
            return turns
        }
    }

    public func archiveSession(id: String, tenant: String, at date: Date) async throws -> Bool {
        let now = Date()
        return try await write { db in
            try db.prepare(
                "UPDATE quarry_sessions SET archived_at = coalesce(archived_at, ?) WHERE id = ? AND tenant = ? AND " + SessionSQL.live("?")
            ).run([.real(date.timeIntervalSince1970), .text(id), .text(tenant), .real(now.timeIntervalSince1970)])
            return db.changes == 1
        }
    }

    public func deleteSession(id: String, tenant: String) async throws -> Bool {
        let now = Date()
        return try await write { db in
            try db.transaction {
                // An expired session is gone already as far as callers know: removed, but not reported.
                let row = try db.prepare("SELECT expires_at FROM quarry_sessions WHERE id = ? AND tenant = ?").bind([.text(id), .text(tenant)])
                guard try row.step() else { return false }
                let live = row.optionalDouble(0).map { $0 > now.timeIntervalSince1970 } ?? true
                try db.prepare("DELETE FROM quarry_session_turns WHERE session_id = ?").run([.text(id)])
                try db.prepare("DELETE FROM quarry_sessions WHERE id = ?").run([.text(id)])
                return live
            }
        }
    }

    public func pruneSessions(now: Date, archivedBefore: Date?) async throws -> Int {
        try await write { db in
            try db.transaction {
                let condition = "expires_at <= ? OR archived_at < ?"
                // A NULL bound never compares true: without `archivedBefore`, archived sessions stay.
                let values: [SQLiteStatement.Value] = [
                    .real(now.timeIntervalSince1970), archivedBefore.map { .real($0.timeIntervalSince1970) } ?? .null,
                ]
                try db.prepare("DELETE FROM quarry_session_turns WHERE session_id IN (SELECT id FROM quarry_sessions WHERE \(condition))")
                    .run(values)
                try db.prepare("DELETE FROM quarry_sessions WHERE \(condition)").run(values)
                return db.changes
            }
        }
    }

    static func readSession(_ statement: SQLiteStatement) -> SessionRecord {
        SessionRecord(
            id: statement.text(0), tenant: statement.text(1), keyID: statement.optionalText(2), collection: statement.optionalText(3),
            createdAt: Date(timeIntervalSince1970: statement.double(4)), updatedAt: Date(timeIntervalSince1970: statement.double(5)),
            expiresAt: statement.optionalDouble(6).map(Date.init(timeIntervalSince1970:)),
            archivedAt: statement.optionalDouble(7).map(Date.init(timeIntervalSince1970:)), turnCount: statement.int(8)
        )
    }
}
