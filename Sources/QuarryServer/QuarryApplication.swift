import Hummingbird
import QuarryAccess
import QuarryEval
import Logging
import NIOCore
import QuarryEmbedding
import QuarryIngest
import QuarryRetrieval
import QuarryStore

/// Settings of the HTTP server.
public struct ServerConfiguration: Sendable {
    /// Address to listen on; loopback by default.
    public var host: String
    /// Port to listen on; 0 picks a free one.
    public var port: Int
    /// Largest accepted request body.
    public var maxBodyBytes: Int
    /// `top_k` when a request names none.
    public var defaultTopK: Int
    /// A connection with no request read or response written for this long is closed.
    public var idleTimeout: Duration
    /// A connection whose first request head has not arrived this long after it opened is closed.
    public var headerTimeout: Duration
    /// Host names answered to, and origins allowed to call from a browser.
    public var site: SitePolicy
    /// Requests running and waiting per route class.
    public var admission: [RouteClass: AdmissionLimit]
    /// Longest a request waits for its turn before a 503.
    public var admissionWait: Duration
    /// Limits of one `POST /v1/embeddings` call.
    public var embeddings: EmbeddingLimits

    /// Creates a configuration.
    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20, defaultTopK: Int = 5,
        idleTimeout: Duration = .seconds(30), headerTimeout: Duration = .seconds(10), site: SitePolicy = SitePolicy(),
        admission: [RouteClass: AdmissionLimit] = AdmissionLimit.defaults, admissionWait: Duration = .seconds(30),
        embeddings: EmbeddingLimits = EmbeddingLimits()
    ) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.defaultTopK = defaultTopK
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.site = site
        self.admission = admission
        self.admissionWait = admissionWait
        self.embeddings = embeddings
    }
}

/// What one `POST /v1/embeddings` call may ask for, and which calls count as interactive.
public struct EmbeddingLimits: Sendable, Equatable {
    /// Most texts in one call (400 above).
    public var maxInputs: Int
    /// Most word pieces embedded in one call, after truncation to the model's window (400 above).
    public var maxTokens: Int
    /// Calls of at most this many texts and `interactiveTokens` word pieces go ahead of ingest
    /// work like queries; larger ones are bulk work, run in slices behind queries.
    public var interactiveInputs: Int
    /// See `interactiveInputs`.
    public var interactiveTokens: Int

    /// The defaults: 256 texts and 32,768 word pieces (some six seconds of the encoder on two
    /// cores); up to 16 texts and 2,048 pieces count as interactive.
    public init(maxInputs: Int = 256, maxTokens: Int = 32_768, interactiveInputs: Int = 16, interactiveTokens: Int = 2_048) {
        self.maxInputs = maxInputs
        self.maxTokens = maxTokens
        self.interactiveInputs = interactiveInputs
        self.interactiveTokens = interactiveTokens
    }
}

/// Builds the Quarry HTTP application: routes, JSON errors, request logging.
/// - Parameters:
///   - retriever: answers queries.
///   - store: lists collections.
///   - configuration: where to listen and request limits.
///   - jobs: runs `POST /ingest` jobs; `nil` answers those routes with 403.
///   - keyRing: who a request is; `nil` for keys from `store`, needed once any exists (as on
///     loopback).
///   - limits: rate limits and quotas; `nil` for none.
///   - audit: the audit log state-changing requests and queries are recorded in; `nil` for none.
///   - conversations: sessions; `nil` for sessions in `store` with the defaults and the
///     deterministic rewriter.
///   - reports: the eval reports `GET /reports` serves; `nil` for none (those routes answer 404).
///   - console: the web console's files, served at `/`; `nil` for no console.
///   - logger: the server's logger.
///   - onServerRunning: called with the bound port once the server listens.
/// - Returns: an application ready to `runService()` or to test.
public func buildApplication(
    retriever: Retriever, store: any ChunkStore, configuration: ServerConfiguration, jobs: IngestJobs? = nil,
    keyRing: KeyRing? = nil, limits: ServiceLimits? = nil, audit: AuditLog? = nil, conversations: Conversations? = nil,
    reports: ReportLibrary? = nil, console: ConsoleAssets? = ConsoleAssets(), logger: Logger,
    onServerRunning: @escaping @Sendable (_ port: Int?) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router(context: QuarryRequestContext.self, options: .autoGenerateHeadEndpoints)
    let metrics = ServerMetrics()
    let keyRing = keyRing ?? KeyRing(store: store, mode: .whenKeysExist)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: SiteMiddleware(policy: configuration.site.resolved(listeningOn: configuration.host)))
    router.add(middleware: AuthenticationMiddleware(keyRing: keyRing, audit: audit))
    let admission = AdmissionControl(limits: configuration.admission, maxWait: configuration.admissionWait)
    router.add(middleware: AdmissionMiddleware(admission: admission))
    if let audit { router.add(middleware: AuditMiddleware(log: audit, maxBodyBytes: configuration.maxBodyBytes)) }
    if let limits { router.add(middleware: RateLimitMiddleware(limits: limits)) }
    let conversations = conversations ?? Conversations(store: store, rewriter: DeterministicRewriter())
    QueryRoutes(
        retriever: retriever, store: store, metrics: metrics, maxBodyBytes: configuration.maxBodyBytes,
        defaultTopK: configuration.defaultTopK, limits: limits, conversations: conversations
    ).register(on: router)
    SessionRoutes(conversations: conversations, maxBodyBytes: configuration.maxBodyBytes).register(on: router)
    router.get("/openapi.json") { _, context in
        _ = try context.principal(for: .read)
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json))
        )
    }
    // Server-wide: every tenant's collections and traffic, so operators only.
    router.get("/metrics") { _, context in
        _ = try context.principal(for: .operate)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(
                byteBuffer: ByteBuffer(
                    string: metrics.render(cache: retriever.cache, semanticCache: retriever.semanticCache, collections: try await store.collections(), admission: admission)
                )
            )
        )
    }
    DocumentRoutes(store: store, maxBodyBytes: configuration.maxBodyBytes).register(on: router)
    EmbeddingRoutes(
        embedder: retriever.embedder, maxBodyBytes: configuration.maxBodyBytes, limits: configuration.embeddings, admission: admission,
        usage: limits, metrics: metrics
    )
    .register(on: router)
    let jobs = jobs ?? IngestJobs(store: store, embedder: retriever.embedder, roots: [], logger: logger)
    IngestRoutes(jobs: jobs, store: store, maxBodyBytes: configuration.maxBodyBytes, limits: limits, guardrails: retriever.guardrails, metrics: metrics)
        .register(on: router)
    KeyRoutes(keys: KeyManager(store: store), keyRing: keyRing, maxBodyBytes: configuration.maxBodyBytes).register(on: router)
    AdminRoutes(store: store, limits: limits).register(on: router)
    InfoRoutes(retriever: retriever, keyRing: keyRing, jobs: jobs, limits: limits, reports: reports).register(on: router)
    ReportRoutes(library: reports).register(on: router)
    if let console { ConsoleRoutes(assets: console).register(on: router) }
    MethodNotAllowedMiddleware.register(on: router)
    return Application(
        router: router,
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [HeaderTimeoutHandler(timeout: TimeAmount(configuration.headerTimeout))],
                idleTimeout: TimeAmount(configuration.idleTimeout)
            )
        ),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "quarry"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port) },
        logger: logger
    )
}
