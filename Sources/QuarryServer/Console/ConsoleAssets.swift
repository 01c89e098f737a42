import Foundation
import QuarryEval

/// The web console's files: embedded in the binary by the `EmbedConsole` plugin, or read from
/// a folder (`QUARRY_CONSOLE_DIR`) so that someone working on the console sees an edit on the
/// next reload, without a rebuild.
public struct ConsoleAssets: Sendable {
    /// One file, ready to serve.
    struct File: Sendable {
        let bytes: [UInt8]
        let contentType: String
    }

    /// The folder files are read from instead of the embedded ones; `nil` for the embedded.
    let folder: URL?

    /// The embedded files, or those of `folder`.
    public init(folder: URL? = nil) {
        self.folder = folder
    }

    /// The embedded files, or the folder `QUARRY_CONSOLE_DIR` names when it is set and not empty.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> ConsoleAssets {
        guard let path = environment["QUARRY_CONSOLE_DIR"], !path.isEmpty else { return ConsoleAssets() }
        return ConsoleAssets(folder: URL(fileURLWithPath: path, isDirectory: true))
    }

    /// The file `name` (a bare file name: the console's folder is flat), `nil` when there is none.
    func file(named name: String) -> File? {
        guard Self.isFileName(name), let type = Self.contentTypes[(name as NSString).pathExtension.lowercased()] else { return nil }
        if let folder {
            guard let data = try? Data(contentsOf: folder.appendingPathComponent(name)) else { return nil }
            return File(bytes: Array(data), contentType: type)
        }
        return Self.decoded[name].map { File(bytes: $0, contentType: type) }
    }

    /// Names of the embedded files.
    static var embeddedNames: [String] { Self.decoded.keys.sorted() }

    /// Names like `main.js`: letters, digits, `-`, `_` and one or more dots, never a leading dot,
    /// so that no request can name anything outside the folder.
    static func isFileName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && !name.hasPrefix(".") && !name.contains("..")
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "-_.".unicodeScalars.contains($0) }
    }

    /// What each kind of file is served as; other kinds are not served.
    static let contentTypes: [String: String] = [
        "html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "json": "application/json; charset=utf-8",
        "webmanifest": "application/manifest+json",
    ]

    /// The embedded files, decoded once.
    private static let decoded: [String: [UInt8]] = embedded.compactMapValues { Data(base64Encoded: $0).map(Array.init) }

    /// The policy of the console's pages: scripts only from the server's own files (no inline
    /// script, no `eval`), styles from its files and the eval report's one style block (reports
    /// are shown in a sandboxed frame, from a `blob:` URL, under this policy), requests only to
    /// the server itself, never framed, and Trusted Types with no policy: any attempt to write
    /// HTML from a string into the page throws.
    public static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self' '\(HTMLReport.stylesheetHash)'", "img-src 'self' data:",
        "connect-src 'self'", "frame-src blob:", "manifest-src 'self'", "base-uri 'none'", "form-action 'self'",
        "frame-ancestors 'none'", "require-trusted-types-for 'script'", "trusted-types 'none'",
    ].joined(separator: "; ")
}
