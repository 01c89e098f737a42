import QuarryCore

// Usage counters: adds on the writer connection, one upsert each; reads on a reader.
extension SQLiteChunkStore {
    public func addUsage(tenant: String, period: String, requests: Int64, tokens: Int64, cost: Double) async throws {
        try UsageSQL.validate(period: period, requests: requests, tokens: tokens, cost: cost)
        try await write { db in
            try db.prepare(
                """
                INSERT INTO quarry_usage (tenant, period, requests, tokens, cost) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (tenant, period) DO UPDATE SET
                    requests = quarry_usage.requests + excluded.requests,
                    tokens = quarry_usage.tokens + excluded.tokens,
                    cost = quarry_usage.cost + excluded.cost
                """
            ).run([.text(tenant), .text(period), .integer(requests), .integer(tokens), .real(cost)])
        }
    }

    public func usage(tenant: String, period: String) async throws -> UsageRecord {
        try UsageSQL.validate(period: period)
        return try await read { db in
            let statement = try db.prepare(UsageSQL.select + " WHERE tenant = ? AND period = ?").bind([.text(tenant), .text(period)])
            return try statement.step() ? Self.readUsage(statement) : UsageRecord(tenant: tenant, period: period)
        }
    }

    public func listUsage(tenant: String?, period: String?) async throws -> [UsageRecord] {
        if let period { try UsageSQL.validate(period: period) }
        let filter = UsageSQL.filter(tenant: tenant, period: period) { _ in "?" }
        return try await read { db in
            let statement = try db.prepare(UsageSQL.select + filter.sql).bind(filter.values.map { .text($0) })
            var records: [UsageRecord] = []
            while try statement.step() { records.append(Self.readUsage(statement)) }
            return records
        }
    }

    static func readUsage(_ statement: SQLiteStatement) -> UsageRecord {
        UsageRecord(
            tenant: statement.text(0), period: statement.text(1), requests: statement.int64(2), tokens: statement.int64(3),
            cost: statement.double(4)
        )
    }
}

