import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryAccess
import QuarryDigest
import QuarryRetrieval
import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// Requests leave records: every state-changing request and every query, with who asked and how
/// it ended, chained by hash in the store; reads of documents leave none.
@Suite struct AuditRouteTests {
    @Test func changesAndQueriesAreRecordedAndChained() async throws {
        let setup = try await AuthenticationTests.setUp()
        defer { setup.directory.cleanUp() }
        let audit = AuditService(store: setup.store, queryMode: .hash, logger: Logger(label: "test"))
        let writer = Task { try await audit.log.run() }
        let app = buildApplication(
            retriever: Retriever(store: setup.store, embedder: setup.embedder), store: setup.store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), keyRing: KeyRing(store: setup.store, mode: .required),
            audit: audit.log, logger: Logger(label: "test")
        )
        try await app.test(.router) { client in
            let reader = setup.tokens["acme-reader"], writerKey = setup.tokens["acme-writer"]
            _ = try await AuthenticationTests.request(client, .post, "/search", token: reader, body: #"{"query": "rockets", "collection": "docs"}"#)
            _ = try await AuthenticationTests.request(client, .get, "/documents?collection=docs", token: reader)
            _ = try await AuthenticationTests.request(client, .delete, "/documents/acme.txt?collection=docs", token: reader)
            _ = try await AuthenticationTests.request(client, .delete, "/documents/acme.txt?collection=docs", token: writerKey)
            // Refused before a key was recognised: the change is recorded (401, no one), the read is not.
            let forged = "qk_0123456789abcdef_" + String(repeating: "A", count: 43)
            _ = try await AuthenticationTests.request(client, .delete, "/documents/other.txt?collection=docs", token: forged)
            _ = try await AuthenticationTests.request(client, .get, "/documents?collection=docs", token: nil)
        }
        audit.log.finish()
        try await writer.value
        let rows = try await setup.store.auditRows(since: nil, tenant: nil, after: 0, limit: 100)
        let records = try rows.map { try AuditRecord(canonicalJSON: $0.record) }
        #expect(records.map(\.method) == ["POST", "DELETE", "DELETE", "DELETE"])
        #expect(records.map(\.outcome) == [.ok, .denied, .ok, .denied])
        #expect(records.map(\.status) == [200, 403, 200, 401])
        #expect(records.prefix(3).allSatisfy { $0.tenant == "acme" && $0.collection == "docs" })
        #expect(records[3].tenant == nil && records[3].keyID == nil && records[3].route == "/documents/other.txt")
        #expect(records[0].query == nil && records[0].querySHA256 == SHA256.hex(of: Array("rockets".utf8)))
        #expect(records[2].documents == ["acme.txt"] && records[2].role == .writer)
        #expect(rows.map(\.seq) == [1, 2, 3, 4])
        for (previous, row) in zip(rows, rows.dropFirst()) { #expect(row.previousHash == previous.hash) }
        for row in rows { #expect(row.hash == AuditHash.link(previousHash: row.previousHash, record: row.record)) }
        #expect(!rows.contains { $0.record.contains("qk_") })
    }
}
