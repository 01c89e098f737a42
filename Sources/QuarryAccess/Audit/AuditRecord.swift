import Foundation
import QuarryCore

/// One entry of the audit log: who did what to which data, when, and how it ended.
///
/// A record is stored in its canonical encoding (`canonicalJSON()`): JSON with sorted keys, no
/// whitespace, absent fields left out and the time as `AuditTimestamp` writes it, so the same
/// record always gives the same bytes and the same hash. Key material never appears in it: the
/// key is named by its public id.
public struct AuditRecord: Sendable, Hashable, Codable {
    /// What the record is about.
    public enum Kind: String, Sendable, Codable {
        /// A request to the service.
        case request
        /// The log's own retention: the oldest rows were removed.
        case prune
    }

    /// How a request ended.
    public enum Outcome: String, Sendable, Codable {
        /// It did what was asked.
        case ok
        /// It was refused: no key, a bad key, a role or a limit that does not allow it.
        case denied
        /// It failed.
        case error
    }

    /// The encoding's version, written into every record.
    public static let version = 1

    /// What the record is about.
    public var kind: Kind
    /// When it happened, to the millisecond.
    public var at: Date
    /// The request's id (the `X-Request-ID` the server answered with).
    public var requestID: String?
    /// The tenant the request acted in; `nil` when no key was recognised, and for prunes.
    public var tenant: String?
    /// The public id of the key (never its secret); `nil` without a key.
    public var keyID: String?
    /// The key's role.
    public var role: Role?
    /// The HTTP method.
    public var method: String?
    /// The route's path template (`/collections/{name}/documents`), not the path with its values.
    public var route: String?
    /// The collection the request named.
    public var collection: String?
    /// The ids of the documents it read, wrote or deleted, as given.
    public var documents: [String]
    /// How it ended.
    public var outcome: Outcome?
    /// The HTTP status it was answered with.
    public var status: Int?
    /// The query text, when the log keeps queries in full.
    public var query: String?
    /// The query's SHA-256 (hex), when the log keeps query hashes.
    public var querySHA256: String?
    /// For a prune: the last sequence number removed.
    public var prunedThrough: Int64?
    /// For a prune: the hash of that row, the anchor the remaining chain starts from.
    public var anchorHash: String?

    /// The record of a request.
    /// - Parameters:
    ///   - at: when it happened (kept to the millisecond).
    ///   - principal: who asked; `nil` when no key was recognised.
    ///   - route: the path template, not the path with its values.
    ///   - query: the query text, kept as `queryMode` says.
    public init(
        at: Date = Date(), requestID: String?, principal: Principal?, method: String, route: String, collection: String? = nil,
        documents: [String] = [], outcome: Outcome, status: Int, query: String? = nil, queryMode: AuditQueryMode = .off
    ) {
        self.kind = .request
        self.at = AuditTimestamp.rounded(at)
        self.requestID = requestID
        self.tenant = principal?.tenant
        self.keyID = principal?.keyID
        self.role = principal?.role
        self.method = method
        self.route = route
        self.collection = collection
        self.documents = documents
        self.outcome = outcome
        self.status = status
        let kept = queryMode.form(of: query)
        self.query = kept.text
        self.querySHA256 = kept.sha256
    }

    /// The record of a prune: rows through `throughSeq` were removed, the last of them with the
    /// hash `anchorHash`.
    public static func prune(throughSeq: Int64, anchorHash: String, at: Date = Date()) -> AuditRecord {
        AuditRecord(kind: .prune, at: AuditTimestamp.rounded(at), prunedThrough: throughSeq, anchorHash: anchorHash)
    }

    private init(kind: Kind, at: Date, prunedThrough: Int64?, anchorHash: String?) {
        self.kind = kind
        self.at = at
        self.documents = []
        self.prunedThrough = prunedThrough
        self.anchorHash = anchorHash
    }

    /// Reads a record from its canonical encoding.
    /// - Throws: `QuarryError(.invalidRequest)` when `json` is not an audit record.
    public init(canonicalJSON json: String) throws {
        do {
            self = try JSONDecoder().decode(AuditRecord.self, from: Data(json.utf8))
        } catch {
            throw QuarryError(.invalidRequest, "not an audit record", underlying: error)
        }
    }

    /// The canonical encoding: the bytes the hash chain covers.
    /// - Throws: `QuarryError(.internal)` if the encoder fails (it has no reason to).
    public func canonicalJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        } catch {
            throw QuarryError(.internal, "cannot encode an audit record", underlying: error)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case version = "v"
        case kind, at
        case requestID = "request_id"
        case tenant
        case keyID = "key_id"
        case role, method, route, collection, documents, outcome, status, query
        case querySHA256 = "query_sha256"
        case prunedThrough = "pruned_through"
        case anchorHash = "anchor_hash"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(Kind.self, forKey: .kind)
        let text = try container.decode(String.self, forKey: .at)
        guard let at = AuditTimestamp.date(text) else {
            throw DecodingError.dataCorruptedError(forKey: .at, in: container, debugDescription: "'\(text)' is not an audit time")
        }
        self.at = at
        requestID = try container.decodeIfPresent(String.self, forKey: .requestID)
        tenant = try container.decodeIfPresent(String.self, forKey: .tenant)
        keyID = try container.decodeIfPresent(String.self, forKey: .keyID)
        role = try container.decodeIfPresent(Role.self, forKey: .role)
        method = try container.decodeIfPresent(String.self, forKey: .method)
        route = try container.decodeIfPresent(String.self, forKey: .route)
        collection = try container.decodeIfPresent(String.self, forKey: .collection)
        documents = try container.decodeIfPresent([String].self, forKey: .documents) ?? []
        outcome = try container.decodeIfPresent(Outcome.self, forKey: .outcome)
        status = try container.decodeIfPresent(Int.self, forKey: .status)
        query = try container.decodeIfPresent(String.self, forKey: .query)
        querySHA256 = try container.decodeIfPresent(String.self, forKey: .querySHA256)
        prunedThrough = try container.decodeIfPresent(Int64.self, forKey: .prunedThrough)
        anchorHash = try container.decodeIfPresent(String.self, forKey: .anchorHash)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.version, forKey: .version)
        try container.encode(kind, forKey: .kind)
        try container.encode(AuditTimestamp.string(at), forKey: .at)
        try container.encodeIfPresent(requestID, forKey: .requestID)
        try container.encodeIfPresent(tenant, forKey: .tenant)
        try container.encodeIfPresent(keyID, forKey: .keyID)
        try container.encodeIfPresent(role, forKey: .role)
        try container.encodeIfPresent(method, forKey: .method)
        try container.encodeIfPresent(route, forKey: .route)
        try container.encodeIfPresent(collection, forKey: .collection)
        if !documents.isEmpty { try container.encode(documents, forKey: .documents) }
        try container.encodeIfPresent(outcome, forKey: .outcome)
        try container.encodeIfPresent(status, forKey: .status)
        try container.encodeIfPresent(query, forKey: .query)
        try container.encodeIfPresent(querySHA256, forKey: .querySHA256)
        try container.encodeIfPresent(prunedThrough, forKey: .prunedThrough)
        try container.encodeIfPresent(anchorHash, forKey: .anchorHash)
    }
}
