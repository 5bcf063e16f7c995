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

//  One schedule (a new one, just added): claimed when nobody holds it, and
//  read in the same transaction
static const char *s_sql_schedule_claim_one =
    "UPDATE schedules SET lease_owner = ?, lease_until = ?, lease_epoch = lease_epoch + 1 "
    "WHERE id = ? AND deleted_at IS NULL AND (repetitions = 0 OR remaining > 0) "
    "  AND (lease_owner IS NULL OR lease_until < ?)";

static int
s_schedule_claim_one (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_schedule_claim_one);
    norc_stmt_bind_u64 (st, 0, a->owner);
    norc_stmt_bind_time (st, 1, a->until);
    norc_stmt_bind_u64 (st, 2, a->id);
    norc_stmt_bind_time (st, 3, a->now);
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    if (norc_stmt_affected (st) != 1)
        return NORC_CONFLICT;
    return s_schedule_get (db, a);
}

int
norc_store_schedule_claim_one (norc_db_t *db, uint64_t owner, uint64_t id, norc_us_t now, norc_us_t lease_until,
                               norc_schedule_t *schedule)
{
    s_sched_args_t a = { .owner = owner, .id = id, .now = now, .until = lease_until, .schedule = schedule };
    return norc_db_txn (db, s_schedule_claim_one, &a);
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

const char *store_sql_schedule_release =
    "UPDATE schedules SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?";

static int
s_schedule_release (norc_db_t *db, void *arg)
{
    s_sched_args_t *a = (s_sched_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, store_sql_schedule_release);
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
