/// Rules for collection names: every chunk lives in one collection (a namespace).
public enum CollectionName {
    /// The collection used when none is named.
    public static let `default` = "default"

    /// Checks a collection name: 1–64 characters of letters, digits, `-`, `_` and `.`.
    /// - Throws: `QuarryError.invalidRequest` naming the rule.
    public static func validate(_ name: String) throws {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == 0x2d || byte == 0x5f || byte == 0x2e
        }
        guard !name.isEmpty, name.utf8.count <= 64, allowed else {
            throw QuarryError(
                .invalidRequest,
                "collection name '\(name)' is invalid: use 1-64 letters, digits, '-', '_' or '.'"
            )
        }
    }
}

extension CollectionName {
    /// Checks a collection name as the store keeps it: a plain name (the default tenant's) or
    /// `tenant/name`, each part following the rules of `validate(_:)`.
    /// - Throws: `QuarryError.invalidRequest` naming the rule.
    public static func validateStored(_ name: String) throws {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else {
            throw QuarryError(.invalidRequest, "collection name '\(name)' is invalid: use 1-64 letters, digits, '-', '_' or '.'")
        }
        for part in parts { try validate(String(part)) }
    }
}
