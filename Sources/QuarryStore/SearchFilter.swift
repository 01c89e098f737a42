import Foundation
import QuarryCore

/// Which chunks a search may return; applied inside the search (an HNSW walk passes through
/// other chunks but collects only these; exact and lexical search score only these), so a
/// filtered search still returns `k` hits when `k` chunks match.
public struct SearchFilter: Sendable, Hashable {
    /// Only these documents (ids as stored: `guide/intro.md`, `corpus.jsonl#4983`).
    public var documents: [String]?
    /// Only documents whose id starts with this (a folder: `guide/`).
    public var pathPrefix: String?
    /// Only documents from files of these types (extensions, without the dot: `md`, `pdf`).
    public var fileTypes: [String]?
    /// Only documents whose metadata has every one of these keys with exactly this value.
    public var metadata: [String: String]?
    /// Only documents visible to a caller who speaks for these principals (`AccessList`):
    /// documents without an access list, or whose list is `public` or names one of them. `nil`:
    /// every document (a caller who may see all of its tenant's). Sorted, each once, so equal
    /// callers make equal filters (the result cache keys by them).
    public var visibleTo: [String]? {
        didSet { visibleTo = visibleTo.map { Array(Set($0)).sorted() } }
    }

    /// Creates a filter; no condition keeps every chunk.
    public init(
        documents: [String]? = nil, pathPrefix: String? = nil, fileTypes: [String]? = nil, metadata: [String: String]? = nil,
        visibleTo: [String]? = nil
    ) {
        self.documents = documents
        self.pathPrefix = pathPrefix
        self.fileTypes = fileTypes
        self.metadata = metadata
        self.visibleTo = visibleTo.map { Array(Set($0)).sorted() }
    }

    /// Whether the filter keeps every chunk.
    public var isEmpty: Bool {
        documents == nil && (pathPrefix ?? "").isEmpty && fileTypes == nil && (metadata ?? [:]).isEmpty && visibleTo == nil
    }

    /// Whether the filter keeps the document `path` of the file `source` with `metadata` and
    /// the access list `access`.
    public func accepts(path: String, source: String, metadata documentMetadata: [String: String] = [:], access: [String]? = nil) -> Bool {
        if !AccessList.isVisible(access, to: visibleTo) { return false }
        if let metadata, metadata.contains(where: { documentMetadata[$0.key] != $0.value }) { return false }
        if let documents, !documents.contains(path) { return false }
        if let pathPrefix, !pathPrefix.isEmpty, !path.hasPrefix(pathPrefix) { return false }
        if let fileTypes {
            let name = source.split(separator: "/").last.map(String.init) ?? source
            guard let dot = name.lastIndex(of: "."), fileTypes.contains(name[name.index(after: dot)...].lowercased()) else {
                return false
            }
        }
        return true
    }
}

