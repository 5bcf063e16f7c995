//  store_queues.c - queues and groups of queues (one name space).
//  Each function is one transaction run by norc_db_txn (see store_internal.h).
#include "store_internal.h"

void
norc_queue_clear (norc_queue_t *self)
{
    free (self->name);
    free (self->url);
    memset (self, 0, sizeof (*self));
}

//  Queues

typedef struct {
    const char *name;
    int kind;
    const char *url;
    uint64_t *id;
    norc_queue_t *queue;
    norc_us_t alive_after;
    norc_rows_t *rows;
    const char **members;
    const int *priorities;
    size_t count;
} s_queue_args_t;

static const char *s_sql_queue_add =
    "INSERT INTO queues (name, kind, url, created_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))";

static int
s_queue_add (norc_db_t *db, void *arg)
{
    s_queue_args_t *a = (s_queue_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_queue_add);
    norc_stmt_bind_str (st, 0, a->name);
    norc_stmt_bind_i64 (st, 1, a->kind);
    norc_stmt_bind_str (st, 2, a->url);
    int rc = norc_stmt_exec (st);
    if (rc == NORC_OK && a->id)
        *a->id = norc_stmt_insert_id (st);
    return rc;
}

int
norc_store_queue_add (norc_db_t *db, const char *name, int kind, const char *url, uint64_t *id)
{
    s_queue_args_t a = { .name = name, .kind = kind, .url = url, .id = id };
    return norc_db_txn (db, s_queue_add, &a);
}

static const char *s_sql_queue_get = "SELECT id, name, kind, url FROM queues WHERE name = ?";

static int
s_queue_get (norc_db_t *db, void *arg)
{
    s_queue_args_t *a = (s_queue_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_queue_get);
    norc_stmt_bind_str (st, 0, a->name);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    norc_queue_clear (a->queue);
    a->queue->id = norc_stmt_u64 (st, 0);
    a->queue->name = s_dup (norc_stmt_str (st, 1));
    a->queue->kind = (int) norc_stmt_i64 (st, 2);
    a->queue->url = norc_stmt_is_null (st, 3) ? NULL : s_dup (norc_stmt_str (st, 3));
    return NORC_OK;
}

int
norc_store_queue_get (norc_db_t *db, const char *name, norc_queue_t *queue)
{
    s_queue_args_t a = { .name = name, .queue = queue };
    return norc_db_txn (db, s_queue_get, &a);
}

static const char *s_sql_queue_list =
    "SELECT q.id, q.name, "
    "  CASE q.kind WHEN 1 THEN 'db' WHEN 2 THEN 'sqs' ELSE 'group' END AS kind, "
    "  (SELECT COUNT(*) FROM instances i WHERE i.status = 1 AND "
    "     (i.queue_id = q.id OR i.queue_id IN "
    "       (SELECT m.queue_id FROM queue_group_members m WHERE m.group_id = q.id))) AS waiting, "
    "  (SELECT COUNT(*) FROM daemons d WHERE d.kind IN (2, 3) AND d.queue_id = q.id "
    "     AND d.status < 7 AND d.heartbeat > ?) AS executors, "
    "  COALESCE(TIMESTAMPDIFF(MICROSECOND, (SELECT i.enqueued_at FROM instances i "
    "     WHERE i.queue_id = q.id AND i.status = 1 ORDER BY i.id LIMIT 1), UTC_TIMESTAMP(6)), 0) AS oldest_us, "
    "  COALESCE(q.url, '') AS url "
    "FROM queues q ORDER BY q.name";

static int
s_queue_list (norc_db_t *db, void *arg)
{
    s_queue_args_t *a = (s_queue_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_queue_list);
    norc_stmt_bind_time (st, 0, a->alive_after);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_queue_list (norc_db_t *db, norc_us_t alive_after, norc_rows_t *rows)
{
    s_queue_args_t a = { .alive_after = alive_after, .rows = rows };
    return norc_db_txn (db, s_queue_list, &a);
}

static const char *s_sql_queue_servers =
    "SELECT COUNT(*) FROM daemons d WHERE d.kind IN (2, 3) AND d.status < 7 AND d.heartbeat > ? "
    "  AND (d.queue_id = ? OR d.queue_id IN (SELECT m.group_id FROM queue_group_members m WHERE m.queue_id = ?))";

typedef struct {
    uint64_t queue_id;
    norc_us_t alive_after;
    int64_t *count;
} s_servers_args_t;

static int
s_queue_servers (norc_db_t *db, void *arg)
{
    s_servers_args_t *a = (s_servers_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_queue_servers);
    norc_stmt_bind_time (st, 0, a->alive_after);
    norc_stmt_bind_u64 (st, 1, a->queue_id);
    norc_stmt_bind_u64 (st, 2, a->queue_id);
    int rc = s_exec_one (st);
    if (rc == NORC_OK)
        *a->count = norc_stmt_i64 (st, 0);
    return rc;
}

int
norc_store_queue_servers (norc_db_t *db, uint64_t queue_id, norc_us_t alive_after, int64_t *count)
{
    s_servers_args_t a = { .queue_id = queue_id, .alive_after = alive_after, .count = count };
    return norc_db_txn (db, s_queue_servers, &a);
}

static const char *s_sql_queue_in_use =
    "SELECT (SELECT COUNT(*) FROM schedules WHERE queue_id = q.id AND deleted_at IS NULL) "
    "     + (SELECT COUNT(*) FROM instances WHERE queue_id = q.id) "
    "     + (SELECT COUNT(*) FROM queue_group_members WHERE queue_id = q.id) "
    "     + (SELECT COUNT(*) FROM daemons WHERE queue_id = q.id) "
    "FROM queues q WHERE q.name = ? FOR UPDATE";
static const char *s_sql_queue_rm = "DELETE FROM queues WHERE name = ?";

static int
s_queue_rm (norc_db_t *db, void *arg)
{
    s_queue_args_t *a = (s_queue_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_queue_in_use);
    norc_stmt_bind_str (st, 0, a->name);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    if (norc_stmt_i64 (st, 0) > 0)
        return NORC_CONFLICT;
    st = norc_db_stmt (db, s_sql_queue_rm);
    norc_stmt_bind_str (st, 0, a->name);
    return norc_stmt_exec (st);
}

int
norc_store_queue_rm (norc_db_t *db, const char *name)
{
    s_queue_args_t a = { .name = name };
    return norc_db_txn (db, s_queue_rm, &a);
}

static const char *s_sql_group_member =
    "INSERT INTO queue_group_members (group_id, queue_id, priority) VALUES (?, ?, ?)";

static int
s_group_add (norc_db_t *db, void *arg)
{
    s_queue_args_t *a = (s_queue_args_t *) arg;
    a->kind = NORC_QUEUE_GROUP;
    int rc = s_queue_add (db, a);
    if (rc)
        return rc;
    for (size_t i = 0; i < a->count; i++) {
        norc_stmt_t *st = norc_db_stmt (db, s_sql_queue_get);
        norc_stmt_bind_str (st, 0, a->members [i]);
        rc = s_exec_one (st);
        if (rc)
            return rc;
        uint64_t queue_id = norc_stmt_u64 (st, 0);
        if (norc_stmt_i64 (st, 2) == NORC_QUEUE_GROUP)
            return NORC_CONFLICT;
        st = norc_db_stmt (db, s_sql_group_member);
        norc_stmt_bind_u64 (st, 0, *a->id);
        norc_stmt_bind_u64 (st, 1, queue_id);
        norc_stmt_bind_i64 (st, 2, a->priorities [i]);
        if ((rc = norc_stmt_exec (st)))
            return rc;
    }
    return NORC_OK;
}

int
norc_store_group_add (norc_db_t *db, const char *name, const char **queues,
                      const int *priorities, size_t count, uint64_t *id)
{
    uint64_t local;
    s_queue_args_t a = { .name = name, .id = id ? id : &local, .members = queues,
                         .priorities = priorities, .count = count };
    return norc_db_txn (db, s_group_add, &a);
}

static const char *s_sql_group_members =
    "SELECT m.queue_id, q.name AS queue, m.priority FROM queue_group_members m "
    "JOIN queues g ON g.id = m.group_id JOIN queues q ON q.id = m.queue_id "
    "WHERE g.name = ? ORDER BY m.priority, q.name";

static int
s_group_members (norc_db_t *db, void *arg)
{
    s_queue_args_t *a = (s_queue_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_queue_get);
    norc_stmt_bind_str (st, 0, a->name);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    st = norc_db_stmt (db, s_sql_group_members);
    norc_stmt_bind_str (st, 0, a->name);
    rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_group_members (norc_db_t *db, const char *group, norc_rows_t *rows)
{
    s_queue_args_t a = { .name = group, .rows = rows };
    return norc_db_txn (db, s_group_members, &a);
}
