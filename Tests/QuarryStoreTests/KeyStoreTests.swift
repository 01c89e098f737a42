import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryStore
import QuarryTestSupport
import Testing

/// Tenants and keys in both stores: what is saved is what is read, by id, by tenant, after a
/// reopen, and saving again replaces.
@Suite struct KeyStoreTests {
    @Test(arguments: StoreBackend.allCases)
    func keysAreSavedReadAndReplaced(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        #expect(try await store.keyCount() == 0)
        let created = Date(timeIntervalSince1970: 1_800_000_000)
        let full = KeyRecord(
            id: "0123456789abcdef", tenant: "acme", role: "writer", hash: String(repeating: "a", count: 64), collections: ["docs", "hr"],
            principals: ["user:ana", "group:legal"], rate: 2.5, burst: 7, tier: "pro", createdAt: created,
            expiresAt: created.addingTimeInterval(86_400), rotatedFrom: "fedcba9876543210"
        )
        let bare = KeyRecord(id: "1111111111111111", tenant: "default", role: "reader", hash: String(repeating: "b", count: 64), createdAt: created.addingTimeInterval(1))
        try await store.saveKeys([full, bare])
        #expect(try await store.keyCount() == 2)
        #expect(try await store.key(id: full.id) == full)
        #expect(try await store.key(id: bare.id) == bare)
        #expect(try await store.key(id: "ffffffffffffffff") == nil)
        #expect(try await store.keys(tenant: "acme") == [full])
        #expect(try await store.keys(tenant: nil).map(\.id) == [bare.id, full.id])

        var revoked = full
        revoked.revokedAt = created.addingTimeInterval(60)
        try await store.saveKeys([revoked])
        #expect(try await store.keyCount() == 2)
        #expect(try await store.key(id: full.id) == revoked)

        await store.close()
        let reopened = try await fixture.open()
        #expect(try await reopened.key(id: full.id) == revoked)
        await reopened.close()
    }

    /// A key's last use only moves forward, whatever order the writes come in (two nodes write
    /// their own); saving the key again (a revocation, a rotation's shorter expiry) keeps it.
    @Test(arguments: StoreBackend.allCases)
    func aKeysLastUseOnlyMovesForward(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        let created = Date(timeIntervalSince1970: 1_800_000_000)
        let key = KeyRecord(id: "0123456789abcdef", tenant: "acme", role: "reader", hash: String(repeating: "a", count: 64), createdAt: created)
        let other = KeyRecord(id: "1111111111111111", tenant: "acme", role: "reader", hash: String(repeating: "b", count: 64), createdAt: created)
        try await store.saveKeys([key, other])
        #expect(try await store.key(id: key.id)?.lastUsedAt == nil)
        try await store.recordKeyUses([key.id: created.addingTimeInterval(50), "ffffffffffffffff": created])
        #expect(try await store.key(id: key.id)?.lastUsedAt == created.addingTimeInterval(50))
        try await store.recordKeyUses([key.id: created.addingTimeInterval(20), other.id: created.addingTimeInterval(5)])
        #expect(try await store.key(id: key.id)?.lastUsedAt == created.addingTimeInterval(50), "an older date from a slower node")
        #expect(try await store.key(id: other.id)?.lastUsedAt == created.addingTimeInterval(5))
        var revoked = key
        revoked.revokedAt = created.addingTimeInterval(60)
        revoked.lastUsedAt = nil
        try await store.saveKeys([revoked])
        let stored = try await store.key(id: key.id)
        #expect(stored?.revokedAt == revoked.revokedAt && stored?.lastUsedAt == created.addingTimeInterval(50))
        #expect(try await store.keys(tenant: "acme").map(\.lastUsedAt) == [created.addingTimeInterval(50), created.addingTimeInterval(5)])
        try await store.recordKeyUses([:])
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func tenantsAreUnique(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        let acme = TenantRecord(name: "acme", tier: "pro", createdAt: Date(timeIntervalSince1970: 1_800_000_000))
        try await store.createTenant(acme)
        try await store.createTenant(TenantRecord(name: "beta", createdAt: Date(timeIntervalSince1970: 1_800_000_001)))
        await #expect(throws: QuarryError.self) { try await store.createTenant(TenantRecord(name: "acme")) }
        #expect(try await store.tenants().map(\.name) == ["acme", "beta"])
        #expect(try await store.tenants().first == acme)
        // A tenant changes tier (or goes back to the default one); an unknown one is not found.
        try await store.setTenantTier("beta", tier: "pro")
        #expect(try await store.tenants().map(\.tier) == ["pro", "pro"])
        try await store.setTenantTier("acme", tier: nil)
        #expect(try await store.tenants().map(\.tier) == [nil, "pro"])
        await #expect(throws: QuarryError.self) { try await store.setTenantTier("gamma", tier: "pro") }
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func tenantCollectionsLiveBesideTheDefaultOnes(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        let model = EmbeddingModelInfo(name: "hashing-test", dimension: 8, fingerprint: "test")
        _ = try await store.ensureCollection(named: "docs", model: model)
        _ = try await store.ensureCollection(named: "acme/docs", model: model)
        #expect(try await store.collections().map(\.name) == ["acme/docs", "docs"])
        await #expect(throws: QuarryError.self) { _ = try await store.ensureCollection(named: "a/b/c", model: model) }
        await #expect(throws: QuarryError.self) { _ = try await store.ensureCollection(named: "/docs", model: model) }
        await store.close()
    }
}
