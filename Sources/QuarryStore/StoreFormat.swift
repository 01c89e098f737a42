import Foundation
import QuarryCore

/// How both store backends write the same things: metadata as JSON, heading paths as one string.
enum StoreFormat {
    /// Between the headings of a chunk's heading path.
    static let headingSeparator = " > "

    /// Metadata as stored: a JSON object of text values (keys sorted), or nothing when empty.
    static func metadataJSON(_ metadata: [String: String]) -> String? {
        guard !metadata.isEmpty, let data = try? JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys]) else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Metadata as read back: the JSON object's text values; empty for no metadata.
    static func decodeMetadata(_ text: String) -> [String: String] {
        guard !text.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else { return [:] }
        return object
    }

    /// An access list as stored: a JSON array of principals; `nil` for no list.
    static func accessJSON(_ access: [String]?) -> String? { KeyColumns.encode(access) }

    /// An access list read back; `nil` for SQL NULL or text that is not a JSON array of strings.
    static func decodeAccess(_ text: String?) -> [String]? { KeyColumns.decode(text) }

    /// The principals a `visibleTo` filter matches in SQL: the caller's and `public`.
    static func visibleJSON(_ principals: [String]) -> String { KeyColumns.encode(principals + [AccessList.everyone]) ?? "[]" }
}
