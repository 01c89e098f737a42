import ArgumentParser
import Foundation
import QuarryConfig
import QuarryCore
import QuarryEmbedding
import QuarryGuard
import QuarryRetrieval
import QuarryStore

/// `quarry query TEXT`: answers a query from the store, with citations.
struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Answer a query from the store, with citations.")

    @Argument(help: "The query.")
    var text: String

    @OptionGroup var options: CommonOptions

    @OptionGroup var readOnly: ReadOnlyOption

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
        var abstained: Bool
        var abstentionReason: AbstentionReason?
        var evidence: AnswerEvidence?
        var guardrails: [GuardrailFlag]
        var citations: [Citation]
        var timingsMS: QueryTimings
        enum CodingKeys: String, CodingKey {
            case query, collection, mode, answer, grounded, abstained, evidence, guardrails, citations
            case abstentionReason = "abstention_reason"
            case timingsMS = "timings_ms"
        }
    }

    func run() async throws {
        let settings = try options.settings { readOnly.apply(to: &$0) }
        let store = try await settings.openStore()
        let embedder = try settings.openEmbedder()
        let stored = try tenant.storeName(of: collection)
        // The configuration's abstention and guardrails apply, as on the server.
        let retriever = Retriever(store: store, embedder: embedder, abstention: settings.abstention.policies, guardrails: settings.guardrails)
        let result = try await retriever.answer(
            query: text, collection: stored, topK: topK, ef: ef, mode: mode, abstention: retriever.abstention(for: stored)
        )
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let output = Output(
                query: text, collection: collection, mode: mode, answer: result.answer, grounded: result.grounded,
                abstained: result.abstained, abstentionReason: result.abstention, evidence: result.evidence,
                guardrails: result.guardrails, citations: result.citations, timingsMS: result.timings
            )
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
            return
        }
        print(result.answer)
        if let reason = result.abstention { print("(abstained: \(reason.rawValue))") }
        for flag in result.guardrails {
            let place = flag.citation.map { "\(flag.location.rawValue) [\($0)]" } ?? flag.location.rawValue
            print("guardrail: \(flag.kind.rawValue) in \(place), \(flag.action.rawValue) (\(flag.signals.joined(separator: ", ")))")
        }
        print("")
        for citation in result.citations {
            let lines = "lines \(citation.location.lineStart)-\(citation.location.lineEnd)"
            print("[\(citation.id)] \(citation.document) (\(lines), score \(String(format: "%.3f", citation.score)))")
        }
    }
}

extension SearchMode: ExpressibleByArgument {}
