import Foundation

extension DecodingError {
    /// What is wrong with the JSON, in a few words for a message: `no "claims"`, `"answers" has
    /// the wrong type`, `not valid JSON`, or what a value's own check found.
    var summary: String {
        switch self {
        case .keyNotFound(let key, _):
            return "no \"\(key.stringValue)\""
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\"\(path)\" has the wrong type"
        case .dataCorrupted(let context):
            // Without a coding path the text did not parse at all; with one, a value's own check
            // (an `init(from:)`) refused it and says why.
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "not valid JSON" : "\"\(path)\": \(context.debugDescription)"
        @unknown default:
            return "\(self)"
        }
    }
}
