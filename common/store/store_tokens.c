//  store_tokens.c - API tokens and browser sessions (norc_store_tokens.h).
#include "store_internal.h"

static const char *s_sql_token_live_name =
    "SELECT id FROM api_token WHERE name = ? AND kind = 1 AND revoked_at IS NULL "
    "AND (expires_at IS NULL OR expires_at > UTC_TIMESTAMP(6)) FOR UPDATE";
static const char *s_sql_token_add =
    "INSERT INTO api_token (name, principal, kind, roles, secret_hash, created_by, created_at, expires_at) "
    "VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), ?)";

typedef struct {
    norc_token_t *t;
    const char *by;
    const char *hash;
    const char *ref;
    uint64_t id;
    char *principal;
    char *roles;
    uint64_t *count;
    norc_rows_t *rows;
} s_token_args_t;

static int
s_add (norc_db_t *db, void *arg)
{
    s_token_args_t *a = (s_token_args_t *) arg;
    norc_stmt_t *st;
    if (a->t->kind == NORC_TOKEN_API) {
        st = norc_db_stmt (db, s_sql_token_live_name);
        norc_stmt_bind_str (st, 0, a->t->name);
        int rc = s_exec_one (st);
        if (rc != NORC_NOTFOUND)
            return rc == NORC_OK ? NORC_CONFLICT : rc;
    }
    st = norc_db_stmt (db, s_sql_token_add);
    norc_stmt_bind_str (st, 0, a->t->name);
    norc_stmt_bind_str (st, 1, a->t->principal);
    norc_stmt_bind_i64 (st, 2, a->t->kind);
    norc_stmt_bind_str (st, 3, a->t->roles);
    norc_stmt_bind_str (st, 4, a->t->secret_hash);
    norc_stmt_bind_str (st, 5, a->by);
    norc_stmt_bind_time (st, 6, a->t->expires);
    int rc = norc_stmt_exec (st);
    if (rc == NORC_OK)
        a->t->id = norc_stmt_insert_id (st);
    return rc;
}

int
norc_store_token_add (norc_db_t *db, norc_token_t *t, const char *created_by)
{
    s_token_args_t a = { .t = t, .by = created_by };
    return norc_db_txn (db, s_add, &a);
}

static const char *s_sql_token_find =
    "SELECT id, principal, roles, last_used_at IS NULL OR last_used_at < UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE "
    "FROM api_token WHERE secret_hash = ? AND revoked_at IS NULL "
    "AND (expires_at IS NULL OR expires_at > UTC_TIMESTAMP(6))";
static const char *s_sql_token_used =
    "UPDATE api_token SET last_used_at = UTC_TIMESTAMP(6) WHERE id = ?";

static int
s_find (norc_db_t *db, void *arg)
{
    s_token_args_t *a = (s_token_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_token_find);
    norc_stmt_bind_str (st, 0, a->hash);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    a->id = norc_stmt_u64 (st, 0);
    snprintf (a->principal, 65, "%s", norc_stmt_str (st, 1) ? norc_stmt_str (st, 1) : "");
    snprintf (a->roles, 256, "%s", norc_stmt_str (st, 2) ? norc_stmt_str (st, 2) : "");
    if (norc_stmt_i64 (st, 3)) {
        st = norc_db_stmt (db, s_sql_token_used);
        norc_stmt_bind_u64 (st, 0, a->id);
        rc = norc_stmt_exec (st);
    }
    return rc;
}

int
norc_store_token_find (norc_db_t *db, const char *secret_hash, uint64_t *id, char *principal, char *roles)
{
    s_token_args_t a = { .hash = secret_hash, .principal = principal, .roles = roles };
    int rc = norc_db_txn (db, s_find, &a);
    *id = a.id;
    return rc;
}

static const char *s_sql_token_list =
    "SELECT id, name, roles, created_by, created_at, expires_at, revoked_at, last_used_at, "
    "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > UTC_TIMESTAMP(6)) AS live "
    "FROM api_token WHERE kind = 1 ORDER BY id DESC";

static int
s_list (norc_db_t *db, void *arg)
{
    s_token_args_t *a = (s_token_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_token_list);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_token_list (norc_db_t *db, norc_rows_t *rows)
{
    s_token_args_t a = { .rows = rows };
    return norc_db_txn (db, s_list, &a);
}

static const char *s_sql_token_revoke =
    "UPDATE api_token SET revoked_at = UTC_TIMESTAMP(6) WHERE revoked_at IS NULL AND kind = 1 "
    "AND (name = ? OR id = ?)";

static int
s_revoke (norc_db_t *db, void *arg)
{
    s_token_args_t *a = (s_token_args_t *) arg;
    uint64_t id = 0;
    norc_id_parse (a->ref, &id);
    norc_stmt_t *st = norc_db_stmt (db, s_sql_token_revoke);
    norc_stmt_bind_str (st, 0, a->ref);
    norc_stmt_bind_u64 (st, 1, id);
    int rc = norc_stmt_exec (st);
    *a->count = rc ? 0 : norc_stmt_affected (st);
    return rc ? rc : *a->count ? NORC_OK : NORC_NOTFOUND;
}

int
norc_store_token_revoke (norc_db_t *db, const char *ref, uint64_t *count)
{
    s_token_args_t a = { .ref = ref, .count = count };
    return norc_db_txn (db, s_revoke, &a);
}
