import Foundation
import QuarryCore
import QuarryEval
import QuarryTestSupport
import Testing

/// Reading QA files.
@Suite struct QAItemTests {
    @Test func readsLinesSkippingBlankOnes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let file = try directory.write(
            """
            {"id": "q1", "question": "Default mode?", "answers": ["DEFERRED"], "relevant_doc_ids": ["sqlite-docs/lang_transaction.md"]}

            {"id": 7, "question": "Unanswerable?", "answers": [], "relevant_doc_ids": []}
            """, to: "qa.jsonl")
        let items = try QAItem.load(from: file)
        #expect(items == [
            QAItem(id: "q1", question: "Default mode?", answers: ["DEFERRED"], relevantDocIDs: ["sqlite-docs/lang_transaction.md"]),
            QAItem(id: "7", question: "Unanswerable?", answers: [], relevantDocIDs: []),
        ])
    }

    func loadError(_ text: String) throws -> QuarryError {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let file = try directory.write(text, to: "qa.jsonl")
        do {
            _ = try QAItem.load(from: file)
        } catch let error as QuarryError {
            return error
        }
        Issue.record("no error for \(text)")
        return QuarryError(.internal, "")
    }

    @Test func malformedLinesAreNamedByNumber() throws {
        let good = #"{"id": "q1", "question": "Q?", "answers": ["a"], "relevant_doc_ids": []}"#
        let broken = try loadError(good + "\n\n" + #"{"id": "q2", "question": "Q?", "answers": ["a"]"#)
        #expect(broken.code == .invalidRequest)
        #expect(broken.message.contains("qa.jsonl:3:") && broken.message.contains("not valid JSON"))

        let missing = try loadError(#"{"id": "q2", "question": "Q?", "answers": ["a"]}"#)
        #expect(missing.message.contains("qa.jsonl:1:") && missing.message.contains("no \"relevant_doc_ids\""))

        let wrongType = try loadError(good + "\n" + #"{"id": "q2", "question": "Q?", "answers": "a", "relevant_doc_ids": []}"#)
        #expect(wrongType.message.contains("qa.jsonl:2:") && wrongType.message.contains("\"answers\" has the wrong type"))

        let duplicate = try loadError(good + "\n" + good)
        #expect(duplicate.message.contains("qa.jsonl:2:") && duplicate.message.contains("q1"))

        let empty = try loadError("\n\n")
        #expect(empty.message.contains("holds no questions"))
    }

    @Test func theRepositoryQAFileNamesDocumentsOfTheCorpus() throws {
        let root = packageRoot()
        let items = try QAItem.load(from: root.appendingPathComponent("eval/corpus-qa.jsonl"))
        #expect(items.count >= 25)
        let unanswerable = items.filter { $0.answers.isEmpty }
        // Enough questions the corpus cannot answer to score abstention on (issue 14).
        #expect(unanswerable.count >= 10)
        #expect(unanswerable.allSatisfy { $0.relevantDocIDs.isEmpty })
        let scifact = try String(contentsOf: root.appendingPathComponent("corpus/scifact/corpus.jsonl"), encoding: .utf8)
        for item in items {
            #expect(item.answers.isEmpty == item.relevantDocIDs.isEmpty, "\(item.id)")
            for document in item.relevantDocIDs {
                if let hash = document.firstIndex(of: "#") {
                    #expect(document.hasPrefix("scifact/corpus.jsonl#"), "\(item.id): \(document)")
                    #expect(scifact.contains("{\"_id\": \"\(document[document.index(after: hash)...])\""), "\(item.id): \(document)")
                } else {
                    #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("corpus").appendingPathComponent(document).path), "\(item.id): \(document)")
                }
            }
        }
    }
}
