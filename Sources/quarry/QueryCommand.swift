import ArgumentParser
import Foundation
import QuarryConfig
import QuarryCore
import QuarryEmbedding
import QuarryRetrieval
import QuarryStore

/// `quarry query TEXT`: answers a query from the store, with citations.
struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Answer a query from the store, with citations.")

    @Argument(help: "The query.")
    var text: String

    @OptionGroup var options: CommonOptions

    @Option(help: "Collection to search.")
    var collection: String = CollectionName.default

    @OptionGroup var tenant: TenantOption

    @Option(help: "How many passages to retrieve (1-100).")
    var topK: Int = 5

    @Option(help: "HNSW candidate list size for large collections (1-1000).")
    var ef: Int?

    @Option(help: "dense, lexical or hybrid (both, fused by reciprocal rank).")
    var mode: SearchMode = .hybrid

    @Flag(help: "Print the result as JSON, as POST /query returns it.")
    var json = false

    private struct Output: Encodable {
        var query: String
        var collection: String
        var mode: SearchMode
        var answer: String
        var grounded: Bool
        var citations: [Citation]
        var timingsMS: QueryTimings
        enum CodingKeys: String, CodingKey {
            case query, collection, mode, answer, grounded, citations
            case timingsMS = "timings_ms"
        }
    }

    func run() async throws {
        let store = try await options.openStore()
        let embedder = try options.settings().openEmbedder()
        let result = try await Retriever(store: store, embedder: embedder)
            .answer(query: text, collection: try tenant.storeName(of: collection), topK: topK, ef: ef, mode: mode)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let output = Output(
                query: text, collection: collection, mode: mode, answer: result.answer, grounded: result.grounded,
                citations: result.citations, timingsMS: result.timings
            )
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
            return
        }
        print(result.answer)
        print("")
        for citation in result.citations {
            let lines = "lines \(citation.location.lineStart)-\(citation.location.lineEnd)"
            print("[\(citation.id)] \(citation.document) (\(lines), score \(String(format: "%.3f", citation.score)))")
        }
    }
}

extension SearchMode: ExpressibleByArgument {}
