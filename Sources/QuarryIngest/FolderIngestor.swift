import Foundation
import Logging
import QuarryCore
import QuarryEmbedding
import QuarryDigest
import QuarryStore
import Synchronization

/// What one ingest run did (or, in a dry run, would do).
public struct IngestReport: Sendable, Equatable {
    /// Whether nothing was written: the lists say what would change.
    public var dryRun = false
    /// Documents new to the collection (for a JSONL file, one per record: `file#id`).
    public var added: [String] = []
    /// Documents whose content changed and were re-indexed.
    public var updated: [String] = []
    /// Documents removed: their file is gone from the folder, or their record from its file.
    public var removed: [String] = []
    /// Files unchanged since the last run.
    public var unchanged = 0
    /// Files not ingested: their type is not read, or `--include`/`--exclude` left them out.
    public var skipped = 0
    /// Files (or JSONL lines: `file:line`) that could not be read or indexed, with the reason.
    public var failed: [FailedFile] = []
    /// Chunks written (in a dry run: that would be written).
    public var chunksWritten = 0
    /// Personal data found in the documents read (by `PersonalDataFilter`), by entity type:
    /// counts only, never the values.
    public var personalData: [String: Int] = [:]
    /// Whether that personal data was redacted before it was stored.
    public var personalDataRedacted = false
    /// Set when everything was committed but the derived index could not be saved: the
    /// documents are stored and searchable, and the index is rebuilt from the store when next
    /// needed. Says why.
    public var indexWarning: String?

    /// A file that could not be ingested.
    public struct FailedFile: Sendable, Equatable {
        /// Path relative to the folder (with `:line` for one line of a JSONL file).
        public var path: String
        /// Why it failed.
        public var reason: String
    }

    /// Creates an empty report.
    public init() {}
}

/// How an ingest run selects files and whether it writes.
public struct IngestOptions: Sendable {
    /// When not empty, only files matching one of these are ingested.
    public var include: [Glob]
    /// Files matching one of these are left out (and, if ingested earlier, left alone).
    public var exclude: [Glob]
    /// Only report what would change.
    public var dryRun: Bool
    /// When not empty, a file whose real path (after symbolic links) is outside these folders is
    /// refused and reported, so that a link cannot lead an ingest out of the allowed roots.
    public var confinedTo: [URL]
    /// The access list of documents that name none and have no `.quarry-access` above them
    /// (see `FolderAccess`); `nil` leaves such documents' lists as they are.
    public var access: [String]?
    /// Called before each batch is embedded and written, with the chunks it adds to the
    /// collection net of those it replaces; throwing stops the ingest before that batch (what
    /// was written before stays, each document whole). The storage limit is checked here.
    public var admit: (@Sendable (_ growth: Int) async throws -> Void)?
    /// What happens to personal data in the documents (the collection's `ingest_pii`); `nil`
    /// leaves it alone. It applies to files read by this run: unchanged files are not re-read.
    public var personalData: PersonalDataFilter?
    /// Told after each slice of chunks is embedded: the embedding model and the word pieces it
    /// encoded (special tokens included, each text cut to the model's window), so that a server
    /// counts them for the key that started the job. A cancelled or failed run has reported what
    /// it embedded before it stopped.
    public var embedded: (@Sendable (_ model: String, _ tokens: Int) async -> Void)?

    /// Creates options.
    public init(include: [Glob] = [], exclude: [Glob] = [], dryRun: Bool = false, confinedTo: [URL] = [], access: [String]? = nil) {
        self.include = include
        self.exclude = exclude
        self.dryRun = dryRun
        self.access = access
        self.confinedTo = confinedTo.map { $0.standardizedFileURL.resolvingSymlinksInPath() }
    }

    /// Whether `url` (already resolved) is one of `roots` or inside one.
    public static func isInside(_ url: URL, _ roots: [URL]) -> Bool {
        let path = url.standardizedFileURL.path
        return roots.contains { root in
            let rootPath = root.standardizedFileURL.path
            return path == rootPath || path.hasPrefix(rootPath.hasSuffix("/") ? rootPath : rootPath + "/")
        }
    }

    /// Whether the file at `path` (relative) is selected.
    public func selects(_ path: String) -> Bool {
        (include.isEmpty || include.contains { $0.matches(path) }) && !exclude.contains { $0.matches(path) }
    }
}

/// How far an ingest run has got.
public struct IngestProgress: Sendable {
    /// Files read, written or found unchanged, out of `filesTotal`.
    public var filesDone: Int
    /// Files this run looks at (selected files of a supported type).
    public var filesTotal: Int
    /// Chunks written so far.
    public var chunksWritten: Int
    /// Bytes of the files to read (new or changed) that have been read so far.
    public var bytesDone: Int64
    /// Bytes of all the files to read: progress and ETA go by bytes, as one large file (a JSONL
    /// corpus) can hold most of the work.
    public var bytesTotal: Int64
    /// Time since the run started.
    public var elapsed: Duration

    /// The part of the work done, from 0 to 1.
    public var fraction: Double {
        bytesTotal > 0 ? min(1, Double(bytesDone) / Double(bytesTotal)) : filesTotal > 0 ? Double(filesDone) / Double(filesTotal) : 1
    }
}

/// Keeps a collection in step with a folder: new and changed files are read, chunked, embedded
/// and written (each document atomically), unchanged ones are skipped, and files gone from the
/// folder are removed.
///
/// The work is a pipeline: while the embedder runs on a batch of chunks, the next files are read,
/// parsed and chunked on another thread, and each embedded batch is written in one transaction.
/// A run stopped at any instant (a crash, `kill -9`, cancellation) leaves every document either
/// in its old state or its new one, and a file is recorded as ingested only after all of its
/// documents are written, so the next run picks up exactly what is left.
public struct FolderIngestor: Sendable {
    /// File extensions this ingestor reads.
    public static let supportedExtensions: Set<String> = ["txt", "md", "markdown", "html", "htm", "pdf", "docx", "jsonl"]

    private let store: any ChunkReader & ChunkWriter
    private let embedder: any Embedder
    private let chunker: Chunker
    private let logger: Logger
    /// Chunks embedded per call (and per write transaction), for throughput.
    private let embedBatchChunks: Int

    /// Creates an ingestor.
    /// - Parameters:
    ///   - store: where chunks and vectors go.
    ///   - embedder: the model that embeds chunks.
    ///   - chunkTokens: chunk size in the embedder's tokens.
    ///   - overlapTokens: tokens repeated between consecutive chunks; `nil` for 15 %.
    ///   - batchChunks: chunks embedded per call.
    public init(
        store: any ChunkReader & ChunkWriter, embedder: any Embedder, chunkTokens: Int = 200, overlapTokens: Int? = nil,
        batchChunks: Int = 64, logger: Logger? = nil
    ) {
        self.store = store
        self.embedder = embedder
        let limit = embedder.maxInputTokens - 2
        self.chunker = Chunker(targetTokens: min(chunkTokens, limit), maxTokens: limit, overlapTokens: overlapTokens) {
            [embedder] in embedder.tokenCount($0)
        }
        self.embedBatchChunks = max(1, batchChunks)
        self.logger = logger ?? Logger(label: "quarry.ingest")
    }

    /// Brings `collection` in step with every supported file of `folder`.
    public func ingest(folder: URL, collection: String) async throws -> IngestReport {
        try await ingest(folder: folder, collection: collection, options: IngestOptions())
    }

    /// Brings `collection` in step with `folder`.
    /// - Parameters:
    ///   - folder: the folder to ingest; document ids are paths relative to it.
    ///   - collection: the collection to write to; created for the embedder's model if missing.
    ///   - options: which files, and whether to write.
    ///   - progress: called after each written batch.
    /// - Returns: what changed.
    /// - Throws: `QuarryError` when the folder cannot be listed, the collection belongs to another
    ///   model, or the store or embedder fails; `CancellationError` when the task is cancelled
    ///   (what was written stays, consistent). A file that cannot be read is reported in the
    ///   result instead.
    public func ingest(
        folder: URL, collection: String, options: IngestOptions,
        progress: (@Sendable (IngestProgress) -> Void)? = nil
    ) async throws -> IngestReport {
        let start = ContinuousClock.now
        var report = IngestReport()
        report.dryRun = options.dryRun
        // A dry run neither creates the collection nor writes, but still refuses another model.
        let exists = try await store.collection(named: collection) != nil
        if exists || !options.dryRun { _ = try await store.ensureCollection(named: collection, model: embedder.model) }
        let readsStore = exists || !options.dryRun
        let known: [SourceRecord] = try await readsStore ? store.sources(in: collection) : []
        let knownDocuments: [DocumentRecord] = try await readsStore ? store.documents(in: collection) : []
        let knownByPath = Dictionary(known.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })

        let resolvedFolder = folder.standardizedFileURL.resolvingSymlinksInPath()
        // Plan: which files are unchanged by their size and time, which must be read.
        var tasks: [FileTask] = []
        var present = Set<String>()
        for (path, url) in try Self.listFiles(in: folder) {
            guard Self.supportedExtensions.contains(url.pathExtension.lowercased()), options.selects(path) else {
                report.skipped += 1
                continue
            }
            present.insert(path)
            // One policy for every ingest, the command line's and the server's: a link that
            // leads out of the folder is reported, never followed (nor, on the server, out of
            // the allowed roots).
            let target = url.standardizedFileURL.resolvingSymlinksInPath()
            guard IngestOptions.isInside(target, [resolvedFolder]),
                options.confinedTo.isEmpty || IngestOptions.isInside(target, options.confinedTo)
            else {
                report.failed.append(.init(path: path, reason: "a link that leads outside the folder being ingested; not followed"))
                continue
            }
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
            let mtime = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
            let previous = knownByPath[path]
            if let previous, previous.isComplete, previous.size == size, previous.modificationTime == mtime {
                report.unchanged += 1
                continue
            }
            tasks.append(FileTask(path: path, url: url, size: size, modificationTime: mtime, previous: previous))
        }
        let filesTotal = tasks.count + report.unchanged
        var filesDone = report.unchanged
        let bytesTotal = tasks.reduce(Int64(0)) { $0 + max(0, $1.size) }
        var bytesDone: Int64 = 0

        let access = FolderAccess(root: folder, fallback: options.access)
        let preparer = Preparer(
            tasks: tasks, knownDocuments: Dictionary(knownDocuments.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a }),
            access: access, chunker: chunker, batchChunks: embedBatchChunks, personalData: options.personalData, logger: logger
        )
        report.personalDataRedacted = options.personalData?.mode == .redact
        var chunksBefore = Dictionary(knownDocuments.map { ($0.path, $0.chunkCount) }, uniquingKeysWith: { a, _ in a })
        var next = Task { await preparer.nextBatch() }
        do {
            while let batch = await next.value {
                try Task.checkCancellation()
                next = Task { await preparer.nextBatch() }
                if !options.dryRun {
                    if let admit = options.admit {
                        try await admit(batch.documents.reduce(0) { $0 + $1.chunks.count - (chunksBefore[$1.record.path] ?? 0) })
                    }
                    try await write(batch, to: collection, embedded: options.embedded)
                    try await store.updateRecordLocations(in: collection, batch.relocations)
                }
                report.personalData.merge(batch.personalData, uniquingKeysWith: +)
                for document in batch.documents {
                    chunksBefore[document.record.path] = document.chunks.count
                    if document.isNew { report.added.append(document.record.path) } else { report.updated.append(document.record.path) }
                    report.chunksWritten += document.chunks.count
                }
                for event in batch.events {
                    switch event {
                    case .complete(let source, let keeping, let removed):
                        if !options.dryRun { try await store.completeSource(in: collection, source, keeping: keeping) }
                        report.removed.append(contentsOf: removed)
                    case .touched(let source):
                        if !options.dryRun { try await store.completeSource(in: collection, source, keeping: nil) }
                        report.unchanged += 1
                    case .failed(let path, let reason):
                        report.failed.append(.init(path: path, reason: reason))
                        logger.warning("cannot ingest \(path): \(reason)")
                    }
                }
                filesDone += batch.filesFinished
                bytesDone += batch.bytesRead
                progress?(
                    IngestProgress(
                        filesDone: filesDone, filesTotal: filesTotal, chunksWritten: report.chunksWritten,
                        bytesDone: bytesDone, bytesTotal: bytesTotal, elapsed: ContinuousClock.now - start
                    )
                )
            }
        } catch {
            next.cancel()
            _ = await next.value
            throw error
        }

        // A document this run did not rewrite (its file unchanged) still takes the list its
        // folder gives now: an edited `.quarry-access` or a new default reaches it without
        // re-embedding, so that access revoked in the folder is revoked in the store. A document
        // for which the folder gives none keeps its stored list, as a rewritten one does.
        let rewritten = Set(report.added + report.updated + report.removed)
        for document in knownDocuments where present.contains(document.source) && !rewritten.contains(document.path) {
            guard let list = access.access(path: document.path, metadata: document.metadata), list != document.access else { continue }
            try Task.checkCancellation()
            if !options.dryRun { try await store.setAccess(in: collection, path: document.path, access: list) }
        }

        // Files gone from the folder (among those this run selects) go from the store.
        let documentsBySource = Dictionary(grouping: knownDocuments, by: \.source)
        for source in known where !present.contains(source.path) && options.selects(source.path) {
            try Task.checkCancellation()
            report.removed.append(contentsOf: (documentsBySource[source.path] ?? []).map(\.path))
            if !options.dryRun { try await store.removeSource(in: collection, path: source.path) }
        }
        report.added.sort()
        report.updated.sort()
        report.removed.sort()
        if !options.dryRun {
            // Leave the derived index current on disk, so that the next server start loads it whole.
            // Every document is committed by now: an index that cannot be saved (disk full) is a
            // warning on a job that succeeded, never a failure that hides what was stored.
            do {
                try await store.synchronizeIndex(of: collection)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.error("the documents are stored, but the index of '\(collection)' could not be saved: \(error)")
                report.indexWarning = "the documents are stored and searchable, but the index could not be saved (\((error as? QuarryError)?.message ?? "\(error)")); it is rebuilt from the store when next needed"
            }
        }
        return report
    }

    /// Embeds a batch's chunks and writes its documents in one transaction.
    private func write(_ batch: Batch, to collection: String, embedded: (@Sendable (String, Int) async -> Void)?) async throws {
        guard !batch.documents.isEmpty else { return }
        let texts = batch.documents.flatMap { $0.chunks.map(\.text) }
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        do {
            var start = 0
            while start < texts.count {
                let end = min(start + embedBatchChunks, texts.count)
                let slice = Array(texts[start..<end])
                vectors += try await embedder.embed(slice, priority: .bulk)
                await embedded?(embedder.model.name, embedder.encodedTokenCount(slice))
                start = end
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw QuarryError(.embedding, "embedding failed", underlying: error)
        }
        var writes: [DocumentWrite] = []
        var offset = 0
        for document in batch.documents {
            let documentVectors = Array(vectors[offset..<offset + document.chunks.count])
            offset += document.chunks.count
            writes.append(DocumentWrite(document: document.record, chunks: document.chunks, vectors: documentVectors))
        }
        try await store.replaceDocuments(in: collection, writes)
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

    /// The structural blocks of a single-document file, by its type, its text when the blocks'
    /// lines are lines of the file's bytes, and its metadata (front matter, `<meta>` tags).
    static func blocks(
        of data: Data, at url: URL, fileExtension: String, path: String
    ) throws -> ([DocumentBlock], SourceText?, [String: String]) {
        switch fileExtension {
        case "pdf": return (try PDFLoader().blocks(ofFileAt: url), nil, [:])
        case "docx": return (try DOCXLoader().blocks(ofFileAt: url), nil, [:])
        default:
            let source = try SourceText(decoding: data, path: path)
            switch fileExtension {
            case "html", "htm":
                let loader = HTMLLoader()
                return (loader.blocks(of: source.text), source, loader.metadata(of: source.text))
            case "md", "markdown":
                return (TextLoader(markdown: true).blocks(of: source.text), source, TextLoader.frontMatter(of: source.text).metadata)
            default: return (TextLoader(markdown: false).blocks(of: source.text), source, [:])
            }
        }
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? QuarryError { return error.message }
        if let error = error as? CocoaError, let path = error.filePath {
            return "cannot read \(path): \(error.localizedDescription)"
        }
        return "\(error)"
    }
}

// MARK: - The pipeline's first stage

/// A file that must be read: new, changed by its size or time, or not completely ingested.
struct FileTask: Sendable {
    var path: String
    var url: URL
    var size: Int64
    var modificationTime: Double
    var previous: SourceRecord?
}

/// A document read and chunked, waiting to be embedded and written.
struct PreparedDocument: Sendable {
    var record: DocumentRecord
    var chunks: [Chunk]
    var isNew: Bool
}

/// Something to record once the batch's documents are written.
enum IngestEvent: Sendable {
    /// Every document of the file is written: record the file, dropping its other documents.
    case complete(SourceRecord, keeping: Set<String>?, removed: [String])
    /// The file's content is unchanged, only its time moved: record the new time.
    case touched(SourceRecord)
    /// A file, or a line of one, could not be read.
    case failed(path: String, reason: String)
}

/// Documents to embed and write together, and what to record after them.
struct Batch: Sendable {
    var documents: [PreparedDocument] = []
    /// Unchanged records whose line moved: their chunks' locations are updated, not re-embedded.
    var relocations: [RecordLocation] = []
    var events: [IngestEvent] = []
    var chunkCount = 0
    var filesFinished = 0
    /// Bytes of files read for this batch.
    var bytesRead: Int64 = 0
    /// Personal data found in this batch's documents, by entity type.
    var personalData: [String: Int] = [:]
}

/// Reads, hashes, parses and chunks files in order on its own thread, handing out batches of
/// about `batchChunks` chunks. A JSONL file is read a line at a time, across as many batches as
/// it takes.
final class Preparer: Sendable {
    private struct OpenJSONL {
        var task: FileTask
        var hash: String
        var lines: JSONLLoader.LineSequence.Iterator
        var seen: Set<String> = []
    }

    private struct State {
        var tasks: [FileTask]
        var nextTask = 0
        var open: OpenJSONL?
    }

    private let state: Mutex<State>
    private let knownDocuments: [String: DocumentRecord]
    private let access: FolderAccess
    private let chunker: Chunker
    private let batchChunks: Int
    private let personalData: PersonalDataFilter?
    private let logger: Logger
    private let queue = DispatchQueue(label: "quarry.ingest.prepare", qos: .userInitiated)

    init(
        tasks: [FileTask], knownDocuments: [String: DocumentRecord], access: FolderAccess, chunker: Chunker, batchChunks: Int,
        personalData: PersonalDataFilter?, logger: Logger
    ) {
        self.personalData = personalData
        self.state = Mutex(State(tasks: tasks))
        self.knownDocuments = knownDocuments
        self.access = access
        self.chunker = chunker
        self.batchChunks = batchChunks
        self.logger = logger
    }

    /// The next batch, or `nil` when every file has been handed out.
    func nextBatch() async -> Batch? {
        await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.state.withLock { self.fill(&$0) })
            }
        }
    }

    private func fill(_ state: inout State) -> Batch? {
        var batch = Batch()
        var touched = false
        while batch.chunkCount < batchChunks, batch.events.count < 4 * batchChunks {
            if state.open != nil {
                touched = true
                readLine(&state.open!, into: &batch)
                if let open = state.open, open.lines.isExhausted {
                    finish(open, into: &batch)
                    state.open = nil
                }
                continue
            }
            guard state.nextTask < state.tasks.count else { break }
            let task = state.tasks[state.nextTask]
            state.nextTask += 1
            touched = true
            state.open = prepare(task, into: &batch)
        }
        return touched ? batch : nil
    }

    /// Reads one file; a JSONL file is returned open, to be read line by line.
    private func prepare(_ task: FileTask, into batch: inout Batch) -> OpenJSONL? {
        let fileExtension = task.url.pathExtension.lowercased()
        do {
            let data = try Data(contentsOf: task.url)
            let hash = SHA256.hex(of: data)
            let source = SourceRecord(path: task.path, contentHash: hash, size: task.size, modificationTime: task.modificationTime)
            if let previous = task.previous, previous.isComplete, previous.contentHash == hash {
                // Only its time changed.
                batch.events.append(.touched(source))
                batch.filesFinished += 1
                batch.bytesRead += max(0, task.size)
                return nil
            }
            if fileExtension == "jsonl" {
                return OpenJSONL(task: task, hash: hash, lines: JSONLLoader().lines(of: data).makeIterator())
            }
            let (blocks, text, metadata) = try FolderIngestor.blocks(of: data, at: task.url, fileExtension: fileExtension, path: task.path)
            let record = DocumentRecord(
                path: task.path, source: task.path, contentHash: hash, size: task.size,
                modificationTime: task.modificationTime, chunkCount: 0, metadata: metadata,
                access: access.access(path: task.path, metadata: metadata)
            )
            add(record, blocks: blocks, text: text, into: &batch)
            batch.events.append(.complete(source, keeping: [task.path], removed: []))
        } catch {
            batch.events.append(.failed(path: task.path, reason: FolderIngestor.reason(error)))
        }
        batch.filesFinished += 1
        batch.bytesRead += max(0, task.size)
        return nil
    }

    private func readLine(_ open: inout OpenJSONL, into batch: inout Batch) {
        let before = open.lines.offset
        let next = open.lines.next()
        batch.bytesRead += Int64(open.lines.offset - before)
        guard let line = next else { return }
        switch line {
        case .malformed(let number, let reason):
            batch.events.append(.failed(path: "\(open.task.path):\(number)", reason: reason))
        case .document(let record):
            let path = "\(open.task.path)#\(record.id)"
            guard open.seen.insert(path).inserted else {
                batch.events.append(.failed(path: "\(open.task.path):\(record.line)", reason: "duplicate _id \(record.id)"))
                return
            }
            var document = DocumentRecord(
                path: path, source: open.task.path, contentHash: record.contentHash, size: Int64(record.bytes.count),
                modificationTime: open.task.modificationTime, chunkCount: 0, metadata: record.metadata,
                access: access.access(path: path, metadata: record.metadata)
            )
            if let previous = knownDocuments[path], previous.contentHash == record.contentHash {
                // The same record, perhaps on another line now: keep its vectors, move its chunks.
                batch.relocations.append(RecordLocation(path: path, line: record.line, bytes: record.bytes))
                return
            }
            guard let (blocks, metadata) = filtered(record.blocks, document.metadata, documentPath: path, knownHash: record.contentHash, into: &batch) else { return }
            document.metadata = metadata
            var chunks = chunker.chunk(blocks: blocks)
            for index in chunks.indices {
                chunks[index].location.byteStart = record.bytes.lowerBound
                chunks[index].location.byteEnd = record.bytes.upperBound
            }
            add(document, chunks: chunks, into: &batch)
        }
    }

    private func finish(_ open: OpenJSONL, into batch: inout Batch) {
        let source = SourceRecord(
            path: open.task.path, contentHash: open.hash, size: open.task.size, modificationTime: open.task.modificationTime
        )
        let removed = knownDocuments.values.filter { $0.source == open.task.path && !open.seen.contains($0.path) }.map(\.path)
        batch.events.append(.complete(source, keeping: open.seen, removed: removed))
        batch.filesFinished += 1
    }

    /// The blocks and metadata of a document as they are to be stored, personal data counted or
    /// redacted; `nil` when the store already holds this very version (nothing to count again).
    private func filtered(
        _ blocks: [DocumentBlock], _ metadata: [String: String], documentPath: String, knownHash: String, into batch: inout Batch
    ) -> ([DocumentBlock], [String: String])? {
        if let previous = knownDocuments[documentPath], previous.contentHash == knownHash { return nil }
        guard let personalData else { return (blocks, metadata) }
        return (personalData.apply(to: blocks, counts: &batch.personalData), personalData.apply(to: metadata, counts: &batch.personalData))
    }

    private func add(_ record: DocumentRecord, blocks: [DocumentBlock], text: SourceText?, into batch: inout Batch) {
        guard let (blocks, metadata) = filtered(blocks, record.metadata, documentPath: record.path, knownHash: record.contentHash, into: &batch) else { return }
        var record = record
        record.metadata = metadata
        var chunks = chunker.chunk(blocks: blocks)
        if let text {
            for index in chunks.indices {
                let location = chunks[index].location
                if let range = text.byteRange(lines: location.lineStart, location.lineEnd) {
                    chunks[index].location.byteStart = range.lowerBound
                    chunks[index].location.byteEnd = range.upperBound
                }
            }
        }
        add(record, chunks: chunks, into: &batch)
    }

    /// Queues a document unless the store already holds this very version of it (written by a
    /// run that stopped before it could record its file as complete).
    private func add(_ record: DocumentRecord, chunks: [Chunk], into batch: inout Batch) {
        let previous = knownDocuments[record.path]
        if let previous, previous.contentHash == record.contentHash { return }
        var record = record
        record.chunkCount = chunks.count
        batch.documents.append(PreparedDocument(record: record, chunks: chunks, isNew: previous == nil))
        batch.chunkCount += chunks.count
    }
}
