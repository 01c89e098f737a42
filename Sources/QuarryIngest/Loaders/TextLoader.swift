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

    /// The blocks of `text`.
    public func blocks(of text: String) -> [DocumentBlock] {
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
        for (index, rawLine) in lines.enumerated() {
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
