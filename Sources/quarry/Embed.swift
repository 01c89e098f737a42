import ArgumentParser
import Foundation
import QuarryConfig
import QuarryEmbedding

/// `quarry embed`: JSON lines `{"text": …}` in, `{"text", "embedding"}` lines out.
struct Embed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Embed JSON lines {\"text\": ...} from standard input; write {\"text\", \"embedding\"} lines."
    )

    @Option(help: "Model folder (default: $QUARRY_MODEL, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Texts embedded per batch.")
    var batchSize: Int = 32

    private struct Input: Decodable { var text: String }
    private struct Output: Encodable {
        var text: String
        var embedding: [Float]
    }

    func run() async throws {
        let options = try CommonOptions.parse(model.map { ["--model", $0] } ?? [])
        let embedder = try options.settings().openEmbedder()
        let decoder = JSONDecoder()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var pending: [String] = []
        var lineNumber = 0

        func flush() throws {
            guard !pending.isEmpty else { return }
            let vectors = try embedder.embedBatch(pending)
            var out = Data()
            for (text, vector) in zip(pending, vectors) {
                out.append(try encoder.encode(Output(text: text, embedding: vector)))
                out.append(0x0a)
            }
            FileHandle.standardOutput.write(out)
            pending.removeAll(keepingCapacity: true)
        }

        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            if line.allSatisfy(\.isWhitespace) { continue }
            do {
                pending.append(try decoder.decode(Input.self, from: Data(line.utf8)).text)
            } catch {
                throw ValidationError("line \(lineNumber): expected a JSON object with a string field \"text\"")
            }
            if pending.count >= max(1, batchSize) { try flush() }
        }
        try flush()
    }
}
