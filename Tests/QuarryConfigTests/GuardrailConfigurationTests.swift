import Foundation
import QuarryConfig
import QuarryCore
import QuarryGuard
import QuarryRetrieval
import QuarryStore
import QuarryTestSupport
import Testing

/// The `abstention` and `guardrails` sections: read, checked, and handed to the retriever.
@Suite struct GuardrailConfigurationTests {
    func load(_ json: String) throws -> QuarryConfiguration {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        return try QuarryConfiguration.load(from: try dir.write(json, to: "quarry.json"))
    }

    @Test func theSectionsAreReadAndReachTheRetriever() throws {
        let settings = try load(
            #"""
            {"limits": {"tiers": {"free": {"rate": 5}}},
             "abstention": {"threshold": 0.3, "collections": {"faq": {"mode": "never"}, "strict": {"threshold": 0.6}}},
             "guardrails": {"default": {"passages": "fence", "answers": "redact"},
                            "tiers": {"free": {"answers": "refuse", "question": "flag"}},
                            "collections": {"hr": {"ingest_pii": "redact", "pii_entities": ["email", "us_ssn"]}}}}
            """#
        )
        #expect(settings.problems().isEmpty, "\(settings.problems())")
        let policies = settings.abstention.policies
        #expect(policies.default == AbstentionPolicy(mode: .auto, threshold: 0.3))
        #expect(policies.collections["faq"] == AbstentionPolicy(mode: .never, threshold: 0.3))
        #expect(policies.collections["strict"] == AbstentionPolicy(mode: .auto, threshold: 0.6))

        let guardrails = settings.guardrails
        #expect(guardrails.policy(collection: "docs", tier: nil) == GuardrailPolicy(passages: .fence))
        let free = guardrails.policy(collection: "docs", tier: "free")
        #expect(free.answers == .refuse && free.question == .flag && free.passages == .fence)
        let hr = guardrails.policy(collection: "hr", tier: "free")
        #expect(hr.ingestPII == .redact && hr.piiEntities == [.email, .usSSN] && hr.answers == .refuse)

        let storeDirectory = try TemporaryDirectory()
        defer { storeDirectory.cleanUp() }
        let retriever = settings.makeRetriever(store: try SQLiteChunkStore(directory: storeDirectory.url), embedder: HashingEmbedder())
        #expect(retriever.abstention(for: "faq").mode == .never)
        #expect(retriever.guardrails == guardrails)
        // The defaults are the safe ones.
        #expect(QuarryConfiguration().guardrails.policy(collection: "x", tier: nil) == GuardrailPolicy())
        #expect(GuardrailPolicy().question == .refuse && GuardrailPolicy().passages == .exclude && GuardrailPolicy().answers == .redact)
    }

    @Test func mistakesAreNamedWithWhatIsAllowed() throws {
        for (json, expected) in [
            (#"{"guardrails": {"default": {"passages": "drop"}}}"#, "guardrails.default.passages must be one of off, flag, fence, exclude"),
            (#"{"guardrails": {"collections": {"hr": {"pii_entities": ["email", "passport"]}}}}"#, "unknown entity 'passport'"),
            (#"{"guardrails": {"default": {"answer": "redact"}}}"#, "guardrails.default.answer"),
            (#"{"guardrails": {"defaults": {}}}"#, "guardrails.defaults"),
            (#"{"abstention": {"mode": "sometimes"}}"#, "abstention.mode must be auto or never"),
            (#"{"abstention": {"collections": {"faq": {"treshold": 0.2}}}}"#, "abstention.collections.faq.treshold"),
        ] {
            #expect {
                _ = try load(json)
            } throws: { error in
                ((error as? QuarryError)?.message.contains(expected) ?? false)
            }
        }
        let settings = try load(
            #"""
            {"abstention": {"threshold": 1.5, "collections": {"faq": {"threshold": -1}}},
             "guardrails": {"default": {"injection_threshold": 2}, "tiers": {"gold": {}}, "collections": {"hr": {"pii_entities": []}}}}
            """#
        )
        let problems = settings.problems()
        #expect(problems.contains("abstention.threshold must be between 0 and 1, got 1.5"))
        #expect(problems.contains { $0.hasPrefix("abstention.collections.faq.threshold") })
        #expect(problems.contains { $0.hasPrefix("guardrails.default.injection_threshold") })
        #expect(problems.contains { $0.hasPrefix("guardrails.tiers.gold: no such tier") })
        #expect(problems.contains { $0.hasPrefix("guardrails.collections.hr.pii_entities") })
        #expect(problems.count == 5)
    }
}
