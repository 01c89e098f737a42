/// The part of a conversation that fits a rewriter's token budget.
public enum HistoryWindow {
    /// The turns that fit `budget` tokens, the newest kept first, returned oldest first.
    ///
    /// A turn costs its question as retrieval read it (`resolvedQuestion`) plus its answer. Turns
    /// are taken from the newest back while they fit; the first that does not fit is kept with
    /// its answer cut short (at a word, with "…") when its question and some of its answer fit,
    /// with no answer when only its question fits, and everything older is dropped: the window
    /// is always the conversation's most recent stretch, so a long answer never makes the
    /// rewriter skip the turn just before the follow-up.
    /// - Parameters:
    ///   - turns: the conversation, oldest first.
    ///   - budget: tokens allowed; 0 or less keeps nothing.
    ///   - tokenCount: counts a text's tokens.
    /// - Returns: the kept turns (oldest first, the oldest perhaps with its answer shortened),
    ///   how many older turns were dropped, and the kept turns' tokens.
    public static func fit(
        _ turns: [ConversationTurn], budget: Int, tokenCount: (String) -> Int
    ) -> (kept: [ConversationTurn], dropped: Int, tokens: Int) {
        var kept: [ConversationTurn] = []
        var tokens = 0
        var start = turns.endIndex
        while start > turns.startIndex {
            let turn = turns[start - 1]
            let cost = Self.tokens(of: turn, tokenCount: tokenCount)
            if tokens + cost <= budget {
                kept.append(turn)
                tokens += cost
                start -= 1
                continue
            }
            let question = tokenCount(turn.resolvedQuestion)
            if tokens + question <= budget {
                var shortened = turn
                shortened.answer = Self.prefix(of: turn.answer, tokens: budget - tokens - question, tokenCount: tokenCount)
                kept.append(shortened)
                tokens += Self.tokens(of: shortened, tokenCount: tokenCount)
                start -= 1
            }
            break
        }
        return (kept.reversed(), start - turns.startIndex, tokens)
    }

    /// The tokens one turn takes in a window: its question as retrieval read it and its answer.
    public static func tokens(of turn: ConversationTurn, tokenCount: (String) -> Int) -> Int {
        tokenCount(turn.resolvedQuestion) + (turn.answer.isEmpty ? 0 : tokenCount(turn.answer))
    }

    /// The longest start of `text`, in whole words and followed by "…", that counts at most
    /// `tokens`; "" when not even one word fits.
    static func prefix(of text: String, tokens: Int, tokenCount: (String) -> Int) -> String {
        guard tokens > 0 else { return "" }
        let words = text.split(whereSeparator: \.isWhitespace)
        func candidate(_ count: Int) -> String { words.prefix(count).joined(separator: " ") + "…" }
        var low = 0
        var high = words.count
        // The most words whose text fits: counts grow with words, so a binary search finds it.
        while low < high {
            let middle = (low + high + 1) / 2
            if tokenCount(candidate(middle)) <= tokens { low = middle } else { high = middle - 1 }
        }
        return low == 0 ? "" : candidate(low)
    }
}
