import QuarryCore

/// Makes follow-ups standalone without a model, by carrying terms of the earlier turns.
public struct DeterministicRewriter: FollowUpRewriter {
    /// Tokens of history read, the newest turns first.
    public let historyTokens: Int
    /// Counts a text's tokens.
    public let tokenCount: @Sendable (String) -> Int

    /// Creates a rewriter.
    /// - Parameters:
    ///   - historyTokens: tokens of history read, the newest turns first.
    ///   - tokenCount: counts a text's tokens; a word-based estimate by default.
    public init(historyTokens: Int = 512, tokenCount: @escaping @Sendable (String) -> Int = DeterministicRewriter.approximateTokens) {
        self.historyTokens = historyTokens
        self.tokenCount = tokenCount
    }

    /// A quick token estimate: about four characters of text per token, at least one per word.
    public static func approximateTokens(_ text: String) -> Int {
        var words = 0
        var inWord = false
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace {
                inWord = false
            } else if !inWord {
                inWord = true
                words += 1
            }
        }
        return max(words, (text.utf8.count + 3) / 4)
    }

    /// The standalone form of `question`.
    public func rewrite(_ question: String, history: [ConversationTurn]) async throws -> FollowUpRewrite {
        let window = HistoryWindow.fit(history, budget: historyTokens, tokenCount: tokenCount)
        return FollowUpRewrite(
            question: question, standalone: question, method: .none, historyTurns: window.kept.count,
            droppedTurns: window.dropped, historyTokens: window.tokens
        )
    }
}
