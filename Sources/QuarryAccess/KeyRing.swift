import Foundation
import QuarryCore
import QuarryStore
import Synchronization

/// Turns the `Authorization` header of a request into the `Principal` it acts as.
///
/// Keys are read from the store and kept for `cacheLifetime`, so a revoked or rotated-out key
/// stops working on every node within that time, and a request costs no store read in between.
/// Nothing here ever puts a token in a message: errors name the key id at most.
public final class KeyRing: Sendable {
    /// When a request needs a key.
    public enum Mode: String, Sendable {
        /// Never (`--no-auth`): requests without a key act as `Principal.local`.
        case open
        /// Always (a server on a non-loopback address).
        case required
        /// Once any key exists (a server on loopback): until then, local use works as before.
        case whenKeysExist
    }

    /// How requests are checked.
    public let mode: Mode
    private let store: any KeyStore
    private let cacheLifetime: Duration
    private let now: @Sendable () -> Date
    private let cache = Mutex<Cache>(Cache())
    /// Where each authenticated request's key is noted as used; `nil`: not recorded.
    private let uses: KeyUseRecorder?

    private struct Cache {
        var keys: [String: (record: KeyRecord?, fetched: Date)] = [:]
        var keysExist = false
        var keysExistChecked: Date?
        var tenantTiers: (tiers: [String: String], fetched: Date)?
    }

    /// Creates a key ring over `store`.
    /// - Parameters:
    ///   - cacheLifetime: how long a key read from the store is trusted.
    ///   - now: the clock (tests set it).
    ///   - uses: where keys are noted as used (`nil`: their last use is not recorded).
    public init(
        store: any KeyStore, mode: Mode, cacheLifetime: Duration = .seconds(2), now: @escaping @Sendable () -> Date = Date.init,
        uses: KeyUseRecorder? = nil
    ) {
        self.store = store
        self.mode = mode
        self.cacheLifetime = cacheLifetime
        self.now = now
        self.uses = uses
    }

    /// The principal of a request with this `Authorization` header value.
    /// - Throws: `QuarryError(.unauthenticated)` for a missing key where one is needed, and for
    ///   a malformed, unknown, revoked or expired key (always, whatever the mode: a caller who
    ///   sends a key means it); `.storage` when the store cannot be read.
    public func authenticate(authorization: String?) async throws -> Principal {
        guard let authorization else {
            if try await needsKey() {
                throw QuarryError(.unauthenticated, "this server needs an API key: send 'Authorization: Bearer <key>'")
            }
            return .local
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw QuarryError(.unauthenticated, "the Authorization header must be 'Bearer <key>'")
        }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        guard let id = KeySecret.id(of: token), let record = try await key(id: id), KeySecret.matches(token, storedHash: record.hash) else {
            throw QuarryError(.unauthenticated, "the API key is not valid")
        }
        let date = now()
        if record.revokedAt != nil { throw QuarryError(.unauthenticated, "the API key \(id) was revoked") }
        if let expiry = record.expiresAt, date >= expiry { throw QuarryError(.unauthenticated, "the API key \(id) has expired") }
        guard let role = Role(rawValue: record.role) else {
            throw QuarryError(.unauthenticated, "the API key \(id) has an unknown role '\(record.role)'")
        }
        uses?.note(record.id, at: date)
        return Principal(
            tenant: record.tenant, keyID: record.id, role: role, collections: record.collections.map(Set.init),
            principals: Set(record.principals), tier: record.tier, tenantTier: try await tenantTier(of: record.tenant),
            rate: record.rate, burst: record.burst
        )
    }

    /// Whether a request without a key is refused.
    public func needsKey() async throws -> Bool {
        switch mode {
        case .open: return false
        case .required: return true
        case .whenKeysExist:
            let date = now()
            let known = cache.withLock { cache -> Bool? in
                // Keys are revoked, never deleted: once one exists, keys stay needed.
                if cache.keysExist { return true }
                if let checked = cache.keysExistChecked, date.timeIntervalSince(checked) < cacheLifetime.seconds { return false }
                return nil
            }
            if let known { return known }
            let exist = try await store.keyCount() > 0
            cache.withLock { cache in
                cache.keysExist = cache.keysExist || exist
                cache.keysExistChecked = date
            }
            return exist
        }
    }

    /// Forgets what was read from the store (after this process changed a key).
    public func invalidate() {
        cache.withLock { $0 = Cache() }
    }

    /// The tier `tenant` was given, read with every tenant's and kept as keys are.
    private func tenantTier(of tenant: String) async throws -> String? {
        let date = now()
        if let cached = cache.withLock({ $0.tenantTiers }), date.timeIntervalSince(cached.fetched) < cacheLifetime.seconds {
            return cached.tiers[tenant]
        }
        var tiers: [String: String] = [:]
        for record in try await store.tenants() { tiers[record.name] = record.tier }
        cache.withLock { $0.tenantTiers = (tiers, date) }
        return tiers[tenant]
    }

    private func key(id: String) async throws -> KeyRecord? {
        let date = now()
        if let cached = cache.withLock({ $0.keys[id] }), date.timeIntervalSince(cached.fetched) < cacheLifetime.seconds {
            return cached.record
        }
        let record = try await store.key(id: id)
        cache.withLock { cache in
            // Bounded: unknown ids are cached too (so random tokens cost one read each per
            // lifetime), and the whole cache is dropped before it grows past what any real set
            // of keys needs.
            if cache.keys.count >= 10_000 { cache.keys.removeAll(keepingCapacity: true) }
            cache.keys[id] = (record, date)
        }
        return record
    }
}
