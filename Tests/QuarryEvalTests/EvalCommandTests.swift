import Foundation
import QuarryEval
import QuarryTestSupport
import Testing

/// `quarry eval` end to end on a SciFact subset, with the real model (the binary of
/// `$QUARRY_BIN`, else the debug build): the numbers it reports are checked against
/// pytrec_eval-terrier on the same rankings, and `--fail-under` fails the run below its bar.
@Suite(.serialized) struct EvalCommandTests {
    static func quarryBinary() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["QUARRY_BIN"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let debug = packageRoot().appendingPathComponent(".build/debug/quarry")
        try #require(FileManager.default.isExecutableFile(atPath: debug.path), "no quarry binary: run `swift build` or set QUARRY_BIN")
        return debug
    }

    /// Runs a command to its end without holding a thread of the test pool meanwhile (the pool
    /// has as many threads as cores; other tests need them while a long eval runs).
    static func run(_ executable: URL, _ arguments: [String], in directory: URL) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.merging(["QUARRY_MODEL": modelDirectory().path]) { $1 }
        let log = directory.appendingPathComponent("log-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try handle.close()
        return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    /// The first 40 judged test queries of SciFact, their relevant abstracts and the first 360
    /// other abstracts: a corpus small enough to embed in seconds, with real judgements.
    static func subset(in directory: URL) async throws -> URL {
        let source = packageRoot().appendingPathComponent("corpus/scifact")
        let folder = directory.appendingPathComponent("scifact-subset")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("qrels"), withIntermediateDirectories: true)
        let qrelLines = try String(contentsOf: source.appendingPathComponent("qrels/test.tsv"), encoding: .utf8).split(whereSeparator: \.isNewline)
        var queries: [String] = []
        var kept: [Substring] = [qrelLines[0]]
        for line in qrelLines.dropFirst() {
            let query = String(line.split(separator: "\t")[0])
            if !queries.contains(query) {
                guard queries.count < 40 else { break }
                queries.append(query)
            }
            kept.append(line)
        }
        try (kept.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("qrels/test.tsv"), atomically: true, encoding: .utf8)
        let relevant = Set(kept.dropFirst().map { String($0.split(separator: "\t")[1]) })
        var documents: [Substring] = []
        var others = 0
        for line in try String(contentsOf: source.appendingPathComponent("corpus.jsonl"), encoding: .utf8).split(whereSeparator: \.isNewline) {
            let id = line.split(separator: "\"")[3]  // {"_id": "ID", ...
            if relevant.contains(String(id)) {
                documents.append(line)
            } else if others < 360 {
                documents.append(line)
                others += 1
            }
        }
        try (documents.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("corpus.jsonl"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: source.appendingPathComponent("queries.jsonl"), to: folder.appendingPathComponent("queries.jsonl"))
        return folder
    }

    /// Parity of the backends: the same SciFact subset evaluated on the embedded store and on
    /// PostgreSQL + pgvector gives the same exact dense rankings and nDCG@10 within 0.01 per mode.
    @Test func thePgvectorBackendRanksAsTheEmbeddedOne() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let dataset = try await Self.subset(in: dir.url)
        let binary = try Self.quarryBinary()
        let database = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(database) }
        let common = ["eval", "--dataset", dataset.path, "--top-k", "10"]
        let embedded = try await Self.run(
            binary, common + ["--store", dir.url.appendingPathComponent("store").path, "--json", "sqlite.json", "--runs", "sqlite-runs"],
            in: dir.url
        )
        #expect(embedded.status == 0, "\(embedded.output)")
        let postgres = try await Self.run(
            binary, common + ["--backend", "pgvector", "--pg-url", database, "--json", "pgvector.json", "--runs", "pgvector-runs"], in: dir.url
        )
        #expect(postgres.status == 0, "\(postgres.output)")
        func report(_ name: String) throws -> RetrievalEvaluation {
            try #require(try JSONDecoder().decode(EvalReport.self, from: Data(contentsOf: dir.url.appendingPathComponent(name))).retrieval)
        }
        let sqlite = try report("sqlite.json")
        let pgvector = try report("pgvector.json")
        #expect(sqlite.modes.map(\.mode) == pgvector.modes.map(\.mode))
        for (a, b) in zip(sqlite.modes, pgvector.modes) {
            let (x, y) = (a.metrics["ndcg@10"] ?? -1, b.metrics["ndcg@10"] ?? -2)
            #expect(abs(x - y) <= 0.01, "\(a.mode): nDCG@10 \(x) on SQLite, \(y) on pgvector")
        }
        // Exact dense search: the same documents in the same order for every query.
        func ranking(_ folder: String) throws -> [String: [String]] {
            let run = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: dir.url.appendingPathComponent("\(folder)/dense.json")))
                    as? [String: [String: Double]]
            )
            return run.mapValues { scores in scores.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map(\.key) }
        }
        let sqliteRanking = try ranking("sqlite-runs")
        let pgvectorRanking = try ranking("pgvector-runs")
        #expect(sqliteRanking.count == 40)
        for (query, documents) in sqliteRanking {
            #expect(pgvectorRanking[query] == documents, "query \(query)")
        }
    }

    @Test func metricsAgreeWithPytrecEvalAndTheBarFailsTheRun() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let dataset = try await Self.subset(in: dir.url)
        let binary = try Self.quarryBinary()
        let arguments = [
            "eval", "--dataset", dataset.path, "--store", dir.url.appendingPathComponent("store").path,
            "--json", "report.json", "--html", "report.html", "--runs", "runs",
        ]
        // The quality gate CI relies on: bars below what this subset scores pass...
        let passing = try await Self.run(binary, arguments + ["--fail-under", "ndcg@10=0.5", "--fail-under", "hybrid.recall@100=0.8"], in: dir.url)
        #expect(passing.status == 0, "\(passing.output)")
        // ... one above it fails, naming the metric.
        let failing = try await Self.run(binary, arguments + ["--fail-under", "hybrid.ndcg@10=0.99"], in: dir.url)
        #expect(failing.status == 3)
        #expect(failing.output.contains("hybrid ndcg@10"), "\(failing.output)")

        let report = try JSONDecoder().decode(EvalReport.self, from: Data(contentsOf: dir.url.appendingPathComponent("report.json")))
        let retrieval = try #require(report.retrieval)
        #expect(retrieval.queries == 40)
        #expect(retrieval.modes.map(\.mode) == ["dense", "lexical", "hybrid"])
        for mode in retrieval.modes {
            #expect(mode.perQuery.count == 40)
            #expect(mode.perQuery.allSatisfy { $0.retrieved.count == 10 })
            #expect(mode.latency.samples.count == 40)
        }
        #expect(FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("report.html").path))

        // pytrec_eval on the same rankings and judgements, query by query.
        let script = """
            import json, sys
            import pytrec_eval
            qrels = {}
            for i, line in enumerate(open(sys.argv[1])):
                q, d, s = line.rstrip("\\n").split("\\t")
                if i == 0 and not s.isdigit(): continue
                qrels.setdefault(q, {})[d] = int(s)
            out = {}
            for mode in ["dense", "lexical", "hybrid"]:
                run = json.load(open(f"{sys.argv[2]}/{mode}.json"))
                full = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.10,100", "map_cut.100", "P.1,5,10"}).evaluate(run)
                cut = {q: dict(sorted(docs.items(), key=lambda kv: (-kv[1], [-b for b in kv[0].encode()]))[:10]) for q, docs in run.items()}
                rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut)
                out[mode] = {q: {"ndcg@10": m["ndcg_cut_10"], "recall@10": m["recall_10"], "recall@100": m["recall_100"],
                                 "map@100": m["map_cut_100"], "p@1": m["P_1"], "p@5": m["P_5"], "p@10": m["P_10"],
                                 "mrr@10": rr[q]["recip_rank"]} for q, m in full.items()}
            json.dump(out, open(sys.argv[3], "w"))
            """
        try script.write(to: dir.url.appendingPathComponent("check.py"), atomically: true, encoding: .utf8)
        let python = try await Self.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", "check.py", dataset.appendingPathComponent("qrels/test.tsv").path, "runs", "pytrec.json"], in: dir.url
        )
        try #require(python.status == 0, "pytrec_eval failed (scripts/install-deps.sh installs pytrec_eval-terrier): \(python.output)")
        let reference = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: dir.url.appendingPathComponent("pytrec.json"))) as? [String: [String: [String: Double]]]
        )
        var compared = 0
        for mode in retrieval.modes {
            for query in mode.perQuery {
                let expected = try #require(reference[mode.mode]?[query.id], "pytrec_eval has no \(mode.mode) result for \(query.id)")
                for name in Metrics.names {
                    let mine = try #require(query.metrics[name])
                    #expect(abs(mine - expected[name]!) < 1e-9, "\(mode.mode) \(query.id) \(name): \(mine) vs pytrec_eval \(expected[name]!)")
                    compared += 1
                }
            }
            let means = Metrics.names.map { name in mode.perQuery.map { $0.metrics[name]! }.reduce(0, +) / Double(mode.perQuery.count) }
            for (name, mean) in zip(Metrics.names, means) { #expect(abs(mean - mode.metrics[name]!) < 1e-12) }
        }
        #expect(compared == 3 * 40 * Metrics.names.count)
    }
}

extension EvalCommandTests {
    /// `quarry eval --qa` on the SQLite pages of corpus/ and the questions about them (and the
    /// ones nothing answers), with bars on faithfulness and context recall: the QA gate of CI.
    @Test func answersOverTheSQLiteDocsAreFaithfulAndFindTheirSources() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let lines = try String(contentsOf: packageRoot().appendingPathComponent("eval/corpus-qa.jsonl"), encoding: .utf8)
            .split(whereSeparator: \.isNewline)
            .filter { !$0.contains("scifact/") }
        try (lines.joined(separator: "\n") + "\n").write(to: dir.url.appendingPathComponent("qa.jsonl"), atomically: true, encoding: .utf8)
        let result = try await Self.run(
            try Self.quarryBinary(),
            [
                "eval", "--qa", "qa.jsonl", "--dataset", packageRoot().appendingPathComponent("corpus").path,
                "--include", "sqlite-docs/**", "--store", "store", "--json", "qa.json", "--html", "qa.html",
                "--fail-under", "qa.faithfulness=0.9", "--fail-under", "qa.context_recall=0.8", "--fail-under", "qa.citation_precision=0.8",
            ],
            in: dir.url
        )
        #expect(result.status == 0, "\(result.output)")
        let report = try JSONDecoder().decode(EvalReport.self, from: Data(contentsOf: dir.url.appendingPathComponent("qa.json")))
        let qa = try #require(report.qa)
        #expect(qa.questions.count == lines.count)
        #expect(qa.answerer == "extractive")
        for key in ["faithfulness", "citation_precision", "context_recall", "answer_f1", "exact_match", "abstention_rate"] {
            #expect(qa.summary[key] != nil, "no \(key)")
        }
        // Extractive answers are sentences of the sources: every one is supported.
        #expect(qa.summary["faithfulness"] == 1)
        #expect(qa.questions.allSatisfy { $0.abstained || !$0.sentences.isEmpty })
    }
}
