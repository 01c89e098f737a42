import QuarryAccess
import QuarryCore
import Testing

@Suite struct RateLimitHeadersTests {
    @Test func fieldsFollowTheDraftsStructuredFieldForm() throws {
        let policy = try #require(RateLimitHeaders.policyField([
            RateLimitPolicy(name: "permin", quota: 50, windowSeconds: 60), RateLimitPolicy(name: "perhr", quota: 1000, windowSeconds: 3600),
        ]))
        #expect(policy == HeaderField(name: "RateLimit-Policy", value: "\"permin\";q=50;w=60, \"perhr\";q=1000;w=3600"))
        let limit = try #require(RateLimitHeaders.rateLimitField([ServiceLimit(policy: "default", remaining: 50, resetSeconds: 30)]))
        #expect(limit == HeaderField(name: "RateLimit", value: "\"default\";r=50;t=30"))
        // Parameters that are not known are left out, as the draft allows.
        #expect(RateLimitHeaders.rateLimitField([ServiceLimit(policy: "day", remaining: 999)])?.value == "\"day\";r=999")
        #expect(RateLimitHeaders.policyField([RateLimitPolicy(name: "day", quota: 5)])?.value == "\"day\";q=5")
        // Both fields are non-empty lists.
        #expect(RateLimitHeaders.policyField([]) == nil)
        #expect(RateLimitHeaders.rateLimitField([]) == nil)
    }

    @Test func policyNamesAreStructuredFieldStrings() {
        let field = RateLimitHeaders.rateLimitField([ServiceLimit(policy: "a\"b\\c\u{e9}\nd", remaining: -3, resetSeconds: 0)])
        #expect(field?.value == "\"a\\\"b\\\\cd\";r=0;t=0")
        let huge = RateLimitHeaders.policyField([RateLimitPolicy(name: "x", quota: .max, windowSeconds: 0)])
        #expect(huge?.value == "\"x\";q=999999999999999;w=1")
    }

    @Test func retryAfterIsWholeSecondsRoundedUpAndAtLeastOne() {
        let cases: [(Duration, Int)] = [
            (.zero, 1), (.milliseconds(1), 1), (.milliseconds(200), 1), (.seconds(1), 1), (.milliseconds(1010), 2),
            (.seconds(59.5), 60), (.seconds(-4), 1), (.seconds(1425600), 1425600),
        ]
        for (wait, seconds) in cases {
            #expect(RateLimitHeaders.retryAfterSeconds(wait) == seconds, "\(wait)")
            #expect(RateLimitHeaders.retryAfterField(wait) == HeaderField(name: "Retry-After", value: String(seconds)))
        }
    }

    @Test func aLimitErrorCarriesItsHeaders() {
        let quota = LimitExceeded(
            limit: .monthlyTokens, message: "m", retryAfter: .seconds(10.5),
            serviceLimit: ServiceLimit(policy: "monthly_tokens", remaining: 0, resetSeconds: 11)
        )
        #expect(RateLimitHeaders.fields(for: quota).map(\.description) == ["RateLimit: \"monthly_tokens\";r=0;t=11", "Retry-After: 11"])
        #expect(RateLimitHeaders.fields(for: LimitExceeded(limit: .maxChunks, message: "m")).isEmpty)
    }

    @Test func theErrorTravelsInsideAQuarryError() throws {
        let exceeded = LimitExceeded(limit: .ingestJobs, message: "tenant 'a' has too many jobs")
        let error = exceeded.error
        #expect(error.code == .rateLimited)
        #expect(error.message == "tenant 'a' has too many jobs")
        #expect(LimitExceeded.find(in: error) == exceeded)
        #expect(LimitExceeded.find(in: exceeded) == exceeded)
        #expect(LimitExceeded.find(in: QuarryError(.storage, "disk", underlying: error)) == exceeded)
        #expect(LimitExceeded.find(in: QuarryError(.rateLimited, "other")) == nil)
        #expect(error.description == "tenant 'a' has too many jobs (ingest_jobs limit)")
        #expect(
            LimitExceeded.Limit.allCases.map(\.rawValue) == [
                "rate", "ingest_jobs", "max_chunks", "monthly_tokens", "monthly_cost_usd", "max_prompt_tokens", "max_context_tokens",
                "max_completion_tokens", "key_daily_tokens", "key_daily_cost_usd", "key_monthly_tokens", "key_monthly_cost_usd",
                "tenant_daily_tokens", "tenant_daily_cost_usd",
            ]
        )
    }
}
