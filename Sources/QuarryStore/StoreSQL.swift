/// SQL both backends say alike: they share table names (`quarry_collections`, `quarry_sources`,
/// `quarry_documents`, `quarry_chunks`) and columns, and write parameters as `?` (SQLite) or
/// `$n` (PostgreSQL) only where they bind any.
enum StoreSQL {
    /// Every collection with its model, counts and generation, in the column order
    /// `readCollection` / `readCollections` expect: id, name, model name, dimension, model
    /// fingerprint, documents, chunks, generation. Callers add `WHERE` and `ORDER BY`.
    static let collectionSelect = """
        SELECT c.id, c.name, c.model_name, c.dimension, c.model_fingerprint,
               (SELECT count(*) FROM quarry_documents d WHERE d.collection_id = c.id),
               (SELECT coalesce(sum(d.chunk_count), 0) FROM quarry_documents d WHERE d.collection_id = c.id),
               c.generation
        FROM quarry_collections c
        """

    /// A search hit's columns over `c` (chunks) and `d` (documents): chunk id, document path,
    /// ordinal, text, then the five location columns (line start and end, page, byte start and
    /// end).
    static let hitColumns = "c.id, d.path, c.ordinal, c.text, c.line_start, c.line_end, c.page, c.byte_start, c.byte_end"
}
