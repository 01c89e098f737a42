import Foundation
import QuarryAccess
import QuarryCore
import QuarryStore
import QuarryTestSupport
import Synchronization
import Testing

/// A clock the tests move by hand.
final class TestClock: Sendable {
    private let date = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    var now: Date { date.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { date.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// Keys from creation to rejection: who may make which key, what a token authenticates as, and
/// when revoked, expired and rotated keys stop working.
@Suite struct KeyRingTests {
    func store() throws -> (SQLiteChunkStore, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        return (try SQLiteChunkStore(directory: directory.url.appendingPathComponent("store")), directory)
    }

    @Test func aTokenAuthenticatesAsItsKey() async throws {
        let (store, directory) = try store()
        defer { directory.cleanUp() }
        let clock = TestClock()
        let manager = KeyManager(store: store, now: { clock.now })
        let issued = try await manager.create(
            KeySpecification(role: .writer, collections: ["docs"], principals: ["user:ana"], tier: "pro"), tenant: "acme",
            by: KeyManager.commandLine
        )
        let ring = KeyRing(store: store, mode: .required, now: { clock.now })
        let principal = try await ring.authenticate(authorization: "Bearer \(issued.token)")
        #expect(principal == Principal(tenant: "acme", keyID: issued.record.id, role: .writer, collections: ["docs"], principals: ["user:ana"], tier: "pro"))
        #expect(try await ring.authenticate(authorization: "bearer  \(issued.token)") == principal)
        #expect(try await store.tenants().map(\.name) == ["acme"])
        #expect(try await store.key(id: issued.record.id)?.hash == KeySecret.hash(issued.token))
    }

    @Test func missingMalformedAndUnknownKeysAreRefused() async throws {
        let (store, directory) = try store()
        defer { directory.cleanUp() }
        let issued = try await KeyManager(store: store).create(KeySpecification(role: .reader), tenant: "default", by: KeyManager.commandLine)
        let ring = KeyRing(store: store, mode: .required)
        let forged = String(issued.token.dropLast()) + (issued.token.hasSuffix("A") ? "B" : "A")
        for header in [nil, "", "Basic abc", "Bearer", "Bearer nonsense", "Bearer \(forged)", "Bearer \(KeySecret.generate().token)"] {
            do {
                _ = try await ring.authenticate(authorization: header)
                Issue.record("\(header ?? "nil") was accepted")
            } catch let error as QuarryError {
                #expect(error.code == .unauthenticated)
                #expect(!error.message.contains(issued.token) && !error.message.contains(forged))
            }
        }
    }

    @Test func modesDecideWhetherAKeyIsNeeded() async throws {
        let (store, directory) = try store()
        defer { directory.cleanUp() }
        let clock = TestClock()
        let open = KeyRing(store: store, mode: .open)
        let automatic = KeyRing(store: store, mode: .whenKeysExist, now: { clock.now })
        #expect(try await open.authenticate(authorization: nil) == .local)
        #expect(try await automatic.authenticate(authorization: nil) == .local)
        await #expect(throws: QuarryError.self) { try await KeyRing(store: store, mode: .required).authenticate(authorization: nil) }

        let issued = try await KeyManager(store: store).create(KeySpecification(role: .reader), tenant: "default", by: KeyManager.commandLine)
        // The first key is seen once the cached "no keys" has aged.
        clock.advance(3)
        await #expect(throws: QuarryError.self) { try await automatic.authenticate(authorization: nil) }
        #expect(try await automatic.authenticate(authorization: "Bearer \(issued.token)").role == .reader)
        #expect(try await open.authenticate(authorization: nil) == .local)
        // A key sent to an open server is still checked.
        await #expect(throws: QuarryError.self) { try await open.authenticate(authorization: "Bearer \(KeySecret.generate().token)") }
    }

    @Test func revokedAndExpiredKeysStopWorking() async throws {
        let (store, directory) = try store()
        defer { directory.cleanUp() }
        let clock = TestClock()
        let manager = KeyManager(store: store, now: { clock.now })
        let ring = KeyRing(store: store, mode: .required, cacheLifetime: .seconds(2), now: { clock.now })
        let revoked = try await manager.create(KeySpecification(role: .reader), tenant: "default", by: KeyManager.commandLine)
        let expiring = try await manager.create(
            KeySpecification(role: .reader, expiresAt: clock.now.addingTimeInterval(60)), tenant: "default", by: KeyManager.commandLine
        )
        _ = try await ring.authenticate(authorization: "Bearer \(revoked.token)")
        _ = try await ring.authenticate(authorization: "Bearer \(expiring.token)")

        try await manager.revoke(id: revoked.record.id, by: KeyManager.commandLine)
        // Another node's ring trusts what it read for the cache lifetime, then reads again.
        _ = try await ring.authenticate(authorization: "Bearer \(revoked.token)")
        clock.advance(2)
        await #expect(throws: QuarryError.self) { try await ring.authenticate(authorization: "Bearer \(revoked.token)") }

        clock.advance(58)
        await #expect(throws: QuarryError.self) { try await ring.authenticate(authorization: "Bearer \(expiring.token)") }
    }

    @Test func rotationKeepsTheOldKeyForTheGraceThenOnlyTheNew() async throws {
        let (store, directory) = try store()
        defer { directory.cleanUp() }
        let clock = TestClock()
        let manager = KeyManager(store: store, now: { clock.now })
        let ring = KeyRing(store: store, mode: .required, cacheLifetime: .zero, now: { clock.now })
        let old = try await manager.create(
            KeySpecification(role: .writer, collections: ["docs"], principals: ["group:legal"]), tenant: "acme", by: KeyManager.commandLine
        )
        let new = try await manager.rotate(id: old.record.id, grace: .seconds(600), by: KeyManager.commandLine)
        #expect(new.record.rotatedFrom == old.record.id)
        #expect(new.record.collections == ["docs"] && new.record.principals == ["group:legal"] && new.record.role == "writer")
        let before = try await ring.authenticate(authorization: "Bearer \(old.token)")
        let after = try await ring.authenticate(authorization: "Bearer \(new.token)")
        #expect(before.principals == after.principals && before.tenant == after.tenant)
        clock.advance(600)
        await #expect(throws: QuarryError.self) { try await ring.authenticate(authorization: "Bearer \(old.token)") }
        #expect(try await ring.authenticate(authorization: "Bearer \(new.token)").keyID == new.record.id)
        // A key that no longer works cannot be rotated.
        await #expect(throws: QuarryError.self) { try await manager.rotate(id: old.record.id, grace: .zero, by: KeyManager.commandLine) }
    }

    @Test func adminsManageTheirOwnTenantWithinTheirOwnRights() async throws {
        let (store, directory) = try store()
        defer { directory.cleanUp() }
        let manager = KeyManager(store: store)
        let acmeAdmin = Principal(tenant: "acme", keyID: "a", role: .admin)
        let limitedAdmin = Principal(tenant: "acme", keyID: "b", role: .admin, collections: ["docs"])
        let betaKey = try await manager.create(KeySpecification(role: .reader), tenant: "beta", by: KeyManager.commandLine)
        _ = try await manager.create(KeySpecification(role: .reader), tenant: "acme", by: KeyManager.commandLine)

        let made = try await manager.create(KeySpecification(role: .writer), tenant: "acme", by: acmeAdmin)
        #expect(made.record.tenant == "acme")
        func code(_ body: () async throws -> Void) async -> QuarryError.Code? {
            do { try await body() } catch let error as QuarryError { return error.code } catch { return nil }
            return nil
        }
        #expect(await code { _ = try await manager.create(KeySpecification(role: .operator), tenant: "acme", by: acmeAdmin) } == .forbidden)
        #expect(await code { _ = try await manager.create(KeySpecification(role: .reader), tenant: "beta", by: acmeAdmin) } == .notFound)
        #expect(await code { _ = try await manager.create(KeySpecification(role: .reader), tenant: "acme", by: limitedAdmin) } == .forbidden)
        _ = try await manager.create(KeySpecification(role: .reader, collections: ["docs"]), tenant: "acme", by: limitedAdmin)
        #expect(await code { try await manager.revoke(id: betaKey.record.id, by: acmeAdmin) } == .notFound)
        #expect(await code { _ = try await manager.rotate(id: betaKey.record.id, grace: .zero, by: acmeAdmin) } == .notFound)
        #expect(await code { _ = try await manager.list(tenant: "beta", by: acmeAdmin) } == .notFound)
        #expect(try await manager.list(tenant: nil, by: acmeAdmin).allSatisfy { $0.tenant == "acme" })
        #expect(await code { _ = try await manager.list(tenant: nil, by: Principal(tenant: "acme", keyID: "w", role: .writer)) } == .forbidden)
        #expect(await code { _ = try await manager.createTenant("gamma", tier: nil, by: acmeAdmin) } == .forbidden)
        #expect(await code { _ = try await manager.create(KeySpecification(role: .reader), tenant: "nobody", by: acmeAdmin) } == .notFound)
        #expect(await code { _ = try await manager.create(KeySpecification(role: .reader, principals: ["user ana"]), tenant: "acme", by: acmeAdmin) } == .invalidRequest)
    }

    @Test func tenantsNameTheirCollectionsApart() throws {
        #expect(try Tenant.storeName(of: "docs", in: "default") == "docs")
        #expect(try Tenant.storeName(of: "docs", in: "acme") == "acme/docs")
        #expect(throws: QuarryError.self) { try Tenant.storeName(of: "beta/docs", in: "acme") }
        #expect(Tenant.owner(ofStoreName: "acme/docs") == ("acme", "docs"))
        #expect(Tenant.owner(ofStoreName: "docs") == ("default", "docs"))
        let acme = Principal(tenant: "acme", keyID: "k", role: .reader, collections: ["docs"])
        #expect(acme.visibleName(ofStoreName: "acme/docs") == "docs")
        #expect(acme.visibleName(ofStoreName: "acme/hr") == nil)
        #expect(acme.visibleName(ofStoreName: "docs") == nil)
        #expect(acme.visibleName(ofStoreName: "beta/docs") == nil)
        #expect(Principal.local.visibleName(ofStoreName: "docs") == "docs")
        #expect(Principal.local.visibleName(ofStoreName: "acme/docs") == nil)
    }
}

/// Each request a key authenticates is noted as its last use; the dates reach the store together
/// when the recorder flushes, the latest per key, and a failed write keeps them for the next.
@Suite struct KeyUseRecorderTests {
    @Test func authenticatedRequestsAreNotedAndWrittenTogether() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let store = try SQLiteChunkStore(directory: directory.url.appendingPathComponent("store"))
        let clock = TestClock()
        let manager = KeyManager(store: store, now: { clock.now })
        let used = try await manager.create(KeySpecification(role: .reader), tenant: "acme", by: KeyManager.commandLine)
        let idle = try await manager.create(KeySpecification(role: .reader), tenant: "acme", by: KeyManager.commandLine)
        let recorder = KeyUseRecorder(store: store)
        let ring = KeyRing(store: store, mode: .required, cacheLifetime: .zero, now: { clock.now }, uses: recorder)
        let first = clock.now
        _ = try await ring.authenticate(authorization: "Bearer \(used.token)")
        clock.advance(30)
        _ = try await ring.authenticate(authorization: "Bearer \(used.token)")
        // A refused request is no use of the key.
        await #expect(throws: QuarryError.self) { try await ring.authenticate(authorization: "Bearer \(idle.token)x") }
        #expect(recorder.heldBack == 1)
        #expect(try await store.key(id: used.record.id)?.lastUsedAt == nil, "not written per request")
        try await recorder.flush()
        #expect(recorder.heldBack == 0)
        #expect(try await store.key(id: used.record.id)?.lastUsedAt == first.addingTimeInterval(30))
        #expect(try await store.key(id: idle.record.id)?.lastUsedAt == nil)
        await store.close()
    }

    /// A store whose `recordKeyUses` fails until told otherwise, and remembers what it was given.
    final class FlakyKeyStore: KeyStore {
        let failing = Mutex(true)
        let written = Mutex<[String: Date]>([:])
        func createTenant(_ tenant: TenantRecord) async throws {}
        func tenants() async throws -> [TenantRecord] { [] }
        func setTenantTier(_ name: String, tier: String?) async throws {}
        func saveKeys(_ keys: [KeyRecord]) async throws {}
        func recordKeyUses(_ uses: [String: Date]) async throws {
            if failing.withLock({ $0 }) { throw QuarryError(.storage, "the store is down") }
            written.withLock { $0.merge(uses) { max($0, $1) } }
        }
        func key(id: String) async throws -> KeyRecord? { nil }
        func keys(tenant: String?) async throws -> [KeyRecord] { [] }
        func keyCount() async throws -> Int { 0 }
    }

    @Test func aFailedWriteKeepsTheDatesForTheNext() async throws {
        let store = FlakyKeyStore()
        let failures = Mutex(0)
        let recorder = KeyUseRecorder(store: store) { _ in failures.withLock { $0 += 1 } }
        let date = Date(timeIntervalSince1970: 1_800_000_100)
        recorder.note("k1", at: date)
        recorder.note("k1", at: date.addingTimeInterval(-5))
        recorder.note("k2", at: date.addingTimeInterval(-9))
        await #expect(throws: QuarryError.self) { try await recorder.flush() }
        #expect(failures.withLock { $0 } == 1 && recorder.heldBack == 2)
        recorder.note("k2", at: date.addingTimeInterval(-20))
        store.failing.withLock { $0 = false }
        try await recorder.flush()
        #expect(store.written.withLock { $0 } == ["k1": date, "k2": date.addingTimeInterval(-9)])
        #expect(recorder.heldBack == 0)
    }
}
