import Hummingbird
import Logging
import ServiceLifecycle
import QuarryAccess
import QuarryCore
import QuarryStore

/// The limits a server holds its callers to: the configured tiers, each key's request bucket, and
/// each tenant's monthly LLM quota counted in the store.
public struct ServiceLimits: Sendable {
    /// The tiers.
    public let configuration: LimitsConfiguration
    let rateLimiter: RateLimiter
    let quota: QuotaLedger
    /// Budgets per request, key and tenant, and what every model call used (it shares `quota`,
    /// so a read-only server's monthly counts live in one overlay).
    let budget: BudgetLedger
    /// Each tenant's ingest jobs queued or running in this process.
    let ingestJobs = IngestJobLimiter()
    /// Writes the embedding counts held back in memory every second and at shutdown; `nil` on a
    /// read-only store. List it after the store and before the server.
    public let usageWriter: PeriodicWriter?

    /// Limits from `configuration`, with monthly and daily usage counted in `usage`.
    /// - Parameters:
    ///   - prices: what model calls cost, by model name.
    ///   - clock: the clock of the request buckets (tests move it by hand).
    ///   - readOnly: `usage` takes no writes: this process's usage is added in memory on top of
    ///     what it holds (`OverlayUsageCounter`, `OverlayDailyUsageCounter`).
    ///   - logger: where failed writes of held-back usage counts are reported.
    public init(
        configuration: LimitsConfiguration, usage: any UsageStore & DailyUsageStore, prices: PriceTable = PriceTable(),
        clock: any MonotonicClock = SystemMonotonicClock(), readOnly: Bool = false, logger: Logger = Logger(label: "quarry.usage")
    ) {
        self.configuration = configuration
        self.rateLimiter = RateLimiter(clock: clock)
        let counter = StoreUsageCounter(store: usage)
        let quota = QuotaLedger(counter: readOnly ? OverlayUsageCounter(base: counter) : counter)
        self.quota = quota
        let daily = StoreDailyUsageCounter(store: usage)
        if readOnly {
            self.usageWriter = nil
            self.budget = BudgetLedger(quota: quota, daily: OverlayDailyUsageCounter(base: daily), prices: prices)
        } else {
            let deferred = DeferredDailyUsageCounter(base: daily) { error in
                logger.error("usage counts could not be written; kept to try again: \(error)")
            }
            self.usageWriter = PeriodicWriter(interval: .seconds(1)) { try await deferred.flush() }
            self.budget = BudgetLedger(quota: quota, daily: deferred, prices: prices)
        }
    }

    /// Counts what a model call of `principal` used — a chat call, or the word pieces embedded
    /// for its question, its `/v1/embeddings` call or its ingest job's batch — in the budgets'
    /// counters (`BudgetLedger.record`; embeddings are written together about once a second) and
    /// in the metrics.
    /// - Returns: the call's cost in US dollars, as `BudgetLedger.record` answers it.
    @discardableResult
    func record(_ usage: ModelUsage, for principal: Principal, metrics: ServerMetrics) async throws -> Double? {
        let cost = try await budget.record(usage, tenant: principal.tenant, keyID: principal.keyID)
        metrics.recordUsage(tenant: principal.tenant, usage: usage, costUSD: cost)
        return cost
    }

    /// Writes what every model call used before `GET /usage` reads the store (embeddings are
    /// counted in memory and written about once a second).
    func flushUsage() async throws {
        try await budget.daily.flush()
    }

    /// The limits of `principal`: none for the local identity or without configured tiers, else
    /// its key's tier (or its tenant's, or the default tier) with the key's own rate and burst.
    func effective(for principal: Principal) throws -> EffectiveLimits {
        // Without tiers nothing is limited, whatever tier a key names (a server started without
        // a limits section still counts usage, and must not refuse keys made for another one).
        guard principal.keyID != nil, !configuration.tiers.isEmpty else { return .unlimited }
        return try configuration.limits(
            keyTier: principal.tier, tenantTier: principal.tenantTier, keyRate: principal.rate, keyBurst: principal.burst
        )
    }

    /// The check an ingest job of `principal` makes before each batch it writes: the tenant's
    /// stored chunks (over all its collections, read from `store` each time) plus the batch's
    /// growth must stay within its `max_chunks`. `nil` when the tenant has no such limit.
    ///
    /// Jobs run one at a time (`IngestJobs`), so two jobs of a tenant cannot both pass on the
    /// same free room; deletes only make room.
    func storageAdmission(for principal: Principal, store: any ChunkReader) throws -> (@Sendable (Int) async throws -> Void)? {
        guard let maxChunks = try effective(for: principal).maxChunks else { return nil }
        let tenant = principal.tenant
        return { growth in
            guard growth > 0 else { return }
            let stored = try await store.collections()
                .filter { Tenant.collection(ofStoreName: $0.name, ownedBy: tenant) != nil }
                .reduce(0) { $0 + $1.chunkCount }
            try StorageLimit.check(tenant: tenant, currentChunks: stored, newChunks: growth, limit: maxChunks)
        }
    }
}

/// Holds each key to its request rate, before any route runs: a request over it is a 429 that
/// did nothing, with `Retry-After`; every limited response carries the `RateLimit` and
/// `RateLimit-Policy` fields.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = QuarryRequestContext
    let limits: ServiceLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let principal = context.identity, let keyID = principal.keyID, let rate = try limits.effective(for: principal).rate else {
            return try await next(request, context)
        }
        let decision = limits.rateLimiter.check(key: keyID, limit: rate)
        if let exceeded = LimitExceeded(decision, keyID: keyID) { throw exceeded.error }
        var response = try await next(request, context)
        for field in RateLimitHeaders.fields(for: decision) {
            if let name = HTTPFields.Element.Name(field.name) { response.headers[name] = field.value }
        }
        return response
    }
}
