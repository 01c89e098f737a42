import Testing

import QuarryCore

/// What a client reads of a server failure names what failed, not where the server keeps its
/// files (issue 15: a full disk showed the store's path to API clients).
@Suite struct ClientMessageTests {
    @Test func storageMessagesLoseTheirDirectories() {
        let full = QuarryError(.storage, "SQLite error 13 in /var/lib/quarry/store/quarry.sqlite: database or disk is full")
        #expect(full.clientMessage == "SQLite error 13 in …/quarry.sqlite: database or disk is full")
        let open = QuarryError(.storage, "cannot open the store database at '/srv/q/quarry.sqlite' (error 14), see (/tmp/x)")
        #expect(open.clientMessage == "cannot open the store database at '…/quarry.sqlite' (error 14), see (…/x)")
        #expect(QuarryError(.internal, "/").clientMessage == "…")
        #expect(QuarryError(.storage, "a/b and 1/2 stay").clientMessage == "a/b and 1/2 stay", "only paths that start a word")
    }

    @Test func otherCodesKeepTheirMessage() {
        // A path in a client error is the caller's own.
        let refused = QuarryError(.forbidden, "/data/docs is outside the ingest roots")
        #expect(refused.clientMessage == refused.message)
    }
}
