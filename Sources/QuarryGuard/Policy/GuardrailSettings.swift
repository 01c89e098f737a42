import QuarryCore

/// The `guardrails` section of the configuration: a default layer, layers by tenant tier and by
/// collection, merged in that order (a collection's setting wins over its caller's tier, which
/// wins over the default, which lays over the safe built-in policy).
///
/// ```json
/// {"default": {"answers": "redact"},
///  "tiers": {"free": {"passages": "exclude", "answers": "refuse"}},
///  "collections": {"hr-handbook": {"ingest_pii": "redact"}}}
/// ```
///
/// Collections are named as the store names them (`name` for the default tenant,
/// `tenant/name` — see `Tenant` — for others).
public struct GuardrailSettings: Sendable, Hashable, Codable {
    /// The layer every query and ingest starts from.
    public var `default`: GuardrailOverrides
    /// Layers by tenant tier.
    public var tiers: [String: GuardrailOverrides]
    /// Layers by store collection name.
    public var collections: [String: GuardrailOverrides]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case `default`, tiers, collections
    }

    /// Creates settings; with no arguments, the built-in policy everywhere.
    public init(default: GuardrailOverrides = GuardrailOverrides(), tiers: [String: GuardrailOverrides] = [:], collections: [String: GuardrailOverrides] = [:]) {
        self.default = `default`
        self.tiers = tiers
        self.collections = collections
    }

    /// Decodes the section, refusing unknown keys.
    public init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.default = try c.decodeIfPresent(GuardrailOverrides.self, forKey: .default) ?? GuardrailOverrides()
        tiers = try c.decodeIfPresent([String: GuardrailOverrides].self, forKey: .tiers) ?? [:]
        collections = try c.decodeIfPresent([String: GuardrailOverrides].self, forKey: .collections) ?? [:]
    }

    /// The policy for a query or ingest of `collection` (a store name) by a caller of `tier`.
    public func policy(collection: String, tier: String?) -> GuardrailPolicy {
        var policy = GuardrailPolicy().applying(self.default)
        if let tier, let layer = tiers[tier] { policy = policy.applying(layer) }
        if let layer = collections[collection] { policy = policy.applying(layer) }
        return policy
    }

    /// Every problem with the section, each naming its setting (`guardrails.tiers.free.…`).
    /// - Parameter knownTiers: the tiers the limits section defines; a layer for another is a
    ///   typo that would silently never apply.
    public func problems(at path: String = "guardrails", knownTiers: Set<String>) -> [String] {
        var problems = self.default.problems(at: "\(path).default")
        for name in tiers.keys.sorted() {
            if !knownTiers.contains(name) {
                let known = knownTiers.isEmpty ? "none are defined" : "known: \(knownTiers.sorted().joined(separator: ", "))"
                problems.append("\(path).tiers.\(name): no such tier in limits.tiers (\(known))")
            }
            problems += tiers[name, default: GuardrailOverrides()].problems(at: "\(path).tiers.\(name)")
        }
        for name in collections.keys.sorted() {
            problems += collections[name, default: GuardrailOverrides()].problems(at: "\(path).collections.\(name)")
        }
        return problems
    }

    static func refuseUnknownKeys(in decoder: any Decoder, known: [String]) throws {
        try UnknownKeys.refuse(in: decoder, known: known)
    }
}
