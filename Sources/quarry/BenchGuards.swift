import ArgumentParser
import Foundation
import QuarryConfig
import QuarryCore
import QuarryGuard
import QuarryRetrieval

/// `quarry bench guards`: what the per-query checks cost — the abstention evidence and the
/// guards (injection scoring of the question and every passage, personal data redacted from
/// every passage and the answer) — next to the one thing every query pays anyway, embedding the
/// question, measured in the same run.
struct BenchGuards: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guards",
        abstract: "Cost of the abstention evidence and the guards per query, against embedding the query."
    )

    @Option(help: "A BEIR corpus.jsonl: its records, cut into passages of about --passage-chars characters.")
    var corpus: String = "corpus/scifact/corpus.jsonl"

    @Option(help: "A BEIR queries.jsonl ({\"_id\", \"text\"} lines).")
    var queries: String = "corpus/scifact/queries.jsonl"

    @Option(help: "Passages each query is given (the service's default top_k is 5).")
    var passagesPerQuery: Int = 5

    @Option(help: "Characters per passage (a 200-word-piece chunk is about 1,000).")
    var passageChars: Int = 1_000

    @Option(help: "Queries to time.")
    var count: Int = 500

    @Option(help: "Model folder (default: $QUARRY_MODEL, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Write the results as JSON here.")
    var json: String?

    private struct Record: Decodable {
        var title: String?
        var text: String
    }

    private struct Report: Encodable {
        var queries: Int
        var passagesPerQuery: Int
        var passageChars: Int
        var evidenceP50US: Double
        var evidenceP99US: Double
        var guardsP50US: Double
        var guardsP99US: Double
        var embedP50US: Double
        var guardsAndEvidenceOverEmbedding: Double
        enum CodingKeys: String, CodingKey {
            case queries
            case passagesPerQuery = "passages_per_query"
            case passageChars = "passage_chars"
            case evidenceP50US = "evidence_p50_us"
            case evidenceP99US = "evidence_p99_us"
            case guardsP50US = "guards_p50_us"
            case guardsP99US = "guards_p99_us"
            case embedP50US = "embed_p50_us"
            case guardsAndEvidenceOverEmbedding = "guards_and_evidence_over_embedding"
        }
    }

    func validate() throws {
        guard (1...100).contains(passagesPerQuery) else { throw ValidationError("--passages-per-query must be 1-100") }
        guard (100...20_000).contains(passageChars) else { throw ValidationError("--passage-chars must be 100-20000") }
        guard count > 0 else { throw ValidationError("--count must be positive") }
    }

    func run() async throws {
        let options = try CommonOptions.parse(model.map { ["--model", $0] } ?? [])
        let embedder = try options.settings().openEmbedder()
        let texts = try queryTexts(queries)
        let passages = try readPassages()
        let location = ChunkLocation(lineStart: 1, lineEnd: 1)
        let textGuard = TextGuard(policy: GuardrailPolicy())
        var evidenceTimes: [Double] = []
        var guardTimes: [Double] = []
        var embedTimes: [Double] = []
        for text in texts.prefix(20) { _ = try await embedder.embed([text]) }  // warm up
        for index in 0..<count {
            let question = texts[index % texts.count]
            let citations = (0..<passagesPerQuery).map { offset in
                Citation(
                    id: offset + 1, document: "d\(offset)", chunkID: "d\(offset)#0",
                    text: passages[(index * passagesPerQuery + offset) % passages.count], score: 0.03, location: location
                )
            }
            let hits = citations.map {
                SearchHit(chunkRowID: Int64($0.id), chunkID: $0.chunkID, document: $0.document, text: $0.text, location: location, score: 0.03, denseScore: 0.5, lexicalScore: 7)
            }
            // An answer of three sentences of the passages, as the extractive answerer writes.
            let answer = citations.prefix(3).map { (SentenceSplitter.split($0.text).first ?? $0.text) + " [\($0.id)]" }.joined(separator: " ")

            let embedStart = ContinuousClock.now
            _ = try await embedder.embed([question])
            embedTimes.append(Self.microseconds(ContinuousClock.now - embedStart))

            let evidenceStart = ContinuousClock.now
            // As a query does: the passages read once, assessed before the answer and after it.
            let reading = AnswerEvidence.Reading(question: question, citations: citations)
            let before = AnswerEvidence.assess(
                question: question, hits: hits, citations: citations, mode: .hybrid, answer: nil, model: embedder.model.name, reading: reading
            )
            let after = AnswerEvidence.assess(
                question: question, hits: hits, citations: citations, mode: .hybrid, answer: answer, model: embedder.model.name, reading: reading
            )
            evidenceTimes.append(Self.microseconds(ContinuousClock.now - evidenceStart))

            let guardStart = ContinuousClock.now
            let questionFlag = textGuard.checkQuestion(question)
            let passageFlags = textGuard.checkPassages(citations)
            let redacted = citations.map { textGuard.redactPersonalData($0.text).text }
            let shown = textGuard.redactPersonalData(answer).text
            guardTimes.append(Self.microseconds(ContinuousClock.now - guardStart))
            // Keep the work from being optimised away.
            if before.confidence < -1 || after.confidence < -1 || questionFlag?.score == -1 || passageFlags.flagged.contains(-1)
                || redacted.count < 0 || shown.isEmpty && answer.count < 0
            {
                print("")
            }
        }
        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int(p * Double(sorted.count)))]
        }
        let report = Report(
            queries: count, passagesPerQuery: passagesPerQuery, passageChars: passageChars,
            evidenceP50US: percentile(evidenceTimes, 0.5), evidenceP99US: percentile(evidenceTimes, 0.99),
            guardsP50US: percentile(guardTimes, 0.5), guardsP99US: percentile(guardTimes, 0.99), embedP50US: percentile(embedTimes, 0.5),
            guardsAndEvidenceOverEmbedding: (percentile(evidenceTimes, 0.5) + percentile(guardTimes, 0.5)) / percentile(embedTimes, 0.5)
        )
        print(
            String(
                format: "per query (%d passages of ~%d chars): evidence p50 %.0f µs (p99 %.0f), guards p50 %.0f µs (p99 %.0f); "
                    + "embedding the query p50 %.0f µs; evidence + guards = %.3f× the embedding",
                passagesPerQuery, passageChars, report.evidenceP50US, report.evidenceP99US, report.guardsP50US, report.guardsP99US,
                report.embedP50US, report.guardsAndEvidenceOverEmbedding
            )
        )
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
    }

    /// The corpus's records (title and text), cut at sentence ends into passages of about
    /// `passageChars` characters.
    private func readPassages() throws -> [String] {
        let text: String
        do {
            text = try String(contentsOfFile: corpus, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(corpus): \(error.localizedDescription)")
        }
        var passages: [String] = []
        for (number, line) in text.split(separator: "\n").enumerated() where passages.count < 20_000 {
            guard let record = try? JSONDecoder().decode(Record.self, from: Data(line.utf8)) else {
                throw ValidationError("\(corpus):\(number + 1): not a BEIR corpus line ({\"title\", \"text\"})")
            }
            var current = record.title.map { $0 + ". " } ?? ""
            for sentence in SentenceSplitter.split(record.text) {
                if current.count + sentence.count > passageChars, !current.isEmpty {
                    passages.append(current)
                    current = ""
                }
                current += (current.isEmpty ? "" : " ") + sentence
            }
            if !current.isEmpty { passages.append(current) }
        }
        guard !passages.isEmpty else { throw ValidationError("\(corpus) has no passages") }
        return passages
    }

    static func microseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1e6 + Double(attoseconds) / 1e12
    }
}
