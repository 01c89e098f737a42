import Foundation

/// Document permissions: a document's access list names the principals that may see it
/// (`user:ana`, `group:legal`, or `public` for every key of its tenant). A document without a
/// list is visible to every key of its tenant, as one whose list is `public`.
public enum AccessList {
    /// The metadata key (front matter, JSONL `metadata`, HTML `<meta name>`) that sets a
    /// document's list.
    public static let metadataKey = "access"
    /// The principal every key has.
    public static let everyone = "public"

    /// The principals of a list written as text: `group:legal, user:ana`, `[group:legal,
    /// user:ana]` (YAML front matter) or `["group:legal","user:ana"]` (JSON), one per line in a
    /// `.quarry-access` file. Sorted, each once; `#` starts a comment to the end of the line.
    public static func parse(_ text: String) -> [String] {
        var principals = Set<String>()
        for line in text.split(whereSeparator: \.isNewline) {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            for item in content.split(whereSeparator: { $0 == "," || $0 == "[" || $0 == "]" || $0.isWhitespace }) {
                let name = item.trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                if !name.isEmpty { principals.insert(name) }
            }
        }
        return principals.sorted()
    }

    /// Whether a document with `access` is visible to a caller who speaks for `principals`
    /// (`nil`: a caller who sees every document of its tenant).
    public static func isVisible(_ access: [String]?, to principals: [String]?) -> Bool {
        guard let principals, let access else { return true }
        return access.contains(everyone) || access.contains(where: principals.contains)
    }

    /// A list from a request or a key: each principal without blanks or control characters;
    /// sorted, each once.
    /// - Throws: `QuarryError(.invalidRequest)` naming the first bad principal.
    public static func checked(_ list: [String]) throws -> [String] {
        let refused = { (scalar: Unicode.Scalar) in scalar.properties.isWhitespace || scalar.properties.generalCategory == .control }
        for principal in list where principal.isEmpty || principal.unicodeScalars.contains(where: refused) {
            throw QuarryError(.invalidRequest, "principal '\(principal)' is invalid: use names such as user:ana, group:legal or public")
        }
        return Array(Set(list)).sorted()
    }
}
