import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryAccess
import QuarryIngest
import QuarryRetrieval
@testable import QuarryServer
import QuarryStore
import QuarryTestSupport
import Synchronization
import Testing

/// A clock the test moves by hand.
final class HandClock: MonotonicClock {
    private let current = Mutex(MonotonicInstant.origin)
    func now() -> MonotonicInstant { current.withLock { $0 } }
    func advance(by duration: Duration) { current.withLock { $0 = $0.advanced(by: duration) } }
}

/// Limits at the HTTP edge: a key over its rate gets 429 with `Retry-After` and the IETF
/// `RateLimit` fields, and a tenant over its monthly LLM tokens is refused before the model runs.
@Suite struct LimitsTests {
    @Test func aKeyOverItsRateIsTurnedAwayUntilItsBucketRefills() async throws {
        let setup = try await AuthenticationTests.setUp()
        defer { setup.directory.cleanUp() }
        let clock = HandClock()
        let limits = ServiceLimits(
            configuration: LimitsConfiguration(tiers: ["free": Tier(rate: 1, burst: 2)], defaultTier: "free"), usage: setup.store, clock: clock
        )
        let app = buildApplication(
            retriever: Retriever(store: setup.store, embedder: setup.embedder), store: setup.store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), keyRing: KeyRing(store: setup.store, mode: .required),
            limits: limits, logger: Logger(label: "test")
        )
        try await app.test(.router) { client in
            let reader = setup.tokens["acme-reader"]
            for remaining in [1, 0] {
                let response = try await AuthenticationTests.request(client, .get, "/collections", token: reader)
                #expect(response.status == .ok)
                #expect(response.headers[.init("RateLimit")!]?.contains(#""burst";r=\#(remaining)"#) == true)
                #expect(response.headers[.init("RateLimit-Policy")!]?.contains("q=2") == true)
            }
            let refused = try await AuthenticationTests.request(client, .get, "/collections", token: reader)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] == "1")
            let error = try AuthenticationTests.json(refused)["error"] as? [String: Any]
            #expect(error?["code"] as? String == "rate_limited" && error?["limit"] as? String == "rate")
            // Another key has its own bucket; the first is let in again once a token is back.
            #expect(try await AuthenticationTests.request(client, .get, "/collections", token: setup.tokens["acme-writer"]).status == .ok)
            clock.advance(by: .seconds(1))
            #expect(try await AuthenticationTests.request(client, .get, "/collections", token: reader).status == .ok)
        }
    }

    /// `quarry serve` builds its limits also without tiers (to count usage): then no key is
    /// limited, whatever tier it names (a key made for another server's tiers, or a tier since
    /// removed), as when the server had no limits at all.
    @Test func withoutTiersAKeysTierLimitsNothing() async throws {
        let setup = try await AuthenticationTests.setUp()
        defer { setup.directory.cleanUp() }
        let limits = ServiceLimits(configuration: LimitsConfiguration(), usage: setup.store)
        let token = try await KeyManager(store: setup.store).create(
            KeySpecification(role: .reader, tier: "gold"), tenant: "acme", by: KeyManager.commandLine
        ).token
        let app = buildApplication(
            retriever: Retriever(store: setup.store, embedder: setup.embedder), store: setup.store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), keyRing: KeyRing(store: setup.store, mode: .required),
            limits: limits, logger: Logger(label: "test")
        )
        try await app.test(.router) { client in
            let response = try await AuthenticationTests.request(client, .get, "/collections", token: token)
            #expect(response.status == .ok)
        }
    }

    @Test func aTenantOverItsMonthlyTokensGetsNoLLMAnswer() async throws {
        let setup = try await AuthenticationTests.setUp()
        defer { setup.directory.cleanUp() }
        let limits = ServiceLimits(
            configuration: LimitsConfiguration(tiers: ["free": Tier(monthlyTokens: 1000)], defaultTier: "free"), usage: setup.store
        )
        try await setup.store.addUsage(tenant: "acme", period: UsagePeriod(containing: Date()).id, requests: 1, tokens: 1000, cost: 0)
        let app = buildApplication(
            retriever: Retriever(store: setup.store, embedder: setup.embedder), store: setup.store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), keyRing: KeyRing(store: setup.store, mode: .required),
            limits: limits, logger: Logger(label: "test")
        )
        try await app.test(.router) { client in
            let body = #"{"query": "rockets", "collection": "docs", "answer": "llm"}"#
            let refused = try await AuthenticationTests.request(client, .post, "/query", token: setup.tokens["acme-reader"], body: body)
            #expect(refused.status == .tooManyRequests)
            let error = try AuthenticationTests.json(refused)["error"] as? [String: Any]
            #expect(error?["limit"] as? String == "monthly_tokens")
            #expect(refused.headers[.retryAfter].flatMap(Int.init).map { $0 > 0 } == true)
            // Another tenant's quota is its own; extractive answers use no tokens.
            let extractive = #"{"query": "rockets", "collection": "docs"}"#
            #expect(try await AuthenticationTests.request(client, .post, "/query", token: setup.tokens["acme-reader"], body: extractive).status == .ok)
        }
    }

    @Test func aTenantAtItsIngestJobLimitGetsNoNewJob() async throws {
        let setup = try await AuthenticationTests.setUp()
        defer { setup.directory.cleanUp() }
        let limits = ServiceLimits(configuration: LimitsConfiguration(tiers: ["free": Tier(ingestJobs: 1)], defaultTier: "free"), usage: setup.store)
        let app = buildApplication(
            retriever: Retriever(store: setup.store, embedder: setup.embedder), store: setup.store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
            jobs: IngestJobs(store: setup.store, embedder: setup.embedder, roots: [setup.docs], logger: Logger(label: "test")),
            keyRing: KeyRing(store: setup.store, mode: .required), limits: limits, logger: Logger(label: "test")
        )
        try await app.test(.router) { client in
            let body = #"{"path": "\#(setup.docs.path)", "collection": "inbox"}"#
            // acme's one slot is taken (as by a job still running).
            let running = try limits.ingestJobs.acquire(tenant: "acme", limit: 1)
            let refused = try await AuthenticationTests.request(client, .post, "/ingest", token: setup.tokens["acme-writer"], body: body)
            #expect(refused.status == .tooManyRequests)
            #expect((try AuthenticationTests.json(refused)["error"] as? [String: Any])?["limit"] as? String == "ingest_jobs")
            // Another tenant is not held to acme's jobs.
            let beta = try await AuthenticationTests.request(client, .post, "/ingest", token: setup.tokens["beta-admin"], body: body)
            #expect(beta.status == .accepted)
            running.release()
            let accepted = try await AuthenticationTests.request(client, .post, "/ingest", token: setup.tokens["acme-writer"], body: body)
            #expect(accepted.status == .accepted)
            // The job's slot comes back when it ends.
            let job = try #require(try AuthenticationTests.json(accepted)["job_id"] as? String)
            for _ in 0..<500 where limits.ingestJobs.jobs(tenant: "acme") > 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(limits.ingestJobs.jobs(tenant: "acme") == 0, "job \(job) kept its slot")
        }
    }

    @Test func aTenantAtItsStorageLimitWritesNothingMoreAndItsTierDecides() async throws {
        let setup = try await AuthenticationTests.setUp()
        defer { setup.directory.cleanUp() }
        // Tenant gamma's tier holds 3 chunks; the default tier has no limit.
        let limits = ServiceLimits(
            configuration: LimitsConfiguration(tiers: ["small": Tier(maxChunks: 3), "open": Tier()], defaultTier: "open"), usage: setup.store
        )
        let manager = KeyManager(store: setup.store)
        _ = try await manager.createTenant("gamma", tier: "small", by: KeyManager.commandLine)
        let writer = try await manager.create(KeySpecification(role: .writer), tenant: "gamma", by: KeyManager.commandLine).token
        for name in ["two/a.txt", "two/b.txt", "more/c.txt", "more/d.txt"] { try setup.directory.write("Words of \(name).", to: name) }
        let jobs = IngestJobs(store: setup.store, embedder: setup.embedder, roots: [setup.directory.url], logger: Logger(label: "test"))
        let app = buildApplication(
            retriever: Retriever(store: setup.store, embedder: setup.embedder), store: setup.store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), jobs: jobs,
            keyRing: KeyRing(store: setup.store, mode: .required, cacheLifetime: .zero), limits: limits, logger: Logger(label: "test")
        )
        let root = setup.directory.url.path
        try await app.test(.router) { client in
            func ingest(_ folder: String, into collection: String, token: String?) async throws -> [String: Any] {
                let body = #"{"path": "\#(root)/\#(folder)", "collection": "\#(collection)"}"#
                let accepted = try await AuthenticationTests.request(client, .post, "/ingest", token: token, body: body)
                #expect(accepted.status == .accepted)
                let id = try #require(try AuthenticationTests.json(accepted)["job_id"] as? String)
                await jobs.wait(id)
                return try AuthenticationTests.json(try await AuthenticationTests.request(client, .get, "/jobs/\(id)", token: token))
            }
            // Two chunks fit in three.
            let first = try await ingest("two", into: "docs", token: writer)
            #expect(first["state"] as? String == "succeeded" && first["chunks_written"] as? Int == 2)
            // Two more would make four: the job fails naming the limit and writes none of them.
            let over = try await ingest("more", into: "notes", token: writer)
            #expect(over["state"] as? String == "failed")
            #expect(over["limit"] as? String == "max_chunks" && over["error_code"] as? String == "rate_limited")
            #expect((over["error"] as? String)?.contains("may store 3 chunks") == true)
            #expect(try await setup.store.documents(in: "gamma/notes").isEmpty)
            // A re-ingest that does not grow the tenant still runs.
            try setup.directory.write("Words of two/a.txt, changed.", to: "two/a.txt")
            let again = try await ingest("two", into: "docs", token: writer)
            #expect(again["state"] as? String == "succeeded" && again["updated"] as? Int == 1)
            // Another tenant (default tier) is not held to gamma's limit.
            let acme = try await ingest("more", into: "notes", token: setup.tokens["acme-writer"])
            #expect(acme["state"] as? String == "succeeded")
            // The tenant's tier decides: moved to the open tier, the same ingest goes through.
            let moved = try await AuthenticationTests.request(
                client, .put, "/tenants/gamma", token: setup.tokens["operator"], body: #"{"tier": "open"}"#
            )
            #expect(moved.status == .ok)
            #expect(try AuthenticationTests.json(moved)["tier"] as? String == "open")
            #expect(try await AuthenticationTests.request(client, .put, "/tenants/gamma", token: writer, body: "{}").status == .forbidden)
            #expect(try await AuthenticationTests.request(client, .put, "/tenants/nobody", token: setup.tokens["operator"], body: "{}").status == .notFound)
            let after = try await ingest("more", into: "notes", token: writer)
            #expect(after["state"] as? String == "succeeded" && after["chunks_written"] as? Int == 2)
        }
    }
}
