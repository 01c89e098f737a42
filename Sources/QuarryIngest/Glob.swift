/// A file-name pattern for `--include` and `--exclude`, in the style of `.gitignore`.
///
/// - `*` matches any run of characters except `/`, `?` one character except `/`, `[abc]`,
///   `[a-z]` and `[!abc]` one character of (or not of) a set, and `**` any run including `/`
///   (`**/` also matches no folder at all). `\` escapes the character after it.
/// - A pattern without a `/` is matched against every component of the path, so `*.md` selects
///   Markdown files in every folder and `drafts` everything inside any folder called `drafts`.
/// - A pattern with a `/` is matched against the whole path relative to the ingested folder (a
///   leading `/` is ignored), and also selects everything inside a folder it matches.
public struct Glob: Sendable, Hashable, CustomStringConvertible {
    /// The pattern as given.
    public let description: String
    private let pattern: [Character]
    private let anchored: Bool

    /// Creates a pattern.
    /// - Throws: `GlobError` when the pattern is empty or has an unclosed `[`.
    public init(_ pattern: String) throws {
        var body = Substring(pattern)
        while body.hasSuffix("/") { body = body.dropLast() }
        if body.hasPrefix("/") { body = body.dropFirst() }
        guard !body.isEmpty else { throw GlobError(pattern: pattern, reason: "the pattern is empty") }
        self.description = pattern
        self.pattern = Array(body)
        self.anchored = body.contains("/")
        var index = 0
        while index < self.pattern.count {
            if self.pattern[index] == "\\" {
                index += 2
                continue
            }
            if self.pattern[index] == "[", Self.classEnd(self.pattern, from: index) == nil {
                throw GlobError(pattern: pattern, reason: "a '[' is not closed")
            }
            index += 1
        }
    }

    /// Whether `path` (relative, `/`-separated) is selected by the pattern.
    public func matches(_ path: String) -> Bool {
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        if anchored {
            // The path itself, or any folder above it.
            var prefix = ""
            for component in components {
                prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
                if Self.match(pattern[...], Array(prefix)[...]) { return true }
            }
            return false
        }
        return components.contains { Self.match(pattern[...], Array($0)[...]) }
    }

    private static func match(_ pattern: ArraySlice<Character>, _ text: ArraySlice<Character>) -> Bool {
        var p = pattern.startIndex
        var t = text.startIndex
        while p < pattern.endIndex {
            let c = pattern[p]
            switch c {
            case "*":
                let doubled = p + 1 < pattern.endIndex && pattern[p + 1] == "*"
                if doubled {
                    var rest = p + 2
                    // `**/` may match no folder at all.
                    if rest < pattern.endIndex, pattern[rest] == "/" {
                        if match(pattern[(rest + 1)...], text[t...]) { return true }
                        rest += 1
                    }
                    var start = t
                    while start <= text.endIndex {
                        if match(pattern[rest...], text[start...]) { return true }
                        start += 1
                    }
                    return false
                }
                var start = t
                while true {
                    if match(pattern[(p + 1)...], text[start...]) { return true }
                    guard start < text.endIndex, text[start] != "/" else { return false }
                    start += 1
                }
            case "?":
                guard t < text.endIndex, text[t] != "/" else { return false }
            case "[":
                guard t < text.endIndex, text[t] != "/", let end = classEnd(Array(pattern), from: p - pattern.startIndex)
                else { return false }
                let set = pattern[(p + 1)..<(pattern.startIndex + end)]
                guard classContains(set, text[t]) else { return false }
                p = pattern.startIndex + end
            case "\\" where p + 1 < pattern.endIndex:
                p += 1
                guard t < text.endIndex, text[t] == pattern[p] else { return false }
            default:
                guard t < text.endIndex, text[t] == c else { return false }
            }
            p += 1
            t += 1
        }
        return t == text.endIndex
    }

    /// The index of the `]` closing the class that opens at `start`, or `nil`.
    private static func classEnd(_ pattern: [Character], from start: Int) -> Int? {
        var index = start + 1
        if index < pattern.count, pattern[index] == "!" || pattern[index] == "^" { index += 1 }
        if index < pattern.count, pattern[index] == "]" { index += 1 }  // `[]]` holds a `]`
        while index < pattern.count {
            if pattern[index] == "]" { return index }
            index += 1
        }
        return nil
    }

    private static func classContains(_ set: ArraySlice<Character>, _ character: Character) -> Bool {
        var items = set
        var negated = false
        if let first = items.first, first == "!" || first == "^" {
            negated = true
            items = items.dropFirst()
        }
        var found = false
        var index = items.startIndex
        while index < items.endIndex {
            if index + 2 < items.endIndex, items[index + 1] == "-" {
                if items[index] <= character, character <= items[index + 2] { found = true }
                index += 3
            } else {
                if items[index] == character { found = true }
                index += 1
            }
        }
        return found != negated
    }
}

/// A pattern that cannot be used.
public struct GlobError: Error, Sendable, CustomStringConvertible {
    /// The pattern.
    public var pattern: String
    /// What is wrong with it.
    public var reason: String

    public var description: String { "invalid pattern '\(pattern)': \(reason)" }
}
