import ArgumentParser
import Foundation
import Hummingbird
import Logging
import QuarryAccess
import QuarryConfig
import QuarryEmbedding
import QuarryEval
import QuarryIngest
import QuarryServer
import QuarryStore
import ServiceLifecycle

/// `quarry serve`: the HTTP API.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API (POST /query, /search, /ingest, /v1/embeddings; GET /health, /metrics, ...).",
        discussion: """
            Settings come from defaults, then a JSON file (--config FILE or $QUARRY_CONFIG), then \
            QUARRY_* environment variables, then these options; see docs/configuration.md.
            """
    )

    @OptionGroup var options: CommonOptions

    @OptionGroup var readOnly: ReadOnlyOption

    @Option(help: "A JSON configuration file (default: $QUARRY_CONFIG).")
    var config: String?

    @Option(help: "Address to listen on (default: 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on; 0 picks a free one (default: 8080).")
    var port: Int?

    @Option(help: "A folder under which POST /ingest may read (repeatable); without one, POST /ingest is refused.")
    var ingestRoot: [String] = []

    @Option(help: "A folder of eval reports (quarry eval --html) served at GET /reports and shown in the console.")
    var reports: String?

    @Option(help: "Query results kept in the exact-match result cache; 0 turns it off (default: 1024).")
    var cacheEntries: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default: info).")
    var logLevel: String?

    @Option(help: "Log format: text, or json (one object per line, for log pipelines) (default: text).")
    var logFormat: String?

    @Flag(help: "Serve without API keys on any address: every request acts as the operator. Only for trusted networks.")
    var noAuth = false

    @Option(help: "A host name the server answers to (repeatable; default: loopback names on loopback, any elsewhere).")
    var allowedHost: [String] = []

    @Option(help: "A web origin whose pages may call the API, or * (repeatable; default: none, CORS off).")
    var corsOrigin: [String] = []

    @Option(help: "How the audit log keeps query text: full, hash (SHA-256) or off (default: hash).")
    var auditQueries: String = "hash"

    /// Defaults, then the file, then the environment, then the command line.
    func settings() throws -> QuarryConfiguration {
        try options.settings(file: config) { settings in
            if let host { settings.server.host = host }
            if let port { settings.server.port = port }
            if !ingestRoot.isEmpty { settings.server.ingestRoots = ingestRoot }
            if let reports { settings.server.reportsDir = reports }
            if let cacheEntries { settings.server.cacheEntries = cacheEntries }
            if let logLevel { settings.server.logLevel = logLevel }
            if let logFormat { settings.server.logFormat = logFormat }
            if !allowedHost.isEmpty { settings.server.allowedHosts = allowedHost }
            if !corsOrigin.isEmpty { settings.server.corsOrigins = corsOrigin }
            readOnly.apply(to: &settings)
        }
    }

    func run() async throws {
        let settings = try settings()
        if settings.server.logFormat == "json" {
            LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        }
        var logger = Logger(label: "quarry")
        logger.logLevel = Logger.Level(rawValue: settings.server.logLevel) ?? .info
        let store = try await settings.openStore()
        logger.info("store", metadata: ["backend": "\(settings.backend)", "at": "\(settings.storeDescription)"])
        if let reason = store.readOnlyReason {
            logger.notice("the store is read-only: it answers queries, writes get 503 read_only", metadata: ["reason": "\(reason)"])
        }
        let embedder = try settings.openEmbedder()
        let roots = settings.server.ingestRoots.map { URL(fileURLWithPath: $0, isDirectory: true) }
        let jobs = IngestJobs(store: store, embedder: embedder, roots: roots, logger: logger)
        // Queries arriving while the encoder is busy are embedded together in its next pass.
        let retriever = settings.makeRetriever(store: store, embedder: CoalescingEmbedder(embedder))
        if let chat = settings.llm.settings {
            logger.info("LLM answers enabled", metadata: ["models": "\(chat.models.map(\.name).joined(separator: " → "))"])
        }
        let host = settings.server.host
        // Each key's last use, noted per request and written every few seconds (not on a read-only store).
        let keyUses = store.readOnlyReason != nil ? nil : KeyUseRecorder(store: store) { [logger] error in
            logger.error("the keys' last use could not be written; kept to try again: \(error)")
        }
        let keyRing = try await Self.keyRing(store: store, host: host, noAuth: noAuth, uses: keyUses, logger: logger)
        guard let queryMode = AuditQueryMode(rawValue: auditQueries) else {
            throw ValidationError("--audit-queries must be full, hash or off")
        }
        let audit = AuditService(store: store, queryMode: queryMode, logger: logger, readOnly: store.readOnlyReason != nil)
        // Built also without tiers: it counts what every model call uses (GET /usage).
        let limits = ServiceLimits(
            configuration: settings.limits, usage: store, prices: settings.prices, readOnly: store.readOnlyReason != nil, logger: logger
        )
        let app = buildApplication(
            retriever: retriever, store: store,
            configuration: Self.serverConfiguration(settings.server),
            jobs: jobs, keyRing: keyRing,
            limits: limits,
            audit: audit.log,
            conversations: Conversations(
                store: store, ttl: .seconds(settings.sessions.ttlSeconds), historyTurns: settings.sessions.historyTurns,
                rewriter: settings.sessions.rewriter(llm: retriever.llm) { [embedder] in embedder.tokenCount($0) }
            ),
            reports: try settings.server.reportsDir.map { try ReportLibrary(folder: URL(fileURLWithPath: $0, isDirectory: true)) },
            console: settings.server.console ? ConsoleAssets.fromEnvironment() : nil,
            logger: logger
        ) { boundPort in
            let url = "http://\(host):\(boundPort ?? 0)"
            // Written straight to the file handle, unbuffered, so it shows at once even when piped.
            FileHandle.standardOutput.write(
                Data(
                """
                Quarry is serving on \(url)
                \(settings.server.console ? "The web console: \(url)/\n" : "")Try:
                  curl -s \(url)/query -H 'Content-Type: application/json' \\
                       -d '{"query": "How does WAL mode work?", "top_k": 3}'

                """.utf8
                )
            )
        }
        // On SIGTERM or SIGINT, services stop in reverse order: first the ingest jobs, at their
        // next batch boundary (what they wrote stays consistent and the next ingest resumes it),
        // then the server, which stops accepting connections and lets requests in flight finish,
        // then the usage counts and keys' last use held back in memory and the audit log are
        // written, and last the store closes its connections and threads.
        let services = ServiceGroup(
            configuration: .init(
                services: ([store, audit] as [any Service]) + (limits.usageWriter.map { [$0] } ?? [])
                    + (keyUses.map { uses in [PeriodicWriter(interval: .seconds(5)) { try await uses.flush() }] } ?? []) + [app, jobs],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
            )
        )
        try await services.run()
        logger.info("stopped")
    }

    /// The HTTP server's settings from the configuration's `server` section.
    static func serverConfiguration(_ server: QuarryConfiguration.Server) -> ServerConfiguration {
        var admission = AdmissionLimit.defaults
        for (name, setting) in server.admission {
            if let routeClass = RouteClass(rawValue: name) {
                admission[routeClass] = AdmissionLimit(inFlight: setting.inFlight, queued: setting.queued)
            }
        }
        return ServerConfiguration(
            host: server.host, port: server.port, maxBodyBytes: server.maxBodyBytes, defaultTopK: server.defaultTopK,
            idleTimeout: .milliseconds(Int64(server.idleTimeoutSeconds * 1000)),
            headerTimeout: .milliseconds(Int64(server.headerTimeoutSeconds * 1000)),
            site: SitePolicy(allowedHosts: server.allowedHosts, corsOrigins: server.corsOrigins),
            admission: admission, admissionWait: .milliseconds(Int64(server.admissionWaitSeconds * 1000)),
            embeddings: EmbeddingLimits(maxInputs: server.embeddings.maxInputs, maxTokens: server.embeddings.maxTokens)
        )
    }

    /// Secure by default: on loopback a server needs keys once one exists (local use works as
    /// before until then); on any other address it needs them always, and refuses to start
    /// without one unless told `--no-auth`.
    static func keyRing(store: any KeyStore, host: String, noAuth: Bool, uses: KeyUseRecorder?, logger: Logger) async throws -> KeyRing {
        if noAuth {
            logger.warning(
                "AUTHENTICATION IS OFF (--no-auth): anyone who can reach \(host) can read, ingest and delete everything. Use only on a trusted network."
            )
            return KeyRing(store: store, mode: .open, uses: uses)
        }
        if isLoopback(host) { return KeyRing(store: store, mode: .whenKeysExist, uses: uses) }
        guard try await store.keyCount() > 0 else {
            throw ValidationError(
                """
                refusing to serve on \(host) without API keys: create one with `quarry keys create --role admin` \
                (same --store or --backend), or pass --no-auth on a trusted network
                """
            )
        }
        return KeyRing(store: store, mode: .required, uses: uses)
    }

    static func isLoopback(_ host: String) -> Bool {
        SitePolicy.isLoopback(host)
    }
}
