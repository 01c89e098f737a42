@testable import QuarryRetrieval
import Testing

/// `QuestionMatch`: the differences a sentence embedding cannot see refuse a cached answer, and
/// the wording a paraphrase changes does not.
@Suite struct QuestionMatchTests {
    /// `mismatch` both ways round, which must agree.
    static func mismatch(_ a: String, _ b: String) -> QuestionMatch.Mismatch? {
        let forward = QuestionMatch.mismatch(cached: a, candidate: b)
        let backward = QuestionMatch.mismatch(cached: b, candidate: a)
        #expect(forward == backward, "not symmetric: \(a) | \(b)")
        return forward
    }

    @Test(arguments: [
        ("How do I turn on WAL mode in SQLite?", "How do I turn off WAL mode in SQLite?"),
        ("How do I turn on WAL mode in SQLite?", "How do I turn WAL mode off in SQLite?"),
        ("How do I enable the semantic cache?", "How do I disable the semantic cache?"),
        ("How do I enable TLS?", "How do I turn off TLS?"),
        ("How do I run Quarry with Docker?", "How do I run Quarry without Docker?"),
        ("Is the HNSW index thread safe?", "Is the HNSW index not thread safe?"),
        ("Why does the server start?", "Why doesn't the server start?"),
        ("Why does the server start?", "Why does the server not start?"),
        ("Why can the key read it?", "Why can't the key read it?"),
        ("Should I run VACUUM before the backup?", "Should I run VACUUM after the backup?"),
        ("What is the minimum chunk size?", "What is the maximum chunk size?"),
        ("How do I import a collection?", "How do I export a collection?"),
        ("How do I sort results in ascending order?", "How do I sort results in descending order?"),
    ])
    func polarityRefuses(_ pair: (String, String)) {
        #expect(Self.mismatch(pair.0, pair.1) == .negation)
    }

    @Test(arguments: [
        ("How do I return the top 5 results?", "How do I return the top 10 results?"),
        ("Does Quarry support Python 3.11?", "Does Quarry support Python 3.12?"),
        ("How do I run two replicas?", "How do I run three replicas?"),
        ("How do I run 2 replicas?", "How do I run three replicas?"),
        ("How do I store 1,000,000 vectors?", "How do I store 10,000,000 vectors?"),
        ("What is the second step?", "What is the third step?"),
    ])
    func numbersRefuse(_ pair: (String, String)) {
        #expect(Self.mismatch(pair.0, pair.1) == .number)
    }

    @Test func numberWordsAndDigitsAreTheSameNumber() {
        #expect(Self.mismatch("How do I run 3 replicas?", "How can I run three replicas?") == nil)
        #expect(Self.mismatch("Why does the query time out after 30 seconds?", "Why does the query time out after 30 seconds?") == nil)
    }

    @Test(arguments: [
        ("How do I back up SQLite?", "How do I back up PostgreSQL?"),
        ("Where are the logs written on Linux?", "Where are the logs written on Windows?"),
        ("How do I enable FTS5 in SQLite?", "How do I enable FTS4 in SQLite?"),
        ("What does max_tokens control?", "What does max_context control?"),
        ("Does the \"strict\" mode block answers?", "Does the \"lenient\" mode block answers?"),
    ])
    func entitiesRefuse(_ pair: (String, String)) {
        #expect(Self.mismatch(pair.0, pair.1) == .entity)
    }

    @Test func entitiesAreCaseFoldedAndKnowTheirOtherNames() {
        #expect(Self.mismatch("How do I list tables in SQLite?", "how do i list tables in sqlite") == nil)
        // A name put first, as a sentence's subject, reads as a change of role: a miss, not a
        // wrong answer.
        #expect(Self.mismatch("SQLite: how do I list tables?", "How do I list tables in sqlite?") == .order)
        #expect(Self.mismatch("How do I back up PostgreSQL?", "How can I back up Postgres?") == nil)
    }

    @Test(arguments: [
        ("How do I convert JSON to CSV?", "How do I convert CSV to JSON?"),
        ("How do I migrate from SQLite to PostgreSQL?", "How do I migrate from PostgreSQL to SQLite?"),
        ("Is BM25 faster than HNSW search?", "Is HNSW search faster than BM25?"),
        ("What is the size of the index of the store?", "What is the size of the store of the index?"),
        (
            "He placed it on a white circle and a red background to use it as a flag .",
            "He placed it on a red circle and a white background to use it as a flag ."
        ),
        ("The Arieşul Mare River is a tributary of the river Vâlcea in Romania .", "The Vâlcea River is a tributary of the Arieşul Mare River in Romania ."),
    ])
    func rolesRefuse(_ pair: (String, String)) {
        #expect(Self.mismatch(pair.0, pair.1) == .order)
    }

    @Test(arguments: [
        ("What is the index size?", "What is the index speed?"),
        ("How do I monitor memory usage?", "How do I monitor disk usage?"),
        ("How do I rename a collection?", "How do I rename a tenant?"),
        ("Where is the audit log stored?", "Where is the usage log stored?"),
    ])
    func anotherKeyTermRefuses(_ pair: (String, String)) {
        #expect(Self.mismatch(pair.0, pair.1) == .terms)
    }

    @Test(arguments: [
        ("How do I enable WAL mode in SQLite?", "How can I turn on WAL mode in SQLite?"),
        ("How do I delete duplicate rows in a table?", "How can I remove duplicate rows from a table?"),
        ("Where are the logs written on Linux?", "On Linux, where are the logs written?"),
        ("How many results does a search return by default?", "By default, how many results does a search return?"),
        ("How do I rotate an API key?", "How can I rotate API keys?"),
        ("How do I increase the connection pool size?", "How can I increase the size of the connection pool?"),
        ("How do I reset a tenant's quota?", "How can I reset the quota of a tenant?"),
        ("How do I disable the semantic cache?", "How can I turn off the semantic cache?"),
        ("How do I export search results to CSV?", "How can I export the search results as CSV?"),
        ("Why does my query run slowly?", "Why is my query slow?"),
    ])
    func paraphrasesPass(_ pair: (String, String)) {
        #expect(Self.mismatch(pair.0, pair.1) == nil)
    }

    @Test func theSameQuestionPasses() {
        let question = "How do I turn off WAL mode in SQLite 3.45 without \"journal_mode\"?"
        #expect(QuestionMatch.mismatch(cached: question, candidate: question) == nil)
    }

    @Test func prepositionsThatArePolarWordsOnlyCountAgainstTheOtherSide() {
        // "on" as a preposition is not "turn on"; only a question naming the other side differs.
        #expect(Self.mismatch("How do I enable WAL mode on Linux?", "How do I enable WAL mode in Linux?") == nil)
        #expect(Self.mismatch("How do I turn on WAL mode on Linux?", "How do I turn off WAL mode on Linux?") == .negation)
    }

    @Test func theChecksRunInTheirDocumentedOrder() {
        // Both a negation and a number differ: the negation is reported.
        #expect(Self.mismatch("How do I enable 2 replicas?", "How do I disable 3 replicas?") == .negation)
        // A number and a name differ: the number is reported.
        #expect(Self.mismatch("Does SQLite 3 support it?", "Does PostgreSQL 16 support it?") == .number)
    }

    /// Words that change places within a clause miss, whether a phrase moved (a paraphrase, as
    /// PAWS's dev 6459) or two words swapped roles (PAWS's hard negatives): words alone cannot
    /// tell the two apart. Numbers and role-bearing function words count as words here.
    @Test(arguments: [
        ("She sailed from Galveston , Texas on 12 September 1943 .", "She sailed on 12 September 1943 from Galveston , Texas ."),
        ("Fanwood is in the 12th Congressional District and the 22nd Legislative District .",
         "Fanwood is in the 22nd Congressional District and the 12th Legislative District ."),
        ("If we have an alternating Turing machine , we use the ATIME resource .",
         "If we use an alternating Turing machine , we have the ATIME resource ."),
        ("Does the lexical score override the dense score?", "Does the dense score override the lexical score?"),
    ])
    func wordsThatChangePlacesWithinAClauseMiss(_ pair: (String, String)) {
        #expect(Self.mismatch(pair.0, pair.1) == .order)
    }

    /// A clause moved as a whole keeps its meaning, and passes.
    @Test(arguments: [
        ("Where are the logs written on Linux?", "On Linux, where are the logs written?"),
        ("How many results does a search return by default?", "By default, how many results does a search return?"),
    ])
    func aClauseMovedAsAWholePasses(_ pair: (String, String)) {
        #expect(Self.mismatch(pair.0, pair.1) == nil)
    }
}
