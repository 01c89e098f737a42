import Hummingbird
import QuarryAccess
import QuarryEval
import QuarryIngest
import QuarryRetrieval

/// `GET /info`: what the server offers the caller — what a client (the web console) needs to
/// show only what will work: the answerers, the chat models the caller may name, the ingest
/// roots when it may ingest, whether keys are needed and who the key is.
struct InfoRoutes {
    let retriever: Retriever
    let keyRing: KeyRing
    let jobs: IngestJobs
    let limits: ServiceLimits?
    let reports: ReportLibrary?

    func register(on router: Router<QuarryRequestContext>) {
        router.get("/info") { _, context in
            let principal = try context.principal(for: .read)
            let tier = QueryRoutes.tier(of: principal, limits: limits)
            let canIngest = principal.role.allows(.write)
            return try JSON.response(
                ServerInfo(
                    embeddingModel: retriever.embedder.model.name,
                    keysRequired: try await keyRing.needsKey(),
                    principal: .init(tenant: principal.tenant, role: principal.role.rawValue, keyID: principal.keyID, tier: tier),
                    can: .init(
                        query: true, readDocuments: principal.role.allows(.readDocuments), ingest: canIngest && !jobs.roots.isEmpty,
                        deleteDocuments: principal.role.allows(.write), administer: principal.role.allows(.administer)
                    ),
                    answerers: AnswerKind.allCases.filter { $0 != .llm || retriever.llm != nil }.map(\.rawValue),
                    models: retriever.selectableModels(tier: tier).map(\.name),
                    // Server paths are shown only to those who may ingest under them.
                    ingestRoots: canIngest ? jobs.roots.map(\.path) : nil,
                    reports: reports != nil
                )
            )
        }
    }
}

/// The body of `GET /info`.
struct ServerInfo: Encodable {
    var embeddingModel: String
    var keysRequired: Bool
    var principal: Caller
    var can: Permissions
    var answerers: [String]
    var models: [String]
    var ingestRoots: [String]?
    var reports: Bool

    struct Caller: Encodable {
        var tenant: String
        var role: String
        var keyID: String?
        var tier: String?

        enum CodingKeys: String, CodingKey {
            case tenant, role, tier
            case keyID = "key_id"
        }

        /// Every key, `null` when absent, so that the object has one shape.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(tenant, forKey: .tenant)
            try container.encode(role, forKey: .role)
            try container.encode(keyID, forKey: .keyID)
            try container.encode(tier, forKey: .tier)
        }
    }

    /// What the caller's role allows, as the console shows it.
    struct Permissions: Encodable {
        var query: Bool
        var readDocuments: Bool
        var ingest: Bool
        var deleteDocuments: Bool
        var administer: Bool

        enum CodingKeys: String, CodingKey {
            case query, ingest, administer
            case readDocuments = "read_documents"
            case deleteDocuments = "delete_documents"
        }
    }

    enum CodingKeys: String, CodingKey {
        case principal, can, answerers, models, reports
        case embeddingModel = "embedding_model"
        case keysRequired = "keys_required"
        case ingestRoots = "ingest_roots"
    }
}
