import Foundation

/// A JSON value, as `JSONDecoder` reads it (which tells `true` from `1`, unlike `JSONSerialization`).
public enum JSONValue: Decodable, Sendable, Equatable {
    case string(String), number(Double), bool(Bool), object([String: JSONValue]), array([JSONValue]), null

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let value = try? c.decode(Bool.self) { self = .bool(value) }
        else if let value = try? c.decode(Double.self) { self = .number(value) }
        else if let value = try? c.decode(String.self) { self = .string(value) }
        else if let value = try? c.decode([String: JSONValue].self) { self = .object(value) }
        else { self = .array(try c.decode([JSONValue].self)) }
    }

    /// The value as metadata text: strings as they are, numbers without a needless `.0`,
    /// booleans `true`/`false`, arrays as compact JSON.
    public var text: String {
        switch self {
        case .string(let value): value
        case .bool(let value): value ? "true" : "false"
        case .number(let value): value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .null: "null"
        case .array(let values): "[" + values.map { if case .string(let s) = $0 { "\"\(s)\"" } else { $0.text } }.joined(separator: ",") + "]"
        case .object: "{}"
        }
    }
}

