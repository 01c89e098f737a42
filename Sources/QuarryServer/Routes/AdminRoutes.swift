import Foundation
import Hummingbird
import QuarryAccess
import QuarryCore
import QuarryStore

/// A tenant's usage in a month, as `GET /usage` shows it: its LLM calls counted in the store, what
/// it stores now, and the limits its tier sets.
struct TenantUsage: Encodable {
    var tenant: String
    var llm: LLM
    var storage: Storage
    var limits: Limits

    /// LLM calls of the month, from `quarry_usage` (what the monthly quotas count).
    struct LLM: Encodable {
        var requests: Int64
        var tokens: Int64
        var costUSD: Double

        enum CodingKeys: String, CodingKey {
            case requests, tokens
            case costUSD = "cost_usd"
        }
    }

    /// What the tenant stores now, over all its collections (what `max_chunks` counts).
    struct Storage: Encodable {
        var collections = 0
        var documents = 0
        var chunks = 0
    }

    /// The limits of the tenant's tier (else the default tier); `null` means unlimited. Keys
    /// with a tier of their own are held to that tier instead.
    struct Limits: Encodable {
        var tier: String?
        var rate: Double?
        var burst: Int?
        var ingestJobs: Int?
        var maxChunks: Int?
        var monthlyTokens: Int?
        var monthlyCostUSD: Double?

        init(_ limits: EffectiveLimits) {
            tier = limits.tier
            rate = limits.rate?.rate
            burst = limits.rate?.burst
            ingestJobs = limits.ingestJobs
            maxChunks = limits.maxChunks
            monthlyTokens = limits.monthlyTokens
            monthlyCostUSD = limits.monthlyCostUSD
        }

        enum CodingKeys: String, CodingKey {
            case tier, rate, burst
            case ingestJobs = "ingest_jobs"
            case maxChunks = "max_chunks"
            case monthlyTokens = "monthly_tokens"
            case monthlyCostUSD = "monthly_cost_usd"
        }

        // Every field, `null` included: an absent limit would read as a forgotten one.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(tier, forKey: .tier)
            try container.encode(rate, forKey: .rate)
            try container.encode(burst, forKey: .burst)
            try container.encode(ingestJobs, forKey: .ingestJobs)
            try container.encode(maxChunks, forKey: .maxChunks)
            try container.encode(monthlyTokens, forKey: .monthlyTokens)
            try container.encode(monthlyCostUSD, forKey: .monthlyCostUSD)
        }
    }
}

/// The answer of `GET /usage`.
struct UsageReport: Encodable {
    var period: String
    var tenants: [TenantUsage]
    /// Usage by day, key and model, when the request asked for it (`from`, `to`, `key` or
    /// `group_by`); left out otherwise.
    var daily: DailyUsageReport?
}

/// Model usage from the daily counters (`quarry_usage_daily`, what the daily and key budgets
/// count), over a range of days, per tenant, key, model and day or grouped by one of them.
struct DailyUsageReport: Encodable {
    /// What the rows are grouped by; without it, one row per tenant, key, model and day.
    enum Grouping: String, Encodable, CaseIterable {
        case day, key, model
    }

    /// Calls, tokens and dollars.
    struct Counts: Equatable {
        var requests: Int64 = 0
        var promptTokens: Int64 = 0
        var completionTokens: Int64 = 0
        var embeddingTokens: Int64 = 0
        var costUSD: Double = 0

        init() {}

        init(_ record: DailyUsageRecord) {
            requests = record.requests
            promptTokens = record.promptTokens
            completionTokens = record.completionTokens
            embeddingTokens = record.embeddingTokens
            costUSD = record.cost
        }

        static func += (lhs: inout Counts, rhs: Counts) {
            lhs.requests += rhs.requests
            lhs.promptTokens += rhs.promptTokens
            lhs.completionTokens += rhs.completionTokens
            lhs.embeddingTokens += rhs.embeddingTokens
            lhs.costUSD += rhs.costUSD
        }

        func encode(into container: inout KeyedEncodingContainer<CodingKeys>) throws {
            try container.encode(requests, forKey: .requests)
            try container.encode(promptTokens, forKey: .promptTokens)
            try container.encode(completionTokens, forKey: .completionTokens)
            try container.encode(embeddingTokens, forKey: .embeddingTokens)
            // LLM tokens, prompt and completion: what the token budgets count.
            try container.encode(promptTokens + completionTokens, forKey: .tokens)
            try container.encode(costUSD, forKey: .costUSD)
        }
    }

    /// The sums over every row.
    struct Total: Encodable {
        var counts: Counts

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try counts.encode(into: &container)
        }
    }

    /// One row: a tenant, and its day, key and model unless grouped away (`null`).
    struct Row: Encodable {
        var tenant: String
        var day: String?
        var keyID: String?
        var model: String?
        var counts: Counts

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(tenant, forKey: .tenant)
            try container.encode(day, forKey: .day)
            try container.encode(keyID, forKey: .keyID)
            try container.encode(model, forKey: .model)
            try counts.encode(into: &container)
        }
    }

    enum CodingKeys: String, CodingKey {
        case from, to, key, rows, total, tenant, day, model, requests, tokens
        case groupBy = "group_by"
        case keyID = "key_id"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case embeddingTokens = "embedding_tokens"
        case costUSD = "cost_usd"
    }

    var from: String
    var to: String
    var key: String?
    var groupBy: Grouping?
    var rows: [Row]
    var total: Total

    /// The report of `records`, grouped by `grouping`; rows by tenant, then day, key and model.
    init(from: UsageDay, to: UsageDay, key: String?, groupBy grouping: Grouping?, records: [DailyUsageRecord]) {
        self.from = from.id
        self.to = to.id
        self.key = key
        self.groupBy = grouping
        var groups: [String: Row] = [:]
        var total = Counts()
        for record in records {
            var row = Row(tenant: record.tenant, day: record.day, keyID: record.keyID, model: record.model, counts: Counts())
            switch grouping {
            case .day: (row.keyID, row.model) = (nil, nil)
            case .key: (row.day, row.model) = (nil, nil)
            case .model: (row.day, row.keyID) = (nil, nil)
            case nil: break
            }
            // Fields joined with a separator no tenant, key or model contains (control characters
            // are refused everywhere they are named).
            let id = [row.tenant, row.day ?? "", row.keyID ?? "", row.model ?? ""].joined(separator: "\u{1}")
            groups[id, default: row].counts += Counts(record)
            total += Counts(record)
        }
        func order(_ row: Row) -> (String, String, String, String) { (row.tenant, row.day ?? "", row.keyID ?? "", row.model ?? "") }
        rows = groups.values.sorted { order($0) < order($1) }
        self.total = Total(counts: total)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(key, forKey: .key)
        try container.encode(groupBy, forKey: .groupBy)
        try container.encode(rows, forKey: .rows)
        try container.encode(total, forKey: .total)
    }
}

/// `GET /audit` and `GET /usage`: the audit log and the usage of a tenant, over HTTP, for its
/// admins (what `quarry audit export` and the usage store give on the command line); `GET /usage`
/// also gives the daily counters by day, key and model when asked. An admin
/// sees its own tenant only, and another tenant named in `?tenant=` does not exist for it (404);
/// an operator names any tenant, or none for all of them.
struct AdminRoutes: Sendable {
    /// The audit log, the usage counters, the tenants and the collections.
    let store: any ChunkStore
    /// The tiers a tenant's limits come from; `nil` when the server limits nothing.
    let limits: ServiceLimits?

    /// Audit rows one page holds when the request does not say.
    static let defaultAuditLimit = 100
    /// The most audit rows one page holds.
    static let maxAuditLimit = 1000
    /// The most days one daily usage report covers.
    static let maxUsageDays = 366

    func register(on router: Router<QuarryRequestContext>) {
        router.get("/audit") { request, context in
            let principal = try context.principal(for: .administer)
            let query = request.uri.queryParameters
            let tenant = try await scope(query["tenant"], principal)
            let since = try Self.date(query["since"], name: "since")
            let until = try Self.date(query["until"], name: "until")
            if let since, let until, until <= since {
                throw QuarryError(.invalidRequest, "until must be later than since (until is exclusive, since inclusive)")
            }
            let limit = try Self.integer(query["limit"], name: "limit", default: Self.defaultAuditLimit, range: 1...Self.maxAuditLimit)
            let after = try Self.integer(query["after"], name: "after", default: 0, range: 0...Int.max)
            // One row more than the page: whether there is a next page, without a request for an
            // empty one.
            let rows = try await store.auditRows(since: since, until: until, tenant: tenant, after: Int64(after), limit: limit + 1)
            let page = rows.prefix(limit)
            let next = rows.count > limit ? page.last.map { String($0.seq) } : nil
            // Written by hand: each record goes in as the bytes that were hashed.
            let body = "{\"next_after\":\(next ?? "null"),\"records\":[" + page.map(\.exportJSON).joined(separator: ",") + "]}"
            return Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body))
            )
        }
        router.get("/usage") { request, context in
            let principal = try context.principal(for: .administer)
            let query = request.uri.queryParameters
            let tenant = try await scope(query["tenant"], principal)
            let period = try query["period"].map { try UsagePeriod(String($0)) } ?? UsagePeriod(containing: Date())
            var report = UsageReport(period: period.id, tenants: try await usage(of: tenant, in: period))
            if let range = try Self.dailyRange(query, period: period) {
                // What this process held back in memory (embedding counts) is in the store first.
                try await limits?.flushUsage()
                let records = try await store.listDailyUsage(tenant: tenant, keyID: range.key, from: range.from.id, through: range.to.id)
                report.daily = DailyUsageReport(from: range.from, to: range.to, key: range.key, groupBy: range.groupBy, records: records)
            }
            return try JSON.response(report)
        }
    }

    /// The tenant a request is about: the caller's own, or the one it names. `nil` (every
    /// tenant) for an operator that names none.
    /// - Throws: `QuarryError(.invalidRequest)` for a bad tenant name; `.notFound` when an admin
    ///   names another tenant (to it, other tenants do not exist) or an operator names a tenant
    ///   that does not exist.
    private func scope(_ named: Substring?, _ principal: Principal) async throws -> String? {
        guard let named else { return principal.role == .operator ? nil : principal.tenant }
        let tenant = String(named)
        try Tenant.validate(tenant)
        if tenant == principal.tenant { return tenant }
        guard principal.role == .operator, try await knownTenants().contains(tenant) else {
            throw QuarryError(.notFound, "tenant '\(tenant)' does not exist")
        }
        return tenant
    }

    /// Every tenant: the default one, those in `quarry_tenants`, and any that owns a collection
    /// (the command line can ingest for a tenant it never created).
    private func knownTenants() async throws -> Set<String> {
        var names: Set<String> = [Tenant.default]
        names.formUnion(try await store.tenants().map(\.name))
        names.formUnion(try await store.collections().map { Tenant.owner(ofStoreName: $0.name).tenant })
        return names
    }

    /// The usage of `tenant` (of every tenant when `nil`, by name) in `period`.
    private func usage(of tenant: String?, in period: UsagePeriod) async throws -> [TenantUsage] {
        let records = try await store.listUsage(tenant: tenant, period: period.id)
        let tiers = Dictionary(try await store.tenants().map { ($0.name, $0.tier) }, uniquingKeysWith: { first, _ in first })
        var storage: [String: TenantUsage.Storage] = [:]
        for collection in try await store.collections() {
            let owner = Tenant.owner(ofStoreName: collection.name).tenant
            guard tenant.map({ $0 == owner }) ?? true else { continue }
            storage[owner, default: .init()].collections += 1
            storage[owner, default: .init()].documents += collection.documentCount
            storage[owner, default: .init()].chunks += collection.chunkCount
        }
        let names: [String] =
            if let tenant {
                [tenant]
            } else {
                Set([Tenant.default]).union(tiers.keys).union(storage.keys).union(records.map(\.tenant)).sorted()
            }
        return try names.map { name in
            let used = records.first { $0.tenant == name }
            // The tenant's own tier, as a key that names none gets it (`ServiceLimits.effective`);
            // a server without limits holds no one to a tier, whatever the tenant names.
            let effective = try limits?.configuration.limits(keyTier: nil, tenantTier: tiers[name] ?? nil) ?? .unlimited
            return TenantUsage(
                tenant: name,
                llm: .init(requests: used?.requests ?? 0, tokens: used?.tokens ?? 0, costUSD: used?.cost ?? 0),
                storage: storage[name] ?? .init(), limits: .init(effective)
            )
        }
    }

    /// What a `GET /usage` asks of the daily counters: `nil` when it names none of `from`, `to`,
    /// `key` and `group_by`. The range defaults to the days of `period`, and both ends count.
    /// - Throws: `QuarryError(.invalidRequest)` naming the parameter: a day not written
    ///   `YYYY-MM-DD`, `to` before `from`, more than `maxUsageDays` days, a bad key id or grouping.
    static func dailyRange(
        _ query: Parameters, period: UsagePeriod
    ) throws -> (from: UsageDay, to: UsageDay, key: String?, groupBy: DailyUsageReport.Grouping?)? {
        guard ["from", "to", "key", "group_by"].contains(where: { query[$0[...]] != nil }) else { return nil }
        func day(_ name: String) throws -> UsageDay? {
            guard let value = query[name[...]] else { return nil }
            do {
                return try UsageDay(String(value))
            } catch {
                throw QuarryError(
                    .invalidRequest, "\(name) must be a day written YYYY-MM-DD, from 1970-01-01 to 9999-12-31 (2026-12-01), not '\(value)'"
                )
            }
        }
        let month = UsageDay(containing: period.start)
        let from = try day("from") ?? month
        let to = try day("to") ?? month.lastOfMonth
        guard from <= to else { throw QuarryError(.invalidRequest, "to (\(to)) must not be before from (\(from)); both days are included") }
        let days = from.days(to: to) + 1
        guard days <= maxUsageDays else {
            throw QuarryError(.invalidRequest, "from \(from) to \(to) is \(days) days; ask for at most \(maxUsageDays) days at a time")
        }
        var key: String?
        if let value = query["key"] {
            let allowed = value.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
            }
            guard (1...64).contains(value.utf8.count), allowed else {
                throw QuarryError(.invalidRequest, "key must be a key id as GET /keys shows it (1-64 letters, digits, '-' or '_'), not '\(value)'")
            }
            key = String(value)
        }
        var groupBy: DailyUsageReport.Grouping?
        if let value = query["group_by"] {
            guard let grouping = DailyUsageReport.Grouping(rawValue: String(value)) else {
                let choices = DailyUsageReport.Grouping.allCases.map(\.rawValue).joined(separator: ", ")
                throw QuarryError(.invalidRequest, "group_by must be one of \(choices), not '\(value)'")
            }
            groupBy = grouping
        }
        return (from, to, key, groupBy)
    }

    /// An ISO 8601 date (`2026-12-01`, midnight UTC) or time (`2026-12-01T09:00:00Z`, with or
    /// without fractional seconds, any offset) from the query; `nil` when absent.
    /// - Throws: `QuarryError(.invalidRequest)` naming the parameter and the forms it takes.
    static func date(_ value: Substring?, name: String) throws -> Date? {
        guard let value else { return nil }
        if let date = time(String(value)) { return date }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        if let date = formatter.date(from: String(value)) { return date }
        throw QuarryError(
            .invalidRequest, "\(name) must be an ISO 8601 date (2026-12-01) or time (2026-12-01T09:00:00Z), not '\(value)'"
        )
    }

    /// An RFC 3339 time (`2026-12-01T09:00:00Z`, with or without fractional seconds, any
    /// offset), as the document's `date-time` format says; `nil` for anything else.
    static func time(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// An integer from the query in `range`; `fallback` when absent.
    /// - Throws: `QuarryError(.invalidRequest)` naming the parameter and its range.
    static func integer(_ value: Substring?, name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let value else { return fallback }
        guard let number = Int(value), range.contains(number) else {
            let bounds = range.upperBound == Int.max ? "of \(range.lowerBound) or more" : "in \(range.lowerBound)...\(range.upperBound)"
            throw QuarryError(.invalidRequest, "\(name) must be an integer \(bounds), not '\(value)'")
        }
        return number
    }
}
