import Foundation
import QuarryCore
@testable import QuarryEval
import QuarryTestSupport
import Testing

/// A folder of eval reports: what is listed and in which order, names that never reach a file
/// outside the folder, and two runs compared metric by metric.
@Suite struct ReportLibraryTests {
    /// A report of `modes` (name → metrics) on `dataset`, run at `date`.
    static func report(
        _ date: String, dataset: String = "scifact", modes: [(String, [String: Double])], qa: [String: Double]? = nil,
        abstention: AbstentionEvaluation? = nil
    ) -> EvalReport {
        EvalReport(
            generatedAt: date, commit: "abc",
            retrieval: RetrievalEvaluation(
                dataset: dataset, split: "test", corpusDocuments: 10, queries: 2, topK: 10,
                modes: modes.map { ModeEvaluation(mode: $0.0, metrics: $0.1, recallCurve: [], latency: LatencySummary(samples: [1, 2]), perQuery: []) }
            ),
            qa: qa.map { QAEvaluation(answerer: "extractive", summary: $0, thresholds: [:], questions: [], abstention: abstention) }
        )
    }

    static let older = report(
        "2026-01-05T10:00:00Z",
        modes: [("hybrid", ["ndcg@10": 0.70, "recall@10": 0.80, "p@10": 0.1]), ("dense", ["ndcg@10": 0.60, "recall@10": .nan])],
        qa: ["faithfulness": 0.9, "answer_f1": 0.5],
        abstention: AbstentionEvaluation(
            threshold: 0.3, answerable: 4, unanswerable: 2, abstained: 2, precision: 1, recall: 0.5, coverage: 0.75, accuracy: nil,
            answeredCorrectly: 0.5, areaUnderCurve: 0.25, curve: []
        )
    )
    static let newer = report(
        "2026-02-01T09:30:00Z", dataset: "nfcorpus",
        modes: [("zeta", ["ndcg@10": 0.1]), ("hybrid", ["ndcg@10": 0.75, "recall@10": 0.78, "custom@3": 0.5]), ("lexical", ["ndcg@10": 0.65])]
    )

    struct Folder {
        let directory: TemporaryDirectory
        let reports: URL
        let outside: URL

        func write(_ text: String, _ name: String) throws {
            try Data(text.utf8).write(to: reports.appendingPathComponent(name))
        }

        func link(_ name: String, to target: String) throws {
            try FileManager.default.createSymbolicLink(atPath: reports.appendingPathComponent(name).path, withDestinationPath: target)
        }

        func bytes(_ name: String) throws -> Data {
            try Data(contentsOf: reports.appendingPathComponent(name))
        }
    }

    /// A folder with two reports, a report of an older Quarry (no data block) with and without
    /// `NAME.json`, links in and out of the folder, and files that are not reports.
    static func folder() throws -> Folder {
        let directory = try TemporaryDirectory()
        let reports = directory.url.appendingPathComponent("reports", isDirectory: true)
        let outside = directory.url.appendingPathComponent("outside", isDirectory: true)
        try FileManager.default.createDirectory(at: reports, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        let folder = Folder(directory: directory, reports: reports, outside: outside)
        try folder.write(HTMLReport.render(older), "run-2026.01_a.html")
        try folder.write(HTMLReport.render(newer), "newer.html")
        // An older page: no data block; the title is all there is.
        try folder.write("<!DOCTYPE html><html><head><title>Quarry evaluation · old &amp; &lt;odd&gt;</title></head></html>", "legacy.html")
        // An older page with its --json beside it.
        try folder.write("<!DOCTYPE html><html><head><title>ignored</title></head></html>", "paired.html")
        try folder.write(String(decoding: try HTMLReport.json(report("2025-12-24T08:00:00Z", dataset: "fiqa", modes: [("dense", ["ndcg@10": 0.2])])), as: UTF8.self), "paired.json")
        // Not reports: hidden, bad names, other extensions, a folder, links out or to nothing.
        try folder.write(HTMLReport.render(newer), ".hidden.html")
        try folder.write(HTMLReport.render(newer), "bad name.html")
        try folder.write(HTMLReport.render(newer), "x.htm")
        try folder.write(HTMLReport.render(newer), "y.HTML")
        try folder.write(HTMLReport.render(newer), ".html")
        try FileManager.default.createDirectory(at: reports.appendingPathComponent("dir.html"), withIntermediateDirectories: true)
        try Data("<p>secret outside</p>".utf8).write(to: outside.appendingPathComponent("secret.html"))
        try folder.link("escape.html", to: outside.appendingPathComponent("secret.html").path)
        try folder.link("relative.html", to: "../outside/secret.html")
        try folder.link("dangling.html", to: reports.appendingPathComponent("gone.html").path)
        try folder.link("outdir.html", to: outside.path)
        // A link that stays in the folder is a report of its own.
        try folder.link("alias.html", to: "run-2026.01_a.html")
        return folder
    }

    @Test func listsReportsNewestFirst() async throws {
        let folder = try Self.folder()
        defer { folder.directory.cleanUp() }
        let library = try ReportLibrary(folder: folder.reports)
        let reports = try await library.list()
        #expect(reports.map(\.name) == ["newer", "alias", "run-2026.01_a", "paired", "legacy"])
        let newer = try #require(reports.first)
        #expect(
            newer
                == ReportSummary(
                    name: "newer", title: "Quarry evaluation · nfcorpus", generatedAt: "2026-02-01T09:30:00Z", dataset: "nfcorpus",
                    modes: ["zeta", "hybrid", "lexical"], comparable: true, bytes: try folder.bytes("newer.html").count
                )
        )
        #expect(reports[1].bytes == (try folder.bytes("run-2026.01_a.html").count))
        #expect(reports[2].modes == ["hybrid", "dense"])
        #expect(reports[3] == ReportSummary(
            name: "paired", title: "Quarry evaluation · fiqa", generatedAt: "2025-12-24T08:00:00Z", dataset: "fiqa", modes: ["dense"],
            comparable: true, bytes: try folder.bytes("paired.html").count
        ))
        #expect(reports[4] == ReportSummary(
            name: "legacy", title: "Quarry evaluation · old & <odd>", generatedAt: nil, dataset: nil, modes: [], comparable: false,
            bytes: try folder.bytes("legacy.html").count
        ))
    }

    @Test func aChangedReportIsReadAgain() async throws {
        let folder = try Self.folder()
        defer { folder.directory.cleanUp() }
        let library = try ReportLibrary(folder: folder.reports)
        #expect(try await library.list().first?.name == "newer")
        // Same name, a later run on another dataset (and so another size).
        try folder.write(HTMLReport.render(Self.report("2026-03-01T00:00:00Z", dataset: "arguana-x", modes: [])), "legacy.html")
        try FileManager.default.removeItem(at: folder.reports.appendingPathComponent("newer.html"))
        let reports = try await library.list()
        #expect(reports.map(\.name) == ["legacy", "alias", "run-2026.01_a", "paired"])
        #expect(reports.first?.dataset == "arguana-x")
        #expect(reports.first?.comparable == true)
    }

    @Test func readsAReportAsStored() async throws {
        let folder = try Self.folder()
        defer { folder.directory.cleanUp() }
        let library = try ReportLibrary(folder: folder.reports)
        #expect(try await library.html(named: "newer") == folder.bytes("newer.html"))
        #expect(try await library.html(named: "alias") == folder.bytes("run-2026.01_a.html"))
        #expect(try await library.html(named: "legacy") == folder.bytes("legacy.html"))
    }

    @Test func aReportTooLargeToReadIsListedButNotShown() async throws {
        let folder = try Self.folder()
        defer { folder.directory.cleanUp() }
        let legacy = try folder.bytes("legacy.html").count
        let library = try ReportLibrary(folder: folder.reports, maxBytes: legacy)
        let reports = try await library.list()
        #expect(reports.map(\.name) == ["alias", "legacy", "newer", "paired", "run-2026.01_a"])
        #expect(reports.map(\.comparable) == [false, false, false, false, false])
        #expect(reports[2].title == "Quarry evaluation")
        #expect(reports[2].bytes == (try folder.bytes("newer.html").count))
        #expect(try await library.html(named: "legacy") == folder.bytes("legacy.html"))
        let error = await #expect(throws: QuarryError.self) { try await library.html(named: "newer") }
        #expect(error?.code == .unreadableInput)
        #expect(error?.message == "newer.html is larger than the \(legacy) bytes a report may have")
    }

    @Test func namesOutsideThePatternAreRefused() async throws {
        let folder = try Self.folder()
        defer { folder.directory.cleanUp() }
        let library = try ReportLibrary(folder: folder.reports)
        let invalid = [
            "", ".", "..", "../x", "../outside/secret", "%2e%2e", "%2e%2e%2fx", "..%2fx", "a/b", "/etc/passwd", ".hidden", "bad name",
            "naïve", "a\0b", "a\\b", String(repeating: "a", count: 201), "newer.html\n",
        ]
        for name in invalid {
            #expect(!ReportLibrary.isValidName(name), "\(name)")
            let error = await #expect(throws: QuarryError.self, "\(name)") { try await library.html(named: name) }
            #expect(error?.code == .invalidRequest, "\(name)")
            #expect(error?.message.contains("is not a report name") == true)
            let compared = await #expect(throws: QuarryError.self) { try await library.compare("newer", name) }
            #expect(compared?.code == .invalidRequest)
        }
        for name in ["newer", "run-2026.01_a", "a", "A-Z_0.9", String(repeating: "a", count: 200)] {
            #expect(ReportLibrary.isValidName(name), "\(name)")
        }
    }

    @Test func linksOutOfTheFolderAndOtherFilesAreNotFound() async throws {
        let folder = try Self.folder()
        defer { folder.directory.cleanUp() }
        let library = try ReportLibrary(folder: folder.reports)
        for name in ["escape", "relative", "dangling", "outdir", "dir", "missing", "x", "y", "secret"] {
            let error = await #expect(throws: QuarryError.self, "\(name)") { try await library.html(named: name) }
            #expect(error?.code == .notFound, "\(name)")
            #expect(error?.message == "there is no report named '\(name)'")
        }
        // A folder reached through a link is the same folder.
        let linked = folder.directory.url.appendingPathComponent("linked")
        try FileManager.default.createSymbolicLink(at: linked, withDestinationURL: folder.reports)
        let throughLink = try ReportLibrary(folder: linked)
        #expect(try await throughLink.list().count == 5)
        #expect(try await throughLink.html(named: "alias") == folder.bytes("run-2026.01_a.html"))
        let escaped = await #expect(throws: QuarryError.self) { try await throughLink.html(named: "escape") }
        #expect(escaped?.code == .notFound)
    }

    @Test func aFolderThatIsNotOneIsRefused() throws {
        let folder = try Self.folder()
        defer { folder.directory.cleanUp() }
        for url in [folder.directory.url.appendingPathComponent("absent"), folder.reports.appendingPathComponent("newer.html")] {
            let error = #expect(throws: QuarryError.self) { try ReportLibrary(folder: url) }
            #expect(error?.code == .invalidRequest)
        }
    }

    @Test func comparesTwoRunsPerModeAndMetric() async throws {
        let folder = try Self.folder()
        defer { folder.directory.cleanUp() }
        let library = try ReportLibrary(folder: folder.reports)
        let comparison = try await library.compare("run-2026.01_a", "newer")
        #expect(comparison.a == ReportComparison.Run(name: "run-2026.01_a", generatedAt: "2026-01-05T10:00:00Z"))
        #expect(comparison.b == ReportComparison.Run(name: "newer", generatedAt: "2026-02-01T09:30:00Z"))
        // The known modes in their order, then the others by name.
        #expect(comparison.modes.map(\.mode) == ["dense", "lexical", "hybrid", "zeta"])
        typealias Row = ReportComparison.Row
        #expect(comparison.modes[0].metrics == [Row(metric: "ndcg@10", a: 0.60, b: nil), Row(metric: "recall@10", a: nil, b: nil)])
        #expect(comparison.modes[0].metrics[0].delta == nil)
        #expect(comparison.modes[1].metrics == [Row(metric: "ndcg@10", a: nil, b: 0.65)])
        // Metrics in report order (`Metrics.names`), then the others by name.
        let hybrid = comparison.modes[2].metrics
        #expect(hybrid.map(\.metric) == ["ndcg@10", "recall@10", "p@10", "custom@3"])
        #expect(hybrid[0].a == 0.70 && hybrid[0].b == 0.75 && hybrid[0].delta == 0.75 - 0.70)
        #expect(hybrid[1].delta == 0.78 - 0.80)
        #expect(hybrid[1].delta.map { $0 < 0 } == true)
        #expect(hybrid[2] == Row(metric: "p@10", a: 0.1, b: nil))
        #expect(hybrid[2].delta == nil)
        #expect(hybrid[3].a == nil && hybrid[3].b == 0.5 && hybrid[3].delta == nil)
        #expect(comparison.modes[3].metrics == [Row(metric: "ndcg@10", a: nil, b: 0.1)])
        // QA: only run a evaluated answers.
        #expect(comparison.qa.map(\.metric) == [
            "faithfulness", "answer_f1", "abstention.recall", "abstention.precision", "abstention.coverage",
            "abstention.answered_correctly", "abstention.area_under_curve",
        ])
        #expect(comparison.qa.allSatisfy { $0.b == nil && $0.delta == nil })
        #expect(comparison.qa[0].a == 0.9 && comparison.qa[2].a == 0.5 && comparison.qa[6].a == 0.25)

        // The other way round, every delta changes sign.
        let reversed = try await library.compare("newer", "run-2026.01_a")
        #expect(reversed.modes.map(\.mode) == comparison.modes.map(\.mode))
        #expect(reversed.modes[2].metrics[0].delta == 0.70 - 0.75)
        // A run against itself: every known value, a delta of 0.
        let same = try await library.compare("alias", "run-2026.01_a")
        #expect(same.modes.flatMap(\.metrics).allSatisfy { $0.a == nil || $0.delta == 0 })
        #expect(same.qa.allSatisfy { $0.delta == 0 })
        // A report of an older Quarry compares through its NAME.json.
        let paired = try await library.compare("paired", "newer")
        #expect(paired.modes.map(\.mode) == ["dense", "lexical", "hybrid", "zeta"])
        #expect(paired.modes[0].metrics == [Row(metric: "ndcg@10", a: 0.2, b: nil)])
        #expect(paired.qa.isEmpty)
    }

    @Test func reportsWithoutResultsOrNotThereCannotBeCompared() async throws {
        let folder = try Self.folder()
        defer { folder.directory.cleanUp() }
        let library = try ReportLibrary(folder: folder.reports)
        let legacy = await #expect(throws: QuarryError.self) { try await library.compare("newer", "legacy") }
        #expect(legacy?.code == .invalidRequest)
        #expect(legacy?.message.contains("report 'legacy' holds no results to compare") == true)
        let missing = await #expect(throws: QuarryError.self) { try await library.compare("missing", "newer") }
        #expect(missing?.code == .notFound)
        let escaped = await #expect(throws: QuarryError.self) { try await library.compare("newer", "escape") }
        #expect(escaped?.code == .notFound)
    }
}
