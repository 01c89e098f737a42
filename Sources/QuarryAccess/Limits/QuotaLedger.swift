import Foundation
import QuarryCore

/// A tenant's monthly LLM quotas: `check` before a call to the chat model, `record` after it.
///
/// The check reads the month's counters and refuses the call once the tenant has used its
/// tokens or its dollars; the call that crosses the line is allowed to finish (its size is not
/// known beforehand), so a month can end slightly over its quota, by at most the calls in flight
/// when it was reached. Months are calendar months in UTC; the counters of a new month start at
/// zero.
public struct QuotaLedger: Sendable {
    /// Where the counters are.
    public let counter: any UsageCounter

    /// Creates a ledger over `counter`.
    public init(counter: any UsageCounter) {
        self.counter = counter
    }

    /// Checks, before an LLM call, that `tenant` has quota left this month.
    /// - Parameters:
    ///   - tenant: the tenant the request acts in.
    ///   - limits: its effective limits (nothing is read when they set no monthly quota).
    ///   - date: now.
    /// - Throws: `QuarryError(.rateLimited)` carrying a `LimitExceeded` whose `retryAfter` is
    ///   the time until the quota resets; the store's error when the counters cannot be read.
    public func check(tenant: String, limits: EffectiveLimits, at date: Date = Date()) async throws {
        guard limits.hasMonthlyQuota else { return }
        let period = UsagePeriod(containing: date)
        let used = try await counter.used(tenant: tenant, period: period)
        if let exceeded = Self.exceeded(tenant: tenant, used: used, limits: limits, at: date) { throw exceeded.error }
    }

    /// Records, after an LLM call, what it used: one request, its tokens and its cost.
    /// - Throws: `QuarryError(.invalidRequest)` for negative or non-finite amounts; the store's
    ///   error when the counters cannot be written.
    public func record(tenant: String, tokens: Int, costUSD: Double, at date: Date = Date()) async throws {
        guard tokens >= 0, costUSD.isFinite, costUSD >= 0 else {
            throw QuarryError(.invalidRequest, "LLM usage must not be negative (tokens \(tokens), cost \(costUSD))")
        }
        let amount = UsageAmount(requests: 1, tokens: Int64(tokens), costUSD: costUSD)
        try await counter.add(amount, tenant: tenant, period: UsagePeriod(containing: date))
    }

    /// The limit `used` has reached, if any: the pure decision behind `check`.
    /// - Parameters:
    ///   - tenant: the tenant, for the message.
    ///   - used: what it used in the month of `date`.
    ///   - limits: its limits.
    ///   - date: now.
    /// - Returns: the tokens limit when both are reached (it is the one named first), else the
    ///   cost limit; `nil` while there is quota left.
    public static func exceeded(tenant: String, used: UsageAmount, limits: EffectiveLimits, at date: Date) -> LimitExceeded? {
        let period = UsagePeriod(containing: date)
        let wait = Duration.seconds(max(0, period.resetsAt.timeIntervalSince(date)))
        func reached(_ limit: LimitExceeded.Limit, _ what: String) -> LimitExceeded {
            LimitExceeded(
                limit: limit,
                message: "tenant '\(tenant)' has used its monthly LLM \(what); the quota resets on \(period.resetDay)",
                retryAfter: wait,
                serviceLimit: ServiceLimit(policy: limit.rawValue, remaining: 0, resetSeconds: RateLimitHeaders.retryAfterSeconds(wait))
            )
        }
        if let quota = limits.monthlyTokens, used.tokens >= Int64(quota) {
            return reached(.monthlyTokens, "tokens (\(used.tokens) of \(quota))")
        }
        // Sums of floating-point dollars drift by a few ulps: a billionth of a dollar short
        // counts as reached.
        if let quota = limits.monthlyCostUSD, used.costUSD + 1e-9 >= quota {
            return reached(.monthlyCost, "cost (\(LimitFormat.dollars(used.costUSD)) of \(LimitFormat.dollars(quota)))")
        }
        return nil
    }
}
