import Foundation
import QuarryCore

/// A quality bar of `quarry eval --fail-under`: a measured metric must not fall below `value`,
/// in every mode or in the one named (`ndcg@10=0.6`, `hybrid.ndcg@10=0.69`, `qa.faithfulness=0.9`).
public struct FailureBar: Sendable, Equatable {
    /// The metrics a bar may name: the retrieval metrics, then the QA scores.
    public static let metrics = Metrics.names + ["faithfulness", "citation_precision", "context_recall", "answer_f1", "exact_match"]
    /// The prefixes that restrict a bar to one mode; `qa` is the QA evaluation.
    public static let modes = ["dense", "lexical", "hybrid", "qa"]

    /// The mode the bar applies to, or `nil` for every mode measured.
    public var mode: String?
    /// The metric, lower-cased (`ndcg@10`, `faithfulness`).
    public var metric: String
    /// The lowest value that passes.
    public var value: Double

    /// Creates a bar.
    public init(mode: String? = nil, metric: String, value: Double) {
        self.mode = mode
        self.metric = metric
        self.value = value
    }

    /// Reads `METRIC=VALUE`, where METRIC may be prefixed by a mode (`hybrid.ndcg@10=0.69`);
    /// names are case-insensitive. A prefix that is not a mode stays part of the metric's name.
    /// - Throws: `QuarryError.invalidRequest`, its message starting with `text`, when there is no
    ///   `=`, the value is not a number or the metric is not one of `metrics`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let value = Double(parts[1]) else {
            throw QuarryError(.invalidRequest, "\(text): expected METRIC=VALUE, like ndcg@10=0.6")
        }
        let name = parts[0].lowercased()
        let qualified = name.split(separator: ".", maxSplits: 1).map(String.init)
        let (mode, metric) = qualified.count == 2 && Self.modes.contains(qualified[0]) ? (Optional(qualified[0]), qualified[1]) : (nil, name)
        guard Self.metrics.contains(metric) else {
            throw QuarryError(
                .invalidRequest, "\(text): unknown metric \(metric) (known: \(Self.metrics.joined(separator: ", ")))"
            )
        }
        self.init(mode: mode, metric: metric, value: value)
    }

    /// How `report` falls below this bar, one line per mode below it (`hybrid ndcg@10 = 0.6512 <
    /// 0.6900`), or `<metric> was not measured` when no mode the bar applies to measured it.
    /// - Returns: no line when every value measured reaches the bar.
    public func failures(in report: EvalReport) -> [String] {
        var measured: [(mode: String, value: Double)] = []
        if let retrieval = report.retrieval {
            for evaluation in retrieval.modes where mode == nil || mode == evaluation.mode {
                if let value = evaluation.metrics[metric] { measured.append((evaluation.mode, value)) }
            }
        }
        if let qa = report.qa, mode == nil || mode == "qa", let value = qa.summary[metric] {
            measured.append(("qa", value))
        }
        if measured.isEmpty { return ["\(metric) was not measured"] }
        return measured.filter { $0.value < value }.map { String(format: "%@ %@ = %.4f < %.4f", $0.mode, metric, $0.value, value) }
    }
}
