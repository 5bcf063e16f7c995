//  store_archives.c - logs copied to S3 (see norc_store_archives.h).
//  Each function is one transaction run by norc_db_txn (see store_internal.h).
#include "store_internal.h"

void
norc_archive_clear (norc_archive_t *self)
{
    free (self->object_key);
    memset (self, 0, sizeof *self);
}

static const char *s_sql_archive_read =
    "SELECT a.object_key, a.size, a.sha256, a.archived_at, i.id "
    "FROM instances i LEFT JOIN log_archives a ON a.instance_id = i.id WHERE i.id = ? FOR UPDATE";
static const char *s_sql_archive_insert =
    "INSERT INTO log_archives (instance_id, object_key, size, sha256, archived_at) "
    "VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6))";

static int
s_put (norc_db_t *db, void *arg)
{
    const norc_archive_t *a = (const norc_archive_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_archive_read);
    norc_stmt_bind_u64 (st, 0, a->instance_id);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    const char *key = norc_stmt_str (st, 0);
    if (key) {
        const char *sha = norc_stmt_str (st, 2);
        bool same = strcmp (key, a->object_key) == 0 && norc_stmt_u64 (st, 1) == a->size
                 && sha && strcmp (sha, a->sha256) == 0;
        return same ? NORC_OK : NORC_CONFLICT;
    }
    st = norc_db_stmt (db, s_sql_archive_insert);
    norc_stmt_bind_u64 (st, 0, a->instance_id);
    norc_stmt_bind_str (st, 1, a->object_key);
    norc_stmt_bind_u64 (st, 2, a->size);
    norc_stmt_bind_str (st, 3, a->sha256);
    return norc_stmt_exec (st);
}

int
norc_store_archive_put (norc_db_t *db, const norc_archive_t *archive)
{
    if (!archive->object_key || strlen (archive->sha256) != 64)
        return NORC_ERROR;
    return norc_db_txn (db, s_put, (void *) archive);
}

static const char *s_sql_archive_get =
    "SELECT object_key, size, sha256, archived_at FROM log_archives WHERE instance_id = ?";

typedef struct {
    uint64_t id;
    norc_archive_t *out;
} s_get_args_t;

static int
s_get (norc_db_t *db, void *arg)
{
    s_get_args_t *g = (s_get_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_archive_get);
    norc_stmt_bind_u64 (st, 0, g->id);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    norc_archive_clear (g->out);
    g->out->instance_id = g->id;
    g->out->object_key = s_dup (norc_stmt_str (st, 0));
    g->out->size = norc_stmt_u64 (st, 1);
    snprintf (g->out->sha256, sizeof g->out->sha256, "%s", norc_stmt_str (st, 2) ? norc_stmt_str (st, 2) : "");
    g->out->archived_at = norc_stmt_time (st, 3);
    return NORC_OK;
}

int
norc_store_archive_get (norc_db_t *db, uint64_t instance_id, norc_archive_t *archive)
{
    s_get_args_t g = { instance_id, archive };
    return norc_db_txn (db, s_get, &g);
}
