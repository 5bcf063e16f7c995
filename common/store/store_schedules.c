//  store_schedules.c - schedules and the leases schedulers hold on them.
//  Each function is one transaction run by norc_db_txn (see store_internal.h).
#include "store_internal.h"
#include <limits.h>

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

//  Schedules

typedef struct {
    norc_schedule_t *schedule;
    uint64_t id;
    uint64_t owner;
    norc_us_t now, until;
    bool flag;
    const char *reason;
    norc_rows_t *rows;
    norc_schedule_t **list;
    size_t *list_count;
    bool *was_live;
    const norc_schedule_filter_t *filter;
} s_sched_args_t;

static const char *s_sql_schedule_add =
    "INSERT INTO schedules (task_id, queue_id, kind, start_at, period_s, cron_expr, tz, "
    "  repetitions, remaining, catchup, catchup_window_s, concurrency, deadline_s, paused, "
    "  next_nominal, created_at, changed_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))";

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
    "s.paused, s.last_nominal, s.next_nominal, COALESCE(h.owner, 0), COALESCE(h.epoch, 0), " \
    "s.deleted_at, s.deleted_reason, t.name, q.name, t.kind, s.shard "
#define S_SCHEDULE_FROM \
    "FROM schedules s JOIN tasks t ON t.id = s.task_id JOIN queues q ON q.id = s.queue_id " \
    "LEFT JOIN schedule_shards h FORCE INDEX (PRIMARY) ON h.shard = s.shard "

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
    s->lease_epoch = norc_stmt_u64 (st, 18);
    s->deleted_at = norc_stmt_time (st, 19);
    s->deleted_reason = s_dup (norc_stmt_str (st, 20));
    s->task = s_dup (norc_stmt_str (st, 21));
    s->queue = s_dup (norc_stmt_str (st, 22));
    s->task_kind = (int) norc_stmt_i64 (st, 23);
    s->shard = (int) norc_stmt_i64 (st, 24);
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

//  (the schedules first, newest down from `before`, whatever the
//  optimizer thinks of a record with few tasks or queues)
static const char *s_sql_schedule_list =
    "SELECT STRAIGHT_JOIN s.id, t.name AS task, q.name AS queue, "
    "  CASE s.kind WHEN 1 THEN CONCAT('every ', s.period_s, 's') ELSE s.cron_expr END AS timing, "
    "  s.tz, s.repetitions, s.remaining, "
    "  CASE s.catchup WHEN 0 THEN 'none' WHEN 1 THEN 'all' WHEN 2 THEN 'latest' ELSE 'within' END AS catchup, "
    "  CASE s.concurrency WHEN 0 THEN 'allow' WHEN 1 THEN 'forbid' ELSE 'replace' END AS concurrency, "
    "  s.paused, s.next_nominal AS next, s.last_nominal AS last, COALESCE(h.owner, 0) AS scheduler, "
    "  s.deleted_at AS deleted, COALESCE(s.deleted_reason, '') AS deleted_reason "
    S_SCHEDULE_FROM "WHERE (? OR s.deleted_at IS NULL) AND (? = 0 OR s.id = ?) AND s.id < ? "
    "ORDER BY s.id DESC LIMIT ?";

static int
s_schedule_list (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    const norc_schedule_filter_t *f = a->filter;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_list);
    norc_stmt_bind_i64 (st, 0, f->all || f->id);
    norc_stmt_bind_u64 (st, 1, f->id);
    norc_stmt_bind_u64 (st, 2, f->id);
    norc_stmt_bind_u64 (st, 3, f->before ? f->before : UINT64_MAX);
    norc_stmt_bind_i64 (st, 4, f->limit > 0 ? f->limit : INT64_MAX);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_schedule_list (norc_db_t *db, const norc_schedule_filter_t *filter, norc_rows_t *rows)
{
    s_sched_args_t a = { .filter = filter, .rows = rows };
    return norc_db_txn (db, s_schedule_list, &a);
}

//  A change bumps the version, so a scheduler can tell its copy is stale.
static const char *s_sql_schedule_delete =
    "UPDATE schedules SET deleted_at = UTC_TIMESTAMP(6), deleted_reason = ?, "
    "  version = version + 1, changed_at = UTC_TIMESTAMP(6) WHERE id = ? AND deleted_at IS NULL";
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
    "UPDATE schedules SET paused = ?, version = version + 1, changed_at = UTC_TIMESTAMP(6) "
    "WHERE id = ? AND deleted_at IS NULL";
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

//  --------------------------------------------------------------------------
//  Leases (docs/scale.md): one per scheduler, an owner and epoch per shard

static const char *s_sql_scheduler_lease_read =
    "SELECT until >= ? FROM scheduler_leases WHERE owner = ? FOR UPDATE";
static const char *s_sql_scheduler_lease_write =
    "INSERT INTO scheduler_leases (owner, until) VALUES (?, ?) ON DUPLICATE KEY UPDATE until = VALUES(until)";

static int
s_scheduler_lease (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_scheduler_lease_read);
    norc_stmt_bind_time (st, 0, a->now);
    norc_stmt_bind_u64 (st, 1, a->owner);
    int rc = s_exec_one (st);
    if (rc && rc != NORC_NOTFOUND)
        return rc;
    *a->was_live = rc == NORC_OK && norc_stmt_i64 (st, 0) != 0;
    st = norc_db_stmt (db, s_sql_scheduler_lease_write);
    norc_stmt_bind_u64 (st, 0, a->owner);
    norc_stmt_bind_time (st, 1, a->until);
    return norc_stmt_exec (st);
}

int
norc_store_scheduler_lease (norc_db_t *db, uint64_t owner, norc_us_t now, norc_us_t until, bool *was_live)
{
    bool local;
    s_sched_args_t a = { .owner = owner, .now = now, .until = until, .was_live = was_live ? was_live : &local };
    return norc_db_txn (db, s_scheduler_lease, &a);
}

//  The claim: the shards with no owner or a dead one (no lease row live
//  now), read without locks, then taken by their keys with the condition
//  checked again under the lock; the rows taken are marked with the
//  claim's token and read back. Owners whose lease expired and who hold
//  no shard any more lose their lease row.
static const char *s_sql_shard_free =
    "SELECT h.shard FROM schedule_shards h "
    "LEFT JOIN scheduler_leases l ON l.owner = h.owner AND l.until >= ? "
    "WHERE l.owner IS NULL AND (h.owner IS NULL OR h.owner <> ?) ORDER BY h.shard";
static const char *s_sql_shard_forget =
    "DELETE FROM scheduler_leases WHERE until < ? AND owner <> ? AND owner <> 0 "
    "  AND NOT EXISTS (SELECT 1 FROM schedule_shards h WHERE h.owner = scheduler_leases.owner)";
static const char *s_sql_shard_taken =
    "SELECT shard, epoch FROM schedule_shards WHERE owner = ? AND claim = ? ORDER BY shard";

typedef struct {
    uint64_t owner;
    norc_us_t now;
    norc_shard_t **shards;
    size_t *count;
    uint64_t *token;
} s_shard_args_t;

static int
s_shard_claim (norc_db_t *db, void *arg)
{
    s_shard_args_t *a = (s_shard_args_t *) arg;
    free (*a->shards);
    *a->shards = NULL;
    *a->count = 0;
    uint64_t token = (uint64_t) norc_now_us ();
    *a->token = token;
    int free_shards [NORC_SCHEDULE_SHARDS];
    size_t nfree = 0;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_shard_free);
    norc_stmt_bind_time (st, 0, a->now);
    norc_stmt_bind_u64 (st, 1, a->owner);
    int rc = norc_stmt_exec (st);
    while (rc == NORC_OK && (rc = norc_stmt_fetch (st)) == NORC_OK && nfree < NORC_SCHEDULE_SHARDS)
        free_shards [nfree++] = (int) norc_stmt_i64 (st, 0);
    if (rc != NORC_OK && rc != NORC_NOTFOUND)
        return rc;
    if (nfree == 0)
        return NORC_OK;
    for (size_t done = 0; done < nfree; ) {
        size_t k = s_chunk (nfree - done);
        char *keys = s_sql_rows ("", "?", ",", k, "");
        char *sql = norc_asprintf (
            "UPDATE schedule_shards h LEFT JOIN scheduler_leases l ON l.owner = h.owner AND l.until >= ? "
            "SET h.owner = ?, h.epoch = h.epoch + 1, h.claim = ? "
            "WHERE h.shard IN (%s) AND l.owner IS NULL AND (h.owner IS NULL OR h.owner <> ?)", keys);
        st = norc_db_stmt (db, sql);
        free (sql);
        free (keys);
        norc_stmt_bind_time (st, 0, a->now);
        norc_stmt_bind_u64 (st, 1, a->owner);
        norc_stmt_bind_u64 (st, 2, token);
        for (size_t j = 0; j < k; j++)
            norc_stmt_bind_i64 (st, (int) (3 + j), free_shards [done + j]);
        norc_stmt_bind_u64 (st, (int) (3 + k), a->owner);
        if ((rc = norc_stmt_exec (st)))
            return rc;
        done += k;
    }
    st = norc_db_stmt (db, s_sql_shard_forget);
    norc_stmt_bind_time (st, 0, a->now);
    norc_stmt_bind_u64 (st, 1, a->owner);
    if ((rc = norc_stmt_exec (st)))
        return rc;
    st = norc_db_stmt (db, s_sql_shard_taken);
    norc_stmt_bind_u64 (st, 0, a->owner);
    norc_stmt_bind_u64 (st, 1, token);
    if ((rc = norc_stmt_exec (st)))
        return rc;
    *a->shards = (norc_shard_t *) norc_calloc (nfree, sizeof (norc_shard_t));
    while ((rc = norc_stmt_fetch (st)) == NORC_OK && *a->count < nfree) {
        norc_shard_t *shard = &(*a->shards) [(*a->count)++];
        shard->shard = (int) norc_stmt_i64 (st, 0);
        shard->epoch = norc_stmt_u64 (st, 1);
    }
    return rc == NORC_NOTFOUND ? NORC_OK : rc;
}

int
norc_store_shard_claim (norc_db_t *db, uint64_t owner, norc_us_t now, norc_shard_t **shards, size_t *count,
                        uint64_t *token)
{
    *shards = NULL;
    *count = 0;
    *token = 0;
    s_shard_args_t a = { owner, now, shards, count, token };
    int rc = norc_db_txn (db, s_shard_claim, &a);
    if (rc) {
        free (*shards);
        *shards = NULL;
        *count = 0;
    }
    return rc;
}

static int
s_read_list (norc_stmt_t *st, s_sched_args_t *a)
{
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    size_t cap = *a->list_count;
    while ((rc = norc_stmt_fetch (st)) == NORC_OK) {
        if (*a->list_count == cap) {
            cap = cap ? cap * 2 : 64;
            *a->list = (norc_schedule_t *) norc_realloc (*a->list, cap * sizeof (norc_schedule_t));
        }
        norc_schedule_t *s = &(*a->list) [(*a->list_count)++];
        memset (s, 0, sizeof (*s));
        s_schedule_from (st, s);
    }
    return rc == NORC_NOTFOUND ? NORC_OK : rc;
}

static void
s_schedules_free (norc_schedule_t **list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        norc_schedule_clear (&(*list) [i]);
    free (*list);
    *list = NULL;
}

//  Loading, a page at a time in id order: through the table (a claim of
//  many shards), or from the claim's shards through the shard index (a
//  few)
#define S_SCHEDULE_LIVE "s.deleted_at IS NULL AND (s.repetitions = 0 OR s.remaining > 0) "
#define S_SCHEDULE_JOINS \
    "JOIN tasks t FORCE INDEX (PRIMARY) ON t.id = s.task_id JOIN queues q FORCE INDEX (PRIMARY) ON q.id = s.queue_id "
//  (in the order written, each table by the index named: the table
//  first, in id order, so that a page stops at its limit; left to
//  itself, the optimizer may read every shard row for each schedule)
static const char *s_sql_load_scan =
    "SELECT STRAIGHT_JOIN " S_SCHEDULE_COLUMNS
    "FROM schedules s FORCE INDEX (PRIMARY) JOIN schedule_shards h FORCE INDEX (PRIMARY) ON h.shard = s.shard "
    S_SCHEDULE_JOINS
    "WHERE s.id > ? AND h.owner = ? AND h.claim = ? AND " S_SCHEDULE_LIVE "ORDER BY s.id LIMIT ?";
static const char *s_sql_load_shards =
    "SELECT STRAIGHT_JOIN " S_SCHEDULE_COLUMNS
    "FROM schedule_shards h FORCE INDEX (schedule_shards_owner) "
    "JOIN schedules s FORCE INDEX (schedules_shard) ON s.shard = h.shard " S_SCHEDULE_JOINS
    "WHERE h.owner = ? AND h.claim = ? AND s.id > ? AND " S_SCHEDULE_LIVE "ORDER BY s.id LIMIT ?";

typedef struct {
    uint64_t owner, token, after;
    size_t shards;
    int limit;
    s_sched_args_t list;
} s_load_args_t;

static int
s_schedule_load (norc_db_t *db, void *arg)
{
    s_load_args_t *a = (s_load_args_t *) arg;
    s_schedules_free (a->list.list, *a->list.list_count);
    *a->list.list_count = 0;
    norc_stmt_t *st;
    if (a->shards >= NORC_SCHEDULE_SHARDS / 8) {
        st = norc_db_stmt (db, s_sql_load_scan);
        norc_stmt_bind_u64 (st, 0, a->after);
        norc_stmt_bind_u64 (st, 1, a->owner);
        norc_stmt_bind_u64 (st, 2, a->token);
        norc_stmt_bind_i64 (st, 3, a->limit);
    }
    else {
        st = norc_db_stmt (db, s_sql_load_shards);
        norc_stmt_bind_u64 (st, 0, a->owner);
        norc_stmt_bind_u64 (st, 1, a->token);
        norc_stmt_bind_u64 (st, 2, a->after);
        norc_stmt_bind_i64 (st, 3, a->limit);
    }
    return s_read_list (st, &a->list);
}

int
norc_store_schedule_load (norc_db_t *db, uint64_t owner, uint64_t token, size_t shards, uint64_t after,
                          int limit, norc_schedule_t **rows, size_t *nrows)
{
    *rows = NULL;
    *nrows = 0;
    s_load_args_t a = { .owner = owner, .token = token, .after = after, .shards = shards, .limit = limit,
                        .list = { .list = rows, .list_count = nrows } };
    int rc = norc_db_txn (db, s_schedule_load, &a);
    if (rc)
        s_schedules_free (rows, *nrows), *nrows = 0;
    return rc;
}

//  The shards an owner still holds, marked with a new token (their
//  epochs unchanged), to load them again
static int
s_shard_mark_held (norc_db_t *db, void *arg)
{
    s_shard_args_t *a = (s_shard_args_t *) arg;
    *a->token = (uint64_t) norc_now_us ();
    norc_stmt_t *st = norc_db_stmt (db, "UPDATE schedule_shards SET claim = ? WHERE owner = ?");
    norc_stmt_bind_u64 (st, 0, *a->token);
    norc_stmt_bind_u64 (st, 1, a->owner);
    int rc = norc_stmt_exec (st);
    *a->count = rc == NORC_OK ? (size_t) norc_stmt_affected (st) : 0;
    return rc;
}

int
norc_store_shard_mark_held (norc_db_t *db, uint64_t owner, size_t *count, uint64_t *token)
{
    *count = 0;
    *token = 0;
    s_shard_args_t a = { .owner = owner, .count = count, .token = token };
    return norc_db_txn (db, s_shard_mark_held, &a);
}

int
norc_store_schedule_claim (norc_db_t *db, uint64_t owner, norc_us_t now, norc_schedule_t **rows, size_t *count)
{
    *rows = NULL;
    *count = 0;
    norc_shard_t *shards = NULL;
    size_t nshards = 0;
    uint64_t token = 0;
    int rc = norc_store_shard_claim (db, owner, now, &shards, &nshards, &token);
    if (rc == NORC_OK && nshards)
        rc = norc_store_schedule_load (db, owner, token, nshards, 0, INT_MAX, rows, count);
    free (shards);
    return rc;
}

//  The schedules an owner holds that were added, paused, resumed or
//  deleted at or after since: their ids (caller frees), for the scheduler
//  to reload. Read by the changed_at index first, whatever the owner holds.
static const char *s_sql_schedule_changed =
    "SELECT s.id FROM schedules s FORCE INDEX (schedules_changed) "
    "STRAIGHT_JOIN schedule_shards h FORCE INDEX (PRIMARY) ON h.shard = s.shard "
    "WHERE s.changed_at >= ? AND h.owner = ? ORDER BY s.id LIMIT 10000";

typedef struct {
    uint64_t owner;
    norc_us_t since;
    uint64_t **ids;
    size_t *count;
} s_changed_args_t;

static int
s_schedule_changed (norc_db_t *db, void *arg)
{
    s_changed_args_t *a = (s_changed_args_t *) arg;
    free (*a->ids);
    *a->ids = NULL;
    *a->count = 0;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_changed);
    norc_stmt_bind_time (st, 0, a->since);
    norc_stmt_bind_u64 (st, 1, a->owner);
    int rc = norc_stmt_exec (st);
    while (rc == NORC_OK && (rc = norc_stmt_fetch (st)) == NORC_OK) {
        *a->ids = (uint64_t *) norc_realloc (*a->ids, (*a->count + 1) * sizeof (uint64_t));
        (*a->ids) [(*a->count)++] = norc_stmt_u64 (st, 0);
    }
    return rc == NORC_NOTFOUND ? NORC_OK : rc;
}

int
norc_store_schedule_changed (norc_db_t *db, uint64_t owner, norc_us_t since, uint64_t **ids, size_t *count)
{
    *ids = NULL;
    *count = 0;
    s_changed_args_t a = { owner, since, ids, count };
    return norc_db_txn (db, s_schedule_changed, &a);
}

//  An owner's lease ends at once: its shards are free for the others'
//  next claim (one row, whatever it held)
const char *store_sql_schedule_release =
    "UPDATE scheduler_leases SET until = '1970-01-01 00:00:01' WHERE owner = ?";

static int
s_schedule_release (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, store_sql_schedule_release);
    norc_stmt_bind_u64 (st, 0, a->owner);
    return norc_stmt_exec (st);
}

int
norc_store_schedule_release (norc_db_t *db, uint64_t owner)
{
    s_sched_args_t a = { .owner = owner };
    return norc_db_txn (db, s_schedule_release, &a);
}
