/// Makes a follow-up question ("does it need a lock?") standalone before retrieval, from the
/// conversation's earlier turns.
public protocol FollowUpRewriter: Sendable {
    /// The standalone form of `question`.
    /// - Parameters:
    ///   - question: the question as asked.
    ///   - history: the earlier turns, oldest first.
    /// - Returns: the rewrite; a question that needs no context comes back unchanged with method
    ///   `.none`.
    func rewrite(_ question: String, history: [ConversationTurn]) async throws -> FollowUpRewrite
}
