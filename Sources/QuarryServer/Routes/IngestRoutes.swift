import Foundation
import Hummingbird
import Logging
import QuarryAccess
import QuarryCore
import QuarryGuard
import QuarryIngest
import QuarryStore

/// The body of `POST /ingest`.
struct IngestRequestBody: Decodable {
    var path: String
    var collection: String?
    /// The access list of documents that name none (see `FolderAccess`).
    var access: [String]?
}

/// The answer of `PUT /documents/{id}/access`: `access` is absent when every key of the
/// tenant may see the document.
struct AccessResponseBody: Encodable {
    var document: String
    var collection: String
    var access: [String]?
}

/// The body of `PUT /documents/{id}/access`.
struct AccessRequestBody: Decodable {
    /// Who may see the document; `null` (or absent): every key of the tenant.
    var access: [String]?
}

/// `POST /ingest`, `GET /jobs/{id}`, `DELETE /jobs/{id}`: folder ingests run as background jobs.
struct IngestRoutes: Sendable {
    let jobs: IngestJobs
    /// Where the tenant's stored chunks are counted, for its storage limit.
    let store: any ChunkReader
    let maxBodyBytes: Int
    /// Each tenant's ingest-job limit; `nil` for none.
    let limits: ServiceLimits?
    /// The guards' settings: what happens to personal data at ingest, by collection and tier.
    let guardrails: GuardrailSettings
    let metrics: ServerMetrics

    /// Counts what an ingest job of `principal` embeds for its key; `nil` when nothing is counted.
    func embeddingCounter(for principal: Principal, logger: Logger) -> (@Sendable (String, Int) async -> Void)? {
        guard let limits else { return nil }
        let metrics = metrics
        return { model, tokens in
            do {
                try await limits.record(.embedding(model: model, tokens: tokens), for: principal, metrics: metrics)
            } catch {
                logger.error("the embedding tokens of an ingest job could not be counted: \(error)")
            }
        }
    }

    func register(on router: Router<QuarryRequestContext>) {
        router.post("/ingest") { request, context in
            let principal = try context.principal(for: .write)
            // Refused before a job is queued, rather than failing the job at its first write.
            try store.requireWritable()
            let body = try await JSON.decode(IngestRequestBody.self, from: request, limit: maxBodyBytes)
            let collection = try principal.storeName(of: body.collection ?? CollectionName.default)
            let access = try body.access.map(AccessList.checked)
            // A tenant at its limit of ingest jobs gets a 429 and no job; a slot taken is given
            // back when the job ends (or at once if it never starts).
            let admit = try limits?.storageAdmission(for: principal, store: store)
            let slot = try limits.map { try $0.ingestJobs.acquire(tenant: principal.tenant, limit: try $0.effective(for: principal).ingestJobs) }
            let status: IngestJobStatus
            do {
                let tier = principal.keyID == nil ? nil : principal.tier ?? principal.tenantTier ?? limits?.configuration.defaultTier
                let personalData = PersonalDataFilter(policy: guardrails.policy(collection: collection, tier: tier))
                status = try jobs.start(
                    path: body.path, collection: collection, access: access, admit: admit, personalData: personalData,
                    embedded: embeddingCounter(for: principal, logger: context.logger)
                ) {
                    slot?.release()
                }
            } catch {
                slot?.release()
                throw error
            }
            var response = try JSON.response(["job_id": status.id], status: .accepted)
            response.headers[.location] = "/jobs/\(status.id)"
            return response
        }
        router.get("/jobs") { request, context in
            let principal = try context.principal(for: .write)
            let limit = try AdminRoutes.integer(request.uri.queryParameters["limit"], name: "limit", default: 20, range: 1...200)
            let visible = jobs.all().lazy.compactMap { Self.visible($0, to: principal) }
            return try JSON.response(["jobs": Array(visible.prefix(limit))])
        }
        router.get("/jobs/{id}") { _, context in
            let principal = try context.principal(for: .write)
            let id = try context.parameters.require("id")
            guard let status = jobs.status(id).flatMap({ Self.visible($0, to: principal) }) else { throw APIError.noSuchJob(id) }
            return try JSON.response(status)
        }
        router.delete("/jobs/{id}") { _, context in
            let principal = try context.principal(for: .write)
            let id = try context.parameters.require("id")
            // Another tenant's job does not exist for this caller: looked up before it is touched.
            guard let current = jobs.status(id).flatMap({ Self.visible($0, to: principal) }) else { throw APIError.noSuchJob(id) }
            // A job that has ended cannot be cancelled: say so rather than accept it.
            guard current.finishedAt == nil else {
                throw QuarryError(.conflict, "job \(id) has already ended (\(current.state.rawValue)); nothing to cancel")
            }
            guard let status = jobs.cancel(id).flatMap({ Self.visible($0, to: principal) }) else { throw APIError.noSuchJob(id) }
            return try JSON.response(status, status: .accepted)
        }
    }

    /// The job as `principal` may see it (its collection by the name the tenant knows), or
    /// `nil` when it is another tenant's or in a collection outside the key's list.
    static func visible(_ status: IngestJobStatus, to principal: Principal) -> IngestJobStatus? {
        guard let name = principal.visibleName(ofStoreName: status.collection) else { return nil }
        var status = status
        status.collection = name
        return status
    }
}

extension APIError {
    static func noSuchJob(_ id: String) -> APIError {
        APIError(status: .notFound, code: QuarryError.Code.notFound.rawValue, message: "no ingest job \(id)")
    }
}

/// A document as `GET /documents` lists it.
struct DocumentSummary: Encodable {
    var id: String
    var source: String
    var contentHash: String
    var size: Int64
    var modifiedAt: Date
    var chunks: Int
    var metadata: [String: String]
    /// Who may see it; absent: every key of the tenant.
    var access: [String]?

    init(_ record: DocumentRecord) {
        self.metadata = record.metadata
        self.access = record.access
        self.id = record.path
        self.source = record.source
        self.contentHash = record.contentHash
        self.size = record.size
        self.modifiedAt = Date(timeIntervalSince1970: record.modificationTime)
        self.chunks = record.chunkCount
    }

    enum CodingKeys: String, CodingKey {
        case id, source, size, chunks, metadata, access
        case contentHash = "content_hash"
        case modifiedAt = "modified_at"
    }
}

/// A stored chunk in `GET /documents/{id}`.
struct ChunkSummary: Encodable {
    var chunkID: String
    var ordinal: Int
    var text: String
    var headingPath: [String]
    var location: ChunkLocation

    enum CodingKeys: String, CodingKey {
        case ordinal, text, location
        case chunkID = "chunk_id"
        case headingPath = "heading_path"
    }
}

/// `GET /documents?collection=`, `GET /documents/{id}`, `DELETE /documents/{id}`. A document id
/// is its path relative to the ingested folder (`guide/intro.md`, `corpus.jsonl#4983`): slashes
/// may be sent as they are, `#` must be sent as `%23`.
struct DocumentRoutes: Sendable {
    let store: any ChunkReader & ChunkWriter
    let maxBodyBytes: Int
    /// Saves a collection's index shortly after deletes, so the file on disk follows them.
    let indexSaves = IndexSaveScheduler()
    /// Most documents one listing returns.
    static let maxLimit = 10_000
    /// The route of `GET` and `DELETE /documents/{id}`, and of `PUT /documents/{id}/access`,
    /// which tells the two apart by the last segment.
    static let documentPath: RouterPath = "/documents/**"
    /// The path `PUT /documents/**` serves, for the `Allow` header of other methods.
    static let accessPath: RouterPath = "/documents/**/access"

    func register(on router: Router<QuarryRequestContext>) {
        router.get("/documents") { request, context in
            let query = request.uri.queryParameters
            let principal = try context.principal(for: .readDocuments)
            let (collection, stored) = try Self.collection(request, principal)
            let limit = try Self.integer(query["limit"], name: "limit", default: 1000, range: 1...Self.maxLimit)
            let offset = try Self.integer(query["offset"], name: "offset", default: 0, range: 0...Int.max)
            let prefix = query["prefix"].map(String.init) ?? ""
            let contains = query["contains"].map(String.init) ?? ""
            guard contains.count <= 1024 else {
                throw APIError(status: .badRequest, code: QuarryError.Code.invalidRequest.rawValue, message: "contains must be at most 1,024 characters")
            }
            let page = try await store.documents(
                in: stored, prefix: prefix, contains: contains, limit: limit, offset: offset, visibleTo: principal.visibility
            )
            return try JSON.response(
                DocumentList(collection: collection, total: page.total, documents: page.documents.map(DocumentSummary.init))
            )
        }
        router.get("/documents/**") { request, context in
            let principal = try context.principal(for: .readDocuments)
            let (collection, stored) = try Self.collection(request, principal)
            let id = try Self.documentID(context)
            try Self.refuseAccessPath(id, request.method)
            // A document the caller may not see does not exist for it.
            guard let (record, chunks) = try await store.document(in: stored, path: id), principal.canSee(record.access) else {
                throw Self.noSuchDocument(id, collection)
            }
            return try JSON.response(
                DocumentDetail(
                    collection: collection, document: DocumentSummary(record),
                    chunks: chunks.map {
                        ChunkSummary(chunkID: $0.chunkID, ordinal: $0.ordinal, text: $0.text, headingPath: $0.headingPath, location: $0.location)
                    }
                )
            )
        }
        router.put("/documents/**") { request, context in
            // `PUT /documents/{id}/access`: the document id may itself hold slashes.
            let principal = try context.principal(for: .write)
            let (collection, stored) = try Self.collection(request, principal)
            var parts = context.parameters.getCatchAll().map(String.init)
            guard parts.count >= 2, parts.removeLast() == "access" else {
                throw APIError.methodNotAllowed(.put, allow: MethodNotAllowedMiddleware<QuarryRequestContext>.allowHeader([.get, .delete]))
            }
            guard let id = parts.joined(separator: "/").removingPercentEncoding, !id.isEmpty else {
                throw QuarryError(.invalidRequest, "malformed document id")
            }
            try Self.checkDocumentID(id)
            let body = try await JSON.decode(AccessRequestBody.self, from: request, limit: maxBodyBytes)
            guard let (record, _) = try await store.document(in: stored, path: id), principal.canSee(record.access) else {
                throw Self.noSuchDocument(id, collection)
            }
            let access = try body.access.map(AccessList.checked)
            guard try await store.setAccess(in: stored, path: id, access: access) else { throw Self.noSuchDocument(id, collection) }
            return try JSON.response(AccessResponseBody(document: id, collection: collection, access: access))
        }
        router.delete("/documents/**") { request, context in
            let principal = try context.principal(for: .write)
            let (collection, stored) = try Self.collection(request, principal)
            let id = try Self.documentID(context)
            try Self.refuseAccessPath(id, request.method)
            guard let (record, _) = try await store.document(in: stored, path: id), principal.canSee(record.access) else {
                throw Self.noSuchDocument(id, collection)
            }
            guard try await store.removeDocument(in: stored, path: id) else { throw Self.noSuchDocument(id, collection) }
            indexSaves.schedule(stored, in: store)
            return try JSON.response(["deleted": id, "collection": collection])
        }
    }

    /// The `collection` query parameter, and the store's name of it for `principal`.
    private static func collection(_ request: Request, _ principal: Principal) throws -> (name: String, stored: String) {
        let name = request.uri.queryParameters["collection"].map(String.init) ?? CollectionName.default
        return (name, try principal.storeName(of: name))
    }

    private static func documentID(_ context: QuarryRequestContext) throws -> String {
        let raw = context.parameters.getCatchAll().joined(separator: "/")
        guard let id = raw.removingPercentEncoding, !id.isEmpty else {
            throw APIError(status: .badRequest, code: QuarryError.Code.invalidRequest.rawValue, message: "malformed document id")
        }
        try checkDocumentID(id)
        return id
    }

    /// `GET` or `DELETE /documents/{id}/access` is a method the access path does not take: 405
    /// rather than 404, whatever the collection. An id ending in `/access` is the access path's,
    /// as `PUT` reads it too (no ingested file has that name: files have an extension).
    private static func refuseAccessPath(_ id: String, _ method: HTTPRequest.Method) throws {
        guard id.hasSuffix("/access") else { return }
        throw APIError.methodNotAllowed(method, allow: "PUT")
    }

    /// Refuses an id holding a control character (`%00` would cut it short where C strings
    /// are read, so `a.html%00x` could name `a.html`).
    static func checkDocumentID(_ id: String) throws {
        guard !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIError(
                status: .badRequest, code: QuarryError.Code.invalidRequest.rawValue,
                message: "a document id must not contain control characters (such as %00)"
            )
        }
    }

    private static func integer(_ value: Substring?, name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let value else { return fallback }
        guard let number = Int(value), range.contains(number) else {
            throw APIError(
                status: .badRequest, code: QuarryError.Code.invalidRequest.rawValue,
                message: "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)"
            )
        }
        return number
    }

    private static func noSuchDocument(_ id: String, _ collection: String) -> APIError {
        APIError(status: .notFound, code: QuarryError.Code.notFound.rawValue, message: "no document '\(id)' in collection '\(collection)'")
    }
}

struct DocumentList: Encodable {
    var collection: String
    var total: Int
    var documents: [DocumentSummary]
}

struct DocumentDetail: Encodable {
    var collection: String
    var document: DocumentSummary
    var chunks: [ChunkSummary]
}
