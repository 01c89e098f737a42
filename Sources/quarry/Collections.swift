import ArgumentParser
import Foundation
import QuarryCore
import QuarryStore

/// `quarry collections list|delete`.
struct Collections: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List or delete collections.", subcommands: [List.self, Delete.self], defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the store's collections.")
        @OptionGroup var options: CommonOptions

        func run() async throws {
            let store = try await options.openStore()
            for collection in try await store.collections() {
                print("\(collection.name)\t\(collection.model.name)\t\(collection.documentCount) documents\t\(collection.chunkCount) chunks")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a collection with its documents, chunks, vectors and index (to re-index it with another model)."
        )
        @OptionGroup var options: CommonOptions
        @Argument(help: "The collection to delete.") var name: String

        func run() async throws {
            try CollectionName.validate(name)
            let store = try await options.openStore()
            guard try await store.collection(named: name) != nil else { throw QuarryError(.notFound, "collection '\(name)' does not exist") }
            try await store.removeCollection(named: name)
            print("deleted collection '\(name)'")
        }
    }
}
