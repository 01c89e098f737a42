import Foundation
import QuarryCore

// Tenants and API keys, on the writer connection for changes and a reader for lookups.
extension SQLiteChunkStore {
    public func createTenant(_ tenant: TenantRecord) async throws {
        try await write { db in
            try db.transaction {
                let existing = try db.prepare("SELECT 1 FROM quarry_tenants WHERE name = ?").bind([.text(tenant.name)])
                if try existing.step() { throw QuarryError(.conflict, "tenant '\(tenant.name)' exists") }
                try db.prepare("INSERT INTO quarry_tenants (name, tier, created_at) VALUES (?, ?, ?)").run([
                    .text(tenant.name), tenant.tier.map { .text($0) } ?? .null, .real(tenant.createdAt.timeIntervalSince1970),
                ])
            }
        }
    }

    public func setTenantTier(_ name: String, tier: String?) async throws {
        try await write { db in
            try db.transaction {
                let existing = try db.prepare("SELECT 1 FROM quarry_tenants WHERE name = ?").bind([.text(name)])
                guard try existing.step() else { throw QuarryError(.notFound, "tenant '\(name)' does not exist") }
                try db.prepare("UPDATE quarry_tenants SET tier = ? WHERE name = ?").run([tier.map { .text($0) } ?? .null, .text(name)])
            }
        }
    }

    public func tenants() async throws -> [TenantRecord] {
        try await read { db in
            let statement = try db.prepare("SELECT name, tier, created_at FROM quarry_tenants ORDER BY name").bind([])
            var tenants: [TenantRecord] = []
            while try statement.step() {
                tenants.append(
                    TenantRecord(
                        name: statement.text(0), tier: statement.optionalText(1), createdAt: Date(timeIntervalSince1970: statement.double(2))
                    )
                )
            }
            return tenants
        }
    }

    public func saveKeys(_ keys: [KeyRecord]) async throws {
        try await write { db in
            try db.transaction {
                let statement = try db.prepare(
                    """
                    INSERT INTO quarry_keys
                        (id, tenant, role, hash, collections, principals, rate, burst, tier, created_at, expires_at, revoked_at, rotated_from)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET
                        tenant = excluded.tenant, role = excluded.role, hash = excluded.hash, collections = excluded.collections,
                        principals = excluded.principals, rate = excluded.rate, burst = excluded.burst, tier = excluded.tier,
                        created_at = excluded.created_at, expires_at = excluded.expires_at, revoked_at = excluded.revoked_at,
                        rotated_from = excluded.rotated_from
                    """
                )
                for key in keys {
                    try statement.run([
                        .text(key.id), .text(key.tenant), .text(key.role), .text(key.hash),
                        KeyColumns.encode(key.collections).map { .text($0) } ?? .null, .text(KeyColumns.encode(key.principals) ?? "[]"),
                        key.rate.map { .real($0) } ?? .null, key.burst.map { .integer(Int64($0)) } ?? .null,
                        key.tier.map { .text($0) } ?? .null, .real(key.createdAt.timeIntervalSince1970),
                        key.expiresAt.map { .real($0.timeIntervalSince1970) } ?? .null,
                        key.revokedAt.map { .real($0.timeIntervalSince1970) } ?? .null, key.rotatedFrom.map { .text($0) } ?? .null,
                    ])
                }
            }
        }
    }

    public func recordKeyUses(_ uses: [String: Date]) async throws {
        guard !uses.isEmpty else { return }
        try await write { db in
            try db.transaction {
                let statement = try db.prepare("UPDATE quarry_keys SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?")
                for (id, date) in uses.sorted(by: { $0.key < $1.key }) {
                    try statement.run([.real(date.timeIntervalSince1970), .text(id)])
                }
            }
        }
    }

    public func key(id: String) async throws -> KeyRecord? {
        try await read { db in
            let statement = try db.prepare(KeyColumns.select + " WHERE id = ?").bind([.text(id)])
            return try statement.step() ? Self.readKey(statement) : nil
        }
    }

    public func keys(tenant: String?) async throws -> [KeyRecord] {
        try await read { db in
            let statement = try tenant.map {
                try db.prepare(KeyColumns.select + " WHERE tenant = ? ORDER BY created_at DESC, id").bind([.text($0)])
            } ?? db.prepare(KeyColumns.select + " ORDER BY created_at DESC, id").bind([])
            var keys: [KeyRecord] = []
            while try statement.step() { keys.append(Self.readKey(statement)) }
            return keys
        }
    }

    public func keyCount() async throws -> Int {
        try await read { db in
            let statement = try db.prepare("SELECT count(*) FROM quarry_keys").bind([])
            return try statement.step() ? statement.int(0) : 0
        }
    }

    static func readKey(_ statement: SQLiteStatement) -> KeyRecord {
        KeyRecord(
            id: statement.text(0), tenant: statement.text(1), role: statement.text(2), hash: statement.text(3),
            collections: KeyColumns.decode(statement.optionalText(4)), principals: KeyColumns.decode(statement.optionalText(5)) ?? [],
            rate: statement.optionalDouble(6), burst: statement.optionalInt(7), tier: statement.optionalText(8),
            createdAt: Date(timeIntervalSince1970: statement.double(9)),
            expiresAt: statement.optionalDouble(10).map(Date.init(timeIntervalSince1970:)),
            revokedAt: statement.optionalDouble(11).map(Date.init(timeIntervalSince1970:)), rotatedFrom: statement.optionalText(12),
            lastUsedAt: statement.optionalDouble(13).map(Date.init(timeIntervalSince1970:))
        )
    }
}
