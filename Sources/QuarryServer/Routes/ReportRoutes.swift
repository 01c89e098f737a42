import Foundation
import Hummingbird
import NIOCore
import QuarryCore
import QuarryEval

/// `GET /reports`, `GET /reports/compare?a=&b=`, `GET /reports/{name}`: the eval reports of the
/// folder `quarry serve --reports DIR` names, for any key that may read.
///
/// Reports are the server's, not a tenant's: every tenant's readers see the same folder. They
/// hold what `quarry eval` wrote: metrics, and the text of the worst queries with the start of
/// the passages they retrieved from the eval's own dataset, never a tenant's documents.
///
/// `compare` is matched before `{name}`, so a report named `compare` cannot be read by name.
struct ReportRoutes: Sendable {
    /// The folder of reports; nil when the server was started without one.
    let library: ReportLibrary?

    /// The policy a report's page is served under: its one style block (by hash), images only
    /// from `data:` URLs, no script at all (`sandbox` without `allow-scripts`), and framed only
    /// by the server's own pages.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src '\(HTMLReport.stylesheetHash)'; img-src data:; frame-ancestors 'self'; sandbox"

    func register(on router: Router<QuarryRequestContext>) {
        router.get("/reports") { _, context in
            _ = try context.principal(for: .read)
            let reports = try await requireLibrary().list()
            return try JSON.response(ReportList(reports: reports.map(ReportSummaryBody.init)))
        }
        router.get("/reports/compare") { request, context in
            _ = try context.principal(for: .read)
            let library = try requireLibrary()
            let query = request.uri.queryParameters
            guard let a = query["a"].map(String.init), let b = query["b"].map(String.init), !a.isEmpty, !b.isEmpty else {
                throw QuarryError(.invalidRequest, "name the two reports to compare: /reports/compare?a=NAME&b=NAME")
            }
            return try JSON.response(ComparisonBody(try await library.compare(a, b)))
        }
        router.get("/reports/{name}") { _, context in
            _ = try context.principal(for: .read)
            let library = try requireLibrary()
            let raw = try context.parameters.require("name")
            // Names are plain ASCII; a client that percent-encodes one anyway still finds it, and
            // the library checks the decoded name (`..` included) before touching a file.
            let page = try await library.html(named: raw.removingPercentEncoding ?? raw)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8", .contentSecurityPolicy: Self.contentSecurityPolicy,
                    .xContentTypeOptions: "nosniff", .cacheControl: "private, no-cache",
                ],
                body: .init(byteBuffer: ByteBuffer(bytes: page))
            )
        }
    }

    /// The library, or the 404 of a server without a reports folder.
    private func requireLibrary() throws -> ReportLibrary {
        guard let library else {
            throw APIError(
                status: .notFound, code: "reports_disabled",
                message: "this server serves no eval reports: start it with quarry serve --reports DIR, DIR being the folder quarry eval --html writes to"
            )
        }
        return library
    }
}

/// The body of `GET /reports`.
struct ReportList: Encodable {
    var reports: [ReportSummaryBody]
}

/// One report in `GET /reports`; `generated_at` and `dataset` are null when unknown.
struct ReportSummaryBody: Encodable {
    var summary: ReportSummary

    enum CodingKeys: String, CodingKey {
        case name, title, dataset, modes, comparable, bytes
        case generatedAt = "generated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(summary.name, forKey: .name)
        try c.encode(summary.title, forKey: .title)
        try c.encode(summary.generatedAt, forKey: .generatedAt)
        try c.encode(summary.dataset, forKey: .dataset)
        try c.encode(summary.modes, forKey: .modes)
        try c.encode(summary.comparable, forKey: .comparable)
        try c.encode(summary.bytes, forKey: .bytes)
    }
}

/// The body of `GET /reports/compare`: null where a run lacks a value.
struct ComparisonBody: Encodable {
    var comparison: ReportComparison

    init(_ comparison: ReportComparison) {
        self.comparison = comparison
    }

    enum CodingKeys: String, CodingKey {
        case a, b, modes, qa
    }

    struct Run: Encodable {
        var run: ReportComparison.Run

        enum CodingKeys: String, CodingKey {
            case name
            case generatedAt = "generated_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(run.name, forKey: .name)
            try c.encode(run.generatedAt, forKey: .generatedAt)
        }
    }

    struct Row: Encodable {
        var row: ReportComparison.Row

        enum CodingKeys: String, CodingKey {
            case metric, a, b, delta
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(row.metric, forKey: .metric)
            try c.encode(row.a, forKey: .a)
            try c.encode(row.b, forKey: .b)
            try c.encode(row.delta, forKey: .delta)
        }
    }

    struct Mode: Encodable {
        var mode: String
        var metrics: [Row]
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Run(run: comparison.a), forKey: .a)
        try c.encode(Run(run: comparison.b), forKey: .b)
        try c.encode(comparison.modes.map { Mode(mode: $0.mode, metrics: $0.metrics.map(Row.init)) }, forKey: .modes)
        try c.encode(comparison.qa.map(Row.init), forKey: .qa)
    }
}
