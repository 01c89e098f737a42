import Foundation
import QuarryCore

/// A text file decoded, with the byte offset in the file at which each of its lines starts, so
/// that a chunk's line range can be turned into the exact byte range of the file it came from.
public struct SourceText: Sendable {
    /// How the file's bytes were decoded.
    public enum Encoding: String, Sendable {
        case utf8 = "UTF-8"
        case utf16LittleEndian = "UTF-16LE"
        case utf16BigEndian = "UTF-16BE"
        case latin1 = "ISO-8859-1"
    }

    /// The decoded text, without its byte-order mark.
    public var text: String
    /// The encoding the bytes were in.
    public var encoding: Encoding
    /// `lineOffsets[i]` is the byte offset at which line `i + 1` starts; the last element is the
    /// file's size.
    public var lineOffsets: [Int]

    /// Decodes `data`: UTF-16 when it starts with a UTF-16 byte-order mark, UTF-8 (with or
    /// without its byte-order mark) when it is valid UTF-8, Latin-1 otherwise (every byte
    /// sequence is Latin-1, so only a malformed UTF-16 file fails).
    /// - Throws: `QuarryError.unreadableInput` for UTF-16 that does not decode.
    public init(decoding data: Data, path: String) throws {
        let bytes = [UInt8](data.prefix(3))
        if bytes.count >= 2, (bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF) {
            let littleEndian = bytes[0] == 0xFF
            guard data.count % 2 == 0,
                let text = String(data: data.dropFirst(2), encoding: littleEndian ? .utf16LittleEndian : .utf16BigEndian)
            else {
                throw QuarryError(.unreadableInput, "\(path) starts with a UTF-16 byte-order mark but is not valid UTF-16")
            }
            self.text = text
            self.encoding = littleEndian ? .utf16LittleEndian : .utf16BigEndian
            self.lineOffsets = Self.lineOffsets(utf16: data, littleEndian: littleEndian)
            return
        }
        let bomLength = bytes == [0xEF, 0xBB, 0xBF] ? 3 : 0
        if let text = String(validatingUTF8Data: data.dropFirst(bomLength)) {
            self.text = text
            self.encoding = .utf8
        } else {
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: data.map { Unicode.Scalar($0) })
            self.text = String(scalars)
            self.encoding = .latin1
        }
        self.lineOffsets = Self.lineOffsets(bytes: data, start: encoding == .utf8 ? bomLength : 0)
    }

    /// The byte range of lines `lineStart...lineEnd` (1-based), or `nil` when out of range.
    public func byteRange(lines lineStart: Int, _ lineEnd: Int) -> Range<Int>? {
        guard lineStart >= 1, lineEnd >= lineStart, lineEnd < lineOffsets.count else { return nil }
        return lineOffsets[lineStart - 1]..<lineOffsets[lineEnd]
    }

    /// Line starts of single-byte-newline text (UTF-8, Latin-1).
    static func lineOffsets(bytes data: Data, start: Int) -> [Int] {
        var offsets = [start]
        data.withUnsafeBytes { raw in
            for index in start..<raw.count where raw[index] == 0x0A { offsets.append(index + 1) }
        }
        if offsets.last != data.count { offsets.append(data.count) }
        return offsets
    }

    /// Line starts of UTF-16 text, after its byte-order mark.
    static func lineOffsets(utf16 data: Data, littleEndian: Bool) -> [Int] {
        var offsets = [2]
        data.withUnsafeBytes { raw in
            var index = 2
            while index + 1 < raw.count {
                let unit = littleEndian ? UInt16(raw[index]) | UInt16(raw[index + 1]) << 8 : UInt16(raw[index]) << 8 | UInt16(raw[index + 1])
                if unit == 0x000A { offsets.append(index + 2) }
                index += 2
            }
        }
        if offsets.last != data.count { offsets.append(data.count) }
        return offsets
    }
}

extension String {
    /// The string `data` holds as UTF-8, or `nil` when it is not valid UTF-8.
    init?(validatingUTF8Data data: Data) {
        guard let text = String(validating: data, as: UTF8.self) else { return nil }
        self = text
    }
}
