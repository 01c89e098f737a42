import Foundation
import QuarryTestSupport
import Testing

/// `quarry ingest` follows the server's policy for links (issue 15): a link that leads out of the
/// folder is reported and never read; a link to a file inside the folder is read.
@Suite struct IngestLinkCommandTests {
    @Test func aLinkOutOfTheFolderIsReportedNotIngested() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try directory.write("secret outside words: lighthouse", to: "outside/secret.txt")
        try directory.write("inside words about harbour tides", to: "docs/notes.txt")
        let docs = directory.url.appendingPathComponent("docs")
        try FileManager.default.createSymbolicLink(
            at: docs.appendingPathComponent("leak.txt"), withDestinationURL: directory.url.appendingPathComponent("outside/secret.txt")
        )
        try FileManager.default.createSymbolicLink(at: docs.appendingPathComponent("alias.txt"), withDestinationURL: docs.appendingPathComponent("notes.txt"))
        let quarry = try EvalCommandTests.quarryBinary()
        let store = directory.url.appendingPathComponent("store").path
        let ingest = try await EvalCommandTests.run(quarry, ["ingest", docs.path, "--store", store, "--no-progress"], in: directory.url)
        #expect(ingest.status == 2, "\(ingest.output)")
        #expect(ingest.output.contains("leak.txt") && ingest.output.contains("outside the folder"), "\(ingest.output)")
        let query = try await EvalCommandTests.run(quarry, ["query", "lighthouse", "--store", store, "--json"], in: directory.url)
        #expect(!query.output.contains("secret outside"), "\(query.output)")
        let list = try await EvalCommandTests.run(quarry, ["query", "harbour tides", "--store", store, "--json"], in: directory.url)
        #expect(list.output.contains("alias.txt") || list.output.contains("notes.txt"), "\(list.output)")
    }
}
