import Foundation
import QuarryCore

/// A dataset in BEIR form: `corpus.jsonl` (`{"_id", "title", "text"}` lines), `queries.jsonl`
/// (`{"_id", "text"}` lines) and `qrels/<split>.tsv` (`query-id  corpus-id  score`, with a header).
public struct BEIRDataset: Sendable {
    /// The dataset folder.
    public let folder: URL
    /// The qrels split.
    public let split: String
    /// Query id → text, for the queries that have judgements in `split` (as BEIR evaluates: a
    /// query judged with no relevant document counts, and scores 0).
    public let queries: [(id: String, text: String)]
    /// The judgements of `split`.
    public let qrels: Qrels

    /// The corpus file.
    public var corpus: URL { folder.appendingPathComponent("corpus.jsonl") }
    /// The dataset's name: its folder's.
    public var name: String { folder.standardizedFileURL.lastPathComponent }

    /// Reads the queries and judgements of `split` from `folder`.
    /// - Parameter limit: evaluate only the first `limit` judged queries (in qrels order).
    /// - Throws: `QuarryError.invalidRequest` naming the file and line of anything malformed.
    public init(folder: URL, split: String = "test", limit: Int? = nil) throws {
        self.folder = folder
        self.split = split
        let qrelsURL = folder.appendingPathComponent("qrels").appendingPathComponent("\(split).tsv")
        for required in [folder.appendingPathComponent("corpus.jsonl"), folder.appendingPathComponent("queries.jsonl"), qrelsURL]
        where !FileManager.default.fileExists(atPath: required.path) {
            throw QuarryError(.invalidRequest, "\(required.path) is missing: a BEIR dataset has corpus.jsonl, queries.jsonl and qrels/\(split).tsv")
        }
        var qrels: Qrels = [:]
        var order: [String] = []
        for (index, line) in try Self.lines(of: qrelsURL).enumerated() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if index == 0, fields.count >= 3, Int(fields[2]) == nil { continue }  // the header
            guard fields.count >= 3, let grade = Int(fields[fields.count - 1]) else {
                throw QuarryError(.invalidRequest, "\(qrelsURL.path):\(index + 1): expected query-id, corpus-id, score separated by tabs")
            }
            // TREC form has an iteration column: query 0 doc grade.
            let query = fields[0], document = fields[fields.count - 2]
            if qrels[query] == nil { order.append(query) }
            qrels[query, default: [:]][document] = grade
        }
        var texts: [String: String] = [:]
        let queriesURL = folder.appendingPathComponent("queries.jsonl")
        struct QueryLine: Decodable {
            var id: String
            var text: String
            enum CodingKeys: String, CodingKey { case id = "_id", text }
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                if let number = try? c.decode(Int.self, forKey: .id) { id = String(number) } else { id = try c.decode(String.self, forKey: .id) }
                text = try c.decode(String.self, forKey: .text)
            }
        }
        for (index, line) in try Self.lines(of: queriesURL).enumerated() {
            let query: QueryLine
            do {
                query = try JSONDecoder().decode(QueryLine.self, from: Data(line.utf8))
            } catch {
                let reason = (error as? DecodingError)?.summary ?? "\(error)"
                throw QuarryError(
                    .invalidRequest, "\(queriesURL.path):\(index + 1): expected {\"_id\", \"text\"} (\(reason))", underlying: error
                )
            }
            texts[query.id] = query.text
        }
        var queries: [(id: String, text: String)] = []
        for id in order {
            guard let text = texts[id] else {
                throw QuarryError(.invalidRequest, "query \(id) of \(qrelsURL.lastPathComponent) is not in queries.jsonl")
            }
            queries.append((id, text))
        }
        if let limit { queries = Array(queries.prefix(max(0, limit))) }
        let kept = Set(queries.map(\.id))
        self.qrels = qrels.filter { kept.contains($0.key) }
        self.queries = queries
    }

    private static func lines(of url: URL) throws -> [String] {
        do {
            return try String(contentsOf: url, encoding: .utf8).split(whereSeparator: \.isNewline).map(String.init)
                .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        } catch {
            throw QuarryError(.invalidRequest, "cannot read \(url.path)", underlying: error)
        }
    }
}
