import QuarryCore

/// Who is asking: the identity a request carries to every layer that filters, from the route to
/// the search inside the store.
public struct Principal: Sendable, Hashable {
    /// The tenant the request acts in.
    public var tenant: String
    /// The key's id (never its secret); `nil` for the local, unauthenticated identity.
    public var keyID: String?
    /// What the key may do.
    public var role: Role
    /// The collections the key is limited to; `nil` for every collection of the tenant.
    public var collections: Set<String>?
    /// Who the caller is for document permissions (`user:ana`, `group:legal`); documents whose
    /// access list names none of these (and is not `public`) are invisible to it.
    public var principals: Set<String>
    /// The limits tier the key belongs to.
    public var tier: String?
    /// The limits tier of the key's tenant (used when the key names none).
    public var tenantTier: String?
    /// The key's own request rate and burst, overriding its tier's.
    public var rate: Double?
    public var burst: Int?

    /// Creates a principal.
    public init(
        tenant: String, keyID: String?, role: Role, collections: Set<String>? = nil, principals: Set<String> = [], tier: String? = nil,
        tenantTier: String? = nil, rate: Double? = nil, burst: Int? = nil
    ) {
        self.tenantTier = tenantTier
        self.rate = rate
        self.burst = burst
        self.tenant = tenant
        self.keyID = keyID
        self.role = role
        self.collections = collections
        self.principals = principals
        self.tier = tier
    }

    /// The identity of a request to a server that needs no key (local use before any key
    /// exists, or `--no-auth`): the operator of the default tenant, as the command line is.
    public static let local = Principal(tenant: Tenant.default, keyID: nil, role: .operator)

    /// Whose documents the principal sees, as `SearchFilter.visibleTo` takes it: `nil` (every
    /// document of its tenant) for the local identity and for admins and operators, who manage
    /// the tenant's documents and could make themselves a key of any principals anyway; the
    /// key's principals for readers and writers.
    public var visibility: [String]? {
        keyID == nil || role >= .admin ? nil : principals.sorted()
    }

    /// Whether the principal may see a document with the access list `access`.
    public func canSee(_ access: [String]?) -> Bool { AccessList.isVisible(access, to: visibility) }

    /// Checks that the principal may do `action`.
    /// - Throws: `QuarryError(.forbidden)` naming the role that would be needed.
    public func require(_ action: Action) throws {
        guard role.allows(action) else {
            throw QuarryError(
                .forbidden, "this key's role '\(role.rawValue)' may not do this; it needs '\(action.minimumRole.rawValue)'"
            )
        }
    }

    /// Checks that the principal may use `collection` of its tenant.
    /// - Throws: `QuarryError(.notFound)` when the key is limited to other collections: to the
    ///   caller, a collection it may not use does not exist.
    public func require(collection: String) throws {
        if let collections, !collections.contains(collection) {
            throw QuarryError(.notFound, "collection '\(collection)' does not exist")
        }
    }
}
