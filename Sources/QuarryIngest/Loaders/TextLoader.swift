import Foundation
import QuarryCore

/// Splits plain text or Markdown into blocks: blank lines end a paragraph; in Markdown, ATX `#`
/// lines are headings and fenced code blocks stay whole.
public struct TextLoader: Sendable {
    /// Whether the text is Markdown.
    public var markdown: Bool

    /// Creates a loader.
    public init(markdown: Bool) {
        self.markdown = markdown
    }

    /// The metadata of a Markdown file's front matter: `key: value` lines between a first line
    /// `---` and the next `---` (quotes around values removed; nested YAML is not read), and the
    /// number of lines the front matter takes (0 without one).
    public static func frontMatter(of text: String) -> (metadata: [String: String], lines: Int) {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        guard let first = lines.first, first.trimmingCharacters(in: .whitespaces) == "---" else { return ([:], 0) }
        var metadata: [String: String] = [:]
        for (index, rawLine) in lines.enumerated().dropFirst() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "---" || trimmed == "..." { return (metadata, index + 1) }
            guard !line.hasPrefix(" "), !line.hasPrefix("\t"), !trimmed.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let open = value.first, open == "\"" || open == "'", value.last == open {
                value = String(value.dropFirst().dropLast())
            }
            if !key.isEmpty, !value.isEmpty { metadata[key] = value }
        }
        return ([:], 0)  // never closed: not front matter
    }

    /// The blocks of `text` (in Markdown, without its front matter).
    public func blocks(of text: String) -> [DocumentBlock] {
        let skipped = markdown ? Self.frontMatter(of: text).lines : 0
        var blocks: [DocumentBlock] = []
        var current: [Substring] = []
        var currentStart = 0
        var currentKind = DocumentBlock.Kind.paragraph
        var inFence = false

        func close(at lineNumber: Int) {
            guard !current.isEmpty else { return }
            let body = current.joined(separator: "\n").trimmingWhitespace()
            if !body.isEmpty {
                blocks.append(DocumentBlock(kind: currentKind, text: body, lineStart: currentStart, lineEnd: lineNumber))
            }
            current = []
            currentKind = .paragraph
        }

        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, rawLine) in lines.enumerated() where index >= skipped {
            let lineNumber = index + 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if markdown, trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                if !inFence {
                    close(at: lineNumber - 1)
                    currentStart = lineNumber
                    currentKind = .code
                }
                current.append(line)
                if inFence { close(at: lineNumber) }
                inFence.toggle()
                continue
            }
            if inFence {
                current.append(line)
                continue
            }
            if markdown, let level = Self.headingLevel(trimmed) {
                close(at: lineNumber - 1)
                let title = String(trimmed.drop(while: { $0 == "#" })).trimmingWhitespace()
                blocks.append(DocumentBlock(kind: .heading(level: level), text: title, lineStart: lineNumber, lineEnd: lineNumber))
                continue
            }
            if trimmed.allSatisfy({ $0.isWhitespace }) {
                close(at: lineNumber - 1)
                continue
            }
            if current.isEmpty { currentStart = lineNumber }
            current.append(line)
        }
        close(at: lines.count)
        return blocks
    }

    /// The level of an ATX heading (`# Title` is 1), or `nil` for other lines.
    static func headingLevel(_ line: Substring) -> Int? {
        let hashes = line.prefix(while: { $0 == "#" }).count
        guard (1...6).contains(hashes) else { return nil }
        let rest = line.dropFirst(hashes)
        guard let first = rest.first, first == " " || first == "\t" else { return nil }
        return hashes
    }
}
