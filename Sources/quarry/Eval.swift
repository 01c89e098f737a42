import ArgumentParser
import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryEval
import QuarryIngest
import QuarryRetrieval
import QuarryConfig
import QuarryStore

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

    @Option(help: "Model folder (default: $QUARRY_MODEL, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Collections with fewer chunks are searched exactly; larger ones through HNSW.")
    var exactBelow: Int = 10_000

    func validate() throws {
        guard ["dense", "lexical", "hybrid", "all"].contains(mode) else { throw ValidationError("--mode must be dense, lexical, hybrid or all") }
        guard (1...1000).contains(topK) else { throw ValidationError("--top-k must be 1-1000") }
        _ = try bars()
    }

    /// The `--fail-under` bars: (mode or nil for every mode, metric, value).
    func bars() throws -> [(mode: String?, metric: String, value: Double)] {
        try failUnder.map { bar in
            let parts = bar.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Double(parts[1]) else {
                throw ValidationError("--fail-under \(bar): expected METRIC=VALUE, like ndcg@10=0.6")
            }
            let name = parts[0].lowercased()
            let qualified = name.split(separator: ".", maxSplits: 1).map(String.init)
            let (mode, metric) = qualified.count == 2 && ["dense", "lexical", "hybrid", "qa"].contains(qualified[0])
                ? (Optional(qualified[0]), qualified[1]) : (nil, name)
            let known = Metrics.names + ["faithfulness", "citation_precision", "context_recall", "answer_f1", "exact_match"]
            guard known.contains(metric) else {
                throw ValidationError("--fail-under \(bar): unknown metric \(metric) (known: \(known.joined(separator: ", ")))")
            }
            return (mode, metric, value)
        }
    }

    func run() async throws {
        let folder = URL(fileURLWithPath: dataset, isDirectory: true).standardizedFileURL
        let name = folder.lastPathComponent
        let collection = collection ?? String(name.filter { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }.prefix(64))
        let storeURL = URL(fileURLWithPath: store ?? ".quarry-eval/\(collection)", isDirectory: true)
        let options = try CommonOptions.parse((model.map { ["--model", $0] } ?? []))
        let embedder = try options.settings().openEmbedder()
        let settings = try options.settings { settings in
            settings.store = storeURL.path
            settings.search.exactBelow = exactBelow
            backend.apply(to: &settings)
        }
        let store = try await settings.openStore()
        let storeDescription = settings.storeDescription

        var report = EvalReport(generatedAt: ISO8601DateFormatter().string(from: Date()), commit: Self.commit())
        if let qa {
            report.qa = try await evaluateAnswers(
                qaFile: URL(fileURLWithPath: qa), folder: folder, store: store, storeDescription: storeDescription, embedder: embedder,
                collection: collection
            )
        } else {
            report.retrieval = try await evaluateRetrieval(
                folder: folder, store: store, storeDescription: storeDescription, embedder: embedder, collection: collection
            )
        }

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
        let failures = try check(report)
        if !failures.isEmpty {
            for failure in failures { printError("eval: below the bar: \(failure)") }
            throw ExitCode(3)
        }
    }

    func ingest(
        _ folder: URL, include: [String], exclude: [String] = [], store: any ChunkStore, storeDescription: String, embedder: MiniLMEmbedder,
        collection: String
    ) async throws {
        let start = ContinuousClock.now
        let report = try await FolderIngestor(store: store, embedder: embedder).ingest(
            folder: folder, collection: collection, options: IngestOptions(include: try include.map(Glob.init), exclude: try exclude.map(Glob.init))
        ) { progress in
            if progress.chunksWritten > 0, progress.chunksWritten % 2048 < 64 {
                printError("eval: ingesting \(folder.lastPathComponent): \(progress.chunksWritten) chunks")
            }
        }
        let seconds = Double((ContinuousClock.now - start).components.seconds)
        printError(
            "eval: store \(storeDescription) collection '\(collection)': \(report.added.count) added, \(report.updated.count) updated, "
                + "\(report.removed.count) removed, \(report.unchanged) unchanged files (\(Int(seconds)) s)"
        )
        for failure in report.failed { printError("eval: could not read \(failure.path): \(failure.reason)") }
    }

    private func evaluateRetrieval(
        folder: URL, store: any ChunkStore, storeDescription: String, embedder: MiniLMEmbedder, collection: String
    ) async throws -> RetrievalEvaluation {
        let data = try BEIRDataset(folder: folder, split: split, limit: limitQueries)
        try await ingest(
            folder, include: ["corpus.jsonl"], store: store, storeDescription: storeDescription, embedder: embedder, collection: collection
        )
        let documents = try await store.collection(named: collection)?.documentCount ?? 0
        let retriever = Retriever(store: store, embedder: embedder)
        let evaluator = RetrievalEvaluator(retriever: retriever, collection: collection, topK: topK)
        let modes: [SearchMode] = mode == "all" ? [.dense, .lexical, .hybrid] : [SearchMode(rawValue: mode)!]
        printError("eval: \(data.name) (\(split)): \(data.queries.count) judged queries over \(documents) documents")
        var results: [ModeEvaluation] = []
        for searchMode in modes {
            let (evaluation, run) = try await evaluator.evaluate(data, mode: searchMode)
            results.append(evaluation)
            if let runs {
                let directory = URL(fileURLWithPath: runs, isDirectory: true)
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try RetrievalEvaluator.trecRun(run, tag: "quarry-\(searchMode.rawValue)")
                    .write(to: directory.appendingPathComponent("\(searchMode.rawValue).run"), atomically: true, encoding: .utf8)
                try JSONSerialization.data(withJSONObject: run, options: [.sortedKeys])
                    .write(to: directory.appendingPathComponent("\(searchMode.rawValue).json"))
            }
        }
        print(String(format: "%-8@ %@  %@", "mode" as NSString, Metrics.names.map { $0.padding(toLength: 10, withPad: " ", startingAt: 0) }.joined(separator: " "), "p50 ms   p99 ms"))
        for result in results {
            let values = Metrics.names.map { String(format: "%-10.4f", result.metrics[$0] ?? 0) }.joined(separator: " ")
            print(String(format: "%-8@ %@  %6.2f   %6.2f", result.mode as NSString, values, result.latency.p50, result.latency.p99))
        }
        return RetrievalEvaluation(
            dataset: data.name, split: split, corpusDocuments: documents, queries: data.queries.count, topK: topK, modes: results
        )
    }

    /// The bars the report falls below, described.
    private func check(_ report: EvalReport) throws -> [String] {
        var failures: [String] = []
        for bar in try bars() {
            var measured: [(String, Double)] = []
            if let retrieval = report.retrieval {
                for mode in retrieval.modes where bar.mode == nil || bar.mode == mode.mode {
                    if let value = mode.metrics[bar.metric] { measured.append((mode.mode, value)) }
                }
            }
            if let qa = report.qa, bar.mode == nil || bar.mode == "qa", let value = qa.summary[bar.metric] {
                measured.append(("qa", value))
            }
            if measured.isEmpty { failures.append("\(bar.metric) was not measured") }
            for (mode, value) in measured where value < bar.value {
                failures.append(String(format: "%@ %@ = %.4f < %.4f", mode, bar.metric, value, bar.value))
            }
        }
        return failures
    }

    private static func commit() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["rev-parse", "--short", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !text.isEmpty ? text : nil
    }
}

extension AnswerKind: ExpressibleByArgument {}
