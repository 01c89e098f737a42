import Foundation
import QuarryCore
import QuarryStore
import Synchronization

/// A folder of eval reports (`quarry eval --html`), as `quarry serve --reports DIR` shows them:
/// listed, read one at a time, and two runs compared.
///
/// A report is a file `NAME.html` directly in the folder, its name made of letters, digits,
/// `.`, `_` and `-` and not starting with `.`; a symbolic link counts when what it points to is a
/// regular file inside the folder. What a report measured is read from the JSON the page
/// carries (``HTMLReport/dataBlockID``), or else from `NAME.json` beside it (`quarry eval
/// --json`); a report with neither is listed, but cannot be compared.
///
/// Names are checked before any path is built from them, so no name reaches a file outside the
/// folder. Files are read on a thread of the library's own, never on Swift concurrency's shared
/// threads, and what a report holds is remembered until its file changes (size or modification
/// time), so listing a folder of large reports again costs a `stat` per file.
public final class ReportLibrary: Sendable {
    /// The folder, with symbolic links resolved.
    public let folder: URL
    /// The largest file read, in bytes; a larger one is refused.
    public let maxBytes: Int
    private let executor: BlockingExecutor
    private let cache = Mutex<[String: Cached]>([:])

    /// What was read from one report, and the state of its files when it was.
    private struct Cached: Sendable {
        var stamp: [FileStamp]
        var facts: ReportFacts
    }

    /// Opens a folder of reports.
    /// - Parameters:
    ///   - folder: the folder `quarry eval --html` writes to.
    ///   - maxBytes: the largest report (HTML or JSON) read, in bytes.
    /// - Throws: `QuarryError.invalidRequest` when `folder` is not a folder.
    public init(folder: URL, maxBytes: Int = 256 << 20) throws {
        guard let resolved = Self.realPath(folder.path) else {
            throw QuarryError(.invalidRequest, "the reports folder \(folder.path) does not exist")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw QuarryError(.invalidRequest, "the reports folder \(folder.path) is not a folder")
        }
        self.folder = URL(fileURLWithPath: resolved, isDirectory: true)
        self.maxBytes = maxBytes
        executor = BlockingExecutor(threads: 1)
    }

    // MARK: - Names

    /// Whether `name` may name a report: 1 to 200 letters, digits, `.`, `_` and `-`, not
    /// starting with `.` (so neither `.` nor `..`, nor a hidden file).
    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 200, name.first != "." else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }

    /// - Throws: `QuarryError.invalidRequest` unless `name` is a valid report name.
    static func validate(_ name: String) throws {
        guard isValidName(name) else {
            throw QuarryError(
                .invalidRequest,
                "'\(name.prefix(64))' is not a report name: a report is named by its file name without .html, "
                    + "made of letters, digits, '.', '_' and '-', not starting with '.'"
            )
        }
    }

    // MARK: - Reading

    /// Every report of the folder, newest first (by `generated_at`; those without one last), then
    /// by name.
    /// - Throws: `QuarryError.storage` when the folder cannot be read.
    public func list() async throws -> [ReportSummary] {
        try await executor.run { try self.listNow() }
    }

    /// The page of report `name`, as stored.
    /// - Throws: `QuarryError.invalidRequest` for a name that is not a report name,
    ///   `.notFound` when the folder holds no such report.
    public func html(named name: String) async throws -> Data {
        try Self.validate(name)
        return try await executor.run { try self.read(self.file(name + ".html", of: name)) }
    }

    /// Report `b` against report `a`: every retrieval mode either ran, each metric's values and
    /// the change `b − a`, and the QA metrics.
    /// - Throws: as ``html(named:)``; `QuarryError.invalidRequest` when either report holds no
    ///   results to compare (no data block and no `NAME.json`).
    public func compare(_ a: String, _ b: String) async throws -> ReportComparison {
        try Self.validate(a)
        try Self.validate(b)
        return try await executor.run {
            let (left, right) = (try self.facts(a), try self.facts(b))
            for facts in [left, right] where !facts.comparable {
                throw QuarryError(
                    .invalidRequest,
                    "report '\(facts.name)' holds no results to compare: it has no embedded JSON (written by an older quarry eval) "
                        + "and no \(facts.name).json beside it"
                )
            }
            return ReportComparison(a: left, b: right)
        }
    }

    // MARK: - Files (on the executor's thread)

    func listNow() throws -> [ReportSummary] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw QuarryError(.storage, "the reports folder \(folder.path) cannot be read", underlying: error)
        }
        var summaries: [ReportSummary] = []
        for file in names where file.hasSuffix(".html") {
            let name = String(file.dropLast(".html".count))
            guard Self.isValidName(name) else { continue }
            // A report removed, or made unreadable, while the folder is listed is left out.
            guard let facts = try? facts(name) else { continue }
            summaries.append(facts.summary)
        }
        cache.withLock { cache in
            let listed = Set(summaries.map(\.name))
            cache = cache.filter { listed.contains($0.key) }
        }
        return ReportSummary.newestFirst(summaries)
    }

    /// What report `name` holds: from the cache while its files are unchanged.
    func facts(_ name: String) throws -> ReportFacts {
        let page = try file(name + ".html", of: name)
        let sibling = try? file(name + ".json", of: name)
        let stamp = [page.stamp] + (sibling.map { [$0.stamp] } ?? [])
        if let cached = cache.withLock({ $0[name] }), cached.stamp == stamp { return cached.facts }
        // A page too large to read is still listed, without its results, though it cannot be shown.
        let html = page.stamp.bytes <= maxBytes ? String(decoding: try read(page), as: UTF8.self) : ""
        var report: EvalReport?
        if let data = HTMLReport.embeddedJSON(in: html) {
            report = try? HTMLReport.decoder().decode(EvalReport.self, from: data)
        }
        if report == nil, let sibling, let data = try? read(sibling) {
            report = try? HTMLReport.decoder().decode(EvalReport.self, from: data)
        }
        let facts =
            report.map { ReportFacts(name: name, bytes: page.stamp.bytes, report: $0) }
            ?? ReportFacts(name: name, bytes: page.stamp.bytes, title: Self.title(in: html))
        cache.withLock { $0[name] = Cached(stamp: stamp, facts: facts) }
        return facts
    }

    /// A file of the folder that may be read: `fileName` directly in the folder, a regular file
    /// or a link to a regular file inside the folder.
    /// - Throws: `QuarryError.notFound` (naming the report `name`) otherwise.
    func file(_ fileName: String, of name: String) throws -> ResolvedFile {
        let missing = QuarryError(.notFound, "there is no report named '\(name)'")
        let path = folder.appendingPathComponent(fileName).path
        let inside = folder.path.hasSuffix("/") ? folder.path : folder.path + "/"
        guard let resolved = Self.realPath(path), resolved.hasPrefix(inside) else { throw missing }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved),
            attributes[.type] as? FileAttributeType == .typeRegular
        else { throw missing }
        let bytes = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return ResolvedFile(path: resolved, stamp: FileStamp(path: resolved, bytes: bytes, modified: modified))
    }

    /// The bytes of `file`; never more than `maxBytes` are read, even from a file that grew.
    func read(_ file: ResolvedFile) throws -> Data {
        let name = URL(fileURLWithPath: file.path).lastPathComponent
        let tooLarge = QuarryError(.unreadableInput, "\(name) is larger than the \(maxBytes) bytes a report may have")
        guard file.stamp.bytes <= maxBytes else { throw tooLarge }
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: file.path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw QuarryError(.storage, "\(file.path) cannot be read", underlying: error)
        }
        guard data.count <= maxBytes else { throw tooLarge }
        return data
    }

    struct ResolvedFile {
        var path: String
        var stamp: FileStamp
    }

    struct FileStamp: Sendable, Equatable {
        var path: String
        var bytes: Int
        var modified: Double
    }

    /// `path` with every symbolic link and `.`/`..` resolved, or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The text of a page's `<title>`, for a report without JSON; "Quarry evaluation" without one.
    static func title(in html: String) -> String {
        guard let start = html.range(of: "<title>"), let end = html.range(of: "</title>", range: start.upperBound..<html.endIndex) else {
            return HTMLReport.title(dataset: nil)
        }
        var title = String(html[start.upperBound..<end.lowerBound].prefix(300))
        for (entity, character) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")] {
            title = title.replacingOccurrences(of: entity, with: character)
        }
        return title
    }
}

/// One report as `GET /reports` lists it.
public struct ReportSummary: Sendable, Equatable {
    /// The file name without `.html`.
    public var name: String
    /// The page's title (`Quarry evaluation · scifact`).
    public var title: String
    /// When the evaluation ran (ISO 8601), when known.
    public var generatedAt: String?
    /// The retrieval dataset (or, for follow-up questions only, the conversations file), when known.
    public var dataset: String?
    /// The retrieval modes run, in the order run.
    public var modes: [String]
    /// Whether the report's results were found (its data block, or `NAME.json`), so that it
    /// can be compared.
    public var comparable: Bool
    /// The size of the page, in bytes.
    public var bytes: Int

    /// `summaries` newest first by `generatedAt` (one that is not an ISO 8601 time after every
    /// one that is, one without after all), then by name.
    static func newestFirst(_ summaries: [ReportSummary]) -> [ReportSummary] {
        let keyed = summaries.map { (summary: $0, instant: $0.generatedAt.map(Instant.init)) }
        return keyed.sorted { a, b in
            switch (a.instant, b.instant) {
            case (let x?, let y?) where x != y: x > y
            case (.some, nil): true
            case (nil, .some): false
            default: a.summary.name < b.summary.name
            }
        }.map(\.summary)
    }

    /// A time stamp as a comparable value: any text below every ISO 8601 time, which compare as times.
    enum Instant: Comparable {
        case text(String)
        case date(Double)

        init(_ text: String) {
            let formatter = ISO8601DateFormatter()
            if let date = formatter.date(from: text) {
                self = .date(date.timeIntervalSince1970)
                return
            }
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            self = formatter.date(from: text).map { .date($0.timeIntervalSince1970) } ?? .text(text)
        }
    }
}

/// What the library keeps of a report: its summary and the means it can be compared on.
struct ReportFacts: Sendable {
    var name: String
    var summary: ReportSummary
    /// Retrieval mode → metric → mean over queries.
    var modes: [(mode: String, metrics: [String: Double])]
    /// QA and abstention metric → value (``ReportComparison/qaMetrics`` names them).
    var qa: [String: Double]
    var comparable: Bool { summary.comparable }

    /// A report whose results are known.
    init(name: String, bytes: Int, report: EvalReport) {
        self.name = name
        let dataset = report.retrieval?.dataset ?? report.conversations?.dataset
        summary = ReportSummary(
            name: name, title: HTMLReport.title(dataset: report.retrieval?.dataset), generatedAt: report.generatedAt, dataset: dataset,
            modes: report.retrieval?.modes.map(\.mode) ?? [], comparable: true, bytes: bytes
        )
        modes = report.retrieval?.modes.map { ($0.mode, $0.metrics) } ?? []
        var qa = report.qa?.summary ?? [:]
        if let abstention = report.qa?.abstention {
            let values: [(String, Double?)] = [
                ("abstention.recall", abstention.recall), ("abstention.precision", abstention.precision),
                ("abstention.coverage", abstention.coverage), ("abstention.answered_correctly", abstention.answeredCorrectly),
                ("abstention.accuracy", abstention.accuracy), ("abstention.area_under_curve", abstention.areaUnderCurve),
            ]
            for case let (key, value?) in values { qa[key] = value }
        }
        self.qa = qa
    }

    /// A report whose results are not known: only its page was found.
    init(name: String, bytes: Int, title: String) {
        self.name = name
        summary = ReportSummary(name: name, title: title, generatedAt: nil, dataset: nil, modes: [], comparable: false, bytes: bytes)
        modes = []
        qa = [:]
    }
}

/// Two runs side by side: per retrieval mode and metric, each run's value and the change.
public struct ReportComparison: Sendable, Equatable {
    /// One of the two runs.
    public struct Run: Sendable, Equatable {
        /// The report's name.
        public var name: String
        /// When it ran (ISO 8601).
        public var generatedAt: String?
    }

    /// One metric of both runs.
    public struct Row: Sendable, Equatable {
        /// The metric's name as the report writes it (`ndcg@10`, `faithfulness`).
        public var metric: String
        /// Run a's value; nil when it lacks the metric (or its value is not finite).
        public var a: Double?
        /// Run b's value; nil likewise.
        public var b: Double?
        /// `b − a`; nil unless both are known.
        public var delta: Double?

        /// Creates a row, with its delta.
        public init(metric: String, a: Double?, b: Double?) {
            self.metric = metric
            self.a = a.flatMap { $0.isFinite ? $0 : nil }
            self.b = b.flatMap { $0.isFinite ? $0 : nil }
            if let x = self.a, let y = self.b { delta = y - x } else { delta = nil }
        }
    }

    /// One retrieval mode of either run.
    public struct Mode: Sendable, Equatable {
        /// `dense`, `lexical`, `hybrid`, …
        public var mode: String
        /// Its metrics, in report order (`Metrics.names`), then any others by name.
        public var metrics: [Row]
    }

    /// The run compared against.
    public var a: Run
    /// The run compared.
    public var b: Run
    /// The retrieval modes of either run: `dense`, `lexical`, `hybrid`, then others by name.
    public var modes: [Mode]
    /// The QA means of either run (`faithfulness`, …, `abstention.recall`, …); empty when
    /// neither evaluated answers.
    public var qa: [Row]

    /// The order of the QA metrics; others follow by name.
    static let qaMetrics =
        HTMLReport.summaryFields.map(\.key) + [
            "abstention.recall", "abstention.precision", "abstention.coverage", "abstention.answered_correctly",
            "abstention.accuracy", "abstention.area_under_curve",
        ]

    /// The order of the retrieval modes; others follow by name.
    static let modeOrder = ["dense", "lexical", "hybrid"]

    init(a left: ReportFacts, b right: ReportFacts) {
        a = Run(name: left.name, generatedAt: left.summary.generatedAt)
        b = Run(name: right.name, generatedAt: right.summary.generatedAt)
        let leftModes = Dictionary(left.modes.map { ($0.mode, $0.metrics) }, uniquingKeysWith: { first, _ in first })
        let rightModes = Dictionary(right.modes.map { ($0.mode, $0.metrics) }, uniquingKeysWith: { first, _ in first })
        let names = Self.ordered(Set(leftModes.keys).union(rightModes.keys), first: Self.modeOrder)
        modes = names.map { mode in
            Mode(mode: mode, metrics: Self.rows(leftModes[mode] ?? [:], rightModes[mode] ?? [:], first: Metrics.names))
        }
        qa = Self.rows(left.qa, right.qa, first: Self.qaMetrics)
    }

    /// A row per metric either side has, in order.
    static func rows(_ left: [String: Double], _ right: [String: Double], first: [String]) -> [Row] {
        ordered(Set(left.keys).union(right.keys), first: first).map { Row(metric: $0, a: left[$0], b: right[$0]) }
    }

    /// `names` in the order of `first`, then the rest sorted.
    static func ordered(_ names: Set<String>, first: [String]) -> [String] {
        first.filter(names.contains) + names.subtracting(first).sorted()
    }
}
