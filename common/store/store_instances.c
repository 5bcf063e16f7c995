//  store_instances.c - instances: assignment, start, end, retries, reports.
//  Each function is one transaction run by norc_db_txn (see store_internal.h).
#include "store_internal.h"

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

//  Instances

typedef struct {
    uint64_t id, task_id, queue_id, executor_id;
    uint64_t *out_id;
    norc_us_t time;
    const char *text;
    norc_instance_t *instance;
    const norc_instance_t *events;
    const norc_instance_filter_t *filter;
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
    "(SELECT r.info FROM revisions r WHERE r.id = i.revision_id), t.kind, i.reason_code "
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
    i->reason_code = (int) norc_stmt_i64 (st, 29);
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
    "WHERE i.id = ? AND i.attempt <= t.retry_max AND i.status >= 13";

int
store_instance_retry (norc_db_t *db, uint64_t id, uint64_t *retry_id)
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

//  Only an end that a retry policy can act on costs a statement (the
//  common SUCCESS does not); the policy itself is checked in SQL.
static bool
s_retryable (const norc_instance_t *e)
{
    return norc_why_retryable (e->status, e->reason_code);
}

static int s_instance_revision (norc_db_t *db, void *arg);


//  A batch of lifecycle events in a few statements: the ends in one
//  multi-row UPDATE per chunk (joined to the rows as a derived table), the
//  starts likewise; then, row by row, only what is rare: revisions, and the
//  retry policy for ends it can act on. An event for an instance that has
//  already ended, or does not exist, changes nothing (as when resent).
static const char *s_sql_apply_ends_row =
    "SELECT ? AS id, ? AS status, ? AS executor_id, ? AS started_at, ? AS ended_at, ? AS exit_code, "
    "? AS term_signal, ? AS cpu_user_us, ? AS cpu_sys_us, ? AS max_rss_kb, ? AS reason, ? AS reason_code";
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
    "i.status = 14 AND i.reason_code = 5 AND " executor " <> 0 " \
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
                "  i.cpu_sys_us = ?, i.max_rss_kb = ?, i.reason = ?, i.reason_code = ? "
                "WHERE i.id = ? AND ((i.status < 7 AND " S_OWNED_BY ("?") ") OR (" S_LOST_BY ("?") "))");
        else {
            char *rows = s_sql_rows (s_sql_apply_ends_row, " UNION ALL SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?", "",
                                     k - 1, "");
            sql = norc_asprintf (
                "UPDATE instances i JOIN (%s) e ON e.id = i.id SET i.status = e.status, "
                "  i.executor_id = COALESCE(NULLIF(e.executor_id, 0), i.executor_id), "
                "  i.started_at = COALESCE(i.started_at, e.started_at), i.ended_at = e.ended_at, "
                "  i.exit_code = e.exit_code, i.term_signal = e.term_signal, i.cpu_user_us = e.cpu_user_us, "
                "  i.cpu_sys_us = e.cpu_sys_us, i.max_rss_kb = e.max_rss_kb, i.reason = e.reason, "
                "  i.reason_code = e.reason_code "
                "WHERE (i.status < 7 AND " S_OWNED_BY ("e.executor_id") ") OR (" S_LOST_BY ("e.executor_id") ")", rows);
            free (rows);
        }
        norc_stmt_t *st = norc_db_stmt (db, sql);
        free (sql);
        for (size_t j = 0; j < k; j++) {
            const norc_instance_t *e = ends [done + j];
            int p = k == 1 ? -1 : (int) (j * 12);     //  one row: the id goes last
            norc_stmt_bind_u64 (st, k == 1 ? 11 : p, e->id);
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
            norc_stmt_bind_i64 (st, p + 11, e->reason_code);
            if (k == 1)
                for (int x = 12; x < 16; x++)
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
            rc = store_instance_retry (db, e->id, &retry_id);
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

//  The instances a filter lets through, newest first. The query reads
//  instances alone, newest first by id, and joins the names of the page it
//  keeps: MariaDB walks the primary key down from the newest and stops at
//  the page's end whatever the table holds (a task's instances: down its
//  index), instead of starting from the small tables and sorting every
//  match. A host is matched through each row's executor (a semi-join
//  would start from the daemons and sort all their instances).
static int
s_instance_query (norc_db_t *db, void *arg)
{
    s_inst_args_t *a = (s_inst_args_t *) arg;
    const norc_instance_filter_t *f = a->filter;
    norc_rows_clear (a->rows);
    bool task = f->task && *f->task, queue = f->queue && *f->queue, host = f->host && *f->host;
    char *sql = norc_asprintf (
        "SELECT i.id, t.name AS task, q.name AS queue, COALESCE(i.schedule_id, '') AS schedule_id, "
        "  i.nominal, i.attempt, COALESCE(i.executor_id, '') AS executor_id, COALESCE(d.host, '') AS host, i.status, "
        "  i.enqueued_at AS enqueued, i.started_at AS started, i.ended_at AS ended, i.exit_code, "
        "  COALESCE(i.reason, '') AS reason, COALESCE(i.job_instance_id, '') AS job "
        "FROM (SELECT i.id FROM instances i %s WHERE i.id < ?%s%s%s%s%s%s ORDER BY i.id DESC LIMIT ?) AS page "
        "JOIN instances i ON i.id = page.id JOIN tasks t ON t.id = i.task_id JOIN queues q ON q.id = i.queue_id "
        "LEFT JOIN daemons d ON d.id = i.executor_id ORDER BY i.id DESC",
        task ? "" : "FORCE INDEX (PRIMARY)",
        task ? " AND i.task_id = (SELECT id FROM tasks WHERE name = ?)" : "",
        queue ? " AND i.queue_id = (SELECT id FROM queues WHERE name = ?)" : "",
        host ? " AND (SELECT d.host FROM daemons d WHERE d.id = i.executor_id) = ?" : "",
        f->status_max ? " AND i.status BETWEEN ? AND ?" : "",
        f->since ? " AND (i.ended_at IS NULL OR i.ended_at >= ?)" : "",
        f->until ? " AND i.enqueued_at <= ?" : "");
    norc_stmt_t *st = norc_db_stmt (db, sql);
    free (sql);
    int p = 0;
    norc_stmt_bind_u64 (st, p++, f->before ? f->before : UINT64_MAX);
    if (task)
        norc_stmt_bind_str (st, p++, f->task);
    if (queue)
        norc_stmt_bind_str (st, p++, f->queue);
    if (host)
        norc_stmt_bind_str (st, p++, f->host);
    if (f->status_max) {
        norc_stmt_bind_i64 (st, p++, f->status_min);
        norc_stmt_bind_i64 (st, p++, f->status_max);
    }
    if (f->since)
        norc_stmt_bind_time (st, p++, f->since);
    if (f->until)
        norc_stmt_bind_time (st, p++, f->until);
    norc_stmt_bind_i64 (st, p++, f->limit > 0 ? f->limit : 1000000);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_instance_query (norc_db_t *db, const norc_instance_filter_t *filter, norc_rows_t *rows)
{
    s_inst_args_t a = { .filter = filter, .rows = rows };
    return norc_db_txn (db, s_instance_query, &a);
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
    "UPDATE instances SET status = 9, ended_at = UTC_TIMESTAMP(6), reason = ?, reason_code = 8 "
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
store_instance_cancel (norc_db_t *db, uint64_t id, const char *reason)
{
    s_inst_args_t a = { .id = id, .text = reason };
    return s_instance_cancel (db, &a);
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
