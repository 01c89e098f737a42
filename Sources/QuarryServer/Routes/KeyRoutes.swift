import Foundation
import Hummingbird
import QuarryAccess
import QuarryCore
import QuarryStore

/// The body of `POST /keys`.
struct CreateKeyBody: Decodable {
    var tenant: String?
    var role: Role
    var collections: [String]?
    var principals: [String]?
    var rate: Double?
    var burst: Int?
    /// ISO 8601, as every date of the API.
    var expiresAt: String?
    var expiresInDays: Double?
    var tier: String?

    enum CodingKeys: String, CodingKey {
        case tenant, role, collections, principals, rate, burst, tier
        case expiresAt = "expires_at"
        case expiresInDays = "expires_in_days"
    }
}

/// The body of `POST /keys/{id}/rotate`.
struct RotateKeyBody: Decodable {
    var graceSeconds: Int?

    enum CodingKeys: String, CodingKey {
        case graceSeconds = "grace_seconds"
    }
}

/// The body of `POST /tenants`.
struct CreateTenantBody: Decodable {
    var name: String
    var tier: String?
}

/// The body of `PUT /tenants/{name}`: the tenant's limits tier; `null` for the default tier.
struct TenantTierBody: Decodable {
    var tier: String?
}

/// A key as the API shows it: never its hash, and its secret only when just made.
struct KeySummary: Encodable {
    var id: String
    var key: String?
    var tenant: String
    var role: String
    var collections: [String]?
    var principals: [String]
    var rate: Double?
    var burst: Int?
    var tier: String?
    var createdAt: Date
    var expiresAt: Date?
    var revokedAt: Date?
    var rotatedFrom: String?
    /// When a request last used it (to within a few seconds); absent for never.
    var lastUsedAt: Date?

    init(_ record: KeyRecord, token: String? = nil) {
        self.id = record.id
        self.key = token
        self.tenant = record.tenant
        self.role = record.role
        self.collections = record.collections
        self.principals = record.principals
        self.rate = record.rate
        self.burst = record.burst
        self.tier = record.tier
        self.createdAt = record.createdAt
        self.expiresAt = record.expiresAt
        self.revokedAt = record.revokedAt
        self.rotatedFrom = record.rotatedFrom
        self.lastUsedAt = record.lastUsedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, key, tenant, role, collections, principals, rate, burst, tier
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
        case rotatedFrom = "rotated_from"
        case lastUsedAt = "last_used_at"
    }
}

/// A tenant as the API shows it.
struct TenantSummary: Encodable {
    var name: String
    var tier: String?
    var createdAt: Date

    init(_ record: TenantRecord) {
        self.name = record.name
        self.tier = record.tier
        self.createdAt = record.createdAt
    }

    enum CodingKeys: String, CodingKey {
        case name, tier
        case createdAt = "created_at"
    }
}

/// `POST /keys`, `GET /keys`, `DELETE /keys/{id}`, `POST /keys/{id}/rotate` for admins of a
/// tenant; `POST /tenants`, `GET /tenants` for operators. A key of another tenant is a 404.
struct KeyRoutes: Sendable {
    let keys: KeyManager
    let keyRing: KeyRing
    let maxBodyBytes: Int
    /// How long a rotated key keeps working when the request does not say.
    static let defaultGrace = 24 * 3600

    func register(on router: Router<QuarryRequestContext>) {
        router.post("/keys") { request, context in
            let principal = try context.principal(for: .administer)
            let body = try await JSON.decode(CreateKeyBody.self, from: request, limit: maxBodyBytes)
            if body.expiresAt != nil, body.expiresInDays != nil {
                throw QuarryError(.invalidRequest, "give expires_at or expires_in_days, not both")
            }
            // At most a century: a longer one would end past the year 9999, which no date-time holds.
            if let days = body.expiresInDays, !(days > 0 && days <= 36_500) {
                throw QuarryError(.invalidRequest, "expires_in_days must be above 0 and at most 36500 (100 years)")
            }
            let expiresAt = try body.expiresAt.map { text in
                guard let date = AdminRoutes.time(text) else {
                    throw QuarryError(.invalidRequest, "expires_at must be an ISO 8601 time such as 2027-01-31T00:00:00Z")
                }
                return date
            }
            let specification = KeySpecification(
                role: body.role, collections: body.collections, principals: body.principals ?? [], rate: body.rate, burst: body.burst,
                expiresAt: expiresAt ?? body.expiresInDays.map { Date().addingTimeInterval($0 * 86_400) }, tier: body.tier
            )
            let issued = try await keys.create(specification, tenant: body.tenant ?? principal.tenant, by: principal)
            keyRing.invalidate()
            return try JSON.response(KeySummary(issued.record, token: issued.token), status: .created)
        }
        router.get("/keys") { request, context in
            let principal = try context.principal(for: .administer)
            let tenant = request.uri.queryParameters["tenant"].map(String.init)
            if let tenant { try Tenant.validate(tenant) }
            let list = try await keys.list(tenant: tenant, by: principal)
            return try JSON.response(["keys": list.map { KeySummary($0) }])
        }
        router.delete("/keys/{id}") { _, context in
            let principal = try context.principal(for: .administer)
            let record = try await keys.revoke(id: try context.parameters.require("id"), by: principal)
            keyRing.invalidate()
            return try JSON.response(KeySummary(record))
        }
        router.post("/keys/{id}/rotate") { request, context in
            let principal = try context.principal(for: .administer)
            let body = try await Self.optionalBody(RotateKeyBody.self, request)
            let grace = body?.graceSeconds ?? Self.defaultGrace
            guard grace >= 0 else { throw QuarryError(.invalidRequest, "grace_seconds must be 0 or more") }
            let issued = try await keys.rotate(id: try context.parameters.require("id"), grace: .seconds(grace), by: principal)
            keyRing.invalidate()
            return try JSON.response(KeySummary(issued.record, token: issued.token), status: .created)
        }
        router.post("/tenants") { request, context in
            let principal = try context.principal(for: .operate)
            let body = try await JSON.decode(CreateTenantBody.self, from: request, limit: maxBodyBytes)
            let tenant = try await keys.createTenant(body.name, tier: body.tier, by: principal)
            return try JSON.response(TenantSummary(tenant), status: .created)
        }
        router.put("/tenants/{name}") { request, context in
            let principal = try context.principal(for: .operate)
            let body = try await JSON.decode(TenantTierBody.self, from: request, limit: maxBodyBytes)
            let tenant = try await keys.setTenantTier(try context.parameters.require("name"), tier: body.tier, by: principal)
            keyRing.invalidate()
            return try JSON.response(TenantSummary(tenant))
        }
        router.get("/tenants") { _, context in
            let principal = try context.principal(for: .operate)
            return try JSON.response(["tenants": try await keys.tenants(by: principal).map(TenantSummary.init)])
        }
    }

    /// A JSON body that may be absent.
    private static func optionalBody<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T? {
        if request.headers[.contentLength].flatMap(Int.init) == 0 { return nil }
        let buffer = try await JSON.body(of: request, limit: 64 << 10)
        guard buffer.readableBytes > 0 else { return nil }
        try JSON.requireJSONContentType(request)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw QuarryError(.invalidRequest, "the request body is not valid JSON for this route")
        }
    }
}
