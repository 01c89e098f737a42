import Foundation
import QuarryCore

/// A tenant as stored: a name that owns collections and keys, and the limits tier it is on.
public struct TenantRecord: Sendable, Hashable, Codable {
    /// The tenant's name (collection-name rules).
    public var name: String
    /// The tier whose limits apply; `nil` for the default limits.
    public var tier: String?
    /// When it was created.
    public var createdAt: Date

    /// Creates a record.
    public init(name: String, tier: String? = nil, createdAt: Date = Date()) {
        self.name = name
        self.tier = tier
        self.createdAt = createdAt
    }
}

/// An API key as stored: everything but its secret, of which only the SHA-256 is kept.
public struct KeyRecord: Sendable, Hashable, Codable {
    /// The key's public id (the middle of its token).
    public var id: String
    /// The tenant it acts in.
    public var tenant: String
    /// Its role's name (`reader`, `writer`, `admin`, `operator`).
    public var role: String
    /// SHA-256 of the token, hex.
    public var hash: String
    /// The collections it is limited to; `nil` for all of its tenant's.
    public var collections: [String]?
    /// Who it speaks for in document permissions (`user:ana`, `group:legal`).
    public var principals: [String]
    /// Requests per second its bucket refills at; `nil` for the tier's.
    public var rate: Double?
    /// Requests its bucket holds; `nil` for the tier's.
    public var burst: Int?
    /// The limits tier; `nil` for its tenant's.
    public var tier: String?
    /// When it was created.
    public var createdAt: Date
    /// When it stops working; `nil` for never.
    public var expiresAt: Date?
    /// When it was revoked; `nil` while it is not.
    public var revokedAt: Date?
    /// The key this one replaced, when it was made by a rotation.
    public var rotatedFrom: String?
    /// When a request last authenticated with it (to within a few seconds: servers write it
    /// together for every key, `recordKeyUses`); `nil` for never. `saveKeys` leaves it alone.
    public var lastUsedAt: Date?

    /// Creates a record.
    public init(
        id: String, tenant: String, role: String, hash: String, collections: [String]? = nil, principals: [String] = [],
        rate: Double? = nil, burst: Int? = nil, tier: String? = nil, createdAt: Date = Date(), expiresAt: Date? = nil,
        revokedAt: Date? = nil, rotatedFrom: String? = nil, lastUsedAt: Date? = nil
    ) {
        self.id = id
        self.tenant = tenant
        self.role = role
        self.hash = hash
        self.collections = collections
        self.principals = principals
        self.rate = rate
        self.burst = burst
        self.tier = tier
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.rotatedFrom = rotatedFrom
        self.lastUsedAt = lastUsedAt
    }

    /// Whether the key works at `date`: not revoked, not expired.
    public func isActive(at date: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { date < $0 } ?? true)
    }
}

/// Where tenants and API keys live: in the store, beside the collections they guard, so every
/// node of a PostgreSQL deployment sees the same keys.
public protocol KeyStore: Sendable {
    /// Adds a tenant.
    /// - Throws: `QuarryError(.conflict)` when it exists.
    func createTenant(_ tenant: TenantRecord) async throws
    /// Every tenant, by name.
    func tenants() async throws -> [TenantRecord]
    /// Moves tenant `name` to limits tier `tier` (`nil`: the default tier).
    /// - Throws: `QuarryError(.notFound)` when there is no such tenant.
    func setTenantTier(_ name: String, tier: String?) async throws
    /// Writes `keys` in one transaction, each added or replacing the stored key of its id (a
    /// rotation saves the new key and the old one's shortened expiry together). A stored key's
    /// `lastUsedAt` is kept, whatever the record says.
    func saveKeys(_ keys: [KeyRecord]) async throws
    /// Records when keys were used, in one transaction: each key's `lastUsedAt` becomes the later
    /// of what it was and the date given (so writes from several nodes, in any order, keep the
    /// latest). Ids of no stored key are ignored.
    func recordKeyUses(_ uses: [String: Date]) async throws
    /// The key with `id`, revoked and expired ones included.
    func key(id: String) async throws -> KeyRecord?
    /// The keys of `tenant` (of every tenant when `nil`), newest first.
    func keys(tenant: String?) async throws -> [KeyRecord]
    /// How many keys exist, revoked and expired ones included: once there is one, the server
    /// asks every request for a key.
    func keyCount() async throws -> Int
}

/// How both backends write the list columns of keys.
enum KeyColumns {
    /// The select list, in the order `KeyRecord`s are read.
    static let select = """
        SELECT id, tenant, role, hash, collections, principals, rate, burst, tier, created_at, expires_at, revoked_at, rotated_from,
            last_used_at
        FROM quarry_keys
        """

    static func encode(_ list: [String]?) -> String? {
        guard let list else { return nil }
        return (try? JSONEncoder().encode(list)).map { String(decoding: $0, as: UTF8.self) }
    }

    static func decode(_ text: String?) -> [String]? {
        guard let text, let data = text.data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode([String].self, from: data)
    }
}
