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

extension Tenant {
    /// Checks a limits tier's name: the rules of tenant names.
    /// - Throws: `QuarryError(.invalidRequest)` naming the rule.
    public static func validateTier(_ name: String) throws {
        do {
            try CollectionName.validate(name)
        } catch {
            throw QuarryError(.invalidRequest, "tier name '\(name)' is invalid: use 1-64 letters, digits, '-', '_' or '.'")
        }
    }

    /// The store's name of a tenant's collection: the default tenant's collections keep their
    /// plain names (so a single-team store needs no migration), every other tenant's are
    /// `tenant/name`. A plain name cannot hold `/`, so no tenant can name another's collection.
    /// - Throws: `QuarryError(.invalidRequest)` for a bad collection name.
    public static func storeName(of collection: String, in tenant: String) throws -> String {
        try CollectionName.validate(collection)
        return tenant == Tenant.default ? collection : "\(tenant)/\(collection)"
    }

    /// The tenant that owns a collection of the store, and the name the tenant knows it by.
    public static func owner(ofStoreName name: String) -> (tenant: String, collection: String) {
        guard let slash = name.firstIndex(of: "/") else { return (Tenant.default, name) }
        return (String(name[..<slash]), String(name[name.index(after: slash)...]))
    }

    /// The name `tenant` knows a store collection by, or `nil` when another tenant owns it.
    public static func collection(ofStoreName name: String, ownedBy tenant: String) -> String? {
        let (owner, collection) = owner(ofStoreName: name)
        return owner == tenant ? collection : nil
    }
}

extension Principal {
    /// The store's name of the principal's `collection`, after checking the key may use it.
    /// - Throws: `QuarryError(.invalidRequest)` for a bad name, `.notFound` for a collection
    ///   outside the key's list.
    public func storeName(of collection: String) throws -> String {
        let name = try Tenant.storeName(of: collection, in: tenant)
        try require(collection: collection)
        return name
    }

    /// The name the principal knows a store collection by, or `nil` when it is not the
    /// principal's to see (another tenant's, or outside the key's list).
    public func visibleName(ofStoreName name: String) -> String? {
        guard let collection = Tenant.collection(ofStoreName: name, ownedBy: tenant),
            collections.map({ $0.contains(collection) }) ?? true
        else { return nil }
        return collection
    }
}
