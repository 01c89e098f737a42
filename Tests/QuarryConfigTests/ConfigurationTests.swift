import Foundation
import QuarryCore
import QuarryConfig
import QuarryRetrieval
import QuarryTestSupport
import Logging
import Synchronization
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

    @Test func theBackendAndItsDatabase() throws {
        let (url, dir) = try write(#"{"backend": "pgvector", "postgres": {"url": "postgres://quarry@db:5432/quarry", "pool_size": 4}}"#)
        defer { dir.cleanUp() }
        var settings = try QuarryConfiguration.load(from: url)
        #expect(settings.backend == "pgvector" && settings.postgres.url == "postgres://quarry@db:5432/quarry")
        #expect(settings.postgres.poolSize == 4 && settings.postgres.statementTimeoutMS == 30_000)
        #expect(settings.problems().isEmpty)
        try settings.applyEnvironment(["QUARRY_PG_URL": "postgresql://other/quarry", "QUARRY_PG_POOL_SIZE": "16"])
        #expect(settings.postgres.url == "postgresql://other/quarry" && settings.postgres.poolSize == 16)

        var missing = QuarryConfiguration()
        try missing.applyEnvironment(["QUARRY_BACKEND": "pgvector"])
        #expect(missing.problems() == ["backend pgvector needs postgres.url (or $QUARRY_PG_URL, or --pg-url)"])
        var wrong = QuarryConfiguration()
        wrong.backend = "mysql"
        wrong.postgres.poolSize = 0
        #expect(wrong.problems().count == 2)
        let (unknown, unknownDir) = try write(#"{"postgres": {"uri": "postgres://x"}}"#)
        defer { unknownDir.cleanUp() }
        #expect(throws: QuarryError.self) { try QuarryConfiguration.load(from: unknown) }
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

    @Test func serviceLimitsAndSitesAreRead() throws {
        let (url, dir) = try write(
            #"""
            {"server": {"idle_timeout_seconds": 5, "header_timeout_seconds": 2.5, "allowed_hosts": ["quarry.internal"],
                        "cors_origins": ["https://app.example.com"], "admission": {"query": {"in_flight": 2, "queued": 8}},
                        "admission_wait_seconds": 3, "embeddings": {"max_inputs": 32, "max_tokens": 4096}}}
            """#
        )
        defer { dir.cleanUp() }
        let server = try QuarryConfiguration.load(from: url).server
        #expect(server.idleTimeoutSeconds == 5 && server.headerTimeoutSeconds == 2.5 && server.admissionWaitSeconds == 3)
        #expect(server.allowedHosts == ["quarry.internal"] && server.corsOrigins == ["https://app.example.com"])
        #expect(server.admission == ["query": .init(inFlight: 2, queued: 8)])
        #expect(server.embeddings.maxInputs == 32 && server.embeddings.maxTokens == 4096)

        for (json, expected) in [
            (#"{"server": {"admission": {"query": {"in_flight": 2}}}}"#, "queued"),
            (#"{"server": {"admission": {"query": {"in_flight": 2, "queued": 1, "burst": 3}}}}"#, "burst"),
            (#"{"server": {"embeddings": {"max_texts": 3}}}"#, "max_texts"),
        ] {
            let (bad, badDir) = try write(json)
            defer { badDir.cleanUp() }
            #expect(throws: QuarryError.self, "\(expected)") { _ = try QuarryConfiguration.load(from: bad) }
        }
        var settings = QuarryConfiguration()
        settings.server.admission = ["queries": .init(inFlight: 0, queued: -1)]
        settings.server.idleTimeoutSeconds = 0
        settings.server.corsOrigins = ["app.example.com"]
        settings.server.embeddings.maxTokens = 0
        let problems = settings.problems().joined(separator: "\n")
        for expected in ["unknown route class 'queries'", "in_flight must be", "queued must be", "idle_timeout_seconds", "'app.example.com' is not an origin", "max_tokens"] {
            #expect(problems.contains(expected), "\(expected) in \(problems)")
        }
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

    @Test func theLLMSectionBuildsTheFallbackChain() throws {
        let (url, dir) = try write(
            #"""
            {"llm": {"base_url": "https://api.example.com/v1", "api_key": "sk-1", "model": "big",
                     "input_cost_per_million": 0.5, "output_cost_per_million": 1.5, "first_token_timeout_ms": 2000,
                     "fallbacks": [{"model": "small"}, {"base_url": "http://127.0.0.1:8000", "api_key": "local", "model": "local"}]}}
            """#
        )
        defer { dir.cleanUp() }
        var settings = try QuarryConfiguration.load(from: url)
        #expect(settings.problems().isEmpty, "\(settings.problems())")
        let chat = try #require(settings.llm.settings)
        #expect(chat.models.map(\.name) == ["big", "small", "local"])
        #expect(chat.models[1].baseURL.absoluteString == "https://api.example.com/v1" && chat.models[1].apiKey == "sk-1")
        #expect(chat.models[2].endpoint.absoluteString == "http://127.0.0.1:8000/v1/chat/completions" && chat.models[2].apiKey == "local")
        #expect(chat.models[0].inputCostPerMillion == 0.5 && chat.firstTokenTimeout == .seconds(2) && chat.totalTimeout == .seconds(120))

        try settings.applyEnvironment(["QUARRY_LLM_MODEL": "other", "QUARRY_LLM_FALLBACK_MODELS": "a, b", "QUARRY_LLM_API_KEY": "sk-2"])
        #expect(settings.llm.settings?.models.map(\.name) == ["other", "a", "b"])
        #expect(settings.llm.settings?.models.allSatisfy { $0.apiKey == "sk-2" } == true)

        // No LLM unless configured; a half-configured one is named.
        #expect(QuarryConfiguration().llm.settings == nil && QuarryConfiguration().problems().isEmpty)
        var half = QuarryConfiguration()
        half.llm.model = "gpt"
        half.llm.firstTokenTimeoutMS = 200_000
        half.llm.maxTokens = 0
        let problems = half.problems()
        #expect(problems.contains { $0.contains("llm.base_url") })
        #expect(problems.contains { $0.contains("first_token_timeout_ms") })
        #expect(problems.contains { $0.contains("llm.max_tokens") })
        var badURL = QuarryConfiguration()
        badURL.llm.baseURL = "ftp://x"
        badURL.llm.model = "m"
        #expect(badURL.problems() == ["llm.base_url must be an http(s) URL, got 'ftp://x'"])
    }
}

/// The retriever `quarry serve` builds from its settings.
@Suite struct RetrieverFactoryTests {
    @Test func theRetrieverFollowsTheSettings() async throws {
        let fixture = try StoreFixture(.sqlite)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        var settings = QuarryConfiguration()
        settings.search.fusion.lexicalWeight = 2
        settings.search.maxContextTokens = 500
        settings.server.cacheEntries = 0
        let plain = settings.makeRetriever(store: store, embedder: HashingEmbedder())
        #expect(plain.fusion == FusionSettings(denseWeight: 1, lexicalWeight: 2, k: 60, candidates: 50))
        #expect(plain.contextTokens == 500)
        #expect(plain.cache == nil)
        #expect(plain.llm == nil)

        settings.server.cacheEntries = 8
        settings.llm.baseURL = "http://127.0.0.1:9/v1"
        settings.llm.model = "small"
        settings.llm.fallbackToExtractive = false
        let full = settings.makeRetriever(store: store, embedder: HashingEmbedder())
        #expect(full.cache?.capacity == 8)
        #expect(full.llm?.client.settings.models.map(\.name) == ["small"])
        #expect(full.llm?.fallbackToExtractive == false)
        #expect(QuarryConfiguration().makeRetriever(store: store, embedder: HashingEmbedder()).llm == nil)
    }
}
