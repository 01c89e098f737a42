import QuarryCore

/// The pgvector backend's tables, created and migrated by Quarry.
///
/// Every table is prefixed `quarry_`, so Quarry can live in a database it shares. Migrations are
/// numbered; the database records the last one applied in `quarry_schema`, and they run inside one
/// transaction under an advisory lock, so several nodes starting at once migrate it once.
enum PostgresSchema {
    /// The version this build writes.
    static var currentVersion: Int { migrations.count }

    /// Migration `n` (1-based) is `migrations[n - 1]`; released ones never change.
    static let migrations: [String] = [
        // 1: collections, files, documents, chunks with their vectors and lexical vectors.
        """
        CREATE TABLE quarry_collections (
            id bigserial PRIMARY KEY,
            name text NOT NULL UNIQUE,
            model_name text NOT NULL,
            dimension integer NOT NULL CHECK (dimension > 0),
            model_fingerprint text NOT NULL,
            generation bigint NOT NULL DEFAULT 0,
            created_at double precision NOT NULL
        );
        CREATE TABLE quarry_sources (
            id bigserial PRIMARY KEY,
            collection_id bigint NOT NULL REFERENCES quarry_collections ON DELETE CASCADE,
            path text NOT NULL,
            content_hash text NOT NULL,
            size bigint NOT NULL,
            mtime double precision NOT NULL,
            indexed_at double precision NOT NULL,
            UNIQUE (collection_id, path)
        );
        CREATE TABLE quarry_documents (
            id bigserial PRIMARY KEY,
            collection_id bigint NOT NULL REFERENCES quarry_collections ON DELETE CASCADE,
            source_id bigint NOT NULL REFERENCES quarry_sources ON DELETE CASCADE,
            path text NOT NULL,
            content_hash text NOT NULL,
            size bigint NOT NULL,
            mtime double precision NOT NULL,
            chunk_count integer NOT NULL,
            indexed_at double precision NOT NULL,
            metadata jsonb NOT NULL DEFAULT '{}',
            UNIQUE (collection_id, path)
        );
        CREATE INDEX quarry_documents_source ON quarry_documents (source_id);
        CREATE INDEX quarry_documents_metadata ON quarry_documents USING gin (metadata jsonb_path_ops);
        -- Words as the embedded store's FTS5 (porter, unicode61) reads them: Quarry splits the text
        -- into runs of letters and digits (column lex), this configuration stems them with Porter
        -- and drops no stop words (BM25 lengths count every word; queries leave out Lucene's).
        CREATE TEXT SEARCH DICTIONARY quarry_porter (TEMPLATE = snowball, Language = porter);
        CREATE TEXT SEARCH CONFIGURATION quarry_english (COPY = english);
        ALTER TEXT SEARCH CONFIGURATION quarry_english
            ALTER MAPPING FOR asciiword, hword_asciipart, word, hword_part WITH quarry_porter;
        ALTER TEXT SEARCH CONFIGURATION quarry_english DROP MAPPING FOR asciihword, hword;
        -- BM25 needs each chunk's length in words; a tsvector keeps each word's positions.
        CREATE FUNCTION quarry_token_count(tsvector) RETURNS integer
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            AS 'SELECT coalesce(sum(cardinality(positions)), 0)::integer FROM unnest($1)';
        CREATE TABLE quarry_chunks (
            id bigserial PRIMARY KEY,
            document_id bigint NOT NULL REFERENCES quarry_documents ON DELETE CASCADE,
            collection_id bigint NOT NULL,
            ordinal integer NOT NULL,
            text text NOT NULL,
            heading text NOT NULL,
            line_start integer NOT NULL,
            line_end integer NOT NULL,
            page integer,
            byte_start bigint,
            byte_end bigint,
            embedding vector NOT NULL,
            lex text NOT NULL,
            tsv tsvector GENERATED ALWAYS AS (to_tsvector('quarry_english'::regconfig, lex)) STORED,
            token_count integer GENERATED ALWAYS AS (quarry_token_count(to_tsvector('quarry_english'::regconfig, lex))) STORED,
            UNIQUE (document_id, ordinal)
        );
        CREATE INDEX quarry_chunks_collection ON quarry_chunks (collection_id);
        -- For SQL users' own full-text queries (tsv @@ websearch_to_tsquery(...)); Quarry's BM25
        -- reads the postings below, which answer a query of common words several times faster.
        CREATE INDEX quarry_chunks_tsv ON quarry_chunks USING gin (tsv);
        -- The inverted index BM25 ranks from: one row per word of each chunk, with its frequency
        -- there and the chunk's length, so a query reads only its words' rows (index-only).
        CREATE TABLE quarry_postings (
            collection_id bigint NOT NULL,
            lexeme text NOT NULL,
            chunk_id bigint NOT NULL REFERENCES quarry_chunks ON DELETE CASCADE,
            tf integer NOT NULL,
            token_count integer NOT NULL
        );
        CREATE INDEX quarry_postings_term ON quarry_postings (collection_id, lexeme) INCLUDE (chunk_id, tf, token_count);
        CREATE INDEX quarry_postings_chunk ON quarry_postings (chunk_id);
        """,
        // 2: the service layer's tables (tenants, API keys stored as hashes, the audit log chained
        // by hash, usage counters that guard money) and each document's access list (a JSON
        // array of principals; NULL: visible to every key of its tenant).
        """
        CREATE TABLE quarry_tenants (
            name text PRIMARY KEY,
            tier text,
            created_at double precision NOT NULL
        );
        CREATE TABLE quarry_keys (
            id text PRIMARY KEY,
            tenant text NOT NULL,
            role text NOT NULL,
            hash text NOT NULL,
            collections text,
            principals text NOT NULL DEFAULT '[]',
            rate double precision,
            burst integer,
            tier text,
            created_at double precision NOT NULL,
            expires_at double precision,
            revoked_at double precision,
            rotated_from text
        );
        CREATE INDEX quarry_keys_tenant ON quarry_keys (tenant);
        CREATE TABLE quarry_audit (
            seq bigint PRIMARY KEY,
            at double precision NOT NULL,
            tenant text,
            record text NOT NULL,
            previous_hash text NOT NULL,
            hash text NOT NULL
        );
        CREATE INDEX quarry_audit_tenant ON quarry_audit (tenant, seq);
        CREATE INDEX quarry_audit_at ON quarry_audit (at);
        CREATE TABLE quarry_usage (
            tenant text NOT NULL,
            period text NOT NULL,
            requests bigint NOT NULL DEFAULT 0,
            tokens bigint NOT NULL DEFAULT 0,
            cost double precision NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, period)
        );
        ALTER TABLE quarry_documents ADD COLUMN access jsonb;
        """,
        // 3: conversations (sessions and their turns, each turn a JSON record) and usage per
        // tenant, key, model and day (what budgets and cost reports count).
        """
        CREATE TABLE quarry_sessions (
            id text PRIMARY KEY,
            tenant text NOT NULL,
            key_id text,
            collection text,
            created_at double precision NOT NULL,
            updated_at double precision NOT NULL,
            expires_at double precision,
            archived_at double precision,
            turn_count integer NOT NULL DEFAULT 0
        );
        CREATE INDEX quarry_sessions_owner ON quarry_sessions (tenant, key_id, updated_at);
        CREATE INDEX quarry_sessions_expires ON quarry_sessions (expires_at);
        CREATE TABLE quarry_session_turns (
            session_id text NOT NULL REFERENCES quarry_sessions (id) ON DELETE CASCADE,
            seq integer NOT NULL,
            at double precision NOT NULL,
            record text NOT NULL,
            PRIMARY KEY (session_id, seq)
        );
        CREATE TABLE quarry_usage_daily (
            tenant text NOT NULL,
            key_id text NOT NULL,
            model text NOT NULL,
            day text NOT NULL,
            requests bigint NOT NULL DEFAULT 0,
            prompt_tokens bigint NOT NULL DEFAULT 0,
            completion_tokens bigint NOT NULL DEFAULT 0,
            embedding_tokens bigint NOT NULL DEFAULT 0,
            cost double precision NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, key_id, day, model)
        );
        CREATE INDEX quarry_usage_daily_day ON quarry_usage_daily (day);
        """,
        // 4: when each key was last used (written about every few seconds by a server).
        """
        ALTER TABLE quarry_keys ADD COLUMN last_used_at double precision;
        """,
    ]

    /// Brings the database to `currentVersion`.
    /// - Throws: `QuarryError.storage` when the `vector` extension is missing and cannot be
    ///   created, or the database was migrated by a newer Quarry.
    static func migrate(_ pool: PostgresConnectionPool) async throws {
        // Up to date (the usual start): nothing to write, so a node can start on a read replica.
        let applied = try await pool.withConnection { db in
            try db.execute("SELECT to_regclass('quarry_schema') IS NOT NULL").bool(0, 0) == true
                ? try db.execute("SELECT max(version) FROM quarry_schema").int64(0, 0).map(Int.init) ?? 0 : 0
        }
        if applied == currentVersion { return }
        try await pool.transaction { db in
            // One migrating node at a time; the others wait, then find the work done.
            try db.execute("SELECT pg_advisory_xact_lock(7135792205)")
            let hasVector = try db.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").count == 1
            if !hasVector {
                do {
                    try db.execute("CREATE EXTENSION vector")
                } catch {
                    throw QuarryError(
                        .storage,
                        "the database needs the pgvector extension: run `CREATE EXTENSION vector` as a superuser, or install pgvector",
                        underlying: error
                    )
                }
            }
            try db.execute("CREATE TABLE IF NOT EXISTS quarry_schema (version integer NOT NULL)")
            let version = try db.execute("SELECT max(version) FROM quarry_schema").int64(0, 0).map(Int.init) ?? 0
            guard version <= currentVersion else {
                throw QuarryError(
                    .storage,
                    "the database's Quarry schema is version \(version), newer than this build's \(currentVersion): upgrade quarry"
                )
            }
            for next in (version + 1)...max(version + 1, currentVersion) where next <= currentVersion {
                try db.executeScript(migrations[next - 1])
                try db.execute("INSERT INTO quarry_schema (version) VALUES ($1)", [.integer(Int64(next))])
            }
        }
    }
}
