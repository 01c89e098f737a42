import Foundation
import QuarryCore
import QuarryEmbedding
import QuarryIngest
import QuarryRetrieval
import QuarryStore

/// Runs an evaluation end to end: ingests the folder into the store (unchanged files are kept,
/// so a later run on the same store only checks them), then measures retrieval on a BEIR
/// dataset, or the answers to a QA file, and returns the report.
///
/// Progress goes to `log` line by line, as it happens; results go into the report only.
public struct EvalRunner: Sendable {
    /// The store the folder is ingested into and searched.
    public let store: any ChunkStore
    /// The model that embeds chunks and queries (and compares sentences, for QA).
    public let embedder: any Embedder
    /// Where the store is, for the log.
    public let storeDescription: String
    /// Called with each progress line.
    public let log: @Sendable (String) -> Void

    /// Creates a runner.
    public init(store: any ChunkStore, embedder: any Embedder, storeDescription: String, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.store = store
        self.embedder = embedder
        self.storeDescription = storeDescription
        self.log = log
    }

    /// Runs `request`.
    /// - Parameters:
    ///   - request: what to evaluate.
    ///   - chat: the chat model of a QA evaluation: with one, `.llm` answers can be evaluated and
    ///     an LLM judge rates the faithfulness of every answer that does not abstain. Called only
    ///     for a QA evaluation, after the folder is ingested; `nil` for none.
    /// - Returns: the report, stamped with the time and the git commit of the working directory.
    /// - Throws: `QuarryError` for a malformed dataset or QA file and for store and model
    ///   failures, `GlobError` for a malformed include or exclude pattern,
    ///   `QuarryError.invalidRequest` when `.llm` answers are asked for and `chat` gives no
    ///   model, and whatever `chat` or writing the runs throws.
    public func run(_ request: EvalRequest, chat: () throws -> ChatSettings? = { nil }) async throws -> EvalReport {
        var report = EvalReport(generatedAt: ISO8601DateFormatter().string(from: Date()), commit: Self.commit())
        if let qaFile = request.qaFile {
            report.qa = try await evaluateAnswers(qaFile: qaFile, request: request, chat: chat)
        } else {
            report.retrieval = try await evaluateRetrieval(request)
        }
        return report
    }

    /// The short hash of the git commit checked out in `directory` (default: the working
    /// directory), or `nil` when it is not in a git repository or git is missing.
    public static func commit(in directory: URL? = nil) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["rev-parse", "--short", "HEAD"]
        if let directory { process.currentDirectoryURL = directory }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !text.isEmpty ? text : nil
    }

    /// Brings the request's collection in step with `folder`, logging progress, the changes and
    /// the files that could not be read.
    private func ingest(_ folder: URL, collection: String, include: [String], exclude: [String] = []) async throws {
        let start = ContinuousClock.now
        let log = log
        let report = try await FolderIngestor(store: store, embedder: embedder).ingest(
            folder: folder, collection: collection, options: IngestOptions(include: try include.map(Glob.init), exclude: try exclude.map(Glob.init))
        ) { progress in
            if progress.chunksWritten > 0, progress.chunksWritten % 2048 < 64 {
                log("eval: ingesting \(folder.lastPathComponent): \(progress.chunksWritten) chunks")
            }
        }
        let seconds = Double((ContinuousClock.now - start).components.seconds)
        log(
            "eval: store \(storeDescription) collection '\(collection)': \(report.added.count) added, \(report.updated.count) updated, "
                + "\(report.removed.count) removed, \(report.unchanged) unchanged files (\(Int(seconds)) s)"
        )
        for failure in report.failed { log("eval: could not read \(failure.path): \(failure.reason)") }
    }

    private func evaluateRetrieval(_ request: EvalRequest) async throws -> RetrievalEvaluation {
        let data = try BEIRDataset(folder: request.dataset, split: request.split, limit: request.queryLimit)
        try await ingest(request.dataset, collection: request.collection, include: ["corpus.jsonl"])
        let documents = try await store.collection(named: request.collection)?.documentCount ?? 0
        let evaluator = RetrievalEvaluator(
            retriever: Retriever(store: store, embedder: embedder), collection: request.collection, topK: request.topK
        )
        log("eval: \(data.name) (\(request.split)): \(data.queries.count) judged queries over \(documents) documents")
        var results: [ModeEvaluation] = []
        for mode in request.modes {
            let (evaluation, run) = try await evaluator.evaluate(data, mode: mode)
            results.append(evaluation)
            if let runs = request.runs {
                try FileManager.default.createDirectory(at: runs, withIntermediateDirectories: true)
                try RetrievalEvaluator.trecRun(run, tag: "quarry-\(mode.rawValue)")
                    .write(to: runs.appendingPathComponent("\(mode.rawValue).run"), atomically: true, encoding: .utf8)
                try JSONSerialization.data(withJSONObject: run, options: [.sortedKeys])
                    .write(to: runs.appendingPathComponent("\(mode.rawValue).json"))
            }
        }
        return RetrievalEvaluation(
            dataset: data.name, split: request.split, corpusDocuments: documents, queries: data.queries.count, topK: request.topK,
            modes: results
        )
    }

    private func evaluateAnswers(qaFile: URL, request: EvalRequest, chat: () throws -> ChatSettings?) async throws -> QAEvaluation {
        let items = try QAItem.load(from: qaFile)
        try await ingest(request.dataset, collection: request.collection, include: request.include, exclude: request.exclude)
        let settings = try chat()
        // An evaluation of LLM answers fails when the LLM does, rather than scoring extractive ones.
        let llm = settings.map { LLMAnswerer(client: ChatClient(settings: $0), fallbackToExtractive: false) }
        let judge = settings.map { LLMJudge(client: ChatClient(settings: $0)) }
        if request.answer == .llm, llm == nil {
            throw QuarryError(.invalidRequest, "LLM answers need a chat model (an llm section with base_url and model)")
        }
        let retriever = Retriever(store: store, embedder: embedder, llm: llm)
        let scorer = FaithfulnessScorer(embedder: embedder)
        var questions: [QAQuestionEvaluation] = []
        var outcomes: [AbstentionEvaluation.Outcome] = []
        for item in items {
            // Every question is answered whatever its evidence, so that the curve can say what
            // any threshold would give; the policy's decision is then applied to that answer, as
            // `/query` would have (the lower of retrieval's and the answer's confidence).
            var result = try await retriever.answer(
                query: item.question, collection: request.collection, topK: 5, answer: request.answer,
                abstention: AbstentionPolicy(mode: .never)
            )
            let confidence = min(result.retrievalConfidence ?? 1, result.evidence?.confidence ?? 0)
            let forced = result.abstained || (request.answer == .llm && !result.grounded)
            let cited = Set((result.check?.citedSources ?? []))
            let citedDocuments = result.citations.filter { cited.contains($0.id) }.map(\.document)
            let citesRelevant = !item.relevantDocIDs.isEmpty && FaithfulnessScorer.contextRecall(relevant: item.relevantDocIDs, cited: citedDocuments) > 0
            let prediction = CitationMarkers.removing(from: result.answer)
            let correct = item.relevantDocIDs.isEmpty ? AnswerCorrectness.f1(prediction, references: item.answers) >= 0.5 : citesRelevant
            let outcome = AbstentionEvaluation.Outcome(
                unanswerable: item.answers.isEmpty, confidence: confidence, forced: forced, correct: !result.abstained && correct
            )
            outcomes.append(outcome)
            if request.abstention.mode == .auto, outcome.abstains(at: request.abstention.threshold) {
                result.abstention = result.abstention ?? (request.answer == .llm && !result.grounded && !result.abstained ? .unsupportedAnswer : .noRelevantPassage)
                result.answer = Retriever.noAnswer
                result.grounded = false
            }
            var scored = try await scorer.score(item: item, result: result)
            scored.confidence = confidence
            scored.abstentionReason = result.abstention?.rawValue
            scored.citesRelevant = item.relevantDocIDs.isEmpty ? nil : citesRelevant
            if let judge, !scored.abstained {
                do {
                    scored.judgeFaithfulness = try await judge.faithfulness(question: item.question, result: result)
                } catch {
                    log("eval: the LLM judge did not answer for \(item.id): \(error)")
                }
            }
            questions.append(scored)
        }
        let threshold = request.abstention.mode == .auto ? request.abstention.threshold : 0
        return QAEvaluation(
            answerer: request.answer.rawValue, summary: FaithfulnessScorer.summarize(questions), thresholds: scorer.thresholds.values,
            questions: questions, abstention: AbstentionEvaluation.evaluate(outcomes, threshold: threshold)
        )
    }
}
