//  store_ticks.c - ticks: instances made by schedules, and the ledger of every tick.
//  Each function is one transaction run by norc_db_txn (see store_internal.h).
#include "store_internal.h"

//  Ticks

typedef struct {
    norc_tick_fire_t *tick;
    uint64_t schedule_id;
    uint64_t except;
    int limit;
    norc_rows_t *rows;
} s_tick_args_t;

//  The fence and the advance in one statement: it matches only while the
//  caller holds the schedule's shard at this epoch and the schedule is
//  live. A multi-table UPDATE locks the rows it reads from the other
//  tables (shared, at every isolation level: the shard row here), so a
//  claim, which updates the shard row, waits for this transaction's
//  commit, and this statement for the claim's.
static const char *s_sql_tick_advance =
    "UPDATE schedules s JOIN schedule_shards h ON h.shard = s.shard "
    "SET s.last_nominal = GREATEST(COALESCE(s.last_nominal, ?), ?), s.next_nominal = ?, s.remaining = ? "
    "WHERE s.id = ? AND s.shard = ? AND s.deleted_at IS NULL AND h.owner = ? AND h.epoch = ?";

static int
s_tick_advance (norc_db_t *db, const norc_tick_fire_t *t)
{
    norc_stmt_t *st = norc_db_stmt (db, s_sql_tick_advance);
    norc_stmt_bind_time (st, 0, t->nominal);
    norc_stmt_bind_time (st, 1, t->nominal);
    norc_stmt_bind_time (st, 2, t->next_nominal);
    norc_stmt_bind_i64 (st, 3, t->remaining < 0 ? 0 : t->remaining);
    norc_stmt_bind_u64 (st, 4, t->schedule_id);
    norc_stmt_bind_i64 (st, 5, t->shard);
    norc_stmt_bind_u64 (st, 6, t->owner);
    norc_stmt_bind_u64 (st, 7, t->epoch);
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

//  Per schedule of a round: the fence, and where the schedule ends up
typedef struct {
    uint64_t id;
    int shard;
    uint64_t owner, epoch;      //  the lease the caller claims (its first tick's)
    bool claimed;
    bool fenced;                //  its shard held by the caller at the tick's epoch, and live
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

//  A run's six values from position p: schedule, `from` (the tick the row
//  starts at, or the one it continues after), last tick, count, outcome,
//  reason
static void
s_bind_run (norc_stmt_t *st, int p, const s_run_t *run, norc_us_t from)
{
    norc_stmt_bind_u64 (st, p, run->first->schedule_id);
    norc_stmt_bind_time (st, p + 1, from);
    norc_stmt_bind_time (st, p + 2, run->last);
    norc_stmt_bind_i64 (st, p + 3, run->count);
    norc_stmt_bind_i64 (st, p + 4, run->first->outcome);
    norc_stmt_bind_str (st, p + 5, run->first->reason ? run->first->reason : "");
}

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
            r->shard = t->shard;
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
    //  2. Advance them, fenced in the statement itself (see
    //  s_sql_tick_advance): a row matches only while the caller holds its
    //  shard at that epoch. A chunk that matches fewer rows than it names
    //  reads which did.
    for (size_t done = 0; rc == NORC_OK && done < ns; ) {
        size_t k = s_chunk (ns - done);
        char *rows = s_sql_rows ("SELECT ? AS id, ? AS shard, ? AS last, ? AS next, ? AS remaining, ? AS owner, "
                                 "? AS epoch", " UNION ALL SELECT ?, ?, ?, ?, ?, ?, ?", "", k - 1, "");
        char *sql = norc_asprintf ("UPDATE schedules s JOIN (%s) v ON v.id = s.id AND v.shard = s.shard "
                                   "JOIN schedule_shards h ON h.shard = v.shard SET "
                                   "s.last_nominal = COALESCE(GREATEST(s.last_nominal, v.last), v.last), "
                                   "s.next_nominal = v.next, s.remaining = v.remaining "
                                   "WHERE s.deleted_at IS NULL AND h.owner = v.owner AND h.epoch = v.epoch", rows);
        norc_stmt_t *st = norc_db_stmt (db, sql);
        free (sql);
        free (rows);
        for (size_t j = 0; j < k; j++) {
            s_round_sched_t *r = &sched [done + j];
            int p = (int) (j * 7);
            norc_stmt_bind_u64 (st, p, r->id);
            norc_stmt_bind_i64 (st, p + 1, r->shard);
            norc_stmt_bind_time (st, p + 2, r->last_nominal);
            norc_stmt_bind_time (st, p + 3, r->next_nominal);
            norc_stmt_bind_i64 (st, p + 4, r->remaining);
            norc_stmt_bind_u64 (st, p + 5, r->owner);
            norc_stmt_bind_u64 (st, p + 6, r->epoch);
        }
        rc = norc_stmt_exec (st);
        if (rc == NORC_OK && norc_stmt_affected (st) == k)
            for (size_t j = 0; j < k; j++)
                sched [done + j].fenced = true;
        else
        if (rc == NORC_OK) {
            sql = s_sql_rows ("SELECT s.id, s.shard, s.deleted_at IS NULL, COALESCE(h.owner, 0), h.epoch "
                              "FROM schedules s JOIN schedule_shards h ON h.shard = s.shard WHERE s.id IN (",
                              "?", ",", k, ") LOCK IN SHARE MODE");
            st = norc_db_stmt (db, sql);
            free (sql);
            for (size_t j = 0; j < k; j++)
                norc_stmt_bind_u64 (st, (int) j, sched [done + j].id);
            rc = norc_stmt_exec (st);
            while (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK) {
                s_round_sched_t *r = s_round_find (sched, ns, norc_stmt_u64 (st, 0));
                if (r)
                    r->fenced = norc_stmt_i64 (st, 1) == r->shard && norc_stmt_i64 (st, 2) == 1
                             && norc_stmt_u64 (st, 3) == r->owner && norc_stmt_u64 (st, 4) == r->epoch;
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
        for (size_t j = 0; j < k; j++)
            s_bind_run (st, (int) (j * 6), ext [done + j], ext [done + j]->first->prev);
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
        for (size_t j = 0; j < k; j++)
            s_bind_run (st, (int) (j * 6), ext [done + j], ext [done + j]->first->nominal);
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
