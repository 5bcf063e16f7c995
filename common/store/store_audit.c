//  store_audit.c - the audit chain. A row is written in one transaction
//  that locks the last row (so two writers cannot both follow it), inserts
//  the next id with the last row's hash as its prev_hash, and sets its hash
//  with the one formula below, which verification recomputes in SQL.
#include "store_internal.h"
#include "norc_authz.h"

//  SHA-256 over the previous hash and every field, in order, one per line;
//  NULL states count as empty. The time is its DATETIME(6) text. Used by
//  both writing and verifying: the chain has one definition.
#define S_AUDIT_HASH \
    "SHA2(CONCAT_WS('\\n', prev_hash, id, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f'), principal, " \
    "key_fingerprint, source, verb, target, outcome, reason, COALESCE(before_state, ''), " \
    "COALESCE(after_state, '')), 256)"

#define S_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

typedef struct {
    const norc_audit_entry_t *entry;
    uint64_t id;
    char hash [65];
    int64_t limit;
    norc_rows_t *rows;
    uint64_t count, broken;
} s_audit_args_t;

static const char *s_sql_audit_last = "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1 FOR UPDATE";
static const char *s_sql_audit_insert =
    "INSERT INTO audit (id, at, principal, key_fingerprint, source, verb, target, outcome, reason, "
    "before_state, after_state, prev_hash, hash) VALUES (?, UTC_TIMESTAMP(6), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')";
static const char *s_sql_audit_seal = "UPDATE audit SET hash = " S_AUDIT_HASH " WHERE id = ?";
static const char *s_sql_audit_hash = "SELECT hash FROM audit WHERE id = ?";

//  A text column's value, cut to fit (a long reason must not lose the row)
static void
s_bind_cut (norc_stmt_t *st, int index, const char *value, size_t max)
{
    value = value ? value : "";
    if (strlen (value) <= max) {
        norc_stmt_bind_str (st, index, value);
        return;
    }
    char *cut = norc_strndup (value, max);
    norc_stmt_bind_str (st, index, cut);
    free (cut);
}

static int
s_audit_append (norc_db_t *db, void *arg)
{
    s_audit_args_t *a = (s_audit_args_t *) arg;
    const norc_audit_entry_t *e = a->entry;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_audit_last);
    int rc = s_exec_one (st);
    if (rc && rc != NORC_NOTFOUND)
        return rc;
    uint64_t last = rc == NORC_OK ? norc_stmt_u64 (st, 0) : 0;
    char prev [65];
    snprintf (prev, sizeof prev, "%s", rc == NORC_OK ? norc_stmt_text (st, 1) : S_GENESIS);
    a->id = last + 1;
    st = norc_db_stmt (db, s_sql_audit_insert);
    norc_stmt_bind_u64 (st, 0, a->id);
    s_bind_cut (st, 1, e->principal, 128);
    s_bind_cut (st, 2, e->key_fingerprint, 128);
    s_bind_cut (st, 3, e->source, 255);
    s_bind_cut (st, 4, e->verb, 64);
    s_bind_cut (st, 5, e->target, 255);
    norc_stmt_bind_i64 (st, 6, e->outcome);
    s_bind_cut (st, 7, e->reason, 1024);
    if (e->before)
        norc_stmt_bind_str (st, 8, e->before);
    else
        norc_stmt_bind_null (st, 8);
    if (e->after)
        norc_stmt_bind_str (st, 9, e->after);
    else
        norc_stmt_bind_null (st, 9);
    norc_stmt_bind_str (st, 10, prev);
    rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    st = norc_db_stmt (db, s_sql_audit_seal);
    norc_stmt_bind_u64 (st, 0, a->id);
    rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    st = norc_db_stmt (db, s_sql_audit_hash);
    norc_stmt_bind_u64 (st, 0, a->id);
    rc = s_exec_one (st);
    if (rc == NORC_OK)
        snprintf (a->hash, sizeof a->hash, "%s", norc_stmt_text (st, 0));
    return rc;
}

int
norc_store_audit_append (norc_db_t *db, const norc_audit_entry_t *entry, uint64_t *id, char *hash)
{
    s_audit_args_t a = { .entry = entry };
    int rc = norc_db_txn (db, s_audit_append, &a);
    if (rc == NORC_OK && id)
        *id = a.id;
    if (rc == NORC_OK && hash)
        memcpy (hash, a.hash, sizeof a.hash);
    return rc;
}

static const char *s_sql_audit_list =
    "SELECT id, DATE_FORMAT(at, '%Y-%m-%dT%H:%i:%s.%fZ') AS at, principal, key_fingerprint, source, verb, target, "
    "  ELT(outcome, 'accepted', 'denied', 'failed') AS outcome, reason, "
    "  COALESCE(before_state, '') AS `before`, COALESCE(after_state, '') AS `after`, hash "
    "FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?";

static int
s_audit_list (norc_db_t *db, void *arg)
{
    s_audit_args_t *a = (s_audit_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_audit_list);
    norc_stmt_bind_u64 (st, 0, a->id ? a->id : UINT64_MAX);
    norc_stmt_bind_i64 (st, 1, a->limit);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_audit_list (norc_db_t *db, uint64_t before, int64_t limit, norc_rows_t *rows)
{
    s_audit_args_t a = { .id = before, .limit = limit, .rows = rows };
    return norc_db_txn (db, s_audit_list, &a);
}

//  The first row (by id) whose hash is not the formula's, whose prev_hash
//  is not the row before's hash, or whose id does not follow the one
//  before: an edit, a deletion, an insertion
static const char *s_sql_audit_verify =
    "SELECT (SELECT COUNT(*) FROM audit), COALESCE(MIN(id), 0) FROM ("
    "  SELECT id, hash, prev_hash, " S_AUDIT_HASH " AS computed, "
    "    COALESCE(LAG(hash) OVER (ORDER BY id), '" S_GENESIS "') AS before_hash, "
    "    COALESCE(LAG(id) OVER (ORDER BY id), 0) AS before_id "
    "  FROM audit) chain "
    "WHERE hash <> computed OR prev_hash <> before_hash OR id <> before_id + 1";

static int
s_audit_verify (norc_db_t *db, void *arg)
{
    s_audit_args_t *a = (s_audit_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_audit_verify);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    a->count = norc_stmt_u64 (st, 0);
    a->broken = norc_stmt_u64 (st, 1);
    return NORC_OK;
}

int
norc_store_audit_verify (norc_db_t *db, uint64_t *count, uint64_t *broken)
{
    s_audit_args_t a = { 0 };
    int rc = norc_db_txn (db, s_audit_verify, &a);
    *count = a.count;
    *broken = a.broken;
    return rc;
}

//  --------------------------------------------------------------------------
//  Refusals of messages

static norc_db_t *s_refusals_db;
static const char *s_refusals_server;
static norc_rate_t s_refusals_rate;

static void
s_on_refused (void *arg, const norc_zap_who_t *who, const char *verb, const char *why, const char *address)
{
    NORC_UNUSED (arg);
    if (!s_refusals_db || !norc_rate_allow (&s_refusals_rate, 5))
        return;
    norc_audit_entry_t entry = {
        .principal = who->name, .key_fingerprint = who->fingerprint, .source = address, .verb = verb,
        .target = s_refusals_server, .outcome = NORC_AUDIT_DENIED, .reason = why ? why : ""
    };
    if (norc_store_audit_append (s_refusals_db, &entry, NULL, NULL) != NORC_OK)
        norc_log_warnx ("audit: cannot record a refused %s: %s", verb, norc_db_errstr (s_refusals_db));
}

void
norc_store_audit_refusals (norc_db_t *db, const char *server)
{
    s_refusals_db = db;
    s_refusals_server = server;
    norc_authz_on_denied (db ? s_on_refused : NULL, NULL);
}

void
norc_store_audit_refusals_stop (norc_db_t *db)
{
    if (db && db == s_refusals_db)
        norc_store_audit_refusals (NULL, NULL);
}
