import Foundation
import QuarryCore
import QuarryIngest
@testable import QuarryRetrieval
import QuarryStore
import QuarryTestSupport
import Testing

/// The evidence an answer rests on, and the abstention it decides: features from the passages in
/// hand, a calibrated confidence, an abstention that is never a grounded answer.
@Suite struct AbstentionTests {
    static let location = ChunkLocation(lineStart: 1, lineEnd: 1)

    static func hit(_ text: String, dense: Float?, lexical: Float?) -> SearchHit {
        SearchHit(
            chunkRowID: 1, chunkID: "d#0", document: "d", text: text, location: location, score: 0.03, denseScore: dense, lexicalScore: lexical
        )
    }

    static func citation(_ text: String) -> Citation {
        Citation(id: 1, document: "d", chunkID: "d#0", text: text, score: 0.03, location: location)
    }

    @Test func evidenceMeasuresHowWellThePassagesMatchTheQuestion() {
        let passage = "SQLite starts a checkpoint automatically when the WAL file reaches 1000 pages."
        let question = "When does SQLite start a WAL checkpoint automatically?"
        let good = AnswerEvidence.assess(
            question: question, hits: [Self.hit(passage, dense: 0.72, lexical: 9)], citations: [Self.citation(passage)], mode: .hybrid,
            answer: "\(passage) [1]"
        )
        #expect(good.coverage == 1 && good.answerCoverage == 1 && good.agreement == 1 && good.denseSimilarity == Double(Float(0.72)))
        #expect(good.confidence > 0.8)

        // The capital of France, over a passage that mentions France and nothing of capitals.
        let off = "Cancer incidence in Cergy-Pontoise, France, rose between 1990 and 2000."
        let bad = AnswerEvidence.assess(
            question: "What is the capital of France?", hits: [Self.hit(off, dense: 0.31, lexical: nil)],
            citations: [Self.citation(off)], mode: .hybrid, answer: nil
        )
        #expect(bad.coverage == 0.5 && bad.agreement == 0 && bad.answerCoverage == nil)
        #expect(bad.confidence < AbstentionPolicy.defaultThreshold)
        // Another model's cosine has another scale: its queries are judged on the words alone.
        let strong = [Self.hit(off, dense: 0.9, lexical: nil)]
        let calibrated = AnswerEvidence.assess(question: "What is the capital of France?", hits: strong, citations: [Self.citation(off)], mode: .hybrid, answer: nil)
        let other = AnswerEvidence.assess(
            question: "What is the capital of France?", hits: strong, citations: [Self.citation(off)], mode: .hybrid, answer: nil, model: "other-model"
        )
        #expect(calibrated.confidence > AbstentionPolicy.defaultThreshold && other.confidence < AbstentionPolicy.defaultThreshold)
        #expect(other.denseSimilarity == calibrated.denseSimilarity)
        // Diacritics do not keep a question from its passage.
        #expect(AnswerEvidence.assess(
            question: "Beyonce albums", hits: [], citations: [Self.citation("Beyoncé released albums.")], mode: .lexical, answer: nil
        ).coverage == 1)
        // Nothing retrieved, or a question of stop words only: no confidence at all.
        #expect(AnswerEvidence.assess(question: question, hits: [], citations: [], mode: .hybrid, answer: nil).confidence == 0)
        #expect(AnswerEvidence.assess(question: "what is it", hits: [], citations: [Self.citation(passage)], mode: .hybrid, answer: nil).confidence == 0)
    }

    @Test func sentenceCoverageWeighsAQuestionsWordsByTheirRarityAmongThePassagesSentences() {
        // "alpha" is in both sentences, "gamma" in one: gamma weighs log(1 + 2/1.5), alpha log(1 + 2/2.5).
        let passage = "Alpha beta gamma delta. Alpha beta epsilon zeta."
        let alpha = log(1 + 2 / 2.5), gamma = log(1 + 2 / 1.5)
        let assess = { (answer: String?) in
            AnswerEvidence.assess(question: "Alpha gamma?", hits: [], citations: [Self.citation(passage)], mode: .lexical, answer: answer)
        }
        // The answer's best sentence lacks the rarer word: it covers less than the unweighted half.
        let missing = assess("Alpha beta epsilon zeta. [1]")
        #expect(missing.answerCoverage == 0.5 && missing.coverage == 1)
        #expect(abs(missing.sentenceCoverage - alpha / (alpha + gamma)) < 1e-12)
        // An answer of both sentences is judged by its best one, which has both words.
        #expect(assess("Alpha beta epsilon zeta. [1] Alpha beta gamma delta. [1]").sentenceCoverage == 1)
        // Without an answer, the passages' best sentence.
        #expect(assess(nil).sentenceCoverage == 1)
        // A word no sentence has weighs most: log(1 + 2/0.5) against alpha's.
        let absent = AnswerEvidence.assess(question: "alpha omega", hits: [], citations: [Self.citation(passage)], mode: .lexical, answer: nil)
        let omega = log(1 + 2 / 0.5)
        #expect(abs(absent.sentenceCoverage - alpha / (alpha + omega)) < 1e-12 && absent.coverage == 0.5)
        // Fragments of fewer than four words (a heading) are not sentences.
        #expect(AnswerEvidence.assess(question: "alpha", hits: [], citations: [Self.citation("Alpha beta\n\nGamma delta epsilon zeta.")], mode: .lexical, answer: nil).sentenceCoverage == 0)
    }

    @Test func nameCoverageIsTheShareOfTheQuestionsNamesAndNumbersInTheBestPassage() {
        #expect(AnswerEvidence.names(of: "When did Beyoncé's label release Lemonade in 2016?") == ["beyonce", "lemonade", "2016"])
        #expect(AnswerEvidence.names(of: "Where is Cergy-Pontoise?") == ["cergy", "pontoise"])
        #expect(AnswerEvidence.names(of: "Which console came first?").isEmpty)
        let passage = "Nintendo revealed the console at E3 in 2005."
        let assess = { (question: String) in
            AnswerEvidence.assess(question: question, hits: [], citations: [Self.citation(passage)], mode: .lexical, answer: nil)
        }
        // A swapped year: every content word but one is there, one name of three is not.
        let swapped = assess("What did Nintendo reveal at E3 in 2006?")
        #expect(abs(swapped.nameCoverage - 2.0 / 3) < 1e-12 && swapped.coverage == 0.75)
        #expect(assess("What did Nintendo reveal at E3 in 2005?").nameCoverage == 1)
        // A question that names nothing has nothing to miss.
        #expect(assess("What was revealed?").nameCoverage == 1)
        // The passage judged is the one that best covers the question, not any passage.
        let other = Self.citation("Sega showed a console in 2006 at a trade show in Tokyo.")
        let two = AnswerEvidence.assess(
            question: "What did Nintendo reveal at E3 in 2006?", hits: [], citations: [Self.citation(passage), other], mode: .lexical, answer: nil
        )
        #expect(abs(two.nameCoverage - 2.0 / 3) < 1e-12)
    }

    @Test func theConfidenceWeighsTheSentenceAndNameCoverages() {
        let weights = AnswerEvidence.Weights(
            bias: -1, dense: 0, coverage: 0, answerCoverage: 0, agreement: 0, sentenceCoverage: 2, nameCoverage: 3, lexicalBias: 0,
            lexicalCoverage: 0, lexicalAnswerCoverage: 0, denseModel: "m"
        )
        let passage = "Nintendo revealed the console at E3 in 2005."
        let evidence = AnswerEvidence.assess(
            question: "What did Nintendo reveal at E3 in 2006?", hits: [Self.hit(passage, dense: 0.5, lexical: 1)], citations: [Self.citation(passage)],
            mode: .hybrid, answer: nil, model: "m", weights: weights
        )
        let z = -1 + 2 * evidence.sentenceCoverage + 3 * evidence.nameCoverage
        #expect(evidence.sentenceCoverage < 1 && abs(evidence.confidence - 1 / (1 + exp(-z))) < 1e-12)
    }

    @Test func theRetrieverAbstainsBelowTheThresholdAndNeverPresentsItAsGrounded() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let store = try SQLiteChunkStore(directory: directory.url)
        let embedder = HashingEmbedder()
        try directory.write("The lighthouse keeper trims the wick every evening at dusk.", to: "docs/keeper.txt")
        _ = try await FolderIngestor(store: store, embedder: embedder).ingest(folder: directory.url.appendingPathComponent("docs"), collection: "default")
        let retriever = Retriever(store: store, embedder: embedder)
        let question = "When does the lighthouse keeper trim the wick?"
        // A threshold of 0 never abstains on evidence; 1 always does.
        let answered = try await retriever.answer(query: question, collection: "default", topK: 3, abstention: AbstentionPolicy(threshold: 0))
        #expect(!answered.abstained && answered.grounded && answered.evidence != nil)
        let withheld = try await retriever.answer(query: question, collection: "default", topK: 3, abstention: AbstentionPolicy(threshold: 1))
        #expect(withheld.abstained && withheld.abstention == .noRelevantPassage && !withheld.grounded)
        #expect(withheld.answer == Retriever.noAnswer && !withheld.citations.isEmpty)
        // `never` answers whatever the evidence, and still reports it.
        let never = try await retriever.answer(
            query: question, collection: "default", topK: 3, abstention: AbstentionPolicy(mode: .never, threshold: 1)
        )
        #expect(!never.abstained && never.grounded && never.evidence?.confidence == answered.evidence?.confidence)
        // A question no sentence shares a word with abstains however low the threshold.
        let unrelated = try await retriever.answer(query: "quantum chromodynamics", collection: "default", topK: 3, abstention: AbstentionPolicy(threshold: 0))
        #expect(unrelated.abstained && !unrelated.grounded)
        await #expect(throws: QuarryError.self) {
            try await retriever.answer(query: question, collection: "default", topK: 3, abstention: AbstentionPolicy(threshold: 1.5))
        }
        await store.close()
    }
}
