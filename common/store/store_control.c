//  store_control.c - control requests to daemons.
//  Each function is one transaction run by norc_db_txn (see store_internal.h).
#include "store_internal.h"

//  Control requests

typedef struct {
    uint64_t id, daemon_id;
    int request, state;
    const char *text;
    uint64_t *out_id;
    norc_rows_t *rows;
} s_control_args_t;

static const char *s_sql_control_add =
    "INSERT INTO control_requests (daemon_id, request, requested_by, created_at) "
    "VALUES (?, ?, ?, UTC_TIMESTAMP(6))";

static int
s_control_add (norc_db_t *db, void *arg)
{
    s_control_args_t *a = (s_control_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, store_sql_daemon_exists);
    norc_stmt_bind_u64 (st, 0, a->daemon_id);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    st = norc_db_stmt (db, s_sql_control_add);
    norc_stmt_bind_u64 (st, 0, a->daemon_id);
    norc_stmt_bind_i64 (st, 1, a->request);
    norc_stmt_bind_str (st, 2, a->text ? a->text : "");
    rc = norc_stmt_exec (st);
    if (rc == NORC_OK && a->out_id)
        *a->out_id = norc_stmt_insert_id (st);
    return rc;
}

int
norc_store_control_add (norc_db_t *db, uint64_t daemon_id, int request, const char *by, uint64_t *id)
{
    s_control_args_t a = { .daemon_id = daemon_id, .request = request, .text = by, .out_id = id };
    return norc_db_txn (db, s_control_add, &a);
}

static const char *s_sql_control_pending =
    "SELECT id, request, requested_by FROM control_requests "
    "WHERE daemon_id = ? AND state IN (1, 2) ORDER BY id";

static int
s_control_pending (norc_db_t *db, void *arg)
{
    s_control_args_t *a = (s_control_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_control_pending);
    norc_stmt_bind_u64 (st, 0, a->daemon_id);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_control_pending (norc_db_t *db, uint64_t daemon_id, norc_rows_t *rows)
{
    s_control_args_t a = { .daemon_id = daemon_id, .rows = rows };
    return norc_db_txn (db, s_control_pending, &a);
}

static const char *s_sql_control_mark =
    "UPDATE control_requests SET state = ?, reason = COALESCE(?, reason), "
    "  delivered_at = CASE WHEN ? = 2 THEN UTC_TIMESTAMP(6) ELSE delivered_at END, "
    "  done_at = CASE WHEN ? >= 3 THEN UTC_TIMESTAMP(6) ELSE done_at END "
    "WHERE id = ?";
static const char *s_sql_control_exists = "SELECT state FROM control_requests WHERE id = ?";

static int
s_control_mark (norc_db_t *db, void *arg)
{
    s_control_args_t *a = (s_control_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_control_exists);
    norc_stmt_bind_u64 (st, 0, a->id);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    st = norc_db_stmt (db, s_sql_control_mark);
    norc_stmt_bind_i64 (st, 0, a->state);
    norc_stmt_bind_str (st, 1, a->text);
    norc_stmt_bind_i64 (st, 2, a->state);
    norc_stmt_bind_i64 (st, 3, a->state);
    norc_stmt_bind_u64 (st, 4, a->id);
    return norc_stmt_exec (st);
}

int
norc_store_control_mark (norc_db_t *db, uint64_t id, int state, const char *reason)
{
    s_control_args_t a = { .id = id, .state = state, .text = reason };
    return norc_db_txn (db, s_control_mark, &a);
}
