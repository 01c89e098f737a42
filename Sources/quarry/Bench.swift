import ArgumentParser
import Foundation
import QuarryEmbedding

/// `quarry bench …`: measurements that the scripts in Benchmarks/ compare against peers.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (see docs/benchmarks.md).",
        subcommands: [BenchEmbed.self]
    )
}

/// `quarry bench embed`: embedding throughput on BEIR passages at several batch sizes.
struct BenchEmbed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embedding throughput (word pieces/s, passages/s) on BEIR corpus passages, and sgemm GFLOP/s."
    )

    @Option(help: "A BEIR corpus.jsonl; each passage is title + \" \" + text.")
    var passages: String = "corpus/scifact/corpus.jsonl"

    @Option(help: "How many passages (from the start of the file).")
    var limit: Int = 512

    @Option(help: "Comma-separated batch sizes.")
    var batchSizes: String = "1,8,32"

    @Option(help: "BLAS threads.")
    var threads: Int = 2

    @Option(help: "Model folder (default: $QUARRY_MODEL, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Write the results as JSON here.")
    var json: String?

    private struct Passage: Decodable {
        var title: String?
        var text: String
    }

    private struct Report: Encodable {
        var model: String
        var threads: Int
        var sgemmGFLOPS: Double
        var rows: [EmbeddingBenchmark.Row]
        enum CodingKeys: String, CodingKey {
            case model, threads, rows
            case sgemmGFLOPS = "sgemm_2048x384x1536_gflops"
        }
    }

    func run() async throws {
        let sizes = batchSizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--batch-sizes must be positive integers, like 1,8,32")
        }
        let options = try CommonOptions.parse(model.map { ["--model", $0] } ?? [])
        let embedder = try MiniLMEmbedder(modelDirectory: options.modelURL, threads: threads)
        let texts = try readPassages()
        let sgemm = EmbeddingBenchmark.sgemmGFLOPS(threads: threads)
        let rows = try EmbeddingBenchmark.run(embedder: embedder, texts: texts, batchSizes: sizes)
        print("sgemm 2048x384x1536: \(String(format: "%.1f", sgemm)) GFLOP/s (\(threads) threads)")
        print("batch  passages  word pieces  seconds  pieces/s  passages/s  encoder GFLOP/s  of sgemm")
        for row in rows {
            print(
                String(
                    format: "%5d  %8d  %11d  %7.2f  %8.0f  %10.1f  %15.1f  %7.0f%%", row.batchSize, row.passages,
                    row.wordPieces, row.seconds, row.wordPiecesPerSecond, row.passagesPerSecond, row.encoderGFLOPS,
                    100 * row.encoderGFLOPS / sgemm
                )
            )
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let report = Report(model: embedder.model.name, threads: threads, sgemmGFLOPS: sgemm, rows: rows)
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
    }

    private func readPassages() throws -> [String] {
        let text: String
        do {
            text = try String(contentsOfFile: passages, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(passages): \(error.localizedDescription)")
        }
        var result: [String] = []
        for (number, line) in text.split(separator: "\n").enumerated() where result.count < limit {
            guard let passage = try? JSONDecoder().decode(Passage.self, from: Data(line.utf8)) else {
                throw ValidationError("\(passages):\(number + 1): not a BEIR corpus line ({\"title\", \"text\"})")
            }
            result.append([passage.title, passage.text].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " "))
        }
        guard !result.isEmpty else { throw ValidationError("\(passages) has no passages") }
        return result
    }
}
