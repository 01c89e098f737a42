import QuarryCore
import Testing

@Suite struct StopWordsTests {
    @Test func theListsAndWhatSetsTheirUsesApart() {
        #expect(StopWords.lucene.count == 33)
        #expect(StopWords.english.count == 124)
        #expect(StopWords.question.subtracting(StopWords.english) == ["use", "used", "using", "one"])
        #expect(StopWords.claim.subtracting(StopWords.english) == ["never", "none", "neither", "nothing", "nobody", "unless"])
        // BM25 leaves out only words that are function words everywhere.
        #expect(StopWords.lucene.isSubset(of: StopWords.english))
    }
}
