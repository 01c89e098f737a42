import ArgumentParser
import QuarryAccess
import QuarryCore

/// `--tenant T`: the tenant a command acts for. Collections are named as the tenant knows them
/// (`docs`); the store keeps them as `T/docs` (the default tenant's under their plain names).
struct TenantOption: ParsableArguments {
    @Option(help: "The tenant to act for (default: the default tenant of a single-team install).")
    var tenant: String = Tenant.default

    func validate() throws {
        do {
            try Tenant.validate(tenant)
        } catch let error as QuarryError {
            throw ValidationError("--tenant: \(error.message)")
        }
    }

    /// The store's name of the tenant's `collection`.
    func storeName(of collection: String) throws -> String {
        do {
            return try Tenant.storeName(of: collection, in: tenant)
        } catch let error as QuarryError {
            throw ValidationError(error.message)
        }
    }

    /// The name the tenant knows a store collection by, or `nil` when it is another tenant's.
    func visibleName(ofStoreName name: String) -> String? {
        Tenant.collection(ofStoreName: name, ownedBy: tenant)
    }
}
