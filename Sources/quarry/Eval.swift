import ArgumentParser
import Foundation
import QuarryCore
import QuarryConfig
import QuarryEval
import QuarryRetrieval

/// `quarry eval`: retrieval precision on a BEIR dataset, or the faithfulness of answers to a QA
/// file; numbers on the terminal, JSON and an HTML report on request, a non-zero exit below a bar.
struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate retrieval on a BEIR dataset (nDCG@10, recall, MRR, MAP, P@k), or answers on a QA file.",
        discussion: """
            Retrieval: quarry eval --dataset DIR [--split test] [--mode all] [--top-k 100]. DIR holds \
            corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv; the corpus is ingested into a store of its own \
            (--store, default .quarry-eval/NAME), which later runs reuse while it is unchanged.
            Answers: quarry eval --qa FILE --dataset DIR: DIR is any folder (corpus/), ingested whole; FILE \
            holds JSON lines {"id", "question", "answers", "relevant_doc_ids"}.
            --fail-under METRIC=VALUE (repeatable; METRIC may name a mode: hybrid.ndcg@10=0.69) exits 3 \
            when a measured value is below its bar.
            """
    )

    @Option(help: "The dataset folder (BEIR form), or the folder a QA file is about.")
    var dataset: String

    @Option(help: "The qrels split.")
    var split: String = "test"

    @Option(help: "dense, lexical, hybrid or all.")
    var mode: String = "all"

    @Option(help: "Documents ranked per query.")
    var topK: Int = 100

    @Option(help: "Evaluate only the first N judged queries (a quick check).")
    var limitQueries: Int?

    @Option(help: "A QA file: evaluate the answers of the full /query pipeline instead of retrieval.")
    var qa: String?

    @Option(help: "With --qa: ingest only the files of the folder matching this (repeatable, as quarry ingest --include).")
    var include: [String] = []

    @Option(help: "With --qa: leave out the files matching this (repeatable, as quarry ingest --exclude).")
    var exclude: [String] = []

    @Option(help: "The answerer for --qa: extractive or llm (needs --config with an llm section).")
    var answer: AnswerKind = .extractive

    @Option(help: "With --qa: auto (withhold answers whose evidence falls below the threshold, as /query does) or never.")
    var abstain: AbstentionPolicy.Mode = .auto

    @Option(help: "With --qa: the confidence below which answers are withheld (default: the calibrated 0.13).")
    var abstainThreshold: Double = AbstentionPolicy.defaultThreshold

    @Option(help: "A configuration file (as quarry serve's), for the LLM of --answer llm and the LLM judge.")
    var config: String?

    @Option(help: "Write the report as JSON here.")
    var json: String?

    @Option(help: "Write the report as one self-contained HTML page here.")
    var html: String?

    @Option(help: "Write each mode's ranking here as TREC run files (FOLDER/MODE.run) and JSON (FOLDER/MODE.json).")
    var runs: String?

    @Option(help: "Fail (exit 3) when METRIC falls below VALUE: ndcg@10=0.6, or hybrid.ndcg@10=0.69 for one mode.")
    var failUnder: [String] = []

    @Option(help: "Store directory (default: .quarry-eval/<dataset name>).")
    var store: String?

    @OptionGroup var backend: BackendOptions

    @Option(help: "Collection (default: the dataset's name).")
    var collection: String?

    @OptionGroup var tenant: TenantOption

    @Option(help: "Model folder (default: $QUARRY_MODEL, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Collections with fewer chunks are searched exactly; larger ones through HNSW.")
    var exactBelow: Int = 10_000

    func validate() throws {
        _ = try modes()
        guard (1...1000).contains(topK) else { throw ValidationError("--top-k must be 1-1000") }
        guard abstainThreshold.isFinite, (0...1).contains(abstainThreshold) else {
            throw ValidationError("--abstain-threshold must be between 0 and 1")
        }
        _ = try bars()
    }

    /// The modes `--mode` names.
    func modes() throws -> [SearchMode] {
        guard let modes = EvalRequest.modes(named: mode) else { throw ValidationError("--mode must be dense, lexical, hybrid or all") }
        return modes
    }

    /// The `--fail-under` bars.
    func bars() throws -> [FailureBar] {
        do {
            return try failUnder.map(FailureBar.init(parsing:))
        } catch let error as QuarryError {
            throw ValidationError("--fail-under \(error.message)")
        }
    }

    func run() async throws {
        let folder = URL(fileURLWithPath: dataset, isDirectory: true).standardizedFileURL
        let collection = collection ?? EvalRequest.defaultCollection(for: folder)
        let storeURL = URL(fileURLWithPath: store ?? ".quarry-eval/\(collection)", isDirectory: true)
        let options = try CommonOptions.parse((model.map { ["--model", $0] } ?? []))
        let settings = try options.settings { settings in
            settings.store = storeURL.path
            settings.search.exactBelow = exactBelow
            backend.apply(to: &settings)
        }
        let embedder = try settings.openEmbedder()
        let store = try await settings.openStore()
        let request = EvalRequest(
            dataset: folder, collection: try tenant.storeName(of: collection), split: split, modes: try modes(), topK: topK, queryLimit: limitQueries,
            runs: runs.map { URL(fileURLWithPath: $0, isDirectory: true) }, qaFile: qa.map { URL(fileURLWithPath: $0) },
            include: include, exclude: exclude, answer: answer, abstention: AbstentionPolicy(mode: abstain, threshold: abstainThreshold)
        )
        let runner = EvalRunner(store: store, embedder: embedder, storeDescription: settings.storeDescription, log: printError)
        let report = try await runner.run(request, chat: chatSettings)
        if let retrieval = report.retrieval { print(retrieval.table) }
        if let qa = report.qa { print(qa.table) }

        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
            printError("eval: wrote \(json)")
        }
        if let html {
            try HTMLReport.render(report).write(toFile: html, atomically: true, encoding: .utf8)
            printError("eval: wrote \(html)")
        }
        let failures = try bars().flatMap { $0.failures(in: report) }
        if !failures.isEmpty {
            for failure in failures { printError("eval: below the bar: \(failure)") }
            throw ExitCode(3)
        }
    }

    /// The chat model of `--config`'s llm section (with `QUARRY_*` overrides), for LLM answers
    /// and the judge; `nil` without `--config`.
    private func chatSettings() throws -> ChatSettings? {
        var settings: ChatSettings?
        if let config {
            var configuration = try QuarryConfiguration.load(from: URL(fileURLWithPath: config))
            try configuration.applyEnvironment(ProcessInfo.processInfo.environment)
            settings = configuration.llm.settings
        }
        // Asked for after the ingest, as the runner needs it: a missing chat model is a usage error.
        if answer == .llm, settings == nil {
            throw ValidationError("--answer llm needs --config FILE with an llm section (base_url, model)")
        }
        return settings
    }
}

extension AnswerKind: ExpressibleByArgument {}
extension AbstentionPolicy.Mode: ExpressibleByArgument {}
