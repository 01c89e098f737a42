import Foundation
import QuarryCore
import ZIPFoundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads the paragraphs and headings of a Word document (`.docx`: a ZIP holding
/// WordprocessingML in `word/document.xml`).
public struct DOCXLoader: Sendable {
    /// The largest `document.xml` accepted, uncompressed: a guard against ZIP bombs.
    public var maxDocumentBytes: Int

    /// Creates a loader.
    public init(maxDocumentBytes: Int = 256 << 20) {
        self.maxDocumentBytes = maxDocumentBytes
    }

    /// The blocks of the document at `url`. Headings are paragraphs whose style is `Title` or
    /// `Heading N` (or that carry an outline level); the `lineStart`/`lineEnd` of a block is its
    /// paragraph number, as a `.docx` has no lines.
    /// - Throws: `QuarryError.unreadableInput` when the file is not a ZIP, has no
    ///   `word/document.xml`, is too large, or the XML is malformed.
    public func blocks(ofFileAt url: URL) throws -> [DocumentBlock] {
        let archive: Archive
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw QuarryError(.unreadableInput, "\(url.lastPathComponent) is not a valid .docx (ZIP) file", underlying: error)
        }
        guard let entry = archive["word/document.xml"] else {
            throw QuarryError(.unreadableInput, "\(url.lastPathComponent) has no word/document.xml; is it a Word document?")
        }
        guard entry.uncompressedSize <= UInt64(maxDocumentBytes) else {
            throw QuarryError(.unreadableInput, "\(url.lastPathComponent): document.xml is over \(maxDocumentBytes) bytes")
        }
        var xml = Data()
        let limit = maxDocumentBytes
        do {
            _ = try archive.extract(entry) { chunk in
                xml.append(chunk)
                if xml.count > limit { throw QuarryError(.unreadableInput, "document.xml is over \(limit) bytes") }
            }
        } catch let error as QuarryError {
            throw error
        } catch {
            throw QuarryError(.unreadableInput, "\(url.lastPathComponent): cannot decompress document.xml", underlying: error)
        }
        return try Self.blocks(ofDocumentXML: xml, name: url.lastPathComponent)
    }

    /// The blocks of a WordprocessingML `document.xml`.
    static func blocks(ofDocumentXML xml: Data, name: String) throws -> [DocumentBlock] {
        let delegate = WordprocessingDelegate()
        let parser = XMLParser(data: xml)
        parser.shouldProcessNamespaces = false
        parser.delegate = delegate
        // libxml2 accepts a document that simply stops; unclosed elements are caught by depth.
        guard parser.parse(), delegate.depth == 0, delegate.sawRoot else {
            let reason = parser.parserError.map { "\($0.localizedDescription)" } ?? "it ends before its elements close"
            throw QuarryError(
                .unreadableInput, "\(name): document.xml is malformed at line \(parser.lineNumber): \(reason)"
            )
        }
        return delegate.blocks
    }
}

/// Collects `w:p` paragraphs: the text of their `w:t` runs, tabs and breaks, and their style.
private final class WordprocessingDelegate: NSObject, XMLParserDelegate {
    var blocks: [DocumentBlock] = []
    private(set) var depth = 0
    private(set) var sawRoot = false
    private var paragraphNumber = 0
    private var inParagraph = false
    private var inText = false
    private var text = ""
    private var headingLevel: Int?

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        depth += 1
        sawRoot = true
        switch elementName {
        case "w:p":
            inParagraph = true
            paragraphNumber += 1
            text = ""
            headingLevel = nil
        case "w:t":
            inText = true
        case "w:tab":
            if inParagraph { text += "\t" }
        case "w:br", "w:cr":
            if inParagraph { text += "\n" }
        case "w:pStyle":
            if let style = attributes["w:val"] { headingLevel = Self.headingLevel(style: style) ?? headingLevel }
        case "w:outlineLvl":
            if let value = attributes["w:val"].flatMap(Int.init), (0...5).contains(value) { headingLevel = value + 1 }
        default:
            break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText { text += string }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        depth -= 1
        switch elementName {
        case "w:t":
            inText = false
        case "w:p":
            inParagraph = false
            let body = text.trimmingWhitespace()
            guard !body.isEmpty else { return }
            let kind: DocumentBlock.Kind = headingLevel.map { .heading(level: $0) } ?? .paragraph
            blocks.append(DocumentBlock(kind: kind, text: body, lineStart: paragraphNumber, lineEnd: paragraphNumber))
        default:
            break
        }
    }

    /// `Title` is level 1; `Heading1`…`Heading6` (any case, with or without a space) their level.
    static func headingLevel(style: String) -> Int? {
        let lowered = style.lowercased().replacingOccurrences(of: " ", with: "")
        if lowered == "title" { return 1 }
        guard lowered.hasPrefix("heading"), let level = Int(lowered.dropFirst("heading".count)), (1...6).contains(level) else {
            return nil
        }
        return level
    }
}
