/// The part of a conversation that fits a rewriter's token budget.
public enum HistoryWindow {
    /// The turns that fit `budget` tokens, the newest kept first, returned oldest first.
    ///
    /// A turn counts its question (its standalone form when there is one) and its answer. Turns
    /// are taken from the newest back until the next one would not fit; everything older is
    /// dropped too, so the window is always the conversation's most recent stretch.
    /// - Parameters:
    ///   - turns: the conversation, oldest first.
    ///   - budget: tokens allowed; 0 or less keeps nothing.
    ///   - tokenCount: counts a text's tokens.
    /// - Returns: the kept turns (oldest first), how many older turns were dropped, and the kept
    ///   turns' tokens.
    public static func fit(
        _ turns: [ConversationTurn], budget: Int, tokenCount: (String) -> Int
    ) -> (kept: [ConversationTurn], dropped: Int, tokens: Int) {
        var tokens = 0
        var start = turns.endIndex
        while start > turns.startIndex {
            let cost = Self.tokens(of: turns[start - 1], tokenCount: tokenCount)
            guard tokens + cost <= budget else { break }
            tokens += cost
            start -= 1
        }
        return (Array(turns[start...]), start - turns.startIndex, tokens)
    }

    /// The tokens one turn takes in a window: its question as retrieval read it and its answer.
    public static func tokens(of turn: ConversationTurn, tokenCount: (String) -> Int) -> Int {
        tokenCount(turn.resolvedQuestion) + (turn.answer.isEmpty ? 0 : tokenCount(turn.answer))
    }
}
