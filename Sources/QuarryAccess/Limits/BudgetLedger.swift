import Foundation
import QuarryCore

/// What a key and its tenant used, as the budgets read it: the key's day and month, the tenant's
/// day, and the tenant's month (the monthly quota's counters). Amounts a check did not need are
/// left at zero.
public struct BudgetUsage: Sendable, Hashable {
    /// The key's use today.
    public var keyToday: DailyUsageAmount
    /// The key's use this month.
    public var keyThisMonth: DailyUsageAmount
    /// The tenant's use today, all keys together.
    public var tenantToday: DailyUsageAmount
    /// The tenant's use this month (`quarry_usage`, what `monthly_tokens` and `monthly_cost_usd`
    /// count).
    public var tenantThisMonth: UsageAmount

    /// Creates usage; with no arguments, none.
    public init(
        keyToday: DailyUsageAmount = .zero, keyThisMonth: DailyUsageAmount = .zero, tenantToday: DailyUsageAmount = .zero,
        tenantThisMonth: UsageAmount = .zero
    ) {
        self.keyToday = keyToday
        self.keyThisMonth = keyThisMonth
        self.tenantToday = tenantToday
        self.tenantThisMonth = tenantThisMonth
    }
}

/// The LLM budgets of a request, its key and its tenant: `decide` before a call to the chat
/// model, `record` after it (and after embedding the question).
///
/// Three kinds of limit, from the caller's tier:
/// - per request (`max_prompt_tokens`, `max_context_tokens`, `max_completion_tokens`): a size the
///   request leaves to the server is clamped to the tier's; one it asks for explicitly beyond
///   the tier's is refused, naming the setting, since quietly answering with less than asked
///   would hide the limit. The context is also clamped to the room the prompt leaves.
/// - over time (`key_daily_*`, `key_monthly_*`, `tenant_daily_*`, and the tenant's
///   `monthly_tokens`/`monthly_cost_usd`): read from the counters before the call; once one is
///   used up, the request is refused or answered extractively (`limits.on_budget_exceeded`).
///   As with `QuotaLedger`, the call that crosses the line may finish (its size is not known
///   beforehand), so a period can end slightly over, by at most the calls in flight.
///
/// Token budgets count LLM tokens (prompt and completion); cost budgets count the dollars of
/// every priced call, embeddings included. Days and months are UTC; a new one starts at zero.
public struct BudgetLedger: Sendable {
    /// The tenant's monthly quota and its counters (`quarry_usage`), fed by `record` too.
    public let quota: QuotaLedger
    /// The counters per tenant, key, model and day.
    public let daily: any DailyUsageCounter
    /// The prices that turn tokens into dollars.
    public let prices: PriceTable

    /// Creates a ledger.
    /// - Parameters:
    ///   - quota: the tenant's monthly quota (the server's existing `QuotaLedger`).
    ///   - daily: the daily counters (`StoreDailyUsageCounter`, wrapped in
    ///     `DeferredDailyUsageCounter` on a writable store, `OverlayDailyUsageCounter` on a
    ///     read-only one).
    ///   - prices: the `prices` section of the configuration.
    public init(quota: QuotaLedger, daily: any DailyUsageCounter, prices: PriceTable = PriceTable()) {
        self.quota = quota
        self.daily = daily
        self.prices = prices
    }

    /// Everything before an LLM call: the request's sizes, then the budgets over time.
    /// - Parameters:
    ///   - request: the sizes the request asks for and its prompt besides the context.
    ///   - tenant: the tenant the request acts in.
    ///   - keyID: its key; `nil` for the local identity (whose limits are none).
    ///   - limits: its effective limits (the counters are not read when they set no budget).
    ///   - date: now.
    /// - Returns: `.allowed` with the sizes to use; `.refused` for a per-request limit, or a
    ///   used-up budget under `refuse`; `.extractive` for a used-up budget under `extractive`.
    /// - Throws: the store's error when the counters cannot be read.
    public func decide(
        _ request: ModelRequest, tenant: String, keyID: String?, limits: EffectiveLimits, at date: Date = Date()
    ) async throws -> BudgetDecision {
        let admitted = Self.admit(request, limits: limits)
        guard case .allowed = admitted, let exceeded = try await exhausted(tenant: tenant, keyID: keyID, limits: limits, at: date) else {
            return admitted
        }
        switch limits.onBudgetExceeded {
        case .refuse: return .refused(exceeded)
        case .extractive: return .extractive(exceeded)
        }
    }

    /// The per-request check, which reads nothing: the sizes to use, or the limit a request
    /// asked beyond.
    /// - Returns: `.allowed` with the context size (asked, else the default; at most
    ///   `max_context_tokens` and the room `max_prompt_tokens` leaves after `promptTokens`) and the
    ///   answer length (asked, else the default; at most `max_completion_tokens`); `.refused` when
    ///   the request explicitly asks for more context or a longer answer than its tier allows, or
    ///   its prompt leaves less than `minimumContextTokens` of `max_prompt_tokens` for context
    ///   (no `Retry-After`: waiting does not help).
    public static func admit(_ request: ModelRequest, limits: EffectiveLimits) -> BudgetDecision {
        let tier = limits.tier.map { "tier '\($0)'" } ?? "the tier"
        var context = request.contextTokens ?? request.defaultContextTokens
        var completion = request.completionTokens ?? request.defaultCompletionTokens
        if let maximum = limits.maxContextTokens {
            if let asked = request.contextTokens, asked > maximum {
                return .refused(
                    LimitExceeded(
                        limit: .maxContextTokens,
                        message: "max_context_tokens \(asked) is more than \(tier) allows (max_context_tokens \(maximum)); "
                            + "ask for \(maximum) or fewer, or leave it out"
                    )
                )
            }
            context = min(context, maximum)
            guard maximum >= request.minimumContextTokens else {
                return .refused(
                    LimitExceeded(
                        limit: .maxContextTokens,
                        message: "\(tier) allows \(maximum) tokens of context (max_context_tokens), less than the "
                            + "\(request.minimumContextTokens) a query takes; ask an operator to raise it"
                    )
                )
            }
        }
        if let maximum = limits.maxCompletionTokens {
            if let asked = request.completionTokens, asked > maximum {
                return .refused(
                    LimitExceeded(
                        limit: .maxCompletionTokens,
                        message: "max_tokens \(asked) is more than \(tier) allows for an answer (max_completion_tokens \(maximum)); "
                            + "ask for \(maximum) or fewer, or leave it out"
                    )
                )
            }
            completion = min(completion, maximum)
        }
        if let maximum = limits.maxPromptTokens {
            let prompt = max(0, request.promptTokens)
            let room = maximum - min(prompt, maximum)
            guard room >= max(1, request.minimumContextTokens) else {
                return .refused(
                    LimitExceeded(
                        limit: .maxPromptTokens,
                        message: "the question and instructions come to about \(prompt) tokens, and \(tier) allows \(maximum) in a prompt "
                            + "with its context (max_prompt_tokens); ask a shorter question"
                    )
                )
            }
            context = min(context, room)
        }
        return .allowed(clampedContext: context, clampedCompletion: completion)
    }

    /// The budget over time that `tenant` or key `keyID` has used up, if any.
    /// - Returns: `nil` while every budget has something left (or none applies).
    /// - Throws: the store's error when the counters cannot be read.
    public func exhausted(tenant: String, keyID: String?, limits: EffectiveLimits, at date: Date = Date()) async throws -> LimitExceeded? {
        guard limits.hasUsageBudget else { return nil }
        let used = try await used(tenant: tenant, keyID: keyID, limits: limits, at: date)
        return Self.exhausted(used, tenant: tenant, keyID: keyID, limits: limits, at: date)
    }

    /// Reads the counters `limits` needs: the key's day and month, the tenant's day and month.
    /// - Throws: the store's error when the counters cannot be read.
    public func used(tenant: String, keyID: String?, limits: EffectiveLimits, at date: Date = Date()) async throws -> BudgetUsage {
        let today = UsageDay(containing: date)
        var used = BudgetUsage()
        if let keyID {
            if limits.hasKeyDailyBudget { used.keyToday = try await daily.used(tenant: tenant, keyID: keyID, from: today, through: today) }
            if limits.hasKeyMonthlyBudget {
                used.keyThisMonth = try await daily.used(tenant: tenant, keyID: keyID, from: today.firstOfMonth, through: today)
            }
        }
        if limits.hasTenantDailyBudget { used.tenantToday = try await daily.used(tenant: tenant, keyID: nil, from: today, through: today) }
        if limits.hasMonthlyQuota { used.tenantThisMonth = try await quota.counter.used(tenant: tenant, period: today.month) }
        return used
    }

    /// The budget `used` has used up, if any: the pure decision behind `exhausted`.
    ///
    /// When several are used up, the one that resets last is named (its `Retry-After` is the
    /// wait that helps); among those that reset together, the key's before the tenant's, tokens
    /// before dollars.
    /// - Parameters:
    ///   - used: what the key and tenant used, as of `date`.
    ///   - tenant: the tenant, for the message.
    ///   - keyID: the key, for the message; the key's budgets do not apply without one.
    ///   - limits: the limits.
    ///   - date: now.
    public static func exhausted(_ used: BudgetUsage, tenant: String, keyID: String?, limits: EffectiveLimits, at date: Date) -> LimitExceeded? {
        let today = UsageDay(containing: date)
        let month = today.month
        var reached: [LimitExceeded] = []
        func check(
            _ who: String, _ period: String, resetsAt: Date, resetDay: String, used: DailyUsageAmount, tokens: Int?, cost: Double?,
            _ limits: (tokens: LimitExceeded.Limit, cost: LimitExceeded.Limit)
        ) {
            let wait = Duration.seconds(max(0, resetsAt.timeIntervalSince(date)))
            func exceeded(_ limit: LimitExceeded.Limit, _ what: String) -> LimitExceeded {
                LimitExceeded(
                    limit: limit, message: "\(who) has used its \(period) LLM \(what); the budget resets on \(resetDay)", retryAfter: wait,
                    serviceLimit: ServiceLimit(policy: limit.rawValue, remaining: 0, resetSeconds: RateLimitHeaders.retryAfterSeconds(wait))
                )
            }
            if let tokens, used.llmTokens >= Int64(tokens) {
                reached.append(exceeded(limits.tokens, "tokens (\(used.llmTokens) of \(tokens))"))
            }
            // Sums of floating-point dollars drift by a few ulps: a billionth of a dollar short
            // counts as reached.
            if let cost, used.costUSD + 1e-9 >= cost {
                reached.append(exceeded(limits.cost, "cost (\(LimitFormat.dollars(used.costUSD)) of \(LimitFormat.dollars(cost)))"))
            }
        }
        if let keyID {
            check(
                "key '\(keyID)'", "daily", resetsAt: today.resetsAt, resetDay: today.resetDay, used: used.keyToday, tokens: limits.keyDailyTokens,
                cost: limits.keyDailyCostUSD, (.keyDailyTokens, .keyDailyCost)
            )
            check(
                "key '\(keyID)'", "monthly", resetsAt: month.resetsAt, resetDay: month.resetDay, used: used.keyThisMonth,
                tokens: limits.keyMonthlyTokens, cost: limits.keyMonthlyCostUSD, (.keyMonthlyTokens, .keyMonthlyCost)
            )
        }
        check(
            "tenant '\(tenant)'", "daily", resetsAt: today.resetsAt, resetDay: today.resetDay, used: used.tenantToday,
            tokens: limits.tenantDailyTokens, cost: limits.tenantDailyCostUSD, (.tenantDailyTokens, .tenantDailyCost)
        )
        if let monthly = QuotaLedger.exceeded(tenant: tenant, used: used.tenantThisMonth, limits: limits, at: date) { reached.append(monthly) }
        // The first of those that reset last: `max(by:)` would keep the last of equals.
        return reached.reduce(nil) { best, next in
            guard let best else { return next }
            return (next.retryAfter ?? .zero) > (best.retryAfter ?? .zero) ? next : best
        }
    }

    /// Records, after a model call, what it used: in the daily counters of the tenant, key, model
    /// and day, and in the tenant's monthly counters (a chat call counts as one LLM call there;
    /// an embedding adds its cost only). An embedding's daily counts may be written later
    /// (`DailyUsageCounter.addSoon`); budgets read them at once all the same.
    /// - Parameters:
    ///   - usage: the call.
    ///   - tenant: the tenant the request acts in.
    ///   - keyID: its key; `nil` for the local identity (counted under key `""`).
    ///   - date: now.
    /// - Returns: the call's cost in US dollars from the price table, else the cost it came with;
    ///   `nil` when neither is known (then counted as 0).
    /// - Throws: `QuarryError(.invalidRequest)` for negative or non-finite amounts; the store's
    ///   error when the counters cannot be written.
    @discardableResult
    public func record(_ usage: ModelUsage, tenant: String, keyID: String?, at date: Date = Date()) async throws -> Double? {
        let known = usage.knownCostUSD.map { $0.isFinite && $0 >= 0 } ?? true
        guard usage.promptTokens >= 0, usage.completionTokens >= 0, usage.embeddingTokens >= 0, known else {
            throw QuarryError(
                .invalidRequest,
                "model usage must not be negative (prompt \(usage.promptTokens), completion \(usage.completionTokens), "
                    + "embedding \(usage.embeddingTokens), cost \(usage.knownCostUSD.map { String($0) } ?? "unknown"))"
            )
        }
        let cost =
            prices.cost(
                of: usage.model, configuredAs: usage.configuredModel, promptTokens: usage.promptTokens, completionTokens: usage.completionTokens,
                embeddingTokens: usage.embeddingTokens
            ) ?? usage.knownCostUSD
        let day = UsageDay(containing: date)
        let model = usage.model.isEmpty ? (usage.configuredModel ?? "") : usage.model
        let amount = DailyUsageAmount(
            requests: 1, promptTokens: Int64(usage.promptTokens), completionTokens: Int64(usage.completionTokens),
            embeddingTokens: Int64(usage.embeddingTokens), costUSD: cost ?? 0
        )
        let counted = model.isEmpty ? "unknown" : model
        if usage.kind == .embedding {
            // A few word pieces of every question, call and ingest batch: written together.
            try await daily.addSoon(amount, tenant: tenant, keyID: keyID ?? "", model: counted, day: day)
        } else {
            try await daily.add(amount, tenant: tenant, keyID: keyID ?? "", model: counted, day: day)
        }
        let monthly = UsageAmount(requests: usage.kind == .chat ? 1 : 0, tokens: Int64(usage.llmTokens), costUSD: cost ?? 0)
        if monthly != .zero { try await quota.counter.add(monthly, tenant: tenant, period: day.month) }
        return cost
    }
}
