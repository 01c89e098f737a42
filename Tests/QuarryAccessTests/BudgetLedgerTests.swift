import Foundation
import QuarryAccess
import QuarryCore
import QuarryStore
import Testing

@Suite struct BudgetLedgerTests {
    /// 2026-12-15 12:00 UTC: 12 hours before the day's budgets reset, 16.5 days before the month's.
    let midDecember = Date(timeIntervalSince1970: 1_797_336_000)
    /// 2026-12-16 00:00 UTC.
    let nextDay = Date(timeIntervalSince1970: 1_797_379_200)
    /// 2026-12-01 00:00 UTC.
    let firstOfDecember = Date(timeIntervalSince1970: 1_796_083_200)
    /// 2027-01-01 00:00 UTC.
    let newYear = Date(timeIntervalSince1970: 1_798_761_600)

    /// The server's sizes when a request asks for none.
    let request = ModelRequest(defaultContextTokens: 2000, defaultCompletionTokens: 256)

    struct Setup {
        let store = MemoryDailyUsageStore()
        let monthly = MemoryUsageCounter()
        let ledger: BudgetLedger

        init(prices: PriceTable = PriceTable()) {
            ledger = BudgetLedger(quota: QuotaLedger(counter: monthly), daily: StoreDailyUsageCounter(store: store), prices: prices)
        }
    }

    func chat(_ prompt: Int, _ completion: Int, cost: Double? = nil) -> ModelUsage {
        .chat(model: "gpt-4o-mini", promptTokens: prompt, completionTokens: completion, costUSD: cost)
    }

    // MARK: - One request

    @Test func aRequestsSizesAreClampedToItsTierOrRefusedWhenAskedBeyond() throws {
        let limits = EffectiveLimits(tier: "free", maxPromptTokens: 4000, maxContextTokens: 3000, maxCompletionTokens: 512)
        func admit(context: Int? = nil, completion: Int? = nil, prompt: Int = 300) -> BudgetDecision {
            BudgetLedger.admit(
                ModelRequest(
                    contextTokens: context, completionTokens: completion, defaultContextTokens: 2000, defaultCompletionTokens: 1024,
                    promptTokens: prompt
                ),
                limits: limits
            )
        }
        // Sizes left to the server: the defaults, clamped to the tier.
        #expect(admit() == .allowed(clampedContext: 2000, clampedCompletion: 512))
        #expect(admit(context: 3000, completion: 100) == .allowed(clampedContext: 3000, clampedCompletion: 100))
        // The context is clamped to the room the prompt leaves: the caller cannot know the
        // instructions' size.
        #expect(admit(context: 3000, prompt: 1500) == .allowed(clampedContext: 2500, clampedCompletion: 512))
        #expect(admit(prompt: 3999) == .allowed(clampedContext: 1, clampedCompletion: 512))

        // Asked beyond the tier: refused, naming the setting; waiting does not help.
        let context = try #require(admit(context: 3001).exceeded)
        #expect(admit(context: 3001) == .refused(context))
        #expect(context.limit == .maxContextTokens)
        #expect(context.message == "max_context_tokens 3001 is more than tier 'free' allows (max_context_tokens 3000); ask for 3000 or fewer, or leave it out")
        #expect(context.retryAfter == nil)
        #expect(RateLimitHeaders.fields(for: context).isEmpty)
        let completion = try #require(admit(completion: 513).exceeded)
        #expect(completion.limit == .maxCompletionTokens)
        #expect(
            completion.message
                == "max_tokens 513 is more than tier 'free' allows for an answer (max_completion_tokens 512); ask for 512 or fewer, or leave it out"
        )
        let prompt = try #require(admit(prompt: 4000).exceeded)
        #expect(admit(prompt: 4000).action == "refused")
        #expect(prompt.limit == .maxPromptTokens)
        #expect(
            prompt.message
                == "the question and instructions come to about 4000 tokens, and tier 'free' allows 4000 in a prompt with its context "
                + "(max_prompt_tokens); ask a shorter question"
        )
        #expect(prompt.error.code == .rateLimited && prompt.error.limitName == "max_prompt_tokens")

        // Less room than the smallest context a query takes is refused, not passed on.
        func admit(prompt: Int, minimum: Int, limits: EffectiveLimits = limits) -> BudgetDecision {
            let request = ModelRequest(defaultContextTokens: 2000, defaultCompletionTokens: 256, promptTokens: prompt, minimumContextTokens: minimum)
            return BudgetLedger.admit(request, limits: limits)
        }
        #expect(admit(prompt: 3950, minimum: 50) == .allowed(clampedContext: 50, clampedCompletion: 256))
        #expect(admit(prompt: 3951, minimum: 50).exceeded?.limit == .maxPromptTokens)
        // A request's own small size is the retriever's to judge.
        let small = ModelRequest(contextTokens: 10, defaultContextTokens: 2000, defaultCompletionTokens: 256, minimumContextTokens: 50)
        #expect(BudgetLedger.admit(small, limits: limits) == .allowed(clampedContext: 10, clampedCompletion: 256))
        let tiny = try #require(admit(prompt: 0, minimum: 50, limits: EffectiveLimits(tier: "tiny", maxContextTokens: 40)).exceeded)
        #expect(tiny.limit == .maxContextTokens)
        #expect(tiny.message == "tier 'tiny' allows 40 tokens of context (max_context_tokens), less than the 50 a query takes; ask an operator to raise it")

        // No limits: what was asked, else the defaults.
        let free = ModelRequest(contextTokens: 9000, completionTokens: 9000, defaultContextTokens: 1, defaultCompletionTokens: 1, promptTokens: 99_999)
        #expect(BudgetLedger.admit(free, limits: .unlimited) == .allowed(clampedContext: 9000, clampedCompletion: 9000))
        #expect(BudgetLedger.admit(request, limits: .unlimited) == .allowed(clampedContext: 2000, clampedCompletion: 256))
    }

    // MARK: - Budgets over time

    @Test func aKeysDailyTokensStopItsCallsUntilMidnightUTC() async throws {
        let setup = Setup()
        let limits = EffectiveLimits(tier: "free", keyDailyTokens: 1000)
        let ledger = setup.ledger
        #expect(try await ledger.decide(request, tenant: "acme", keyID: "k1", limits: limits, at: midDecember) == .allowed(clampedContext: 2000, clampedCompletion: 256))
        try await ledger.record(chat(600, 399), tenant: "acme", keyID: "k1", at: midDecember)
        #expect(try await ledger.exhausted(tenant: "acme", keyID: "k1", limits: limits, at: midDecember) == nil)
        // The call that crosses the line was allowed to finish; the next is refused.
        try await ledger.record(chat(1, 0), tenant: "acme", keyID: "k1", at: midDecember)
        let decision = try await ledger.decide(request, tenant: "acme", keyID: "k1", limits: limits, at: midDecember)
        let exceeded = try #require(decision.exceeded)
        #expect(decision == .refused(exceeded))
        #expect(exceeded.limit == .keyDailyTokens)
        #expect(exceeded.message == "key 'k1' has used its daily LLM tokens (1000 of 1000); the budget resets on 2026-12-16")
        #expect(exceeded.retryAfter == .seconds(43_200))
        #expect(RateLimitHeaders.fields(for: exceeded).map(\.description) == ["RateLimit: \"key_daily_tokens\";r=0;t=43200", "Retry-After: 43200"])
        // Another key of the tenant has its own budget.
        #expect(try await ledger.exhausted(tenant: "acme", keyID: "k2", limits: limits, at: midDecember) == nil)
        // The last second of the day, then the first of the next.
        let lastSecond = try #require(await ledger.exhausted(tenant: "acme", keyID: "k1", limits: limits, at: nextDay.addingTimeInterval(-1)))
        #expect(lastSecond.retryAfter == .seconds(1))
        #expect(try await ledger.exhausted(tenant: "acme", keyID: "k1", limits: limits, at: nextDay) == nil)
    }

    @Test func aKeysMonthlyCostCountsEveryDayOfTheMonth() async throws {
        // $1 a million prompt tokens, $2 a million completion tokens: each call below costs $1.
        let setup = Setup(prices: PriceTable(["gpt-4o-mini": ModelPrice(inputPerMillion: 1, outputPerMillion: 2)]))
        let limits = EffectiveLimits(tier: "team", keyMonthlyCostUSD: 2)
        let ledger = setup.ledger
        #expect(try await ledger.record(chat(500_000, 250_000), tenant: "acme", keyID: "k1", at: firstOfDecember) == 1)
        #expect(try await ledger.exhausted(tenant: "acme", keyID: "k1", limits: limits, at: midDecember) == nil)
        #expect(try await ledger.record(chat(500_000, 250_000), tenant: "acme", keyID: "k1", at: midDecember) == 1)
        let exceeded = try #require(await ledger.exhausted(tenant: "acme", keyID: "k1", limits: limits, at: midDecember))
        #expect(exceeded.limit == .keyMonthlyCost)
        #expect(exceeded.message == "key 'k1' has used its monthly LLM cost ($2.00 of $2.00); the budget resets on 2027-01-01")
        #expect(exceeded.retryAfter == .seconds(1_425_600))
        #expect(exceeded.serviceLimit == ServiceLimit(policy: "key_monthly_cost_usd", remaining: 0, resetSeconds: 1_425_600))
        // A new month starts at zero; the old one's days stay counted.
        #expect(try await ledger.exhausted(tenant: "acme", keyID: "k1", limits: limits, at: newYear) == nil)
        #expect(try await ledger.daily.used(tenant: "acme", keyID: "k1", from: UsageDay("2026-12-01"), through: UsageDay("2026-12-31")).costUSD == 2)
    }

    @Test func aTenantsDailyBudgetCountsAllItsKeysAndCanAnswerExtractively() async throws {
        let setup = Setup()
        let limits = EffectiveLimits(tier: "team", maxCompletionTokens: 100, tenantDailyCostUSD: 1, onBudgetExceeded: .extractive)
        let ledger = setup.ledger
        try await ledger.record(chat(10, 10, cost: 0.6), tenant: "acme", keyID: "k1", at: midDecember)
        #expect(try await ledger.decide(request, tenant: "acme", keyID: "k3", limits: limits, at: midDecember) == .allowed(clampedContext: 2000, clampedCompletion: 100))
        try await ledger.record(chat(10, 10, cost: 0.4), tenant: "acme", keyID: "k2", at: midDecember)
        let decision = try await ledger.decide(request, tenant: "acme", keyID: "k3", limits: limits, at: midDecember)
        let exceeded = try #require(decision.exceeded)
        #expect(decision == .extractive(exceeded))
        #expect(decision.action == "extractive")
        #expect(exceeded.limit == .tenantDailyCost)
        #expect(exceeded.message == "tenant 'acme' has used its daily LLM cost ($1.00 of $1.00); the budget resets on 2026-12-16")
        #expect(exceeded.retryAfter == .seconds(43_200))
        // Another tenant is not affected.
        #expect(try await ledger.decide(request, tenant: "globex", keyID: "g1", limits: limits, at: midDecember) == .allowed(clampedContext: 2000, clampedCompletion: 100))
        // A request that asks beyond its tier is refused whatever the policy: the caller can fix it.
        let tooLong = ModelRequest(completionTokens: 200, defaultContextTokens: 2000, defaultCompletionTokens: 256)
        let refused = try await ledger.decide(tooLong, tenant: "acme", keyID: "k3", limits: limits, at: midDecember)
        #expect(refused.action == "refused" && refused.exceeded?.limit == .maxCompletionTokens)
        #expect(try await ledger.decide(request, tenant: "acme", keyID: "k3", limits: limits, at: nextDay) == .allowed(clampedContext: 2000, clampedCompletion: 100))
    }

    @Test func theTenantsMonthlyQuotaIsPartOfTheDecision() async throws {
        let setup = Setup()
        let limits = EffectiveLimits(tier: "free", monthlyTokens: 1000)
        try await setup.ledger.record(chat(900, 100), tenant: "acme", keyID: "k1", at: midDecember)
        #expect(try await setup.monthly.used(tenant: "acme", period: UsagePeriod("2026-12")) == UsageAmount(requests: 1, tokens: 1000, costUSD: 0))
        let decision = try await setup.ledger.decide(request, tenant: "acme", keyID: "k2", limits: limits, at: midDecember)
        #expect(decision.exceeded?.limit == .monthlyTokens)
        #expect(decision.exceeded?.message == "tenant 'acme' has used its monthly LLM tokens (1000 of 1000); the quota resets on 2027-01-01")
        #expect(decision.action == "refused")
    }

    @Test func theBudgetNamedIsTheOneThatResetsLast() throws {
        let limits = EffectiveLimits(
            tier: "t", monthlyTokens: 1000, keyDailyTokens: 10, keyMonthlyTokens: 100, tenantDailyCostUSD: 1
        )
        func exhausted(_ used: BudgetUsage, keyID: String? = "k1") -> LimitExceeded? {
            BudgetLedger.exhausted(used, tenant: "acme", keyID: keyID, limits: limits, at: midDecember)
        }
        let day = DailyUsageAmount(promptTokens: 10), tenantDay = DailyUsageAmount(costUSD: 1)
        let month = DailyUsageAmount(promptTokens: 60, completionTokens: 40), tenantMonth = UsageAmount(tokens: 1000)
        // Everything used up: of the two monthly ones, which reset together, the key's.
        #expect(exhausted(BudgetUsage(keyToday: day, keyThisMonth: month, tenantToday: tenantDay, tenantThisMonth: tenantMonth))?.limit == .keyMonthlyTokens)
        #expect(exhausted(BudgetUsage(keyToday: day, tenantToday: tenantDay, tenantThisMonth: tenantMonth))?.limit == .monthlyTokens)
        // Only daily ones: the key's before the tenant's.
        #expect(exhausted(BudgetUsage(keyToday: day, tenantToday: tenantDay))?.limit == .keyDailyTokens)
        #expect(exhausted(BudgetUsage(tenantToday: tenantDay))?.limit == .tenantDailyCost)
        #expect(exhausted(BudgetUsage(keyToday: DailyUsageAmount(promptTokens: 9))) == nil)
        // Without a key (the local identity) the key's budgets do not apply.
        #expect(exhausted(BudgetUsage(keyToday: day, keyThisMonth: month), keyID: nil) == nil)
        // Embedding tokens are not LLM tokens.
        #expect(exhausted(BudgetUsage(keyToday: DailyUsageAmount(embeddingTokens: 1_000_000))) == nil)
    }

    @Test func countersAreReadOnlyForTheBudgetsThatApply() async throws {
        let setup = Setup()
        let ledger = setup.ledger
        _ = try await ledger.decide(request, tenant: "acme", keyID: "k1", limits: EffectiveLimits(maxCompletionTokens: 5), at: midDecember)
        // A key budget without a key: nothing to read.
        _ = try await ledger.decide(request, tenant: "acme", keyID: nil, limits: EffectiveLimits(keyDailyTokens: 5), at: midDecember)
        #expect(setup.store.reads == 0 && setup.monthly.reads == 0)
        _ = try await ledger.decide(request, tenant: "acme", keyID: "k1", limits: EffectiveLimits(tenantDailyTokens: 5), at: midDecember)
        #expect(setup.store.reads == 1 && setup.monthly.reads == 0)
        let all = EffectiveLimits(monthlyCostUSD: 1, keyDailyTokens: 5, keyMonthlyCostUSD: 1, tenantDailyTokens: 5)
        _ = try await ledger.decide(request, tenant: "acme", keyID: "k1", limits: all, at: midDecember)
        #expect(setup.store.reads == 4 && setup.monthly.reads == 1)
    }

    // MARK: - Recording

    @Test func recordingPricesEachCallAndCountsItByKeyModelAndDay() async throws {
        let prices = PriceTable([
            "gpt-4o-mini": ModelPrice(inputPerMillion: 0.15, outputPerMillion: 0.6),
            "text-embedding-3-small": ModelPrice(embeddingPerMillion: 0.02),
        ])
        let setup = Setup(prices: prices)
        let ledger = setup.ledger
        let chatCost = 1000 * 0.15 / 1_000_000 + 500 * 0.6 / 1_000_000
        let embeddingCost = 12 * 0.02 / 1_000_000
        // The API's dated name is not in the table; the configured one is, and wins over the
        // cost the call came with.
        let reported = ModelUsage.chat(model: "gpt-4o-mini-2024-07-18", configuredModel: "gpt-4o-mini", promptTokens: 1000, completionTokens: 500, costUSD: 99)
        #expect(try await ledger.record(reported, tenant: "acme", keyID: "k1", at: midDecember) == chatCost)
        #expect(try await ledger.record(.embedding(model: "text-embedding-3-small", tokens: 12), tenant: "acme", keyID: "k1", at: midDecember) == embeddingCost)
        // A model without a price: unknown, counted as 0; or the cost it came with.
        let unpriced = ModelUsage.chat(model: "llama3", promptTokens: 10, completionTokens: 5)
        #expect(try await ledger.record(unpriced, tenant: "acme", keyID: "k1", at: midDecember) == nil)
        let local = ModelUsage.chat(model: "llama3", promptTokens: 20, completionTokens: 0, costUSD: 0.01)
        #expect(try await ledger.record(local, tenant: "acme", keyID: nil, at: midDecember) == 0.01)
        // An embedding model without a price is unknown too.
        #expect(try await ledger.record(.embedding(model: "all-MiniLM-L6-v2", tokens: 7), tenant: "acme", keyID: "k1", at: nextDay) == nil)

        #expect(setup.store.rows == [
            DailyUsageRecord(tenant: "acme", keyID: "", model: "llama3", day: "2026-12-15", requests: 1, promptTokens: 20, cost: 0.01),
            DailyUsageRecord(
                tenant: "acme", keyID: "k1", model: "gpt-4o-mini-2024-07-18", day: "2026-12-15", requests: 1, promptTokens: 1000,
                completionTokens: 500, cost: chatCost
            ),
            DailyUsageRecord(tenant: "acme", keyID: "k1", model: "llama3", day: "2026-12-15", requests: 1, promptTokens: 10, completionTokens: 5),
            DailyUsageRecord(
                tenant: "acme", keyID: "k1", model: "text-embedding-3-small", day: "2026-12-15", requests: 1, embeddingTokens: 12, cost: embeddingCost
            ),
            DailyUsageRecord(tenant: "acme", keyID: "k1", model: "all-MiniLM-L6-v2", day: "2026-12-16", requests: 1, embeddingTokens: 7),
        ])
        // The monthly quota's counters: three LLM calls and their tokens; every dollar.
        let month = try await setup.monthly.used(tenant: "acme", period: UsagePeriod("2026-12"))
        #expect(month.requests == 3 && month.tokens == 1535)
        #expect(abs(month.costUSD - (chatCost + embeddingCost + 0.01)) < 1e-15)
    }

    @Test func negativeOrNonFiniteUsageIsRefused() async {
        let ledger = Setup().ledger
        for usage in [chat(-1, 0), chat(0, -1), chat(1, 1, cost: -0.01), chat(1, 1, cost: .nan), ModelUsage.embedding(model: "e", tokens: -3)] {
            await #expect(throws: QuarryError.self, "\(usage)") { try await ledger.record(usage, tenant: "acme", keyID: "k1") }
        }
    }

    // MARK: - Read-only stores

    @Test func aReadOnlyStoreCountsInMemoryOnTopOfWhatItHolds() async throws {
        let store = MemoryDailyUsageStore()
        try await StoreDailyUsageCounter(store: store).add(
            DailyUsageAmount(requests: 1, promptTokens: 200), tenant: "acme", keyID: "k1", model: "m", day: UsageDay(containing: midDecember)
        )
        store.makeReadOnly()
        let overlay = OverlayDailyUsageCounter(base: StoreDailyUsageCounter(store: store))
        let ledger = BudgetLedger(quota: QuotaLedger(counter: OverlayUsageCounter(base: MemoryUsageCounter())), daily: overlay)
        let limits = EffectiveLimits(keyDailyTokens: 300)
        try await ledger.record(chat(100, 0), tenant: "acme", keyID: "k1", at: midDecember)
        #expect(store.rows.count == 1 && store.rows.first?.promptTokens == 200)
        #expect(try await ledger.exhausted(tenant: "acme", keyID: "k1", limits: limits, at: midDecember)?.message.contains("(300 of 300)") == true)
        #expect(try await ledger.exhausted(tenant: "acme", keyID: "k1", limits: limits, at: nextDay) == nil)
        let december15 = UsageDay(containing: midDecember)
        #expect(try await overlay.used(tenant: "acme", keyID: nil, from: december15, through: december15).promptTokens == 300)
        #expect(try await overlay.used(tenant: "beta", keyID: nil, from: december15, through: december15) == .zero)
        // Days no budget can read any more (before the previous month) are let go.
        try await overlay.add(DailyUsageAmount(requests: 1), tenant: "acme", keyID: "k1", model: "m", day: UsageDay("2027-02-01"))
        #expect(try await overlay.used(tenant: "acme", keyID: "k1", from: december15, through: december15).promptTokens == 200)
        #expect(try await overlay.used(tenant: "acme", keyID: "k1", from: UsageDay("2027-02-01"), through: UsageDay("2027-02-01")).requests == 1)
    }
}

@Suite struct UsageDayTests {
    @Test func daysAreUTCCalendarDays() throws {
        let cases: [(Double, String)] = [
            (0, "1970-01-01"), (1_709_164_800, "2024-02-29"), (1_709_251_199, "2024-02-29"), (1_709_251_200, "2024-03-01"),
            (1_797_336_000, "2026-12-15"), (1_798_761_599, "2026-12-31"), (1_798_761_600, "2027-01-01"), (-1, "1970-01-01"),
            (1e15, "9999-12-31"), (.nan, "1970-01-01"),
        ]
        for (seconds, id) in cases {
            #expect(UsageDay(containing: Date(timeIntervalSince1970: seconds)).id == id, "\(seconds)")
        }
        let day = try UsageDay("2026-12-15")
        #expect(day.start == Date(timeIntervalSince1970: 1_797_292_800))
        #expect(day.resetsAt == Date(timeIntervalSince1970: 1_797_379_200))
        #expect(day.resetDay == "2026-12-16")
        #expect(day.firstOfMonth.id == "2026-12-01" && day.month.id == "2026-12")
        #expect(try UsageDay("2026-12-31").next.id == "2027-01-01")
        #expect(try UsageDay("2026-12-31").resetDay == "2027-01-01")
        #expect(try UsageDay("2024-03-01").adding(days: -1).id == "2024-02-29")
        #expect(try UsageDay("2024-02-10").lastOfMonth.id == "2024-02-29" && UsageDay("2023-02-10").lastOfMonth.id == "2023-02-28")
        #expect(day.lastOfMonth.id == "2026-12-31" && UsageDay.last.lastOfMonth == .last)
        #expect(try UsageDay("2026-01-01").days(to: UsageDay("2026-12-31")) == 364)
        #expect(UsageDay.last.next == .last && UsageDay.first.adding(days: -5) == .first && UsageDay.first.adding(days: .max) == .last)
        #expect(try UsageDay(year: 2026, month: 12, day: 15) == day && UsageDay("2026-12-14") < day)
    }

    @Test func everyDayStartsWhereThePreviousEndsAndReadsBack() throws {
        var day = UsageDay.first
        for _ in 0..<(366 * 60) {
            let next = day.next
            #expect(next.start == day.resetsAt, "\(day)")
            #expect(UsageDay(containing: next.start.addingTimeInterval(-1)) == day)
            #expect(try UsageDay(next.id) == next)
            day = next
        }
        #expect(day.id == "2030-02-15")
    }

    @Test func onlyYYYYMMDDInTheCalendarIsADay() {
        for text in [
            "2026-12-1", "2026-13-01", "2026-00-10", "2026-12-00", "2026-12-32", "2023-02-29", "1900-02-29", "2026-04-31", "1969-12-31",
            "26-12-15", "2026/12/15", "2026-12", "2026-12-15T00:00:00Z", "", "abcd-ef-gh", "+202-12-15", "2026-+1-15",
        ] {
            #expect(throws: QuarryError.self, "\(text)") { try UsageDay(text) }
        }
        #expect(throws: Never.self) { try UsageDay("2000-02-29") }
    }
}

@Suite struct BudgetSettingsTests {
    @Test func budgetsDecodeAndReachTheEffectiveLimits() throws {
        let json = """
            {"limits": {"tiers": {"free": {"rate": 5, "monthly_tokens": 1000000, "monthly_cost_usd": 5,
                                           "max_prompt_tokens": 6000, "max_context_tokens": 4000, "max_completion_tokens": 512,
                                           "key_daily_tokens": 20000, "key_daily_cost_usd": 0.5, "key_monthly_tokens": 400000,
                                           "key_monthly_cost_usd": 2, "tenant_daily_tokens": 100000, "tenant_daily_cost_usd": 1}},
                        "default_tier": "free", "on_budget_exceeded": "extractive"}}
            """
        let configuration = try #require(try JSONDecoder().decode([String: LimitsConfiguration].self, from: Data(json.utf8))["limits"])
        #expect(configuration.problems().isEmpty)
        #expect(configuration.onBudgetExceeded == .extractive)
        #expect(try configuration.limits(keyTier: nil, tenantTier: nil) == EffectiveLimits(
            tier: "free", rate: try RateLimit(rate: 5, burst: 5), monthlyTokens: 1_000_000, monthlyCostUSD: 5, maxPromptTokens: 6000,
            maxContextTokens: 4000, maxCompletionTokens: 512, keyDailyTokens: 20_000, keyDailyCostUSD: 0.5, keyMonthlyTokens: 400_000,
            keyMonthlyCostUSD: 2, tenantDailyTokens: 100_000, tenantDailyCostUSD: 1, onBudgetExceeded: .extractive
        ))
        // Encoding writes the same keys back; refuse is the default.
        let again = try JSONDecoder().decode(LimitsConfiguration.self, from: try JSONEncoder().encode(configuration))
        #expect(again == configuration)
        #expect(try JSONDecoder().decode(LimitsConfiguration.self, from: Data("{}".utf8)).onBudgetExceeded == .refuse)
    }

    @Test func aBadActionOrAMisspeltBudgetIsNamed() {
        for (json, message) in [
            (
                #"{"limits": {"on_budget_exceeded": "ignore"}}"#,
                "limits.on_budget_exceeded must be 'refuse' or 'extractive', got 'ignore'"
            ),
            (
                #"{"limits": {"tiers": {"free": {"key_daly_tokens": 5}}}}"#,
                "unknown setting 'limits.tiers.free.key_daly_tokens' (known here: burst, ingest_jobs, key_daily_cost_usd, key_daily_tokens, "
                    + "key_monthly_cost_usd, key_monthly_tokens, max_chunks, max_completion_tokens, max_context_tokens, max_prompt_tokens, "
                    + "monthly_cost_usd, monthly_tokens, rate, tenant_daily_cost_usd, tenant_daily_tokens)"
            ),
        ] {
            do {
                _ = try JSONDecoder().decode([String: LimitsConfiguration].self, from: Data(json.utf8))
                Issue.record("\(json) was accepted")
            } catch let error as QuarryError {
                #expect(error.code == .invalidRequest)
                #expect(error.message == message)
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func everyBadBudgetIsNamed() {
        let configuration = LimitsConfiguration(tiers: [
            "a": Tier(maxPromptTokens: 0, maxContextTokens: -1, maxCompletionTokens: 0),
            "b": Tier(
                keyDailyTokens: 0, keyDailyCostUSD: -1, keyMonthlyTokens: 0, keyMonthlyCostUSD: .nan, tenantDailyTokens: 0,
                tenantDailyCostUSD: .infinity
            ),
            "c": Tier(
                monthlyTokens: 1000, monthlyCostUSD: 5, maxPromptTokens: 1000, maxContextTokens: 2000, keyDailyTokens: 500, keyDailyCostUSD: 2,
                keyMonthlyTokens: 400, keyMonthlyCostUSD: 1, tenantDailyTokens: 2000, tenantDailyCostUSD: 6
            ),
            "d": Tier(
                monthlyTokens: 1000, monthlyCostUSD: 5, maxPromptTokens: 1000, maxContextTokens: 1000, keyDailyTokens: 400, keyDailyCostUSD: 1,
                keyMonthlyTokens: 400, keyMonthlyCostUSD: 1, tenantDailyTokens: 1000, tenantDailyCostUSD: 5
            ),
        ])
        let leaveOut = "; leave it out for no limit"
        #expect(configuration.problems() == [
            "limits.tiers.a.max_prompt_tokens must be at least 1, got 0\(leaveOut)",
            "limits.tiers.a.max_context_tokens must be at least 1, got -1\(leaveOut)",
            "limits.tiers.a.max_completion_tokens must be at least 1, got 0\(leaveOut)",
            "limits.tiers.b.key_daily_tokens must be at least 1, got 0\(leaveOut)",
            "limits.tiers.b.key_monthly_tokens must be at least 1, got 0\(leaveOut)",
            "limits.tiers.b.tenant_daily_tokens must be at least 1, got 0\(leaveOut)",
            "limits.tiers.b.key_daily_cost_usd must be a positive number of US dollars, got -1\(leaveOut)",
            "limits.tiers.b.key_monthly_cost_usd must be a positive number of US dollars, got nan\(leaveOut)",
            "limits.tiers.b.tenant_daily_cost_usd must be a positive number of US dollars, got inf\(leaveOut)",
            "limits.tiers.c.max_context_tokens (2000) must not be more than max_prompt_tokens (1000): the context is part of the prompt",
            "limits.tiers.c.key_daily_tokens (500) must not be more than key_monthly_tokens (400): a day is part of its month",
            "limits.tiers.c.tenant_daily_tokens (2000) must not be more than monthly_tokens (1000): a day is part of its month",
            "limits.tiers.c.key_daily_cost_usd ($2.00) must not be more than key_monthly_cost_usd ($1.00): a day is part of its month",
            "limits.tiers.c.tenant_daily_cost_usd ($6.00) must not be more than monthly_cost_usd ($5.00): a day is part of its month",
        ])
    }

    @Test func theLimitsAreNamedAsInTheConfiguration() {
        let budgets: [LimitExceeded.Limit] = [
            .maxPromptTokens, .maxContextTokens, .maxCompletionTokens, .keyDailyTokens, .keyDailyCost, .keyMonthlyTokens, .keyMonthlyCost,
            .tenantDailyTokens, .tenantDailyCost,
        ]
        #expect(budgets.map(\.rawValue) == [
            "max_prompt_tokens", "max_context_tokens", "max_completion_tokens", "key_daily_tokens", "key_daily_cost_usd", "key_monthly_tokens",
            "key_monthly_cost_usd", "tenant_daily_tokens", "tenant_daily_cost_usd",
        ])
        // Each is a setting a tier has.
        for limit in budgets + [.monthlyTokens, .monthlyCost, .ingestJobs, .maxChunks] {
            #expect(throws: Never.self, "\(limit)") { try JSONDecoder().decode(Tier.self, from: Data("{\"\(limit.rawValue)\": 1}".utf8)) }
        }
        #expect(LimitExceeded.Limit.allCases.filter(\.isUsageBudget) == [
            .monthlyTokens, .monthlyCost, .keyDailyTokens, .keyDailyCost, .keyMonthlyTokens, .keyMonthlyCost, .tenantDailyTokens, .tenantDailyCost,
        ])
    }
}
