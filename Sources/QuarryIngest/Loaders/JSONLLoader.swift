import Foundation
import QuarryCore
import QuarryDigest

/// Reads a corpus in BEIR form: JSON lines `{"_id", "title", "text", ...}`, one document per
/// line. A document's id is its `_id` (`id` is accepted too); its title becomes its heading.
///
/// Lines are read one at a time from a memory-mapped file, so a corpus larger than memory can be
/// ingested. A malformed line is reported and skipped; the other lines are still read.
public struct JSONLLoader: Sendable {
    /// One line of the file, read.
    public enum Line: Sendable {
        /// A document.
        case document(Record)
        /// A line that is not a document, with the reason.
        case malformed(line: Int, reason: String)
    }

    /// A document of the file.
    public struct Record: Sendable {
        /// Its `_id`.
        public var id: String
        /// Its title and text as blocks: the title a level-1 heading, the text's paragraphs
        /// after it, all on the record's line.
        public var blocks: [DocumentBlock]
        /// The record's line number, 1-based.
        public var line: Int
        /// The byte range of the record's line in the file.
        public var bytes: Range<Int>
        /// SHA-256 of the line's bytes.
        public var contentHash: String
        /// Its `metadata` object, flattened: nested keys joined by `.`, scalar values as text
        /// (arrays as JSON text).
        public var metadata: [String: String] = [:]
    }

    private struct MetadataField: Decodable { var metadata: JSONValue? }

    /// A record's `metadata` object, flattened: nested keys joined by `.`, scalars as text.
    static func metadata(ofLine body: Data) -> [String: String] {
        guard case .object(let object)? = (try? JSONDecoder().decode(MetadataField.self, from: body))?.metadata else { return [:] }
        var result: [String: String] = [:]
        func flatten(_ object: [String: JSONValue], prefix: String) {
            for (key, value) in object {
                let name = prefix.isEmpty ? key : "\(prefix).\(key)"
                switch value {
                case .object(let nested): flatten(nested, prefix: name)
                case .null: continue
                default: result[name] = value.text
                }
            }
        }
        flatten(object, prefix: "")
        return result
    }

    /// Creates a loader.
    public init() {}

    /// The lines of `data`, lazily: blank lines are skipped.
    public func lines(of data: Data) -> LineSequence { LineSequence(data: data) }

    /// Lazily parsed lines of a JSONL file.
    public struct LineSequence: Sequence, Sendable {
        let data: Data

        public func makeIterator() -> Iterator { Iterator(data: data) }

        /// Reads one line per call to `next()`.
        public struct Iterator: IteratorProtocol {
            let data: Data
            var offset: Int
            var lineNumber = 0

            init(data: Data) {
                self.data = data
                self.offset = data.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
            }

            /// Whether every line has been read.
            public var isExhausted: Bool { offset >= data.count }

            public mutating func next() -> Line? {
                while offset < data.count {
                    lineNumber += 1
                    let start = offset
                    let end = data[start...].firstIndex(of: 0x0A).map { $0 + 1 } ?? data.count
                    offset = end
                    var body = data[start..<end]
                    while let last = body.last, last == 0x0A || last == 0x0D || last == 0x20 || last == 0x09 {
                        body = body.dropLast()
                    }
                    if body.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                    return JSONLLoader.parse(body, line: lineNumber, bytes: start..<end)
                }
                return nil
            }
        }
    }

    static func parse(_ body: Data, line: Int, bytes: Range<Int>) -> Line {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: body)
        } catch {
            return .malformed(line: line, reason: "not valid JSON")
        }
        guard let fields = object as? [String: Any] else {
            return .malformed(line: line, reason: "not a JSON object")
        }
        let rawID = fields["_id"] ?? fields["id"]
        let id: String
        switch rawID {
        case let text as String: id = text
        case let number as Int: id = String(number)
        case let number as NSNumber: id = number.stringValue
        default: return .malformed(line: line, reason: "no \"_id\" string")
        }
        guard !id.isEmpty, !id.contains(where: \.isNewline) else {
            return .malformed(line: line, reason: "\"_id\" is empty or spans lines")
        }
        let title = (fields["title"] as? String)?.trimmingWhitespace() ?? ""
        let text = fields["text"] as? String ?? ""
        guard !title.isEmpty || !text.trimmingWhitespace().isEmpty else {
            return .malformed(line: line, reason: "document \(id) has neither \"title\" nor \"text\"")
        }
        var blocks: [DocumentBlock] = []
        if !title.isEmpty {
            blocks.append(DocumentBlock(kind: .heading(level: 1), text: title, lineStart: line, lineEnd: line))
        }
        for block in TextLoader(markdown: false).blocks(of: text) {
            blocks.append(DocumentBlock(kind: .paragraph, text: block.text, lineStart: line, lineEnd: line))
        }
        let metadata = fields["metadata"] is [String: Any] ? Self.metadata(ofLine: body) : [:]
        return .document(
            Record(id: id, blocks: blocks, line: line, bytes: bytes, contentHash: SHA256.hex(of: body), metadata: metadata)
        )
    }
}
