import Foundation
import QuarryCore
import QuarryDigest

/// Draws an ``EvalReport`` as one self-contained HTML page: inline CSS, charts as inline SVG, no
/// script and nothing fetched, so the file can be mailed, archived or opened offline.
///
/// The page's only CSS is its one `<style>` block (no `style` attribute anywhere), so that a
/// Content-Security-Policy can allow exactly that block by its hash (``stylesheetHash``) and
/// nothing else. The report itself travels in the page as a JSON data block (``dataBlockID``),
/// which a browser never runs: `quarry serve --reports` lists and compares reports from it.
public enum HTMLReport {
    /// Renders the page.
    /// - Parameter report: what `quarry eval` measured.
    /// - Returns: an HTML5 document. Every piece of text taken from the report is escaped, and
    ///   values that are missing or not finite are shown as a dash, never drawn.
    public static func render(_ report: EvalReport) -> String {
        var body = header(report)
        if let retrieval = report.retrieval {
            body += metricsSection(retrieval.modes)
            body += recallSection(retrieval.modes)
            body += latencySection(retrieval.modes)
            body += worstQueriesSection(retrieval.modes)
        }
        if let qa = report.qa {
            if let abstention = qa.abstention { body += abstentionSection(abstention) }
            body += faithfulnessSection(qa)
        }
        if let conversations = report.conversations {
            body += conversationSection(conversations)
        }
        if report.retrieval == nil, report.qa == nil, report.conversations == nil {
            body += note("This report holds no results: neither retrieval nor answers were evaluated.")
        }
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title(dataset: report.retrieval?.dataset)))</title>
            <style>\(stylesheet)</style>
            </head>
            <body>
            <main>
            \(body)</main>
            \(dataBlock(report))</body>
            </html>

            """
    }

    /// The page's title: `Quarry evaluation · DATASET` for a retrieval run, else `Quarry evaluation`.
    public static func title(dataset: String?) -> String {
        dataset.map { "Quarry evaluation · \($0)" } ?? "Quarry evaluation"
    }

    // MARK: - The report as data

    /// The `id` of the page's `<script type="application/json">` element holding the report.
    public static let dataBlockID = "quarry-report"

    /// The report as JSON, encoded as `quarry eval --json` writes it (pretty-printed, sorted keys,
    /// unescaped slashes), with values that are not finite written as the strings `NaN`,
    /// `Infinity` and `-Infinity` (which `--json` cannot write at all); ``decoder()`` reads them back.
    /// - Throws: `EncodingError` only if the report holds what JSON cannot represent otherwise.
    public static func json(_ report: EvalReport) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try encoder.encode(report)
    }

    /// A JSON decoder for reports: `--json` files and the page's data block, non-finite values included.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }

    /// The data block: the report's JSON in a `<script type="application/json">` element, which
    /// browsers parse as text and never run. Every `<` is written `\u003c` (the same character to
    /// a JSON parser; `<` only occurs inside JSON strings), so the text can never close the
    /// element (`</script>`) or open a comment in it; the JSON has no other character HTML
    /// treats specially in a script element. Empty when the report cannot be encoded.
    static func dataBlock(_ report: EvalReport) -> String {
        guard let data = try? json(report) else { return "" }
        let text = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
        return "<script type=\"application/json\" id=\"\(dataBlockID)\">\(text)</script>\n"
    }

    /// The report a page holds in its data block, if it has one.
    /// - Parameter html: a page ``render(_:)`` wrote.
    /// - Returns: nil when the page has no data block.
    /// - Throws: `DecodingError` when the block is not a report.
    public static func embeddedReport(in html: String) throws -> EvalReport? {
        guard let data = embeddedJSON(in: html) else { return nil }
        return try decoder().decode(EvalReport.self, from: data)
    }

    /// The JSON text of a page's data block, if it has one.
    public static func embeddedJSON(in html: String) -> Data? {
        let open = "<script type=\"application/json\" id=\"\(dataBlockID)\">"
        guard let start = html.range(of: open), let end = html.range(of: "</script>", range: start.upperBound..<html.endIndex) else {
            return nil
        }
        return Data(html[start.upperBound..<end.lowerBound].utf8)
    }

    // MARK: - Sections

    static func header(_ report: EvalReport) -> String {
        var facts: [(label: String, value: String)] = []
        if let retrieval = report.retrieval {
            facts += [
                ("Dataset", retrieval.dataset), ("Split", retrieval.split), ("Queries", grouped(retrieval.queries)),
                ("Corpus", "\(grouped(retrieval.corpusDocuments)) documents"), ("top_k", String(retrieval.topK)),
            ]
        }
        if let qa = report.qa {
            facts += [("Answerer", qa.answerer), ("QA questions", grouped(qa.questions.count))]
        }
        if let conversations = report.conversations {
            facts += [
                ("Conversations", conversations.dataset), ("Follow-ups", grouped(conversations.followUps)),
                ("top_k", String(conversations.topK)),
            ]
        }
        facts += [("Date", report.generatedAt), ("Commit", report.commit ?? "unknown")]
        let items = facts.map { "<span>\(escape($0.label)) <b>\(escape($0.value))</b></span>" }.joined(separator: " ")
        return "<header>\n<h1>Quarry evaluation</h1>\n<p class=\"meta\">\(items)</p>\n</header>\n"
    }

    /// The metric columns of the table: `Metrics.names` with the spelling the literature uses.
    static let metricColumns: [(key: String, label: String)] = [
        ("ndcg@10", "nDCG@10"), ("recall@10", "Recall@10"), ("recall@100", "Recall@100"), ("mrr@10", "MRR@10"),
        ("map@100", "MAP@100"), ("p@1", "P@1"), ("p@5", "P@5"), ("p@10", "P@10"),
    ]

    static func metricsSection(_ modes: [ModeEvaluation]) -> String {
        var html = "<section>\n<h2>Retrieval metrics</h2>\n"
        guard !modes.isEmpty else { return html + note("No retrieval mode was run.") + "</section>\n" }
        struct Column {
            var values: [Double?]
            var digits: Int
            var higherIsBetter: Bool
        }
        let columns =
            metricColumns.map { column in Column(values: modes.map { $0.metrics[column.key] }, digits: 3, higherIsBetter: true) }
            + [
                Column(values: modes.map { $0.latency.p50 }, digits: 2, higherIsBetter: false),
                Column(values: modes.map { $0.latency.p95 }, digits: 2, higherIsBetter: false),
                Column(values: modes.map { $0.latency.p99 }, digits: 2, higherIsBetter: false),
            ]
        // Best is judged on the value as shown, so two modes that print the same are both bold;
        // with one mode there is nothing to compare and nothing is bold.
        let best: [String?] = columns.map { column in
            guard modes.count > 1 else { return nil }
            let finite = column.values.compactMap { $0 }.filter(\.isFinite)
            let value = column.higherIsBetter ? finite.max() : finite.min()
            return value.map { decimal($0, column.digits) }
        }
        html += "<table class=\"metrics\">\n<thead>\n<tr><th rowspan=\"2\" class=\"name\">Mode</th>"
        html += "<th colspan=\"\(metricColumns.count)\" class=\"group\">Mean over queries</th>"
        html += "<th colspan=\"3\" class=\"group\">Latency, ms</th></tr>\n<tr>"
        html += metricColumns.map { "<th>\(escape($0.label))</th>" }.joined()
        html += "<th>p50</th><th>p95</th><th>p99</th></tr>\n</thead>\n<tbody>\n"
        for (row, mode) in modes.enumerated() {
            html += "<tr><td class=\"name\">\(swatch(row))\(escape(mode.mode))</td>"
            for (index, column) in columns.enumerated() {
                let shown = decimal(column.values[row], column.digits)
                html += shown == best[index] ? "<td><b>\(shown)</b></td>" : "<td>\(shown)</td>"
            }
            html += "</tr>\n"
        }
        html += "</tbody>\n</table>\n"
        html += "<p class=\"caption\">Bold: the best mode in each column (highest metric, lowest latency). "
        html += "Latency is retrieval only, in process.</p>\n"
        return html + "</section>\n"
    }

    static func recallSection(_ modes: [ModeEvaluation]) -> String {
        let html = "<section>\n<h2>Recall@k</h2>\n"
        guard let chart = recallChart(modes) else {
            return html + note("No recall curve was recorded.") + "</section>\n"
        }
        return html + "<figure class=\"chart\">\(chart)</figure>\n</section>\n"
    }

    static func latencySection(_ modes: [ModeEvaluation]) -> String {
        var html = "<section>\n<h2>Latency</h2>\n"
        guard !modes.isEmpty else { return html + note("No retrieval mode was run.") + "</section>\n" }
        html += "<div class=\"histograms\">\n"
        for (index, mode) in modes.enumerated() {
            let latency = mode.latency
            let count = latency.samples.filter(\.isFinite).count
            html += "<figure>\n<figcaption>\(swatch(index))<b>\(escape(mode.mode))</b> "
            html += "<span>\(grouped(count)) queries · mean \(decimal(latency.mean, 2)) ms</span></figcaption>\n"
            html += histogram(latency, colour: colour(index)) ?? note("No latency samples.")
            html += "</figure>\n"
        }
        return html + "</div>\n</section>\n"
    }

    static func worstQueriesSection(_ modes: [ModeEvaluation]) -> String {
        var html = "<section>\n<h2>Worst queries</h2>\n"
        guard let mode = modes.first(where: { $0.mode == "hybrid" }) ?? modes.first, !mode.perQuery.isEmpty else {
            return html + note("No per-query results were recorded.") + "</section>\n"
        }
        let worst = worstQueries(mode.perQuery)
        html += "<p class=\"caption\">The \(worst.count) queries of <b>\(escape(mode.mode))</b> with the lowest nDCG@10, "
        html += "of \(grouped(mode.perQuery.count)). Relevant documents are green; a relevant document "
        html += "in red was not among those retrieved.</p>\n"
        for query in worst {
            html += queryCard(query)
        }
        return html + "</section>\n"
    }

    /// The ten queries with the lowest nDCG@10, lowest first; a query without a finite value
    /// counts as 0, and ties keep the report's order.
    static func worstQueries(_ queries: [QueryEvaluation]) -> [QueryEvaluation] {
        func ndcg(_ query: QueryEvaluation) -> Double {
            guard let value = query.metrics["ndcg@10"], value.isFinite else { return 0 }
            return value
        }
        let ranked = queries.enumerated().sorted { left, right in
            let (a, b) = (ndcg(left.element), ndcg(right.element))
            return a != b ? a < b : left.offset < right.offset
        }
        return ranked.prefix(10).map(\.element)
    }

    static func queryCard(_ query: QueryEvaluation) -> String {
        let retrievedIDs = Set(query.retrieved.map(\.id))
        let relevant = query.relevant.filter { $0.value > 0 }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        let ndcg = query.metrics["ndcg@10"] ?? .nan
        let level = !(ndcg >= 0.3) ? "low" : ndcg < 0.7 ? "mid" : "high"
        var html = "<article class=\"query\">\n<h3><span class=\"score \(level)\">\(decimal(ndcg, 3))</span>"
        html += "<span class=\"qid\">\(escape(query.id))</span> \(escape(query.text))</h3>\n"
        html += "<p class=\"judged\">Relevant: "
        if relevant.isEmpty {
            html += "<span class=\"muted\">none judged</span>"
        } else {
            html += relevant.map { id, grade in
                let found = retrievedIDs.contains(id)
                let title = found ? "retrieved" : "not retrieved"
                return "<span class=\"doc \(found ? "found" : "missed")\" title=\"\(title)\">\(escape(id)) <i>\(grade)</i></span>"
            }.joined(separator: " ")
        }
        html += "</p>\n"
        guard !query.retrieved.isEmpty else {
            return html + note("Nothing was retrieved.") + "</article>\n"
        }
        html += "<table class=\"retrieved\">\n<thead><tr><th>#</th><th class=\"id\">Document</th><th>Score</th><th>Grade</th>"
        html += "<th class=\"text\">Snippet</th></tr></thead>\n<tbody>\n"
        for (rank, document) in query.retrieved.enumerated() {
            html += document.grade > 0 ? "<tr class=\"relevant\">" : "<tr>"
            html += "<td>\(rank + 1)</td><td class=\"id\">\(escape(document.id))</td>"
            html += "<td>\(significant(document.score))</td><td>\(document.grade)</td>"
            html += "<td class=\"text\">\(escape(shortened(document.snippet, to: 220)))</td></tr>\n"
        }
        return html + "</tbody>\n</table>\n</article>\n"
    }

    /// The summary means `QAEvaluation.summary` holds, in the order a reader weighs them.
    static let summaryFields: [(key: String, label: String)] = [
        ("faithfulness", "Faithfulness"), ("citation_precision", "Citation precision"),
        ("context_recall", "Context recall"), ("answer_f1", "Answer F1"), ("exact_match", "Exact match"),
        ("abstention_rate", "Abstention rate"), ("judge_faithfulness", "Judge faithfulness"),
    ]

    static func faithfulnessSection(_ qa: QAEvaluation) -> String {
        var html = "<section>\n<h2>Faithfulness</h2>\n"
        html += "<p class=\"caption\">Answerer <b>\(escape(qa.answerer))</b>, \(grouped(qa.questions.count)) questions; "
        html += "means over questions.</p>\n<div class=\"cards\">\n"
        let known = Set(summaryFields.map(\.key))
        let extra = qa.summary.keys.filter { !known.contains($0) }.sorted().map { (key: $0, label: $0) }
        for field in summaryFields + extra {
            guard let value = qa.summary[field.key] else { continue }
            html += "<div class=\"card\"><div class=\"value\">\(decimal(value, 3))</div>"
            html += "<div class=\"label\">\(escape(field.label))</div></div>\n"
        }
        html += "</div>\n"
        if !qa.thresholds.isEmpty {
            html += "<p class=\"thresholds\">Thresholds: \(thresholds(qa.thresholds).joined(separator: " "))</p>\n"
        }
        guard !qa.questions.isEmpty else { return html + note("No questions were answered.") + "</section>\n" }
        html += "<p class=\"caption\">Answer sentences the retrieved context does not support are "
        html += "<span class=\"sentence unsupported\">marked red</span>; supported ones are "
        html += "<span class=\"sentence supported\">green</span>. Citation numbers are green when "
        html += "the cited passage supports the sentence.</p>\n"
        for question in qa.questions {
            html += questionCard(question)
        }
        return html + "</section>\n"
    }

    /// Abstention as a classification, and the risk-coverage curve with the threshold used marked.
    static func abstentionSection(_ abstention: AbstentionEvaluation) -> String {
        var html = "<section>\n<h2>Abstention</h2>\n"
        html += "<p class=\"caption\">At threshold <b>\(decimal(abstention.threshold, 2))</b>: "
        html += "\(grouped(abstention.unanswerable)) questions the corpus does not answer, \(grouped(abstention.answerable)) it does. "
        html += "Goal: abstain on ≥ 0.8 of the first while answering ≥ 0.9 of the second with a correct citation.</p>\n"
        html += "<div class=\"cards\">\n"
        for (value, label) in [
            (abstention.recall, "Abstention recall (unanswerable)"), (abstention.precision, "Abstention precision"),
            (abstention.coverage, "Coverage (answerable)"), (abstention.answeredCorrectly, "Answered with a correct citation"),
            (abstention.accuracy, "Accuracy of answers"), (abstention.areaUnderCurve, "Area under risk-coverage"),
        ] {
            guard let value else { continue }
            html += "<div class=\"card\"><div class=\"value\">\(decimal(value, 3))</div><div class=\"label\">\(escape(label))</div></div>\n"
        }
        html += "</div>\n"
        if let chart = riskCoverageChart(abstention) { html += "<figure class=\"chart\">\(chart)</figure>\n" }
        return html + "</section>\n"
    }

    /// Risk (wrong answers / answers) against coverage (answers / questions) as the threshold
    /// rises from 0 to 1, with the threshold used marked; nil without points.
    static func riskCoverageChart(_ abstention: AbstentionEvaluation) -> String? {
        guard !abstention.curve.isEmpty else { return nil }
        let (width, height) = (760.0, 300.0)
        let plot = Frame(left: 56, top: 14, right: width - 150, bottom: height - 46)
        func x(_ coverage: Double) -> Double { plot.left + min(1, max(0, coverage)) * plot.width }
        func y(_ risk: Double) -> Double { plot.bottom - min(1, max(0, risk)) * plot.height }
        var svg = svgOpen(width: width, height: height, label: "Risk against coverage as the abstention threshold varies")
        for step in 0...5 {
            let value = Double(step) / 5
            svg += line(plot.left, y(value), plot.right, y(value), class: step == 0 ? "axis" : "grid")
            svg += text(plot.left - 8, y(value) + 4, decimal(value, 1), anchor: "end")
            svg += line(x(value), plot.top, x(value), plot.bottom, class: "grid")
            svg += text(x(value), plot.bottom + 17, decimal(value, 1), anchor: "middle")
        }
        svg += text((plot.left + plot.right) / 2, height - 8, "coverage (questions answered)", anchor: "middle", class: "title")
        svg += "<text class=\"title\" text-anchor=\"middle\" transform=\"translate(14 \(coordinate(plot.top + plot.height / 2))) rotate(-90)\">risk (wrong answers)</text>\n"
        let points = abstention.curve.sorted { ($0.coverage, $0.threshold) < ($1.coverage, $1.threshold) }
        let path = points.map { "\(coordinate(x($0.coverage))),\(coordinate(y($0.risk)))" }.joined(separator: " ")
        svg += "<polyline class=\"series\" points=\"\(path)\" stroke=\"\(colour(0))\"/>\n"
        for point in abstention.curve where Int((point.threshold * 100).rounded()) % 10 == 0 {
            svg += "<circle cx=\"\(coordinate(x(point.coverage)))\" cy=\"\(coordinate(y(point.risk)))\" r=\"2.5\" fill=\"\(colour(0))\">"
            svg += "<title>threshold \(decimal(point.threshold, 2)): coverage \(decimal(point.coverage, 3)), risk \(decimal(point.risk, 3))</title></circle>\n"
        }
        if let used = abstention.curve.min(by: { abs($0.threshold - abstention.threshold) < abs($1.threshold - abstention.threshold) }) {
            svg += "<circle cx=\"\(coordinate(x(used.coverage)))\" cy=\"\(coordinate(y(used.risk)))\" r=\"6\" fill=\"none\" stroke=\"\(colour(1))\" stroke-width=\"2\">"
            svg += "<title>threshold used \(decimal(abstention.threshold, 2))</title></circle>\n"
            svg += text(plot.right + 18, plot.top + 12, "threshold \(decimal(abstention.threshold, 2))", anchor: "start", class: "legend")
            svg += text(plot.right + 18, plot.top + 30, "coverage \(decimal(used.coverage, 3))", anchor: "start", class: "legend")
            svg += text(plot.right + 18, plot.top + 48, "risk \(decimal(used.risk, 3))", anchor: "start", class: "legend")
        }
        return svg + "</svg>"
    }

    /// The scorer's thresholds as a reader would say them (`Thresholds.values` records the rule
    /// and the checks as 1 or 0); keys this does not know are listed as they are.
    static func thresholds(_ values: [String: Double]) -> [String] {
        var rest = values
        var items: [String] = []
        if let cosine = values["cosine"], let overlap = values["overlap"] {
            rest["cosine"] = nil
            rest["overlap"] = nil
            let rule = rest.removeValue(forKey: "require_both").map { $0 != 0 ? "and" : "or" } ?? "·"
            items.append("<span>supported when cosine ≥ <b>\(significant(cosine))</b> \(rule) overlap ≥ <b>\(significant(overlap))</b></span>")
        }
        for (key, name) in [("check_numbers", "numbers"), ("check_negation", "negation")] {
            guard let flag = rest.removeValue(forKey: key) else { continue }
            items.append("<span>\(name) \(flag != 0 ? "checked" : "not checked")</span>")
        }
        for (key, value) in rest.sorted(by: { $0.key < $1.key }) {
            items.append("<span><code>\(escape(key))</code> <b>\(significant(value))</b></span>")
        }
        return items
    }

    static func questionCard(_ question: QAQuestionEvaluation) -> String {
        var html = "<article class=\"question\">\n<h3><span class=\"qid\">\(escape(question.id))</span> "
        html += "\(escape(question.question))"
        if question.abstained { html += " <span class=\"badge\">abstained</span>" }
        html += "</h3>\n<p class=\"answer\">"
        if question.sentences.isEmpty {
            html += question.answer.isEmpty ? "<span class=\"muted\">no answer</span>" : escape(question.answer)
        } else {
            html += question.sentences.map(sentence).joined(separator: " ")
        }
        html += "</p>\n"
        if !question.expected.isEmpty {
            html += "<p class=\"expected\">Expected: \(question.expected.map { "<q>\(escape($0))</q>" }.joined(separator: " · "))</p>\n"
        }
        var scores: [(String, Double?)] = [
            ("Faithfulness", question.faithfulness), ("Citation precision", question.citationPrecision),
            ("Context recall", question.contextRecall), ("Answer F1", question.answerF1),
            ("Exact match", question.exactMatch),
        ]
        if let judge = question.judgeFaithfulness { scores.append(("Judge faithfulness", judge)) }
        html += "<p class=\"scores\">" + scores.map { "<span>\($0.0) <b>\(decimal($0.1, 3))</b></span>" }.joined() + "</p>\n"
        return html + "</article>\n"
    }

    static func sentence(_ verdict: SentenceVerdict) -> String {
        let status = verdict.supported ? "supported" : "unsupported"
        let title = "\(status) · cosine \(decimal(verdict.cosine, 3)) · overlap \(decimal(verdict.overlap, 3))"
        var html = "<span class=\"sentence \(status)\" title=\"\(escape(title))\">\(escape(verdict.text))</span>"
        for (index, citation) in verdict.citations.enumerated() {
            let supported = index < verdict.citationSupported.count ? verdict.citationSupported[index] : nil
            let kind = supported.map { $0 ? "ok" : "bad" } ?? "unknown"
            html += "<sup class=\"cite \(kind)\">\(CitationMarkers.marker(for: citation))</sup>"
        }
        return html
    }

    // MARK: - Charts

    /// One line per mode over the cut-offs the report holds, k on a log scale; nil when no
    /// mode has a point to draw.
    static func recallChart(_ modes: [ModeEvaluation]) -> String? {
        let series: [(name: String, colour: String, points: [RecallPoint])] = modes.enumerated().map { index, mode in
            (name: mode.mode, colour: colour(index),
             points: mode.recallCurve.filter { $0.k > 0 && $0.recall.isFinite }.sorted { $0.k < $1.k })
        }
        let ks = Set(series.flatMap { $0.points.map(\.k) }).sorted()
        guard let first = ks.first, let last = ks.last else { return nil }
        let (width, height) = (760.0, 300.0)
        let plot = Frame(left: 56, top: 14, right: width - 150, bottom: height - 46)
        let (low, high) = (log10(Double(first)), log10(Double(last)))
        func x(_ k: Int) -> Double {
            guard high > low else { return (plot.left + plot.right) / 2 }
            return plot.left + (log10(Double(k)) - low) / (high - low) * plot.width
        }
        func y(_ recall: Double) -> Double { plot.bottom - min(1, max(0, recall)) * plot.height }

        var svg = svgOpen(width: width, height: height, label: "Mean recall at k for each mode")
        for step in 0...5 {
            let value = Double(step) / 5
            svg += line(plot.left, y(value), plot.right, y(value), class: step == 0 ? "axis" : "grid")
            svg += text(plot.left - 8, y(value) + 4, decimal(value, 1), anchor: "end")
        }
        for k in ks {
            svg += line(x(k), plot.top, x(k), plot.bottom, class: "grid")
            svg += text(x(k), plot.bottom + 17, String(k), anchor: "middle")
        }
        svg += text((plot.left + plot.right) / 2, height - 8, "k (log scale)", anchor: "middle", class: "title")
        svg += "<text class=\"title\" text-anchor=\"middle\" transform=\"translate(14 \(coordinate(plot.top + plot.height / 2))) rotate(-90)\">recall@k</text>\n"
        for item in series where !item.points.isEmpty {
            let path = item.points.map { "\(coordinate(x($0.k))),\(coordinate(y($0.recall)))" }.joined(separator: " ")
            svg += "<polyline class=\"series\" points=\"\(path)\" stroke=\"\(item.colour)\"/>\n"
            for point in item.points {
                svg += "<circle cx=\"\(coordinate(x(point.k)))\" cy=\"\(coordinate(y(point.recall)))\" r=\"3\" fill=\"\(item.colour)\">"
                svg += "<title>\(escape(item.name)) recall@\(point.k) = \(decimal(point.recall, 3))</title></circle>\n"
            }
        }
        for (index, item) in series.enumerated() {
            let top = plot.top + 8 + Double(index) * 22
            svg += "<line x1=\"\(coordinate(plot.right + 18))\" y1=\"\(coordinate(top))\" x2=\"\(coordinate(plot.right + 40))\" "
            svg += "y2=\"\(coordinate(top))\" stroke=\"\(item.colour)\" stroke-width=\"2.5\"/>\n"
            let final = item.points.last.map { " \(decimal($0.recall, 3))" } ?? ""
            svg += text(plot.right + 48, top + 4, item.name + final, anchor: "start", class: "legend")
        }
        return svg + "</svg>"
    }

    /// A histogram of the latency samples with p50 and p99 marked, and a line on the outliers
    /// it folds into its last bar; nil without a finite sample.
    static func histogram(_ latency: LatencySummary, colour: String) -> String? {
        let samples = latency.samples.filter { $0.isFinite && $0 >= 0 }
        guard let smallest = samples.min(), let largest = samples.max() else { return nil }
        let p50 = latency.p50.isFinite ? latency.p50 : nil
        let p99 = latency.p99.isFinite ? latency.p99 : nil
        // A few slow outliers would squeeze every other query into the first bar: the axis ends
        // at 1.5 × p99 and slower samples are counted in the last bar.
        var upper = largest
        if let p99, p99 > 0, largest > p99 * 1.5 { upper = p99 * 1.5 }
        // Starting at zero is honest when the spread is wide; when every query takes about the
        // same time, zooming in shows the shape.
        let lower = smallest < upper * 0.5 ? 0 : smallest
        let xTicks = ticks(from: lower, to: upper)
        guard let start = xTicks.first, let end = xTicks.last, end > start else { return nil }
        let binCount = min(40, max(10, Int(Double(samples.count).squareRoot() * 2)))
        let binWidth = (end - start) / Double(binCount)
        var counts = [Int](repeating: 0, count: binCount)
        for sample in samples {
            // Clamped as a Double first: a far outlier would overflow Int.
            let bin = min(Double(binCount - 1), max(0, ((sample - start) / binWidth).rounded(.down)))
            counts[Int(bin)] += 1
        }
        let clipped = samples.filter { $0 > end }.count

        let (width, height) = (340.0, 190.0)
        let plot = Frame(left: 40, top: 28, right: width - 12, bottom: height - 36)
        let yTicks = ticks(from: 0, to: Double(max(1, counts.max() ?? 1)), integral: true)
        let yEnd = yTicks.last ?? 1
        func x(_ ms: Double) -> Double { plot.left + (ms - start) / (end - start) * plot.width }
        func y(_ count: Double) -> Double { plot.bottom - count / yEnd * plot.height }

        var svg = svgOpen(width: width, height: height, label: "Latency histogram")
        for tick in yTicks {
            svg += line(plot.left, y(tick), plot.right, y(tick), class: tick == 0 ? "axis" : "grid")
            svg += text(plot.left - 6, y(tick) + 4, label(tick, step: yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1), anchor: "end")
        }
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : end - start
        for tick in xTicks {
            svg += line(x(tick), plot.bottom, x(tick), plot.bottom + 4, class: "axis")
            svg += text(x(tick), plot.bottom + 16, label(tick, step: xStep), anchor: "middle")
        }
        svg += text((plot.left + plot.right) / 2, height - 4, "milliseconds", anchor: "middle", class: "title")
        let barWidth = plot.width / Double(binCount)
        for (bin, count) in counts.enumerated() where count > 0 {
            let top = y(Double(count))
            svg += "<rect x=\"\(coordinate(plot.left + Double(bin) * barWidth + 0.5))\" y=\"\(coordinate(top))\" "
            svg += "width=\"\(coordinate(max(0.5, barWidth - 1)))\" height=\"\(coordinate(plot.bottom - top))\" fill=\"\(colour)\" "
            svg += "fill-opacity=\"0.75\"><title>\(count) queries, \(label(start + Double(bin) * binWidth, step: binWidth / 10))–"
            svg += "\(label(start + Double(bin + 1) * binWidth, step: binWidth / 10)) ms</title></rect>\n"
        }
        // The labels sit on two rows so that close percentiles do not overwrite each other.
        for (row, marker) in [(0, ("p50", p50)), (1, ("p99", p99))] {
            guard let value = marker.1, value >= start, value <= end else { continue }
            let position = x(value)
            svg += line(position, plot.top - 2 - Double(1 - row) * 12, position, plot.bottom, class: "marker")
            let anchor = position > plot.right - 70 ? "end" : "start"
            let offset = anchor == "end" ? -4.0 : 4.0
            svg += text(position + offset, plot.top - 16 + Double(row) * 12, "\(marker.0) \(decimal(value, 2)) ms", anchor: anchor, class: "marker")
        }
        svg += "</svg>\n"
        if clipped > 0 {
            let queries = clipped == 1 ? "query" : "queries"
            svg += "<p class=\"caption\">The last bar also counts \(clipped) slower \(queries), up to \(decimal(largest, 1)) ms.</p>\n"
        }
        return svg
    }

    struct Frame {
        var left, top, right, bottom: Double
        var width: Double { right - left }
        var height: Double { bottom - top }
    }

    static func svgOpen(width: Double, height: Double, label: String) -> String {
        let (w, h) = (coordinate(width), coordinate(height))
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(w) \(h)\" width=\"\(w)\" height=\"\(h)\" role=\"img\" aria-label=\"\(escape(label))\">\n"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, class name: String) -> String {
        "<line class=\"\(name)\" x1=\"\(coordinate(x1))\" y1=\"\(coordinate(y1))\" x2=\"\(coordinate(x2))\" y2=\"\(coordinate(y2))\"/>\n"
    }

    static func text(_ x: Double, _ y: Double, _ content: String, anchor: String, class name: String? = nil) -> String {
        let kind = name.map { " class=\"\($0)\"" } ?? ""
        return "<text\(kind) x=\"\(coordinate(x))\" y=\"\(coordinate(y))\" text-anchor=\"\(anchor)\">\(escape(content))</text>\n"
    }

    /// Round axis ticks (steps of 1, 2 or 5 × 10ⁿ) covering `low...high`, about five of them.
    static func ticks(from low: Double, to high: Double, integral: Bool = false) -> [Double] {
        let span = high - low
        var step = niceStep(span > 0 && span.isFinite ? span / 5 : max(abs(high), 1) / 5)
        if integral { step = max(1, step.rounded()) }
        let first = (low / step).rounded(.down) * step
        var last = (high / step).rounded(.up) * step
        if last <= first { last = first + step }
        let count = ((last - first) / step).rounded()
        guard count.isFinite, count <= 100 else { return [low, high] }
        return (0...Int(count)).map { first + Double($0) * step }
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return nice * magnitude
    }

    /// A tick value with as many decimals as its step needs.
    static func label(_ value: Double, step: Double) -> String {
        let digits = step > 0 && step.isFinite ? min(6, max(0, Int((-log10(step)).rounded(.up)))) : 0
        return decimal(value, digits)
    }

    // MARK: - Text

    /// Colours that stay apart for the common kinds of colour blindness (Okabe–Ito, darkened
    /// where thin lines on white needed more contrast).
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8a6d00", "#56B4E9", "#6b6b6b", "#7a3db8"]

    static func colour(_ index: Int) -> String { palette[index % palette.count] }

    /// A legend's colour square; its colour comes from the stylesheet's `.swatch.cN` rules (a
    /// `style` attribute would need `'unsafe-inline'` in a Content-Security-Policy).
    static func swatch(_ index: Int) -> String {
        "<span class=\"swatch c\(index % palette.count)\"></span>"
    }

    static func note(_ text: String) -> String {
        "<p class=\"note\">\(escape(text))</p>\n"
    }

    /// `text` safe in element content and in quoted attribute values.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            case "\0": escaped += "\u{FFFD}"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// `value` with `digits` decimals, or a dash when missing or not finite.
    static func decimal(_ value: Double?, _ digits: Int) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.\(digits)f", value)
    }

    /// Scores are cosines, BM25 sums or fused ranks, of any magnitude: four significant digits.
    static func significant(_ value: Double) -> String {
        value.isFinite ? String(format: "%.4g", value) : "–"
    }

    /// An SVG coordinate; a value that is not finite would make the drawing invalid, so it is 0.
    static func coordinate(_ value: Double) -> String {
        value.isFinite ? String(format: "%.1f", value) : "0"
    }

    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result += "," }
            result.append(digit)
        }
        return value < 0 ? "-" + result : result
    }

    static func shortened(_ text: String, to length: Int) -> String {
        let flat = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        guard flat.count > length else { return flat }
        return flat.prefix(length).trimmingCharacters(in: .whitespaces) + "…"
    }

    /// The page's CSS, exactly as the `<style>` element holds it (its hash is ``stylesheetHash``).
    public static let stylesheet = rules + palette.enumerated().map { ".swatch.c\($0.offset) { background: \($0.element); }\n" }.joined()

    /// The CSP source that allows the page's `<style>` block and nothing else:
    /// `sha256-` and the base64 SHA-256 of ``stylesheet``'s UTF-8 bytes (put it in single quotes
    /// in a `style-src` directive).
    public static let stylesheetHash: String = {
        var hasher = SHA256()
        hasher.update(Array(stylesheet.utf8))
        return "sha256-" + Data(hasher.finalize()).base64EncodedString()
    }()

    static let rules = """

        :root { --ink: #1f2933; --muted: #616e7c; --line: #e3e7ec; --panel: #f6f8fa;
          --good: #13703d; --good-bg: #e2f4e8; --bad: #b42318; --bad-bg: #fde3e0; }
        * { box-sizing: border-box; }
        body { margin: 0; background: #fff; color: var(--ink);
          font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
        main { max-width: 1160px; margin: 0 auto; padding: 24px 32px 48px; }
        h1 { font-size: 24px; margin: 0 0 6px; letter-spacing: -0.01em; }
        h2 { font-size: 18px; margin: 30px 0 10px; padding-bottom: 5px; border-bottom: 2px solid var(--line); }
        h3 { font-size: 14px; font-weight: 600; margin: 0 0 6px; }
        .meta { margin: 0; color: var(--muted); display: flex; flex-wrap: wrap; gap: 2px 18px; }
        .meta b { color: var(--ink); font-weight: 600; }
        .caption, .note { color: var(--muted); margin: 6px 0 10px; font-size: 13px; }
        .note { font-style: italic; }
        .muted { color: var(--muted); }
        table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
        table.metrics th, table.metrics td { padding: 5px 11px; text-align: right; border-bottom: 1px solid var(--line); }
        table.metrics th { font-weight: 600; font-size: 13px; background: var(--panel); }
        table.metrics th.group { text-align: center; color: var(--muted); font-weight: 500; border-bottom: 1px solid #d3d9e0; }
        table.metrics .name { text-align: left; font-weight: 600; }
        table.metrics td:nth-child(9) { border-right: 1px solid var(--line); }
        table.metrics tbody tr:hover { background: var(--panel); }
        .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 7px; vertical-align: 0; }
        figure { margin: 0; }
        svg { max-width: 100%; height: auto; display: block; }
        svg text { font-size: 11px; fill: #52606d; font-family: inherit; }
        svg text.title { font-size: 12px; fill: var(--ink); }
        svg text.legend { font-size: 12px; fill: var(--ink); }
        svg text.marker { font-size: 10.5px; fill: var(--ink); }
        svg text.note { font-size: 10px; fill: var(--muted); font-style: italic; }
        svg line.grid { stroke: #e8ecf0; stroke-width: 1; }
        svg line.axis { stroke: #9aa5b1; stroke-width: 1; }
        svg line.marker { stroke: var(--ink); stroke-width: 1; stroke-dasharray: 3 3; }
        svg polyline.series { fill: none; stroke-width: 2.5; stroke-linejoin: round; }
        .histograms { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 14px; }
        .histograms figure { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px 4px; }
        .histograms figcaption { font-size: 13px; margin-bottom: 2px; }
        .histograms figcaption span { color: var(--muted); margin-left: 4px; }
        article { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin: 10px 0; }
        .score { display: inline-block; min-width: 46px; margin-right: 8px; padding: 0 6px; border-radius: 4px;
          font-variant-numeric: tabular-nums; text-align: center; }
        .score.low { background: var(--bad-bg); color: var(--bad); }
        .score.mid { background: #fff1d6; color: #8a5a00; }
        .score.high { background: var(--good-bg); color: var(--good); }
        .qid { color: var(--muted); font-weight: 400; font-family: ui-monospace, "DejaVu Sans Mono", monospace;
          font-size: 12px; margin-right: 6px; }
        .judged { margin: 0 0 8px; font-size: 13px; color: var(--muted); }
        .doc { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px;
          font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
        .doc i { font-style: normal; opacity: 0.7; }
        .doc.found { background: var(--good-bg); color: var(--good); }
        .doc.missed { background: var(--bad-bg); color: var(--bad); }
        table.retrieved { width: 100%; font-size: 12.5px; }
        table.retrieved th { text-align: right; font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--line); padding: 3px 8px; }
        table.retrieved td { text-align: right; padding: 3px 8px; border-bottom: 1px solid #f0f2f5; vertical-align: top; white-space: nowrap; }
        table.retrieved th.id { text-align: left; }
        table.retrieved td.id { text-align: left; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
        table.retrieved .text { text-align: left; white-space: normal; width: 100%; color: #3e4c59; }
        table.retrieved tr.relevant td { background: var(--good-bg); }
        table.retrieved tr.relevant td:first-child { box-shadow: inset 3px 0 0 var(--good); }
        .cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
        .card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 130px; background: var(--panel); }
        .card .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
        .card .label { color: var(--muted); font-size: 12px; }
        .thresholds { font-size: 13px; color: var(--muted); display: flex; flex-wrap: wrap; gap: 4px 16px; }
        code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; color: var(--ink); }
        .answer { margin: 0 0 6px; line-height: 1.7; }
        .sentence { padding: 1px 2px; border-radius: 3px; }
        .sentence.supported { background: var(--good-bg); }
        .sentence.unsupported { background: var(--bad-bg); color: #7a1a10; text-decoration: underline wavy var(--bad); text-underline-offset: 3px; }
        .cite { font-size: 10px; margin-left: 1px; font-weight: 600; }
        .cite.ok { color: var(--good); }
        .cite.bad { color: var(--bad); }
        .cite.unknown { color: var(--muted); }
        .expected { margin: 0 0 6px; font-size: 13px; color: var(--muted); }
        .scores { margin: 0; font-size: 12.5px; color: var(--muted); display: flex; flex-wrap: wrap; gap: 2px 16px; }
        .scores b { color: var(--ink); font-variant-numeric: tabular-nums; }
        .badge { font-size: 11px; font-weight: 600; background: #fff4d6; color: #8a5a00; padding: 1px 6px; border-radius: 4px; }

        """
}

// MARK: - Conversations

extension HTMLReport {
    /// The follow-up questions: per mode, a table of each method's means, then the follow-ups a
    /// rewriter made worse than the question as asked (nDCG@10 below the raw question's).
    static func conversationSection(_ evaluation: ConversationEvaluation) -> String {
        var html = "<section>\n<h2>Follow-up questions</h2>\n"
        html += "<p class=\"caption\">\(grouped(evaluation.conversations)) conversations, \(grouped(evaluation.followUps)) follow-ups "
        html += "(\(grouped(evaluation.standaloneInFact)) standalone in fact). Documents ranked: \(evaluation.topK); "
        html += "history answers: \(escape(evaluation.historyAnswers)). <i>raw</i> searches the question as asked, "
        html += "<i>oracle</i> its hand-written standalone form.</p>\n"
        for (method, reason) in evaluation.skipped.sorted(by: { $0.key < $1.key }) {
            html += note("\(method): skipped (\(reason))")
        }
        let labels = [("recall@5", "Recall@5"), ("mrr@10", "MRR@10"), ("ndcg@10", "nDCG@10"), ("hit@1", "Hit@1")]
        for mode in evaluation.modes {
            html += "<h3>\(escape(mode.mode))</h3>\n<table class=\"metrics\">\n<thead>\n<tr><th class=\"name\">Method</th>"
            html += labels.map { "<th>\(escape($0.1))</th>" }.joined()
            html += "<th>nDCG@10, needing context</th><th>Changed</th><th>Wrongly changed</th><th>Helped</th><th>Hurt</th></tr>\n</thead>\n<tbody>\n"
            html += "<tr><td class=\"name\">first turns</td>" + labels.map { "<td>\(decimal(mode.firstTurns[$0.0], 3))</td>" }.joined()
            html += "<td>–</td><td>–</td><td>–</td><td>–</td><td>–</td></tr>\n"
            for (row, method) in mode.methods.enumerated() {
                html += "<tr><td class=\"name\">\(swatch(row))\(escape(method.method))</td>"
                html += labels.map { "<td>\(decimal(method.followUps[$0.0], 3))</td>" }.joined()
                html += "<td>\(decimal(method.contextDependent["ndcg@10"], 3))</td>"
                html += [method.changed, method.wronglyChanged, method.helped, method.hurt].map { "<td>\($0.map(grouped) ?? "–")</td>" }.joined()
                html += "</tr>\n"
            }
            html += "</tbody>\n</table>\n"
            html += conversationRegressions(mode)
        }
        return html + "</section>\n"
    }

    /// The follow-ups of `mode` where a rewriter's query ranked worse than the question as asked.
    static func conversationRegressions(_ mode: ConversationModeEvaluation) -> String {
        var rows = ""
        for conversation in mode.conversations {
            for turn in conversation.turns.dropFirst() {
                guard let raw = turn.methods.first(where: { $0.method == ConversationEvaluation.raw }) else { continue }
                for method in turn.methods where method.rewrite != nil {
                    guard let own = method.metrics["ndcg@10"], let asked = raw.metrics["ndcg@10"], own < asked else { continue }
                    rows += "<tr><td class=\"name\">\(escape(conversation.id)) #\(turn.index + 1)</td><td>\(escape(method.method))</td>"
                    rows += "<td>\(escape(turn.question))</td><td>\(escape(method.query))</td>"
                    rows += "<td>\(decimal(asked, 3))</td><td>\(decimal(own, 3))</td></tr>\n"
                }
            }
        }
        guard !rows.isEmpty else { return note("No rewrite ranked worse than the question as asked.") }
        var html = "<p class=\"caption\">Rewrites that ranked worse than the question as asked (nDCG@10).</p>\n"
        html += "<table class=\"metrics\">\n<thead>\n<tr><th class=\"name\">Turn</th><th>Method</th><th>Asked</th><th>Searched</th>"
        html += "<th>Raw</th><th>Rewritten</th></tr>\n</thead>\n<tbody>\n"
        return html + rows + "</tbody>\n</table>\n"
    }
}
