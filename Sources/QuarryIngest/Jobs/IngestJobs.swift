import Foundation
import Logging
import QuarryCore
import QuarryEmbedding
import QuarryStore
import ServiceLifecycle
import Synchronization

/// The state of an ingest job, as `GET /jobs/{id}` shows it.
public struct IngestJobStatus: Sendable, Encodable {
    /// Where a job is in its life.
    public enum State: String, Sendable, Encodable {
        /// Waiting for the jobs before it; running; done; stopped by an error; stopped on request or by shutdown.
        case queued, running, succeeded, failed, cancelled
    }

    /// The job's id.
    public var id: String
    /// Where the job is in its life.
    public var state: State
    /// The folder, resolved.
    public var path: String
    /// The collection it ingests into.
    public var collection: String
    /// Files handled so far.
    public var filesDone = 0
    /// Files the folder holds (of those selected).
    public var filesTotal = 0
    /// Chunks written so far.
    public var chunksWritten = 0
    /// Files new to the collection.
    public var added = 0
    /// Files that changed.
    public var updated = 0
    /// Files gone from the folder, removed from the collection.
    public var removed = 0
    /// Files that had not changed.
    public var unchanged = 0
    /// Files skipped (unsupported type, excluded).
    public var skipped = 0
    /// Files that could not be ingested, with the reason.
    public var errors: [FileError] = []
    /// Personal data found in the documents read, by entity type (counts, never values).
    public var personalData: [String: Int] = [:]
    /// Whether that personal data was redacted before it was stored (`ingest_pii: redact`).
    public var personalDataRedacted = false
    /// Why the job as a whole failed.
    public var error: String?
    /// What went wrong without undoing what the job committed (the index could not be saved).
    public var warnings: [String] = []
    /// The failure's stable code (`QuarryError.Code`, `rate_limited` for a limit).
    public var errorCode: String?
    /// The configured limit the job ran into (`max_chunks`), when that is why it failed.
    public var limit: String?
    /// When the job was asked for.
    public var createdAt: Date
    /// When it started running.
    public var startedAt: Date?
    /// When it finished, however it did.
    public var finishedAt: Date?

    /// One file's failure.
    public struct FileError: Sendable, Encodable {
        /// The file, relative to the folder.
        public var path: String
        /// Why it could not be ingested.
        public var reason: String
    }

    enum CodingKeys: String, CodingKey {
        case id, state, path, collection, added, updated, removed, unchanged, skipped, errors, error, limit, warnings
        case errorCode = "error_code"
        case filesDone = "files_done"
        case personalData = "personal_data"
        case personalDataRedacted = "personal_data_redacted"
        case filesTotal = "files_total"
        case chunksWritten = "chunks_written"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }
}

/// Runs folder ingests for the HTTP API, one at a time in the order they were asked for (two
/// ingests of one collection must not interleave), and remembers the last jobs' outcomes.
///
/// Folders are accepted only below the configured roots, after resolving `..` and symbolic
/// links, and a link inside the folder that leads out of the roots is not followed.
public final class IngestJobs: Sendable {
    private struct Job {
        var status: IngestJobStatus
        var folder: URL
        var access: [String]?
        var admit: (@Sendable (Int) async throws -> Void)?
        var personalData: PersonalDataFilter?
        var embedded: (@Sendable (String, Int) async -> Void)?
        var task: Task<Void, Never>?
        /// Called once when the job ends, however it ends (a limit's slot is released there).
        var onFinish: (@Sendable () -> Void)?
    }

    private struct State {
        var jobs: [String: Job] = [:]
        var order: [String] = []
        /// The job that runs last; a new job waits for it.
        var tail: Task<Void, Never>?
        /// Set when the server shuts down: no new jobs.
        var closed = false
    }

    private let store: any ChunkReader & ChunkWriter
    private let embedder: any Embedder
    /// Resolved roots under which folders may be ingested.
    public let roots: [URL]
    private let state = Mutex(State())
    private let logger: Logger
    /// Finished jobs kept for `GET /jobs/{id}`.
    private let retainedJobs = 200
    /// The roots as given (standardized, links not followed), for placing a path that does not
    /// exist without asking the file system.
    private let givenRoots: [URL]
    /// The most jobs that may wait to run; more are refused (429) rather than queued without end.
    public let maxQueuedJobs: Int

    /// Creates the job runner.
    /// - Parameter roots: folders under which ingest is allowed; none disables `POST /ingest`.
    /// - Parameter maxQueuedJobs: the most jobs that may wait behind the running one.
    public init(store: any ChunkReader & ChunkWriter, embedder: any Embedder, roots: [URL], logger: Logger, maxQueuedJobs: Int = 64) {
        self.store = store
        self.embedder = embedder
        self.roots = roots.map { $0.standardizedFileURL.resolvingSymlinksInPath() }
        givenRoots = roots.map(\.standardizedFileURL)
        self.maxQueuedJobs = max(1, maxQueuedJobs)
        self.logger = logger
    }

    /// Queues an ingest of `path` into `collection`.
    /// - Throws: `QuarryError.invalidRequest` for a bad collection name or path, `.notFound` when
    ///   the folder does not exist; `.forbidden` when ingest is disabled or the folder lies
    ///   outside the roots; `.shuttingDown` once the jobs are shutting down.
    /// - Parameters:
    ///   - access: the access list of documents that name none (`IngestOptions.access`).
    ///   - admit: checks each batch's growth before it is written (`IngestOptions.admit`).
    ///   - personalData: what happens to personal data (`IngestOptions.personalData`).
    ///   - embedded: told what each slice of chunks embedded (`IngestOptions.embedded`).
    ///   - onFinish: called once when the job ends, succeeded, failed or cancelled.
    public func start(
        path: String, collection: String, access: [String]? = nil, admit: (@Sendable (Int) async throws -> Void)? = nil,
        personalData: PersonalDataFilter? = nil, embedded: (@Sendable (_ model: String, _ tokens: Int) async -> Void)? = nil,
        onFinish: (@Sendable () -> Void)? = nil
    ) throws -> IngestJobStatus {
        try CollectionName.validateStored(collection)
        let folder = try resolve(path)
        let id = UUID().uuidString.lowercased()
        let status = IngestJobStatus(id: id, state: .queued, path: folder.path, collection: collection, createdAt: Date())
        try state.withLock { state in
            guard !state.closed else {
                throw QuarryError(.shuttingDown, "the server is shutting down; no new ingest jobs")
            }
            let waiting = state.jobs.values.filter { $0.status.state == .queued }.count
            guard waiting < maxQueuedJobs else {
                throw QuarryError(.rateLimited, "\(waiting) ingest jobs are already waiting; try again when some have run")
            }
            let previous = state.tail
            let task = Task { [self] in
                await previous?.value
                await self.run(id)
            }
            state.jobs[id] = Job(
                status: status, folder: folder, access: access, admit: admit, personalData: personalData, embedded: embedded, task: task,
                onFinish: onFinish
            )
            state.order.append(id)
            state.tail = task
            // Forget the oldest finished jobs.
            while state.order.count > retainedJobs,
                let index = state.order.firstIndex(where: { state.jobs[$0]?.status.finishedAt != nil })
            {
                state.jobs[state.order.remove(at: index)] = nil
            }
        }
        return status
    }

    /// The job's current state, or `nil` for an unknown id.
    public func status(_ id: String) -> IngestJobStatus? {
        state.withLock { $0.jobs[id]?.status }
    }

    /// The jobs kept (the last 200 that ended, and every one queued or running), newest first.
    public func all() -> [IngestJobStatus] {
        state.withLock { state in state.order.reversed().compactMap { state.jobs[$0]?.status } }
    }

    /// Asks a job to stop: a queued job does not start, a running one stops after its current
    /// batch (what it wrote stays, consistent). Returns the job's state, or `nil` for an unknown id.
    public func cancel(_ id: String) -> IngestJobStatus? {
        state.withLock { state in
            guard var job = state.jobs[id] else { return nil }
            if job.status.state == .queued {
                job.status.state = .cancelled
                job.status.finishedAt = Date()
                state.jobs[id] = job
            }
            job.task?.cancel()
            return job.status
        }
    }

    /// Refuses new jobs, cancels every job (a running one stops after its current batch, what it
    /// wrote consistent) and waits for them to stop.
    public func shutdown() async {
        let tasks = state.withLock { state in
            state.closed = true
            return state.jobs.values.compactMap(\.task)
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    /// Waits until the job is finished (for tests and callers that want the outcome).
    public func wait(_ id: String) async {
        let task = state.withLock { $0.jobs[id]?.task }
        await task?.value
    }

    private func update(_ id: String, _ body: (inout IngestJobStatus) -> Void) {
        state.withLock { state in
            if var job = state.jobs[id] {
                body(&job.status)
                state.jobs[id] = job
            }
        }
    }

    private func run(_ id: String) async {
        defer {
            let finish = state.withLock { state -> (@Sendable () -> Void)? in
                defer { state.jobs[id]?.onFinish = nil }
                return state.jobs[id]?.onFinish
            }
            finish?()
        }
        guard let job = state.withLock({ $0.jobs[id] }), job.status.state == .queued else { return }
        if Task.isCancelled {
            update(id) {
                $0.state = .cancelled
                $0.finishedAt = Date()
            }
            return
        }
        update(id) {
            $0.state = .running
            $0.startedAt = Date()
        }
        let ingestor = FolderIngestor(store: store, embedder: embedder, logger: logger)
        var options = IngestOptions(confinedTo: roots, access: job.access)
        options.admit = job.admit
        options.personalData = job.personalData
        options.embedded = job.embedded
        do {
            let report = try await ingestor.ingest(folder: job.folder, collection: job.status.collection, options: options) {
                [self] progress in
                self.update(id) {
                    $0.filesDone = progress.filesDone
                    $0.filesTotal = progress.filesTotal
                    $0.chunksWritten = progress.chunksWritten
                }
            }
            update(id) {
                $0.state = .succeeded
                $0.added = report.added.count
                $0.updated = report.updated.count
                $0.removed = report.removed.count
                $0.unchanged = report.unchanged
                $0.skipped = report.skipped
                $0.chunksWritten = report.chunksWritten
                $0.personalData = report.personalData
                $0.personalDataRedacted = report.personalDataRedacted
                $0.filesDone = $0.filesTotal
                $0.errors = report.failed.map { .init(path: $0.path, reason: $0.reason) }
                $0.warnings = report.indexWarning.map { [$0] } ?? []
                $0.finishedAt = Date()
            }
        } catch is CancellationError {
            update(id) {
                $0.state = .cancelled
                $0.finishedAt = Date()
            }
        } catch {
            logger.error("ingest job \(id) failed: \(error)")
            update(id) {
                $0.state = .failed
                // What a client reads: a storage failure says what failed, not where the store is.
                $0.error = ((error as? QuarryError) ?? QuarryError(.internal, "\(error)")).clientMessage
                $0.errorCode = (error as? QuarryError)?.code.rawValue ?? QuarryError.Code.internal.rawValue
                $0.limit = (error as? QuarryError)?.limitName
                $0.finishedAt = Date()
            }
        }
    }

    /// The folder `path` names, resolved, if it lies under a root.
    private func resolve(_ path: String) throws -> URL {
        guard !roots.isEmpty else {
            throw QuarryError(.forbidden, "ingest over HTTP is disabled: start the server with --ingest-root DIR")
        }
        guard !path.isEmpty, !path.contains("\0") else { throw QuarryError(.invalidRequest, "path is empty") }
        guard !path.split(separator: "/").contains("..") else {
            throw QuarryError(.invalidRequest, "path must not contain '..'")
        }
        let url = (path.hasPrefix("/") ? URL(fileURLWithPath: path) : roots[0].appendingPathComponent(path)).standardizedFileURL
        // Outside the roots is refused before the file system is asked, so that the answer says
        // nothing of what exists there.
        guard IngestOptions.isInside(url, roots) || IngestOptions.isInside(url, givenRoots) else {
            throw QuarryError(.forbidden, "\(path) is not under an allowed ingest root")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw QuarryError(.notFound, "no folder at \(path)")
        }
        let resolved = url.resolvingSymlinksInPath()
        guard IngestOptions.isInside(resolved, roots) else {
            throw QuarryError(.forbidden, "\(path) is not under an allowed ingest root")
        }
        guard isDirectory.boolValue else { throw QuarryError(.invalidRequest, "\(path) is not a folder") }
        return resolved
    }
}

/// As a service: runs until graceful shutdown, then stops the jobs at a safe point. `quarry serve`
/// lists it after the HTTP server, so it stops first, while the server still answers.
extension IngestJobs: Service {
    /// Runs until graceful shutdown, then stops the jobs at a safe point.
    public func run() async throws {
        try? await gracefulShutdown()
        logger.info("stopping ingest jobs at their next batch boundary")
        await shutdown()
    }
}
