/// Refusing what a configuration does not know: a misspelt setting would otherwise be ignored
/// and its default silently used.
public enum UnknownKeys {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Throws for the first key (in name order) of the object `decoder` reads that is not in `known`.
    /// - Throws: `QuarryError(.invalidRequest)` naming the key's path and the keys known there.
    public static func refuse(in decoder: any Decoder, known: [String]) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !known.contains(key.stringValue) {
            let path = (decoder.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
            throw QuarryError(.invalidRequest, "unknown setting '\(path)' (known here: \(known.sorted().joined(separator: ", ")))")
        }
    }
}
