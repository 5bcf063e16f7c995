//  store_principals.c - the registry of principals (norc_store_principals.h).
//  Each function is one transaction run by norc_db_txn (see store_internal.h).
#include "store_internal.h"

typedef struct {
    const norc_principal_t *p;
    norc_registry_t *registry;
    const char *key, *fingerprint, *address, *ref, *name, *by;
    int kind;
    uint32_t roles;
    int64_t overlap_us;
    bool pending;
    norc_rows_t *rows;
    uint64_t *count;
    char *name_out;
} s_principal_args_t;

//  A key's row, as the registry reads it
#define S_COLUMNS "public_key, fingerprint, name, kind, roles, state, expires_at, revoked_at"

static const char *s_sql_load = "SELECT " S_COLUMNS " FROM principal";

static int
s_load (norc_db_t *db, void *arg)
{
    s_principal_args_t *a = (s_principal_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_load);
    int rc = norc_stmt_exec (st);
    while (rc == NORC_OK && (rc = norc_stmt_fetch (st)) == NORC_OK) {
        norc_principal_t p = { .name = (char *) norc_stmt_text (st, 2) };
        snprintf (p.key, sizeof p.key, "%s", norc_stmt_text (st, 0));
        snprintf (p.fingerprint, sizeof p.fingerprint, "%s", norc_stmt_text (st, 1));
        p.kind = (int) norc_stmt_i64 (st, 3);
        char err [160];
        if (norc_roles_parse (norc_stmt_text (st, 4), &p.roles, err, sizeof err) != NORC_OK)
            p.roles = 0;        //  a role this build does not know grants nothing
        p.state = (int) norc_stmt_i64 (st, 5);
        p.expires_us = norc_stmt_time (st, 6);
        p.revoked_us = norc_stmt_time (st, 7);
        norc_registry_put (a->registry, &p);
    }
    return rc == NORC_NOTFOUND ? NORC_OK : rc;
}

int
norc_store_principals_load (norc_db_t *db, norc_registry_t *registry)
{
    s_principal_args_t a = { .registry = registry };
    return norc_db_txn (db, s_load, &a);
}

//  Adding a key

static const char *s_sql_insert =
    "INSERT INTO principal (public_key, fingerprint, name, kind, roles, state, created_by, created_at, "
    "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), ?)";
static const char *s_sql_seed_known = "SELECT 1 FROM principal WHERE public_key = ? OR fingerprint = ?";

static int
s_insert (norc_db_t *db, const norc_principal_t *p, const char *by)
{
    char roles [256];
    norc_roles_format (p->roles, roles, sizeof roles);
    norc_stmt_t *st = norc_db_stmt (db, s_sql_insert);
    norc_stmt_bind_str (st, 0, p->key);
    norc_stmt_bind_str (st, 1, p->fingerprint);
    norc_stmt_bind_str (st, 2, p->name ? p->name : "");
    norc_stmt_bind_i64 (st, 3, p->kind);
    norc_stmt_bind_str (st, 4, roles);
    norc_stmt_bind_i64 (st, 5, p->state ? p->state : NORC_PRINCIPAL_ACCEPTED);
    norc_stmt_bind_str (st, 6, by);
    norc_stmt_bind_time (st, 7, p->expires_us);
    return norc_stmt_exec (st);
}

static int
s_seed (norc_db_t *db, void *arg)
{
    s_principal_args_t *a = (s_principal_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_seed_known);
    norc_stmt_bind_str (st, 0, a->p->key);
    norc_stmt_bind_str (st, 1, a->p->fingerprint);
    int rc = s_exec_one (st);
    if (rc != NORC_NOTFOUND)
        return rc;
    rc = s_insert (db, a->p, a->by);
    return rc == NORC_CONFLICT ? NORC_OK : rc;
}

int
norc_store_principal_seed (norc_db_t *db, const norc_principal_t *p, const char *created_by)
{
    s_principal_args_t a = { .p = p, .by = created_by };
    return norc_db_txn (db, s_seed, &a);
}

static int
s_add (norc_db_t *db, void *arg)
{
    s_principal_args_t *a = (s_principal_args_t *) arg;
    return s_insert (db, a->p, a->by);
}

int
norc_store_principal_add (norc_db_t *db, const norc_principal_t *p, const char *created_by)
{
    s_principal_args_t a = { .p = p, .by = created_by };
    return norc_db_txn (db, s_add, &a);
}

//  A knock

static const char *s_sql_knock_seen =
    "UPDATE principal SET seen_at = UTC_TIMESTAMP(6), address = ? WHERE public_key = ? AND state = 1";
static const char *s_sql_knock_known = "SELECT 1 FROM principal WHERE public_key = ?";
static const char *s_sql_pending_count = "SELECT COUNT(*) FROM principal WHERE state = 1";
static const char *s_sql_knock_add =
    "INSERT INTO principal (public_key, fingerprint, kind, state, created_by, created_at, address, seen_at) "
    "VALUES (?, ?, 2, 1, 'knock', UTC_TIMESTAMP(6), ?, UTC_TIMESTAMP(6))";

static int
s_knock (norc_db_t *db, void *arg)
{
    s_principal_args_t *a = (s_principal_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_knock_known);
    norc_stmt_bind_str (st, 0, a->key);
    int rc = s_exec_one (st);
    if (rc == NORC_OK) {
        st = norc_db_stmt (db, s_sql_knock_seen);
        norc_stmt_bind_str (st, 0, a->address);
        norc_stmt_bind_str (st, 1, a->key);
        return norc_stmt_exec (st);
    }
    if (rc != NORC_NOTFOUND)
        return rc;
    st = norc_db_stmt (db, s_sql_pending_count);
    rc = s_exec_one (st);
    if (rc || norc_stmt_i64 (st, 0) >= NORC_PENDING_MAX)
        return rc;
    st = norc_db_stmt (db, s_sql_knock_add);
    norc_stmt_bind_str (st, 0, a->key);
    norc_stmt_bind_str (st, 1, a->fingerprint);
    norc_stmt_bind_str (st, 2, a->address);
    rc = norc_stmt_exec (st);
    return rc == NORC_CONFLICT ? NORC_OK : rc;
}

int
norc_store_principal_knock (norc_db_t *db, const char *key, const char *fingerprint, const char *address)
{
    s_principal_args_t a = { .key = key, .fingerprint = fingerprint, .address = address ? address : "" };
    return norc_db_txn (db, s_knock, &a);
}

//  Listing

static const char *s_sql_list =
    "SELECT fingerprint, name, ELT(kind, 'user', 'service', 'token') AS kind, roles, "
    "CASE WHEN state = 1 THEN 'pending' WHEN state = 3 THEN 'rejected' WHEN revoked_at IS NOT NULL THEN 'revoked' "
    "WHEN expires_at <= UTC_TIMESTAMP(6) THEN 'expired' ELSE 'accepted' END AS state, created_by, "
    "DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_at, "
    "COALESCE(DATE_FORMAT(expires_at, '%Y-%m-%dT%H:%i:%sZ'), '') AS expires_at, "
    "COALESCE(DATE_FORMAT(revoked_at, '%Y-%m-%dT%H:%i:%sZ'), '') AS revoked_at, address, "
    "COALESCE(DATE_FORMAT(seen_at, '%Y-%m-%dT%H:%i:%sZ'), '') AS seen_at "
    "FROM principal WHERE (state = 1) = ? ORDER BY id";

static int
s_list (norc_db_t *db, void *arg)
{
    s_principal_args_t *a = (s_principal_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_list);
    norc_stmt_bind_i64 (st, 0, a->pending ? 1 : 0);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_principal_list (norc_db_t *db, bool pending, norc_rows_t *rows)
{
    s_principal_args_t a = { .pending = pending, .rows = rows };
    return norc_db_txn (db, s_list, &a);
}

//  Deciding on a pending key

//  The one pending key whose fingerprint begins with ref: its id, or
//  NORC_NOTFOUND / NORC_CONFLICT (more than one)
static const char *s_sql_pending_ref =
    "SELECT id FROM principal WHERE state = 1 AND fingerprint LIKE CONCAT(?, '%') LIMIT 2 FOR UPDATE";

static int
s_pending_ref (norc_db_t *db, const char *ref, uint64_t *id)
{
    norc_stmt_t *st = norc_db_stmt (db, s_sql_pending_ref);
    norc_stmt_bind_str (st, 0, ref);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    *id = norc_stmt_u64 (st, 0);
    return norc_stmt_fetch (st) == NORC_OK ? NORC_CONFLICT : NORC_OK;
}

static const char *s_sql_accept =
    "UPDATE principal SET state = 2, name = ?, kind = ?, roles = ?, created_by = ?, created_at = UTC_TIMESTAMP(6) "
    "WHERE id = ?";
static const char *s_sql_reject = "UPDATE principal SET state = 3 WHERE id = ?";

static int
s_decide (norc_db_t *db, void *arg)
{
    s_principal_args_t *a = (s_principal_args_t *) arg;
    uint64_t id;
    int rc = s_pending_ref (db, a->ref, &id);
    if (rc)
        return rc;
    norc_stmt_t *st;
    if (a->name) {
        char roles [256];
        norc_roles_format (a->roles, roles, sizeof roles);
        st = norc_db_stmt (db, s_sql_accept);
        norc_stmt_bind_str (st, 0, a->name);
        norc_stmt_bind_i64 (st, 1, a->kind);
        norc_stmt_bind_str (st, 2, roles);
        norc_stmt_bind_str (st, 3, a->by);
        norc_stmt_bind_u64 (st, 4, id);
    }
    else {
        st = norc_db_stmt (db, s_sql_reject);
        norc_stmt_bind_u64 (st, 0, id);
    }
    return norc_stmt_exec (st);
}

int
norc_store_principal_accept (norc_db_t *db, const char *ref, const char *name, int kind, uint32_t roles,
                             const char *by)
{
    s_principal_args_t a = { .ref = ref, .name = name, .kind = kind, .roles = roles, .by = by };
    return norc_db_txn (db, s_decide, &a);
}

int
norc_store_principal_reject (norc_db_t *db, const char *ref)
{
    s_principal_args_t a = { .ref = ref };
    return norc_db_txn (db, s_decide, &a);
}

//  Revoking

static const char *s_sql_revoke =
    "UPDATE principal SET revoked_at = UTC_TIMESTAMP(6) WHERE state = 2 AND revoked_at IS NULL "
    "AND (name = ? OR fingerprint LIKE CONCAT(?, '%'))";

static int
s_revoke (norc_db_t *db, void *arg)
{
    s_principal_args_t *a = (s_principal_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_revoke);
    norc_stmt_bind_str (st, 0, a->ref);
    //  a fingerprint prefix is hex and at least 8 digits: never a name's match by accident
    bool hex = strlen (a->ref) >= 8 && strspn (a->ref, "0123456789abcdef") == strlen (a->ref);
    norc_stmt_bind_str (st, 1, hex ? a->ref : "-");
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    *a->count = norc_stmt_affected (st);
    return *a->count ? NORC_OK : NORC_NOTFOUND;
}

int
norc_store_principal_revoke (norc_db_t *db, const char *ref, uint64_t *count)
{
    uint64_t none;
    s_principal_args_t a = { .ref = ref, .count = count ? count : &none };
    return norc_db_txn (db, s_revoke, &a);
}

//  Rotating

static const char *s_sql_live_of =
    "SELECT kind, roles FROM principal WHERE name = ? AND state = 2 AND revoked_at IS NULL AND kind <> 3 "
    "AND (expires_at IS NULL OR expires_at > UTC_TIMESTAMP(6)) ORDER BY id DESC LIMIT 1 FOR UPDATE";
static const char *s_sql_overlap =
    "UPDATE principal SET expires_at = LEAST(COALESCE(expires_at, '9999-12-31'), "
    "UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND) WHERE name = ? AND state = 2 AND revoked_at IS NULL AND kind <> 3";

static int
s_rotate (norc_db_t *db, void *arg)
{
    s_principal_args_t *a = (s_principal_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_live_of);
    norc_stmt_bind_str (st, 0, a->name);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    norc_principal_t p = { .name = (char *) a->name, .kind = (int) norc_stmt_i64 (st, 0),
                           .state = NORC_PRINCIPAL_ACCEPTED };
    char err [160];
    norc_roles_parse (norc_stmt_text (st, 1), &p.roles, err, sizeof err);
    snprintf (p.key, sizeof p.key, "%s", a->key);
    norc_key_fingerprint (p.key, p.fingerprint);
    st = norc_db_stmt (db, s_sql_overlap);
    norc_stmt_bind_i64 (st, 0, a->overlap_us);
    norc_stmt_bind_str (st, 1, a->name);
    rc = norc_stmt_exec (st);
    return rc ? rc : s_insert (db, &p, a->by);
}

int
norc_store_principal_rotate (norc_db_t *db, const char *name, const char *key, int64_t overlap_us, const char *by)
{
    s_principal_args_t a = { .name = name, .key = key, .overlap_us = overlap_us, .by = by };
    return norc_db_txn (db, s_rotate, &a);
}

//  Enrolling

static const char *s_sql_token =
    "SELECT id, name, roles, fingerprint FROM principal WHERE public_key = ? AND kind = 3 AND state = 2 "
    "AND revoked_at IS NULL AND expires_at > UTC_TIMESTAMP(6) FOR UPDATE";
static const char *s_sql_spend = "UPDATE principal SET revoked_at = UTC_TIMESTAMP(6) WHERE id = ?";

static int
s_enrol (norc_db_t *db, void *arg)
{
    s_principal_args_t *a = (s_principal_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_token);
    norc_stmt_bind_str (st, 0, a->key);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    uint64_t id = norc_stmt_u64 (st, 0);
    norc_principal_t p = { .state = NORC_PRINCIPAL_ACCEPTED };
    snprintf (a->name_out, 65, "%s", norc_stmt_text (st, 1));
    p.name = a->name_out;
    char err [160];
    norc_roles_parse (norc_stmt_text (st, 2), &p.roles, err, sizeof err);
    p.kind = norc_roles_kind (p.roles);
    char *by = norc_asprintf ("token:%.16s", norc_stmt_text (st, 3));
    snprintf (p.key, sizeof p.key, "%s", a->ref);
    norc_key_fingerprint (p.key, p.fingerprint);
    st = norc_db_stmt (db, s_sql_spend);
    norc_stmt_bind_u64 (st, 0, id);
    rc = norc_stmt_exec (st);
    if (rc == NORC_OK)
        rc = s_insert (db, &p, by);
    free (by);
    return rc;
}

int
norc_store_principal_enrol (norc_db_t *db, const char *token_key, const char *key, char *name)
{
    s_principal_args_t a = { .key = token_key, .ref = key, .name_out = name };
    return norc_db_txn (db, s_enrol, &a);
}

//  --------------------------------------------------------------------------
//  The ZAP handler's source (norc_zap.h): its own connection, which fails
//  at once rather than waiting, so a handshake is never held up long by a
//  database that went away (the handler keeps the registry it has)

static void *
s_source_open (norc_config_t *config)
{
    if (!*norc_config_str (config, "db.url"))
        return NULL;
    norc_db_t *db = norc_db_new_from_config (config);
    if (db)
        norc_db_set_fail_fast (db, true);
    return db;
}

static int
s_source_load (void *source, norc_registry_t *registry)
{
    return norc_store_principals_load ((norc_db_t *) source, registry);
}

static int
s_source_seed (void *source, const norc_principal_t *p, const char *created_by)
{
    return norc_store_principal_seed ((norc_db_t *) source, p, created_by);
}

static void
s_source_knock (void *source, const char *key, const char *fingerprint, const char *address)
{
    norc_store_principal_knock ((norc_db_t *) source, key, fingerprint, address);
}

static void
s_source_close (void **source)
{
    norc_db_destroy ((norc_db_t **) source);
}

const norc_zap_store_t *
norc_store_zap_source (void)
{
    static const norc_zap_store_t source = {
        s_source_open, s_source_load, s_source_seed, s_source_knock, s_source_close
    };
    return &source;
}
