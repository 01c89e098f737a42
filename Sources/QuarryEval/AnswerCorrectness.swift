/// How close an answer is to the reference answers, as SQuAD's evaluation script computes it:
/// token F1 and exact match over normalised text.
///
/// An answer's citation markers are removed before it is scored (`FaithfulnessScorer` does
/// that), and an abstention answers "".
public enum AnswerCorrectness {
    /// SQuAD's normalisation: lower-cased, ASCII punctuation removed (not replaced by a space),
    /// the articles a, an, the removed, white space collapsed.
    public static func normalized(_ text: String) -> String {
        let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
        let lowered = String(text.lowercased().filter { !punctuation.contains($0) })
        return lowered.split(whereSeparator: \.isWhitespace).filter { !["a", "an", "the"].contains($0) }.joined(separator: " ")
    }

    /// The best token F1 of `prediction` over `references`, as SQuAD computes it: the harmonic mean
    /// of the precision and recall of the normalised tokens shared (with multiplicity). With no
    /// reference (an unanswerable question), 1 when the prediction is empty, else 0; an empty
    /// prediction or reference scores 1 only against an empty other.
    public static func f1(_ prediction: String, references: [String]) -> Double {
        let predicted = normalized(prediction).split(separator: " ").map(String.init)
        let references = references.isEmpty ? [""] : references
        return references.map { reference in
            let expected = normalized(reference).split(separator: " ").map(String.init)
            if predicted.isEmpty || expected.isEmpty { return predicted == expected ? 1 : 0 }
            var counts: [String: Int] = [:]
            for token in expected { counts[token, default: 0] += 1 }
            var shared = 0
            for token in predicted where counts[token, default: 0] > 0 {
                counts[token, default: 0] -= 1
                shared += 1
            }
            guard shared > 0 else { return 0 }
            let precision = Double(shared) / Double(predicted.count), recall = Double(shared) / Double(expected.count)
            return 2 * precision * recall / (precision + recall)
        }.max() ?? 0
    }

    /// 1 when the normalised prediction equals a normalised reference (with no reference: when
    /// the prediction is empty), else 0.
    public static func exactMatch(_ prediction: String, references: [String]) -> Double {
        let predicted = normalized(prediction)
        return (references.isEmpty ? [""] : references).contains { normalized($0) == predicted } ? 1 : 0
    }
}
