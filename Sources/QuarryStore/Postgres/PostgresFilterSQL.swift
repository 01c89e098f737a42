import QuarryCore

// `SearchFilter.accepts` said in SQL: the same conditions, evaluated by PostgreSQL inside the
// search. The store tests check both backends keep the same chunks for the same filter.
extension PostgresChunkStore {
    /// The filter as SQL over `d` (quarry_documents) and `s` (quarry_sources), its values bound
    /// from `$firstParameter` on; `TRUE` when it keeps everything.
    static func filterSQL(_ filter: SearchFilter?, firstParameter: Int) -> (sql: String, parameters: [PostgresValue]) {
        guard let filter, !filter.isEmpty else { return ("TRUE", []) }
        var conditions: [String] = []
        var parameters: [PostgresValue] = []
        func bind(_ value: PostgresValue) -> String {
            parameters.append(value)
            return "$\(firstParameter + parameters.count - 1)"
        }
        if let documents = filter.documents { conditions.append("d.path = ANY(\(bind(.textArray(documents)))::text[])") }
        if let prefix = filter.pathPrefix, !prefix.isEmpty { conditions.append("starts_with(d.path, \(bind(.text(prefix))))") }
        if let types = filter.fileTypes {
            // The extension of the file's name, as `SearchFilter.accepts` reads it.
            conditions.append("lower(substring(s.path from '\\.([^./]*)$')) = ANY(\(bind(.textArray(types)))::text[])")
        }
        if let visibleTo = filter.visibleTo {
            // No list: every key of the tenant; else `public` or one of the caller's principals.
            let principals = bind(.textArray(visibleTo + [AccessList.everyone]))
            conditions.append("(d.access IS NULL OR d.access ?| \(principals)::text[])")
        }
        if let metadata = filter.metadata, !metadata.isEmpty {
            conditions.append("d.metadata @> \(bind(.text(StoreFormat.metadataJSON(metadata) ?? "{}")))::jsonb")
        }
        return (conditions.joined(separator: " AND "), parameters)
    }
}
