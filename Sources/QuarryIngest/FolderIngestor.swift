import Foundation
import Logging
import QuarryCore
import QuarryEmbedding
import QuarryKernels
import QuarryStore

/// What one ingest run did.
public struct IngestReport: Sendable, Equatable {
    /// Files new to the collection.
    public var added: [String] = []
    /// Files whose content changed and were re-indexed.
    public var updated: [String] = []
    /// Files gone from the folder, removed from the store.
    public var removed: [String] = []
    /// Files unchanged since the last run.
    public var unchanged = 0
    /// Files of a type that is not ingested.
    public var skipped = 0
    /// Files that could not be read or indexed, with the reason.
    public var failed: [FailedFile] = []
    /// Chunks written in this run.
    public var chunksWritten = 0

    /// A file that could not be ingested.
    public struct FailedFile: Sendable, Equatable {
        /// Path relative to the folder.
        public var path: String
        /// Why it failed.
        public var reason: String
    }

    /// Creates an empty report.
    public init() {}
}

/// Keeps a collection in step with a folder: new and changed `.txt` and `.md` files are chunked,
/// embedded and written (each file atomically), unchanged ones are skipped, and files gone from
/// the folder are removed.
public struct FolderIngestor: Sendable {
    /// File extensions this ingestor reads.
    public static let supportedExtensions: Set<String> = ["txt", "md", "markdown", "html", "htm", "pdf", "docx"]

    private let store: any ChunkStore
    private let embedder: any Embedder
    private let chunker: Chunker
    private let logger: Logger
    /// Chunks gathered from several small files are embedded together, for throughput.
    private let embedBatchChunks = 64

    /// Creates an ingestor.
    /// - Parameters:
    ///   - store: where chunks and vectors go.
    ///   - embedder: the model that embeds chunks.
    ///   - chunkTokens: chunk size in the embedder's tokens.
    public init(store: any ChunkStore, embedder: any Embedder, chunkTokens: Int = 200, logger: Logger? = nil) {
        self.store = store
        self.embedder = embedder
        let limit = embedder.maxInputTokens - 2
        self.chunker = Chunker(targetTokens: min(chunkTokens, limit), maxTokens: limit) { [embedder] in
            embedder.tokenCount($0)
        }
        self.logger = logger ?? Logger(label: "quarry.ingest")
    }

    /// A file read and chunked, waiting to be embedded and written.
    private struct PreparedFile {
        var record: DocumentRecord
        var chunks: [Chunk]
        var isNew: Bool
    }

    /// Brings `collection` in step with `folder`.
    /// - Parameters:
    ///   - folder: the folder to ingest; document ids are paths relative to it.
    ///   - collection: the collection to write to; created for the embedder's model if missing.
    /// - Returns: what changed.
    /// - Throws: `QuarryError` when the folder cannot be listed, the collection belongs to another
    ///   model, or the store fails. A file that cannot be read is reported in the result instead.
    public func ingest(folder: URL, collection: String) async throws -> IngestReport {
        _ = try store.ensureCollection(named: collection, model: embedder.model)
        let files = try Self.listFiles(in: folder)
        let known = Dictionary(uniqueKeysWithValues: try store.documents(in: collection).map { ($0.path, $0) })
        var report = IngestReport()
        var batch: [PreparedFile] = []
        var batchChunks = 0

        for (path, url) in files {
            let fileExtension = url.pathExtension.lowercased()
            guard Self.supportedExtensions.contains(fileExtension) else {
                report.skipped += 1
                continue
            }
            do {
                let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
                let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
                let mtime = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                let previous = known[path]
                if let previous, previous.size == size, previous.modificationTime == mtime {
                    report.unchanged += 1
                    continue
                }
                let data = try Data(contentsOf: url)
                let hash = SHA256.hex(of: data)
                if let previous, previous.contentHash == hash {
                    try store.touchDocument(in: collection, path: path, size: size, modificationTime: mtime)
                    report.unchanged += 1
                    continue
                }
                let blocks = try Self.blocks(of: data, at: url, fileExtension: fileExtension, path: path)
                let chunks = chunker.chunk(blocks: blocks)
                let record = DocumentRecord(
                    path: path, contentHash: hash, size: size, modificationTime: mtime, chunkCount: chunks.count
                )
                batch.append(PreparedFile(record: record, chunks: chunks, isNew: previous == nil))
                batchChunks += chunks.count
            } catch {
                report.failed.append(.init(path: path, reason: Self.reason(error)))
                logger.warning("cannot ingest \(path): \(Self.reason(error))")
                continue
            }
            if batchChunks >= embedBatchChunks {
                try await write(batch, to: collection, report: &report)
                batch = []
                batchChunks = 0
            }
        }
        try await write(batch, to: collection, report: &report)

        let present = Set(files.map(\.path))
        for path in known.keys.sorted() where !present.contains(path) {
            try store.removeDocument(in: collection, path: path)
            report.removed.append(path)
        }
        // Leave the derived index current on disk, so that the next server start loads it whole.
        try store.synchronizeIndex(of: collection)
        return report
    }

    /// Embeds the chunks of several files in one call and writes each file in its own transaction.
    private func write(_ files: [PreparedFile], to collection: String, report: inout IngestReport) async throws {
        guard !files.isEmpty else { return }
        let texts = files.flatMap { $0.chunks.map(\.text) }
        let vectors: [[Float]]
        do {
            vectors = try await embedder.embed(texts)
        } catch {
            throw QuarryError(.embedding, "embedding failed", underlying: error)
        }
        var offset = 0
        for file in files {
            let fileVectors = Array(vectors[offset..<offset + file.chunks.count])
            offset += file.chunks.count
            try store.replaceDocument(in: collection, document: file.record, chunks: file.chunks, vectors: fileVectors)
            report.chunksWritten += file.chunks.count
            if file.isNew { report.added.append(file.record.path) } else { report.updated.append(file.record.path) }
        }
    }

    /// Regular files below `folder`, skipping hidden files and folders, sorted by relative path.
    static func listFiles(in folder: URL) throws -> [(path: String, url: URL)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw QuarryError(.invalidRequest, "\(folder.path) is not a folder")
        }
        let root = folder.standardizedFileURL.resolvingSymlinksInPath()
        guard
            let enumerator = FileManager.default.enumerator(
                at: root, includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey],
                options: [.skipsHiddenFiles]
            )
        else {
            throw QuarryError(.unreadableInput, "cannot list \(folder.path)")
        }
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        var files: [(path: String, url: URL)] = []
        for case let url as URL in enumerator {
            let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])
            if values?.isSymbolicLink == true {
                // A link to a folder is not followed; a link to a file, or a broken link, is listed
                // so that reading it either works or is reported.
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
                    continue
                }
            } else if values?.isRegularFile != true {
                continue
            }
            let full = url.standardizedFileURL.path
            guard full.hasPrefix(prefix) else { continue }
            files.append((String(full.dropFirst(prefix.count)), url))
        }
        return files.sorted { $0.path < $1.path }
    }

    /// The structural blocks of a file, by its type.
    static func blocks(of data: Data, at url: URL, fileExtension: String, path: String) throws -> [DocumentBlock] {
        switch fileExtension {
        case "pdf": return try PDFLoader().blocks(ofFileAt: url)
        case "docx": return try DOCXLoader().blocks(ofFileAt: url)
        case "html", "htm": return HTMLLoader().blocks(of: try decode(data, path: path))
        case "md", "markdown": return TextLoader(markdown: true).blocks(of: try decode(data, path: path))
        default: return TextLoader(markdown: false).blocks(of: try decode(data, path: path))
        }
    }

    /// Decodes file bytes: UTF-8 (with or without BOM), else Latin-1.
    static func decode(_ data: Data, path: String) throws -> String {
        if let text = String(data: data, encoding: .utf8) {
            return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        }
        if let text = String(data: data, encoding: .isoLatin1) { return text }
        throw QuarryError(.unreadableInput, "\(path) is neither UTF-8 nor Latin-1 text")
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? QuarryError { return error.message }
        if let error = error as? CocoaError, let path = error.filePath {
            return "cannot read \(path): \(error.localizedDescription)"
        }
        return "\(error)"
    }
}
