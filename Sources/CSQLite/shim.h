#ifndef QUARRY_CSQLITE_SHIM_H
#define QUARRY_CSQLITE_SHIM_H
#include <sqlite3.h>
#include <string.h>

// SQLITE_TRANSIENT is a macro over a function-pointer cast that Swift cannot import.
static inline void (*quarry_sqlite_transient(void))(void *) { return SQLITE_TRANSIENT; }

// FTS5's own tokenizer, called through the `fts5_api` of a connection, so that an index built
// outside FTS5 sees exactly the tokens FTS5 makes (Swift cannot call through the API's function
// pointers with a pointer bound by `sqlite3_bind_pointer`, hence these wrappers).

/// A tokenizer instance and the functions that drive it.
typedef struct quarry_fts5_tokenizer {
    fts5_tokenizer api;
    Fts5Tokenizer *instance;
} quarry_fts5_tokenizer;

/// Called for each token: the token's UTF-8 bytes and length.
typedef int (*quarry_fts5_token_callback)(void *context, int flags, const char *token, int length, int start, int end);

/// Creates the tokenizer `name` of `db` with `arguments` (FTS5's `tokenize =` option, split on
/// spaces: `porter unicode61 remove_diacritics 2` is "porter" with three arguments).
/// Returns SQLITE_OK or an SQLite error code.
static inline int quarry_fts5_tokenizer_open(
    sqlite3 *db, const char *name, const char **arguments, int count, quarry_fts5_tokenizer *out
) {
    fts5_api *api = 0;
    sqlite3_stmt *statement = 0;
    memset(out, 0, sizeof(*out));
    int rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &statement, 0);
    if (rc != SQLITE_OK) return rc;
    sqlite3_bind_pointer(statement, 1, (void *)&api, "fts5_api_ptr", 0);
    sqlite3_step(statement);
    rc = sqlite3_finalize(statement);
    if (rc != SQLITE_OK) return rc;
    if (api == 0) return SQLITE_ERROR;
    void *user = 0;
    rc = api->xFindTokenizer(api, name, &user, &out->api);
    if (rc != SQLITE_OK) return rc;
    return out->api.xCreate(user, arguments, count, &out->instance);
}

/// Tokenizes `length` bytes of UTF-8 `text` (`flags`: FTS5_TOKENIZE_DOCUMENT or _QUERY),
/// calling `callback` with `context` for every token.
static inline int quarry_fts5_tokenize(
    quarry_fts5_tokenizer *tokenizer, int flags, const char *text, int length, void *context,
    quarry_fts5_token_callback callback
) {
    return tokenizer->api.xTokenize(tokenizer->instance, context, flags, text, length, callback);
}

/// Frees the tokenizer instance (the connection it came from must still be open).
static inline void quarry_fts5_tokenizer_close(quarry_fts5_tokenizer *tokenizer) {
    if (tokenizer->instance != 0) tokenizer->api.xDelete(tokenizer->instance);
    tokenizer->instance = 0;
}
#endif
