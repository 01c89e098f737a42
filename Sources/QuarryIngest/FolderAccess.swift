import Foundation
import QuarryCore
import Synchronization

/// Where a document's access list comes from when it is ingested, first match wins:
///
/// 1. its own metadata: an `access` key in Markdown front matter, a JSONL record's `metadata`,
///    or an HTML `<meta name="access">` (`group:legal, user:ana`, or a list);
/// 2. the nearest `.quarry-access` file in its folder or a folder above it, up to the ingested
///    folder (principals separated by commas or lines, `#` comments);
/// 3. the run's default (`quarry ingest --access`, `POST /ingest`'s `access`);
/// 4. none: the document keeps the list it has (a new one is visible to every key of its tenant).
final class FolderAccess: Sendable {
    /// The name of the per-folder file.
    static let fileName = ".quarry-access"
    private let root: URL
    private let fallback: [String]?
    private let folders = Mutex<[String: [String]?]>([:])

    init(root: URL, fallback: [String]?) {
        self.root = root
        self.fallback = fallback
    }

    /// The list for the document at `path` (relative to the root) with `metadata`.
    func access(path: String, metadata: [String: String]) -> [String]? {
        if let own = metadata[AccessList.metadataKey] { return AccessList.parse(own) }
        var components = path.split(separator: "#", maxSplits: 1).first.map { $0.split(separator: "/").dropLast() } ?? []
        while true {
            if let list = folderList(components.joined(separator: "/")) { return list }
            if components.isEmpty { return fallback }
            components.removeLast()
        }
    }

    /// The `.quarry-access` list of one folder (relative to the root), read once per run.
    private func folderList(_ folder: String) -> [String]? {
        if let known = folders.withLock({ $0[folder] }) { return known }
        let url = (folder.isEmpty ? root : root.appendingPathComponent(folder, isDirectory: true)).appendingPathComponent(Self.fileName)
        let list = (try? String(contentsOf: url, encoding: .utf8)).map(AccessList.parse)
        folders.withLock { $0[folder] = .some(list) }
        return list
    }
}
