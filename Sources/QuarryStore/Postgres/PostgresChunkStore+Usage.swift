import QuarryCore

// Usage counters, shared by every node that uses the database: each add is one upsert, which
// PostgreSQL applies to the row under its lock, so concurrent adds from any node all count.
extension PostgresChunkStore {
    public func addUsage(tenant: String, period: String, requests: Int64, tokens: Int64, cost: Double) async throws {
        try UsageSQL.validate(period: period, requests: requests, tokens: tokens, cost: cost)
        try await pool.withConnection { db in
            _ = try db.execute(
                """
                INSERT INTO quarry_usage (tenant, period, requests, tokens, cost) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (tenant, period) DO UPDATE SET
                    requests = quarry_usage.requests + excluded.requests,
                    tokens = quarry_usage.tokens + excluded.tokens,
                    cost = quarry_usage.cost + excluded.cost
                """,
                [.text(tenant), .text(period), .integer(requests), .integer(tokens), .real(cost)]
            )
        }
    }

    public func usage(tenant: String, period: String) async throws -> UsageRecord {
        try UsageSQL.validate(period: period)
        return try await pool.withConnection { db in
            let rows = try db.execute(UsageSQL.select + " WHERE tenant = $1 AND period = $2", [.text(tenant), .text(period)])
            return rows.count == 1 ? Self.readUsage(rows, 0) : UsageRecord(tenant: tenant, period: period)
        }
    }

    public func listUsage(tenant: String?, period: String?) async throws -> [UsageRecord] {
        if let period { try UsageSQL.validate(period: period) }
        let filter = UsageSQL.filter(tenant: tenant, period: period) { "$\($0)" }
        return try await pool.withConnection { db in
            let rows = try db.execute(UsageSQL.select + filter.sql, filter.values.map { .text($0) })
            return (0..<rows.count).map { Self.readUsage(rows, $0) }
        }
    }

    static func readUsage(_ rows: PostgresRows, _ row: Int) -> UsageRecord {
        UsageRecord(
            tenant: rows.string(row, 0) ?? "", period: rows.string(row, 1) ?? "", requests: rows.int64(row, 2) ?? 0,
            tokens: rows.int64(row, 3) ?? 0, cost: rows.double(row, 4) ?? 0
        )
    }
}

