import Foundation
import QuarryCore
import QuarryStore
import QuarryTestSupport
import Testing

/// A database of its own on the test run's PostgreSQL 16 with pgvector 0.8.5 (see `TestPostgres`).
func withPostgres(_ body: (String) throws -> Void) throws {
    let url = try TestPostgres.createDatabase()
    defer { TestPostgres.dropDatabase(url) }
    try body(url)
}

@Suite struct PostgresConnectionTests {
    @Test func parameterisedStatementsVectorsTransactionsAndErrors() throws {
        try withPostgres { url in
            let db = try PostgresConnection(url: url)
            #expect(try db.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").string(0, 0) == "0.8.5")
            try db.execute("CREATE TABLE items (id bigint PRIMARY KEY, name text, score double precision, embedding vector(3))")
            let hostile = "x'); DROP TABLE items; --"
            for (id, name, vector) in [(1, "north", [Float(1), 0, 0]), (2, hostile, [0, 1, 0]), (3, "diagonal", [0.7, 0.7, 0])] {
                let inserted = try db.execute(
                    "INSERT INTO items VALUES ($1, $2, $3, $4)", [.integer(Int64(id)), .text(name), .real(Double(id) / 2), .vector(vector)]
                )
                #expect(inserted.affected == 1)
            }
            // The hostile name is data, not SQL.
            #expect(try db.execute("SELECT name FROM items WHERE id = $1", [.integer(2)]).string(0, 0) == hostile)
            // Cosine distance with pgvector, nearest first.
            let nearest = try db.execute("SELECT id, embedding FROM items ORDER BY embedding <=> $1 LIMIT 2", [.vector([1, 0.1, 0])])
            #expect(nearest.int64(0, 0) == 1 && nearest.int64(1, 0) == 3)
            #expect(nearest.vector(0, 1) == [1, 0, 0])
            #expect(try db.execute("SELECT NULL::text, $1::boolean", [.bool(true)]).rows == [[nil, "t"]])

            // A transaction that throws leaves nothing behind.
            #expect(throws: QuarryError.self) {
                try db.transaction { db in
                    try db.execute("DELETE FROM items")
                    try db.execute("SELECT * FROM no_such_table")
                }
            }
            #expect(try db.execute("SELECT count(*) FROM items").int64(0, 0) == 3)
            let committed = try db.transaction { db in try db.execute("DELETE FROM items WHERE id = $1", [.integer(3)]).affected }
            #expect(committed == 1)

            // Errors name the server's message and SQLSTATE.
            do {
                try db.execute("INSERT INTO items VALUES ($1, 'again', 0, '[1,2,3]')", [.integer(1)])
                Issue.record("a duplicate key was accepted")
            } catch let error as QuarryError {
                #expect(error.code == .storage)
                #expect(error.message.contains("23505") && error.message.contains("duplicate key"))
            }
            // A dropped connection is noticed and re-opened.
            let pid = try #require(db.execute("SELECT pg_backend_pid()").string(0, 0))
            let other = try PostgresConnection(url: url)
            try other.execute("SELECT pg_terminate_backend($1::int)", [.text(pid)])
            #expect(throws: QuarryError.self) { try db.execute("SELECT 1") }
            #expect(!db.isConnected)
            try db.reconnectIfNeeded()
            #expect(try db.execute("SELECT count(*) FROM items").int64(0, 0) == 2)
        }
    }

    @Test func copyLoadsAwkwardTextAndThePoolSurvivesDroppedConnections() async throws {
        let url = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(url) }
        do {
            let pool = PostgresConnectionPool(url: url, size: 2)
            _ = try await pool.withConnection { db in
                try db.execute("CREATE TABLE t (id bigint, body text, v vector(2), n integer)")
            }
            let awkward = ["tab\there", "new\nline\r\nand back\\slash", "\\N", "nul\0byte", "ünïcödé 🙂", ""]
            let loaded = try await pool.transaction { db in
                try db.copy(
                    into: "t", columns: ["id", "body", "v", "n"],
                    rows: awkward.enumerated().map { [.integer(Int64($0.offset)), .text($0.element), .vector([1, Float($0.offset)]), .null] }
                )
            }
            #expect(loaded == awkward.count)
            let rows = try await pool.withConnection { db in try db.execute("SELECT body, v, n FROM t ORDER BY id") }
            #expect(rows.rows.map { $0[0] } == awkward.map { $0.replacingOccurrences(of: "\0", with: "") })
            #expect(rows.vector(5, 1) == [1, 5] && rows.string(0, 2) == nil)
            // A bad row fails the COPY with the server's message, and the transaction with it.
            await #expect(throws: QuarryError.self) {
                try await pool.transaction { db in
                    try db.copy(into: "t", columns: ["id", "body", "v", "n"], rows: [[.integer(9), .text("x"), .vector([1, 2, 3]), .null]])
                }
            }
            #expect(try await pool.withConnection { try $0.execute("SELECT count(*) FROM t").int64(0, 0) } == Int64(awkward.count))

            // Every connection of the pool killed by the server: the next bodies run on new ones.
            let admin = try PostgresConnection(url: url)
            try admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid != pg_backend_pid()")
            #expect(try await pool.withConnection { try $0.execute("SELECT count(*) FROM t").int64(0, 0) } == Int64(awkward.count))
            // Text arrays bind element by element, quotes and backslashes included.
            let names = ["plain", "with \"quote\"", "back\\slash", "comma, brace}"]
            let echoed = try await pool.withConnection { try $0.execute("SELECT unnest($1::text[])", [.textArray(names)]) }
            #expect(echoed.rows.map { $0[0] } == names)
            await pool.close()
        }
    }

    @Test func anUnreachableServerIsAClearError() throws {
        do {
            _ = try PostgresConnection(url: "postgres://quarry:secret@127.0.0.1:1/quarry", connectTimeoutSeconds: 2)
            Issue.record("connected to nothing")
        } catch let error as QuarryError {
            #expect(error.message.contains("cannot connect to PostgreSQL"))
            #expect(!error.message.contains("secret"))
        }
    }
}
