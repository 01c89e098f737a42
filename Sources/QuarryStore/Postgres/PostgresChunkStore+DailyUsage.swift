import QuarryCore

// Usage per tenant, key, model and day, shared by every node that uses the database: each add is
// one upsert, which PostgreSQL applies to the row under its lock, so concurrent adds all count.
extension PostgresChunkStore {
    public func addDailyUsage(_ record: DailyUsageRecord) async throws {
        try DailyUsageSQL.validate(record)
        try await pool.withConnection { db in
            _ = try db.execute(
                """
                INSERT INTO quarry_usage_daily
                    (tenant, key_id, model, day, requests, prompt_tokens, completion_tokens, embedding_tokens, cost)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (tenant, key_id, day, model) DO UPDATE SET
                    requests = quarry_usage_daily.requests + excluded.requests,
                    prompt_tokens = quarry_usage_daily.prompt_tokens + excluded.prompt_tokens,
                    completion_tokens = quarry_usage_daily.completion_tokens + excluded.completion_tokens,
                    embedding_tokens = quarry_usage_daily.embedding_tokens + excluded.embedding_tokens,
                    cost = quarry_usage_daily.cost + excluded.cost
                """,
                [
                    .text(record.tenant), .text(record.keyID), .text(record.model), .text(record.day), .integer(record.requests),
                    .integer(record.promptTokens), .integer(record.completionTokens), .integer(record.embeddingTokens), .real(record.cost),
                ]
            )
        }
    }

    public func listDailyUsage(tenant: String?, keyID: String?, from: String, through: String) async throws -> [DailyUsageRecord] {
        try DailyUsageSQL.validate(from: from, through: through)
        let filter = DailyUsageSQL.filter(tenant: tenant, keyID: keyID, from: from, through: through) { "$\($0)" }
        return try await pool.withConnection { db in
            let rows = try db.execute(DailyUsageSQL.select + filter.sql + DailyUsageSQL.order, filter.values.map { .text($0) })
            return (0..<rows.count).map { row in
                DailyUsageRecord(
                    tenant: rows.string(row, 0) ?? "", keyID: rows.string(row, 1) ?? "", model: rows.string(row, 2) ?? "",
                    day: rows.string(row, 3) ?? "", requests: rows.int64(row, 4) ?? 0, promptTokens: rows.int64(row, 5) ?? 0,
                    completionTokens: rows.int64(row, 6) ?? 0, embeddingTokens: rows.int64(row, 7) ?? 0, cost: rows.double(row, 8) ?? 0
                )
            }
        }
    }

    public func dailyUsageTotal(tenant: String, keyID: String?, from: String, through: String) async throws -> DailyUsageRecord {
        try DailyUsageSQL.validate(from: from, through: through)
        let filter = DailyUsageSQL.filter(tenant: tenant, keyID: keyID, from: from, through: through) { "$\($0)" }
        return try await pool.withConnection { db in
            let rows = try db.execute(DailyUsageSQL.sums + filter.sql, filter.values.map { .text($0) })
            var total = DailyUsageRecord(tenant: tenant, keyID: keyID ?? "", model: "", day: "")
            if rows.count == 1 {
                total.requests = rows.int64(0, 0) ?? 0
                total.promptTokens = rows.int64(0, 1) ?? 0
                total.completionTokens = rows.int64(0, 2) ?? 0
                total.embeddingTokens = rows.int64(0, 3) ?? 0
                total.cost = rows.double(0, 4) ?? 0
            }
            return total
        }
    }
}
