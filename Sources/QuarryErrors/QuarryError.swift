/// The error Quarry throws, from the embedding library to the service layers: a stable code, a
/// message a user can act on, and the cause underneath. HTTP status codes are chosen from `code`
/// at the HTTP edge only.
///
/// It lives in a module of its own, below everything, so that `QuarryEmbedding` (a library that
/// stands alone) and the service layers share one error type instead of two identical ones.
/// `QuarryCore` re-exports it.
public struct QuarryError: Error, CustomStringConvertible, Sendable {
    /// Stable, machine-readable error codes (they appear in JSON error bodies).
    public enum Code: String, Sendable, Codable {
        /// The request or argument is malformed or out of range.
        case invalidRequest = "invalid_request"
        /// A named collection or document does not exist.
        case notFound = "not_found"
        /// The request conflicts with stored state (for example a different embedding model).
        case conflict
        /// The request body is larger than allowed.
        case payloadTooLarge = "payload_too_large"
        /// A file could not be read or parsed.
        case unreadableInput = "unreadable_input"
        /// The store failed (disk, corruption, SQLite error).
        case storage
        /// The embedding model failed (a remote embedding service included).
        case embedding
        /// The model folder or one of its files is missing.
        case modelMissing = "model_missing"
        /// A model file exists but cannot be used (bad header, wrong shape, bad checksum).
        case modelCorrupt = "model_corrupt"
        /// The chat model (LLM) could not answer: every model of the chain failed or timed out.
        case llmUnavailable = "llm_unavailable"
        /// The caller may not do this (an ingest outside the allowed folders, a key without the
        /// right role).
        case forbidden
        /// The request names no API key, or one that is unknown, revoked or expired.
        case unauthenticated
        /// A rate limit or quota is exhausted; `retryAfter` says when to try again.
        case rateLimited = "rate_limited"
        /// The server is shutting down and takes no new work of this kind.
        case shuttingDown = "shutting_down"
        /// A part the request needs is busy or shut down (all database connections taken, the
        /// store closing); trying again later can succeed.
        case unavailable
        /// The store is read-only (opened with `--read-only`, or on a read-only file system): it
        /// answers reads and takes no writes. Trying again does not help.
        case readOnly = "read_only"
        /// Something that should not happen happened.
        case `internal`
    }

    /// The stable error code.
    public var code: Code
    /// What went wrong and, where possible, what to do about it.
    public var message: String
    /// The error underneath, if any.
    public var underlying: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "\(message) (\(underlying))" }
        return message
    }
}

/// An error that is a configured limit running out (a tenant's stored chunks, its monthly
/// tokens), named as in the configuration (`max_chunks`), so that layers that do not know the
/// limits can still say which one a failure ran into.
public protocol NamedLimitError: Error {
    /// The limit's name in the configuration.
    var limitName: String { get }
}

extension QuarryError {
    /// The limit this error ran into, if it is one (`NamedLimitError` underneath).
    public var limitName: String? { (underlying as? any NamedLimitError)?.limitName }
}

extension QuarryError {
    /// The message as a client of the service may see it. Errors of the server's own machinery
    /// (`storage`, `internal`) can name files of the server ("SQLite error 13 in
    /// /var/lib/quarry/quarry.sqlite: database or disk is full"); a client learns what failed,
    /// but not where the server keeps its files: every absolute path is cut to its last part.
    /// Other codes keep their message (a path there is one the caller gave).
    public var clientMessage: String {
        switch code {
        case .storage, .internal: Self.withoutDirectories(message)
        default: message
        }
    }

    /// `text` with every absolute path (a `/` that starts a word, up to white space, a quote, a
    /// colon, a comma or a closing bracket) replaced by its last component.
    static func withoutDirectories(_ text: String) -> String {
        let stops: Set<Character> = [" ", "\t", "\n", "'", "\"", ":", ",", ")", "]"]
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let startsWord = index == text.startIndex || [" ", "\t", "\n", "'", "\"", "(", "["].contains(text[text.index(before: index)])
            guard character == "/", startsWord else {
                result.append(character)
                index = text.index(after: index)
                continue
            }
            var end = index
            while end < text.endIndex, !stops.contains(text[end]) { end = text.index(after: end) }
            let path = text[index..<end]
            let last = path.split(separator: "/").last.map(String.init) ?? ""
            result += last.isEmpty ? "…" : "…/" + last
            index = end
        }
        return result
    }
}
