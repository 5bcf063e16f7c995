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

static const char *s_sql_token_end =
    "UPDATE api_token SET revoked_at = UTC_TIMESTAMP(6) WHERE id = ? AND kind = 2 AND revoked_at IS NULL";

static int
s_end (norc_db_t *db, void *arg)
{
    s_token_args_t *a = (s_token_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_token_end);
    norc_stmt_bind_u64 (st, 0, a->id);
    int rc = norc_stmt_exec (st);
    return rc ? rc : norc_stmt_affected (st) ? NORC_OK : NORC_NOTFOUND;
}

int
norc_store_session_end (norc_db_t *db, uint64_t id)
{
    s_token_args_t a = { .id = id };
    return norc_db_txn (db, s_end, &a);
}

//  --------------------------------------------------------------------------
//  Local users

typedef struct {
    const char *name;
    const char *hash;
    const char *roles;
    const char *by;
    char *hash_out;
    char *roles_out;
    bool *locked;
    bool success;
    int lock_after;
    int lock_s;
    norc_rows_t *rows;
} s_user_args_t;

static const char *s_sql_user_add =
    "INSERT INTO web_user (name, password_hash, roles, created_by, created_at) "
    "VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6))";

static int
s_user_add (norc_db_t *db, void *arg)
{
    s_user_args_t *a = (s_user_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_user_add);
    norc_stmt_bind_str (st, 0, a->name);
    norc_stmt_bind_str (st, 1, a->hash);
    norc_stmt_bind_str (st, 2, a->roles);
    norc_stmt_bind_str (st, 3, a->by);
    return norc_stmt_exec (st);
}

int
norc_store_user_add (norc_db_t *db, const char *name, const char *password_hash, const char *roles,
                     const char *created_by)
{
    s_user_args_t a = { .name = name, .hash = password_hash, .roles = roles, .by = created_by };
    return norc_db_txn (db, s_user_add, &a);
}

static const char *s_sql_user_get =
    "SELECT password_hash, roles, COALESCE(locked_until > UTC_TIMESTAMP(6), 0) FROM web_user WHERE name = ?";

static int
s_user_get (norc_db_t *db, void *arg)
{
    s_user_args_t *a = (s_user_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_user_get);
    norc_stmt_bind_str (st, 0, a->name);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    snprintf (a->hash_out, 256, "%s", norc_stmt_str (st, 0) ? norc_stmt_str (st, 0) : "");
    snprintf (a->roles_out, 256, "%s", norc_stmt_str (st, 1) ? norc_stmt_str (st, 1) : "");
    *a->locked = norc_stmt_i64 (st, 2) != 0;
    return NORC_OK;
}

int
norc_store_user_get (norc_db_t *db, const char *name, char *password_hash, char *roles, bool *locked)
{
    s_user_args_t a = { .name = name, .hash_out = password_hash, .roles_out = roles, .locked = locked };
    return norc_db_txn (db, s_user_get, &a);
}

static const char *s_sql_user_success =
    "UPDATE web_user SET failures = 0, locked_until = NULL, last_login_at = UTC_TIMESTAMP(6) WHERE name = ?";
static const char *s_sql_user_failure =
    "UPDATE web_user SET failures = failures + 1, "
    "locked_until = IF(failures >= ?, UTC_TIMESTAMP(6) + INTERVAL ? SECOND, locked_until) WHERE name = ?";

static int
s_user_login (norc_db_t *db, void *arg)
{
    s_user_args_t *a = (s_user_args_t *) arg;
    norc_stmt_t *st;
    if (a->success) {
        st = norc_db_stmt (db, s_sql_user_success);
        norc_stmt_bind_str (st, 0, a->name);
    }
    else {
        //  MySQL sets columns left to right: failures is already counted here
        st = norc_db_stmt (db, s_sql_user_failure);
        norc_stmt_bind_i64 (st, 0, a->lock_after);
        norc_stmt_bind_i64 (st, 1, a->lock_s);
        norc_stmt_bind_str (st, 2, a->name);
    }
    return norc_stmt_exec (st);
}

int
norc_store_user_login (norc_db_t *db, const char *name, bool success, int lock_after, int lock_s)
{
    s_user_args_t a = { .name = name, .success = success, .lock_after = lock_after, .lock_s = lock_s };
    return norc_db_txn (db, s_user_login, &a);
}

static const char *s_sql_user_list =
    "SELECT name, roles, created_by, created_at, last_login_at, failures, "
    "COALESCE(locked_until > UTC_TIMESTAMP(6), 0) AS locked FROM web_user ORDER BY name";

static int
s_user_list (norc_db_t *db, void *arg)
{
    s_user_args_t *a = (s_user_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_user_list);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_user_list (norc_db_t *db, norc_rows_t *rows)
{
    s_user_args_t a = { .rows = rows };
    return norc_db_txn (db, s_user_list, &a);
}

static const char *s_sql_user_rm = "DELETE FROM web_user WHERE name = ?";
static const char *s_sql_user_sessions_end =
    "UPDATE api_token SET revoked_at = UTC_TIMESTAMP(6) WHERE kind = 2 AND name = ? AND revoked_at IS NULL";

static int
s_user_rm (norc_db_t *db, void *arg)
{
    s_user_args_t *a = (s_user_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_user_rm);
    norc_stmt_bind_str (st, 0, a->name);
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    if (!norc_stmt_affected (st))
        return NORC_NOTFOUND;
    st = norc_db_stmt (db, s_sql_user_sessions_end);
    norc_stmt_bind_str (st, 0, a->name);
    return norc_stmt_exec (st);
}

int
norc_store_user_rm (norc_db_t *db, const char *name)
{
    s_user_args_t a = { .name = name };
    return norc_db_txn (db, s_user_rm, &a);
}
