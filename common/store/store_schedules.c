//  store_schedules.c - schedules and the leases schedulers hold on them.
//  Each function is one transaction run by norc_db_txn (see store_internal.h).
#include "store_internal.h"

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
    int limit;
    int *count;
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
//  Leases (docs/scale.md): one per scheduler, an epoch per schedule

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

//  The claim: the unowned first, then each owner whose lease expired (its
//  lease row goes once nothing live is left under it); each statement
//  takes rows by the lease_owner index, marks them with the claim's token,
//  and the rows so marked are read back
static const char *s_sql_claim_dead =
    "SELECT owner FROM scheduler_leases WHERE until < ? AND owner <> ? ORDER BY until LIMIT 64";
static const char *s_sql_claim_unowned =
    "UPDATE schedules SET lease_owner = ?, lease_epoch = lease_epoch + 1, lease_claim = ? "
    "WHERE lease_owner IS NULL AND deleted_at IS NULL AND (repetitions = 0 OR remaining > 0) LIMIT ?";
static const char *s_sql_claim_from =
    "UPDATE schedules SET lease_owner = ?, lease_epoch = lease_epoch + 1, lease_claim = ? "
    "WHERE lease_owner = ? AND deleted_at IS NULL AND (repetitions = 0 OR remaining > 0) LIMIT ?";
static const char *s_sql_claim_forget =
    "DELETE FROM scheduler_leases WHERE owner = ? AND until < ?";
static const char *s_sql_claim_read =
    "SELECT " S_SCHEDULE_COLUMNS S_SCHEDULE_FROM "WHERE s.lease_owner = ? AND s.lease_claim = ? ORDER BY s.id";

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

static int
s_schedule_claim (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    s_schedules_free (a->list, *a->list_count);
    *a->list_count = 0;
    uint64_t token = (uint64_t) norc_now_us ();
    //  The owners whose lease expired (a few rows)
    uint64_t dead [64];
    size_t ndead = 0;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_claim_dead);
    norc_stmt_bind_time (st, 0, a->now);
    norc_stmt_bind_u64 (st, 1, a->owner);
    int rc = norc_stmt_exec (st);
    while (rc == NORC_OK && (rc = norc_stmt_fetch (st)) == NORC_OK && ndead < 64)
        dead [ndead++] = norc_stmt_u64 (st, 0);
    if (rc != NORC_OK && rc != NORC_NOTFOUND)
        return rc;
    int64_t left = a->limit;
    for (size_t i = 0; i <= ndead && left > 0; i++) {
        st = norc_db_stmt (db, i == 0 ? s_sql_claim_unowned : s_sql_claim_from);
        int k = 0;
        norc_stmt_bind_u64 (st, k++, a->owner);
        norc_stmt_bind_u64 (st, k++, token);
        if (i > 0)
            norc_stmt_bind_u64 (st, k++, dead [i - 1]);
        norc_stmt_bind_i64 (st, k, left);
        if ((rc = norc_stmt_exec (st)))
            return rc;
        int64_t taken = (int64_t) norc_stmt_affected (st);
        left -= taken;
        if (i > 0 && left > 0) {
            //  Nothing live is left under that owner: its lease row goes
            st = norc_db_stmt (db, s_sql_claim_forget);
            norc_stmt_bind_u64 (st, 0, dead [i - 1]);
            norc_stmt_bind_time (st, 1, a->now);
            if ((rc = norc_stmt_exec (st)))
                return rc;
        }
    }
    if (left == a->limit)
        return NORC_OK;
    st = norc_db_stmt (db, s_sql_claim_read);
    norc_stmt_bind_u64 (st, 0, a->owner);
    norc_stmt_bind_u64 (st, 1, token);
    return s_read_list (st, a);
}

int
norc_store_schedule_claim (norc_db_t *db, uint64_t owner, norc_us_t now, int limit, norc_schedule_t **rows,
                           size_t *count)
{
    *rows = NULL;
    *count = 0;
    s_sched_args_t a = { .owner = owner, .now = now, .limit = limit, .list = rows, .list_count = count };
    int rc = norc_db_txn (db, s_schedule_claim, &a);
    if (rc)
        s_schedules_free (rows, *count), *count = 0;
    return rc;
}

//  One schedule (a new one, just added): claimed when it is free, and
//  read in the same transaction
static const char *s_sql_schedule_claim_one =
    "UPDATE schedules SET lease_owner = ?, lease_epoch = lease_epoch + 1 "
    "WHERE id = ? AND deleted_at IS NULL AND (repetitions = 0 OR remaining > 0) "
    "  AND (lease_owner IS NULL OR NOT EXISTS "
    "       (SELECT 1 FROM scheduler_leases l WHERE l.owner = schedules.lease_owner AND l.until >= ?))";

static int
s_schedule_claim_one (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_claim_one);
    norc_stmt_bind_u64 (st, 0, a->owner);
    norc_stmt_bind_u64 (st, 1, a->id);
    norc_stmt_bind_time (st, 2, a->now);
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    if (norc_stmt_affected (st) != 1)
        return NORC_CONFLICT;
    return s_schedule_get (db, a);
}

int
norc_store_schedule_claim_one (norc_db_t *db, uint64_t owner, uint64_t id, norc_us_t now,
                               norc_schedule_t *schedule)
{
    s_sched_args_t a = { .owner = owner, .id = id, .now = now, .schedule = schedule };
    return norc_db_txn (db, s_schedule_claim_one, &a);
}

static const char *s_sql_schedule_owned =
    "SELECT " S_SCHEDULE_COLUMNS S_SCHEDULE_FROM
    "WHERE s.lease_owner = ? AND s.deleted_at IS NULL AND (s.repetitions = 0 OR s.remaining > 0) "
    "ORDER BY s.id";

static int
s_schedule_owned (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    s_schedules_free (a->list, *a->list_count);
    *a->list_count = 0;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_owned);
    norc_stmt_bind_u64 (st, 0, a->owner);
    return s_read_list (st, a);
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

//  The schedules an owner holds that were paused, resumed or deleted at
//  or after since: their ids (caller frees), for the scheduler to reload
static const char *s_sql_schedule_changed =
    "SELECT id FROM schedules WHERE lease_owner = ? AND changed_at >= ? ORDER BY id LIMIT 10000";

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
    norc_stmt_bind_u64 (st, 0, a->owner);
    norc_stmt_bind_time (st, 1, a->since);
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

//  An owner's lease ends at once: its schedules are free for the others'
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
