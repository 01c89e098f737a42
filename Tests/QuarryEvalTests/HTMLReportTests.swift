import Foundation
import QuarryDigest
@testable import QuarryEval
import QuarryTestSupport
import Testing

/// A report with three modes, text that needs escaping and one unsupported answer sentence.
enum SampleReport {
    static let headings = ["Retrieval metrics", "Recall@k", "Latency", "Worst queries", "Faithfulness"]
    static let hostileQuery = "<script>alert(\"pwned\")</script> fish & chips"
    static let hostileSnippet = "<b>bold</b> & 'quoted'"

    /// The hybrid mode's query `i` has nDCG@10 = ((5 i) mod 12) / 12: a permutation of 0 ... 11/12
    /// whose two best queries are 7 and 2.
    static func ndcg(_ i: Int) -> Double { Double((i * 5) % 12) / 12 }

    static func text(_ i: Int) -> String { i == 0 ? hostileQuery : "what causes effect number \(i)?" }

    static func queries(count: Int) -> [QueryEvaluation] {
        (0..<count).map { i in
            QueryEvaluation(
                id: "q\(i)", text: text(i), metrics: ["ndcg@10": ndcg(i), "recall@10": 1],
                relevant: ["d\(i)-a": 2, "d\(i)-missing": 1, "d\(i)-judged": 0],
                retrieved: [
                    RetrievedDocument(id: "d\(i)-x", score: 0.8123456, grade: 0, snippet: i == 0 ? hostileSnippet : "An unrelated passage."),
                    RetrievedDocument(id: "d\(i)-a", score: 0.7, grade: 2, snippet: "The relevant passage \(i)."),
                    RetrievedDocument(id: "d\(i)-y", score: 12.5, grade: 0, snippet: String(repeating: "long ", count: 100)),
                ]
            )
        }
    }

    static func mode(_ name: String, scale: Double, latency: Double, queries: [QueryEvaluation]) -> ModeEvaluation {
        let metrics = Dictionary(uniqueKeysWithValues: Metrics.names.enumerated().map { ($1, min(1, scale * (0.5 + 0.05 * Double($0)))) })
        let curve = Metrics.curve.map { RecallPoint(k: $0, recall: min(1, scale * (0.25 + 0.2 * log10(Double($0)) + 0.15))) }
        // A skewed spread with one far outlier, as real latencies have.
        let samples: [Double] = (0..<200).map { (i: Int) -> Double in
            let wobble = 0.4 * sin(Double(i)) * sin(Double(i) * 0.37)
            return latency * (1 + wobble + Double(i % 17) / 40)
        }
        let withOutlier = samples + [latency * 9]
        return ModeEvaluation(mode: name, metrics: metrics, recallCurve: curve, latency: LatencySummary(samples: withOutlier), perQuery: queries)
    }

    static let unsupported = SentenceVerdict(
        text: "It was invented in <1990> by Ada & Bob.", supported: false, cosine: 0.21, overlap: 0.1, citations: [2], citationSupported: [false]
    )
    static let supported = SentenceVerdict(
        text: "WAL lets readers and writers work at once.", supported: true, cosine: 0.91, overlap: 0.875, citations: [1], citationSupported: [true]
    )

    static func report() -> EvalReport {
        let dense = mode("dense", scale: 1.22, latency: 6, queries: [
            QueryEvaluation(id: "dq", text: "a query only dense ran", metrics: ["ndcg@10": 0], relevant: [:], retrieved: [])
        ])
        let lexical = mode("lexical", scale: 1.1, latency: 0.8, queries: [])
        let hybrid = mode("hybrid", scale: 1.404, latency: 7.5, queries: queries(count: 12))
        let qa = QAEvaluation(
            answerer: "extractive",
            summary: ["faithfulness": 0.5, "citation_precision": 0.5, "context_recall": 1, "answer_f1": 0.4, "exact_match": 0, "abstention_rate": 0.5],
            thresholds: ["cosine": 0.85, "overlap": 0.95, "require_both": 0, "check_numbers": 1, "check_negation": 0, "novel": 2],
            questions: [
                QAQuestionEvaluation(
                    id: "qa1", question: "How does WAL help & why?", answer: "WAL lets readers and writers work at once. It was invented in <1990> by Ada & Bob.",
                    expected: ["readers and writers <concurrently>"], abstained: false, sentences: [supported, unsupported],
                    faithfulness: 0.5, citationPrecision: 0.5, contextRecall: 1, answerF1: 0.4, exactMatch: 0
                ),
                QAQuestionEvaluation(
                    id: "qa2", question: "Who won in 2030?", answer: "", expected: [], abstained: true, sentences: [],
                    faithfulness: 1, citationPrecision: 1, contextRecall: 1, answerF1: 1, exactMatch: 1
                ),
            ]
        )
        return EvalReport(
            generatedAt: "2026-11-22T19:00:00Z", commit: "0123456789abcdef",
            retrieval: RetrievalEvaluation(dataset: "scifact", split: "test", corpusDocuments: 5183, queries: 300, topK: 100, modes: [dense, lexical, hybrid]),
            qa: qa
        )
    }
}

extension String {
    func occurrences(of part: String) -> Int {
        components(separatedBy: part).count - 1
    }

    /// The `<svg>…</svg>` elements of a page.
    var svgElements: [Substring] {
        var found: [Substring] = []
        var rest = self[...]
        while let start = rest.range(of: "<svg"), let end = rest[start.upperBound...].range(of: "</svg>") {
            found.append(rest[start.lowerBound..<end.upperBound])
            rest = rest[end.upperBound...]
        }
        return found
    }
}

@Suite struct HTMLReportTests {
    @Test func sectionsChartsAndHeaderArePresent() {
        let html = HTMLReport.render(SampleReport.report())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<h1>Quarry evaluation</h1>"))
        for heading in SampleReport.headings {
            #expect(html.occurrences(of: "<h2>\(heading)</h2>") == 1, "heading \(heading)")
        }
        #expect(html.occurrences(of: "<h2>") == SampleReport.headings.count)
        for fact in ["scifact", "test", "5,183 documents", "300", "2026-11-22T19:00:00Z", "0123456789abcdef"] {
            #expect(html.contains("<b>\(fact)</b>"), "header fact \(fact)")
        }
        // The recall chart and one histogram per mode.
        #expect(html.occurrences(of: "<svg") == 4)
        #expect(html.svgElements.count == 4)
        // One line per mode in the recall chart, over the eight cut-offs.
        #expect(html.occurrences(of: "<polyline") == 3)
        #expect(html.occurrences(of: "<title>hybrid recall@") == 8)
        // Each histogram marks p50 and p99, and tells about the outlier it folds into its last bar.
        #expect(html.occurrences(of: "<line class=\"marker\"") == 6)
        #expect(html.occurrences(of: "The last bar also counts 1 slower query") == 3)
        // No "nan" or "inf" coordinates.
        for svg in html.svgElements {
            #expect(!svg.lowercased().contains("nan") && !svg.lowercased().contains("inf"))
        }
    }

    @Test func metricsTableBoldsTheBestModePerColumn() {
        let html = HTMLReport.render(SampleReport.report())
        // nDCG@10 is scale × 0.5: dense 0.610, lexical 0.550, hybrid 0.702.
        #expect(html.contains("<tr><td class=\"name\"><span class=\"swatch c0\"></span>dense</td><td>0.610</td>"))
        #expect(html.contains("lexical</td><td>0.550</td>"))
        #expect(html.contains("hybrid</td><td><b>0.702</b></td>"))
        // Metric i is scale × (0.5 + 0.05 i), at most 1: hybrid reaches 1 at P@1, P@5 and P@10, dense
        // at P@10 only, where both are bold.
        #expect(html.occurrences(of: "<td><b>1.000</b></td>") == 4)
        #expect(html.contains("hybrid</td><td><b>0.702</b></td><td><b>0.772</b></td><td><b>0.842</b></td><td><b>0.913</b></td><td><b>0.983</b></td>"))
        // Lexical has the lowest latency at every percentile.
        let lexicalRow = html.components(separatedBy: "lexical</td>")[1].components(separatedBy: "</tr>")[0]
        #expect(lexicalRow.occurrences(of: "<b>") == 3)
        #expect(lexicalRow.hasSuffix("<td><b>\(HTMLReport.decimal(SampleReport.report().retrieval?.modes[1].latency.p99, 2))</b></td>"))
    }

    @Test func worstQueriesAreTheTenLowestOfTheHybridMode() {
        let html = HTMLReport.render(SampleReport.report())
        let section = html.components(separatedBy: "<h2>Worst queries</h2>")[1].components(separatedBy: "</section>")[0]
        // Lowest nDCG@10 first: queries 0, 5, 10, 3, 8, 1, 6, 11, 4, 9; 2 and 7 are the best two.
        let order = [0, 5, 10, 3, 8, 1, 6, 11, 4, 9]
        var positions: [String.Index] = []
        for i in order {
            let text = i == 0 ? HTMLReport.escape(SampleReport.hostileQuery) : SampleReport.text(i)
            let found = section.range(of: "</span> \(text)</h3>")
            #expect(found != nil, "query \(i)")
            if let found { positions.append(found.lowerBound) }
        }
        #expect(positions == positions.sorted())
        #expect(!section.contains(SampleReport.text(2)))
        #expect(!section.contains(SampleReport.text(7)))
        #expect(!section.contains("a query only dense ran"))
        #expect(section.contains("<span class=\"score low\">0.083</span><span class=\"qid\">q5</span>"))
        // One relevant row per query; the retrieved relevant document is found, the other missed,
        // and the judged irrelevant one is not listed.
        #expect(section.occurrences(of: "<tr class=\"relevant\">") == 10)
        #expect(section.contains("<tr class=\"relevant\"><td>2</td><td class=\"id\">d5-a</td><td>0.7</td><td>2</td>"))
        #expect(section.contains("<span class=\"doc found\" title=\"retrieved\">d5-a <i>2</i></span>"))
        #expect(section.contains("<span class=\"doc missed\" title=\"not retrieved\">d5-missing <i>1</i></span>"))
        #expect(!section.contains("d5-judged"))
        // Long snippets are cut.
        #expect(section.contains(String(repeating: "long ", count: 44).dropLast() + "…</td>"))
    }

    @Test func textFromTheDataIsEscaped() {
        let html = HTMLReport.render(SampleReport.report())
        // The only script element is the report's JSON, where every `<` is escaped.
        #expect(html.occurrences(of: "<script") == 1)
        #expect(html.occurrences(of: "<script type=\"application/json\" id=\"quarry-report\">") == 1)
        #expect(!html.contains("<b>bold</b>"))
        #expect(!html.contains("<1990>"))
        #expect(html.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; fish &amp; chips"))
        #expect(html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; &#39;quoted&#39;"))
        #expect(HTMLReport.escape("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
    }

    @Test func unsupportedSentencesAreMarked() {
        let html = HTMLReport.render(SampleReport.report())
        #expect(html.contains(
            "<span class=\"sentence unsupported\" title=\"unsupported · cosine 0.210 · overlap 0.100\">"
                + "It was invented in &lt;1990&gt; by Ada &amp; Bob.</span><sup class=\"cite bad\">[2]</sup>"
        ))
        #expect(html.contains(
            "<span class=\"sentence supported\" title=\"supported · cosine 0.910 · overlap 0.875\">"
                + "WAL lets readers and writers work at once.</span><sup class=\"cite ok\">[1]</sup>"
        ))
        // The two answer sentences, besides the legend's examples.
        #expect(html.occurrences(of: "<span class=\"sentence unsupported\" title=") == 1)
        #expect(html.occurrences(of: "<span class=\"sentence supported\" title=") == 1)
        #expect(html.contains("<div class=\"value\">0.500</div><div class=\"label\">Faithfulness</div>"))
        #expect(!html.contains("Judge faithfulness"))
        #expect(html.contains("<span class=\"badge\">abstained</span>"))
        #expect(html.contains("<q>readers and writers &lt;concurrently&gt;</q>"))
        #expect(html.contains(
            "<p class=\"thresholds\">Thresholds: <span>supported when cosine ≥ <b>0.85</b> or overlap ≥ <b>0.95</b></span> "
                + "<span>numbers checked</span> <span>negation not checked</span> <span><code>novel</code> <b>2</b></span></p>"
        ))
    }

    @Test func emptyReportsRender() {
        let nothing = HTMLReport.render(EvalReport(generatedAt: "now"))
        #expect(nothing.contains("<h1>Quarry evaluation</h1>"))
        #expect(!nothing.contains("<h2>"))
        #expect(!nothing.contains("<svg"))
        #expect(nothing.contains("This report holds no results"))

        let noModes = HTMLReport.render(EvalReport(
            generatedAt: "now", retrieval: RetrievalEvaluation(dataset: "d", split: "s", corpusDocuments: 0, queries: 0, topK: 10, modes: [])
        ))
        for heading in SampleReport.headings.dropLast() {
            #expect(noModes.contains("<h2>\(heading)</h2>"))
        }
        #expect(!noModes.contains("<svg"))

        let noQuestions = HTMLReport.render(EvalReport(
            generatedAt: "now", qa: QAEvaluation(answerer: "llm", summary: ["faithfulness": .nan], thresholds: [:], questions: [])
        ))
        #expect(noQuestions.contains("<h2>Faithfulness</h2>"))
        #expect(noQuestions.contains("<div class=\"value\">–</div><div class=\"label\">Faithfulness</div>"))
    }

    @Test func missingAndNonFiniteValuesAreNeverDrawn() {
        let empty = ModeEvaluation(
            mode: "empty", metrics: ["ndcg@10": .nan], recallCurve: [RecallPoint(k: 10, recall: .nan)],
            latency: LatencySummary(samples: []), perQuery: []
        )
        let odd = ModeEvaluation(
            mode: "odd", metrics: [:], recallCurve: [RecallPoint(k: 1, recall: 0.5), RecallPoint(k: 0, recall: 1)],
            latency: LatencySummary(samples: [.nan, .infinity, 3, 3, 3]),
            perQuery: [QueryEvaluation(id: "q", text: "t", metrics: [:], relevant: [:], retrieved: [])]
        )
        let constant = ModeEvaluation(
            mode: "constant", metrics: [:], recallCurve: [], latency: LatencySummary(samples: [0, 0, 0]), perQuery: []
        )
        let html = HTMLReport.render(EvalReport(
            generatedAt: "now",
            retrieval: RetrievalEvaluation(dataset: "d", split: "s", corpusDocuments: 1, queries: 1, topK: 10, modes: [empty, odd, constant])
        ))
        // The recall chart (one point of "odd") and the histograms of "odd" and "constant".
        #expect(html.svgElements.count == 3)
        #expect(html.occurrences(of: "<circle") == 1)
        for svg in html.svgElements {
            #expect(!svg.lowercased().contains("nan") && !svg.lowercased().contains("inf"))
        }
        #expect(html.contains("No latency samples."))
        #expect(html.contains("empty</td><td>–</td>"))
        // "empty" is the first mode, but has no queries; "odd" is not looked at.
        #expect(html.contains("No per-query results were recorded."))
    }
}

/// What a Content-Security-Policy sees of the page: one style block allowed by its hash, no
/// `style` attribute, no script a browser runs, and the report itself in a JSON data block.
@Suite struct HTMLReportPolicyTests {
    /// A report whose texts try to end the data block and to run script.
    static func hostileReport() -> EvalReport {
        var report = SampleReport.report()
        let hostile = "</script><script>alert(1)</script> <img src=x onerror=alert(2)> <!-- </SCRIPT >"
        report.retrieval?.modes[2].perQuery[1].text = hostile
        report.retrieval?.modes[2].perQuery[1].retrieved[0].snippet = hostile
        report.qa?.questions[0].answer = hostile
        report.qa?.summary["faithfulness"] = .nan
        report.retrieval?.modes[0].metrics["ndcg@10"] = .infinity
        return report
    }

    /// The page with the data block's JSON cut out (the JSON holds report text, which may look like markup).
    static func markup(_ html: String) -> String {
        guard let start = html.range(of: "<script type=\"application/json\" id=\"quarry-report\">"),
            let end = html.range(of: "</script>", range: start.upperBound..<html.endIndex)
        else { return html }
        return String(html[..<start.upperBound]) + String(html[end.lowerBound...])
    }

    @Test func noStyleAttributeAndNoScriptThatRuns() throws {
        for report in [SampleReport.report(), Self.hostileReport()] {
            let html = HTMLReport.render(report)
            let lowered = html.lowercased()
            #expect(!lowered.contains("style="))
            #expect(lowered.occurrences(of: "<style") == 1)
            #expect(lowered.occurrences(of: "</style>") == 1)
            // One script element, a data block; its text never closes it or opens a comment.
            #expect(lowered.occurrences(of: "<script") == 1)
            #expect(lowered.occurrences(of: "</script") == 1)
            #expect(lowered.contains("<script type=\"application/json\" id=\"quarry-report\">"))
            let json = try #require(HTMLReport.embeddedJSON(in: html))
            #expect(!json.contains(UInt8(ascii: "<")))
            // Outside the data block no tag has an event handler or a javascript: URL (report
            // text is escaped, so every `<` there starts a tag the page made).
            let tags = Self.markup(html).lowercased().matches(of: /<[^>]*>/).map { String($0.output) }
            #expect(tags.count > 100)
            let unsafe = tags.filter { $0.firstMatch(of: /\son[a-z]+\s*=/) != nil || $0.contains("javascript:") || $0.hasPrefix("<img") }
            #expect(unsafe.isEmpty, "\(unsafe.prefix(3))")
        }
        // The legend swatches take their colours from the stylesheet.
        let html = HTMLReport.render(SampleReport.report())
        #expect(html.contains("<span class=\"swatch c2\"></span>hybrid</td>"))
        for (index, colour) in HTMLReport.palette.enumerated() {
            #expect(HTMLReport.stylesheet.contains(".swatch.c\(index) { background: \(colour); }"))
        }
        #expect(HTMLReport.swatch(9) == "<span class=\"swatch c1\"></span>")
    }

    @Test func styleBlockHashesToTheStylesheetHash() throws {
        let html = HTMLReport.render(SampleReport.report())
        let start = try #require(html.range(of: "<style>"))
        let end = try #require(html.range(of: "</style>"))
        let block = String(html[start.upperBound..<end.lowerBound])
        #expect(block == HTMLReport.stylesheet)
        var hasher = SHA256()
        hasher.update(Array(block.utf8))
        let digest = hasher.finalize()
        #expect(HTMLReport.stylesheetHash == "sha256-" + Data(digest).base64EncodedString())
        // 32 bytes in base64: 44 characters, one `=` of padding.
        #expect(HTMLReport.stylesheetHash.count == "sha256-".count + 44)
        #expect(HTMLReport.stylesheetHash.hasSuffix("="))
        // SHA-256 of a known text, so the hash is the standard one (FIPS 180-4 "abc").
        var abc = SHA256()
        abc.update(Array("abc".utf8))
        #expect(Data(abc.finalize()).base64EncodedString() == "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
    }

    @Test func embeddedJSONDecodesToTheSameReport() throws {
        for report in [SampleReport.report(), Self.hostileReport(), EvalReport(generatedAt: "now")] {
            let html = HTMLReport.render(report)
            let decoded = try #require(try HTMLReport.embeddedReport(in: html))
            // Equal: the same JSON, keys sorted, whichever report it came from.
            #expect(try HTMLReport.json(decoded) == HTMLReport.json(report))
        }
        let hostile = try #require(try HTMLReport.embeddedReport(in: HTMLReport.render(Self.hostileReport())))
        #expect(hostile.retrieval?.modes[2].perQuery[1].text == "</script><script>alert(1)</script> <img src=x onerror=alert(2)> <!-- </SCRIPT >")
        #expect(hostile.qa?.answerer == "extractive")
        #expect(hostile.qa?.summary["faithfulness"]?.isNaN == true)
        #expect(hostile.retrieval?.modes[0].metrics["ndcg@10"] == .infinity)
    }

    @Test func embeddedJSONIsWhatEvalJSONWrites() throws {
        // The encoder of `quarry eval --json` (Sources/quarry/Eval.swift), on a report it can write.
        let report = SampleReport.report()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let written = String(decoding: try encoder.encode(report), as: UTF8.self)
        let embedded = String(decoding: try #require(HTMLReport.embeddedJSON(in: HTMLReport.render(report))), as: UTF8.self)
        #expect(written.contains("<script>alert"))
        #expect(embedded == written.replacingOccurrences(of: "<", with: "\\u003c"))
        // Any JSON parser reads it.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(embedded.utf8)) as? [String: Any])
        #expect(object["generated_at"] as? String == "2026-11-22T19:00:00Z")
    }

    @Test func aPageWithoutDataBlockHasNoReport() throws {
        #expect(try HTMLReport.embeddedReport(in: "<!DOCTYPE html><title>old</title>") == nil)
        #expect(throws: DecodingError.self) {
            try HTMLReport.embeddedReport(in: "<script type=\"application/json\" id=\"quarry-report\">{\"x\": 1}</script>")
        }
    }
}

/// The page as a browser draws it: headless Chromium reads its DOM and takes a screenshot, which
/// must show a drawn page, not a blank one.
@Suite struct HTMLReportBrowserTests {
    static let chromium = "/usr/bin/chromium"

    @Test func chromiumRendersThePage() throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.chromium),
            "\(Self.chromium) is missing: run scripts/install-deps.sh (it installs the Debian package chromium)"
        )
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let page = try directory.write(HTMLReport.render(SampleReport.report()), to: "report.html")
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--user-data-dir=\(directory.url.appendingPathComponent("profile").path)"]

        let dom = try run(Self.chromium, flags + ["--dump-dom", page.absoluteString], in: directory.url)
        try #require(dom.status == 0, "chromium --dump-dom failed: \(dom.errors.suffix(2000))")
        for heading in SampleReport.headings {
            #expect(dom.output.contains("<h2>\(heading)</h2>"), "heading \(heading) in the DOM")
        }
        #expect(dom.output.contains("class=\"sentence unsupported\""))
        #expect(dom.output.occurrences(of: "<svg") == 4)
        // The data block is the page's only script element, and the hostile query inside it
        // stayed text: no element was made of it.
        #expect(dom.output.occurrences(of: "<script") == 1)
        #expect(dom.output.contains("<script type=\"application/json\" id=\"quarry-report\">{"))
        #expect(dom.output.contains("\\u003cscript>alert"))

        let screenshot = directory.url.appendingPathComponent("report.png")
        let shot = try run(
            Self.chromium,
            flags + ["--hide-scrollbars", "--window-size=1280,2400", "--screenshot=\(screenshot.path)", page.absoluteString],
            in: directory.url
        )
        try #require(shot.status == 0, "chromium --screenshot failed: \(shot.errors.suffix(2000))")
        try #require(FileManager.default.fileExists(atPath: screenshot.path), "no screenshot written")

        let decoded = try run("/usr/bin/python3", ["-c", Self.pixelStatistics, screenshot.path], in: directory.url)
        try #require(decoded.status == 0, "decoding the screenshot failed: \(decoded.errors)")
        let fields = decoded.output.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try #require(fields.count == 5, "unexpected decoder output: \(decoded.output)")
        let (width, height, inked, colours, coloured) = (fields[0], fields[1], fields[2], fields[3], fields[4])
        #expect(width == 1280 && height == 2400)
        // Text, tables and charts cover a good part of the page...
        #expect(inked > 0.04, "non-white share \(inked)")
        // ...antialiased text and charts give many distinct colours...
        #expect(colours > 50, "distinct colours \(colours)")
        // ...and the chart lines, bars and highlights are in colour, not grey.
        #expect(coloured > 0.005, "saturated share \(coloured)")
    }

    /// The page under the policy `GET /reports/{name}` serves it with (as a `<meta>`, which a
    /// file URL needs; `sandbox` and `frame-ancestors` are ignored there): Chromium applies the
    /// style block and reports no violation, and does report one when the hash is wrong.
    @Test func chromiumAppliesTheStyleBlockUnderTheReportPolicy() throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.chromium),
            "\(Self.chromium) is missing: run scripts/install-deps.sh (it installs the Debian package chromium)"
        )
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let html = HTMLReport.render(HTMLReportPolicyTests.hostileReport())
        func violations(hash: String, name: String) throws -> (messages: [Substring], dom: String) {
            let policy = "default-src 'none'; style-src '\(hash)'; img-src data:"
            let page = try directory.write(
                html.replacingOccurrences(
                    of: "<meta charset=\"utf-8\">", with: "<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"\(policy)\">"
                ),
                to: "\(name).html"
            )
            let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
                         "--user-data-dir=\(directory.url.appendingPathComponent("profile-\(name)").path)"]
            let result = try run(Self.chromium, flags + ["--dump-dom", page.absoluteString], in: directory.url)
            try #require(result.status == 0, "chromium --dump-dom failed: \(result.errors.suffix(2000))")
            let messages = result.errors.split(separator: "\n").filter { $0.contains("Content Security Policy") }
            return (messages, result.output)
        }
        let allowed = try violations(hash: HTMLReport.stylesheetHash, name: "allowed")
        #expect(allowed.messages.isEmpty, "\(allowed.messages)")
        #expect(allowed.dom.contains("<h2>Retrieval metrics</h2>"))
        #expect(allowed.dom.occurrences(of: "<script") == 1)
        #expect(!allowed.dom.contains("<img"))
        let wrong = try violations(hash: "sha256-" + String(repeating: "A", count: 43) + "=", name: "wrong")
        #expect(wrong.messages.contains { $0.contains("style-src") }, "a wrong hash must be refused, or this test sees nothing")
    }

    /// Prints width, height, the share of non-white pixels, the number of distinct colours and
    /// the share of saturated pixels of an 8-bit RGB or RGBA PNG, by the standard library alone.
    static let pixelStatistics = """
        import struct, sys, zlib
        data = open(sys.argv[1], 'rb').read()
        assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n', 'not a PNG'
        position, compressed = 8, b''
        while position < len(data):
            length, kind = struct.unpack('>I4s', data[position:position + 8])
            body = data[position + 8:position + 8 + length]
            if kind == b'IHDR':
                width, height, depth, colour, _, _, interlace = struct.unpack('>IIBBBBB', body)
            elif kind == b'IDAT':
                compressed += body
            elif kind == b'IEND':
                break
            position += 12 + length
        assert depth == 8 and colour in (2, 6) and interlace == 0, f'unsupported PNG: depth {depth}, colour type {colour}'
        size = 3 if colour == 2 else 4
        stride = width * size
        raw = zlib.decompress(compressed)
        previous = bytearray(stride)
        inked = coloured = 0
        colours = set()
        for row in range(height):
            start = row * (stride + 1)
            kind = raw[start]
            line = bytearray(raw[start + 1:start + 1 + stride])
            if kind == 1:
                for i in range(size, stride):
                    line[i] = (line[i] + line[i - size]) & 255
            elif kind == 2:
                for i in range(stride):
                    line[i] = (line[i] + previous[i]) & 255
            elif kind == 3:
                for i in range(stride):
                    left = line[i - size] if i >= size else 0
                    line[i] = (line[i] + ((left + previous[i]) >> 1)) & 255
            elif kind == 4:
                for i in range(stride):
                    a = line[i - size] if i >= size else 0
                    b = previous[i]
                    c = previous[i - size] if i >= size else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            elif kind != 0:
                raise ValueError(f'unknown filter type {kind}')
            for i in range(0, stride, size):
                r, g, b = line[i], line[i + 1], line[i + 2]
                if r < 250 or g < 250 or b < 250:
                    inked += 1
                if max(r, g, b) - min(r, g, b) > 60:
                    coloured += 1
                colours.add((r, g, b))
            previous = line
        pixels = width * height
        print(width, height, inked / pixels, len(colours), coloured / pixels)
        """

    /// Runs `executable`, killing it after 60 seconds; its output goes through files, as Chromium's
    /// DOM would fill a pipe that is read only at the end.
    func run(_ executable: String, _ arguments: [String], in directory: URL) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let id = UUID().uuidString
        let outputFile = directory.appendingPathComponent("stdout-\(id).txt")
        let errorFile = directory.appendingPathComponent("stderr-\(id).txt")
        try Data().write(to: outputFile)
        try Data().write(to: errorFile)
        let output = try FileHandle(forWritingTo: outputFile)
        let errors = try FileHandle(forWritingTo: errorFile)
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = DispatchWorkItem { [process] in
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(60), execute: deadline)
        process.waitUntilExit()
        deadline.cancel()
        try output.close()
        try errors.close()
        let errorText = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        if process.terminationReason == .uncaughtSignal {
            Issue.record("\(executable) was killed (signal \(process.terminationStatus)), after 60 s if it hung: \(errorText.suffix(2000))")
        }
        return (process.terminationStatus, (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "", errorText)
    }
}
