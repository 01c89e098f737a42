import Foundation
import QuarryCore
import QuarryServer
import QuarryTestSupport
import Testing

@Suite struct ConfigurationTests {
    func write(_ json: String) throws -> (URL, TemporaryDirectory) {
        let dir = try TemporaryDirectory()
        return (try dir.write(json, to: "quarry.json"), dir)
    }

    @Test func fileThenEnvironmentOverDefaults() throws {
        let (url, dir) = try write(
            #"{"store": "/var/lib/quarry", "server": {"port": 9000, "cache_entries": 0}, "search": {"fusion": {"lexical_weight": 2}}}"#
        )
        defer { dir.cleanUp() }
        var settings = try QuarryConfiguration.load(from: url)
        #expect(settings.store == "/var/lib/quarry")
        #expect(settings.server.port == 9000 && settings.server.cacheEntries == 0)
        #expect(settings.server.host == "127.0.0.1" && settings.server.defaultTopK == 5)
        #expect(settings.search.fusion.lexicalWeight == 2 && settings.search.fusion.denseWeight == 1 && settings.search.fusion.k == 60)
        #expect(settings.problems().isEmpty)

        try settings.applyEnvironment([
            "QUARRY_PORT": "9100", "QUARRY_INGEST_ROOTS": "\(dir.url.path):\(dir.url.path)", "QUARRY_FUSION_DENSE_WEIGHT": "0.5",
            "QUARRY_HOST": "", "UNRELATED": "x",
        ])
        #expect(settings.server.port == 9100)
        #expect(settings.server.ingestRoots == [dir.url.path, dir.url.path])
        #expect(settings.search.fusion.denseWeight == 0.5)
        #expect(settings.server.host == "127.0.0.1")
        #expect(settings.problems().isEmpty)
        #expect(throws: QuarryError.self) { try settings.applyEnvironment(["QUARRY_PORT": "eighty"]) }
    }

    @Test func mistakesAreNamed() throws {
        for (json, expected) in [
            (#"{"server": {"prot": 9000}}"#, "server.prot"),
            (#"{"serch": {}}"#, "serch"),
            (#"{"server": {"port": "9000"}}"#, "server.port"),
            (#"{"server": "#, "not valid JSON"),
        ] {
            let (url, dir) = try write(json)
            defer { dir.cleanUp() }
            do {
                _ = try QuarryConfiguration.load(from: url)
                Issue.record("\(json) was accepted")
            } catch let error as QuarryError {
                #expect(error.message.contains(expected), "\(error.message)")
                #expect(error.message.contains(url.path))
            }
        }
        #expect(throws: QuarryError.self) { try QuarryConfiguration.load(from: URL(fileURLWithPath: "/nonexistent/quarry.json")) }
    }

    @Test func invalidValuesAreAllReported() {
        var settings = QuarryConfiguration()
        settings.server.port = 70_000
        settings.server.logLevel = "loud"
        settings.server.defaultTopK = 0
        settings.server.ingestRoots = ["/nonexistent/root"]
        settings.search.maxContextTokens = 10
        settings.search.fusion.denseWeight = 0
        settings.search.fusion.lexicalWeight = 0
        let problems = settings.problems()
        #expect(problems.count == 6)
        #expect(problems.contains { $0.contains("server.port") })
        #expect(problems.contains { $0.contains("/nonexistent/root") })
        #expect(problems.contains { $0.contains("fusion weights") })
    }
}
