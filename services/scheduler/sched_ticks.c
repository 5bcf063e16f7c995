//  sched_ticks.c - the schedules a scheduler holds under lease (claimed,
//  renewed, adopted, forgotten), kept in a min-heap by next fire time, and
//  each round of due ticks: planned (norc_timing) and written in one
//  transaction fenced by the epoch of each schedule's shard. See sched_internal.h.
#include "sched_internal.h"
#include "norc_metrics.h"
#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>

//  One planned tick of the current fire round, with its schedule.
typedef struct {
    sched_schedule_t *sched;
    norc_tick_fire_t tick;
    sched_exec_t *exec;             //  assigned with the tick, when one was free
} sched_planned_t;

void
sched_ticks_destroy (void **item)
{
    sched_schedule_t *s = (sched_schedule_t *) *item;
    if (s) {
        norc_schedule_clear (&s->row);
        norc_cron_destroy (&s->cron);
        free (s);
        *item = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Schedules and ticks

static void
s_forget (scheduler_t *self, sched_schedule_t *s, const char *why)
{
    norc_log_info ("schedule=%llu: dropped (%s)", (unsigned long long) s->row.id, why);
    if (sched_heap_contains (self->heap, &s->node))
        sched_heap_remove (self->heap, &s->node);
    char key [32];
    zhashx_delete (self->schedules, sched_key (s->row.id, key, sizeof key));
}

//  Add (or replace) a schedule the scheduler holds. An invalid one is
//  soft-deleted with its reason.
static void
s_adopt (scheduler_t *self, norc_schedule_t *row)
{
    char key [32];
    sched_key (row->id, key, sizeof key);
    sched_schedule_t *old = (sched_schedule_t *) zhashx_lookup (self->schedules, key);
    if (old)
        s_forget (self, old, "reloaded");
    sched_schedule_t *s = (sched_schedule_t *) norc_calloc (1, sizeof (sched_schedule_t));
    s->row = *row;
    memset (row, 0, sizeof (*row));
    s->node.item = s;
    s->node.index = SIZE_MAX;
    s->timing.start = s->row.start;
    s->timing.period_s = s->row.period_s;
    const char *invalid = NULL;
    char err [512] = "";
    if (s->row.kind == NORC_SCHED_CRON) {
        s->cron = norc_cron_new (s->row.cron, s->row.tz, err, sizeof err);
        if (!s->cron)
            invalid = err;
        s->timing.cron = s->cron;
    }
    else
    if (s->row.period_s < 1)
        invalid = "period under 1 second";
    if (invalid) {
        norc_log_warnx ("schedule=%llu: invalid (%s): soft-deleted", (unsigned long long) s->row.id, invalid);
        char *reason = norc_asprintf ("invalid: %s", invalid);
        norc_store_schedule_delete (self->db, s->row.id, reason);
        free (reason);
        void *item = s;
        sched_ticks_destroy (&item);
        return;
    }
    norc_us_t after = s->row.last_nominal ? s->row.last_nominal : s->timing.start - 1;
    norc_us_t next;
    if (norc_timing_next (&s->timing, after, &next) != NORC_OK) {
        void *item = s;
        sched_ticks_destroy (&item);
        return;
    }
    s->node.key = next;
    zhashx_insert (self->schedules, key, s);
    sched_heap_push (self->heap, &s->node);
}

//  A schedule's metric labels: its queue, and the tick's outcome when given
void
sched_metric_labels (const sched_schedule_t *s, const char *outcome, char *out, size_t size)
{
    char queue [128];
    norc_metrics_escape (s->row.queue ? s->row.queue : "", queue, sizeof queue);
    if (outcome)
        snprintf (out, size, "outcome=\"%s\",queue=\"%s\"", outcome, queue);
    else
        snprintf (out, size, "queue=\"%s\"", queue);
}

//  Per-schedule series, when metrics.schedules asks for them: the first
//  that many schedules to tick have their own; the others count under
//  schedule="_other", so a million schedules never make a million series
static int64_t s_schedules_cap;
static zhashx_t *s_schedules_seen;

static void
s_schedule_series (const sched_schedule_t *s, const char *outcome, double ticks, double lateness_s)
{
    if (s_schedules_cap <= 0)
        return;
    char id [24], task [128], queue [128], labels [400];
    snprintf (id, sizeof id, "%llu", (unsigned long long) s->row.id);
    if (!zhashx_lookup (s_schedules_seen, id)) {
        if ((int64_t) zhashx_size (s_schedules_seen) < s_schedules_cap)
            zhashx_insert (s_schedules_seen, id, (void *) 1);
        else
            snprintf (id, sizeof id, "_other");
    }
    bool other = strcmp (id, "_other") == 0;
    norc_metrics_escape (other ? "" : s->row.task ? s->row.task : "", task, sizeof task);
    norc_metrics_escape (other ? "" : s->row.queue ? s->row.queue : "", queue, sizeof queue);
    snprintf (labels, sizeof labels, "outcome=\"%s\",queue=\"%s\",schedule=\"%s\",task=\"%s\"", outcome, queue,
              id, task);
    norc_metrics_add ("norc_schedule_ticks_total", labels, ticks);
    if (lateness_s >= 0 && !other) {
        snprintf (labels, sizeof labels, "queue=\"%s\",schedule=\"%s\",task=\"%s\"", queue, id, task);
        norc_metrics_set ("norc_schedule_last_lateness_seconds", labels, lateness_s);
    }
}

//  The scheduler's metrics (docs/metrics.md)
void
sched_metrics_declare (int64_t per_schedule)
{
    s_schedules_cap = per_schedule;
    if (per_schedule > 0 && !s_schedules_seen) {
        s_schedules_seen = zhashx_new ();
        norc_metrics_family ("norc_schedule_ticks_total", NORC_METRIC_COUNTER,
                             "Ticks of each schedule, for the first metrics.schedules of them (the rest under "
                             "schedule=\"_other\"), by outcome.", NULL, 0);
        norc_metrics_family ("norc_schedule_last_lateness_seconds", NORC_METRIC_GAUGE,
                             "From each schedule's last fired tick's nominal time to its instance's commit.",
                             NULL, 0);
    }
    static const double lateness [] = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
    };
    norc_metrics_family ("norc_ticks_total", NORC_METRIC_COUNTER,
                         "Ticks of the schedules this scheduler holds, by queue and outcome (fired, skipped, missed).",
                         NULL, 0);
    norc_metrics_family ("norc_tick_lateness_seconds", NORC_METRIC_HISTOGRAM,
                         "From a tick's nominal time to its instance's commit, by queue.",
                         lateness, sizeof lateness / sizeof lateness [0]);
}

static void
s_send_created (scheduler_t *self, sched_schedule_t *s, uint64_t instance_id, norc_us_t nominal)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_CREATED);
    norc_instance_created_t *m = &msg->instance_created;
    m->instance_id = instance_id;
    m->schedule_id = s->row.id;
    m->task_id = s->row.task_id;
    m->task = norc_strdup (s->row.task ? s->row.task : "");
    m->queue = norc_strdup (s->row.queue ? s->row.queue : "");
    m->nominal_us = nominal;
    m->attempt = 1;
    m->replace = s->row.concurrency == NORC_CONCURRENCY_REPLACE;
    norc_link_send (self->link, &msg);
    char labels [160];
    double lateness = (double) (norc_now_us () - nominal) / 1e6;
    sched_metric_labels (s, NULL, labels, sizeof labels);
    norc_metrics_observe ("norc_tick_lateness_seconds", labels, lateness);
    sched_metric_labels (s, "fired", labels, sizeof labels);
    norc_metrics_add ("norc_ticks_total", labels, 1);
    s_schedule_series (s, "fired", 1, lateness);
}

//  One event for a tick, or a run of ticks, that fired nothing
static void
s_send_skipped (scheduler_t *self, sched_schedule_t *s, const norc_tick_fire_t *t, const char *outcome)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_TICK_SKIPPED);
    msg->tick_skipped.schedule_id = s->row.id;
    msg->tick_skipped.nominal_us = t->nominal;
    msg->tick_skipped.last_us = t->last > t->nominal ? t->last : t->nominal;
    msg->tick_skipped.count = t->count > 1 ? t->count : 1;
    msg->tick_skipped.outcome = norc_strdup (outcome);
    msg->tick_skipped.reason = norc_strdup (t->reason ? t->reason : "");
    norc_link_send (self->link, &msg);
    char labels [160];
    sched_metric_labels (s, outcome, labels, sizeof labels);
    norc_metrics_add ("norc_ticks_total", labels, t->count > 1 ? (double) t->count : 1);
    s_schedule_series (s, outcome, t->count > 1 ? (double) t->count : 1, -1);
}

//  Plan one schedule's due ticks into the round (nothing is written yet).
//  Returns how many were added; sets *more when more are due than planned.
static size_t
s_plan_schedule (scheduler_t *self, sched_schedule_t *s, norc_us_t now, sched_planned_t *out, size_t room,
                 norc_us_t *next_out)
{
    norc_tick_t ticks [PLAN_CAP];
    norc_us_t next = 0;
    int64_t remaining = s->row.repetitions ? s->row.remaining : -1;
    size_t cap = room < PLAN_CAP ? room : PLAN_CAP;
    size_t count = norc_timing_plan (&s->timing, s->row.last_nominal, now, s->row.catchup,
                                     s->row.catchup_window_s * NORC_US_PER_SEC,
                                     self->grace_ms * 1000, remaining, ticks, cap, &next);
    for (size_t i = 0; i < count; i++) {
        norc_tick_fire_t *t = &out [i].tick;
        memset (t, 0, sizeof (*t));
        out [i].sched = s;
        t->schedule_id = s->row.id;
        t->task_id = s->row.task_id;
        t->queue_id = s->row.queue_id;
        t->shard = s->row.shard;
        t->owner = self->id;
        t->epoch = s->row.lease_epoch;
        t->nominal = ticks [i].nominal;
        t->last = ticks [i].last;
        t->count = ticks [i].count;
        t->prev = i ? ticks [i - 1].last : s->row.last_nominal;
        bool fire = ticks [i].fire && !s->row.paused;
        //  A deadline: a tick later than that is missed, whatever the catch-up policy
        bool too_late = fire && s->row.deadline_s > 0 && now - ticks [i].nominal > s->row.deadline_s * NORC_US_PER_SEC;
        fire = fire && !too_late;
        if (fire && remaining > 0)
            remaining--;
        t->remaining = remaining < 0 ? 0 : remaining;
        t->next_nominal = i + 1 < count ? ticks [i + 1].nominal : (remaining == 0 ? 0 : next);
        t->outcome = fire ? 0 : s->row.paused ? NORC_TICK_SKIPPED : NORC_TICK_MISSED;
        t->reason = fire ? NULL : s->row.paused ? "paused" : too_late ? "past its deadline"
                  : "late: not fired within the misfire grace";
        t->forbid = s->row.concurrency == NORC_CONCURRENCY_FORBID;
    }
    *next_out = count == cap ? now : (remaining == 0 ? 0 : next);
    return count;
}

//  Write the round's ticks in one transaction, then act on each result.
static void
s_apply_round (scheduler_t *self, sched_planned_t *round, size_t count, norc_us_t now)
{
    norc_tick_fire_t *ticks = (norc_tick_fire_t *) norc_calloc (count ? count : 1, sizeof (norc_tick_fire_t));
    for (size_t i = 0; i < count; i++) {
        //  When an executor is free for the queue, the instance is written
        //  assigned to it: no second transaction for the assignment
        if (round [i].tick.outcome == 0 && round [i].sched->row.task_kind != NORC_TASK_JOB
        &&  (round [i].exec = sched_dispatch_free_executor (self, round [i].sched->row.queue))) {
            round [i].exec->credits--;
            round [i].tick.executor_id = round [i].exec->executor_id;
            round [i].tick.dispatch_epoch = self->dispatch_epoch;
        }
        ticks [i] = round [i].tick;
    }
    int rc = norc_store_tick_batch (self->db, ticks, count);
    if (rc != NORC_OK) {
        //  Nothing was written: every schedule of the round tries again soon
        norc_log_warnx ("cannot record %zu ticks, will try again: %s", count, norc_db_errstr (self->db));
        for (size_t i = 0; i < count; i++) {
            round [i].sched->node.key = now + NORC_US_PER_SEC;
            if (round [i].exec)
                round [i].exec->credits++;
        }
        free (ticks);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        sched_schedule_t *s = round [i].sched;
        norc_tick_fire_t *t = &ticks [i];
        bool sent = false;
        if (t->result == NORC_NOTFOUND || s->node.key == -1)
            s->node.key = -1;       //  marks it for dropping
        else
        if (t->outcome == 0 && t->result == NORC_OK) {
            self->ticks_fired++;
            s_send_created (self, s, t->instance_id, t->nominal);
            norc_instance_t inst = { .id = t->instance_id, .task_id = s->row.task_id,
                                     .schedule_id = s->row.id, .nominal = t->nominal,
                                     .attempt = 1, .queue = s->row.queue, .task_kind = s->row.task_kind };
            sched_work_t *work = sched_dispatch_work (&inst);
            //  Written assigned only while this scheduler holds the dispatch
            //  lease at its epoch (else executor_id came back 0)
            if (round [i].exec && !t->executor_id) {
                round [i].exec->credits++;
                round [i].exec = NULL;
            }
            norc_task_t *task = round [i].exec ? sched_dispatch_task (self, work->task_id) : NULL;
            if (task && sched_dispatch_send_assign (self, round [i].exec, work, task)) {
                sched_dispatch_mark_known (self, work->instance_id);
                void *item = work;
                sched_dispatch_work_destroy (&item);
                sent = true;
            }
            else {
                if (round [i].exec)
                    norc_store_instance_unassign (self->db, work->instance_id, round [i].exec->executor_id,
                                                  self->dispatch_epoch);
                sched_dispatch_enqueue (self, work, false);
            }
        }
        if (round [i].exec && !sent)
            round [i].exec->credits++;
        if (s->node.key == -1)
            continue;
        if (t->outcome && t->result == NORC_OK)
            s_send_skipped (self, s, t, t->outcome == NORC_TICK_SKIPPED ? "skipped" : "missed");
        s->row.last_nominal = t->last > t->nominal ? t->last : t->nominal;
        s->row.remaining = t->remaining;
    }
    free (ticks);
}

static int
s_on_fire (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    scheduler_t *self = (scheduler_t *) arg;
    uint64_t expirations;
    if (read (item->fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        norc_log_warn ("timerfd");
    //  Credits that came during the last round first (and the waiting work
    //  they take, oldest first): the new ticks are then written assigned
    //  to the slots still free
    if (self->dispatch && (zsock_events (self->dispatch) & ZMQ_POLLIN))
        sched_dispatch_handle (loop, self->dispatch, self);
    norc_us_t now = norc_now_us ();
    //  Take every due schedule off the heap and plan its ticks into one
    //  round, written in one transaction (a group commit)
    size_t room = 20000, count = 0;
    sched_planned_t *round = (sched_planned_t *) norc_calloc (room, sizeof (sched_planned_t));
    zlistx_t *due = zlistx_new ();
    sched_heap_node_t *top;
    while ((top = sched_heap_top (self->heap)) && top->key <= now && count + PLAN_CAP <= room) {
        sched_schedule_t *s = (sched_schedule_t *) top->item;
        sched_heap_remove (self->heap, &s->node);
        norc_us_t next;
        count += s_plan_schedule (self, s, now, round + count, room - count, &next);
        s->node.key = next;
        zlistx_add_end (due, s);
    }
    s_apply_round (self, round, count, now);
    for (sched_schedule_t *s = (sched_schedule_t *) zlistx_first (due); s; s = (sched_schedule_t *) zlistx_next (due)) {
        if (s->node.key > 0)
            sched_heap_push (self->heap, &s->node);
        else
            s_forget (self, s, s->node.key == 0 ? "finished" : "deleted or claimed by another scheduler");
    }
    zlistx_destroy (&due);
    free (round);
    sched_dispatch (self);
    sched_ticks_arm (self);
    return 0;
}

//  The one timer: a timerfd on the wall clock, set to the head of the heap
//  as an absolute time, so that the loop wakes at the nominal microsecond
//  (a zloop timer counts whole milliseconds, rounded up, on top of the
//  poll's own) and a clock step moves the wake-up with the clock.
int
sched_ticks_start (scheduler_t *self)
{
    self->fire_fd = timerfd_create (CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if (self->fire_fd < 0) {
        norc_log_warn ("timerfd_create");
        return NORC_ERROR;
    }
    zmq_pollitem_t item = { NULL, self->fire_fd, ZMQ_POLLIN, 0 };
    return zloop_poller (self->loop, &item, s_on_fire, self) == 0 ? NORC_OK : NORC_ERROR;
}

//  Set the timer to the head of the heap (recomputed after every fire)
void
sched_ticks_arm (scheduler_t *self)
{
    if (self->fire_fd < 0)
        return;
    sched_heap_node_t *top = sched_heap_top (self->heap);
    //  Paused: nothing fires; the ticks due meanwhile are handled at resume
    //  by each schedule's catch-up policy. (A zero time disarms; a time
    //  passed fires at once.)
    struct itimerspec at = { { 0, 0 }, { 0, 0 } };
    if (top && self->status != NORC_ST_PAUSED) {
        norc_us_t key = top->key > 0 ? top->key : 1;
        at.it_value.tv_sec = (time_t) (key / NORC_US_PER_SEC);
        at.it_value.tv_nsec = (long) (key % NORC_US_PER_SEC) * 1000;
    }
    if (timerfd_settime (self->fire_fd, TFD_TIMER_ABSTIME, &at, NULL) != 0)
        norc_log_warn ("timerfd_settime");
}

//  How many schedules one load reads: the loop turns between loads, so
//  ticks already held fire on time while a million are loaded
#define S_LOAD_PAGE 65536

static void s_load (scheduler_t *self);

static int
s_on_load_again (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    scheduler_t *self = (scheduler_t *) arg;
    self->load_timer = -1;
    s_load (self);
    return 0;
}

//  Load the next page of the oldest claim's schedules. A page the record
//  could not give is asked again at the next claim.
static void
s_load (scheduler_t *self)
{
    if (self->loading_count == 0)
        return;
    sched_load_t *load = &self->loading [0];
    norc_schedule_t *rows = NULL;
    size_t count = 0;
    norc_us_t t0 = norc_mono_us ();
    if (norc_store_schedule_load (self->db, self->id, load->token, load->shards, load->after, S_LOAD_PAGE,
                                  &rows, &count) != NORC_OK) {
        norc_log_warnx ("db: cannot load schedules: %s", norc_db_errstr (self->db));
        return;
    }
    norc_us_t t1 = norc_mono_us ();
    if (count)
        load->after = rows [count - 1].id;
    for (size_t i = 0; i < count; i++) {
        s_adopt (self, &rows [i]);
        norc_schedule_clear (&rows [i]);
    }
    free (rows);
    bool done = count < S_LOAD_PAGE;
    if (done) {
        self->loading_count--;
        memmove (self->loading, self->loading + 1, self->loading_count * sizeof (sched_load_t));
    }
    if (count || done)
        norc_log_info ("loaded %zu schedules (%lld ms in the record, %lld ms to arm them)%s; holding %zu", count,
                       (long long) (t1 - t0) / 1000, (long long) (norc_mono_us () - t1) / 1000,
                       done ? "" : ", more to load", zhashx_size (self->schedules));
    if (self->loading_count && self->load_timer < 0)
        self->load_timer = zloop_timer (self->loop, 1, 1, s_on_load_again, self);
    sched_ticks_arm (self);
}

static void
s_load_push (scheduler_t *self, uint64_t token, size_t shards)
{
    self->loading = (sched_load_t *) norc_realloc (self->loading, (self->loading_count + 1) * sizeof (sched_load_t));
    self->loading [self->loading_count++] = (sched_load_t) { token, shards, 0 };
}

//  Take the free shards (no owner, or an owner whose lease expired): at
//  most 1,024 rows, whatever they hold; their schedules are loaded next,
//  a page at a time.
static void
s_claim (scheduler_t *self, norc_us_t now)
{
    norc_shard_t *shards = NULL;
    size_t count = 0;
    uint64_t token = 0;
    if (norc_store_shard_claim (self->db, self->id, now, &shards, &count, &token) != NORC_OK) {
        norc_log_warnx ("db: cannot claim shards: %s", norc_db_errstr (self->db));
        return;
    }
    free (shards);
    if (count) {
        s_load_push (self, token, count);
        norc_log_info ("claimed %zu shards", count);
    }
    if (self->load_timer < 0)
        s_load (self);
}

//  Every third of a lease period: renew this scheduler's lease (one row,
//  whatever it holds), reload the held schedules changed meanwhile (a
//  notification may have been lost), claim free ones. After a lease that
//  had expired (a freeze, the record away), others may have taken some:
//  everything held is read again, once.
void
sched_ticks_lease (scheduler_t *self)
{
    norc_us_t now = norc_now_us ();
    norc_us_t until = now + self->lease_ms * 1000;
    sched_dispatch_lease (self, now, until);
    bool was_live = false;
    if (norc_store_scheduler_lease (self->db, self->id, now, until, &was_live) != NORC_OK) {
        norc_log_warnx ("db: cannot renew the scheduler's lease: %s", norc_db_errstr (self->db));
        return;
    }
    if (!was_live) {
        //  What is still held (nothing the first time) is read again, a
        //  page at a time: changes made meanwhile are in it
        size_t shards = 0;
        uint64_t token = 0;
        if (norc_store_shard_mark_held (self->db, self->id, &shards, &token) != NORC_OK)
            return;
        if (zhashx_size (self->schedules) || shards)
            norc_log_warnx ("the scheduler's lease had expired: every schedule it held is read again "
                            "(%zu shards still held)", shards);
        sched_ticks_forget_all (self, "the lease had expired");
        self->loading_count = 0;
        if (shards)
            s_load_push (self, token, shards);
        self->changes_since = now;
    }
    else {
        //  Changes since the last look, with a margin for the clocks
        uint64_t *ids = NULL;
        size_t count = 0;
        norc_us_t since = self->changes_since - self->lease_ms * 1000;
        if (norc_store_schedule_changed (self->db, self->id, since, &ids, &count) == NORC_OK) {
            self->changes_since = now;
            for (size_t i = 0; i < count; i++)
                sched_ticks_changed (self, ids [i]);
        }
        free (ids);
    }
    s_claim (self, now);
}

int
sched_ticks_on_lease (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    sched_ticks_lease ((scheduler_t *) arg);
    return 0;
}

//  A schedule changed through norcctl: reload that one now (a new one is
//  read alone when its shard is held here, and its shard claimed when it
//  is free: what the scheduler holds already is not read again)
void
sched_ticks_changed (scheduler_t *self, uint64_t id)
{
    //  No schedule named: a dead scheduler's were released (its lease
    //  ended): claim them now, not at the next lease renewal
    if (id == 0) {
        s_claim (self, norc_now_us ());
        return;
    }
    char key [32];
    sched_schedule_t *s = (sched_schedule_t *) zhashx_lookup (self->schedules, sched_key (id, key, sizeof key));
    norc_schedule_t row = { 0 };
    if (!s) {
        int rc = norc_store_schedule_get (self->db, id, &row);
        bool live = rc == NORC_OK && !row.deleted_at && (row.repetitions == 0 || row.remaining > 0);
        if (live && row.lease_owner == self->id) {
            s_adopt (self, &row);
            sched_ticks_arm (self);
        }
        else
        if (live)
            s_claim (self, norc_now_us ());     //  its shard, if it is free
        norc_schedule_clear (&row);
        return;
    }
    int rc = norc_store_schedule_get (self->db, id, &row);
    if (rc == NORC_OK && !row.deleted_at && row.lease_owner == self->id) {
        //  Keep the tick state we hold; take the definition (a schedule
        //  read again for nothing, a new one seen among the changes, says
        //  nothing)
        if (s->row.paused != row.paused)
            norc_log_info ("schedule=%llu: %s", (unsigned long long) id, row.paused ? "paused" : "active");
        s->row.paused = row.paused;
    }
    else
    if (rc == NORC_OK || rc == NORC_NOTFOUND)
        s_forget (self, s, row.deleted_at ? "deleted" : "not held");
    norc_schedule_clear (&row);
    sched_ticks_arm (self);
}

//  Forget every schedule held (they are taken again from MySQL)
void
sched_ticks_forget_all (scheduler_t *self, const char *why)
{
    zlistx_t *keys = zhashx_keys (self->schedules);
    for (char *key = (char *) zlistx_first (keys); key; key = (char *) zlistx_next (keys)) {
        sched_schedule_t *s = (sched_schedule_t *) zhashx_lookup (self->schedules, key);
        if (s)
            s_forget (self, s, why);
    }
    zlistx_destroy (&keys);
}
