import QuarryEval
import Testing

/// Answer correctness as SQuAD's evaluation script computes it, worked out by hand.
@Suite struct AnswerCorrectnessTests {
    @Test func normalisationLowercasesDropsPunctuationAndArticles() {
        #expect(AnswerCorrectness.normalized("The  WAL file, an index!") == "wal file index")
        #expect(AnswerCorrectness.normalized("1,000 pages.") == "1000 pages")
        // Punctuation is removed, not replaced by a space, as in SQuAD.
        #expect(AnswerCorrectness.normalized("journal_mode=WAL") == "journalmodewal")
        #expect(AnswerCorrectness.normalized("Anthem theatre") == "anthem theatre")
    }

    @Test func tokenF1() {
        // Prediction tokens: cat sat on mat (4); reference: cat on mat (3); shared 3.
        // P = 3/4, R = 1, F1 = 2 · 3/4 / (7/4) = 6/7.
        #expect(abs(AnswerCorrectness.f1("The cat sat on the mat.", references: ["a cat on a mat"]) - 6.0 / 7) < 1e-12)
        // Shared tokens count with multiplicity: x x y against x y y shares x and y: P = R = 2/3.
        #expect(abs(AnswerCorrectness.f1("x x y", references: ["x y y"]) - 2.0 / 3) < 1e-12)
        #expect(AnswerCorrectness.f1("rollback journal", references: ["WAL"]) == 0)
        // The best reference counts.
        #expect(AnswerCorrectness.f1("1000 pages", references: ["a page", "1,000 pages"]) == 1)
        // An answer that is only articles and punctuation normalises to nothing.
        #expect(AnswerCorrectness.f1("The.", references: ["WAL"]) == 0)
    }

    @Test func exactMatch() {
        #expect(AnswerCorrectness.exactMatch("The DEFERRED.", references: ["deferred"]) == 1)
        #expect(AnswerCorrectness.exactMatch("deferred mode", references: ["deferred"]) == 0)
        #expect(AnswerCorrectness.exactMatch("x", references: ["y", "X!"]) == 1)
    }

    @Test func unanswerableQuestionsRewardOnlyAnEmptyAnswer() {
        #expect(AnswerCorrectness.f1("", references: []) == 1)
        #expect(AnswerCorrectness.exactMatch("", references: []) == 1)
        #expect(AnswerCorrectness.f1("SQLite is written in C.", references: []) == 0)
        #expect(AnswerCorrectness.exactMatch("SQLite is written in C.", references: []) == 0)
        #expect(AnswerCorrectness.f1("", references: ["DEFERRED"]) == 0)
    }
}
