import QuarryCore

// Usage per tenant, key, model and day: adds on the writer connection, one upsert each; reads
// on a reader.
extension SQLiteChunkStore {
    public func addDailyUsage(_ record: DailyUsageRecord) async throws {
        try DailyUsageSQL.validate(record)
        try await write { db in
            try db.prepare(
                """
                INSERT INTO quarry_usage_daily
                    (tenant, key_id, model, day, requests, prompt_tokens, completion_tokens, embedding_tokens, cost)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (tenant, key_id, day, model) DO UPDATE SET
                    requests = quarry_usage_daily.requests + excluded.requests,
                    prompt_tokens = quarry_usage_daily.prompt_tokens + excluded.prompt_tokens,
                    completion_tokens = quarry_usage_daily.completion_tokens + excluded.completion_tokens,
                    embedding_tokens = quarry_usage_daily.embedding_tokens + excluded.embedding_tokens,
                    cost = quarry_usage_daily.cost + excluded.cost
                """
            ).run([
                .text(record.tenant), .text(record.keyID), .text(record.model), .text(record.day), .integer(record.requests),
                .integer(record.promptTokens), .integer(record.completionTokens), .integer(record.embeddingTokens), .real(record.cost),
            ])
        }
    }

    public func listDailyUsage(tenant: String?, keyID: String?, from: String, through: String) async throws -> [DailyUsageRecord] {
        try DailyUsageSQL.validate(from: from, through: through)
        let filter = DailyUsageSQL.filter(tenant: tenant, keyID: keyID, from: from, through: through) { _ in "?" }
        return try await read { db in
            let statement = try db.prepare(DailyUsageSQL.select + filter.sql + DailyUsageSQL.order).bind(filter.values.map { .text($0) })
            var records: [DailyUsageRecord] = []
            while try statement.step() {
                records.append(
                    DailyUsageRecord(
                        tenant: statement.text(0), keyID: statement.text(1), model: statement.text(2), day: statement.text(3),
                        requests: statement.int64(4), promptTokens: statement.int64(5), completionTokens: statement.int64(6),
                        embeddingTokens: statement.int64(7), cost: statement.double(8)
                    )
                )
            }
            return records
        }
    }

    public func dailyUsageTotal(tenant: String, keyID: String?, from: String, through: String) async throws -> DailyUsageRecord {
        try DailyUsageSQL.validate(from: from, through: through)
        let filter = DailyUsageSQL.filter(tenant: tenant, keyID: keyID, from: from, through: through) { _ in "?" }
        return try await read { db in
            let statement = try db.prepare(DailyUsageSQL.sums + filter.sql).bind(filter.values.map { .text($0) })
            var total = DailyUsageRecord(tenant: tenant, keyID: keyID ?? "", model: "", day: "")
            if try statement.step() {
                total.requests = statement.int64(0)
                total.promptTokens = statement.int64(1)
                total.completionTokens = statement.int64(2)
                total.embeddingTokens = statement.int64(3)
                total.cost = statement.double(4)
            }
            return total
        }
    }
}
