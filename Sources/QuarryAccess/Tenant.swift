import QuarryCore

/// Tenants: each owns its collections, keys and limits. Names follow the collection-name rules.
public enum Tenant {
    /// The tenant of a single-team install, and of a server without keys.
    public static let `default` = "default"

    /// Checks a tenant name: 1–64 letters, digits, `-`, `_` and `.`.
    /// - Throws: `QuarryError(.invalidRequest)` naming the rule.
    public static func validate(_ name: String) throws {
        do {
            try CollectionName.validate(name)
        } catch {
            throw QuarryError(.invalidRequest, "tenant name '\(name)' is invalid: use 1-64 letters, digits, '-', '_' or '.'")
        }
    }
}
