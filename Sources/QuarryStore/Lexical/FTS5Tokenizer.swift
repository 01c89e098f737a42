import CSQLite
import Foundation
import QuarryCore

/// FTS5's own tokenizer, driven outside FTS5, so that the in-memory BM25 index sees exactly the
/// tokens `quarry_chunks_fts` indexes (porter stemming over `unicode61 remove_diacritics 2`)
/// rather than a second implementation of them that would drift.
///
/// The tokenizer comes from a private in-memory connection: the built-in tokenizers need no
/// database. An instance keeps scratch buffers (porter's stem buffer, unicode61's fold buffer),
/// so it is not to be used by two threads at once: its owner holds it behind a lock.
final class FTS5Tokenizer {
    /// The `tokenize =` option of `quarry_chunks_fts` (see `SQLiteSchema`), split on spaces.
    static let specification = ["porter", "unicode61", "remove_diacritics", "2"]

    private let connection: OpaquePointer
    private var tokenizer = quarry_fts5_tokenizer()

    /// Creates the tokenizer of `specification`.
    /// - Throws: `QuarryError.storage` when SQLite lacks FTS5 or the tokenizer.
    init(specification: [String] = FTS5Tokenizer.specification) throws {
        guard let name = specification.first else {
            throw QuarryError(.internal, "an FTS5 tokenizer needs a name")
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            if let db { sqlite3_close_v2(db) }
            throw QuarryError(.storage, "cannot open an in-memory SQLite database for the FTS5 tokenizer (SQLite error \(rc))")
        }
        connection = db
        let arguments = Array(specification.dropFirst())
        let opened = Self.withCStrings(arguments) { pointers in
            var pointers = pointers
            return pointers.withUnsafeMutableBufferPointer { buffer in
                quarry_fts5_tokenizer_open(db, name, buffer.baseAddress, Int32(buffer.count), &tokenizer)
            }
        }
        guard opened == SQLITE_OK else {
            sqlite3_close_v2(db)
            throw QuarryError(
                .storage, "cannot create the FTS5 tokenizer '\(specification.joined(separator: " "))' (SQLite error \(opened))"
            )
        }
    }

    deinit {
        quarry_fts5_tokenizer_close(&tokenizer)
        sqlite3_close_v2(connection)
    }

    /// Calls `body` with the UTF-8 bytes of every token of `text`, in order.
    /// - Parameters:
    ///   - query: tokenize as FTS5 does the text of a MATCH (else as a document's).
    /// - Throws: `QuarryError.storage` when the tokenizer fails.
    func tokenize(_ text: String, query: Bool = false, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        var text = text
        let rc = withoutActuallyEscaping(body) { body in
            var sink: (UnsafeRawBufferPointer) -> Void = body
            return withUnsafeMutablePointer(to: &sink) { sinkPointer in
                text.withUTF8 { utf8 in
                    utf8.withMemoryRebound(to: CChar.self) { bytes in
                        quarry_fts5_tokenize(
                            &tokenizer, query ? FTS5_TOKENIZE_QUERY : FTS5_TOKENIZE_DOCUMENT, bytes.baseAddress, Int32(bytes.count),
                            sinkPointer, Self.callback
                        )
                    }
                }
            }
        }
        guard rc == SQLITE_OK else {
            throw QuarryError(.storage, "the FTS5 tokenizer failed (SQLite error \(rc))")
        }
    }

    /// The tokens of `text` as strings.
    func tokens(_ text: String, query: Bool = false) throws -> [String] {
        var tokens: [String] = []
        try tokenize(text, query: query) { tokens.append(String(decoding: $0, as: UTF8.self)) }
        return tokens
    }

    private static let callback: quarry_fts5_token_callback = { context, _, token, length, _, _ in
        guard let context else { return SQLITE_ERROR }
        let sink = context.assumingMemoryBound(to: ((UnsafeRawBufferPointer) -> Void).self)
        sink.pointee(UnsafeRawBufferPointer(start: token, count: Int(length)))
        return SQLITE_OK
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        return body(copies.map { UnsafePointer($0) })
    }
}
