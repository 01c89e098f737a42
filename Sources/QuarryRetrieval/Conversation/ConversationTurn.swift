/// One earlier turn of a conversation, as a rewriter reads it.
public struct ConversationTurn: Sendable, Hashable {
    /// The question as the user asked it.
    public var question: String
    /// The standalone form retrieval used for it, when it was rewritten.
    public var standalone: String?
    /// The answer given; empty when unknown.
    public var answer: String

    /// Creates a turn.
    public init(question: String, standalone: String? = nil, answer: String = "") {
        self.question = question
        self.standalone = standalone
        self.answer = answer
    }

    /// The question as retrieval read it: its standalone form when there is one.
    public var resolvedQuestion: String {
        if let standalone, !standalone.isEmpty { return standalone }
        return question
    }
}
