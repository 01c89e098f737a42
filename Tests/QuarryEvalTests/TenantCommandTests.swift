import Foundation
import QuarryTestSupport
import Testing

/// The command line acts for a tenant with `--tenant`: `quarry ingest`, `query` and `collections`
/// name collections as the tenant knows them, and never reach another tenant's (the binary of
/// `$QUARRY_BIN`, else the debug build, with the real model).
@Suite(.serialized) struct TenantCommandTests {
    @Test func commandsActForTheTenantTheyName() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try directory.write("Lighthouse keepers trim the wicks every evening.", to: "acme/keepers.txt")
        try directory.write("Default tenant notes about harbour tides.", to: "plain/tides.txt")
        let quarry = try EvalCommandTests.quarryBinary()
        let store = directory.url.appendingPathComponent("store").path
        func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            try await EvalCommandTests.run(quarry, arguments + ["--store", store], in: directory.url)
        }
        let acme = try await run(["ingest", directory.url.appendingPathComponent("acme").path, "--tenant", "acme", "--collection", "docs", "--no-progress"])
        #expect(acme.status == 0, "\(acme.output)")
        let plain = try await run(["ingest", directory.url.appendingPathComponent("plain").path, "--collection", "docs", "--no-progress"])
        #expect(plain.status == 0, "\(plain.output)")

        // Each tenant lists its own `docs`; the operator's view names both by store name.
        let acmeList = try await run(["collections", "list", "--tenant", "acme"])
        #expect(Self.names(acmeList.output) == ["docs"])
        #expect(acmeList.output.contains("1 documents"))
        #expect(Self.names(try await run(["collections", "list", "--all-tenants"]).output) == ["acme/docs", "docs"])

        // A query for acme finds acme's words and never the default tenant's.
        let query = try await run(["query", "who trims the wicks", "--tenant", "acme", "--collection", "docs", "--json"])
        #expect(query.status == 0, "\(query.output)")
        #expect(query.output.contains("keepers.txt") && !query.output.contains("tides.txt"))
        let other = try await run(["query", "harbour tides", "--tenant", "beta", "--collection", "docs"])
        #expect(other.status != 0 && other.output.contains("does not exist"), "\(other.output)")

        // A bad tenant name is refused before anything opens.
        let bad = try await run(["collections", "list", "--tenant", "a/b"])
        #expect(bad.status != 0)
        // Deleting acme's collection leaves the default tenant's.
        #expect(try await run(["collections", "delete", "docs", "--tenant", "acme"]).status == 0)
        #expect(Self.names(try await run(["collections", "list", "--all-tenants"]).output) == ["docs"])
    }

    /// The first column of each line of a `collections list`, sorted.
    static func names(_ output: String) -> [String] {
        output.split(separator: "\n").compactMap { $0.split(separator: "\t").first.map(String.init) }.sorted()
    }
}
