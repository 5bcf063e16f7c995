//  norc_store.c - the durable record. One function per business operation,
//  each a transaction run by norc_db_txn (so a deadlock or a lost connection
//  is retried there and nowhere else). The SQL of each sits right above the
//  body that uses it. Every body is safe to run twice: inserts are guarded
//  by unique keys, status changes by "WHERE status < 7", counters are
//  recomputed rather than incremented where a retry could double them.
#include "norc_store.h"
#include "norc_mem.h"
#include "norc_log.h"

#define S_FINAL 7

//  --------------------------------------------------------------------------
//  Helpers

static char *
s_dup (const char *s)
{
    return s ? norc_strdup (s) : NULL;
}

//  Fetch every row of an executed statement into rows (column name -> text).
static int
s_rows_append (norc_stmt_t *st, norc_rows_t *rows)
{
    int rc;
    while ((rc = norc_stmt_fetch (st)) == NORC_OK) {
        norc_strmap_t *row = norc_rows_add (rows);
        for (int c = 0; c < norc_stmt_columns (st); c++)
            norc_strmap_set (row, norc_stmt_column_name (st, c), norc_stmt_text (st, c));
    }
    return rc == NORC_NOTFOUND ? NORC_OK : rc;
}

static int
s_rows (norc_stmt_t *st, norc_rows_t *rows)
{
    norc_rows_clear (rows);
    return s_rows_append (st, rows);
}

//  Execute and fetch the single row expected: NORC_NOTFOUND if none.
static int
s_exec_one (norc_stmt_t *st)
{
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    return norc_stmt_fetch (st);
}

void
norc_queue_clear (norc_queue_t *self)
{
    free (self->name);
    memset (self, 0, sizeof (*self));
}

void
norc_task_clear (norc_task_t *self)
{
    free (self->name);
    free (self->description);
    free (self->command);
    free (self->cwd);
    norc_strmap_clear (&self->env);
    memset (self, 0, sizeof (*self));
}

void
norc_schedule_clear (norc_schedule_t *self)
{
    free (self->cron);
    free (self->tz);
    free (self->deleted_reason);
    free (self->task);
    free (self->queue);
    memset (self, 0, sizeof (*self));
}

void
norc_instance_clear (norc_instance_t *self)
{
    free (self->log_path);
    free (self->reason);
    free (self->task);
    free (self->queue);
    free (self->command);
    free (self->revision);
    memset (self, 0, sizeof (*self));
}

void
norc_daemon_clear (norc_daemon_t *self)
{
    free (self->host);
    free (self->queue);
    free (self->reason);
    memset (self, 0, sizeof (*self));
}

//  --------------------------------------------------------------------------
//  Queues

typedef struct {
    const char *name;
    int kind;
    uint64_t *id;
    norc_queue_t *queue;
    norc_us_t alive_after;
    norc_rows_t *rows;
    const char **members;
    const int *priorities;
    size_t count;
} s_queue_args_t;

static const char *s_sql_queue_add =
    "INSERT INTO queues (name, kind, created_at) VALUES (?, ?, UTC_TIMESTAMP(6))";

static int
s_queue_add (norc_db_t *db, void *arg)
{
    s_queue_args_t *a = (s_queue_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_queue_add);
    norc_stmt_bind_str (st, 0, a->name);
    norc_stmt_bind_i64 (st, 1, a->kind);
    int rc = norc_stmt_exec (st);
    if (rc == NORC_OK && a->id)
        *a->id = norc_stmt_insert_id (st);
    return rc;
}

int
norc_store_queue_add (norc_db_t *db, const char *name, int kind, uint64_t *id)
{
    s_queue_args_t a = { .name = name, .kind = kind, .id = id };
    return norc_db_txn (db, s_queue_add, &a);
}

static const char *s_sql_queue_get = "SELECT id, name, kind FROM queues WHERE name = ?";

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
    "  (SELECT COUNT(*) FROM daemons d WHERE d.kind = 2 AND d.queue_id = q.id "
    "     AND d.status < 7 AND d.heartbeat > ?) AS executors "
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
    "SELECT COUNT(*) FROM daemons d WHERE d.kind = 2 AND d.status < 7 AND d.heartbeat > ? "
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

//  --------------------------------------------------------------------------
//  Tasks

typedef struct {
    norc_task_t *task;
    const char *name;
    norc_rows_t *rows;
} s_task_args_t;

static const char *s_sql_task_add =
    "INSERT INTO tasks (name, kind, description, command, timeout_s, cwd, nice, "
    "  retry_max, retry_backoff_s, retry_cap_s, log_max_bytes, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))";
static const char *s_sql_task_env =
    "INSERT INTO task_env (task_id, name, value) VALUES (?, ?, ?)";

static int
s_task_add (norc_db_t *db, void *arg)
{
    norc_task_t *t = ((s_task_args_t *) arg)->task;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_task_add);
    norc_stmt_bind_str (st, 0, t->name);
    norc_stmt_bind_i64 (st, 1, t->kind ? t->kind : NORC_TASK_COMMAND);
    norc_stmt_bind_str (st, 2, t->description ? t->description : "");
    norc_stmt_bind_str (st, 3, t->command);
    norc_stmt_bind_i64 (st, 4, t->timeout_s);
    norc_stmt_bind_str (st, 5, t->cwd);
    norc_stmt_bind_i64 (st, 6, t->nice);
    norc_stmt_bind_i64 (st, 7, t->retry_max);
    norc_stmt_bind_i64 (st, 8, t->retry_backoff_s ? t->retry_backoff_s : 10);
    norc_stmt_bind_i64 (st, 9, t->retry_cap_s ? t->retry_cap_s : 3600);
    norc_stmt_bind_i64 (st, 10, t->log_max_bytes);
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    t->id = norc_stmt_insert_id (st);
    for (size_t i = 0; i < t->env.count; i++) {
        st = norc_db_stmt (db, s_sql_task_env);
        norc_stmt_bind_u64 (st, 0, t->id);
        norc_stmt_bind_str (st, 1, t->env.keys [i]);
        norc_stmt_bind_str (st, 2, t->env.values [i]);
        if ((rc = norc_stmt_exec (st)))
            return rc;
    }
    return NORC_OK;
}

int
norc_store_task_add (norc_db_t *db, norc_task_t *task)
{
    s_task_args_t a = { .task = task };
    return norc_db_txn (db, s_task_add, &a);
}

static const char *s_sql_task_by_name =
    "SELECT id, name, kind, description, command, timeout_s, cwd, nice, retry_max, "
    "  retry_backoff_s, retry_cap_s, deleted_at, log_max_bytes FROM tasks WHERE name = ?";
static const char *s_sql_task_by_id =
    "SELECT id, name, kind, description, command, timeout_s, cwd, nice, retry_max, "
    "  retry_backoff_s, retry_cap_s, deleted_at, log_max_bytes FROM tasks WHERE id = ?";
static const char *s_sql_task_env_get =
    "SELECT name, value FROM task_env WHERE task_id = ? ORDER BY name";

static int
s_task_get (norc_db_t *db, void *arg)
{
    s_task_args_t *a = (s_task_args_t *) arg;
    norc_stmt_t *st;
    if (a->name [0] == '#') {
        uint64_t id;
        if (norc_id_parse (a->name, &id) != NORC_OK)
            return NORC_NOTFOUND;
        st = norc_db_stmt (db, s_sql_task_by_id);
        norc_stmt_bind_u64 (st, 0, id);
    }
    else {
        st = norc_db_stmt (db, s_sql_task_by_name);
        norc_stmt_bind_str (st, 0, a->name);
    }
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    norc_task_t *t = a->task;
    norc_task_clear (t);
    t->id = norc_stmt_u64 (st, 0);
    t->name = s_dup (norc_stmt_str (st, 1));
    t->kind = (int) norc_stmt_i64 (st, 2);
    t->description = s_dup (norc_stmt_str (st, 3));
    t->command = s_dup (norc_stmt_str (st, 4));
    t->timeout_s = (int) norc_stmt_i64 (st, 5);
    t->cwd = s_dup (norc_stmt_str (st, 6));
    t->nice = (int) norc_stmt_i64 (st, 7);
    t->retry_max = (int) norc_stmt_i64 (st, 8);
    t->retry_backoff_s = (int) norc_stmt_i64 (st, 9);
    t->retry_cap_s = (int) norc_stmt_i64 (st, 10);
    t->deleted_at = norc_stmt_time (st, 11);
    t->log_max_bytes = norc_stmt_i64 (st, 12);
    st = norc_db_stmt (db, s_sql_task_env_get);
    norc_stmt_bind_u64 (st, 0, t->id);
    if ((rc = norc_stmt_exec (st)))
        return rc;
    while (norc_stmt_fetch (st) == NORC_OK)
        norc_strmap_set (&t->env, norc_stmt_str (st, 0), norc_stmt_str (st, 1));
    return NORC_OK;
}

int
norc_store_task_get (norc_db_t *db, const char *name, norc_task_t *task)
{
    s_task_args_t a = { .task = task, .name = name };
    return norc_db_txn (db, s_task_get, &a);
}

static const char *s_sql_task_list =
    "SELECT t.id, t.name, CASE t.kind WHEN 1 THEN 'command' ELSE 'job' END AS kind, "
    "  t.description, COALESCE(t.command, '') AS command, t.timeout_s, "
    "  t.retry_max, t.created_at AS added, "
    "  (SELECT COUNT(*) FROM instances i WHERE i.task_id = t.id) AS instances "
    "FROM tasks t WHERE t.deleted_at IS NULL ORDER BY t.name";

static int
s_task_list (norc_db_t *db, void *arg)
{
    s_task_args_t *a = (s_task_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_task_list);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_task_list (norc_db_t *db, norc_rows_t *rows)
{
    s_task_args_t a = { .rows = rows };
    return norc_db_txn (db, s_task_list, &a);
}

static const char *s_sql_task_lock =
    "SELECT t.id, (SELECT COUNT(*) FROM schedules s WHERE s.task_id = t.id AND s.deleted_at IS NULL) "
    "FROM tasks t WHERE t.name = ? AND t.deleted_at IS NULL FOR UPDATE";
static const char *s_sql_task_rm =
    "UPDATE tasks SET deleted_at = UTC_TIMESTAMP(6), name = CONCAT(LEFT(name, 100), '~deleted~', id) "
    "WHERE id = ?";

static int
s_task_rm (norc_db_t *db, void *arg)
{
    s_task_args_t *a = (s_task_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_task_lock);
    norc_stmt_bind_str (st, 0, a->name);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    uint64_t id = norc_stmt_u64 (st, 0);
    if (norc_stmt_i64 (st, 1) > 0)
        return NORC_CONFLICT;
    st = norc_db_stmt (db, s_sql_task_rm);
    norc_stmt_bind_u64 (st, 0, id);
    return norc_stmt_exec (st);
}

int
norc_store_task_rm (norc_db_t *db, const char *name)
{
    s_task_args_t a = { .name = name };
    return norc_db_txn (db, s_task_rm, &a);
}

//  --------------------------------------------------------------------------
//  Schedules

typedef struct {
    norc_schedule_t *schedule;
    uint64_t id;
    uint64_t owner;
    norc_us_t now, until;
    int limit;
    int *count;
    bool flag;
    const char *reason;
    norc_rows_t *rows;
    norc_schedule_t **list;
    size_t *list_count;
} s_sched_args_t;

static const char *s_sql_schedule_add =
    "INSERT INTO schedules (task_id, queue_id, kind, start_at, period_s, cron_expr, tz, "
    "  repetitions, remaining, catchup, catchup_window_s, concurrency, deadline_s, paused, "
    "  next_nominal, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))";

static int
s_schedule_add (norc_db_t *db, void *arg)
{
    norc_schedule_t *s = ((s_sched_args_t *) arg)->schedule;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_add);
    norc_stmt_bind_u64 (st, 0, s->task_id);
    norc_stmt_bind_u64 (st, 1, s->queue_id);
    norc_stmt_bind_i64 (st, 2, s->kind);
    norc_stmt_bind_time (st, 3, s->start ? s->start : norc_now_us ());
    norc_stmt_bind_i64 (st, 4, s->period_s);
    norc_stmt_bind_str (st, 5, s->cron);
    norc_stmt_bind_str (st, 6, s->tz && *s->tz ? s->tz : "UTC");
    norc_stmt_bind_i64 (st, 7, s->repetitions);
    norc_stmt_bind_i64 (st, 8, s->repetitions);
    norc_stmt_bind_i64 (st, 9, s->catchup);
    norc_stmt_bind_i64 (st, 10, s->catchup_window_s);
    norc_stmt_bind_i64 (st, 11, s->concurrency);
    norc_stmt_bind_i64 (st, 12, s->deadline_s);
    norc_stmt_bind_i64 (st, 13, s->paused);
    norc_stmt_bind_time (st, 14, s->next_nominal);
    int rc = norc_stmt_exec (st);
    if (rc == NORC_OK) {
        s->id = norc_stmt_insert_id (st);
        s->remaining = s->repetitions;
    }
    return rc;
}

int
norc_store_schedule_add (norc_db_t *db, norc_schedule_t *schedule)
{
    s_sched_args_t a = { .schedule = schedule };
    return norc_db_txn (db, s_schedule_add, &a);
}

#define S_SCHEDULE_COLUMNS \
    "s.id, s.task_id, s.queue_id, s.kind, s.start_at, s.period_s, s.cron_expr, s.tz, " \
    "s.repetitions, s.remaining, s.catchup, s.catchup_window_s, s.concurrency, s.deadline_s, " \
    "s.paused, s.last_nominal, s.next_nominal, s.lease_owner, s.lease_until, s.lease_epoch, " \
    "s.deleted_at, s.deleted_reason, t.name, q.name, t.kind "
#define S_SCHEDULE_FROM \
    "FROM schedules s JOIN tasks t ON t.id = s.task_id JOIN queues q ON q.id = s.queue_id "

static void
s_schedule_from (norc_stmt_t *st, norc_schedule_t *s)
{
    norc_schedule_clear (s);
    s->id = norc_stmt_u64 (st, 0);
    s->task_id = norc_stmt_u64 (st, 1);
    s->queue_id = norc_stmt_u64 (st, 2);
    s->kind = (int) norc_stmt_i64 (st, 3);
    s->start = norc_stmt_time (st, 4);
    s->period_s = norc_stmt_i64 (st, 5);
    s->cron = s_dup (norc_stmt_str (st, 6));
    s->tz = s_dup (norc_stmt_str (st, 7));
    s->repetitions = norc_stmt_i64 (st, 8);
    s->remaining = norc_stmt_i64 (st, 9);
    s->catchup = (int) norc_stmt_i64 (st, 10);
    s->catchup_window_s = norc_stmt_i64 (st, 11);
    s->concurrency = (int) norc_stmt_i64 (st, 12);
    s->deadline_s = norc_stmt_i64 (st, 13);
    s->paused = norc_stmt_i64 (st, 14) != 0;
    s->last_nominal = norc_stmt_time (st, 15);
    s->next_nominal = norc_stmt_time (st, 16);
    s->lease_owner = norc_stmt_u64 (st, 17);
    s->lease_until = norc_stmt_time (st, 18);
    s->lease_epoch = norc_stmt_u64 (st, 19);
    s->deleted_at = norc_stmt_time (st, 20);
    s->deleted_reason = s_dup (norc_stmt_str (st, 21));
    s->task = s_dup (norc_stmt_str (st, 22));
    s->queue = s_dup (norc_stmt_str (st, 23));
    s->task_kind = (int) norc_stmt_i64 (st, 24);
}

static const char *s_sql_schedule_get =
    "SELECT " S_SCHEDULE_COLUMNS S_SCHEDULE_FROM "WHERE s.id = ?";

static int
s_schedule_get (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_get);
    norc_stmt_bind_u64 (st, 0, a->id);
    int rc = s_exec_one (st);
    if (rc == NORC_OK)
        s_schedule_from (st, a->schedule);
    return rc;
}

int
norc_store_schedule_get (norc_db_t *db, uint64_t id, norc_schedule_t *schedule)
{
    s_sched_args_t a = { .id = id, .schedule = schedule };
    return norc_db_txn (db, s_schedule_get, &a);
}

static const char *s_sql_schedule_list =
    "SELECT s.id, t.name AS task, q.name AS queue, "
    "  CASE s.kind WHEN 1 THEN CONCAT('every ', s.period_s, 's') ELSE s.cron_expr END AS timing, "
    "  s.tz, s.repetitions, s.remaining, "
    "  CASE s.catchup WHEN 0 THEN 'none' WHEN 1 THEN 'all' WHEN 2 THEN 'latest' ELSE 'within' END AS catchup, "
    "  CASE s.concurrency WHEN 0 THEN 'allow' WHEN 1 THEN 'forbid' ELSE 'replace' END AS concurrency, "
    "  s.paused, s.next_nominal AS next, s.last_nominal AS last, s.lease_owner AS scheduler, "
    "  s.deleted_at AS deleted, COALESCE(s.deleted_reason, '') AS deleted_reason "
    S_SCHEDULE_FROM "WHERE (? OR s.deleted_at IS NULL) ORDER BY s.id";

static int
s_schedule_list (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_list);
    norc_stmt_bind_i64 (st, 0, a->flag);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_schedule_list (norc_db_t *db, bool with_deleted, norc_rows_t *rows)
{
    s_sched_args_t a = { .flag = with_deleted, .rows = rows };
    return norc_db_txn (db, s_schedule_list, &a);
}

//  A change bumps the version, so a scheduler can tell its copy is stale.
static const char *s_sql_schedule_delete =
    "UPDATE schedules SET deleted_at = UTC_TIMESTAMP(6), deleted_reason = ?, "
    "  version = version + 1 WHERE id = ? AND deleted_at IS NULL";
static const char *s_sql_schedule_exists = "SELECT id FROM schedules WHERE id = ?";

static int
s_schedule_delete (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_delete);
    norc_stmt_bind_str (st, 0, a->reason ? a->reason : "deleted");
    norc_stmt_bind_u64 (st, 1, a->id);
    int rc = norc_stmt_exec (st);
    if (rc || norc_stmt_affected (st) == 1)
        return rc;
    st = norc_db_stmt (db, s_sql_schedule_exists);
    norc_stmt_bind_u64 (st, 0, a->id);
    rc = s_exec_one (st);
    return rc == NORC_OK ? NORC_OK : rc;      //  already deleted: fine
}

int
norc_store_schedule_delete (norc_db_t *db, uint64_t id, const char *reason)
{
    s_sched_args_t a = { .id = id, .reason = reason };
    return norc_db_txn (db, s_schedule_delete, &a);
}

static const char *s_sql_schedule_pause =
    "UPDATE schedules SET paused = ?, version = version + 1 WHERE id = ? AND deleted_at IS NULL";
static const char *s_sql_schedule_live = "SELECT id FROM schedules WHERE id = ? AND deleted_at IS NULL";

static int
s_schedule_pause (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_live);
    norc_stmt_bind_u64 (st, 0, a->id);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    st = norc_db_stmt (db, s_sql_schedule_pause);
    norc_stmt_bind_i64 (st, 0, a->flag);
    norc_stmt_bind_u64 (st, 1, a->id);
    return norc_stmt_exec (st);
}

int
norc_store_schedule_set_paused (norc_db_t *db, uint64_t id, bool paused)
{
    s_sched_args_t a = { .id = id, .flag = paused };
    return norc_db_txn (db, s_schedule_pause, &a);
}

static const char *s_sql_schedule_claim =
    "UPDATE schedules SET lease_owner = ?, lease_until = ?, lease_epoch = lease_epoch + 1 "
    "WHERE deleted_at IS NULL AND (repetitions = 0 OR remaining > 0) "
    "  AND (lease_owner IS NULL OR lease_until < ?) "
    "ORDER BY id LIMIT ?";

static int
s_schedule_claim (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_claim);
    norc_stmt_bind_u64 (st, 0, a->owner);
    norc_stmt_bind_time (st, 1, a->until);
    norc_stmt_bind_time (st, 2, a->now);
    norc_stmt_bind_i64 (st, 3, a->limit);
    int rc = norc_stmt_exec (st);
    if (rc == NORC_OK)
        *a->count = (int) norc_stmt_affected (st);
    return rc;
}

int
norc_store_schedule_claim (norc_db_t *db, uint64_t owner, norc_us_t now,
                           norc_us_t lease_until, int limit, int *claimed)
{
    int local;
    s_sched_args_t a = { .owner = owner, .now = now, .until = lease_until, .limit = limit,
                         .count = claimed ? claimed : &local };
    return norc_db_txn (db, s_schedule_claim, &a);
}

static const char *s_sql_schedule_owned =
    "SELECT " S_SCHEDULE_COLUMNS S_SCHEDULE_FROM
    "WHERE s.lease_owner = ? AND s.deleted_at IS NULL AND (s.repetitions = 0 OR s.remaining > 0) "
    "ORDER BY s.id";

static void
s_schedules_free (norc_schedule_t **list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        norc_schedule_clear (&(*list) [i]);
    free (*list);
    *list = NULL;
}

static int
s_schedule_owned (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    s_schedules_free (a->list, *a->list_count);
    *a->list_count = 0;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_owned);
    norc_stmt_bind_u64 (st, 0, a->owner);
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    while ((rc = norc_stmt_fetch (st)) == NORC_OK) {
        *a->list = (norc_schedule_t *) norc_realloc (*a->list, (*a->list_count + 1) * sizeof (norc_schedule_t));
        norc_schedule_t *s = &(*a->list) [(*a->list_count)++];
        memset (s, 0, sizeof (*s));
        s_schedule_from (st, s);
    }
    return rc == NORC_NOTFOUND ? NORC_OK : rc;
}

int
norc_store_schedule_owned (norc_db_t *db, uint64_t owner, norc_schedule_t **schedules, size_t *count)
{
    *schedules = NULL;
    *count = 0;
    s_sched_args_t a = { .owner = owner, .list = schedules, .list_count = count };
    int rc = norc_db_txn (db, s_schedule_owned, &a);
    if (rc)
        s_schedules_free (schedules, *count), *count = 0;
    return rc;
}

static const char *s_sql_schedule_renew =
    "UPDATE schedules SET lease_until = ? WHERE lease_owner = ? AND deleted_at IS NULL";

static int
s_schedule_renew (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_renew);
    norc_stmt_bind_time (st, 0, a->until);
    norc_stmt_bind_u64 (st, 1, a->owner);
    int rc = norc_stmt_exec (st);
    if (rc == NORC_OK)
        *a->count = (int) norc_stmt_affected (st);
    return rc;
}

int
norc_store_schedule_renew (norc_db_t *db, uint64_t owner, norc_us_t lease_until, int *renewed)
{
    int local;
    s_sched_args_t a = { .owner = owner, .until = lease_until, .count = renewed ? renewed : &local };
    return norc_db_txn (db, s_schedule_renew, &a);
}

static const char *s_sql_schedule_release =
    "UPDATE schedules SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?";

static int
s_schedule_release (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_release);
    norc_stmt_bind_u64 (st, 0, a->owner);
    int rc = norc_stmt_exec (st);
    if (rc == NORC_OK)
        *a->count = (int) norc_stmt_affected (st);
    return rc;
}

int
norc_store_schedule_release (norc_db_t *db, uint64_t owner, int *released)
{
    int local;
    s_sched_args_t a = { .owner = owner, .count = released ? released : &local };
    return norc_db_txn (db, s_schedule_release, &a);
}

//  --------------------------------------------------------------------------
//  Ticks

typedef struct {
    norc_tick_fire_t *tick;
    uint64_t schedule_id;
    uint64_t except;
    int limit;
    norc_rows_t *rows;
} s_tick_args_t;

//  The fence and the advance in one statement: it matches only while the
//  caller holds the lease at this epoch and the schedule is live.
static const char *s_sql_tick_advance =
    "UPDATE schedules SET last_nominal = GREATEST(COALESCE(last_nominal, ?), ?), "
    "  next_nominal = ?, remaining = ? "
    "WHERE id = ? AND lease_owner = ? AND lease_epoch = ? AND deleted_at IS NULL";

static int
s_tick_advance (norc_db_t *db, const norc_tick_fire_t *t)
{
    norc_stmt_t *st = norc_db_stmt (db, s_sql_tick_advance);
    norc_stmt_bind_time (st, 0, t->nominal);
    norc_stmt_bind_time (st, 1, t->nominal);
    norc_stmt_bind_time (st, 2, t->next_nominal);
    norc_stmt_bind_i64 (st, 3, t->remaining < 0 ? 0 : t->remaining);
    norc_stmt_bind_u64 (st, 4, t->schedule_id);
    norc_stmt_bind_u64 (st, 5, t->owner);
    norc_stmt_bind_u64 (st, 6, t->epoch);
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    return norc_stmt_affected (st) == 1 ? NORC_OK : NORC_NOTFOUND;
}

static const char *s_sql_tick_instance =
    "INSERT INTO instances (task_id, queue_id, schedule_id, nominal, attempt, trigger_kind, "
    "  status, enqueued_at, executor_id, dispatch_epoch, assigned_at) "
    "VALUES (?, ?, ?, ?, 1, 1, 1, UTC_TIMESTAMP(6), NULLIF(?, 0), NULLIF(?, 0), IF(? = 0, NULL, UTC_TIMESTAMP(6)))";
static const char *s_sql_tick_schedule =
    "SELECT task_id, queue_id FROM schedules WHERE id = ?";

//  One tick is a round of one (norc_store_tick_batch): one mechanism
//  writes every tick.
int
norc_store_tick_fire (norc_db_t *db, norc_tick_fire_t *tick)
{
    tick->outcome = 0;
    int rc = norc_store_tick_batch (db, tick, 1);
    return rc ? rc : tick->result;
}

int
norc_store_tick_skip (norc_db_t *db, const norc_tick_fire_t *tick, int outcome, const char *reason)
{
    norc_tick_fire_t one = *tick;
    one.outcome = outcome;
    one.reason = reason;
    one.forbid = false;
    int rc = norc_store_tick_batch (db, &one, 1);
    return rc ? rc : one.result;
}

static const char *s_sql_schedule_busy =
    "SELECT 1 FROM instances WHERE schedule_id = ? AND status < 7 LIMIT 1";

static const char *s_sql_schedule_active =
    "SELECT id, status, COALESCE(executor_id, 0) AS executor_id FROM instances "
    "WHERE schedule_id = ? AND id <> ? AND status < 7 ORDER BY id";

static int
s_schedule_active (norc_db_t *db, void *arg)
{
    s_tick_args_t *a = (s_tick_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_active);
    norc_stmt_bind_u64 (st, 0, a->schedule_id);
    norc_stmt_bind_u64 (st, 1, a->except);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_schedule_active (norc_db_t *db, uint64_t schedule_id, uint64_t except, norc_rows_t *rows)
{
    s_tick_args_t a = { .schedule_id = schedule_id, .except = except, .rows = rows };
    return norc_db_txn (db, s_schedule_active, &a);
}

//  Multi-row statements: the scheduler's round and the aggregator's batch
//  cost a few round trips, not one per row. Chunks have power-of-two sizes
//  (at most S_CHUNK rows), so each statement has few distinct texts and
//  stays in the prepared-statement cache.
#define S_CHUNK 256

//  The largest power of two <= min (left, S_CHUNK)
static size_t
s_chunk (size_t left)
{
    size_t n = S_CHUNK;
    while (n > left)
        n /= 2;
    return n;
}

//  prefix, then `row` n times joined by `sep`, then suffix (caller frees)
static char *
s_sql_rows (const char *prefix, const char *row, const char *sep, size_t n, const char *suffix)
{
    size_t len = strlen (prefix) + n * (strlen (row) + strlen (sep)) + strlen (suffix) + 1;
    char *sql = (char *) norc_malloc (len);
    char *p = sql;
    p += sprintf (p, "%s", prefix);
    for (size_t i = 0; i < n; i++)
        p += sprintf (p, "%s%s", i ? sep : "", row);
    sprintf (p, "%s", suffix);
    return sql;
}

//  Per schedule of a round: the fence, and where the schedule ends up
typedef struct {
    uint64_t id;
    uint64_t owner, epoch;      //  the lease the caller claims (its first tick's)
    bool claimed;
    bool fenced;                //  held by the caller at the tick's epoch, live
    bool fires_forbid;          //  a forbid schedule already fires in this round
    norc_us_t last_nominal;     //  the latest tick of the round
    norc_us_t next_nominal;     //  from its last tick
    int64_t remaining;
    ptrdiff_t run;              //  the ledger run its non-fire ticks extend, -1 none
    bool had_run;               //  a ledger run of it is in the batch already
} s_round_sched_t;

//  A run of ticks that fired nothing, for the ledger
typedef struct {
    const norc_tick_fire_t *first;
    norc_us_t last;
    int64_t count;
    bool extend;                //  may continue the ledger row that ends at first->prev
    bool written;
} s_run_t;

static int
s_round_sched_cmp (const void *a, const void *b)
{
    uint64_t x = ((const s_round_sched_t *) a)->id, y = ((const s_round_sched_t *) b)->id;
    return x < y ? -1 : x > y;
}

static s_round_sched_t *
s_round_find (s_round_sched_t *list, size_t count, uint64_t id)
{
    s_round_sched_t key = { .id = id };
    return (s_round_sched_t *) bsearch (&key, list, count, sizeof (s_round_sched_t), s_round_sched_cmp);
}

static int
s_tick_batch (norc_db_t *db, void *arg)
{
    s_tick_args_t *a = (s_tick_args_t *) arg;
    norc_tick_fire_t *ticks = a->tick;
    size_t n = (size_t) a->limit;
    int rc = NORC_OK;
    //  The round's schedules, sorted and distinct
    s_round_sched_t *sched = (s_round_sched_t *) norc_calloc (n, sizeof (s_round_sched_t));
    size_t ns = 0;
    for (size_t i = 0; i < n; i++)
        sched [i].id = ticks [i].schedule_id;
    qsort (sched, n, sizeof (s_round_sched_t), s_round_sched_cmp);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || sched [i].id != sched [ns - 1].id)
            sched [ns++] = sched [i];
    //  1. Per schedule: the lease the caller claims (its first tick's) and
    //  where its ticks move it
    for (size_t i = 0; i < n; i++) {
        norc_tick_fire_t *t = &ticks [i];
        s_round_sched_t *r = s_round_find (sched, ns, t->schedule_id);
        if (!r->claimed) {
            r->claimed = true;
            r->owner = t->owner;
            r->epoch = t->epoch;
        }
        if (t->owner != r->owner || t->epoch != r->epoch)
            continue;           //  judged on its own below
        norc_us_t last = t->last > t->nominal ? t->last : t->nominal;
        if (last > r->last_nominal)
            r->last_nominal = last;
        r->next_nominal = t->next_nominal;
        r->remaining = t->remaining < 0 ? 0 : t->remaining;
    }
    //  2. Advance them, fenced in the statement itself: a row matches only
    //  while the caller holds the lease at that epoch. A chunk that matches
    //  fewer rows than it names reads which did.
    for (size_t done = 0; rc == NORC_OK && done < ns; ) {
        size_t k = s_chunk (ns - done);
        char *rows = s_sql_rows ("SELECT ? AS id, ? AS last, ? AS next, ? AS remaining, ? AS owner, ? AS epoch",
                                 " UNION ALL SELECT ?, ?, ?, ?, ?, ?", "", k - 1, "");
        char *sql = norc_asprintf ("UPDATE schedules s JOIN (%s) v ON v.id = s.id SET "
                                   "s.last_nominal = COALESCE(GREATEST(s.last_nominal, v.last), v.last), "
                                   "s.next_nominal = v.next, s.remaining = v.remaining "
                                   "WHERE s.deleted_at IS NULL AND s.lease_owner = v.owner AND s.lease_epoch = v.epoch",
                                   rows);
        norc_stmt_t *st = norc_db_stmt (db, sql);
        free (sql);
        free (rows);
        for (size_t j = 0; j < k; j++) {
            s_round_sched_t *r = &sched [done + j];
            int p = (int) (j * 6);
            norc_stmt_bind_u64 (st, p, r->id);
            norc_stmt_bind_time (st, p + 1, r->last_nominal);
            norc_stmt_bind_time (st, p + 2, r->next_nominal);
            norc_stmt_bind_i64 (st, p + 3, r->remaining);
            norc_stmt_bind_u64 (st, p + 4, r->owner);
            norc_stmt_bind_u64 (st, p + 5, r->epoch);
        }
        rc = norc_stmt_exec (st);
        if (rc == NORC_OK && norc_stmt_affected (st) == k)
            for (size_t j = 0; j < k; j++)
                sched [done + j].fenced = true;
        else
        if (rc == NORC_OK) {
            sql = s_sql_rows ("SELECT id, lease_owner, lease_epoch, deleted_at IS NULL FROM schedules "
                              "WHERE id IN (", "?", ",", k, ")");
            st = norc_db_stmt (db, sql);
            free (sql);
            for (size_t j = 0; j < k; j++)
                norc_stmt_bind_u64 (st, (int) j, sched [done + j].id);
            rc = norc_stmt_exec (st);
            while (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK) {
                s_round_sched_t *r = s_round_find (sched, ns, norc_stmt_u64 (st, 0));
                if (r)
                    r->fenced = norc_stmt_u64 (st, 1) == r->owner && norc_stmt_u64 (st, 2) == r->epoch
                             && norc_stmt_i64 (st, 3) == 1;
            }
        }
        done += k;
    }
    //  3. Each tick's outcome; forbid is checked against the record and
    //  against earlier ticks of the same round
    size_t fired = 0, skipped = 0;
    for (size_t i = 0; rc == NORC_OK && i < n; i++) {
        norc_tick_fire_t *t = &ticks [i];
        s_round_sched_t *r = s_round_find (sched, ns, t->schedule_id);
        t->instance_id = 0;
        t->result = NORC_OK;
        if (t->owner != r->owner || t->epoch != r->epoch) {
            //  Another lease than the schedule's other ticks: at most one
            //  can be current
            rc = r->fenced ? NORC_NOTFOUND : s_tick_advance (db, t);
            if (rc == NORC_NOTFOUND) {
                t->result = NORC_NOTFOUND;
                rc = NORC_OK;
                continue;
            }
            if (rc)
                break;
        }
        else
        if (!r->fenced) {
            t->result = NORC_NOTFOUND;
            continue;
        }
        if (t->outcome == 0 && t->forbid) {
            bool busy = r->fires_forbid;
            if (!busy) {
                norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_busy);
                norc_stmt_bind_u64 (st, 0, t->schedule_id);
                if ((rc = norc_stmt_exec (st)))
                    break;
                busy = norc_stmt_fetch (st) == NORC_OK;
            }
            if (busy) {
                t->outcome = NORC_TICK_SKIPPED;
                t->reason = "forbid: the previous run is still active";
            }
            else
                r->fires_forbid = true;
        }
        if (t->outcome == 0 && (!t->task_id || !t->queue_id)) {
            norc_stmt_t *st = norc_db_stmt (db, s_sql_tick_schedule);
            norc_stmt_bind_u64 (st, 0, t->schedule_id);
            if ((rc = s_exec_one (st)))
                break;
            t->task_id = norc_stmt_u64 (st, 0);
            t->queue_id = norc_stmt_u64 (st, 1);
        }
        if (t->outcome == 0)
            fired++;
        else
            skipped++;
    }
    //  Auto-increment ids of one multi-row INSERT are consecutive (step
    //  auto_increment_increment) unless the lock mode interleaves them
    uint64_t id_step = 0;
    if (rc == NORC_OK && fired) {
        norc_stmt_t *st = norc_db_stmt (db, "SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment");
        if ((rc = s_exec_one (st)) == NORC_OK && norc_stmt_i64 (st, 0) <= 1)
            id_step = norc_stmt_u64 (st, 1);
    }
    //  An instance written assigned at once must be the dispatcher's to
    //  assign: the fence is checked once for the round, under a shared lock
    //  on the lease row (a takeover waits for this commit)
    for (size_t i = 0; rc == NORC_OK && i < n; i++)
        if (ticks [i].outcome == 0 && ticks [i].executor_id) {
            norc_stmt_t *st = norc_db_stmt (db, "SELECT holder = ? AND epoch = ? FROM leases "
                                                "WHERE name = 'dispatch' LOCK IN SHARE MODE");
            norc_stmt_bind_u64 (st, 0, ticks [i].owner);
            norc_stmt_bind_u64 (st, 1, ticks [i].dispatch_epoch);
            rc = s_exec_one (st);
            bool fenced = rc == NORC_OK && norc_stmt_i64 (st, 0) == 1;
            if (rc == NORC_NOTFOUND)
                rc = NORC_OK;
            for (size_t j = 0; !fenced && j < n; j++)
                ticks [j].executor_id = 0;      //  written unassigned: the caller sends no ASSIGN
            break;
        }
    //  4. The fired ticks' instances; a tick fired before (an unclear
    //  commit retried) makes its chunk go row by row
    norc_tick_fire_t **fire = (norc_tick_fire_t **) norc_calloc (fired + skipped + 1, sizeof (norc_tick_fire_t *));
    size_t nf = 0;
    for (size_t i = 0; i < n; i++)
        if (ticks [i].result == NORC_OK && ticks [i].outcome == 0)
            fire [nf++] = &ticks [i];
    for (size_t done = 0; rc == NORC_OK && done < nf; ) {
        size_t k = s_chunk (nf - done);
        char *sql = s_sql_rows ("INSERT INTO instances (task_id, queue_id, schedule_id, nominal, attempt, "
                                "trigger_kind, status, enqueued_at, executor_id, dispatch_epoch, assigned_at) VALUES ",
                                "(?, ?, ?, ?, 1, 1, 1, UTC_TIMESTAMP(6), NULLIF(?, 0), NULLIF(?, 0), "
                                "IF(? = 0, NULL, UTC_TIMESTAMP(6)))", ",", k, "");
        norc_stmt_t *st = norc_db_stmt (db, sql);
        free (sql);
        for (size_t j = 0; j < k; j++) {
            norc_tick_fire_t *t = fire [done + j];
            norc_stmt_bind_u64 (st, (int) (j * 7), t->task_id);
            norc_stmt_bind_u64 (st, (int) (j * 7 + 1), t->queue_id);
            norc_stmt_bind_u64 (st, (int) (j * 7 + 2), t->schedule_id);
            norc_stmt_bind_time (st, (int) (j * 7 + 3), t->nominal);
            norc_stmt_bind_u64 (st, (int) (j * 7 + 4), t->executor_id);
            norc_stmt_bind_u64 (st, (int) (j * 7 + 5), t->executor_id ? t->dispatch_epoch : 0);
            norc_stmt_bind_u64 (st, (int) (j * 7 + 6), t->executor_id);
        }
        rc = norc_stmt_exec (st);
        if (rc == NORC_CONFLICT) {
            rc = NORC_OK;
            for (size_t j = 0; rc == NORC_OK && j < k; j++) {
                norc_tick_fire_t *t = fire [done + j];
                st = norc_db_stmt (db, s_sql_tick_instance);
                norc_stmt_bind_u64 (st, 0, t->task_id);
                norc_stmt_bind_u64 (st, 1, t->queue_id);
                norc_stmt_bind_u64 (st, 2, t->schedule_id);
                norc_stmt_bind_time (st, 3, t->nominal);
                norc_stmt_bind_u64 (st, 4, t->executor_id);
                norc_stmt_bind_u64 (st, 5, t->executor_id ? t->dispatch_epoch : 0);
                norc_stmt_bind_u64 (st, 6, t->executor_id);
                rc = norc_stmt_exec (st);
                if (rc == NORC_CONFLICT) {
                    t->result = NORC_CONFLICT;
                    rc = NORC_OK;
                }
                else
                if (rc == NORC_OK)
                    t->instance_id = norc_stmt_insert_id (st);
            }
        }
        else
        if (rc == NORC_OK && id_step) {
            uint64_t first = norc_stmt_insert_id (st);
            for (size_t j = 0; j < k; j++)
                fire [done + j]->instance_id = first + j * id_step;
        }
        else
        if (rc == NORC_OK) {
            //  Their ids, by tick key
            sql = s_sql_rows ("SELECT id, schedule_id, nominal FROM instances "
                              "WHERE (schedule_id, nominal, attempt) IN (", "(?, ?, 1)", ",", k, ")");
            st = norc_db_stmt (db, sql);
            free (sql);
            for (size_t j = 0; j < k; j++) {
                norc_stmt_bind_u64 (st, (int) (j * 2), fire [done + j]->schedule_id);
                norc_stmt_bind_time (st, (int) (j * 2 + 1), fire [done + j]->nominal);
            }
            rc = norc_stmt_exec (st);
            while (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK) {
                uint64_t id = norc_stmt_u64 (st, 0), sid = norc_stmt_u64 (st, 1);
                norc_us_t nominal = norc_stmt_time (st, 2);
                for (size_t j = 0; j < k; j++)
                    if (fire [done + j]->schedule_id == sid && fire [done + j]->nominal == nominal) {
                        fire [done + j]->instance_id = id;
                        break;
                    }
            }
        }
        done += k;
    }
    //  5. The ledger of ticks that fired nothing, as runs: a schedule's
    //  consecutive such ticks with the same outcome and reason are one row
    //  (merged here within the batch, and with the row that ends at the
    //  run's previous tick), so an outage writes a bounded number of rows
    free (fire);
    fire = NULL;
    s_run_t *runs = (s_run_t *) norc_calloc (n + 1, sizeof (s_run_t));
    size_t nr = 0;
    for (size_t i = 0; i < ns; i++)
        sched [i].run = -1;
    for (size_t i = 0; rc == NORC_OK && i < n; i++) {
        norc_tick_fire_t *t = &ticks [i];
        if (t->result != NORC_OK)
            continue;
        s_round_sched_t *r = s_round_find (sched, ns, t->schedule_id);
        if (t->outcome == 0) {
            r->run = -1;
            continue;
        }
        norc_us_t last = t->last > t->nominal ? t->last : t->nominal;
        int64_t count = t->count > 1 ? t->count : 1;
        s_run_t *open = r->run >= 0 ? &runs [r->run] : NULL;
        if (open && open->first->outcome == t->outcome
        &&  strcmp (open->first->reason ? open->first->reason : "", t->reason ? t->reason : "") == 0) {
            open->last = last;
            open->count += count;
            continue;
        }
        runs [nr] = (s_run_t) { .first = t, .last = last, .count = count, .extend = t->prev && !r->had_run };
        r->run = (ptrdiff_t) nr++;
        r->had_run = true;
    }
    //  Continue the rows that end at each run's previous tick (a schedule
    //  has at most one such run per batch, so a chunk names distinct rows)
    s_run_t **ext = (s_run_t **) norc_calloc (nr + 1, sizeof (s_run_t *));
    size_t ne = 0;
    for (size_t i = 0; i < nr; i++)
        if (runs [i].extend)
            ext [ne++] = &runs [i];
    for (size_t done = 0; rc == NORC_OK && done < ne; ) {
        size_t k = s_chunk (ne - done);
        char *rows = s_sql_rows ("SELECT ? AS sid, ? AS prev, ? AS last, ? AS n, ? AS outcome, ? AS reason",
                                 " UNION ALL SELECT ?, ?, ?, ?, ?, ?", "", k - 1, "");
        char *sql = norc_asprintf ("UPDATE ticks k JOIN (%s) v ON k.schedule_id = v.sid AND k.last_nominal = v.prev "
                                   "SET k.tick_count = k.tick_count + v.n, k.last_nominal = v.last "
                                   "WHERE k.outcome = v.outcome AND k.reason = v.reason", rows);
        norc_stmt_t *st = norc_db_stmt (db, sql);
        free (sql);
        free (rows);
        for (size_t j = 0; j < k; j++) {
            s_run_t *run = ext [done + j];
            int p = (int) (j * 6);
            norc_stmt_bind_u64 (st, p, run->first->schedule_id);
            norc_stmt_bind_time (st, p + 1, run->first->prev);
            norc_stmt_bind_time (st, p + 2, run->last);
            norc_stmt_bind_i64 (st, p + 3, run->count);
            norc_stmt_bind_i64 (st, p + 4, run->first->outcome);
            norc_stmt_bind_str (st, p + 5, run->first->reason ? run->first->reason : "");
        }
        rc = norc_stmt_exec (st);
        if (rc == NORC_OK && norc_stmt_affected (st) == k)
            for (size_t j = 0; j < k; j++)
                ext [done + j]->written = true;
        else
        if (rc == NORC_OK) {
            //  Which were continued (or, after a retried commit, already were)
            sql = s_sql_rows ("SELECT schedule_id, last_nominal FROM ticks WHERE (schedule_id, last_nominal) IN (",
                              "(?, ?)", ",", k, ")");
            st = norc_db_stmt (db, sql);
            free (sql);
            for (size_t j = 0; j < k; j++) {
                norc_stmt_bind_u64 (st, (int) (j * 2), ext [done + j]->first->schedule_id);
                norc_stmt_bind_time (st, (int) (j * 2 + 1), ext [done + j]->last);
            }
            rc = norc_stmt_exec (st);
            while (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK) {
                uint64_t sid = norc_stmt_u64 (st, 0);
                norc_us_t last = norc_stmt_time (st, 1);
                for (size_t j = 0; j < k; j++)
                    if (ext [done + j]->first->schedule_id == sid && ext [done + j]->last == last)
                        ext [done + j]->written = true;
            }
        }
        done += k;
    }
    //  The rest are new rows
    ne = 0;
    for (size_t i = 0; i < nr; i++)
        if (!runs [i].written)
            ext [ne++] = &runs [i];
    for (size_t done = 0; rc == NORC_OK && done < ne; ) {
        size_t k = s_chunk (ne - done);
        char *sql = s_sql_rows ("INSERT INTO ticks (schedule_id, nominal, last_nominal, tick_count, outcome, reason, "
                                "recorded_at) VALUES ", "(?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))", ",", k,
                                " ON DUPLICATE KEY UPDATE outcome = outcome");
        norc_stmt_t *st = norc_db_stmt (db, sql);
        free (sql);
        for (size_t j = 0; j < k; j++) {
            s_run_t *run = ext [done + j];
            int p = (int) (j * 6);
            norc_stmt_bind_u64 (st, p, run->first->schedule_id);
            norc_stmt_bind_time (st, p + 1, run->first->nominal);
            norc_stmt_bind_time (st, p + 2, run->last);
            norc_stmt_bind_i64 (st, p + 3, run->count);
            norc_stmt_bind_i64 (st, p + 4, run->first->outcome);
            norc_stmt_bind_str (st, p + 5, run->first->reason ? run->first->reason : "");
        }
        rc = norc_stmt_exec (st);
        done += k;
    }
    free (ext);
    free (runs);
    free (fire);
    free (sched);
    return rc;
}

int
norc_store_tick_batch (norc_db_t *db, norc_tick_fire_t *ticks, size_t count)
{
    s_tick_args_t a = { .tick = ticks, .limit = (int) count };
    return count ? norc_db_txn (db, s_tick_batch, &a) : NORC_OK;
}

static const char *s_sql_tick_history =
    "SELECT nominal, last, ticks, outcome, reason, instance_id, status, lateness_ms FROM ("
    "  SELECT i.nominal, i.nominal AS last, 1 AS ticks, 'fired' AS outcome, '' AS reason, i.id AS instance_id, "
    "    i.status, "
    "    CAST(TIMESTAMPDIFF(MICROSECOND, i.nominal, COALESCE(i.started_at, i.enqueued_at)) / 1000 AS SIGNED) AS lateness_ms "
    "  FROM instances i WHERE i.schedule_id = ? AND i.attempt = 1 "
    "  UNION ALL "
    "  SELECT k.nominal, k.last_nominal, k.tick_count, CASE k.outcome WHEN 2 THEN 'skipped' ELSE 'missed' END, "
    "    k.reason, NULL, NULL, NULL FROM ticks k WHERE k.schedule_id = ? "
    ") h ORDER BY nominal DESC LIMIT ?";

static int
s_tick_history (norc_db_t *db, void *arg)
{
    s_tick_args_t *a = (s_tick_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_tick_history);
    norc_stmt_bind_u64 (st, 0, a->schedule_id);
    norc_stmt_bind_u64 (st, 1, a->schedule_id);
    norc_stmt_bind_i64 (st, 2, a->limit);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_tick_history (norc_db_t *db, uint64_t schedule_id, int limit, norc_rows_t *rows)
{
    s_tick_args_t a = { .schedule_id = schedule_id, .limit = limit, .rows = rows };
    return norc_db_txn (db, s_tick_history, &a);
}

//  --------------------------------------------------------------------------
//  Instances

typedef struct {
    uint64_t id, task_id, queue_id, executor_id;
    uint64_t *out_id;
    norc_us_t time;
    const char *text;
    norc_instance_t *instance;
    const norc_instance_t *events;
    size_t count;
    int *out_count;
    bool flag;
    int limit;
    norc_rows_t *rows;
    norc_instance_t **list;
    size_t *list_count;
    uint64_t *retry_ids;
} s_inst_args_t;

static const char *s_sql_instance_manual =
    "INSERT INTO instances (task_id, queue_id, attempt, trigger_kind, status, enqueued_at) "
    "VALUES (?, ?, 1, 2, 1, UTC_TIMESTAMP(6))";

static int
s_instance_manual (norc_db_t *db, void *arg)
{
    s_inst_args_t *a = (s_inst_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_instance_manual);
    norc_stmt_bind_u64 (st, 0, a->task_id);
    norc_stmt_bind_u64 (st, 1, a->queue_id);
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    *a->out_id = norc_stmt_insert_id (st);
    return NORC_OK;
}

int
norc_store_instance_manual (norc_db_t *db, uint64_t task_id, uint64_t queue_id, uint64_t *id)
{
    s_inst_args_t a = { .task_id = task_id, .queue_id = queue_id, .out_id = id };
    return norc_db_txn (db, s_instance_manual, &a);
}

#define S_INSTANCE_COLUMNS \
    "i.id, i.task_id, i.queue_id, i.schedule_id, i.nominal, i.attempt, i.trigger_kind, " \
    "i.job_instance_id, i.job_node_id, i.executor_id, i.status, i.enqueued_at, i.started_at, " \
    "i.ended_at, i.exit_code, i.term_signal, i.cpu_user_us, i.cpu_sys_us, i.max_rss_kb, " \
    "i.log_path, i.reason, t.name, q.name, t.command, t.timeout_s, i.not_before, i.retry_of, " \
    "(SELECT r.info FROM revisions r WHERE r.id = i.revision_id), t.kind "
#define S_INSTANCE_FROM \
    "FROM instances i JOIN tasks t ON t.id = i.task_id JOIN queues q ON q.id = i.queue_id "

static void
s_instance_from (norc_stmt_t *st, norc_instance_t *i)
{
    norc_instance_clear (i);
    i->id = norc_stmt_u64 (st, 0);
    i->task_id = norc_stmt_u64 (st, 1);
    i->queue_id = norc_stmt_u64 (st, 2);
    i->schedule_id = norc_stmt_u64 (st, 3);
    i->nominal = norc_stmt_time (st, 4);
    i->attempt = (int) norc_stmt_i64 (st, 5);
    i->trigger = (int) norc_stmt_i64 (st, 6);
    i->job_instance_id = norc_stmt_u64 (st, 7);
    i->job_node_id = norc_stmt_u64 (st, 8);
    i->executor_id = norc_stmt_u64 (st, 9);
    i->status = (int) norc_stmt_i64 (st, 10);
    i->enqueued = norc_stmt_time (st, 11);
    i->started = norc_stmt_time (st, 12);
    i->ended = norc_stmt_time (st, 13);
    i->has_exit = !norc_stmt_is_null (st, 14);
    i->exit_code = (int) norc_stmt_i64 (st, 14);
    i->signal = (int) norc_stmt_i64 (st, 15);
    i->cpu_user_us = norc_stmt_i64 (st, 16);
    i->cpu_sys_us = norc_stmt_i64 (st, 17);
    i->max_rss_kb = norc_stmt_i64 (st, 18);
    char path [64];
    i->log_path = s_dup (norc_stmt_str (st, 19) ? norc_stmt_str (st, 19)
                                                : norc_log_path (i->id, path, sizeof path));
    i->reason = s_dup (norc_stmt_str (st, 20));
    i->task = s_dup (norc_stmt_str (st, 21));
    i->queue = s_dup (norc_stmt_str (st, 22));
    i->command = s_dup (norc_stmt_str (st, 23));
    i->timeout_s = (int) norc_stmt_i64 (st, 24);
    i->not_before = norc_stmt_time (st, 25);
    i->retry_of = norc_stmt_u64 (st, 26);
    i->revision = s_dup (norc_stmt_str (st, 27));
    i->task_kind = (int) norc_stmt_i64 (st, 28);
}

//  The task's retry policy, applied to an instance that just ended: on
//  FAILURE, TIMEDOUT, or ERROR because its executor was lost, while
//  attempts remain, the next attempt is created waiting, not before the
//  backoff (retry_backoff_s doubled per attempt, at most retry_cap_s).
//  INSERT IGNORE on the unique keys (retry_of; the tick key) makes this
//  safe to run again for a resent event. *retry_id is 0 when none.
static const char *s_sql_instance_retry =
    "INSERT IGNORE INTO instances (task_id, queue_id, schedule_id, nominal, attempt, trigger_kind, status, "
    "  enqueued_at, not_before, retry_of, job_instance_id, job_node_id) "
    "SELECT i.task_id, i.queue_id, i.schedule_id, i.nominal, i.attempt + 1, 4, 1, UTC_TIMESTAMP(6), "
    "  UTC_TIMESTAMP(6) + INTERVAL CAST(LEAST(t.retry_cap_s, t.retry_backoff_s * POW(2, LEAST(i.attempt, 40) - 1)) "
    "    AS UNSIGNED) SECOND, i.id, i.job_instance_id, i.job_node_id "
    "FROM instances i JOIN tasks t ON t.id = i.task_id "
    "WHERE i.id = ? AND i.attempt <= t.retry_max "
    "  AND (i.status IN (13, 15) OR (i.status = 14 AND i.reason LIKE 'executor lost%'))";

static int
s_instance_retry (norc_db_t *db, uint64_t id, uint64_t *retry_id)
{
    *retry_id = 0;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_instance_retry);
    norc_stmt_bind_u64 (st, 0, id);
    int rc = norc_stmt_exec (st);
    if (rc == NORC_OK && norc_stmt_affected (st) == 1)
        *retry_id = norc_stmt_insert_id (st);
    return rc;
}

static const char *s_sql_instance_get =
    "SELECT " S_INSTANCE_COLUMNS S_INSTANCE_FROM "WHERE i.id = ?";

static int
s_instance_get (norc_db_t *db, void *arg)
{
    s_inst_args_t *a = (s_inst_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_instance_get);
    norc_stmt_bind_u64 (st, 0, a->id);
    int rc = s_exec_one (st);
    if (rc == NORC_OK)
        s_instance_from (st, a->instance);
    return rc;
}

int
norc_store_instance_get (norc_db_t *db, uint64_t id, norc_instance_t *instance)
{
    s_inst_args_t a = { .id = id, .instance = instance };
    return norc_db_txn (db, s_instance_get, &a);
}

static const char *s_sql_instance_waiting =
    "SELECT " S_INSTANCE_COLUMNS S_INSTANCE_FROM
    "WHERE i.status = 1 AND i.executor_id IS NULL ORDER BY i.id";

static void
s_instances_free (norc_instance_t **list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        norc_instance_clear (&(*list) [i]);
    free (*list);
    *list = NULL;
}

//  Run a statement (bound) and read its instances into a->list
static int
s_instances_read (norc_stmt_t *st, s_inst_args_t *a)
{
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    while ((rc = norc_stmt_fetch (st)) == NORC_OK) {
        *a->list = (norc_instance_t *) norc_realloc (*a->list, (*a->list_count + 1) * sizeof (norc_instance_t));
        norc_instance_t *i = &(*a->list) [(*a->list_count)++];
        memset (i, 0, sizeof (*i));
        s_instance_from (st, i);
    }
    return rc == NORC_NOTFOUND ? NORC_OK : rc;
}

static int
s_instance_waiting (norc_db_t *db, void *arg)
{
    s_inst_args_t *a = (s_inst_args_t *) arg;
    s_instances_free (a->list, *a->list_count);
    *a->list_count = 0;
    return s_instances_read (norc_db_stmt (db, s_sql_instance_waiting), a);
}

static const char *s_sql_instance_assigned =
    "SELECT " S_INSTANCE_COLUMNS S_INSTANCE_FROM
    "WHERE i.executor_id = ? AND i.ended_at IS NULL AND i.status = 1 "
    "  AND i.assigned_at < UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND ORDER BY i.id LIMIT 100";

static int
s_instance_assigned (norc_db_t *db, void *arg)
{
    s_inst_args_t *a = (s_inst_args_t *) arg;
    s_instances_free (a->list, *a->list_count);
    *a->list_count = 0;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_instance_assigned);
    norc_stmt_bind_u64 (st, 0, a->executor_id);
    norc_stmt_bind_i64 (st, 1, a->time);
    return s_instances_read (st, a);
}

int
norc_store_instance_assigned (norc_db_t *db, uint64_t executor_id, int64_t older_than_us,
                              norc_instance_t **instances, size_t *count)
{
    *instances = NULL;
    *count = 0;
    s_inst_args_t a = { .executor_id = executor_id, .time = older_than_us, .list = instances, .list_count = count };
    int rc = norc_db_txn (db, s_instance_assigned, &a);
    if (rc)
        s_instances_free (instances, *count), *count = 0;
    return rc;
}

int
norc_store_instance_waiting (norc_db_t *db, norc_instance_t **instances, size_t *count)
{
    *instances = NULL;
    *count = 0;
    s_inst_args_t a = { .list = instances, .list_count = count };
    int rc = norc_db_txn (db, s_instance_waiting, &a);
    if (rc)
        s_instances_free (instances, *count), *count = 0;
    return rc;
}

//  An instance is assigned only while no executor holds it, so two
//  dispatchers can never hand out the same instance.
//  The fence, in a statement: the dispatcher holds the lease at its epoch
#define S_FENCE "EXISTS (SELECT 1 FROM leases l WHERE l.name = 'dispatch' AND l.holder = ? AND l.epoch = ?)"

static const char *s_sql_instance_assign =
    "UPDATE instances SET executor_id = ?, dispatch_epoch = ?, assigned_at = UTC_TIMESTAMP(6) "
    "WHERE id = ? AND status = 1 AND executor_id IS NULL AND " S_FENCE;
static const char *s_sql_instance_unassign =
    "UPDATE instances SET executor_id = NULL, dispatch_epoch = NULL, assigned_at = NULL "
    "WHERE id = ? AND status = 1 AND executor_id = ? AND (? = 0 OR dispatch_epoch = ?)";
static const char *s_sql_instance_exists = "SELECT status, executor_id FROM instances WHERE id = ?";

static int
s_instance_assign (norc_db_t *db, void *arg)
{
    s_inst_args_t *a = (s_inst_args_t *) arg;
    const norc_fence_t *fence = (const norc_fence_t *) a->text;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_instance_exists);
    norc_stmt_bind_u64 (st, 0, a->id);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    if (norc_stmt_i64 (st, 0) != NORC_ST_CREATED)
        return NORC_CONFLICT;
    st = norc_db_stmt (db, s_sql_instance_assign);
    norc_stmt_bind_u64 (st, 0, a->executor_id);
    norc_stmt_bind_u64 (st, 1, fence->epoch);
    norc_stmt_bind_u64 (st, 2, a->id);
    norc_stmt_bind_u64 (st, 3, fence->holder);
    norc_stmt_bind_u64 (st, 4, fence->epoch);
    rc = norc_stmt_exec (st);
    return rc ? rc : norc_stmt_affected (st) == 1 ? NORC_OK : NORC_CONFLICT;
}

int
norc_store_instance_assign (norc_db_t *db, uint64_t id, uint64_t executor_id, const norc_fence_t *fence)
{
    s_inst_args_t a = { .id = id, .executor_id = executor_id, .text = (const char *) (const void *) fence };
    return norc_db_txn (db, s_instance_assign, &a);
}

static int
s_instance_unassign (norc_db_t *db, void *arg)
{
    s_inst_args_t *a = (s_inst_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_instance_unassign);
    norc_stmt_bind_u64 (st, 0, a->id);
    norc_stmt_bind_u64 (st, 1, a->executor_id);
    norc_stmt_bind_u64 (st, 2, (uint64_t) a->time);
    norc_stmt_bind_u64 (st, 3, (uint64_t) a->time);
    int rc = norc_stmt_exec (st);
    return rc ? rc : norc_stmt_affected (st) == 1 ? NORC_OK : NORC_CONFLICT;
}

int
norc_store_instance_unassign (norc_db_t *db, uint64_t id, uint64_t executor_id, uint64_t epoch)
{
    s_inst_args_t a = { .id = id, .executor_id = executor_id, .time = (norc_us_t) epoch };
    return norc_db_txn (db, s_instance_unassign, &a);
}

typedef struct {
    const uint64_t *ids, *executor_ids;
    int *results;
    size_t count;
    const norc_fence_t *fence;
} s_assign_batch_t;

//  One multi-row UPDATE per chunk; when it matches fewer rows than it
//  names, the rows say which assignments took (held by that executor
//  under this epoch: this dispatcher's, not another's).
static int
s_instance_assign_batch (norc_db_t *db, void *arg)
{
    s_assign_batch_t *a = (s_assign_batch_t *) arg;
    int rc = NORC_OK;
    for (size_t done = 0; rc == NORC_OK && done < a->count; ) {
        size_t k = s_chunk (a->count - done);
        char *rows = s_sql_rows ("SELECT ? AS id, ? AS executor_id", " UNION ALL SELECT ?, ?", "", k - 1, "");
        char *sql = norc_asprintf ("UPDATE instances i JOIN (%s) v ON v.id = i.id "
                                   "SET i.executor_id = v.executor_id, i.dispatch_epoch = ?, "
                                   "i.assigned_at = UTC_TIMESTAMP(6) "
                                   "WHERE i.status = 1 AND i.executor_id IS NULL AND " S_FENCE, rows);
        free (rows);
        norc_stmt_t *st = norc_db_stmt (db, sql);
        free (sql);
        for (size_t j = 0; j < k; j++) {
            norc_stmt_bind_u64 (st, (int) (j * 2), a->ids [done + j]);
            norc_stmt_bind_u64 (st, (int) (j * 2 + 1), a->executor_ids [done + j]);
            a->results [done + j] = NORC_OK;
        }
        norc_stmt_bind_u64 (st, (int) (k * 2), a->fence->epoch);
        norc_stmt_bind_u64 (st, (int) (k * 2 + 1), a->fence->holder);
        norc_stmt_bind_u64 (st, (int) (k * 2 + 2), a->fence->epoch);
        rc = norc_stmt_exec (st);
        if (rc == NORC_OK && norc_stmt_affected (st) != k) {
            for (size_t j = 0; j < k; j++)
                a->results [done + j] = NORC_CONFLICT;
            sql = s_sql_rows ("SELECT id, executor_id, COALESCE(dispatch_epoch, 0) FROM instances "
                              "WHERE status = 1 AND id IN (", "?", ",", k, ")");
            st = norc_db_stmt (db, sql);
            free (sql);
            for (size_t j = 0; j < k; j++)
                norc_stmt_bind_u64 (st, (int) j, a->ids [done + j]);
            rc = norc_stmt_exec (st);
            while (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK)
                for (size_t j = 0; j < k; j++)
                    if (a->ids [done + j] == norc_stmt_u64 (st, 0)
                    &&  a->executor_ids [done + j] == norc_stmt_u64 (st, 1)
                    &&  a->fence->epoch == norc_stmt_u64 (st, 2))
                        a->results [done + j] = NORC_OK;
        }
        done += k;
    }
    return rc;
}

int
norc_store_instance_assign_batch (norc_db_t *db, const uint64_t *ids, const uint64_t *executor_ids,
                                  int *results, size_t count, const norc_fence_t *fence)
{
    s_assign_batch_t a = { ids, executor_ids, results, count, fence };
    return count ? norc_db_txn (db, s_instance_assign_batch, &a) : NORC_OK;
}

static const char *s_sql_instance_start =
    "UPDATE instances SET status = 2, executor_id = COALESCE(NULLIF(?, 0), executor_id), started_at = ? "
    "WHERE id = ? AND status < 7";

static int
s_instance_start_one (norc_db_t *db, uint64_t id, uint64_t executor_id, norc_us_t started)
{
    norc_stmt_t *st = norc_db_stmt (db, s_sql_instance_start);
    norc_stmt_bind_u64 (st, 0, executor_id);
    norc_stmt_bind_time (st, 1, started ? started : norc_now_us ());
    norc_stmt_bind_u64 (st, 2, id);
    int rc = norc_stmt_exec (st);
    if (rc || norc_stmt_affected (st) == 1)
        return rc;
    st = norc_db_stmt (db, s_sql_instance_exists);
    norc_stmt_bind_u64 (st, 0, id);
    rc = s_exec_one (st);
    if (rc)
        return rc;
    //  Same values again (a resent event) change no row: fine
    return norc_stmt_i64 (st, 0) >= S_FINAL ? NORC_CONFLICT : NORC_OK;
}

static int
s_instance_start (norc_db_t *db, void *arg)
{
    s_inst_args_t *a = (s_inst_args_t *) arg;
    return s_instance_start_one (db, a->id, a->executor_id, a->time);
}

int
norc_store_instance_start (norc_db_t *db, uint64_t id, uint64_t executor_id, norc_us_t started)
{
    s_inst_args_t a = { .id = id, .executor_id = executor_id, .time = started };
    return norc_db_txn (db, s_instance_start, &a);
}

static const char *s_sql_instance_end =
    "UPDATE instances SET status = ?, executor_id = COALESCE(NULLIF(?, 0), executor_id), "
    "  started_at = COALESCE(started_at, ?), ended_at = ?, exit_code = ?, term_signal = ?, "
    "  cpu_user_us = ?, cpu_sys_us = ?, max_rss_kb = ?, reason = ? "
    "WHERE id = ? AND status < 7";

static int
s_instance_end_one (norc_db_t *db, const norc_instance_t *i)
{
    norc_stmt_t *st = norc_db_stmt (db, s_sql_instance_end);
    norc_stmt_bind_i64 (st, 0, i->status);
    norc_stmt_bind_u64 (st, 1, i->executor_id);
    norc_stmt_bind_time (st, 2, i->started);
    norc_stmt_bind_time (st, 3, i->ended ? i->ended : norc_now_us ());
    if (i->has_exit)
        norc_stmt_bind_i64 (st, 4, i->exit_code);
    else
        norc_stmt_bind_null (st, 4);
    if (i->signal)
        norc_stmt_bind_i64 (st, 5, i->signal);
    else
        norc_stmt_bind_null (st, 5);
    norc_stmt_bind_i64 (st, 6, i->cpu_user_us);
    norc_stmt_bind_i64 (st, 7, i->cpu_sys_us);
    norc_stmt_bind_i64 (st, 8, i->max_rss_kb);
    norc_stmt_bind_str (st, 9, i->reason && *i->reason ? i->reason : NULL);
    norc_stmt_bind_u64 (st, 10, i->id);
    int rc = norc_stmt_exec (st);
    if (rc || norc_stmt_affected (st) == 1)
        return rc;
    st = norc_db_stmt (db, s_sql_instance_exists);
    norc_stmt_bind_u64 (st, 0, i->id);
    rc = s_exec_one (st);
    return rc ? rc : NORC_CONFLICT;
}

//  Only an end that a retry policy can act on costs a statement (the
//  common SUCCESS does not); the policy itself is checked in SQL.
static bool
s_retryable (const norc_instance_t *e)
{
    return e->status == NORC_ST_FAILURE || e->status == NORC_ST_TIMEDOUT
        || (e->status == NORC_ST_ERROR && e->reason && strncmp (e->reason, "executor lost", 13) == 0);
}

static int
s_instance_end (norc_db_t *db, void *arg)
{
    s_inst_args_t *a = (s_inst_args_t *) arg;
    int rc = s_instance_end_one (db, a->instance);
    uint64_t retry_id;
    return rc || !s_retryable (a->instance) ? rc : s_instance_retry (db, a->instance->id, &retry_id);
}

int
norc_store_instance_end (norc_db_t *db, const norc_instance_t *instance)
{
    assert (NORC_STATUS_IS_FINAL (instance->status));
    s_inst_args_t a = { .instance = (norc_instance_t *) instance };
    return norc_db_txn (db, s_instance_end, &a);
}

static int s_instance_revision (norc_db_t *db, void *arg);


//  A batch of lifecycle events in a few statements: the ends in one
//  multi-row UPDATE per chunk (joined to the rows as a derived table), the
//  starts likewise; then, row by row, only what is rare: revisions, and the
//  retry policy for ends it can act on. An event for an instance that has
//  already ended, or does not exist, changes nothing (as when resent).
static const char *s_sql_apply_ends_row =
    "SELECT ? AS id, ? AS status, ? AS executor_id, ? AS started_at, ? AS ended_at, ? AS exit_code, "
    "? AS term_signal, ? AS cpu_user_us, ? AS cpu_sys_us, ? AS max_rss_kb, ? AS reason";
static const char *s_sql_apply_starts_row =
    "SELECT ? AS id, ? AS executor_id, ? AS started_at";

//  An instance the liveness sweep ended ERROR ("executor lost") while its
//  executor, frozen, still ran it: that executor's own end, when it comes,
//  is the truth and replaces the guess (the record must not contradict
//  the log)
//  A start or an end from an executor is taken only for an instance that
//  is not held by another one (a stale report from an executor that lost
//  it, frozen past the threshold, does not overwrite the record)
#define S_OWNED_BY(executor) \
    "(i.executor_id IS NULL OR " executor " = 0 OR i.executor_id = " executor ")"

#define S_LOST_BY(executor) \
    "i.status = 14 AND LEFT(i.reason, 27) = 'executor lost: no heartbeat' AND " executor " <> 0 " \
    "AND i.executor_id = " executor

static int
s_apply_ends (norc_db_t *db, const norc_instance_t **ends, size_t count)
{
    int rc = NORC_OK;
    for (size_t done = 0; rc == NORC_OK && done < count; ) {
        size_t k = s_chunk (count - done);
        char *sql;
        if (k == 1)     //  one row: no derived table (it costs the server a temporary table per statement)
            sql = norc_strdup (
                "UPDATE instances i SET i.status = ?, "
                "  i.executor_id = COALESCE(NULLIF(?, 0), i.executor_id), "
                "  i.started_at = COALESCE(i.started_at, ?), i.ended_at = ?, "
                "  i.exit_code = ?, i.term_signal = ?, i.cpu_user_us = ?, "
                "  i.cpu_sys_us = ?, i.max_rss_kb = ?, i.reason = ? "
                "WHERE i.id = ? AND ((i.status < 7 AND " S_OWNED_BY ("?") ") OR (" S_LOST_BY ("?") "))");
        else {
            char *rows = s_sql_rows (s_sql_apply_ends_row, " UNION ALL SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?", "",
                                     k - 1, "");
            sql = norc_asprintf (
                "UPDATE instances i JOIN (%s) e ON e.id = i.id SET i.status = e.status, "
                "  i.executor_id = COALESCE(NULLIF(e.executor_id, 0), i.executor_id), "
                "  i.started_at = COALESCE(i.started_at, e.started_at), i.ended_at = e.ended_at, "
                "  i.exit_code = e.exit_code, i.term_signal = e.term_signal, i.cpu_user_us = e.cpu_user_us, "
                "  i.cpu_sys_us = e.cpu_sys_us, i.max_rss_kb = e.max_rss_kb, i.reason = e.reason "
                "WHERE (i.status < 7 AND " S_OWNED_BY ("e.executor_id") ") OR (" S_LOST_BY ("e.executor_id") ")", rows);
            free (rows);
        }
        norc_stmt_t *st = norc_db_stmt (db, sql);
        free (sql);
        for (size_t j = 0; j < k; j++) {
            const norc_instance_t *e = ends [done + j];
            int p = k == 1 ? -1 : (int) (j * 11);     //  one row: the id goes last
            norc_stmt_bind_u64 (st, k == 1 ? 10 : p, e->id);
            norc_stmt_bind_i64 (st, p + 1, e->status);
            norc_stmt_bind_u64 (st, p + 2, e->executor_id);
            norc_stmt_bind_time (st, p + 3, e->started);
            norc_stmt_bind_time (st, p + 4, e->ended ? e->ended : norc_now_us ());
            if (e->has_exit)
                norc_stmt_bind_i64 (st, p + 5, e->exit_code);
            else
                norc_stmt_bind_null (st, p + 5);
            if (e->signal)
                norc_stmt_bind_i64 (st, p + 6, e->signal);
            else
                norc_stmt_bind_null (st, p + 6);
            norc_stmt_bind_i64 (st, p + 7, e->cpu_user_us);
            norc_stmt_bind_i64 (st, p + 8, e->cpu_sys_us);
            norc_stmt_bind_i64 (st, p + 9, e->max_rss_kb);
            norc_stmt_bind_str (st, p + 10, e->reason && *e->reason ? e->reason : NULL);
            if (k == 1)
                for (int x = 11; x < 15; x++)
                    norc_stmt_bind_u64 (st, x, e->executor_id);
        }
        rc = norc_stmt_exec (st);
        done += k;
    }
    return rc;
}

static int
s_apply_starts (norc_db_t *db, const norc_instance_t **starts, size_t count)
{
    int rc = NORC_OK;
    for (size_t done = 0; rc == NORC_OK && done < count; ) {
        size_t k = s_chunk (count - done);
        char *sql;
        if (k == 1)     //  as in s_apply_ends: one row without a derived table
            sql = norc_strdup (
                "UPDATE instances i SET i.status = 2, "
                "  i.executor_id = COALESCE(NULLIF(?, 0), i.executor_id), i.started_at = ? "
                "WHERE i.id = ? AND i.status < 7 AND " S_OWNED_BY ("?"));
        else {
            char *rows = s_sql_rows (s_sql_apply_starts_row, " UNION ALL SELECT ?, ?, ?", "", k - 1, "");
            sql = norc_asprintf (
                "UPDATE instances i JOIN (%s) e ON e.id = i.id SET i.status = 2, "
                "  i.executor_id = COALESCE(NULLIF(e.executor_id, 0), i.executor_id), i.started_at = e.started_at "
                "WHERE i.status < 7 AND " S_OWNED_BY ("e.executor_id"), rows);
            free (rows);
        }
        norc_stmt_t *st = norc_db_stmt (db, sql);
        free (sql);
        for (size_t j = 0; j < k; j++) {
            const norc_instance_t *e = starts [done + j];
            int p = k == 1 ? -1 : (int) (j * 3);      //  one row: the id goes last
            norc_stmt_bind_u64 (st, k == 1 ? 2 : p, e->id);
            norc_stmt_bind_u64 (st, p + 1, e->executor_id);
            norc_stmt_bind_time (st, p + 2, e->started ? e->started : norc_now_us ());
            if (k == 1) {
                norc_stmt_bind_u64 (st, 3, e->executor_id);
                norc_stmt_bind_u64 (st, 4, e->executor_id);
            }
        }
        rc = norc_stmt_exec (st);
        done += k;
    }
    return rc;
}

//  Keep the first of each instance's events (as if applied in order: a
//  later end of an ended instance changes nothing); order is kept.
typedef struct {
    uint64_t id;
    size_t pos;
} s_id_pos_t;

static int
s_id_pos_cmp (const void *a, const void *b)
{
    const s_id_pos_t *x = (const s_id_pos_t *) a, *y = (const s_id_pos_t *) b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static size_t
s_first_per_instance (const norc_instance_t **list, size_t count)
{
    s_id_pos_t *order = (s_id_pos_t *) norc_calloc (count + 1, sizeof (s_id_pos_t));
    bool *keep = (bool *) norc_calloc (count + 1, sizeof (bool));
    for (size_t i = 0; i < count; i++) {
        order [i].id = list [i]->id;
        order [i].pos = i;
    }
    qsort (order, count, sizeof (s_id_pos_t), s_id_pos_cmp);
    for (size_t i = 0; i < count; i++)
        keep [order [i].pos] = i == 0 || order [i].id != order [i - 1].id;
    size_t kept = 0;
    for (size_t i = 0; i < count; i++)
        if (keep [i])
            list [kept++] = list [i];
    free (keep);
    free (order);
    return kept;
}

static int
s_instance_apply (norc_db_t *db, void *arg)
{
    s_inst_args_t *a = (s_inst_args_t *) arg;
    const norc_instance_t **ends = (const norc_instance_t **) norc_calloc (a->count + 1, sizeof (norc_instance_t *));
    const norc_instance_t **starts = (const norc_instance_t **) norc_calloc (a->count + 1,
                                                                          sizeof (norc_instance_t *));
    size_t nends = 0, nstarts = 0;
    for (size_t k = 0; k < a->count; k++) {
        if (a->retry_ids)
            a->retry_ids [k] = 0;
        if (NORC_STATUS_IS_FINAL (a->events [k].status))
            ends [nends++] = &a->events [k];
        else
            starts [nstarts++] = &a->events [k];
    }
    //  Starts first: an end of the same instance in the batch overrides it
    nends = s_first_per_instance (ends, nends);
    nstarts = s_first_per_instance (starts, nstarts);
    int rc = s_apply_starts (db, starts, nstarts);
    if (rc == NORC_OK)
        rc = s_apply_ends (db, ends, nends);
    free (ends);
    free (starts);
    for (size_t k = 0; rc == NORC_OK && k < a->count; k++) {
        const norc_instance_t *e = &a->events [k];
        if (e->revision && *e->revision) {
            s_inst_args_t one = { .id = e->id, .text = e->revision };
            rc = s_instance_revision (db, &one);
            if (rc == NORC_NOTFOUND)
                rc = NORC_OK;
        }
        if (rc == NORC_OK && s_retryable (e)) {
            uint64_t retry_id;
            rc = s_instance_retry (db, e->id, &retry_id);
            if (a->retry_ids)
                a->retry_ids [k] = retry_id;
        }
    }
    return rc;
}

int
norc_store_instance_apply (norc_db_t *db, const norc_instance_t *events, size_t count, uint64_t *retry_ids)
{
    s_inst_args_t a = { .events = events, .count = count, .retry_ids = retry_ids };
    return norc_db_txn (db, s_instance_apply, &a);
}

static const char *s_sql_instance_list =
    "SELECT i.id, t.name AS task, q.name AS queue, COALESCE(i.schedule_id, '') AS schedule_id, "
    "  i.nominal, i.attempt, COALESCE(i.executor_id, '') AS executor_id, i.status, "
    "  i.enqueued_at AS enqueued, i.started_at AS started, i.ended_at AS ended, i.exit_code, "
    "  COALESCE(i.reason, '') AS reason, COALESCE(i.job_instance_id, '') AS job "
    S_INSTANCE_FROM
    "WHERE (i.ended_at IS NULL OR i.ended_at >= ?) AND (? = 0 OR i.status >= 13) "
    "ORDER BY i.id DESC LIMIT ?";

static int
s_instance_list (norc_db_t *db, void *arg)
{
    s_inst_args_t *a = (s_inst_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_instance_list);
    norc_stmt_bind_time (st, 0, a->time ? a->time : 1);
    norc_stmt_bind_i64 (st, 1, a->flag);
    norc_stmt_bind_i64 (st, 2, a->limit > 0 ? a->limit : 1000000);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_instance_list (norc_db_t *db, norc_us_t since, bool failed_only, int limit, norc_rows_t *rows)
{
    s_inst_args_t a = { .time = since, .flag = failed_only, .limit = limit, .rows = rows };
    return norc_db_txn (db, s_instance_list, &a);
}

//  What the event stream tells of instances: one query for many ids
static int
s_instance_describe (norc_db_t *db, void *arg)
{
    s_inst_args_t *a = (s_inst_args_t *) arg;
    const uint64_t *ids = (const uint64_t *) (const void *) a->events;
    int rc = NORC_OK;
    norc_rows_clear (a->rows);          //  a retried transaction starts again
    for (size_t done = 0; rc == NORC_OK && done < a->count; ) {
        size_t k = s_chunk (a->count - done);
        char *sql = s_sql_rows ("SELECT i.id, COALESCE(i.schedule_id, 0) AS schedule_id, i.nominal, i.attempt, "
                                "t.name AS task, q.name AS queue, COALESCE(d.host, '') AS host, "
                                "COALESCE(i.executor_id, 0) AS executor_id "
                                "FROM instances i JOIN tasks t ON t.id = i.task_id JOIN queues q ON q.id = i.queue_id "
                                "LEFT JOIN daemons d ON d.id = i.executor_id WHERE i.id IN (", "?", ",", k, ")");
        norc_stmt_t *st = norc_db_stmt (db, sql);
        free (sql);
        for (size_t j = 0; j < k; j++)
            norc_stmt_bind_u64 (st, (int) j, ids [done + j]);
        rc = norc_stmt_exec (st);
        if (rc == NORC_OK)
            rc = s_rows_append (st, a->rows);
        done += k;
    }
    return rc;
}

int
norc_store_instance_describe (norc_db_t *db, const uint64_t *ids, size_t count, norc_rows_t *rows)
{
    s_inst_args_t a = { .events = (const norc_instance_t *) (const void *) ids, .count = count, .rows = rows };
    norc_rows_clear (rows);
    return count ? norc_db_txn (db, s_instance_describe, &a) : NORC_OK;
}

static const char *s_sql_instance_cancel =
    "UPDATE instances SET status = 9, ended_at = UTC_TIMESTAMP(6), reason = ? "
    "WHERE id = ? AND status IN (1, 2) AND executor_id IS NULL";
static const char *s_sql_instance_handle =
    "UPDATE instances SET status = 12, handled_by = ?, handled_at = UTC_TIMESTAMP(6) "
    "WHERE id = ? AND status >= 13";

//  One conditional change of one instance, with a text (a->text) and its id
//  (a->id) bound: NORC_NOTFOUND when there is no such instance,
//  NORC_CONFLICT when its state does not allow the change.
static int
s_instance_change (norc_db_t *db, s_inst_args_t *a, const char *sql)
{
    norc_stmt_t *st = norc_db_stmt (db, sql);
    norc_stmt_bind_str (st, 0, a->text ? a->text : "");
    norc_stmt_bind_u64 (st, 1, a->id);
    int rc = norc_stmt_exec (st);
    if (rc || norc_stmt_affected (st) == 1)
        return rc;
    st = norc_db_stmt (db, s_sql_instance_exists);
    norc_stmt_bind_u64 (st, 0, a->id);
    rc = s_exec_one (st);
    return rc ? rc : NORC_CONFLICT;
}

static int
s_instance_cancel (norc_db_t *db, void *arg)
{
    return s_instance_change (db, (s_inst_args_t *) arg, s_sql_instance_cancel);
}

int
norc_store_instance_cancel (norc_db_t *db, uint64_t id, const char *reason)
{
    s_inst_args_t a = { .id = id, .text = reason };
    return norc_db_txn (db, s_instance_cancel, &a);
}

static int
s_instance_handle (norc_db_t *db, void *arg)
{
    return s_instance_change (db, (s_inst_args_t *) arg, s_sql_instance_handle);
}

int
norc_store_instance_handle (norc_db_t *db, uint64_t id, const char *by)
{
    s_inst_args_t a = { .id = id, .text = by };
    return norc_db_txn (db, s_instance_handle, &a);
}

static const char *s_sql_revision_upsert =
    "INSERT INTO revisions (info, created_at) VALUES (?, UTC_TIMESTAMP(6)) "
    "ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)";
static const char *s_sql_instance_revision = "UPDATE instances SET revision_id = ? WHERE id = ?";

static int
s_instance_revision (norc_db_t *db, void *arg)
{
    s_inst_args_t *a = (s_inst_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_instance_exists);
    norc_stmt_bind_u64 (st, 0, a->id);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    st = norc_db_stmt (db, s_sql_revision_upsert);
    norc_stmt_bind_str (st, 0, a->text);
    if ((rc = norc_stmt_exec (st)))
        return rc;
    uint64_t revision = norc_stmt_insert_id (st);
    st = norc_db_stmt (db, s_sql_instance_revision);
    norc_stmt_bind_u64 (st, 0, revision);
    norc_stmt_bind_u64 (st, 1, a->id);
    return norc_stmt_exec (st);
}

int
norc_store_instance_revision (norc_db_t *db, uint64_t id, const char *info)
{
    s_inst_args_t a = { .id = id, .text = info };
    return norc_db_txn (db, s_instance_revision, &a);
}

//  --------------------------------------------------------------------------
//  Daemons

typedef struct {
    norc_daemon_t *daemon;
    uint64_t id;
    int status, kind;
    norc_us_t time, since;
    const char *text;
    norc_rows_t *rows;
    uint64_t **ids;
    size_t *count;
} s_daemon_args_t;

static const char *s_sql_daemon_register =
    "INSERT INTO daemons (kind, host, pid, status, queue_id, concurrency, heartbeat, started_at) "
    "VALUES (?, ?, ?, 2, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))";

static int
s_daemon_register (norc_db_t *db, void *arg)
{
    norc_daemon_t *d = ((s_daemon_args_t *) arg)->daemon;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_daemon_register);
    norc_stmt_bind_i64 (st, 0, d->kind);
    norc_stmt_bind_str (st, 1, d->host);
    norc_stmt_bind_i64 (st, 2, d->pid);
    if (d->queue_id)
        norc_stmt_bind_u64 (st, 3, d->queue_id);
    else
        norc_stmt_bind_null (st, 3);
    norc_stmt_bind_i64 (st, 4, d->concurrency);
    int rc = norc_stmt_exec (st);
    if (rc == NORC_OK) {
        d->id = norc_stmt_insert_id (st);
        d->status = NORC_ST_RUNNING;
    }
    return rc;
}

int
norc_store_daemon_register (norc_db_t *db, norc_daemon_t *daemon)
{
    s_daemon_args_t a = { .daemon = daemon };
    return norc_db_txn (db, s_daemon_register, &a);
}

//  A heartbeat never revives a daemon already declared dead or ended
static const char *s_sql_daemon_heartbeat =
    "UPDATE daemons SET heartbeat = ?, status = ? WHERE id = ? AND status < 7";

static int
s_daemon_heartbeat (norc_db_t *db, void *arg)
{
    s_daemon_args_t *a = (s_daemon_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_daemon_heartbeat);
    norc_stmt_bind_time (st, 0, a->time ? a->time : norc_now_us ());
    norc_stmt_bind_i64 (st, 1, a->status);
    norc_stmt_bind_u64 (st, 2, a->id);
    int rc = norc_stmt_exec (st);
    if (rc || norc_stmt_affected (st) == 1)
        return rc;
    st = norc_db_stmt (db, "SELECT status FROM daemons WHERE id = ?");
    norc_stmt_bind_u64 (st, 0, a->id);
    rc = s_exec_one (st);
    if (rc)
        return rc;
    return norc_stmt_i64 (st, 0) >= S_FINAL ? NORC_CONFLICT : NORC_OK;
}

int
norc_store_daemon_heartbeat (norc_db_t *db, uint64_t id, int status, norc_us_t at)
{
    s_daemon_args_t a = { .id = id, .status = status, .time = at };
    return norc_db_txn (db, s_daemon_heartbeat, &a);
}

static const char *s_sql_daemon_status =
    "UPDATE daemons SET status = ?, reason = COALESCE(?, reason), "
    "  ended_at = CASE WHEN ? >= 7 THEN COALESCE(ended_at, UTC_TIMESTAMP(6)) ELSE NULL END "
    "WHERE id = ?";
static const char *s_sql_daemon_exists = "SELECT status FROM daemons WHERE id = ?";

static int
s_daemon_status (norc_db_t *db, void *arg)
{
    s_daemon_args_t *a = (s_daemon_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_daemon_exists);
    norc_stmt_bind_u64 (st, 0, a->id);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    st = norc_db_stmt (db, s_sql_daemon_status);
    norc_stmt_bind_i64 (st, 0, a->status);
    norc_stmt_bind_str (st, 1, a->text);
    norc_stmt_bind_i64 (st, 2, a->status);
    norc_stmt_bind_u64 (st, 3, a->id);
    return norc_stmt_exec (st);
}

int
norc_store_daemon_status (norc_db_t *db, uint64_t id, int status, const char *reason)
{
    s_daemon_args_t a = { .id = id, .status = status, .text = reason };
    return norc_db_txn (db, s_daemon_status, &a);
}

static const char *s_sql_daemon_get =
    "SELECT d.id, d.kind, d.host, d.pid, d.status, d.queue_id, q.name, d.concurrency, "
    "  d.heartbeat, d.started_at, d.ended_at, d.reason "
    "FROM daemons d LEFT JOIN queues q ON q.id = d.queue_id WHERE d.id = ?";

static int
s_daemon_get (norc_db_t *db, void *arg)
{
    s_daemon_args_t *a = (s_daemon_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_daemon_get);
    norc_stmt_bind_u64 (st, 0, a->id);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    norc_daemon_t *d = a->daemon;
    norc_daemon_clear (d);
    d->id = norc_stmt_u64 (st, 0);
    d->kind = (int) norc_stmt_i64 (st, 1);
    d->host = s_dup (norc_stmt_str (st, 2));
    d->pid = (int) norc_stmt_i64 (st, 3);
    d->status = (int) norc_stmt_i64 (st, 4);
    d->queue_id = norc_stmt_u64 (st, 5);
    d->queue = s_dup (norc_stmt_str (st, 6));
    d->concurrency = (int) norc_stmt_i64 (st, 7);
    d->heartbeat = norc_stmt_time (st, 8);
    d->started = norc_stmt_time (st, 9);
    d->ended = norc_stmt_time (st, 10);
    d->reason = s_dup (norc_stmt_str (st, 11));
    return NORC_OK;
}

int
norc_store_daemon_get (norc_db_t *db, uint64_t id, norc_daemon_t *daemon)
{
    s_daemon_args_t a = { .id = id, .daemon = daemon };
    return norc_db_txn (db, s_daemon_get, &a);
}

static const char *s_sql_daemon_list =
    "SELECT d.id, CASE d.kind WHEN 1 THEN 'scheduler' ELSE 'executor' END AS kind, d.host, d.pid, "
    "  d.status, COALESCE(q.name, '') AS queue, d.concurrency, d.heartbeat, d.started_at AS started, "
    "  d.ended_at AS ended, (d.status < 7 AND d.heartbeat > ?) AS alive, "
    "  (SELECT COUNT(*) FROM instances i WHERE i.executor_id = d.id AND i.status = 2) AS running, "
    "  (SELECT COUNT(*) FROM instances i WHERE i.executor_id = d.id AND i.status BETWEEN 7 AND 12 "
    "     AND i.ended_at >= ?) AS succeeded, "
    "  (SELECT COUNT(*) FROM instances i WHERE i.executor_id = d.id AND i.status >= 13 "
    "     AND i.ended_at >= ?) AS failed, "
    "  (SELECT COUNT(*) FROM schedules s WHERE s.lease_owner = d.id AND s.deleted_at IS NULL) AS claimed "
    "FROM daemons d LEFT JOIN queues q ON q.id = d.queue_id "
    "WHERE (? = 0 OR d.kind = ?) AND (d.ended_at IS NULL OR d.ended_at >= ?) "
    "ORDER BY d.ended_at IS NOT NULL, d.ended_at DESC, d.id DESC";

static int
s_daemon_list (norc_db_t *db, void *arg)
{
    s_daemon_args_t *a = (s_daemon_args_t *) arg;
    norc_us_t since = a->since ? a->since : 1;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_daemon_list);
    norc_stmt_bind_time (st, 0, a->time);
    norc_stmt_bind_time (st, 1, since);
    norc_stmt_bind_time (st, 2, since);
    norc_stmt_bind_i64 (st, 3, a->kind);
    norc_stmt_bind_i64 (st, 4, a->kind);
    norc_stmt_bind_time (st, 5, since);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_daemon_list (norc_db_t *db, int kind, norc_us_t since, norc_us_t alive_after, norc_rows_t *rows)
{
    s_daemon_args_t a = { .kind = kind, .since = since, .time = alive_after, .rows = rows };
    return norc_db_txn (db, s_daemon_list, &a);
}

typedef struct {
    const uint64_t *ids;
    size_t count;
    bool *exists;
} s_exist_args_t;

static int
s_daemons_exist (norc_db_t *db, void *arg)
{
    s_exist_args_t *a = (s_exist_args_t *) arg;
    int rc = NORC_OK;
    memset (a->exists, 0, a->count * sizeof (bool));
    for (size_t done = 0; rc == NORC_OK && done < a->count; ) {
        size_t k = s_chunk (a->count - done);
        char *sql = s_sql_rows ("SELECT id FROM daemons WHERE id IN (", "?", ",", k, ")");
        norc_stmt_t *st = norc_db_stmt (db, sql);
        free (sql);
        for (size_t j = 0; j < k; j++)
            norc_stmt_bind_u64 (st, (int) j, a->ids [done + j]);
        rc = norc_stmt_exec (st);
        while (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK) {
            uint64_t id = norc_stmt_u64 (st, 0);
            for (size_t j = 0; j < k; j++)
                if (a->ids [done + j] == id)
                    a->exists [done + j] = true;
        }
        done += k;
    }
    return rc;
}

int
norc_store_daemons_exist (norc_db_t *db, const uint64_t *ids, size_t count, bool *exists)
{
    s_exist_args_t a = { ids, count, exists };
    return count ? norc_db_txn (db, s_daemons_exist, &a) : NORC_OK;
}

typedef struct {
    norc_us_t before;
    const char *reason;
    uint64_t **ended, **requeued;
    size_t *ended_count, *requeued_count;
} s_orphans_t;

static int
s_orphan_ids (norc_stmt_t *st, uint64_t **ids, size_t *count)
{
    free (*ids);
    *ids = NULL;
    *count = 0;
    int rc = norc_stmt_exec (st);
    while (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK) {
        *ids = (uint64_t *) norc_realloc (*ids, (*count + 1) * sizeof (uint64_t));
        (*ids) [(*count)++] = norc_stmt_u64 (st, 0);
    }
    return rc;
}

static int
s_daemon_orphans (norc_db_t *db, void *arg)
{
    s_orphans_t *a = (s_orphans_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db,
        "SELECT i.id FROM instances i JOIN daemons d ON d.id = i.executor_id "
        "WHERE i.status = 2 AND i.ended_at IS NULL AND d.status >= 7 AND d.ended_at < ? FOR UPDATE");
    norc_stmt_bind_time (st, 0, a->before);
    int rc = s_orphan_ids (st, a->ended, a->ended_count);
    for (size_t i = 0; rc == NORC_OK && i < *a->ended_count; i++) {
        st = norc_db_stmt (db, "UPDATE instances SET status = 14, ended_at = UTC_TIMESTAMP(6), reason = ? "
                               "WHERE id = ? AND status = 2");
        norc_stmt_bind_str (st, 0, a->reason);
        norc_stmt_bind_u64 (st, 1, (*a->ended) [i]);
        rc = norc_stmt_exec (st);
    }
    if (rc == NORC_OK) {
        st = norc_db_stmt (db,
            "SELECT i.id FROM instances i JOIN daemons d ON d.id = i.executor_id "
            "WHERE i.status = 1 AND d.status >= 7 AND d.ended_at < ? FOR UPDATE");
        norc_stmt_bind_time (st, 0, a->before);
        rc = s_orphan_ids (st, a->requeued, a->requeued_count);
    }
    for (size_t i = 0; rc == NORC_OK && i < *a->requeued_count; i++) {
        st = norc_db_stmt (db, "UPDATE instances SET executor_id = NULL, dispatch_epoch = NULL, assigned_at = NULL "
                               "WHERE id = ? AND status = 1");
        norc_stmt_bind_u64 (st, 0, (*a->requeued) [i]);
        rc = norc_stmt_exec (st);
    }
    return rc;
}

int
norc_store_daemon_orphans (norc_db_t *db, norc_us_t dead_before, const char *reason,
                           uint64_t **ended, size_t *ended_count, uint64_t **requeued, size_t *requeued_count)
{
    *ended = *requeued = NULL;
    *ended_count = *requeued_count = 0;
    s_orphans_t a = { dead_before, reason, ended, requeued, ended_count, requeued_count };
    return norc_db_txn (db, s_daemon_orphans, &a);
}

//  --------------------------------------------------------------------------
//  Named leases

static const char *s_sql_lease_row = "INSERT IGNORE INTO leases (name) VALUES (?)";
static const char *s_sql_lease_lock = "SELECT holder, epoch, until < ? OR until IS NULL FROM leases "
                                      "WHERE name = ? FOR UPDATE";
static const char *s_sql_lease_take = "UPDATE leases SET holder = ?, epoch = ?, until = ? WHERE name = ?";
static const char *s_sql_lease_release = "UPDATE leases SET holder = NULL, until = NULL "
                                         "WHERE name = ? AND holder = ?";
static const char *s_sql_lease_drop = "UPDATE leases SET holder = NULL, until = NULL WHERE holder = ?";

typedef struct {
    const char *name;
    uint64_t holder;
    norc_us_t now, until;
    bool *held;
    uint64_t *epoch;
} s_lease_args_t;

static int
s_lease_acquire (norc_db_t *db, void *arg)
{
    s_lease_args_t *a = (s_lease_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_lease_row);
    norc_stmt_bind_str (st, 0, a->name);
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    st = norc_db_stmt (db, s_sql_lease_lock);
    norc_stmt_bind_time (st, 0, a->now);
    norc_stmt_bind_str (st, 1, a->name);
    if ((rc = s_exec_one (st)))
        return rc;
    uint64_t holder = norc_stmt_u64 (st, 0);
    uint64_t epoch = norc_stmt_u64 (st, 1);
    bool free_now = norc_stmt_i64 (st, 2) != 0 || holder == 0;
    *a->held = holder == a->holder || free_now;
    *a->epoch = epoch;
    if (!*a->held)
        return NORC_OK;
    if (holder != a->holder)
        *a->epoch = epoch + 1;
    st = norc_db_stmt (db, s_sql_lease_take);
    norc_stmt_bind_u64 (st, 0, a->holder);
    norc_stmt_bind_u64 (st, 1, *a->epoch);
    norc_stmt_bind_time (st, 2, a->until);
    norc_stmt_bind_str (st, 3, a->name);
    return norc_stmt_exec (st);
}

int
norc_store_lease_acquire (norc_db_t *db, const char *name, uint64_t holder, norc_us_t now,
                          norc_us_t until, bool *held, uint64_t *epoch)
{
    bool local_held;
    uint64_t local_epoch;
    s_lease_args_t a = { name, holder, now, until, held ? held : &local_held, epoch ? epoch : &local_epoch };
    return norc_db_txn (db, s_lease_acquire, &a);
}

static int
s_lease_release (norc_db_t *db, void *arg)
{
    s_lease_args_t *a = (s_lease_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_lease_release);
    norc_stmt_bind_str (st, 0, a->name);
    norc_stmt_bind_u64 (st, 1, a->holder);
    return norc_stmt_exec (st);
}

int
norc_store_lease_release (norc_db_t *db, const char *name, uint64_t holder)
{
    s_lease_args_t a = { .name = name, .holder = holder };
    return norc_db_txn (db, s_lease_release, &a);
}

//  --------------------------------------------------------------------------

static const char *s_sql_daemon_silent =
    "SELECT id, kind FROM daemons WHERE status < 7 AND (heartbeat IS NULL OR heartbeat < ?) FOR UPDATE";
static const char *s_sql_daemon_dead =
    "UPDATE daemons SET status = 14, reason = 'heartbeat lost', "
    "  ended_at = COALESCE(heartbeat, UTC_TIMESTAMP(6)) WHERE id = ? AND status < 7";
static const char *s_sql_daemon_held =
    "SELECT id, status FROM instances WHERE executor_id = ? AND status < 7 ORDER BY id FOR UPDATE";
static const char *s_sql_instance_requeue =
    "UPDATE instances SET executor_id = NULL, dispatch_epoch = NULL, assigned_at = NULL "
    "WHERE executor_id = ? AND status = 1";
static const char *s_sql_instance_lost =
    "UPDATE instances SET status = 14, ended_at = UTC_TIMESTAMP(6), reason = ? "
    "WHERE executor_id = ? AND status > 1 AND status < 7";

void
norc_dead_list_free (norc_dead_t **list, size_t count)
{
    if (!list || !*list)
        return;
    for (size_t i = 0; i < count; i++) {
        free ((*list) [i].requeued);
        free ((*list) [i].ended);
        free ((*list) [i].retried);
    }
    free (*list);
    *list = NULL;
}

typedef struct {
    norc_us_t silent_before;
    const char *reason;
    norc_dead_t **dead;
    size_t *count;
} s_dead_args_t;

static void
s_u64_push (uint64_t **list, size_t *count, uint64_t value)
{
    *list = (uint64_t *) norc_realloc (*list, (*count + 1) * sizeof (uint64_t));
    (*list) [(*count)++] = value;
}

static int
s_daemon_mark_dead (norc_db_t *db, void *arg)
{
    s_dead_args_t *a = (s_dead_args_t *) arg;
    norc_dead_list_free (a->dead, *a->count);       //  a retried transaction starts over
    *a->count = 0;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_daemon_silent);
    norc_stmt_bind_time (st, 0, a->silent_before);
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    while (norc_stmt_fetch (st) == NORC_OK) {
        *a->dead = (norc_dead_t *) norc_realloc (*a->dead, (*a->count + 1) * sizeof (norc_dead_t));
        norc_dead_t *d = &(*a->dead) [(*a->count)++];
        memset (d, 0, sizeof *d);
        d->id = norc_stmt_u64 (st, 0);
        d->kind = (int) norc_stmt_i64 (st, 1);
    }
    for (size_t i = 0; i < *a->count; i++) {
        norc_dead_t *d = &(*a->dead) [i];
        st = norc_db_stmt (db, s_sql_daemon_dead);
        norc_stmt_bind_u64 (st, 0, d->id);
        if ((rc = norc_stmt_exec (st)))
            return rc;
        st = norc_db_stmt (db, s_sql_daemon_held);
        norc_stmt_bind_u64 (st, 0, d->id);
        if ((rc = norc_stmt_exec (st)))
            return rc;
        while (norc_stmt_fetch (st) == NORC_OK) {
            if (norc_stmt_i64 (st, 1) == NORC_ST_CREATED)
                s_u64_push (&d->requeued, &d->requeued_count, norc_stmt_u64 (st, 0));
            else
                s_u64_push (&d->ended, &d->ended_count, norc_stmt_u64 (st, 0));
        }
        st = norc_db_stmt (db, s_sql_instance_requeue);
        norc_stmt_bind_u64 (st, 0, d->id);
        if ((rc = norc_stmt_exec (st)))
            return rc;
        st = norc_db_stmt (db, s_sql_instance_lost);
        norc_stmt_bind_str (st, 0, a->reason);
        norc_stmt_bind_u64 (st, 1, d->id);
        if ((rc = norc_stmt_exec (st)))
            return rc;
        for (size_t j = 0; j < d->ended_count; j++) {
            uint64_t retry_id;
            if ((rc = s_instance_retry (db, d->ended [j], &retry_id)))
                return rc;
            if (retry_id)
                s_u64_push (&d->retried, &d->retried_count, retry_id);
        }
        st = norc_db_stmt (db, s_sql_schedule_release);
        norc_stmt_bind_u64 (st, 0, d->id);
        if ((rc = norc_stmt_exec (st)))
            return rc;
        d->leases_released = (int) norc_stmt_affected (st);
        st = norc_db_stmt (db, s_sql_lease_drop);
        norc_stmt_bind_u64 (st, 0, d->id);
        if ((rc = norc_stmt_exec (st)))
            return rc;
        d->leases_released += (int) norc_stmt_affected (st);
    }
    return NORC_OK;
}

int
norc_store_daemon_mark_dead (norc_db_t *db, norc_us_t silent_before, const char *reason,
                             norc_dead_t **dead, size_t *count)
{
    *dead = NULL;
    *count = 0;
    s_dead_args_t a = { silent_before, reason, dead, count };
    int rc = norc_db_txn (db, s_daemon_mark_dead, &a);
    if (rc) {
        norc_dead_list_free (dead, *count);
        *count = 0;
    }
    return rc;
}

static const char *s_sql_daemon_lock =
    "SELECT status, heartbeat > ? FROM daemons WHERE id = ? FOR UPDATE";
static const char *s_sql_daemon_handle =
    "UPDATE daemons SET status = 12, handled_by = ?, handled_at = UTC_TIMESTAMP(6), "
    "  ended_at = COALESCE(ended_at, UTC_TIMESTAMP(6)) WHERE id = ?";

static int
s_daemon_handle (norc_db_t *db, void *arg)
{
    s_daemon_args_t *a = (s_daemon_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_daemon_lock);
    norc_stmt_bind_time (st, 0, a->time);
    norc_stmt_bind_u64 (st, 1, a->id);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    int status = (int) norc_stmt_i64 (st, 0);
    bool alive = status < S_FINAL && norc_stmt_i64 (st, 1) == 1;
    bool in_error = status >= 13 || status == NORC_ST_SUSPENDED;
    if (alive || !in_error)
        return NORC_CONFLICT;
    st = norc_db_stmt (db, s_sql_daemon_handle);
    norc_stmt_bind_str (st, 0, a->text ? a->text : "");
    norc_stmt_bind_u64 (st, 1, a->id);
    return norc_stmt_exec (st);
}

int
norc_store_daemon_handle (norc_db_t *db, uint64_t id, const char *by, norc_us_t alive_after)
{
    s_daemon_args_t a = { .id = id, .text = by, .time = alive_after };
    return norc_db_txn (db, s_daemon_handle, &a);
}

//  --------------------------------------------------------------------------
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
    norc_stmt_t *st = norc_db_stmt (db, s_sql_daemon_exists);
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

//  --------------------------------------------------------------------------
//  Jobs

void
norc_job_graph_clear (norc_job_graph_t *self)
{
    for (size_t i = 0; i < self->node_count; i++) {
        free (self->nodes [i].name);
        free (self->nodes [i].task);
    }
    free (self->nodes);
    free (self->edges);
    memset (self, 0, sizeof (*self));
}

void
norc_job_step_clear (norc_job_step_t *self)
{
    for (size_t i = 0; i < self->created_count; i++)
        norc_instance_clear (&self->created [i]);
    for (size_t i = 0; i < self->closed_count; i++)
        norc_instance_clear (&self->closed [i]);
    free (self->created);
    free (self->closed);
    free (self->stop);
    free (self->active);
    free (self->reason);
    memset (self, 0, sizeof (*self));
}

typedef struct {
    norc_task_t *job;
    const norc_job_graph_t *in;
    norc_job_graph_t *graph;
    uint64_t id;
    norc_us_t now;
    norc_job_step_t *step;
    uint64_t **ids;
    size_t *count;
} s_job_args_t;

static const char *s_sql_job_node_add =
    "INSERT INTO job_nodes (job_id, task_id, name) VALUES (?, ?, ?)";
static const char *s_sql_job_edge_add =
    "INSERT IGNORE INTO job_edges (job_id, parent_id, child_id) VALUES (?, ?, ?)";

static int
s_job_add (norc_db_t *db, void *arg)
{
    s_job_args_t *a = (s_job_args_t *) arg;
    a->job->kind = NORC_TASK_JOB;
    s_task_args_t t = { .task = a->job };
    int rc = s_task_add (db, &t);
    uint64_t *ids = (uint64_t *) norc_calloc (a->in->node_count + 1, sizeof (uint64_t));
    for (size_t n = 0; rc == NORC_OK && n < a->in->node_count; n++) {
        norc_stmt_t *st = norc_db_stmt (db, s_sql_job_node_add);
        norc_stmt_bind_u64 (st, 0, a->job->id);
        norc_stmt_bind_u64 (st, 1, a->in->nodes [n].task_id);
        norc_stmt_bind_str (st, 2, a->in->nodes [n].name);
        rc = norc_stmt_exec (st);
        ids [n] = norc_stmt_insert_id (st);
    }
    for (size_t e = 0; rc == NORC_OK && e < a->in->edge_count; e++) {
        norc_stmt_t *st = norc_db_stmt (db, s_sql_job_edge_add);
        norc_stmt_bind_u64 (st, 0, a->job->id);
        norc_stmt_bind_u64 (st, 1, ids [a->in->edges [e].parent]);
        norc_stmt_bind_u64 (st, 2, ids [a->in->edges [e].child]);
        rc = norc_stmt_exec (st);
    }
    free (ids);
    return rc;
}

int
norc_store_job_add (norc_db_t *db, norc_task_t *job, const norc_job_graph_t *graph)
{
    s_job_args_t a = { .job = job, .in = graph };
    return norc_db_txn (db, s_job_add, &a);
}

static const char *s_sql_job_nodes =
    "SELECT n.id, n.name, n.task_id, t.name FROM job_nodes n JOIN tasks t ON t.id = n.task_id "
    "WHERE n.job_id = ? ORDER BY n.id";
static const char *s_sql_job_edges =
    "SELECT parent_id, child_id FROM job_edges WHERE job_id = ? ORDER BY parent_id, child_id";

static size_t
s_node_index (const norc_job_graph_t *g, uint64_t node_id)
{
    size_t lo = 0, hi = g->node_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->nodes [mid].id == node_id)
            return mid;
        if (g->nodes [mid].id < node_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

static int
s_job_graph (norc_db_t *db, uint64_t job_id, norc_job_graph_t *g)
{
    norc_job_graph_clear (g);
    norc_stmt_t *st = norc_db_stmt (db, s_sql_job_nodes);
    norc_stmt_bind_u64 (st, 0, job_id);
    int rc = norc_stmt_exec (st);
    size_t room = 0;
    while (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK) {
        if (g->node_count == room) {
            room = room ? room * 2 : 16;
            g->nodes = (norc_job_node_t *) norc_realloc (g->nodes, room * sizeof (norc_job_node_t));
        }
        norc_job_node_t *n = &g->nodes [g->node_count++];
        n->id = norc_stmt_u64 (st, 0);
        n->name = s_dup (norc_stmt_str (st, 1));
        n->task_id = norc_stmt_u64 (st, 2);
        n->task = s_dup (norc_stmt_str (st, 3));
    }
    if (rc)
        return rc;
    st = norc_db_stmt (db, s_sql_job_edges);
    norc_stmt_bind_u64 (st, 0, job_id);
    rc = norc_stmt_exec (st);
    room = 0;
    while (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK) {
        size_t p = s_node_index (g, norc_stmt_u64 (st, 0));
        size_t c = s_node_index (g, norc_stmt_u64 (st, 1));
        if (p == SIZE_MAX || c == SIZE_MAX)
            continue;
        if (g->edge_count == room) {
            room = room ? room * 2 : 16;
            g->edges = (norc_dag_edge_t *) norc_realloc (g->edges, room * sizeof (norc_dag_edge_t));
        }
        g->edges [g->edge_count].parent = p;
        g->edges [g->edge_count].child = c;
        g->edge_count++;
    }
    return rc;
}

static int
s_job_get (norc_db_t *db, void *arg)
{
    s_job_args_t *a = (s_job_args_t *) arg;
    return s_job_graph (db, a->id, a->graph);
}

int
norc_store_job_get (norc_db_t *db, uint64_t job_id, norc_job_graph_t *graph)
{
    s_job_args_t a = { .id = job_id, .graph = graph };
    return norc_db_txn (db, s_job_get, &a);
}

static const char *s_sql_job_lock =
    "SELECT i.status, i.task_id, i.queue_id, i.started_at, t.timeout_s, t.kind, q.name "
    "FROM instances i JOIN tasks t ON t.id = i.task_id JOIN queues q ON q.id = i.queue_id "
    "WHERE i.id = ? FOR UPDATE";
static const char *s_sql_job_start =
    "UPDATE instances SET status = 2, started_at = ? WHERE id = ? AND status = 1";
static const char *s_sql_job_node_instances =
    "SELECT id, job_node_id, status, executor_id FROM instances WHERE job_instance_id = ? "
    "ORDER BY job_node_id, attempt";
static const char *s_sql_job_node_create =
    "INSERT IGNORE INTO instances (task_id, queue_id, attempt, trigger_kind, job_instance_id, job_node_id, "
    "  status, enqueued_at, ended_at, reason) VALUES (?, ?, 1, 3, ?, ?, ?, UTC_TIMESTAMP(6), ?, ?)";
static const char *s_sql_job_end =
    "UPDATE instances SET status = ?, ended_at = UTC_TIMESTAMP(6), reason = ? WHERE id = ? AND status < 7";

//  The latest attempt of each node in a run
typedef struct {
    uint64_t id;
    int status;
    uint64_t executor_id;
} s_node_run_t;

static void
s_step_push (norc_instance_t **list, size_t *count, uint64_t id, uint64_t task_id, const char *task,
             const char *queue, uint64_t job_id, uint64_t node_id, int status, const char *reason)
{
    *list = (norc_instance_t *) norc_realloc (*list, (*count + 1) * sizeof (norc_instance_t));
    norc_instance_t *i = &(*list) [(*count)++];
    memset (i, 0, sizeof (*i));
    i->id = id;
    i->task_id = task_id;
    i->task = s_dup (task);
    i->queue = s_dup (queue);
    i->attempt = 1;
    i->trigger = NORC_TRIGGER_JOB;
    i->job_instance_id = job_id;
    i->job_node_id = node_id;
    i->status = status;
    i->reason = s_dup (reason);
    i->task_kind = NORC_TASK_COMMAND;
}

static void
s_ids_push (uint64_t **list, size_t *count, uint64_t id)
{
    *list = (uint64_t *) norc_realloc (*list, (*count + 1) * sizeof (uint64_t));
    (*list) [(*count)++] = id;
}

//  Insert one node instance (waiting, or final with a reason). Its id, or
//  0 when it already existed.
static int
s_job_node_create (norc_db_t *db, uint64_t job_id, uint64_t queue_id, const norc_job_node_t *node, int status,
                   const char *reason, uint64_t *id)
{
    norc_stmt_t *st = norc_db_stmt (db, s_sql_job_node_create);
    norc_stmt_bind_u64 (st, 0, node->task_id);
    norc_stmt_bind_u64 (st, 1, queue_id);
    norc_stmt_bind_u64 (st, 2, job_id);
    norc_stmt_bind_u64 (st, 3, node->id);
    norc_stmt_bind_i64 (st, 4, status);
    norc_stmt_bind_time (st, 5, NORC_STATUS_IS_FINAL (status) ? norc_now_us () : 0);
    norc_stmt_bind_str (st, 6, reason);
    int rc = norc_stmt_exec (st);
    *id = rc == NORC_OK && norc_stmt_affected (st) == 1 ? norc_stmt_insert_id (st) : 0;
    return rc;
}

static int
s_job_advance (norc_db_t *db, void *arg)
{
    s_job_args_t *a = (s_job_args_t *) arg;
    norc_job_step_t *step = a->step;
    norc_job_step_clear (step);
    norc_stmt_t *st = norc_db_stmt (db, s_sql_job_lock);
    norc_stmt_bind_u64 (st, 0, a->id);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    step->status = (int) norc_stmt_i64 (st, 0);
    uint64_t task_id = norc_stmt_u64 (st, 1);
    uint64_t queue_id = norc_stmt_u64 (st, 2);
    step->started_at = norc_stmt_time (st, 3);
    step->timeout_s = (int) norc_stmt_i64 (st, 4);
    int kind = (int) norc_stmt_i64 (st, 5);
    char *queue = s_dup (norc_stmt_str (st, 6));
    norc_job_graph_t g = { 0 };
    s_node_run_t *runs = NULL;
    norc_node_state_t *state = NULL;
    norc_dag_action_t *action = NULL;
    if (kind != NORC_TASK_JOB) {
        rc = NORC_CONFLICT;
        goto done;
    }
    if (step->status == NORC_ST_CREATED) {
        st = norc_db_stmt (db, s_sql_job_start);
        norc_stmt_bind_time (st, 0, a->now);
        norc_stmt_bind_u64 (st, 1, a->id);
        if ((rc = norc_stmt_exec (st)))
            goto done;
        step->status = NORC_ST_RUNNING;
        step->started = true;
        step->started_at = a->now;
    }
    if ((rc = s_job_graph (db, task_id, &g)))
        goto done;
    size_t n = g.node_count;
    runs = (s_node_run_t *) norc_calloc (n + 1, sizeof (s_node_run_t));
    state = (norc_node_state_t *) norc_calloc (n + 1, sizeof (norc_node_state_t));
    action = (norc_dag_action_t *) norc_calloc (n + 1, sizeof (norc_dag_action_t));
    st = norc_db_stmt (db, s_sql_job_node_instances);
    norc_stmt_bind_u64 (st, 0, a->id);
    if ((rc = norc_stmt_exec (st)))
        goto done;
    while (norc_stmt_fetch (st) == NORC_OK) {
        size_t k = s_node_index (&g, norc_stmt_u64 (st, 1));
        if (k == SIZE_MAX)
            continue;
        //  Ordered by attempt: the last row of a node is its latest attempt
        runs [k].id = norc_stmt_u64 (st, 0);
        runs [k].status = (int) norc_stmt_i64 (st, 2);
        runs [k].executor_id = norc_stmt_u64 (st, 3);
    }
    for (size_t k = 0; k < n; k++)
        state [k] = !runs [k].id ? NORC_NODE_MISSING
                  : !NORC_STATUS_IS_FINAL (runs [k].status) ? NORC_NODE_ACTIVE
                  : runs [k].status == NORC_ST_SUCCESS ? NORC_NODE_SUCCEEDED
                  : runs [k].status == NORC_ST_SKIPPED ? NORC_NODE_SKIPPED : NORC_NODE_FAILED;
    int end = 0;
    if (!NORC_STATUS_IS_FINAL (step->status) && step->timeout_s > 0
    &&  a->now - step->started_at >= (norc_us_t) step->timeout_s * NORC_US_PER_SEC) {
        end = NORC_ST_TIMEDOUT;
        step->reason = norc_asprintf ("the job timed out after %d s", step->timeout_s);
    }
    else
    if (!NORC_STATUS_IS_FINAL (step->status)) {
        end = norc_dag_step (n, g.edges, g.edge_count, state, action);
        for (size_t k = 0; k < n && rc == NORC_OK; k++) {
            uint64_t id = 0;
            if (action [k] == NORC_DAG_START) {
                rc = s_job_node_create (db, a->id, queue_id, &g.nodes [k], NORC_ST_CREATED, NULL, &id);
                if (id) {
                    s_step_push (&step->created, &step->created_count, id, g.nodes [k].task_id, g.nodes [k].task,
                                 queue, a->id, g.nodes [k].id, NORC_ST_CREATED, NULL);
                    s_ids_push (&step->active, &step->active_count, id);
                }
            }
            else
            if (action [k] == NORC_DAG_SKIP) {
                //  Name a parent that did not succeed
                const char *upstream = "?";
                for (size_t e = 0; e < g.edge_count; e++)
                    if (g.edges [e].child == k && state [g.edges [e].parent] != NORC_NODE_SUCCEEDED) {
                        upstream = g.nodes [g.edges [e].parent].name;
                        break;
                    }
                char *reason = norc_asprintf ("skipped: upstream node \"%s\" did not succeed", upstream);
                rc = s_job_node_create (db, a->id, queue_id, &g.nodes [k], NORC_ST_SKIPPED, reason, &id);
                if (id)
                    s_step_push (&step->closed, &step->closed_count, id, g.nodes [k].task_id, g.nodes [k].task,
                                 queue, a->id, g.nodes [k].id, NORC_ST_SKIPPED, reason);
                free (reason);
            }
            else
            if (state [k] == NORC_NODE_ACTIVE)
                s_ids_push (&step->active, &step->active_count, runs [k].id);
        }
        if (rc)
            goto done;
        if (end == NORC_ST_FAILURE) {
            //  Name the nodes that failed
            char *names = norc_strdup ("");
            size_t failed = 0;
            for (size_t k = 0; k < n; k++)
                if (state [k] == NORC_NODE_FAILED) {
                    char *more = norc_asprintf ("%s%s%s", names, failed ? ", " : "", g.nodes [k].name);
                    free (names);
                    names = more;
                    failed++;
                }
            step->reason = norc_asprintf ("%zu of %zu nodes failed: %s", failed, n, names);
            free (names);
        }
    }
    if (end) {
        st = norc_db_stmt (db, s_sql_job_end);
        norc_stmt_bind_i64 (st, 0, end);
        norc_stmt_bind_str (st, 1, step->reason);
        norc_stmt_bind_u64 (st, 2, a->id);
        if ((rc = norc_stmt_exec (st)))
            goto done;
        step->status = end;
        step->ended = true;
    }
    if (NORC_STATUS_IS_FINAL (step->status) && end != NORC_ST_SUCCESS && end != NORC_ST_FAILURE) {
        //  An ended job (timed out, or killed): nothing of it goes on
        const char *name = norc_status_name (step->status);
        char *reason = norc_asprintf ("the job ended %s before this node ran", name ? name : "?");
        free (step->active);
        step->active = NULL;
        step->active_count = 0;
        for (size_t k = 0; k < n && rc == NORC_OK; k++) {
            uint64_t id = 0;
            if (state [k] == NORC_NODE_MISSING) {
                rc = s_job_node_create (db, a->id, queue_id, &g.nodes [k], NORC_ST_SKIPPED, reason, &id);
                if (id)
                    s_step_push (&step->closed, &step->closed_count, id, g.nodes [k].task_id, g.nodes [k].task,
                                 queue, a->id, g.nodes [k].id, NORC_ST_SKIPPED, reason);
            }
            else
            if (state [k] == NORC_NODE_ACTIVE && runs [k].status == NORC_ST_CREATED && !runs [k].executor_id) {
                s_inst_args_t one = { .id = runs [k].id, .text = reason };
                rc = s_instance_change (db, &one, s_sql_instance_cancel);
                if (rc == NORC_OK)
                    s_step_push (&step->closed, &step->closed_count, runs [k].id, g.nodes [k].task_id,
                                 g.nodes [k].task, queue, a->id, g.nodes [k].id, NORC_ST_KILLED, reason);
                else
                if (rc == NORC_CONFLICT)
                    rc = NORC_OK;       //  taken by an executor meanwhile: stopped below next time
            }
            else
            if (state [k] == NORC_NODE_ACTIVE)
                s_ids_push (&step->stop, &step->stop_count, runs [k].id);
        }
        free (reason);
    }
done:
    free (action);
    free (state);
    free (runs);
    norc_job_graph_clear (&g);
    free (queue);
    return rc;
}

int
norc_store_job_advance (norc_db_t *db, uint64_t id, norc_us_t now, norc_job_step_t *step)
{
    s_job_args_t a = { .id = id, .now = now ? now : norc_now_us (), .step = step };
    int rc = norc_db_txn (db, s_job_advance, &a);
    if (rc)
        norc_job_step_clear (step);
    return rc;
}

static const char *s_sql_job_running =
    "SELECT i.id FROM instances i JOIN tasks t ON t.id = i.task_id "
    "WHERE i.status = 2 AND i.executor_id IS NULL AND t.kind = 2 ORDER BY i.id";

static int
s_job_running (norc_db_t *db, void *arg)
{
    s_job_args_t *a = (s_job_args_t *) arg;
    free (*a->ids);
    *a->ids = NULL;
    *a->count = 0;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_job_running);
    int rc = norc_stmt_exec (st);
    while (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK)
        s_ids_push (a->ids, a->count, norc_stmt_u64 (st, 0));
    return rc;
}

int
norc_store_job_running (norc_db_t *db, uint64_t **ids, size_t *count)
{
    *ids = NULL;
    *count = 0;
    s_job_args_t a = { .ids = ids, .count = count };
    return norc_db_txn (db, s_job_running, &a);
}
