import ArgumentParser
import Foundation
import QuarryGuard

/// `quarry guard pii [FILE]`: find or redact personal data in a text, or in JSON lines of
/// `{"text": …}` objects (other fields pass through), read from FILE or standard input.
struct GuardPII: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pii",
        abstract: "Find or redact personal data (e-mail, phone, card, IBAN, US SSN, IP address) in text.",
        discussion: """
            Without --jsonl the whole input is one text; the output is one JSON line {"findings": [...]}, or with \
            --redact the text with each finding replaced by a placeholder such as [EMAIL]. With --jsonl each input \
            line is a JSON object with a string field "text"; each output line is that object plus "findings" \
            (and with --redact its "text" redacted). A finding is {"entity", "start", "end", "score", "text"}: \
            offsets count Unicode code points, end exclusive. Findings hold the personal data itself.
            """
    )

    @Argument(help: "The file to read (default: standard input).") var file: String?
    @Flag(help: "Read JSON lines of {\"text\": ...} objects.") var jsonl = false
    @Flag(help: "Write the redacted text instead of the findings.") var redact = false
    @Option(help: "Comma-separated kinds to look for: \(PIIEntity.allCases.map(\.rawValue).joined(separator: ",")) (default: all).")
    var entities: String?
    @Option(help: "Drop findings scoring below this (0-1).") var minScore: Double = 0.5

    func validate() throws {
        guard (0...1).contains(minScore) else { throw ValidationError("--min-score must be between 0 and 1") }
        _ = try selectedEntities()
    }

    func run() async throws {
        let detector = PIIDetector(entities: try selectedEntities(), minimumScore: minScore)
        let input = try readInput()
        if jsonl {
            try scanLines(input, with: detector)
        } else if redact {
            FileHandle.standardOutput.write(Data(detector.redact(input).text.utf8))
        } else {
            try writeLine(["findings": detector.findings(in: input).map(Self.json)])
        }
    }

    private func selectedEntities() throws -> Set<PIIEntity> {
        guard let entities else { return Set(PIIEntity.allCases) }
        var selected = Set<PIIEntity>()
        for name in entities.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let entity = PIIEntity(rawValue: name) else {
                throw ValidationError("--entities: unknown kind '\(name)'; known: \(PIIEntity.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            selected.insert(entity)
        }
        guard !selected.isEmpty else { throw ValidationError("--entities names no kind") }
        return selected
    }

    private func readInput() throws -> String {
        let data: Data
        if let file {
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw ValidationError("cannot read \(file): \(error.localizedDescription)")
            }
        } else {
            data = FileHandle.standardInput.readDataToEndOfFile()
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("\(file ?? "standard input") is not UTF-8 text")
        }
        return text
    }

    private func scanLines(_ input: String, with detector: PIIDetector) throws {
        for (index, line) in input.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy(\.isWhitespace) { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let text = object["text"] as? String else {
                throw ValidationError("line \(index + 1): expected a JSON object with a string field \"text\"")
            }
            var output = object
            if redact {
                let (redacted, findings) = detector.redact(text)
                output["text"] = redacted
                output["findings"] = findings.map(Self.json)
            } else {
                output["findings"] = detector.findings(in: text).map(Self.json)
            }
            try writeLine(output)
        }
    }

    private func writeLine(_ object: [String: Any]) throws {
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        data.append(0x0A)
        FileHandle.standardOutput.write(data)
    }

    private static func json(_ finding: PIIFinding) -> [String: Any] {
        [
            "entity": finding.entity.rawValue, "start": finding.start, "end": finding.end,
            "score": (finding.score * 1000).rounded() / 1000, "text": finding.text,
        ]
    }
}
