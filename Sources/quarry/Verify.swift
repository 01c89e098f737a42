import ArgumentParser
import Foundation
import QuarryStore

/// `quarry verify`: checks the store's invariants.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the store: integrity, no orphaned chunks or documents, chunk counts, indexes. Exits 1 on a problem."
    )

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let store = try await options.openStore()
        let problems = try await store.verify()
        for problem in problems { printError("problem: \(problem)") }
        let collections = try await store.collections()
        print("\(try options.storeDescription): \(collections.count) collections, \(collections.map(\.documentCount).reduce(0, +)) documents, \(collections.map(\.chunkCount).reduce(0, +)) chunks; \(problems.isEmpty ? "no problems" : "\(problems.count) problems")")
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
