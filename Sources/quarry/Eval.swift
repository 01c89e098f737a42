import ArgumentParser
import Foundation
import QuarryCore
import QuarryConfig
import QuarryEmbedding
import QuarryEval
import QuarryIngest
import QuarryRetrieval
import QuarryStore

/// `quarry eval`: retrieval precision on a BEIR dataset, the faithfulness of answers to a QA
/// file, or the retrieval of follow-up questions as asked and rewritten; numbers on the terminal,
/// JSON and an HTML report on request, a non-zero exit below a bar.
struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate retrieval on a BEIR dataset (nDCG@10, recall, MRR, MAP, P@k), answers on a QA file, or follow-up questions.",
        discussion: """
            Retrieval: quarry eval --dataset DIR [--split test] [--mode all] [--top-k 100]. DIR holds \
            corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv; the corpus is ingested into a store of its own \
            (--store, default .quarry-eval/NAME), which later runs reuse while it is unchanged.
            Answers: quarry eval --qa FILE --dataset DIR: DIR is any folder (corpus/), ingested whole; FILE \
            holds JSON lines {"id", "question", "answers", "relevant_doc_ids"}.
            Follow-ups: quarry eval --conversations FILE [--collection default] [--mode hybrid] [--top-k 10]: FILE \
            holds JSON lines {"id", "collection", "turns": [{"question", "standalone", "relevant"}]}; every follow-up \
            is searched as asked, as each rewriter makes it standalone (the LLM one when --config or $QUARRY_CONFIG \
            names a chat model) and in its hand-written standalone form. The store (--store, default $QUARRY_STORE, \
            else .quarry) is searched as it is, or with --dataset DIR the folder is ingested first (store default \
            .quarry-eval/NAME).
            --fail-under METRIC=VALUE (repeatable; METRIC may name a mode: hybrid.ndcg@10=0.69) exits 3 \
            when a measured value is below its bar.
            """
    )

    @Option(help: "The dataset folder (BEIR form), or the folder a QA file or conversations file is about.")
    var dataset: String?

    @Option(help: "The qrels split.")
    var split: String = "test"

    @Option(help: "dense, lexical, hybrid or all (default: all; hybrid with --conversations).")
    var mode: String?

    @Option(help: "Documents ranked per query (default: 100; 10 with --conversations).")
    var topK: Int?

    @Option(help: "Evaluate only the first N judged queries (a quick check).")
    var limitQueries: Int?

    @Option(help: "A QA file: evaluate the answers of the full /query pipeline instead of retrieval.")
    var qa: String?

    @Option(help: "A conversations file: evaluate follow-up questions, as asked and made standalone, instead of a dataset.")
    var conversations: String?

    @Option(help: "With --conversations: an earlier turn's answer in the rewriters' history: empty or top-passage (its best chunk's text).")
    var historyAnswers: ConversationEvaluator.HistoryAnswers = .empty

    @Option(help: "With --qa or --conversations: ingest only the files of the folder matching this (repeatable, as quarry ingest --include).")
    var include: [String] = []

    @Option(help: "With --qa or --conversations: leave out the files matching this (repeatable, as quarry ingest --exclude).")
    var exclude: [String] = []

    @Option(help: "The answerer for --qa: extractive or llm (needs --config with an llm section).")
    var answer: AnswerKind = .extractive

    @Option(help: "With --qa: auto (withhold answers whose evidence falls below the threshold, as /query does) or never.")
    var abstain: AbstentionPolicy.Mode = .auto

    @Option(help: "With --qa: the confidence below which answers are withheld (default: the calibrated 0.13).")
    var abstainThreshold: Double = AbstentionPolicy.defaultThreshold

    @Option(help: "A configuration file (as quarry serve's), for the LLM of --answer llm, the LLM judge and the LLM rewriter.")
    var config: String?

    @Option(help: "Write the report as JSON here.")
    var json: String?

    @Option(help: "Write the report as one self-contained HTML page here.")
    var html: String?

    @Option(help: "Write each mode's ranking here as TREC run files (FOLDER/MODE.run) and JSON (FOLDER/MODE.json).")
    var runs: String?

    @Option(help: "Fail (exit 3) when METRIC falls below VALUE: ndcg@10=0.6, or hybrid.ndcg@10=0.69 for one mode.")
    var failUnder: [String] = []

    @Option(help: "Store directory (default: .quarry-eval/<dataset name>; with --conversations and no --dataset, $QUARRY_STORE, else .quarry).")
    var store: String?

    @OptionGroup var backend: BackendOptions

    @Option(help: "Collection (default: the dataset's name; with --conversations, each conversation's own).")
    var collection: String?

    @OptionGroup var tenant: TenantOption

    @Option(help: "Model folder (default: $QUARRY_MODEL, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Collections with fewer chunks are searched exactly; larger ones through HNSW.")
    var exactBelow: Int = 10_000

    func validate() throws {
        _ = try modes()
        guard (1...1000).contains(documentsPerQuery) else { throw ValidationError("--top-k must be 1-1000") }
        if conversations != nil {
            guard qa == nil else { throw ValidationError("--conversations and --qa evaluate different things: give one") }
            guard failUnder.isEmpty else { throw ValidationError("--fail-under does not apply to --conversations") }
            guard runs == nil else { throw ValidationError("--runs does not apply to --conversations") }
        } else if dataset == nil {
            throw ValidationError("Missing expected argument '--dataset <dataset>' (or give --conversations FILE)")
        }
        guard abstainThreshold.isFinite, (0...1).contains(abstainThreshold) else {
            throw ValidationError("--abstain-threshold must be between 0 and 1")
        }
        _ = try bars()
    }

    /// The modes `--mode` names.
    func modes() throws -> [SearchMode] {
        let name = mode ?? (conversations == nil ? "all" : SearchMode.hybrid.rawValue)
        guard let modes = EvalRequest.modes(named: name) else { throw ValidationError("--mode must be dense, lexical, hybrid or all") }
        return modes
    }

    /// `--top-k`, or its default.
    var documentsPerQuery: Int { topK ?? (conversations == nil ? 100 : 10) }

    /// The `--fail-under` bars.
    func bars() throws -> [FailureBar] {
        do {
            return try failUnder.map(FailureBar.init(parsing:))
        } catch let error as QuarryError {
            throw ValidationError("--fail-under \(error.message)")
        }
    }

    func run() async throws {
        let report: EvalReport
        if let conversations {
            report = try await evaluateConversations(conversations)
        } else {
            report = try await evaluateDataset()
        }
        if let json {
            // The encoding the HTML page embeds, so that both read back the same way.
            try HTMLReport.json(report).write(to: URL(fileURLWithPath: json))
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

    /// Retrieval on a BEIR dataset, or answers on a QA file, through `EvalRunner`.
    private func evaluateDataset() async throws -> EvalReport {
        guard let dataset else { throw ValidationError("Missing expected argument '--dataset <dataset>'") }
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
            dataset: folder, collection: try tenant.storeName(of: collection), split: split, modes: try modes(), topK: documentsPerQuery,
            queryLimit: limitQueries,
            runs: runs.map { URL(fileURLWithPath: $0, isDirectory: true) }, qaFile: qa.map { URL(fileURLWithPath: $0) },
            include: include, exclude: exclude, answer: answer, abstention: AbstentionPolicy(mode: abstain, threshold: abstainThreshold)
        )
        let runner = EvalRunner(store: store, embedder: embedder, storeDescription: settings.storeDescription, log: printError)
        let report = try await runner.run(request, chat: chatSettings)
        if let retrieval = report.retrieval { print(retrieval.table) }
        if let qa = report.qa { print(qa.table) }
        return report
    }

    /// Follow-up questions of a conversations file, searched as asked, as each rewriter makes
    /// them standalone, and in their hand-written standalone form.
    private func evaluateConversations(_ path: String) async throws -> EvalReport {
        let file = URL(fileURLWithPath: path)
        var items = try EvalConversation.load(from: file)
        let folder = dataset.map { URL(fileURLWithPath: $0, isDirectory: true).standardizedFileURL }
        for index in items.indices {
            items[index].collection = try tenant.storeName(of: collection ?? items[index].collection ?? CollectionName.default)
        }
        let options = try CommonOptions.parse((model.map { ["--model", $0] } ?? []))
        let settings = try options.settings { settings in
            if let directory = self.store {
                settings.store = directory
            } else if let folder {
                settings.store = ".quarry-eval/\(EvalRequest.defaultCollection(for: folder))"
            }
            settings.search.exactBelow = exactBelow
            backend.apply(to: &settings)
        }
        let embedder = try settings.openEmbedder()
        let chunkStore = try await settings.openStore()
        if let folder {
            for name in Set(items.compactMap(\.collection)).sorted() {
                try await ingest(folder, into: name, store: chunkStore, embedder: embedder, description: settings.storeDescription)
            }
        }
        var rewriters = [NamedRewriter("deterministic", DeterministicRewriter())]
        var skipped: [String: String] = [:]
        if let chat = try rewriterChat(settings) {
            rewriters.append(NamedRewriter("llm", LLMRewriter(client: ChatClient(settings: chat))))
        } else {
            skipped["llm"] = "no chat model configured: --config FILE or $QUARRY_CONFIG with an llm section"
            printError("eval: no chat model configured (--config FILE or $QUARRY_CONFIG with an llm section): the LLM rewriter is skipped")
        }
        let evaluator = ConversationEvaluator(
            retriever: Retriever(store: chunkStore, embedder: embedder), rewriters: rewriters, topK: documentsPerQuery, historyAnswers: historyAnswers,
            log: { printError($0) }
        )
        let followUps = items.reduce(0) { $0 + $1.followUps.count }
        printError("eval: \(file.lastPathComponent): \(items.count) conversations, \(followUps) follow-ups in store \(settings.storeDescription)")
        let evaluation = try await evaluator.evaluate(items, dataset: file.lastPathComponent, modes: try modes(), skipped: skipped)
        print(evaluation.table)
        return EvalReport(generatedAt: ISO8601DateFormatter().string(from: Date()), commit: EvalRunner.commit(), conversations: evaluation)
    }

    /// Brings `collection` in step with `folder`, as `quarry ingest` would, logging the changes.
    private func ingest(_ folder: URL, into collection: String, store: any ChunkStore, embedder: any Embedder, description: String) async throws {
        let start = ContinuousClock.now
        let options = IngestOptions(include: try include.map(Glob.init), exclude: try exclude.map(Glob.init))
        let report = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: folder, collection: collection, options: options) { _ in }
        printError(
            "eval: store \(description) collection '\(collection)': \(report.added.count) added, \(report.updated.count) updated, "
                + "\(report.removed.count) removed, \(report.unchanged) unchanged files (\(Int((ContinuousClock.now - start).components.seconds)) s)"
        )
        for failure in report.failed { printError("eval: could not read \(failure.path): \(failure.reason)") }
    }

    /// The chat model of the LLM rewriter: `--config`'s llm section (with `QUARRY_*` overrides),
    /// else the one `settings` resolved from `$QUARRY_CONFIG` and the environment; `nil` for none.
    private func rewriterChat(_ settings: QuarryConfiguration) throws -> ChatSettings? {
        guard let config else { return settings.llm.settings }
        var configuration = try QuarryConfiguration.load(from: URL(fileURLWithPath: config))
        try configuration.applyEnvironment(ProcessInfo.processInfo.environment)
        return configuration.llm.settings
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
extension ConversationEvaluator.HistoryAnswers: ExpressibleByArgument {}
extension AbstentionPolicy.Mode: ExpressibleByArgument {}
