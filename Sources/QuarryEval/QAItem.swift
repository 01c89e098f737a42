import Foundation
import QuarryCore

/// One question of a QA file: JSON lines
/// `{"id", "question", "answers": [...], "relevant_doc_ids": [...]}`.
///
/// `answers` are short reference answers (empty for a question the corpus cannot answer);
/// `relevant_doc_ids` are the documents that answer it, as Quarry stores them
/// (`sqlite-docs/wal.md`, `scifact/corpus.jsonl#4983`) or just the part after `#`.
public struct QAItem: Codable, Sendable, Equatable {
    /// The question's id (a JSON string or number).
    public var id: String
    /// The question as a user would ask it.
    public var question: String
    /// Reference answers; empty when the corpus cannot answer the question.
    public var answers: [String]
    /// Documents that answer the question.
    public var relevantDocIDs: [String]

    /// Creates an item.
    public init(id: String, question: String, answers: [String], relevantDocIDs: [String]) {
        self.id = id
        self.question = question
        self.answers = answers
        self.relevantDocIDs = relevantDocIDs
    }

    enum CodingKeys: String, CodingKey {
        case id, question, answers
        case relevantDocIDs = "relevant_doc_ids"
    }

    /// Decodes an item; `id` may be a JSON string or number.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let number = try? c.decode(Int.self, forKey: .id) { id = String(number) } else { id = try c.decode(String.self, forKey: .id) }
        question = try c.decode(String.self, forKey: .question)
        answers = try c.decode([String].self, forKey: .answers)
        relevantDocIDs = try c.decode([String].self, forKey: .relevantDocIDs)
    }

    /// Reads a QA file: one JSON object per line; blank lines are skipped.
    /// - Throws: `QuarryError.invalidRequest` naming the file and line of a malformed line, an
    ///   empty question or a repeated id, or a file without questions; `.unreadableInput` when the
    ///   file cannot be read.
    public static func load(from url: URL) throws -> [QAItem] {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw QuarryError(.unreadableInput, "cannot read the QA file \(url.path)", underlying: error)
        }
        var items: [QAItem] = []
        var seen: Set<String> = []
        // Split on "\n" only, so that the line numbers are the ones an editor shows.
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingWhitespace()
            guard !line.isEmpty else { continue }
            let place = "\(url.path):\(index + 1)"
            let item: QAItem
            do {
                item = try JSONDecoder().decode(QAItem.self, from: Data(line.utf8))
            } catch {
                throw QuarryError(
                    .invalidRequest,
                    "\(place): expected {\"id\", \"question\", \"answers\": [strings], \"relevant_doc_ids\": [strings]} (\(describe(error)))",
                    underlying: error
                )
            }
            guard !item.question.trimmingWhitespace().isEmpty else {
                throw QuarryError(.invalidRequest, "\(place): question \(item.id) is empty")
            }
            guard seen.insert(item.id).inserted else {
                throw QuarryError(.invalidRequest, "\(place): the id \(item.id) is used by an earlier question")
            }
            items.append(item)
        }
        guard !items.isEmpty else { throw QuarryError(.invalidRequest, "\(url.path) holds no questions") }
        return items
    }

    private static func describe(_ error: any Error) -> String {
        (error as? DecodingError)?.summary ?? "\(error)"
    }
}
