import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryAccess
import QuarryCore
import QuarryIngest
import QuarryRetrieval
@testable import QuarryServer
import ServiceLifecycle
import ServiceLifecycleTestKit
import QuarryStore
import QuarryTestSupport
import Testing

/// Every word piece a key has embedded is counted for it, per model and day, priced or not, on
/// both backends: its questions (`/query` and `/search` unless lexical), its `/v1/embeddings`
/// calls, and the ingest jobs it starts. `GET /usage` shows them at once, although they are
/// written to the store together rather than one write per request.
@Suite struct EmbeddingUsageTests {
    @Test(arguments: StoreBackend.allCases)
    func everyEmbeddingIsCountedForTheKeyThatCausedIt(_ backend: StoreBackend) async throws {
        let setup = try await SessionRouteTests.setUp(backend, extraKeys: [("acme-writer", "acme", .writer, nil), ("operator", "default", .operator, nil)])
        defer { setup.fixture.cleanUp() }
        let document = "Checkpoints move the pages of the WAL file back into the database file."
        try setup.fixture.directory.write(document, to: "inbox/new/checkpoints.md")
        let jobs = IngestJobs(
            store: setup.store, embedder: setup.embedder, roots: [setup.fixture.directory.url.appendingPathComponent("inbox")],
            logger: Logger(label: "test")
        )
        let app = buildApplication(
            retriever: Retriever(store: setup.store, embedder: setup.embedder), store: setup.store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), jobs: jobs,
            keyRing: KeyRing(store: setup.store, mode: .required, cacheLifetime: .zero),
            limits: ServiceLimits(configuration: LimitsConfiguration(), usage: setup.store), logger: Logger(label: "test")
        )
        let embedder = setup.embedder
        @Sendable func pieces(_ text: String) -> Int64 { Int64(min(embedder.tokenCount(text), embedder.maxInputTokens - 2) + 2) }
        let question = "What is WAL mode?"
        try await app.test(.router) { client in
            let (reader, reader2, writer) = (setup.tokens["acme-reader"], setup.tokens["acme-reader2"], setup.tokens["acme-writer"])
            for mode in ["hybrid", "dense", "lexical"] {
                let body = #"{"query": "\#(question)", "collection": "docs", "mode": "\#(mode)"}"#
                #expect(try await SessionRouteTests.request(client, .post, "/search", token: reader, body: body).status == .ok)
            }
            let asked = try await SessionRouteTests.request(
                client, .post, "/query", token: reader, body: #"{"query": "\#(question)", "collection": "docs", "mode": "dense"}"#
            )
            #expect(asked.status == .ok)
            let embedded = try await SessionRouteTests.request(
                client, .post, "/v1/embeddings", token: reader2, body: #"{"input": ["one short text", "and another one"]}"#
            )
            let usage = try #require(try SessionRouteTests.json(embedded)["usage"] as? [String: Any])
            #expect(Int64(try #require(usage["prompt_tokens"] as? Int)) == pieces("one short text") + pieces("and another one"))
            let started = try await SessionRouteTests.request(
                client, .post, "/ingest", token: writer, body: #"{"path": "new", "collection": "docs"}"#
            )
            #expect(started.status == .accepted)
            await jobs.wait(try #require(try SessionRouteTests.json(started)["job_id"] as? String))
            let chunks = try #require(try await setup.store.document(in: try Tenant.storeName(of: "docs", in: "acme"), path: "checkpoints.md")).1
            #expect(!chunks.isEmpty)

            let rows = try await BudgetRouteTests.usageToday(client, setup).filter { $0.model == embedder.model.name }
            let byKey = Dictionary(uniqueKeysWithValues: rows.map { ($0.key_id ?? "", $0) })
            let readerID = try #require(setup.keyIDs["acme-reader"])
            let readerRow = try #require(byKey[readerID])
            #expect(readerRow.embedding_tokens == 3 * pieces(question), "hybrid and dense searches and the dense query; not lexical")
            #expect(readerRow.requests == 3 && readerRow.tokens == 0 && readerRow.cost_usd == 0)
            let (reader2ID, writerID) = (try #require(setup.keyIDs["acme-reader2"]), try #require(setup.keyIDs["acme-writer"]))
            #expect(byKey[reader2ID]?.embedding_tokens == pieces("one short text") + pieces("and another one"))
            let writerRow = try #require(byKey[writerID])
            #expect(writerRow.embedding_tokens == chunks.reduce(0) { $0 + pieces($1.text) })
            #expect(rows.count == 3)

            let metrics = String(buffer: try await SessionRouteTests.request(client, .get, "/metrics", token: setup.tokens["operator"], body: nil).body)
            let total = rows.reduce(0) { $0 + $1.embedding_tokens }
            #expect(metrics.contains(#"quarry_embedding_tokens_total{tenant="acme"} \#(total)"#), "\(total)")
        }
        await jobs.shutdown()
        await setup.store.close()
    }

    /// On graceful shutdown the writer writes what it held back, however long its interval, and
    /// a read-only store's server has no writer (it counts in memory).
    @Test func gracefulShutdownWritesTheCountsHeldBack() async throws {
        let fixture = try StoreFixture(.sqlite)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        let limits = ServiceLimits(configuration: LimitsConfiguration(), usage: store)
        var slow = try #require(limits.usageWriter)
        slow.interval = .seconds(3600)
        let writer = slow
        try await limits.budget.record(.embedding(model: "minilm", tokens: 40), tenant: "acme", keyID: "k1")
        let today = UsageDay(containing: Date()).id
        #expect(try await store.listDailyUsage(tenant: nil, keyID: nil, from: today, through: today).isEmpty, "held back")
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await writer.run() }
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        let rows = try await store.listDailyUsage(tenant: nil, keyID: nil, from: today, through: today)
        #expect(rows.map(\.embeddingTokens) == [40] && rows.map(\.keyID) == ["k1"])
        #expect(ServiceLimits(configuration: LimitsConfiguration(), usage: store, readOnly: true).usageWriter == nil)
        await store.close()
    }

    /// The writer flushes on its timer while the server runs, not only at shutdown.
    @Test func theWriterFlushesOnItsTimer() async throws {
        let fixture = try StoreFixture(.sqlite)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        let limits = ServiceLimits(configuration: LimitsConfiguration(), usage: store)
        var quick = try #require(limits.usageWriter)
        quick.interval = .milliseconds(20)
        let writer = quick
        try await limits.budget.record(.embedding(model: "minilm", tokens: 12), tenant: "acme", keyID: "k1")
        let today = UsageDay(containing: Date()).id
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await writer.run() }
                // The timer's write, waited for (at most 30 s on a loaded machine) without a flush of its own.
                for _ in 0..<3000 where try await store.listDailyUsage(tenant: nil, keyID: nil, from: today, through: today).isEmpty {
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(try await store.listDailyUsage(tenant: nil, keyID: nil, from: today, through: today).map(\.embeddingTokens) == [12])
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        await store.close()
    }
}
