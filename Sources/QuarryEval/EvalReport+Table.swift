import Foundation
import QuarryCore

extension RetrievalEvaluation {
    /// The table `quarry eval` prints: a header, then one row per mode with every metric of
    /// `Metrics.names` (4 decimals) and the p50 and p99 query latency in milliseconds; lines are
    /// separated by newlines, with none after the last.
    public var table: String {
        let names = Metrics.names.map { $0.padding(toLength: 10, withPad: " ", startingAt: 0) }.joined(separator: " ")
        var lines = [String(format: "%-8@ %@  %@", "mode" as NSString, names, "p50 ms   p99 ms")]
        for result in modes {
            let values = Metrics.names.map { String(format: "%-10.4f", result.metrics[$0] ?? 0) }.joined(separator: " ")
            lines.append(String(format: "%-8@ %@  %6.2f   %6.2f", result.mode as NSString, values, result.latency.p50, result.latency.p99))
        }
        return lines.joined(separator: "\n")
    }
}

extension QAEvaluation {
    /// The table `quarry eval --qa` prints: a header, one row per question (its scores, 2
    /// decimals, and whether it abstained), then one line per summary value (3 decimals) in
    /// key order; lines are separated by newlines, with none after the last.
    public var table: String {
        var lines = ["question  faithfulness  citation precision  context recall  answer F1  abstained"]
        for question in questions {
            lines.append(
                String(
                    format: "%-9@ %12.2f  %18.2f  %14.2f  %9.2f  %@", question.id as NSString, question.faithfulness,
                    question.citationPrecision, question.contextRecall, question.answerF1, (question.abstained ? "yes" : "no") as NSString
                )
            )
        }
        for (key, value) in summary.sorted(by: { $0.key < $1.key }) {
            lines.append(String(format: "%-20@ %.3f", key as NSString, value))
        }
        if let abstention {
            func show(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "-" }
            lines.append(
                "abstention at \(String(format: "%.2f", abstention.threshold)): \(abstention.unanswerable) unanswerable, "
                    + "\(abstention.answerable) answerable; recall \(show(abstention.recall)), precision \(show(abstention.precision)), "
                    + "coverage \(show(abstention.coverage)), answered correctly \(show(abstention.answeredCorrectly)), "
                    + "AURC \(show(abstention.areaUnderCurve))"
            )
        }
        return lines.joined(separator: "\n")
    }
}

extension ConversationEvaluation {
    /// The table `quarry eval --conversations` prints: a line saying what was evaluated, a
    /// header, then per mode a row for the first turns and one per method with the means over the
    /// follow-ups (4 decimals), nDCG@10 over the follow-ups that need context, and for rewriters
    /// how many follow-ups they changed, how many of the standalone-in-fact ones among them, and
    /// how many nDCG@10 went up and down against the raw question; then a line per skipped
    /// method. Lines are separated by newlines, with none after the last.
    public var table: String {
        var lines = [
            "\(dataset): \(conversations) conversations, \(followUps) follow-ups (\(standaloneInFact) standalone in fact); "
                + "\(topK) documents per query from \(chunkDepth) chunks; history answers: \(historyAnswers)"
        ]
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text.padding(toLength: width, withPad: " ", startingAt: 0)
        }
        func values(_ metrics: [String: Double]) -> String {
            Self.metricNames.map { pad(String(format: "%.4f", metrics[$0] ?? 0), 10) }.joined()
        }
        lines.append(
            pad("mode", 9) + pad("method", 15) + Self.metricNames.map { pad($0, 10) }.joined() + pad("ctx ndcg@10", 12) + pad("changed", 9)
                + pad("wrong", 8) + "helped/hurt"
        )
        for mode in modes {
            lines.append((pad(mode.mode, 9) + pad("first turns", 15) + values(mode.firstTurns)).trimmingWhitespace())
            for method in mode.methods {
                let changed = method.changed.map(String.init) ?? "-"
                let wrong = method.wronglyChanged.map { "\($0)/\(standaloneInFact)" } ?? "-"
                let effect = method.helped.map { "\($0)/\(method.hurt ?? 0)" } ?? "-"
                lines.append(
                    pad(mode.mode, 9) + pad(method.method, 15) + values(method.followUps)
                        + pad(String(format: "%.4f", method.contextDependent["ndcg@10"] ?? 0), 12) + pad(changed, 9) + pad(wrong, 8) + effect
                )
            }
        }
        for (method, reason) in skipped.sorted(by: { $0.key < $1.key }) {
            lines.append("\(method): skipped (\(reason))")
        }
        return lines.joined(separator: "\n")
    }
}
