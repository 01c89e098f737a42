import QuarryDigest

/// How an audit record keeps the text of a query: configurable, because a query can itself be
/// sensitive.
public enum AuditQueryMode: String, Sendable, Codable, CaseIterable {
    /// The text as asked.
    case full
    /// Its SHA-256 (hex): equal queries can be matched up, the text is not kept. A short or
    /// common query can still be found by hashing guesses; use `off` where that matters.
    case hash
    /// Nothing of the query.
    case off

    /// What a record keeps of `query` in this mode.
    /// - Returns: the text (for `full`) and the SHA-256 hex (for `hash`); both `nil` for `off`
    ///   or when there is no query.
    public func form(of query: String?) -> (text: String?, sha256: String?) {
        guard let query else { return (nil, nil) }
        switch self {
        case .full: return (query, nil)
        case .hash: return (nil, SHA256.hex(of: Array(query.utf8)))
        case .off: return (nil, nil)
        }
    }
}
