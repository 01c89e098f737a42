import Foundation
@testable import QuarryRetrieval
import Testing

@Suite struct AnswerCheckTests {
    @Test func everySentenceMustCiteAGivenSource() {
        let good = AnswerCheck.check("WAL lets readers work [1]. Checkpoints copy pages [2][1].", sourceCount: 2)
        #expect(good.fullyCited)
        #expect(good.citedSources == [1, 2])
        #expect(good.sentences == 2)

        let bad = AnswerCheck.check("WAL lets readers work [1]. It is fast. Pages move [3].", sourceCount: 2)
        #expect(!bad.fullyCited)
        #expect(bad.invalidCitations == [3])
        #expect(bad.uncitedSentences == ["It is fast.", "Pages move [3]."])
    }

    @Test func aCitationAfterTheFullStopBelongsToItsSentence() {
        let check = AnswerCheck.check("WAL lets readers work. [1] Checkpoints copy pages. [2]", sourceCount: 2)
        #expect(check.fullyCited, "\(check)")
        #expect(check.sentences == 2)
    }

    @Test func listItemsAreSentencesAndLabelsAreNot() {
        let check = AnswerCheck.check("Answer:\n- WAL lets readers work [1]\n- Checkpoints copy pages", sourceCount: 1)
        #expect(check.sentences == 2)
        #expect(check.uncitedSentences == ["- Checkpoints copy pages"])
        #expect(!AnswerCheck.check("", sourceCount: 3).fullyCited)
    }
}
