import Foundation
import QuarryAccess
import QuarryCore
import Testing

@Suite struct QuotaLedgerTests {
    /// 2026-12-15 12:00 UTC, 16.5 days before the quota resets.
    let midDecember = Date(timeIntervalSince1970: 1_797_336_000)
    /// 2027-01-01 00:00 UTC.
    let newYear = Date(timeIntervalSince1970: 1_798_761_600)

    let limits = EffectiveLimits(tier: "free", monthlyTokens: 1_000_000, monthlyCostUSD: 5)

    func limitExceeded(_ body: () async throws -> Void) async -> LimitExceeded? {
        do {
            try await body()
            return nil
        } catch let error as QuarryError {
            #expect(error.code == .rateLimited)
            return LimitExceeded.find(in: error)
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test func theTokensQuotaStopsCallsUntilTheMonthEnds() async throws {
        let counter = MemoryUsageCounter()
        let ledger = QuotaLedger(counter: counter)
        try await ledger.check(tenant: "acme", limits: limits, at: midDecember)
        try await ledger.record(tenant: "acme", tokens: 999_999, costUSD: 1.25, at: midDecember)
        try await ledger.check(tenant: "acme", limits: limits, at: midDecember)
        try await ledger.record(tenant: "acme", tokens: 1, costUSD: 0.25, at: midDecember)
        #expect(try await counter.used(tenant: "acme", period: UsagePeriod("2026-12")) == UsageAmount(requests: 2, tokens: 1_000_000, costUSD: 1.5))

        let exceeded = try #require(await limitExceeded { try await ledger.check(tenant: "acme", limits: limits, at: midDecember) })
        #expect(exceeded.limit == .monthlyTokens)
        #expect(exceeded.message == "tenant 'acme' has used its monthly LLM tokens (1000000 of 1000000); the quota resets on 2027-01-01")
        #expect(exceeded.retryAfter == .seconds(1_425_600))
        #expect(RateLimitHeaders.fields(for: exceeded).map(\.description) == [
            "RateLimit: \"monthly_tokens\";r=0;t=1425600", "Retry-After: 1425600",
        ])
        // Other tenants are not affected.
        try await ledger.check(tenant: "globex", limits: limits, at: midDecember)

        // The last second of the month, then the first of the next: the counters start again.
        let lastSecond = newYear.addingTimeInterval(-1)
        let atTheEnd = try #require(await limitExceeded { try await ledger.check(tenant: "acme", limits: limits, at: lastSecond) })
        #expect(atTheEnd.retryAfter == .seconds(1))
        try await ledger.check(tenant: "acme", limits: limits, at: newYear)
        try await ledger.record(tenant: "acme", tokens: 10, costUSD: 0, at: newYear)
        #expect(try await counter.used(tenant: "acme", period: UsagePeriod("2027-01")) == UsageAmount(requests: 1, tokens: 10, costUSD: 0))
        #expect(try await counter.used(tenant: "acme", period: UsagePeriod("2026-12")).tokens == 1_000_000)
    }

    @Test func theCostQuotaIsCheckedToo() async throws {
        let counter = MemoryUsageCounter()
        let ledger = QuotaLedger(counter: counter)
        for _ in 0..<49 { try await ledger.record(tenant: "acme", tokens: 100, costUSD: 0.1, at: midDecember) }
        try await ledger.check(tenant: "acme", limits: limits, at: midDecember)
        // Fifty dimes: a sum of floating-point tenths that may land a hair under 5.
        try await ledger.record(tenant: "acme", tokens: 100, costUSD: 0.1, at: midDecember)
        let exceeded = try #require(await limitExceeded { try await ledger.check(tenant: "acme", limits: limits, at: midDecember) })
        #expect(exceeded.limit == .monthlyCost)
        #expect(exceeded.message == "tenant 'acme' has used its monthly LLM cost ($5.00 of $5.00); the quota resets on 2027-01-01")
        #expect(exceeded.serviceLimit == ServiceLimit(policy: "monthly_cost_usd", remaining: 0, resetSeconds: 1_425_600))
    }

    @Test func whenBothAreUsedUpTheTokensAreNamed() {
        let used = UsageAmount(requests: 3, tokens: 2_000_000, costUSD: 7.5)
        let exceeded = QuotaLedger.exceeded(tenant: "t", used: used, limits: limits, at: midDecember)
        #expect(exceeded?.limit == .monthlyTokens)
        #expect(exceeded?.message.contains("(2000000 of 1000000)") == true)
        let costOnly = EffectiveLimits(monthlyCostUSD: 5)
        #expect(QuotaLedger.exceeded(tenant: "t", used: used, limits: costOnly, at: midDecember)?.message.contains("($7.50 of $5.00)") == true)
        #expect(QuotaLedger.exceeded(tenant: "t", used: used, limits: .unlimited, at: midDecember) == nil)
    }

    @Test func withoutAQuotaTheCountersAreNotRead() async throws {
        let counter = MemoryUsageCounter()
        let ledger = QuotaLedger(counter: counter)
        try await ledger.check(tenant: "acme", limits: EffectiveLimits(rate: try RateLimit(rate: 1, burst: 1)), at: midDecember)
        #expect(counter.reads == 0)
        try await ledger.check(tenant: "acme", limits: limits, at: midDecember)
        #expect(counter.reads == 1)
    }

    @Test func negativeUsageIsRefused() async {
        let ledger = QuotaLedger(counter: MemoryUsageCounter())
        await #expect(throws: QuarryError.self) { try await ledger.record(tenant: "a", tokens: -1, costUSD: 0) }
        await #expect(throws: QuarryError.self) { try await ledger.record(tenant: "a", tokens: 1, costUSD: -0.01) }
        await #expect(throws: QuarryError.self) { try await ledger.record(tenant: "a", tokens: 1, costUSD: .nan) }
    }
}

@Suite struct UsagePeriodTests {
    @Test func monthsAreUTCCalendarMonths() throws {
        let cases: [(Double, String)] = [
            (0, "1970-01"), (1_709_164_800, "2024-02"), (1_709_251_199, "2024-02"), (1_709_251_200, "2024-03"),
            (1_798_761_599, "2026-12"), (1_798_761_600, "2027-01"), (-86_400, "1970-01"), (1e15, "9999-12"), (.nan, "1970-01"),
        ]
        for (seconds, id) in cases {
            #expect(UsagePeriod(containing: Date(timeIntervalSince1970: seconds)).id == id, "\(seconds)")
        }
        let december = try UsagePeriod("2026-12")
        #expect(december.year == 2026 && december.month == 12)
        #expect(december.next == (try UsagePeriod(year: 2027, month: 1)))
        #expect(december.start == Date(timeIntervalSince1970: 1_796_083_200))
        #expect(december.resetsAt == Date(timeIntervalSince1970: 1_798_761_600))
        #expect(december.resetDay == "2027-01-01")
        #expect(try UsagePeriod("2024-02").next.start == Date(timeIntervalSince1970: 1_709_251_200))
        #expect(try UsagePeriod("2026-11") < december)
    }

    @Test func everyMonthStartsWhereThePreviousEnds() throws {
        var period = try UsagePeriod("1970-01")
        var previousStart = period.start
        #expect(previousStart == Date(timeIntervalSince1970: 0))
        for _ in 0..<(12 * 200) {
            period = period.next
            let start = period.start
            let days = (start.timeIntervalSince(previousStart) / 86_400)
            #expect([28, 29, 30, 31].contains(days), "\(period)")
            #expect(UsagePeriod(containing: start) == period)
            #expect(UsagePeriod(containing: start.addingTimeInterval(-1)).next == period)
            previousStart = start
        }
    }

    @Test func onlyYYYYMMIsAMonth() {
        for text in ["2026-1", "2026-13", "2026-00", "26-12", "2026/12", "2026-12-01", "", "abcd-ef", "1969-12", "+202-12", "2026-+1"] {
            #expect(throws: QuarryError.self, "\(text)") { try UsagePeriod(text) }
        }
    }
}
