import ArgumentParser
import Foundation
import QuarryRetrieval

/// `quarry bench semantic-cache`: how often a semantic answer cache would answer with another
/// question's answer (false hits) and how many paraphrases it would still serve (hits), by the
/// cosine of the two questions' embeddings alone and with `QuestionMatch`'s checks.
struct BenchSemanticCache: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "semantic-cache",
        abstract: "Semantic cache hit and false-hit rates on labelled question pairs, by cosine alone and with QuestionMatch's checks."
    )

    @Option(help: "PAWS pairs ({\"a\", \"b\", \"paraphrase\", \"source\", \"id\"} lines; Benchmarks/semantic-cache/fetch.sh writes them).")
    var pairs: String = ".bench/semantic-cache/pairs.jsonl"

    @Option(help: "Hand-written question pairs, in the same form.")
    var questions: String = "Benchmarks/semantic-cache/questions.jsonl"

    @Option(help: "Model folder (default: $QUARRY_MODEL, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Keep the cosines here: read them if the file exists (no embedding), else write them after embedding.")
    var cosines: String?

    @Option(help: "Write the results as JSON here.")
    var json: String?

    @Option(help: "Write the non-paraphrases served at the default threshold here, one JSON object a line, to read what gets through.")
    var falseHits: String?

    struct Pair: Decodable {
        var a: String
        var b: String
        var paraphrase: Bool
        var source: String
        var id: Int
    }

    struct Rates: Encodable {
        var threshold: Double
        var hitRate: Double
        var falseHitRate: Double
        var checkedHitRate: Double
        var checkedFalseHitRate: Double
        enum CodingKeys: String, CodingKey {
            case threshold
            case hitRate = "cosine_hit_rate"
            case falseHitRate = "cosine_false_hit_rate"
            case checkedHitRate = "checked_hit_rate"
            case checkedFalseHitRate = "checked_false_hit_rate"
        }
    }

    struct Split: Encodable {
        var source: String
        var paraphrases: Int
        var negatives: Int
        var rates: [Rates]
        /// Mismatch reasons over all pairs of the split, and over those at or above the default
        /// threshold, for paraphrases and for negatives.
        var reasons: [String: [String: Int]]
    }

    struct Report: Encodable {
        var model: String
        var defaultSimilarity: Double
        var mismatchMicrosecondsPerPair: Double
        var splits: [Split]
        enum CodingKeys: String, CodingKey {
            case model, splits
            case defaultSimilarity = "default_similarity"
            case mismatchMicrosecondsPerPair = "mismatch_us_per_pair"
        }
    }

    func run() async throws {
        let all = try Self.read(pairs) + Self.read(questions)
        let (modelName, similarity) = try cosinesOf(all)

        let start = ContinuousClock.now
        let reasons = all.map { QuestionMatch.mismatch(cached: $0.a, candidate: $0.b) }
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        let microsecondsPerPair = (Double(seconds) * 1e6 + Double(attoseconds) / 1e12) / Double(max(1, all.count))

        let thresholds = (80...98).map { Double($0) / 100 }
        let defaultThreshold = Double(QuestionMatch.defaultSimilarity)
        var splits: [Split] = []
        var sources: [String] = []
        for pair in all where !sources.contains(pair.source) { sources.append(pair.source) }
        for source in sources {
            let members = all.indices.filter { all[$0].source == source }
            let positives = members.filter { all[$0].paraphrase }
            let negatives = members.filter { !all[$0].paraphrase }
            func share(_ indices: [Int], _ threshold: Double, checked: Bool) -> Double {
                let kept = indices.filter { Double(similarity[$0]) >= threshold - 1e-6 && (!checked || reasons[$0] == nil) }
                return Double(kept.count) / Double(max(1, indices.count))
            }
            let rates = thresholds.map { t in
                Rates(
                    threshold: t, hitRate: share(positives, t, checked: false), falseHitRate: share(negatives, t, checked: false),
                    checkedHitRate: share(positives, t, checked: true), checkedFalseHitRate: share(negatives, t, checked: true)
                )
            }
            var counts: [String: [String: Int]] = [:]
            for index in members {
                let label = all[index].paraphrase ? "paraphrase" : "negative"
                let reason = reasons[index]?.rawValue ?? "none"
                counts["all_\(label)", default: [:]][reason, default: 0] += 1
                if Double(similarity[index]) >= defaultThreshold - 1e-6 {
                    counts["at_default_\(label)", default: [:]][reason, default: 0] += 1
                }
            }
            splits.append(Split(source: source, paraphrases: positives.count, negatives: negatives.count, rates: rates, reasons: counts))
        }

        print(String(format: "%@; QuestionMatch %.1f µs a pair; default threshold %.2f", modelName, microsecondsPerPair, defaultThreshold))
        for split in splits {
            print("\n\(split.source): \(split.paraphrases) paraphrases, \(split.negatives) negatives")
            print("threshold  hit (cosine)  false hit (cosine)  hit (checked)  false hit (checked)")
            for row in split.rates {
                print(
                    String(
                        format: "%9.2f  %11.1f%%  %17.1f%%  %12.1f%%  %18.2f%%%@", row.threshold, 100 * row.hitRate, 100 * row.falseHitRate,
                        100 * row.checkedHitRate, 100 * row.checkedFalseHitRate, abs(row.threshold - defaultThreshold) < 1e-6 ? "  <- default" : ""
                    )
                )
            }
            for key in split.reasons.keys.sorted() {
                let counts = split.reasons[key, default: [:]]
                print("  \(key): " + counts.keys.sorted().map { "\($0) \(counts[$0, default: 0])" }.joined(separator: ", "))
            }
        }
        // The lowest threshold with at most 1 % false hits on each split a threshold may be chosen on.
        for split in splits where split.source != "paws-wiki-test" {
            if let row = split.rates.first(where: { $0.checkedFalseHitRate <= 0.01 }) {
                print(String(format: "%@: lowest threshold with false hits ≤ 1%% (checked): %.2f", split.source, row.threshold))
            }
        }

        if let falseHits {
            var lines = ""
            for index in all.indices where !all[index].paraphrase && reasons[index] == nil && Double(similarity[index]) >= defaultThreshold - 1e-6 {
                let line: [String: String] = ["source": all[index].source, "a": all[index].a, "b": all[index].b, "cosine": String(similarity[index])]
                let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes])
                lines += String(decoding: data, as: UTF8.self) + "\n"
            }
            try lines.write(to: URL(fileURLWithPath: falseHits), atomically: true, encoding: .utf8)
            print("wrote \(falseHits)")
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let report = Report(model: modelName, defaultSimilarity: defaultThreshold, mismatchMicrosecondsPerPair: microsecondsPerPair, splits: splits)
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }

    /// The cosine of each pair's two embeddings, from `--cosines` when that file exists, else by
    /// embedding every distinct text once.
    private func cosinesOf(_ all: [Pair]) throws -> (model: String, cosines: [Float]) {
        if let cosines, FileManager.default.fileExists(atPath: cosines) {
            let values = try String(contentsOfFile: cosines, encoding: .utf8).split(separator: "\n").map { line -> Float in
                guard let value = Float(line) else { throw ValidationError("\(cosines): not a number: \(line)") }
                return value
            }
            guard values.count == all.count else {
                throw ValidationError("\(cosines) has \(values.count) cosines for \(all.count) pairs; delete it to embed again")
            }
            return ("(cosines read from \(cosines))", values)
        }
        let options = try CommonOptions.parse(model.map { ["--model", $0] } ?? [])
        let embedder = try options.settings().openEmbedder()
        var texts: [String] = []
        var position: [String: Int] = [:]
        for pair in all {
            for text in [pair.a, pair.b] where position[text] == nil {
                position[text] = texts.count
                texts.append(text)
            }
        }
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        let batch = 256
        for start in stride(from: 0, to: texts.count, by: batch) {
            vectors += try embedder.embedBatch(Array(texts[start..<min(texts.count, start + batch)]))
            FileHandle.standardError.write(Data("\rembedded \(vectors.count)/\(texts.count)".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let values = all.map { pair -> Float in
            let (x, y) = (vectors[position[pair.a, default: 0]], vectors[position[pair.b, default: 0]])
            var dot: Float = 0
            var xx: Float = 0
            var yy: Float = 0
            for i in x.indices {
                dot += x[i] * y[i]
                xx += x[i] * x[i]
                yy += y[i] * y[i]
            }
            return dot / max(1e-12, (xx * yy).squareRoot())
        }
        if let cosines {
            try values.map { String($0) }.joined(separator: "\n").write(toFile: cosines, atomically: true, encoding: .utf8)
        }
        return (embedder.model.name, values)
    }

    static func read(_ path: String) throws -> [Pair] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(path): \(error.localizedDescription) (PAWS: run Benchmarks/semantic-cache/fetch.sh)")
        }
        return try text.split(separator: "\n").enumerated().map { number, line in
            do {
                return try JSONDecoder().decode(Pair.self, from: Data(line.utf8))
            } catch {
                throw ValidationError("\(path):\(number + 1): not a pair line ({\"a\", \"b\", \"paraphrase\", \"source\", \"id\"})")
            }
        }
    }
}
