/// What a key may do. Each role includes the rights of the one before it; `operator` is the
/// server-wide role that manages tenants and is not bound to one.
public enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    /// Query, search and read documents.
    case reader
    /// A reader that may also ingest and delete documents.
    case writer
    /// A writer that may also manage its tenant's collections, keys, audit log and usage.
    case admin
    /// Manages tenants; acts in any tenant.
    case `operator`

    /// The roles from least to most rights.
    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }

    /// Whether the role grants `action`.
    public func allows(_ action: Action) -> Bool { self >= action.minimumRole }
}

/// The kinds of request the roles are defined over.
public enum Action: String, Sendable, CaseIterable {
    /// `/query`, `/search`, `/v1/embeddings`, `GET /collections`.
    case read
    /// `GET /documents…`.
    case readDocuments
    /// `POST /ingest`, `GET`/`DELETE /jobs/…`, `DELETE /documents/…`.
    case write
    /// Collection changes, keys, the audit log and usage of the tenant, `/metrics`.
    case administer
    /// Tenants.
    case operate

    /// The least role that grants the action.
    public var minimumRole: Role {
        switch self {
        case .read, .readDocuments: .reader
        case .write: .writer
        case .administer: .admin
        case .operate: .operator
        }
    }
}
