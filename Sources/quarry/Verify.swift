import ArgumentParser
import Foundation
import QuarryConfig
import QuarryEmbedding
import QuarryStore

/// `quarry verify`: checks the store's invariants.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Check the store: integrity, no orphaned chunks or documents, chunk counts, indexes, no chunk over the model's limit. Exits 1 on a problem."
    )

    @OptionGroup var options: CommonOptions

    @OptionGroup var readOnly: ReadOnlyOption

    func run() async throws {
        let store = try await options.settings { readOnly.apply(to: &$0) }.openStore()
        if let reason = store.readOnlyReason {
            printError("note: the store is read-only (\(reason)); the lexical index is not checked (FTS5 checks it as a write)")
        }
        var problems = try await store.verify()
        let collections = try await store.collections()
        problems += try await oversizeChunks(in: store, collections: collections)
        for problem in problems { printError("problem: \(problem)") }
        print("\(try options.storeDescription): \(collections.count) collections, \(collections.map(\.documentCount).reduce(0, +)) documents, \(collections.map(\.chunkCount).reduce(0, +)) chunks; \(problems.isEmpty ? "no problems" : "\(problems.count) problems")")
        if !problems.isEmpty { throw ExitCode(1) }
    }

    /// One problem per stored chunk that is over the embedder's limit (only its first pieces were
    /// embedded), in the collections made with the configured model. Counting needs the model's
    /// tokenizer, which the store does not have; without the model, or for a collection of
    /// another model, the check is skipped with a note rather than failing the other checks.
    private func oversizeChunks(in store: any ChunkStore, collections: [CollectionInfo]) async throws -> [String] {
        guard !collections.isEmpty else { return [] }
        let embedder: MiniLMEmbedder
        do {
            embedder = try options.settings().openEmbedder()
        } catch {
            printError("note: chunk sizes not checked: \(error)")
            return []
        }
        // The two special tokens [CLS] and [SEP] take two of the model's positions.
        let limit = embedder.maxInputTokens - 2
        var problems: [String] = []
        for collection in collections {
            guard collection.model.fingerprint == embedder.model.fingerprint else {
                printError("note: chunk sizes of \(collection.name) not checked: made with \(collection.model.name), not the configured \(embedder.model.name)")
                continue
            }
            for document in try await store.documents(in: collection.name) {
                guard let (_, chunks) = try await store.document(in: collection.name, path: document.path) else { continue }
                for chunk in chunks {
                    let count = embedder.tokenCount(chunk.text)
                    if count > limit { problems.append("\(collection.name)/\(chunk.chunkID): \(count) word pieces > \(limit)") }
                }
            }
        }
        return problems
    }
}
