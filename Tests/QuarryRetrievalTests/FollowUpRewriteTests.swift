import Foundation
import Testing

@testable import QuarryRetrieval

/// `DeterministicRewriter` and `HistoryWindow`: follow-ups made standalone from earlier turns.
@Suite struct FollowUpRewriteTests {
    let rewriter = DeterministicRewriter()

    /// A conversation as a client builds it: each question rewritten in turn, its standalone form
    /// kept when it changed.
    func conversation(_ questions: [String], rewriter: DeterministicRewriter = DeterministicRewriter()) -> [ConversationTurn] {
        var history: [ConversationTurn] = []
        for question in questions {
            let rewrite = rewriter.rewritten(question, history: history)
            history.append(ConversationTurn(question: question, standalone: rewrite.method == .none ? nil : rewrite.standalone))
        }
        return history
    }

    static let walHistory = [
        ConversationTurn(question: "What is WAL mode in SQLite?", answer: "WAL mode writes changes to a separate log file [1]."),
        ConversationTurn(question: "Does it need a lock?", standalone: "Does WAL mode need a lock (SQLite)?"),
    ]

    @Test(arguments: [
        "What is the default page size in SQLite?",
        "How do I list all tables in an SQLite database?",
        "Does PostgreSQL support partial indexes?",
        "Can VACUUM change the rowids of my SQLite tables?",
        "Is it safe to run VACUUM on a live SQLite database?",
        "What does ON DELETE CASCADE do in an SQLite foreign key?",
        "Which collating sequences does SQLite have?",
    ])
    func standaloneQuestionsComeBackUnchanged(question: String) async throws {
        let rewrite = try await rewriter.rewrite(question, history: Self.walHistory)
        #expect(rewrite.method == .none)
        #expect(rewrite.standalone == question)
        #expect(rewrite.carriedTerms.isEmpty)
        #expect(rewrite.historyTurns == 2)
        #expect(rewrite.usage == nil && rewrite.model == nil && rewrite.fallback == nil)
        #expect(!DeterministicRewriter.needsContext(question))
    }

    @Test func emptyHistoryChangesNothing() async throws {
        let rewrite = try await rewriter.rewrite("Does it need a lock?", history: [])
        #expect(rewrite == FollowUpRewrite(question: "Does it need a lock?", standalone: "Does it need a lock?", method: .none))
        #expect(DeterministicRewriter.needsContext("Does it need a lock?"))
    }

    @Test(arguments: [
        ("Does it need a lock?", "Does WAL mode need a lock (SQLite)?"),
        ("How do I turn it off?", "How do I turn WAL mode off (SQLite)?"),
        ("Why?", "Why (WAL mode, SQLite)?"),
        ("Is it slower?", "Is WAL mode slower (SQLite)?"),
    ])
    func aPronounTakesTheSubject(question: String, standalone: String) {
        let rewrite = rewriter.rewritten(question, history: [ConversationTurn(question: "What is WAL mode in SQLite?")])
        #expect(rewrite.standalone == standalone)
        #expect(rewrite.method == .deterministic)
        #expect(rewrite.carriedTerms == ["WAL mode", "SQLite"])
        #expect(rewrite.historyTurns == 1 && rewrite.droppedTurns == 0)
    }

    @Test func theSubjectCarriesThroughSeveralTurns() {
        let history = conversation(["What is write-ahead logging in SQLite?", "Does it work over a network filesystem?"])
        #expect(history[1].standalone == "Does write-ahead logging work over a network filesystem (SQLite)?")
        let rewrite = rewriter.rewritten("How do I turn it off?", history: history)
        #expect(rewrite.standalone == "How do I turn write-ahead logging off (SQLite)?")
        let next = rewriter.rewritten("And when does the checkpoint run by itself?", history: history)
        #expect(next.standalone == "When does the checkpoint run by itself (write-ahead logging, SQLite)?", "a leading And is dropped; itself stays")
    }

    @Test(arguments: [
        ("What is a STRICT table in SQLite?", "Which datatypes may its columns have?", "Which datatypes may STRICT table's columns have (SQLite)?"),
        ("What is a WITHOUT ROWID table in SQLite?", "When should I use one?", "When should I use WITHOUT ROWID table (SQLite)?"),
        ("What is a WITHOUT ROWID table in SQLite?", "Which one is faster?", "Which one is faster (WITHOUT ROWID table, SQLite)?"),
        ("What are generated columns in SQLite?", "What is the difference between VIRTUAL and STORED ones?", "What is the difference between VIRTUAL and STORED generated columns (SQLite)?"),
        ("Can I drop a column from a table in SQLite?", "When does that fail?", "When does that fail (drop a column, SQLite, table)?"),
        ("How does SQLite make a commit atomic?", "And if the disk lies about having flushed its writes?", "If the disk lies about having flushed its writes (SQLite, commit atomic)?"),
    ])
    func possessivesOnesAndPointers(previous: String, question: String, standalone: String) {
        #expect(rewriter.rewritten(question, history: [ConversationTurn(question: previous)]).standalone == standalone)
    }

    @Test(arguments: [
        ("Does SQLite support concurrent readers in rollback journal mode?", "And in WAL mode?", "Does SQLite support concurrent readers in WAL mode?"),
        ("What isolation does SQLite provide between database connections?", "And within one connection?", "What isolation does SQLite provide within one connection?"),
        ("What is the maximum size of an SQLite database?", "And of a single string?", "What is the maximum size of a single string (SQLite)?"),
        ("How do I get the last day of the current month in SQLite?", "And turn a unix timestamp into a date?", "How do I turn a unix timestamp into a date (SQLite)?"),
        ("How do I build a JSON array from the rows of a query in SQLite?", "And an object?", "How do I build a JSON object from the rows of a query in SQLite?"),
        ("How do I create a view in SQLite?", "And a trigger?", "How do I create a trigger in SQLite?"),
        ("When is SQLite a good fit for an application?", "What about as the database behind a website?", "When is SQLite a good fit as the database behind a website?"),
        ("How do I enable WAL mode in SQLite?", "And in PostgreSQL?", "How do I enable WAL mode in PostgreSQL?"),
    ])
    func anEllipsisIsFilledIntoThePreviousQuestion(previous: String, question: String, standalone: String) {
        let rewrite = rewriter.rewritten(question, history: [ConversationTurn(question: previous)])
        #expect(rewrite.standalone == standalone)
        #expect(rewrite.method == .deterministic)
    }

    @Test func aNewNameReplacesTheOldOneInsteadOfJoiningIt() {
        let rewrite = rewriter.rewritten("What about PostgreSQL?", history: [ConversationTurn(question: "Does SQLite support JSON?")])
        #expect(rewrite.standalone == "Does PostgreSQL support JSON?")
        #expect(!rewrite.carriedTerms.contains("SQLite"))
    }

    @Test(arguments: [
        "PostgreSQL has MVCC; how does it work?",
        "What is FTS5 and how do I enable it?",
        "There is also FTS5. How do I enable it?",
        "Does SQLite's backup API block writers while it runs?",
    ])
    func aPronounForANameOfTheQuestionItselfIsATopicSwitch(question: String) {
        let rewrite = rewriter.rewritten(question, history: Self.walHistory)
        #expect(rewrite.method == .none)
        #expect(rewrite.standalone == question)
    }

    @Test func aQuestionWithoutANameGetsOnlyTheConversationsNames() {
        let history = [ConversationTurn(question: "What is the difference between BEGIN DEFERRED and BEGIN IMMEDIATE in SQLite?")]
        let rewrite = rewriter.rewritten("Can transactions be nested?", history: history)
        #expect(rewrite.standalone == "Can transactions be nested (BEGIN IMMEDIATE, BEGIN DEFERRED)?")
        #expect(rewrite.carriedTerms.count <= 2)
    }

    @Test func aDefiniteNounWithoutANameMayTakeAnyTerm() {
        let history = [ConversationTurn(question: "Are foreign key constraints enforced by default in SQLite?")]
        let rewrite = rewriter.rewritten("How do I turn the enforcement on?", history: history)
        #expect(rewrite.standalone == "How do I turn the enforcement on (foreign key constraints, SQLite)?")
    }

    @Test func termsTheFollowUpHasAreNotCarried() {
        let history = [ConversationTurn(question: "How does SQLite use an index for a WHERE clause?")]
        let rewrite = rewriter.rewritten("Can LIKE use an index too?", history: history)
        #expect(rewrite.standalone == "Can LIKE use an index too (SQLite, WHERE clause)?")
        #expect(!rewrite.carriedTerms.contains("index"))
    }

    @Test func atMostSixTermsAreCarried() {
        let history = [
            ConversationTurn(question: "How do I extract a value from a JSON string in SQLite?"),
            ConversationTurn(question: "How can I get one row per element of an array with json_each?"),
            ConversationTurn(question: "Do the -> and ->> operators of PostgreSQL and MySQL differ?"),
        ]
        let rewrite = rewriter.rewritten("Is all of this compiled in by default?", history: history)
        #expect(rewrite.carriedTerms.count == DeterministicRewriter.maxCarriedTerms)
    }

    @Test func answersAreReadLightly() {
        let answer = """
            WAL mode uses a WAL file and a SHM file beside the database, with PRAGMA journal_mode, \
            CHECKPOINT, FULLFSYNC and POSIX advisory locks [1]. Readers use the WAL-index in SHM [2].
            """
        let history = [ConversationTurn(question: "What is WAL mode in SQLite?", answer: answer)]
        let rewrite = rewriter.rewritten("Does it need a lock?", history: history)
        #expect(rewrite.carriedTerms.prefix(2) == ["WAL mode", "SQLite"], "the question's terms come first")
        #expect(rewrite.carriedTerms.count <= 3, "at most one term found only in the answer: \(rewrite.carriedTerms)")
        #expect(rewrite.standalone.hasPrefix("Does WAL mode need a lock ("))
    }

    @Test func theAnswerCanNameWhatTheQuestionLeftOut() {
        let history = [ConversationTurn(question: "My database file did not get smaller after deleting rows. Why?", answer: "Deleted pages stay in the file until you run VACUUM [1].")]
        let rewrite = rewriter.rewritten("How long does it take?", history: history)
        #expect(rewrite.carriedTerms.contains("VACUUM"))
        #expect(!rewrite.standalone.hasPrefix("How long does VACUUM"), "an answer's term never stands for a pronoun")
    }

    /// One token per word, so that budgets are easy to count.
    static let words: @Sendable (String) -> Int = { $0.split(separator: " ").count }

    @Test func theHistoryBudgetDropsTheOldestTurnsFirst() {
        let history = [
            ConversationTurn(question: "How does PostgreSQL vacuum tables?"),  // 5 words
            ConversationTurn(question: "What is WAL mode in SQLite?"),  // 6
            ConversationTurn(question: "Does it need shared memory?", standalone: "Does WAL mode need shared memory (SQLite)?"),  // 7
        ]
        let rewriter = DeterministicRewriter(historyTokens: 13, tokenCount: Self.words)
        let rewrite = rewriter.rewritten("How do I turn it off?", history: history)
        #expect(rewrite.historyTurns == 2)
        #expect(rewrite.droppedTurns == 1)
        #expect(rewrite.historyTokens == 13)
        #expect(rewrite.standalone == "How do I turn WAL mode off (SQLite)?")
        #expect(!rewrite.carriedTerms.contains("PostgreSQL"))

        let tight = DeterministicRewriter(historyTokens: 6, tokenCount: Self.words).rewritten("How do I turn it off?", history: history)
        #expect(tight.historyTurns == 0 && tight.droppedTurns == 3 && tight.historyTokens == 0)
        #expect(tight.method == .none, "nothing fits: nothing to carry")
    }

    @Test func theWindowKeepsTheNewestTurnsOldestFirst() {
        let turns = (1...5).map { ConversationTurn(question: "question number \($0)", answer: "answer \($0)") }  // 5 tokens each
        let window = HistoryWindow.fit(turns, budget: 19, tokenCount: Self.words)
        #expect(window.kept.map(\.question) == ["question number 2", "question number 3", "question number 4", "question number 5"])
        #expect(window.dropped == 1)
        #expect(window.tokens == 19)
        #expect(window.kept[0].answer == "answer…", "the oldest kept turn with its answer cut short")
        #expect(window.kept[1].answer == "answer 3")
        let questionOnly = HistoryWindow.fit(turns, budget: 18, tokenCount: Self.words)
        #expect(questionOnly.kept.count == 4 && questionOnly.kept[0].answer == "" && questionOnly.tokens == 18)
        let whole = HistoryWindow.fit(turns, budget: 17, tokenCount: Self.words)
        #expect(whole.kept.count == 3 && whole.dropped == 2 && whole.tokens == 15, "the fourth turn's question does not fit")

        let none = HistoryWindow.fit(turns, budget: 0, tokenCount: Self.words)
        #expect(none.kept.isEmpty && none.dropped == 5 && none.tokens == 0)
        let all = HistoryWindow.fit(turns, budget: 100, tokenCount: Self.words)
        #expect(all.kept == turns && all.dropped == 0 && all.tokens == 25)
    }

    @Test func aTurnCountsItsStandaloneQuestion() {
        let turn = ConversationTurn(question: "Does it?", standalone: "Does WAL mode need a lock?", answer: "Yes it does.")
        #expect(HistoryWindow.tokens(of: turn, tokenCount: Self.words) == 9)
        #expect(turn.resolvedQuestion == "Does WAL mode need a lock?")
        #expect(ConversationTurn(question: "Q?", standalone: "").resolvedQuestion == "Q?")
    }

    @Test func unicode() {
        let zurich = rewriter.rewritten("Is it expensive?", history: [ConversationTurn(question: "How does Zürich's tram network handle snow?")])
        #expect(zurich.standalone == "Is Zürich's tram network expensive (snow)?")
        let decomposed = "Cafe\u{301}"
        let cafe = rewriter.rewritten("Is it free?", history: [ConversationTurn(question: "What is the \(decomposed) loyalty card?")])
        #expect(cafe.standalone == "Is \(decomposed) loyalty card free?")

        let history = [ConversationTurn(question: "What is WAL mode in SQLite?")]
        #expect(rewriter.rewritten("它需要锁吗？", history: history).standalone == "它需要锁吗 (WAL mode, SQLite)？")
        #expect(rewriter.rewritten("🤔", history: history).standalone == "🤔 (WAL mode, SQLite)")
        #expect(rewriter.rewritten("", history: history).standalone == "(WAL mode, SQLite)")
        #expect(rewriter.rewritten("Wie viel kostet PostgreSQL?", history: history).method == .none)
    }

    @Test func approximateTokens() {
        #expect(DeterministicRewriter.approximateTokens("") == 0)
        #expect(DeterministicRewriter.approximateTokens("Does it need a lock?") == 5)
        #expect(DeterministicRewriter.approximateTokens("supercalifragilistic") == 5)
        #expect(DeterministicRewriter.approximateTokens("它需要锁吗") == 4)
    }

    @Test func aRewriteEncodesWithSnakeCaseKeys() throws {
        let rewrite = FollowUpRewrite(
            question: "Q", standalone: "S", method: .llm, carriedTerms: ["a"], historyTurns: 2, droppedTurns: 1, historyTokens: 30,
            usage: ChatUsage(promptTokens: 120, completionTokens: 30), model: "m", fallback: nil
        )
        let data = try JSONEncoder().encode(rewrite)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["question", "standalone", "method", "carried_terms", "history_turns", "dropped_turns", "history_tokens", "usage", "model"])
        #expect(object["method"] as? String == "llm")
        #expect(try JSONDecoder().decode(FollowUpRewrite.self, from: data) == rewrite)
        #expect(Set([rewrite, rewrite]).count == 1)
    }
}
