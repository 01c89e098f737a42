import Foundation
import QuarryCore

/// Extracts the text of a PDF with `pdftotext` (Debian `poppler-utils`), one subprocess per file,
/// bounded by a timeout, and splits it into paragraphs that remember their page.
public struct PDFLoader: Sendable {
    /// The `pdftotext` executable.
    public var executable: String
    /// How long one file may take before the subprocess is killed.
    public var timeout: Duration

    /// Creates a loader.
    public init(executable: String = "/usr/bin/pdftotext", timeout: Duration = .seconds(60)) {
        self.executable = executable
        self.timeout = timeout
    }

    /// The blocks of the PDF at `url`, each with its 1-based page.
    /// - Throws: `QuarryError.unreadableInput` when `pdftotext` is missing, fails on the file
    ///   (damaged or encrypted PDF) or runs past the timeout.
    public func blocks(ofFileAt url: URL) throws -> [DocumentBlock] {
        let text = try extractText(url)
        return Self.blocks(ofPagedText: text)
    }

    /// Paragraphs of `pdftotext` output: pages are separated by form feeds, paragraphs by blank
    /// lines; lines inside a paragraph are joined, and words hyphenated across lines re-joined.
    static func blocks(ofPagedText text: String) -> [DocumentBlock] {
        var blocks: [DocumentBlock] = []
        var line = 1
        for (pageIndex, page) in text.split(separator: "\u{0C}", omittingEmptySubsequences: false).enumerated() {
            var paragraph: [Substring] = []
            var start = line
            func close(_ end: Int) {
                defer { paragraph = [] }
                guard !paragraph.isEmpty else { return }
                var joined = ""
                for piece in paragraph {
                    let trimmed = piece.trimmingWhitespace()
                    if joined.hasSuffix("-"), let first = trimmed.first, first.isLowercase {
                        joined.removeLast()
                        joined += trimmed
                    } else {
                        joined += joined.isEmpty ? trimmed : " " + trimmed
                    }
                }
                if !joined.isEmpty {
                    blocks.append(DocumentBlock(kind: .paragraph, text: joined, lineStart: start, lineEnd: end, page: pageIndex + 1))
                }
            }
            for rawLine in page.split(separator: "\n", omittingEmptySubsequences: false) {
                if rawLine.allSatisfy(\.isWhitespace) {
                    close(line - 1)
                } else {
                    if paragraph.isEmpty { start = line }
                    paragraph.append(rawLine)
                }
                line += 1
            }
            line -= 1  // the page's last line did not end in a newline of its own
            close(line)
        }
        return blocks
    }

    private func extractText(_ url: URL) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw QuarryError(
                .unreadableInput, "cannot read PDFs: \(executable) is missing (install Debian package poppler-utils)"
            )
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-q", "-enc", "UTF-8", url.path, "-"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw QuarryError(.unreadableInput, "cannot start \(executable)", underlying: error)
        }
        let deadline = DispatchWorkItem { [process] in
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        let (seconds, attoseconds) = timeout.components
        DispatchQueue.global().asyncAfter(
            deadline: .now() + .milliseconds(Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)),
            execute: deadline
        )
        // Reading to the end returns when the process exits or is killed.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        deadline.cancel()
        if process.terminationReason == .uncaughtSignal {
            throw QuarryError(.unreadableInput, "pdftotext took longer than \(timeout) and was stopped")
        }
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errorData, as: UTF8.self).trimmingWhitespace()
            throw QuarryError(
                .unreadableInput,
                "pdftotext failed (exit \(process.terminationStatus))\(message.isEmpty ? "" : ": " + message.prefix(300))"
            )
        }
        return String(decoding: data, as: UTF8.self)
    }
}
