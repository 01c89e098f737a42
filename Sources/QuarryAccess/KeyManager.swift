import Foundation
import QuarryCore
import QuarryStore

/// What a new key may do: everything but its secret, which is made here.
public struct KeySpecification: Sendable, Equatable {
    /// Its role.
    public var role: Role
    /// The collections it is limited to; `nil` for all of its tenant's.
    public var collections: [String]?
    /// Who it speaks for in document permissions.
    public var principals: [String]
    /// Requests per second; `nil` for its tier's.
    public var rate: Double?
    /// Burst; `nil` for its tier's.
    public var burst: Int?
    /// When it stops working; `nil` for never.
    public var expiresAt: Date?
    /// Its limits tier; `nil` for its tenant's.
    public var tier: String?

    /// Creates a specification.
    public init(
        role: Role, collections: [String]? = nil, principals: [String] = [], rate: Double? = nil, burst: Int? = nil,
        expiresAt: Date? = nil, tier: String? = nil
    ) {
        self.role = role
        self.collections = collections
        self.principals = principals
        self.rate = rate
        self.burst = burst
        self.expiresAt = expiresAt
        self.tier = tier
    }
}

/// A key just made: its record and the token, which exists nowhere else and is shown once.
public struct IssuedKey: Sendable {
    /// The stored record (the token's hash, not the token).
    public var record: KeyRecord
    /// The secret to hand to the caller.
    public var token: String
}

/// Creates, lists, revokes and rotates keys and tenants on behalf of a principal, within what
/// that principal may do: an admin manages its own tenant's keys, up to its own role and its own
/// collections; an operator manages every tenant. The command line acts as an operator.
public struct KeyManager: Sendable {
    private let store: any KeyStore
    private let now: @Sendable () -> Date

    /// Creates a manager over `store`; `now` is the clock (tests set it).
    public init(store: any KeyStore, now: @escaping @Sendable () -> Date = Date.init) {
        self.store = store
        self.now = now
    }

    /// The principal the command line acts as.
    public static let commandLine = Principal(tenant: Tenant.default, keyID: nil, role: .operator)

    /// Makes a key for `tenant`.
    /// - Throws: `QuarryError(.forbidden)` beyond the actor's rights, `.notFound` for a tenant
    ///   that does not exist (an operator's tenant is created on the way), `.invalidRequest`
    ///   for a bad specification.
    public func create(_ specification: KeySpecification, tenant: String, by actor: Principal) async throws -> IssuedKey {
        try Tenant.validate(tenant)
        if let tier = specification.tier { try Tenant.validateTier(tier) }
        try actor.require(.administer)
        try check(specification, tenant: tenant, by: actor)
        if tenant != Tenant.default, try await !store.tenants().contains(where: { $0.name == tenant }) {
            guard actor.role == .operator else { throw QuarryError(.notFound, "tenant '\(tenant)' does not exist") }
            do {
                try await store.createTenant(TenantRecord(name: tenant, createdAt: now()))
            } catch let error as QuarryError where error.code == .conflict {
                // Made meanwhile by another request: what was wanted.
            }
        }
        let secret = KeySecret.generate()
        let record = KeyRecord(
            id: secret.id, tenant: tenant, role: specification.role.rawValue, hash: KeySecret.hash(secret.token),
            collections: specification.collections, principals: specification.principals, rate: specification.rate,
            burst: specification.burst, tier: specification.tier, createdAt: now(), expiresAt: specification.expiresAt
        )
        try await store.saveKeys([record])
        return IssuedKey(record: record, token: secret.token)
    }

    /// The keys the actor may see: its tenant's, or `tenant`'s (every tenant's when `nil`) for
    /// an operator.
    public func list(tenant: String?, by actor: Principal) async throws -> [KeyRecord] {
        try actor.require(.administer)
        if actor.role == .operator { return try await store.keys(tenant: tenant) }
        if let tenant, tenant != actor.tenant { throw QuarryError(.notFound, "tenant '\(tenant)' does not exist") }
        return try await store.keys(tenant: actor.tenant)
    }

    /// Revokes the key `id` now. Revoking a revoked key changes nothing.
    /// - Throws: `QuarryError(.notFound)` for a key the actor may not manage.
    @discardableResult
    public func revoke(id: String, by actor: Principal) async throws -> KeyRecord {
        var record = try await managed(id: id, by: actor)
        guard record.revokedAt == nil else { return record }
        record.revokedAt = now()
        try await store.saveKeys([record])
        return record
    }

    /// Replaces the key `id` with a new one of the same rights. The old key keeps working for
    /// `grace` (so clients switch over without downtime), then expires.
    /// - Throws: `QuarryError(.notFound)` for a key the actor may not manage,
    ///   `.invalidRequest` for a revoked or expired one.
    public func rotate(id: String, grace: Duration, by actor: Principal) async throws -> IssuedKey {
        var old = try await managed(id: id, by: actor)
        let date = now()
        guard old.isActive(at: date) else { throw QuarryError(.invalidRequest, "key \(id) is revoked or expired: create a new one") }
        let secret = KeySecret.generate()
        var new = old
        new.id = secret.id
        new.hash = KeySecret.hash(secret.token)
        new.createdAt = date
        new.rotatedFrom = old.id
        let cutoff = date.addingTimeInterval(max(0, Double(grace.components.seconds)))
        old.expiresAt = min(old.expiresAt ?? cutoff, cutoff)
        try await store.saveKeys([old, new])
        return IssuedKey(record: new, token: secret.token)
    }

    /// Adds a tenant (operators only).
    public func createTenant(_ name: String, tier: String?, by actor: Principal) async throws -> TenantRecord {
        try actor.require(.operate)
        try Tenant.validate(name)
        if let tier { try Tenant.validateTier(tier) }
        let record = TenantRecord(name: name, tier: tier, createdAt: now())
        try await store.createTenant(record)
        return record
    }

    /// Moves a tenant to another limits tier (`nil`: the default tier); operators only. Every
    /// node applies it within the key ring's cache lifetime.
    /// - Throws: `QuarryError(.notFound)` for an unknown tenant.
    public func setTenantTier(_ name: String, tier: String?, by actor: Principal) async throws -> TenantRecord {
        try actor.require(.operate)
        try Tenant.validate(name)
        if let tier { try Tenant.validateTier(tier) }
        try await store.setTenantTier(name, tier: tier)
        guard let record = try await store.tenants().first(where: { $0.name == name }) else {
            throw QuarryError(.notFound, "tenant '\(name)' does not exist")
        }
        return record
    }

    /// Every tenant (operators only).
    public func tenants(by actor: Principal) async throws -> [TenantRecord] {
        try actor.require(.operate)
        return try await store.tenants()
    }

    private func managed(id: String, by actor: Principal) async throws -> KeyRecord {
        try actor.require(.administer)
        guard let record = try await store.key(id: id), actor.role == .operator || record.tenant == actor.tenant else {
            throw QuarryError(.notFound, "key \(id) does not exist")
        }
        if actor.role != .operator, let role = Role(rawValue: record.role), role > actor.role {
            throw QuarryError(.forbidden, "key \(id) has more rights than this key")
        }
        return record
    }

    private func check(_ specification: KeySpecification, tenant: String, by actor: Principal) throws {
        if actor.role != .operator {
            guard tenant == actor.tenant else { throw QuarryError(.notFound, "tenant '\(tenant)' does not exist") }
            guard specification.role <= actor.role else {
                throw QuarryError(.forbidden, "a key may not make a key with more rights than its own ('\(actor.role.rawValue)')")
            }
            if let limit = actor.collections {
                guard let wanted = specification.collections, Set(wanted).isSubset(of: limit) else {
                    throw QuarryError(.forbidden, "this key is limited to some collections; a key it makes must be limited to them too")
                }
            }
        }
        for collection in specification.collections ?? [] { try CollectionName.validate(collection) }
        _ = try AccessList.checked(specification.principals)
        if let rate = specification.rate, !(rate > 0) { throw QuarryError(.invalidRequest, "the rate must be above 0") }
        if let burst = specification.burst, burst < 1 { throw QuarryError(.invalidRequest, "the burst must be at least 1") }
        if let expiry = specification.expiresAt, expiry <= now() { throw QuarryError(.invalidRequest, "the expiry must be in the future") }
    }
}
