import ArgumentParser
import Foundation
import QuarryGuard

/// `quarry guard injection [FILE]`: score text for prompt injection.
struct GuardInjection: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "injection",
        abstract: "Score text for prompt injection; print {\"score\", \"flagged\", \"signals\"} as JSON.",
        discussion: """
            Reads FILE, or standard input, as one text. With --jsonl, reads JSON lines of \
            {"text": ...} objects and writes each back with "score", "flagged" and "signals" added \
            (other fields pass through unchanged). The scorer is described in docs/guardrails-injection.md.
            """
    )

    @Argument(help: "A file to read (default: standard input).")
    var file: String?

    @Flag(help: "Read JSON lines of {\"text\": ...} objects instead of one text.")
    var jsonl = false

    @Option(help: "The score, 0…1, at which a text is flagged.")
    var threshold: Double = InjectionScorer.defaultThreshold

    @Flag(help: "Print the time spent scoring (not reading or writing) to standard error.")
    var timing = false

    func validate() throws {
        guard threshold.isFinite, (0...1).contains(threshold) else {
            throw ValidationError("--threshold must be a number from 0 to 1, not \(threshold)")
        }
    }

    func run() async throws {
        let scorer = InjectionScorer(threshold: threshold)
        let input = try readInput()
        var clock = ScoringClock()
        var out = ""
        if jsonl {
            var lineNumber = 0
            for line in input.split(separator: "\n", omittingEmptySubsequences: false) {
                lineNumber += 1
                let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
                if trimmed.isEmpty { continue }
                let object: (text: String, fields: [String: Any])
                do { object = try Self.object(in: trimmed, line: lineNumber) } catch {
                    FileHandle.standardOutput.write(Data(out.utf8))  // the lines before the bad one
                    throw error
                }
                let found = clock.measure(bytes: object.text.utf8.count) { scorer.assess(object.text) }
                out += try Self.annotate(trimmed, fields: object.fields, with: found) + "\n"
                if out.utf8.count > 1 << 16 {
                    FileHandle.standardOutput.write(Data(out.utf8))
                    out = ""
                }
            }
        } else {
            let found = clock.measure(bytes: input.utf8.count) { scorer.assess(input) }
            out = try Self.json(found) + "\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
        if timing { printError(clock.summary) }
    }

    private func readInput() throws -> String {
        let data: Data
        if let file {
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw ValidationError("cannot read \(file): no such file, or not readable")
            }
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
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

    /// The added fields, as JSON: `{"score":…,"flagged":…,"signals":[…]}`.
    private static func json(_ found: InjectionAssessment) throws -> String {
        let rounded = InjectionAssessment(
            score: (found.score * 10_000).rounded() / 10_000, flagged: found.flagged, signals: found.signals
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(rounded), as: UTF8.self)
    }

    private static let addedKeys: Set<String> = ["score", "flagged", "signals"]

    /// Reads one JSON line: its text and its fields.
    private static func object(in line: String, line number: Int) throws -> (text: String, fields: [String: Any]) {
        let parsed = try? JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
        guard let fields = parsed as? [String: Any] else {
            throw ValidationError("line \(number): expected a JSON object like {\"text\": \"...\"}")
        }
        guard let text = fields["text"] as? String else {
            throw ValidationError("line \(number): expected a string field \"text\"")
        }
        return (text, fields)
    }

    /// `line` with the assessment's fields added: spliced in before the closing brace, so every
    /// other field passes through byte for byte; rebuilt only when the line already has one of
    /// the added keys (re-scoring an earlier output), which are replaced.
    private static func annotate(_ line: String, fields: [String: Any], with found: InjectionAssessment) throws -> String {
        let added = try json(found)
        if fields.keys.contains(where: addedKeys.contains) {
            var merged = fields
            for key in addedKeys { merged[key] = nil }
            let rest = try JSONSerialization.data(withJSONObject: merged, options: [.withoutEscapingSlashes])
            return splice(String(decoding: rest, as: UTF8.self), added)
        }
        return splice(line, added)
    }

    /// `object` and `added` (both JSON objects) as one object.
    private static func splice(_ object: String, _ added: String) -> String {
        let body = object.dropFirst().dropLast()
        let extra = added.dropFirst().dropLast()
        return body.allSatisfy(\.isWhitespace) ? "{\(extra)}" : "{\(body),\(extra)}"
    }
}

/// The time spent inside the scorer, for `--timing`.
private struct ScoringClock {
    private var elapsed = Duration.zero
    private var texts = 0
    private var bytes = 0

    mutating func measure<T>(bytes count: Int, _ work: () -> T) -> T {
        let start = ContinuousClock.now
        let result = work()
        elapsed += ContinuousClock.now - start
        texts += 1
        bytes += count
        return result
    }

    var summary: String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let perKB = bytes > 0 ? seconds * 1e6 / (Double(bytes) / 1024) : 0
        let perText = texts > 0 ? seconds * 1e6 / Double(texts) : 0
        return String(
            format: "scored %d texts (%d bytes) in %.1f ms: %.1f µs per text, %.1f µs per KB",
            texts, bytes, seconds * 1e3, perText, perKB
        )
    }
}
