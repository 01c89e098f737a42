import Foundation
import QuarryAccess
import QuarryCore
import Testing

@Suite struct LimitsConfigurationTests {
    func decode(_ json: String) throws -> LimitsConfiguration {
        try JSONDecoder().decode(LimitsConfiguration.self, from: Data(json.utf8))
    }

    let example = """
        {"tiers": {"free": {"rate": 5, "burst": 10, "ingest_jobs": 1, "max_chunks": 100000, "monthly_tokens": 1000000, "monthly_cost_usd": 5},
                   "team": {"rate": 50.5},
                   "open": {}},
         "default_tier": "free"}
        """

    @Test func tiersDecodeFromSnakeCaseJSON() throws {
        let configuration = try decode(example)
        #expect(configuration.defaultTier == "free")
        #expect(configuration.tiers["free"] == Tier(rate: 5, burst: 10, ingestJobs: 1, maxChunks: 100_000, monthlyTokens: 1_000_000, monthlyCostUSD: 5))
        #expect(configuration.tiers["team"] == Tier(rate: 50.5))
        #expect(configuration.tiers["open"] == Tier())
        try configuration.validate()
        #expect(configuration.problems().isEmpty)
        // Encoding writes the same keys back.
        let again = try decode(String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self))
        #expect(again == configuration)
        #expect(try decode("{}") == LimitsConfiguration())
    }

    @Test func unknownKeysAreRefusedNotIgnored() {
        for (json, setting) in [
            (#"{"tiers": {"free": {"monthly_token": 5}}}"#, "tiers.free.monthly_token"), (#"{"default": "free"}"#, "default"),
        ] {
            do {
                _ = try decode(json)
                Issue.record("\(json) was accepted")
            } catch let error as QuarryError {
                #expect(error.code == .invalidRequest)
                #expect(error.message.hasPrefix("unknown setting '\(setting)' (known here: "), "\(error.message)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func everyBadValueIsNamed() throws {
        let configuration = LimitsConfiguration(
            tiers: [
                "a": Tier(rate: 0, burst: 0), "b": Tier(rate: -1, ingestJobs: 0, maxChunks: -5), "c": Tier(burst: 4),
                "d": Tier(monthlyTokens: 0, monthlyCostUSD: 0), "e": Tier(rate: .infinity, monthlyCostUSD: -1),
            ],
            defaultTier: "gold"
        )
        #expect(configuration.problems() == [
            "limits.tiers.a.rate must be a positive number of requests per second, got 0; leave it out for no limit",
            "limits.tiers.a.burst must be at least 1 request, got 0",
            "limits.tiers.b.rate must be a positive number of requests per second, got -1; leave it out for no limit",
            "limits.tiers.b.ingest_jobs must be at least 1, got 0; leave it out for no limit",
            "limits.tiers.b.max_chunks must be at least 1, got -5; leave it out for no limit",
            "limits.tiers.c.burst needs a rate: without one, requests are not limited",
            "limits.tiers.d.monthly_tokens must be at least 1, got 0; leave it out for no limit",
            "limits.tiers.d.monthly_cost_usd must be a positive number of US dollars, got 0; leave it out for no limit",
            "limits.tiers.e.rate must be a positive number of requests per second, got inf; leave it out for no limit",
            "limits.tiers.e.monthly_cost_usd must be a positive number of US dollars, got -1; leave it out for no limit",
            "limits.default_tier 'gold' is not one of limits.tiers (a, b, c, d, e)",
        ])
        do {
            try configuration.validate()
            Issue.record("validated")
        } catch let error as QuarryError {
            #expect(error.code == .invalidRequest)
            #expect(error.message.hasPrefix("limits.tiers.a.rate must be a positive number"))
            #expect(error.message.hasSuffix("'gold' is not one of limits.tiers (a, b, c, d, e)"))
        }
        #expect(LimitsConfiguration(defaultTier: "x").problems(at: "server.limits") == [
            "server.limits.default_tier 'x' is not one of server.limits.tiers (no tiers)"
        ])
    }

    @Test func theKeysTierWinsThenTheTenantsThenTheDefault() throws {
        let configuration = try decode(example)
        let free = try configuration.limits(keyTier: nil, tenantTier: nil)
        #expect(free == EffectiveLimits(
            tier: "free", rate: try RateLimit(rate: 5, burst: 10), ingestJobs: 1, maxChunks: 100_000, monthlyTokens: 1_000_000, monthlyCostUSD: 5
        ))
        #expect(try configuration.limits(keyTier: nil, tenantTier: "team").tier == "team")
        #expect(try configuration.limits(keyTier: "open", tenantTier: "team") == EffectiveLimits(tier: "open"))
        // Without a burst, one second's worth of the rate, rounded up.
        #expect(try configuration.limits(keyTier: nil, tenantTier: "team").rate == RateLimit(rate: 50.5, burst: 51))
    }

    @Test func aKeysOwnRateAndBurstOverrideItsTiers() throws {
        let configuration = try decode(example)
        #expect(try configuration.limits(keyTier: "free", tenantTier: nil, keyRate: 20, keyBurst: 40).rate == RateLimit(rate: 20, burst: 40))
        #expect(try configuration.limits(keyTier: "free", tenantTier: nil, keyRate: 20).rate == RateLimit(rate: 20, burst: 10))
        #expect(try configuration.limits(keyTier: "free", tenantTier: nil, keyBurst: 3).rate == RateLimit(rate: 5, burst: 3))
        #expect(try configuration.limits(keyTier: "open", tenantTier: nil, keyRate: 0.5).rate == RateLimit(rate: 0.5, burst: 1))
        // The other limits stay the tier's.
        #expect(try configuration.limits(keyTier: "free", tenantTier: nil, keyRate: 20).monthlyTokens == 1_000_000)
        #expect(throws: QuarryError.self) { try configuration.limits(keyTier: nil, tenantTier: nil, keyRate: 0) }
        #expect(throws: QuarryError.self) { try configuration.limits(keyTier: nil, tenantTier: nil, keyRate: 1, keyBurst: 0) }
    }

    @Test func noTiersMeansNoLimitsAndAnUnknownTierIsAnError() throws {
        #expect(try LimitsConfiguration().limits(keyTier: nil, tenantTier: nil) == .unlimited)
        #expect(!EffectiveLimits.unlimited.hasMonthlyQuota)
        let configuration = try decode(example)
        do {
            _ = try configuration.limits(keyTier: "gold", tenantTier: "free")
            Issue.record("an unknown tier was accepted")
        } catch let error as QuarryError {
            #expect(error.code == .invalidRequest)
            #expect(error.message == "tier 'gold' is not configured (limits.tiers has free, open, team)")
        }
        #expect(try configuration.tier(named: "team") == Tier(rate: 50.5))
    }
}
