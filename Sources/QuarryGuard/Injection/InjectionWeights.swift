import Foundation

/// The logistic weights that combine signals into a score: `score = 1 / (1 + e^-(bias + Σ w))`
/// over the signals that fired.
///
/// `fitted` comes from `Benchmarks/guardrails/injection/evaluate.py fit`, on the training split
/// of deepset/prompt-injections only (546 rows), as an L2-regularised logistic regression whose
/// penalty pulls each weight towards a prior (`evaluate.py` lists them) rather than towards zero:
/// signals the training split hardly shows (chat-template tokens, exfiltration URLs, encodings)
/// keep their prior weight instead of falling to nothing.
public struct InjectionWeights: Sendable, Hashable {
    /// The log-odds of a text with no signal.
    public var bias: Double
    /// Each signal's added log-odds.
    public var weights: [InjectionSignal: Double]

    /// Creates weights; signals missing from `weights` count zero.
    public init(bias: Double, weights: [InjectionSignal: Double]) {
        self.bias = bias
        self.weights = weights
    }

    /// The weights fitted on deepset/prompt-injections' training split.
    public static let fitted = InjectionWeights(
        bias: -2.03,
        weights: [
            .overrideInstructions: 5.08,
            .revealPrompt: 4.16,
            .rolePlayJailbreak: 4.37,
            .restrictionRemoval: 4.00,
            .newInstructions: 3.03,
            .systemImpersonation: 4.32,
            .exfiltration: 4.00,
            .addressedToModel: 3.13,
            .obfuscation: 2.56,
            .forcedOutput: 3.89,
            .taskPivot: 3.19,
        ]
    )

    /// The score for a set of signals, 0…1.
    /// - Parameter signals: the signals that fired.
    /// - Returns: the logistic of the bias plus the signals' weights.
    public func score(_ signals: Set<InjectionSignal>) -> Double {
        let z = signals.reduce(bias) { $0 + (weights[$1] ?? 0) }
        return 1 / (1 + exp(-z))
    }
}
