import QuarryCore

/// The store's schema and its versioned migrations (tracked in `PRAGMA user_version`).
enum SQLiteSchema {
    /// Migrations in order; migration `i` takes the schema from version `i` to `i + 1`.
    static let migrations: [String] = [
        """
        CREATE TABLE collections (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            model_name TEXT NOT NULL,
            dimension INTEGER NOT NULL,
            model_fingerprint TEXT NOT NULL,
            generation INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        );
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime REAL NOT NULL,
            chunk_count INTEGER NOT NULL,
            indexed_at REAL NOT NULL,
            UNIQUE (collection_id, path)
        );
        -- AUTOINCREMENT: chunk row ids only ever grow, so a derived index can tell how far it got.
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL,
            heading TEXT NOT NULL,
            line_start INTEGER NOT NULL,
            line_end INTEGER NOT NULL,
            page INTEGER,
            vector BLOB NOT NULL,
            UNIQUE (document_id, ordinal)
        );
        """,
        // Version 2: a file (a source) can hold several documents (BEIR JSONL: one per line); the
        // source row records the file's state at its last complete ingest. Chunks gain byte ranges.
        """
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime REAL NOT NULL,
            indexed_at REAL NOT NULL,
            UNIQUE (collection_id, path)
        );
        INSERT INTO sources (collection_id, path, content_hash, size, mtime, indexed_at)
            SELECT collection_id, path, content_hash, size, mtime, indexed_at FROM documents;
        ALTER TABLE documents ADD COLUMN source_id INTEGER REFERENCES sources(id) ON DELETE CASCADE;
        UPDATE documents SET source_id =
            (SELECT s.id FROM sources s WHERE s.collection_id = documents.collection_id AND s.path = documents.path);
        CREATE INDEX documents_by_source ON documents(source_id);
        ALTER TABLE chunks ADD COLUMN byte_start INTEGER;
        ALTER TABLE chunks ADD COLUMN byte_end INTEGER;
        """,
        // Version 3: lexical search. An FTS5 index over the chunks' text (external content: the
        // text is stored once, in `chunks`), kept in step by triggers, which also fire for the
        // chunks that foreign-key cascades delete. Porter stemming over Unicode words, diacritics
        // folded: the usual English BM25 setup.
        """
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            text, content = 'chunks', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
            INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
            INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END;
        CREATE TRIGGER chunks_fts_update AFTER UPDATE OF text ON chunks BEGIN
            INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
            INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
        END;
        INSERT INTO chunks_fts (chunks_fts) VALUES ('rebuild');
        """,
        // Version 4: document metadata, a JSON object of text values (NULL: none), for filters.
        """
        ALTER TABLE documents ADD COLUMN metadata TEXT;
        """,
        // Version 5: the pgvector backend's table names (`quarry_*`), so both backends say the
        // same SQL where they can. SQLite renames the foreign keys with the tables; the FTS5
        // index names its content table, so it is made anew under its new name and rebuilt.
        """
        DROP TRIGGER chunks_fts_insert;
        DROP TRIGGER chunks_fts_delete;
        DROP TRIGGER chunks_fts_update;
        DROP TABLE chunks_fts;
        ALTER TABLE collections RENAME TO quarry_collections;
        ALTER TABLE sources RENAME TO quarry_sources;
        ALTER TABLE documents RENAME TO quarry_documents;
        ALTER TABLE chunks RENAME TO quarry_chunks;
        CREATE VIRTUAL TABLE quarry_chunks_fts USING fts5(
            text, content = 'quarry_chunks', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER quarry_chunks_fts_insert AFTER INSERT ON quarry_chunks BEGIN
            INSERT INTO quarry_chunks_fts (rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER quarry_chunks_fts_delete AFTER DELETE ON quarry_chunks BEGIN
            INSERT INTO quarry_chunks_fts (quarry_chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END;
        CREATE TRIGGER quarry_chunks_fts_update AFTER UPDATE OF text ON quarry_chunks BEGIN
            INSERT INTO quarry_chunks_fts (quarry_chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
            INSERT INTO quarry_chunks_fts (rowid, text) VALUES (new.id, new.text);
        END;
        INSERT INTO quarry_chunks_fts (quarry_chunks_fts) VALUES ('rebuild');
        """,
        // Version 6: the service layer's tables (tenants, API keys stored as hashes, the audit
        // log chained by hash, usage counters that guard money) and each document's access list
        // (a JSON array of principals; NULL: visible to every key of its tenant).
        """
        CREATE TABLE quarry_tenants (
            name text PRIMARY KEY,
            tier text,
            created_at REAL NOT NULL
        );
        CREATE TABLE quarry_keys (
            id text PRIMARY KEY,
            tenant text NOT NULL,
            role text NOT NULL,
            hash text NOT NULL,
            collections text,
            principals text NOT NULL DEFAULT '[]',
            rate REAL,
            burst integer,
            tier text,
            created_at REAL NOT NULL,
            expires_at REAL,
            revoked_at REAL,
            rotated_from text
        );
        CREATE INDEX quarry_keys_tenant ON quarry_keys (tenant);
        CREATE TABLE quarry_audit (
            seq bigint PRIMARY KEY,
            at REAL NOT NULL,
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
            cost REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, period)
        );
        ALTER TABLE quarry_documents ADD COLUMN access text;
        """,
        // Version 7: conversations (sessions and their turns, each turn a JSON record) and usage
        // per tenant, key, model and day (what budgets and cost reports count).
        """
        CREATE TABLE quarry_sessions (
            id text PRIMARY KEY,
            tenant text NOT NULL,
            key_id text,
            collection text,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            expires_at REAL,
            archived_at REAL,
            turn_count integer NOT NULL DEFAULT 0
        );
        CREATE INDEX quarry_sessions_owner ON quarry_sessions (tenant, key_id, updated_at);
        CREATE INDEX quarry_sessions_expires ON quarry_sessions (expires_at);
        CREATE TABLE quarry_session_turns (
            session_id text NOT NULL,
            seq integer NOT NULL,
            at REAL NOT NULL,
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
            cost REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, key_id, day, model)
        );
        CREATE INDEX quarry_usage_daily_day ON quarry_usage_daily (day);
        """,
        // 7 → 8: when each key was last used (written about every few seconds by a server).
        """
        ALTER TABLE quarry_keys ADD COLUMN last_used_at REAL;
        """,
    ]

    /// Brings the database up to the newest schema, one transaction per migration.
    /// - Throws: `QuarryError.storage` when the database is newer than this program.
    static func migrate(_ db: SQLiteConnection) throws {
        let version = try checkedVersion(db)
        for index in version..<migrations.count {
            try db.transaction {
                try db.execute(migrations[index])
                try db.execute("PRAGMA user_version = \(index + 1)")
            }
        }
    }

    /// Checks that a database opened read-only has the newest schema: it cannot be migrated.
    /// - Throws: `QuarryError.storage` when it is older or newer than this program.
    static func requireCurrent(_ db: SQLiteConnection) throws {
        let version = try checkedVersion(db)
        guard version == migrations.count else {
            throw QuarryError(
                .storage,
                """
                the store at \(db.path) has schema version \(version), older than this quarry (\(migrations.count)), and \
                is read-only, so it cannot be migrated; open it once read-write (a writable copy will do) to migrate it
                """
            )
        }
    }

    /// The database's schema version.
    /// - Throws: `QuarryError.storage` when it is newer than this program.
    static func checkedVersion(_ db: SQLiteConnection) throws -> Int {
        // Read in a scope of its own: the statement is finalised before the migrations run (a
        // pending statement would keep `DROP TABLE` from running: "database table is locked").
        let version = try {
            let statement = try db.prepare("PRAGMA user_version")
            try statement.bind([])
            _ = try statement.step()
            return statement.int(0)
        }()
        guard version <= migrations.count else {
            throw QuarryError(
                .storage,
                "the store at \(db.path) has schema version \(version), newer than this quarry (\(migrations.count)); upgrade quarry"
            )
        }
        return version
    }
}
