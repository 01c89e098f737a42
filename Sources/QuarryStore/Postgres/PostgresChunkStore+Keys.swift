import Foundation
import QuarryCore

// Tenants and API keys, shared by every node that uses the database.
extension PostgresChunkStore {
    public func createTenant(_ tenant: TenantRecord) async throws {
        try await pool.withConnection { db in
            let inserted = try db.execute(
                "INSERT INTO quarry_tenants (name, tier, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING name",
                [.text(tenant.name), tenant.tier.map { .text($0) } ?? .null, .real(tenant.createdAt.timeIntervalSince1970)]
            )
            if inserted.count == 0 { throw QuarryError(.conflict, "tenant '\(tenant.name)' exists") }
        }
    }

    public func setTenantTier(_ name: String, tier: String?) async throws {
        try await pool.withConnection { db in
            let updated = try db.execute(
                "UPDATE quarry_tenants SET tier = $2 WHERE name = $1 RETURNING name", [.text(name), tier.map { .text($0) } ?? .null]
            )
            if updated.count == 0 { throw QuarryError(.notFound, "tenant '\(name)' does not exist") }
        }
    }

    public func tenants() async throws -> [TenantRecord] {
        try await pool.withConnection { db in
            let rows = try db.execute("SELECT name, tier, created_at FROM quarry_tenants ORDER BY name")
            return (0..<rows.count).map { row in
                TenantRecord(
                    name: rows.string(row, 0) ?? "", tier: rows.string(row, 1),
                    createdAt: Date(timeIntervalSince1970: rows.double(row, 2) ?? 0)
                )
            }
        }
    }

    public func saveKeys(_ keys: [KeyRecord]) async throws {
        try await pool.transaction { db in
            for key in keys {
                try db.execute(
                    """
                    INSERT INTO quarry_keys
                        (id, tenant, role, hash, collections, principals, rate, burst, tier, created_at, expires_at, revoked_at, rotated_from)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                    ON CONFLICT (id) DO UPDATE SET
                        tenant = excluded.tenant, role = excluded.role, hash = excluded.hash, collections = excluded.collections,
                        principals = excluded.principals, rate = excluded.rate, burst = excluded.burst, tier = excluded.tier,
                        created_at = excluded.created_at, expires_at = excluded.expires_at, revoked_at = excluded.revoked_at,
                        rotated_from = excluded.rotated_from
                    """,
                    [
                        .text(key.id), .text(key.tenant), .text(key.role), .text(key.hash),
                        KeyColumns.encode(key.collections).map { .text($0) } ?? .null, .text(KeyColumns.encode(key.principals) ?? "[]"),
                        key.rate.map { .real($0) } ?? .null, key.burst.map { .integer(Int64($0)) } ?? .null,
                        key.tier.map { .text($0) } ?? .null, .real(key.createdAt.timeIntervalSince1970),
                        key.expiresAt.map { .real($0.timeIntervalSince1970) } ?? .null,
                        key.revokedAt.map { .real($0.timeIntervalSince1970) } ?? .null, key.rotatedFrom.map { .text($0) } ?? .null,
                    ]
                )
            }
        }
    }

    public func recordKeyUses(_ uses: [String: Date]) async throws {
        guard !uses.isEmpty else { return }
        try await pool.transaction { db in
            // In id order, so that two nodes writing the same keys lock them in the same order.
            for (id, date) in uses.sorted(by: { $0.key < $1.key }) {
                try db.execute(
                    "UPDATE quarry_keys SET last_used_at = GREATEST(coalesce(last_used_at, 0), $1) WHERE id = $2",
                    [.real(date.timeIntervalSince1970), .text(id)]
                )
            }
        }
    }

    public func key(id: String) async throws -> KeyRecord? {
        try await pool.withConnection { db in
            let rows = try db.execute(KeyColumns.select + " WHERE id = $1", [.text(id)])
            return rows.count == 1 ? Self.readKey(rows, 0) : nil
        }
    }

    public func keys(tenant: String?) async throws -> [KeyRecord] {
        try await pool.withConnection { db in
            let rows = try tenant.map {
                try db.execute(KeyColumns.select + " WHERE tenant = $1 ORDER BY created_at DESC, id", [.text($0)])
            } ?? db.execute(KeyColumns.select + " ORDER BY created_at DESC, id")
            return (0..<rows.count).map { Self.readKey(rows, $0) }
        }
    }

    public func keyCount() async throws -> Int {
        try await pool.withConnection { db in Int(try db.execute("SELECT count(*) FROM quarry_keys").int64(0, 0) ?? 0) }
    }

    static func readKey(_ rows: PostgresRows, _ row: Int) -> KeyRecord {
        KeyRecord(
            id: rows.string(row, 0) ?? "", tenant: rows.string(row, 1) ?? "", role: rows.string(row, 2) ?? "",
            hash: rows.string(row, 3) ?? "", collections: KeyColumns.decode(rows.string(row, 4)),
            principals: KeyColumns.decode(rows.string(row, 5)) ?? [], rate: rows.double(row, 6), burst: rows.int64(row, 7).map(Int.init),
            tier: rows.string(row, 8), createdAt: Date(timeIntervalSince1970: rows.double(row, 9) ?? 0),
            expiresAt: rows.double(row, 10).map(Date.init(timeIntervalSince1970:)),
            revokedAt: rows.double(row, 11).map(Date.init(timeIntervalSince1970:)), rotatedFrom: rows.string(row, 12),
            lastUsedAt: rows.double(row, 13).map(Date.init(timeIntervalSince1970:))
        )
    }
}
