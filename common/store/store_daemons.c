//  store_daemons.c - daemons: registration, heartbeats, and what happens when one dies.
//  Each function is one transaction run by norc_db_txn (see store_internal.h).
#include "store_internal.h"

void
norc_daemon_clear (norc_daemon_t *self)
{
    free (self->host);
    free (self->queue);
    free (self->reason);
    memset (self, 0, sizeof (*self));
}

//  Daemons

typedef struct {
    norc_daemon_t *daemon;
    uint64_t id;
    int status, kind, reported;
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
    "UPDATE daemons SET heartbeat = ?, status = ?, reported = ? WHERE id = ? AND status < 7";

static int
s_daemon_heartbeat (norc_db_t *db, void *arg)
{
    s_daemon_args_t *a = (s_daemon_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_daemon_heartbeat);
    norc_stmt_bind_time (st, 0, a->time ? a->time : norc_now_us ());
    norc_stmt_bind_i64 (st, 1, a->status);
    norc_stmt_bind_i64 (st, 2, a->reported);
    norc_stmt_bind_u64 (st, 3, a->id);
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
norc_store_daemon_heartbeat (norc_db_t *db, uint64_t id, int status, int reported, norc_us_t at)
{
    s_daemon_args_t a = { .id = id, .status = status, .reported = reported, .time = at };
    return norc_db_txn (db, s_daemon_heartbeat, &a);
}

//  A status that is not final never replaces one that is (a late or resent
//  report of a daemon that has ended, or been recorded dead, does not
//  bring it back)
static const char *s_sql_daemon_status =
    "UPDATE daemons SET status = ?, reason = COALESCE(?, reason), "
    "  ended_at = CASE WHEN ? >= 7 THEN COALESCE(ended_at, UTC_TIMESTAMP(6)) ELSE NULL END "
    "WHERE id = ? AND (? >= 7 OR status < 7)";
const char *store_sql_daemon_exists = "SELECT status FROM daemons WHERE id = ?";

static int
s_daemon_status (norc_db_t *db, void *arg)
{
    s_daemon_args_t *a = (s_daemon_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, store_sql_daemon_exists);
    norc_stmt_bind_u64 (st, 0, a->id);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    st = norc_db_stmt (db, s_sql_daemon_status);
    norc_stmt_bind_i64 (st, 0, a->status);
    norc_stmt_bind_str (st, 1, a->text);
    norc_stmt_bind_i64 (st, 2, a->status);
    norc_stmt_bind_u64 (st, 3, a->id);
    norc_stmt_bind_i64 (st, 4, a->status);
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
    "SELECT d.id, CASE d.kind WHEN 1 THEN 'scheduler' WHEN 3 THEN 'bridge' WHEN 4 THEN 'archiver' "
    "  ELSE 'executor' END AS kind, d.host, d.pid, "
    "  d.status, COALESCE(q.name, '') AS queue, d.concurrency, d.heartbeat, d.started_at AS started, "
    "  d.ended_at AS ended, (d.status < 7 AND d.heartbeat > ?) AS alive, "
    //  An archiver's: its backlog, as it last reported it
    "  IF(d.kind = 4, d.reported, IF(d.kind = 1, 0, (SELECT COUNT(*) FROM instances i WHERE i.executor_id = d.id "
    "     AND i.ended_at IS NULL AND i.status = 2))) AS running, "
    "  COALESCE(c.succeeded, 0) AS succeeded, COALESCE(c.failed, 0) AS failed, "
    //  A scheduler's: the schedules it held at its last heartbeat
    "  IF(d.kind = 1 AND d.ended_at IS NULL, d.reported, 0) AS claimed "
    "FROM daemons d LEFT JOIN queues q ON q.id = d.queue_id "
    //  What ended in the window, counted once for every executor: the
    //  window's rows alone, by (status, ended_at), whatever the table holds
    "LEFT JOIN (SELECT executor_id, SUM(status BETWEEN 7 AND 12) AS succeeded, SUM(status >= 13) AS failed "
    "  FROM instances WHERE status IN (7, 8, 9, 10, 11, 12, 13, 14, 15, 16) AND ended_at >= ? "
    "  GROUP BY executor_id) c ON c.executor_id = d.id "
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
    norc_stmt_bind_i64 (st, 2, a->kind);
    norc_stmt_bind_i64 (st, 3, a->kind);
    norc_stmt_bind_time (st, 4, since);
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
        st = norc_db_stmt (db, "UPDATE instances SET status = 14, ended_at = UTC_TIMESTAMP(6), reason = ?, "
                               "  reason_code = 5 WHERE id = ? AND status = 2");
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
    "UPDATE instances SET status = 14, ended_at = UTC_TIMESTAMP(6), reason = ?, reason_code = 5 "
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
            if ((rc = store_instance_retry (db, d->ended [j], &retry_id)))
                return rc;
            if (retry_id)
                s_u64_push (&d->retried, &d->retried_count, retry_id);
        }
        //  A scheduler's schedules: its lease ends (one row), the survivors
        //  claim its shards (counted here as the schedules it last said it held)
        st = norc_db_stmt (db, "SELECT IF(d.kind = 1, d.reported, 0), "
                               "  (SELECT COUNT(*) FROM schedule_shards h WHERE h.owner = d.id) "
                               "FROM daemons d WHERE d.id = ?");
        norc_stmt_bind_u64 (st, 0, d->id);
        if ((rc = s_exec_one (st)))
            return rc;
        d->leases_released = (int) norc_stmt_i64 (st, 0);
        d->shards_released = (int) norc_stmt_i64 (st, 1);
        st = norc_db_stmt (db, store_sql_schedule_release);
        norc_stmt_bind_u64 (st, 0, d->id);
        if ((rc = norc_stmt_exec (st)))
            return rc;
        st = norc_db_stmt (db, store_sql_lease_drop);
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
