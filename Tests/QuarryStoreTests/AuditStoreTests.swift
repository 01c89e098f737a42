import Foundation
import QuarryCore
import QuarryTestSupport
import Testing

@testable import QuarryStore

/// The chain the store tests write: the store takes the link function as a parameter, and these
/// tests cannot see `QuarryAccess`'s SHA-256 link, so they use a stand-in (FNV-1a over four
/// lanes, 64 hex digits) and records of their own, `n=…;at=…;tenant=…[;prune=SEQ:HASH]`.
enum TestChain {
    static let link: AuditLink = { previous, record in
        let bytes = Array((previous + "\n" + record).utf8)
        return (0..<4).map { lane -> String in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325 &+ UInt64(lane)
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            let hex = String(hash, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    static func entry(_ n: Int, at: Date, tenant: String? = "acme") -> AuditEntry {
        AuditEntry(at: at, tenant: tenant, record: "n=\(n);at=\(AuditChain.milliseconds(at));tenant=\(tenant ?? "")")
    }

    static func prune(_ prune: AuditPrune, at: Date) -> AuditEntry {
        AuditEntry(at: at, tenant: nil, record: "n=0;at=\(AuditChain.milliseconds(at));tenant=;prune=\(prune.throughSeq):\(prune.anchorHash)")
    }

    static let facts: @Sendable (String) -> AuditRecordFacts? = { record in
        var fields: [String: String] = [:]
        for field in record.split(separator: ";") {
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            fields[String(parts[0])] = String(parts[1])
        }
        guard let at = fields["at"].flatMap({ Int64($0) }), let tenant = fields["tenant"] else { return nil }
        var facts = AuditRecordFacts(at: Date(timeIntervalSince1970: Double(at) / 1000), tenant: tenant.isEmpty ? nil : tenant)
        if let prune = fields["prune"]?.split(separator: ":"), prune.count == 2 {
            facts.prunedThrough = Int64(prune[0])
            facts.anchorHash = String(prune[1])
        }
        return facts
    }

    /// Walks the whole log, in pages of 3 (so that paging is exercised too).
    static func verify(_ store: any AuditStore, checkpoint: AuditChainPoint? = nil) async throws -> AuditVerification {
        var verifier = AuditChainVerifier(link: link, facts: facts, checkpoint: checkpoint)
        var after: Int64 = 0
        while true {
            let rows = try await store.auditRows(since: nil, tenant: nil, after: after, limit: 3)
            for row in rows { verifier.check(row) }
            guard let last = rows.last else { return verifier.finish() }
            after = last.seq
        }
    }

    static func all(_ store: any AuditStore) async throws -> [AuditRow] {
        try await store.auditRows(since: nil, tenant: nil, after: 0, limit: 100_000)
    }
}

/// The audit log on both backends: appends chain, concurrent appenders never fork the chain,
/// edits and deletions made behind the store's back are found, prunes are told from deletions.
@Suite struct AuditStoreTests {
    let start = Date(timeIntervalSince1970: 1_764_000_000)

    func time(_ second: Int) -> Date { start.addingTimeInterval(Double(second)) }

    func open(_ fixture: StoreFixture) async throws -> any AuditStore {
        let store = try await fixture.open()
        return try #require(store as? any AuditStore)
    }

    /// Runs SQL on the store's database behind its back, as someone with write access could.
    func tamper(_ fixture: StoreFixture, _ sql: String) throws {
        switch fixture.backend {
        case .sqlite:
            let db = try SQLiteConnection(
                path: fixture.directory.url.appendingPathComponent("store").appendingPathComponent(SQLiteChunkStore.databaseFileName).path
            )
            try db.execute(sql)
        case .pgvector:
            try PostgresConnection(url: try #require(fixture.databaseURL)).execute(sql)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func appendsChainEachRowToTheOneBefore(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        #expect(try await store.lastAuditRow() == nil)
        #expect(try await store.appendAudit([], link: TestChain.link).isEmpty)

        let first = try await store.appendAudit((1...3).map { TestChain.entry($0, at: time($0)) }, link: TestChain.link)
        let second = try await store.appendAudit(
            [TestChain.entry(4, at: time(4), tenant: "other"), TestChain.entry(5, at: time(5), tenant: nil)], link: TestChain.link
        )
        let rows = try await TestChain.all(store)
        #expect(rows == first + second)
        #expect(rows.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(rows[0].previousHash == AuditChain.genesisHash)
        for (index, row) in rows.enumerated() {
            #expect(row.hash == TestChain.link(row.previousHash, row.record))
            #expect(row.at == time(index + 1))
            if index > 0 { #expect(row.previousHash == rows[index - 1].hash) }
        }
        #expect(rows.map(\.tenant) == ["acme", "acme", "acme", "other", nil])
        #expect(try await store.lastAuditRow() == rows[4])

        // Pages, and the export filters.
        #expect(try await store.auditRows(since: nil, tenant: nil, after: 2, limit: 2).map(\.seq) == [3, 4])
        #expect(try await store.auditRows(since: time(3), tenant: nil, after: 0, limit: 10).map(\.seq) == [3, 4, 5])
        #expect(try await store.auditRows(since: nil, tenant: "acme", after: 1, limit: 10).map(\.seq) == [2, 3])
        #expect(try await store.auditRows(since: time(2), tenant: "other", after: 0, limit: 10).map(\.seq) == [4])

        let verification = try await TestChain.verify(store)
        #expect(verification.isIntact)
        #expect(verification.rowsChecked == 5)
        #expect(verification.start == AuditChainPoint(seq: 1, hash: AuditChain.genesisHash))
        #expect(verification.last == AuditChainPoint(seq: 5, hash: rows[4].hash))
    }

    @Test(arguments: StoreBackend.allCases)
    func concurrentAppendersFromTwoNodesKeepOneChain(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        // Two store instances on one database: two processes, or two nodes.
        let nodes = [try await open(fixture), try await open(fixture)]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for round in 0..<12 {
                        let entries = (0...(round % 3)).map { TestChain.entry(task * 1000 + round * 10 + $0, at: self.time(round)) }
                        try await nodes[task % 2].appendAudit(entries, link: TestChain.link)
                    }
                }
            }
            try await group.waitForAll()
        }
        let rows = try await TestChain.all(nodes[0])
        // 8 tasks × 12 rounds of 1, 2, 3, 1, 2, 3, … entries.
        let expected = 8 * 4 * (1 + 2 + 3)
        #expect(rows.count == expected)
        #expect(rows.map(\.seq) == Array(1...Int64(rows.count)))
        #expect(Set(rows.map(\.record)).count == rows.count)
        let verification = try await TestChain.verify(nodes[1])
        #expect(verification.isIntact, "\(verification.breaks)")
        #expect(verification.rowsChecked == rows.count)
    }

    @Test(arguments: StoreBackend.allCases)
    func anEditedRowIsFoundAtItsSeq(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        try await store.appendAudit((1...8).map { TestChain.entry($0, at: time($0)) }, link: TestChain.link)
        try tamper(fixture, "UPDATE quarry_audit SET record = replace(record, 'n=4;', 'n=40;') WHERE seq = 4")
        let edited = try await TestChain.verify(store)
        #expect(edited.firstBreak?.seq == 4)
        #expect(edited.firstBreak?.kind == .edited)
        #expect(edited.breaks.count == 1)
        #expect(edited.rowsChecked == 8)
    }

    @Test(arguments: StoreBackend.allCases)
    func anEditedColumnIsFound(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        try await store.appendAudit((1...8).map { TestChain.entry($0, at: time($0)) }, link: TestChain.link)
        // Moving a row to another tenant would hide it from that tenant's export.
        try tamper(fixture, "UPDATE quarry_audit SET tenant = 'other' WHERE seq = 6")
        let verification = try await TestChain.verify(store)
        #expect(verification.breaks.map(\.seq) == [6])
        #expect(verification.firstBreak?.kind == .edited)
    }

    @Test(arguments: StoreBackend.allCases)
    func aRewrittenRowBreaksTheLinkOfTheNext(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        let rows = try await store.appendAudit((1...6).map { TestChain.entry($0, at: time($0)) }, link: TestChain.link)
        // An edit that also recomputes the row's own hash.
        let forged = rows[2].record.replacingOccurrences(of: "n=3;", with: "n=30;")
        try tamper(
            fixture, "UPDATE quarry_audit SET record = '\(forged)', hash = '\(TestChain.link(rows[2].previousHash, forged))' WHERE seq = 3"
        )
        let verification = try await TestChain.verify(store)
        #expect(verification.breaks.map(\.seq) == [4])
        #expect(verification.firstBreak?.kind == .relinked)
    }

    @Test(arguments: StoreBackend.allCases)
    func deletedRowsAreFoundAtTheirSeq(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        let rows = try await store.appendAudit((1...8).map { TestChain.entry($0, at: time($0)) }, link: TestChain.link)
        try tamper(fixture, "DELETE FROM quarry_audit WHERE seq = 5")
        let middle = try await TestChain.verify(store)
        #expect(middle.breaks.map(\.seq) == [5])
        #expect(middle.firstBreak?.kind == .missing)

        // From the start, without a prune: not a prune.
        try tamper(fixture, "DELETE FROM quarry_audit WHERE seq <= 2")
        let head = try await TestChain.verify(store)
        #expect(head.breaks.map(\.seq) == [2, 5])
        #expect(head.breaks.map(\.kind) == [.missing, .missing])

        // From the end: only a checkpoint kept outside the store can tell.
        try tamper(fixture, "DELETE FROM quarry_audit WHERE seq <= 5")
        #expect(try await TestChain.verify(store).breaks.map(\.seq) == [5])
        try tamper(fixture, "DELETE FROM quarry_audit WHERE seq = 8")
        let tail = try await TestChain.verify(store, checkpoint: AuditChainPoint(seq: 8, hash: rows[7].hash))
        #expect(tail.breaks.map(\.seq) == [5, 8])
        #expect(tail.breaks.last?.kind == .missing)
    }

    @Test(arguments: StoreBackend.allCases)
    func aPruneIsToldFromADeletion(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        // Rows 1…6 are old and 7…10 recent, but the node that wrote row 4 had a clock running ahead:
        // a prune removes by sequence number, so rows 5 and 6 wait until row 4 is old enough too.
        let times = [1, 2, 3, 1500, 4, 5, 1000, 1001, 1002, 1003].map(time)
        let rows = try await store.appendAudit(times.enumerated().map { TestChain.entry($0.offset + 1, at: $0.element) }, link: TestChain.link)
        let now = time(2000)
        let prune = try #require(
            try await store.pruneAudit(before: time(999), link: TestChain.link) { TestChain.prune($0, at: now) }
        )
        #expect(prune == AuditPrune(throughSeq: 3, anchorHash: rows[2].hash, removed: 3))
        let kept = try await TestChain.all(store)
        #expect(kept.map(\.seq) == Array(4...11))
        #expect(kept.last?.previousHash == rows[9].hash)
        let verification = try await TestChain.verify(store, checkpoint: AuditChainPoint(seq: 10, hash: rows[9].hash))
        #expect(verification.isIntact, "\(verification.breaks)")
        #expect(verification.prunedThrough == 3)
        #expect(verification.start == AuditChainPoint(seq: 4, hash: rows[2].hash))
        #expect(verification.checkpointChecked)

        // Nothing that old any more: nothing removed, nothing recorded.
        #expect(try await store.pruneAudit(before: time(999), link: TestChain.link) { TestChain.prune($0, at: now) } == nil)
        #expect(try await store.lastAuditRow()?.seq == 11)

        // A row deleted after the prune is not covered by it.
        try tamper(fixture, "DELETE FROM quarry_audit WHERE seq = 4")
        let deleted = try await TestChain.verify(store)
        #expect(deleted.breaks.map(\.seq) == [4])
        #expect(deleted.firstBreak?.kind == .missing)
    }

    @Test(arguments: StoreBackend.allCases)
    func pruningEverythingLeavesThePruneRecord(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        #expect(try await store.pruneAudit(before: time(10), link: TestChain.link) { TestChain.prune($0, at: time(10)) } == nil)
        let rows = try await store.appendAudit((1...3).map { TestChain.entry($0, at: time($0)) }, link: TestChain.link)
        let first = try #require(try await store.pruneAudit(before: time(10), link: TestChain.link) { TestChain.prune($0, at: time(10)) })
        #expect(first == AuditPrune(throughSeq: 3, anchorHash: rows[2].hash, removed: 3))
        #expect(try await TestChain.all(store).map(\.seq) == [4])
        #expect(try await TestChain.verify(store).isIntact)

        // A second prune removes the first one's record and records itself.
        try await store.appendAudit([TestChain.entry(5, at: time(20))], link: TestChain.link)
        let second = try #require(try await store.pruneAudit(before: time(15), link: TestChain.link) { TestChain.prune($0, at: time(30)) })
        #expect(second.throughSeq == 4 && second.removed == 1)
        #expect(try await TestChain.all(store).map(\.seq) == [5, 6])
        let verification = try await TestChain.verify(store)
        #expect(verification.isIntact, "\(verification.breaks)")
        #expect(verification.prunedThrough == 4)
    }

    /// `GET /audit`'s window: rows at or after `since` and before `until`, paged by `seq` even
    /// where `at` goes backwards (a node whose clock lags). A store that implements only the
    /// open-ended listing gets the same pages from the protocol's default.
    @Test(arguments: StoreBackend.allCases)
    func windowsPageBySeqWhateverTheClocksSay(_ backend: StoreBackend) async throws {
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await open(fixture)
        // Times going round a 100-second cycle: a window of seconds matches a few rows of each 100.
        let entries = (1...600).map { TestChain.entry($0, at: time($0 % 100), tenant: $0.isMultiple(of: 2) ? "acme" : "beta") }
        try await store.appendAudit(entries, link: TestChain.link)
        let openEnded = OpenEndedAuditStore(base: store)
        let cases: [(since: Int?, until: Int?, tenant: String?, after: Int64, limit: Int, seqs: [Int64])] = [
            (10, 12, nil, 0, 5, [10, 11, 110, 111, 210]),
            (10, 12, nil, 210, 5, [211, 310, 311, 410, 411]),
            (10, 12, nil, 411, 5, [510, 511]),
            (10, 12, "acme", 0, 10, [10, 110, 210, 310, 410, 510]),
            (nil, 1, nil, 0, 10, [100, 200, 300, 400, 500, 600]),
            (99, nil, "beta", 500, 10, [599]),
            (50, 50, nil, 0, 10, []),
        ]
        for item in cases {
            let since = item.since.map(time), until = item.until.map(time)
            let rows = try await store.auditRows(since: since, until: until, tenant: item.tenant, after: item.after, limit: item.limit)
            #expect(rows.map(\.seq) == item.seqs, "\(item)")
            let viaDefault = try await openEnded.auditRows(since: since, until: until, tenant: item.tenant, after: item.after, limit: item.limit)
            #expect(viaDefault == rows, "\(item)")
        }
        // A record that is not JSON is exported as a string.
        let first = try #require(try await store.auditRows(since: nil, tenant: nil, after: 0, limit: 1).first)
        #expect(
            first.exportJSON
                == #"{"seq":1,"previous_hash":"\#(first.previousHash)","hash":"\#(first.hash)","record":"\#(first.record)"}"#
        )
    }
}

/// The verifier on rows made in memory: the cases no store test reaches.
@Suite struct AuditChainVerifierTests {
    func chain(_ count: Int) -> [AuditRow] {
        AuditSQL.chain(
            (1...count).map { TestChain.entry($0, at: Date(timeIntervalSince1970: Double($0))) }, after: nil, link: TestChain.link
        )
    }

    func verify(_ rows: [AuditRow], checkpoint: AuditChainPoint? = nil) -> AuditVerification {
        var verifier = AuditChainVerifier(link: TestChain.link, facts: TestChain.facts, checkpoint: checkpoint)
        for row in rows { verifier.check(row) }
        return verifier.finish()
    }

    @Test func anEmptyLogHolds() {
        #expect(verify([]).isIntact)
        #expect(verify([], checkpoint: AuditChainPoint(seq: 3, hash: "x")).breaks.map(\.kind) == [.missing])
    }

    @Test func aFirstRowNotFromGenesisIsRelinked() {
        var rows = chain(3)
        rows[0].previousHash = String(repeating: "1", count: 64)
        rows[0].hash = TestChain.link(rows[0].previousHash, rows[0].record)
        rows[1].previousHash = rows[0].hash
        rows[1].hash = TestChain.link(rows[1].previousHash, rows[1].record)
        rows[2].previousHash = rows[1].hash
        rows[2].hash = TestChain.link(rows[2].previousHash, rows[2].record)
        #expect(verify(rows).breaks.map(\.seq) == [1])
        #expect(verify(rows).firstBreak?.kind == .relinked)
    }

    @Test func aRewrittenTailIsCaughtOnlyByACheckpoint() {
        let rows = chain(5)
        // Rewrite from row 3 on, recomputing every hash: the chain alone still holds.
        var forged = Array(rows[0..<2])
        forged += AuditSQL.chain(
            (3...5).map { TestChain.entry($0 * 10, at: Date(timeIntervalSince1970: Double($0))) }, after: (2, rows[1].hash),
            link: TestChain.link
        )
        #expect(verify(forged).isIntact)
        let caught = verify(forged, checkpoint: AuditChainPoint(seq: 4, hash: rows[3].hash))
        #expect(caught.breaks.map(\.seq) == [4])
        #expect(caught.checkpointChecked)
    }

    @Test func unreadableRecordsAndPruneRecordsThatDoNotFitAreBreaks() {
        var rows = chain(4)
        rows[1].record = "garbage"
        rows[1].hash = TestChain.link(rows[1].previousHash, rows[1].record)
        rows[2].previousHash = rows[1].hash
        rows[2].hash = TestChain.link(rows[2].previousHash, rows[2].record)
        rows[3].previousHash = rows[2].hash
        rows[3].hash = TestChain.link(rows[3].previousHash, rows[3].record)
        #expect(verify(rows).breaks.map(\.seq) == [2])

        // Rows 1…2 gone, and a prune record that claims only row 1.
        let original = chain(4)
        let claim = TestChain.prune(AuditPrune(throughSeq: 1, anchorHash: original[0].hash, removed: 1), at: Date(timeIntervalSince1970: 9))
        let tail = Array(original[2...]) + AuditSQL.chain([claim], after: (4, original[3].hash), link: TestChain.link)
        let verification = verify(tail)
        #expect(verification.breaks.map(\.seq) == [2])
        #expect(verification.firstBreak?.kind == .missing)
    }
}

/// An audit store with only the open-ended listing, as a wrapper in a test would have: the
/// window query falls to `AuditStore`'s default.
struct OpenEndedAuditStore: AuditStore {
    let base: any AuditStore

    func appendAudit(_ entries: [AuditEntry], link: @escaping AuditLink) async throws -> [AuditRow] {
        try await base.appendAudit(entries, link: link)
    }

    func auditRows(since: Date?, tenant: String?, after seq: Int64, limit: Int) async throws -> [AuditRow] {
        try await base.auditRows(since: since, tenant: tenant, after: seq, limit: limit)
    }

    func lastAuditRow() async throws -> AuditRow? { try await base.lastAuditRow() }

    func pruneAudit(
        before: Date, link: @escaping AuditLink, record: @escaping @Sendable (AuditPrune) throws -> AuditEntry
    ) async throws -> AuditPrune? {
        try await base.pruneAudit(before: before, link: link, record: record)
    }
}
