import Foundation
import QuarryCore
import QuarryEval
import QuarryIngest
import QuarryRetrieval
import QuarryStore
import QuarryTestSupport
import Synchronization
import Testing

/// The evaluation flow in process, on a store of its own and a hashing embedder: what it ingests,
/// logs, measures and writes.
@Suite struct EvalRunnerTests {
    /// Progress lines, in order.
    final class Log: Sendable {
        private let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        func callAsFunction(_ line: String) { lines.withLock { $0.append(line) } }
        func clear() { lines.withLock { $0.removeAll() } }
    }

    /// Three abstracts with no word in common, and two queries each answered by one of them.
    static func dataset(in directory: TemporaryDirectory) throws -> URL {
        try directory.write(
            """
            {"_id": "a", "title": "Aardvarks", "text": "Aardvarks dig burrows at night."}
            {"_id": "b", "title": "Volcanoes", "text": "Volcanoes erupt molten lava."}
            {"_id": "c", "title": "Violins", "text": "Violins have four strings."}
            """, to: "tiny/corpus.jsonl")
        try directory.write(
            """
            {"_id": "q1", "text": "Where do aardvarks dig burrows?"}
            {"_id": "q2", "text": "Molten lava of volcanoes"}
            {"_id": "q3", "text": "Unjudged"}
            """, to: "tiny/queries.jsonl")
        try directory.write("query-id\tcorpus-id\tscore\nq1\ta\t1\nq2\tb\t1\n", to: "tiny/qrels/test.tsv")
        return directory.url.appendingPathComponent("tiny")
    }

    @Test func ingestsOnceThenMeasuresEachModeAndWritesItsRun() async throws {
        let fixture = try StoreFixture(.sqlite)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        let folder = try Self.dataset(in: fixture.directory)
        let log = Log()
        let runner = EvalRunner(store: store, embedder: HashingEmbedder(dimension: 256), storeDescription: "test-store", log: { log($0) })
        let runs = fixture.directory.url.appendingPathComponent("runs")
        let request = EvalRequest(dataset: folder, collection: "tiny", modes: [.lexical, .dense], topK: 10, runs: runs)
        var chatCalls = 0
        let report = try await runner.run(request) {
            chatCalls += 1
            return nil
        }
        #expect(chatCalls == 0)
        #expect(report.qa == nil)
        let retrieval = try #require(report.retrieval)
        #expect(retrieval.dataset == "tiny")
        #expect(retrieval.split == "test")
        #expect(retrieval.corpusDocuments == 3)
        #expect(retrieval.queries == 2)
        #expect(retrieval.topK == 10)
        #expect(retrieval.modes.map(\.mode) == ["lexical", "dense"])
        let lexical = retrieval.modes[0]
        for name in ["ndcg@10", "recall@10", "mrr@10", "p@1"] { #expect(lexical.metrics[name] == 1, "\(name)") }
        #expect(lexical.perQuery.map(\.id) == ["q1", "q2"])
        #expect(lexical.perQuery.map { $0.retrieved.first?.id } == ["a", "b"])

        let lines = log.all
        try #require(lines.count == 3, "\(lines)")
        #expect(lines[0] == "eval: ingesting tiny: 3 chunks")
        #expect(lines[1].hasPrefix("eval: store test-store collection 'tiny': 3 added, 0 updated, 0 removed, 0 unchanged files ("))
        #expect(lines[1].hasSuffix(" s)"))
        #expect(lines[2] == "eval: tiny (test): 2 judged queries over 3 documents")

        let trec = try String(contentsOf: runs.appendingPathComponent("lexical.run"), encoding: .utf8)
        let first = trec.split(separator: "\n").first.map { $0.split(separator: " ") } ?? []
        #expect(first.count == 6)
        #expect(Array(first.prefix(4)) == ["q1", "Q0", "a", "1"])
        #expect(first.last == "quarry-lexical")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: runs.appendingPathComponent("dense.json"))) as? [String: [String: Double]]
        )
        #expect(Set(json.keys) == ["q1", "q2"])
        #expect(FileManager.default.fileExists(atPath: runs.appendingPathComponent("dense.run").path))

        // A second run on the same store ingests nothing.
        log.clear()
        _ = try await runner.run(EvalRequest(dataset: folder, collection: "tiny", modes: [.hybrid], topK: 10, queryLimit: 1))
        #expect(log.all.count == 2)
        #expect(log.all.first?.hasPrefix("eval: store test-store collection 'tiny': 0 added, 0 updated, 0 removed, 1 unchanged files (") == true)
        #expect(log.all.last == "eval: tiny (test): 1 judged queries over 3 documents")
    }

    /// A folder with one page about aardvarks, and one the include pattern leaves out.
    static func qaFolder(in directory: TemporaryDirectory) throws -> (folder: URL, qa: URL) {
        try directory.write("# Aardvarks\n\nAardvarks dig burrows at night.\n", to: "docs/guide/aardvarks.md")
        try directory.write("# Volcanoes\n\nVolcanoes erupt molten lava.\n", to: "docs/drafts/volcanoes.md")
        let qa = try directory.write(
            #"{"id": "q1", "question": "When do aardvarks dig burrows?", "answers": ["at night"], "relevant_doc_ids": ["guide/aardvarks.md"]}"#,
            to: "qa.jsonl"
        )
        return (directory.url.appendingPathComponent("docs"), qa)
    }

    @Test func scoresTheAnswersOfTheIncludedFiles() async throws {
        let fixture = try StoreFixture(.sqlite)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        let (folder, qa) = try Self.qaFolder(in: fixture.directory)
        let log = Log()
        let runner = EvalRunner(store: store, embedder: HashingEmbedder(dimension: 256), storeDescription: "test-store", log: { log($0) })
        var chatCalls = 0
        let report = try await runner.run(EvalRequest(dataset: folder, collection: "docs", qaFile: qa, include: ["guide/**"])) {
            chatCalls += 1
            return nil
        }
        #expect(chatCalls == 1)
        #expect(report.retrieval == nil)
        let evaluation = try #require(report.qa)
        #expect(evaluation.answerer == "extractive")
        #expect(evaluation.questions.map(\.id) == ["q1"])
        #expect(evaluation.questions.first?.contextRecall == 1)
        #expect(evaluation.summary["context_recall"] == 1)
        #expect(evaluation.questions.first?.judgeFaithfulness == nil)
        #expect(log.all.count == 2, "\(log.all)")
        #expect(log.all.last?.hasPrefix("eval: store test-store collection 'docs': 1 added, 0 updated, 0 removed, 0 unchanged files (") == true)
        let documents = try await store.documents(in: "docs").map(\.path)
        #expect(documents == ["guide/aardvarks.md"])
    }

    @Test func llmAnswersWithoutAChatModelFailAfterTheIngest() async throws {
        let fixture = try StoreFixture(.sqlite)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        let (folder, qa) = try Self.qaFolder(in: fixture.directory)
        let runner = EvalRunner(store: store, embedder: HashingEmbedder(dimension: 256), storeDescription: "test-store")
        let request = EvalRequest(dataset: folder, collection: "docs", qaFile: qa, exclude: ["drafts"], answer: .llm)
        do {
            _ = try await runner.run(request)
            Issue.record("LLM answers were evaluated without a chat model")
        } catch let error as QuarryError {
            #expect(error.code == .invalidRequest && error.message.contains("need a chat model"))
        }
        #expect(try await store.collection(named: "docs")?.documentCount == 1)
    }

    @Test func aMalformedPatternIsAGlobError() async throws {
        let fixture = try StoreFixture(.sqlite)
        defer { fixture.cleanUp() }
        let (folder, qa) = try Self.qaFolder(in: fixture.directory)
        let runner = EvalRunner(store: try await fixture.open(), embedder: HashingEmbedder(), storeDescription: "test-store")
        await #expect(throws: GlobError.self) {
            _ = try await runner.run(EvalRequest(dataset: folder, collection: "docs", qaFile: qa, include: ["[unclosed"]))
        }
    }

    @Test func modesByName() {
        #expect(EvalRequest.modes(named: "all") == [.dense, .lexical, .hybrid])
        #expect(EvalRequest.modes(named: "hybrid") == [.hybrid])
        #expect(EvalRequest.modes(named: "lexical") == [.lexical])
        #expect(EvalRequest.modes(named: "Dense") == nil)
        #expect(EvalRequest.modes(named: "bm25") == nil)
    }

    @Test func theDefaultCollectionIsTheFolderNameCleanedUp() {
        #expect(EvalRequest.defaultCollection(for: URL(fileURLWithPath: "/data/scifact/")) == "scifact")
        #expect(EvalRequest.defaultCollection(for: URL(fileURLWithPath: "/data/Sci Fact (v2.1)!")) == "SciFactv2.1")
        #expect(EvalRequest.defaultCollection(for: URL(fileURLWithPath: "/data/données_1-a")) == "donnes_1-a")
        #expect(EvalRequest.defaultCollection(for: URL(fileURLWithPath: "/data/" + String(repeating: "x", count: 70))) == String(repeating: "x", count: 64))
    }

    @Test func noCommitOutsideAGitRepository() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        #expect(EvalRunner.commit(in: directory.url) == nil)
    }
}
