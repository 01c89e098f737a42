import Foundation
import QuarryStore
import QuarryTestSupport
import Testing

/// `quarry sessions list|show|delete|prune` end to end on a SQLite store written beforehand (the
/// binary of `$QUARRY_BIN`, else the debug build): each command acts for the tenant it names,
/// expired sessions are not listed and are pruned, old archived ones only when asked.
@Suite(.serialized) struct SessionCommandTests {
    @Test func sessionsAreListedShownDeletedAndPruned() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let storeURL = directory.url.appendingPathComponent("store")
        let now = Date()
        do {
            let store = try SQLiteChunkStore(directory: storeURL)
            let later = now.addingTimeInterval(3_600)
            try await store.createSession(SessionRecord(id: "ses_live", tenant: "acme", keyID: "k1", collection: "docs", expiresAt: later))
            _ = try await store.appendTurn(
                SessionTurn(
                    question: "What is WAL mode?", answer: "A journal mode [1].",
                    citations: [SessionCitation(id: 1, chunkID: "wal.md#0", document: "wal.md")]
                ),
                session: "ses_live", tenant: "acme", expiresAt: later
            )
            _ = try await store.appendTurn(
                SessionTurn(question: "Over NFS?", standaloneQuestion: "Does WAL mode work over NFS?", answer: "No."), session: "ses_live",
                tenant: "acme", expiresAt: later
            )
            try await store.createSession(SessionRecord(id: "ses_expired", tenant: "acme", expiresAt: now.addingTimeInterval(-60)))
            try await store.createSession(SessionRecord(id: "ses_old", tenant: "acme"))
            #expect(try await store.archiveSession(id: "ses_old", tenant: "acme", at: now.addingTimeInterval(-10 * 86_400)))
            try await store.createSession(SessionRecord(id: "ses_recent", tenant: "acme"))
            #expect(try await store.archiveSession(id: "ses_recent", tenant: "acme", at: now.addingTimeInterval(-3_600)))
            try await store.createSession(SessionRecord(id: "ses_default", tenant: "default"))
            await store.close()
        }

        let quarry = try EvalCommandTests.quarryBinary()
        func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            try await EvalCommandTests.run(quarry, ["sessions"] + arguments + ["--store", storeURL.path, "--backend", "sqlite"], in: directory.url)
        }
        func ids(_ output: String) -> [String] {
            output.split(separator: "\n").compactMap { $0.split(separator: "\t").first.map(String.init) }.sorted()
        }

        let acme = try await run(["list", "--tenant", "acme"])
        #expect(acme.status == 0, "\(acme.output)")
        #expect(ids(acme.output) == ["ses_live", "ses_old", "ses_recent"])
        #expect(acme.output.contains("ses_live\tkey k1\tcollection docs\t2 turns"))
        #expect(ids(try await run(["list"]).output) == ["ses_default"])
        #expect(ids(try await run(["list", "--tenant", "acme", "--key", "k1"]).output) == ["ses_live"])

        let shown = try await run(["show", "ses_live", "--tenant", "acme"])
        #expect(shown.status == 0, "\(shown.output)")
        for text in ["Q: What is WAL mode?", "[1] wal.md (wal.md#0)", "Q: Over NFS?", "searched as: Does WAL mode work over NFS?", "A: No."] {
            #expect(shown.output.contains(text), "\(text) in \(shown.output)")
        }
        let last = try await run(["show", "ses_live", "--tenant", "acme", "--last", "1"])
        #expect(last.output.contains("Over NFS?") && !last.output.contains("What is WAL mode?"), "\(last.output)")
        // Another tenant's session, and an expired one, are not there.
        let foreign = try await run(["show", "ses_live"])
        #expect(foreign.status != 0 && foreign.output.contains("does not exist"), "\(foreign.output)")
        #expect(try await run(["show", "ses_expired", "--tenant", "acme"]).status != 0)
        #expect(try await run(["delete", "ses_live"]).status != 0)

        let expired = try await run(["prune"])
        #expect(expired.status == 0 && expired.output.contains("pruned 1 sessions"), "\(expired.output)")
        let archived = try await run(["prune", "--archived-older-than-days", "7"])
        #expect(archived.status == 0 && archived.output.contains("pruned 1 sessions"), "\(archived.output)")
        #expect(try await run(["prune", "--archived-older-than-days", "-1"]).status != 0)
        let deleted = try await run(["delete", "ses_default"])
        #expect(deleted.status == 0 && deleted.output.contains("deleted session 'ses_default'"), "\(deleted.output)")

        let store = try SQLiteChunkStore(directory: storeURL)
        #expect(try await store.session(id: "ses_old", tenant: "acme") == nil)
        #expect(try await store.session(id: "ses_default", tenant: "default") == nil)
        #expect(try await store.session(id: "ses_recent", tenant: "acme")?.archivedAt != nil)
        #expect(try await store.turns(session: "ses_live", tenant: "acme", last: nil).count == 2)
        // The expired session is gone from the database, not only hidden: its id is free again.
        try await store.createSession(SessionRecord(id: "ses_expired", tenant: "acme"))
        await store.close()
    }
}
