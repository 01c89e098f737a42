import ArgumentParser
import Foundation
import QuarryAccess
import QuarryCore
import QuarryStore

/// `quarry collections list|delete`.
struct Collections: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List or delete collections.", subcommands: [List.self, Delete.self], defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's collections (or every tenant's).")
        @OptionGroup var options: CommonOptions
        @OptionGroup var tenant: TenantOption
        @Flag(help: "Every tenant's collections, as the store names them (tenant/name; the default tenant's plain).")
        var allTenants = false

        func run() async throws {
            let store = try await options.openStore()
            for collection in try await store.collections() {
                guard let name = allTenants ? collection.name : tenant.visibleName(ofStoreName: collection.name) else { continue }
                print("\(name)\t\(collection.model.name)\t\(collection.documentCount) documents\t\(collection.chunkCount) chunks")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a collection with its documents, chunks, vectors and index (to re-index it with another model)."
        )
        @OptionGroup var options: CommonOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: "The collection to delete.") var name: String

        func run() async throws {
            let stored = try tenant.storeName(of: name)
            let store = try await options.openStore()
            guard try await store.collection(named: stored) != nil else { throw QuarryError(.notFound, "collection '\(name)' does not exist") }
            try await store.removeCollection(named: stored)
            print("deleted collection '\(name)'")
        }
    }
}
