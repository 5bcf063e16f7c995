//  scheduler.c - the scheduler's loop.
//
//  Schedules: every lease period the scheduler renews its leases and claims
//  free or expired ones (norc_store_schedule_claim), loads what it holds and
//  keeps each in a min-heap keyed by its next fire time. One zloop timer is
//  armed for the head of the heap. When it fires, every due schedule is
//  planned with norc_timing_plan (fire, or record as missed, per its
//  catch-up policy) and the round's ticks are written with
//  norc_store_tick_batch, which also advances the schedules and refuses a
//  scheduler whose lease epoch is stale. Changes made through norcctl arrive as notifications on
//  the aggregator's stream and take effect at once; the lease period is
//  only a backstop.
//
//  Dispatch: one scheduler at a time dispatches, the holder of the
//  "dispatch" lease (norc_store_lease_acquire, renewed with the schedule
//  leases). Only it binds the dispatch ROUTER; executors connect to every
//  scheduler's endpoint and so talk to whichever binds. Instances fired by
//  the other schedulers reach it as instance.created notifications (and the
//  periodic resync). Instances waiting for an executor sit in one FIFO per
//  queue (rebuilt from MySQL when the lease is taken). Executors connect to
//  the dispatch ROUTER,
//  say HELLO (queue or group, concurrency, what they run) and grant
//  CREDITs; the scheduler sends at most one ASSIGN per credit, taking from
//  the highest-priority queue with work, one instance per executor per
//  round so that work spreads. Each assignment is recorded
//  (norc_store_instance_assign) before the ASSIGN is sent, so after a
//  restart nothing is handed out twice.
#include "scheduler.h"
#include "sched_heap.h"
#include "norc_cron.h"
#include "norc_db.h"
#include "norc_log.h"
#include "norc_service.h"
#include "norc_mem.h"
#include "norc_migrate.h"
#include "norc_control.h"
#include "norc_msg.h"
#include "norc_link.h"
#include "norc_store.h"
#include "norc_timing.h"
#include "norc_zmq.h"
#include <unistd.h>

#define PLAN_CAP 64

typedef struct {
    sched_heap_node_t node;     //  position in the heap; node.item = self
    norc_schedule_t row;        //  as loaded
    norc_cron_t *cron;          //  parsed expression, cron schedules
    norc_timing_t timing;
} s_sched_t;

typedef struct {
    uint64_t instance_id;
    uint64_t task_id;
    uint64_t schedule_id;
    int attempt;
    norc_us_t nominal;
    norc_us_t not_before;       //  a retry's backoff: not handed out before (wall clock)
    bool job;                   //  a job's run: coordinated here, never handed to an executor
    char *queue;
    char *log_path;
} s_work_t;

typedef struct {
    zframe_t *routing_id;
    uint64_t executor_id;
    char *queue;                //  queue or group it serves
    char **members;             //  queues in priority order
    size_t member_count;
    int credits;
    uint64_t last_pick;         //  when it was last given work (a counter)
    norc_us_t last_seen;        //  monotonic
    bool dead;                  //  recorded dead: it gets no work until it registers again
} s_exec_t;

struct _scheduler_t {
    norc_config_t *config;      //  not owned
    norc_db_t *db;
    uint64_t id;                //  daemons.id
    uint64_t dispatch_epoch;    //  the dispatch lease's epoch while it is held: the fence of every assignment
    char host [256];
    norc_link_t *link;          //  to the aggregator: registration, heartbeats, events, control
    zsock_t *notify;            //  SUB to the aggregator's stream
    zsock_t *dispatch;          //  ROUTER for executors, while dispatching
    zloop_t *loop;
    int fire_timer;             //  zloop timer id, -1 when none
    sched_heap_t *heap;
    zhashx_t *schedules;        //  id -> s_sched_t
    zhashx_t *queues;           //  name -> zlistx of s_work_t
    zlistx_t *delayed;          //  s_work_t waiting for its not_before
    zhashx_t *known;            //  instance id -> monotonic time (queued or dispatched)
    zhashx_t *tasks;            //  task id -> norc_task_t
    zhashx_t *executors;        //  routing id hex -> s_exec_t
    zhashx_t *jobs;             //  running job instance id -> timeout deadline (wall clock, 0: none)
    zhashx_t *job_of;           //  node instance id -> its job instance id
    zsock_t *api;               //  DEALER to the aggregator's API (stopping nodes of an ended job)
    int64_t lease_ms, period_ms, failure_ms, grace_ms;
    norc_us_t heartbeat_sent;   //  monotonic time of the last HEARTBEAT
    uint64_t ticks_fired;
    int status;                 //  RUNNING or PAUSED; ENDED or KILLED at the end
    bool standing_by;           //  another scheduler holds the dispatch lease
    uint64_t picks;             //  executors picked so far
};

static char *
s_key (uint64_t id, char *buf, size_t size)
{
    snprintf (buf, size, "%llu", (unsigned long long) id);
    return buf;
}

static void
s_sched_destroy (void **item)
{
    s_sched_t *s = (s_sched_t *) *item;
    if (s) {
        norc_schedule_clear (&s->row);
        norc_cron_destroy (&s->cron);
        free (s);
        *item = NULL;
    }
}

static void
s_work_destroy (void **item)
{
    s_work_t *w = (s_work_t *) *item;
    if (w) {
        free (w->queue);
        free (w->log_path);
        free (w);
        *item = NULL;
    }
}

static void
s_queue_destroy (void **item)
{
    zlistx_destroy ((zlistx_t **) item);
}

static void
s_exec_destroy (void **item)
{
    s_exec_t *e = (s_exec_t *) *item;
    if (e) {
        zframe_destroy (&e->routing_id);
        free (e->queue);
        for (size_t i = 0; i < e->member_count; i++)
            free (e->members [i]);
        free (e->members);
        free (e);
        *item = NULL;
    }
}

static void
s_task_destroy (void **item)
{
    norc_task_t *t = (norc_task_t *) *item;
    if (t) {
        norc_task_clear (t);
        free (t);
        *item = NULL;
    }
}

scheduler_t *
scheduler_new (norc_config_t *config)
{
    scheduler_t *self = (scheduler_t *) norc_calloc (1, sizeof (scheduler_t));
    self->config = config;
    self->fire_timer = -1;
    self->status = NORC_ST_RUNNING;
    self->lease_ms = norc_config_int (config, "scheduler.lease_ms");
    self->period_ms = norc_config_int (config, "heartbeat.period_ms");
    self->failure_ms = norc_config_int (config, "heartbeat.failure_ms");
    self->grace_ms = norc_config_int (config, "scheduler.misfire_grace_ms");
    self->heap = sched_heap_new ();
    self->schedules = zhashx_new ();
    zhashx_set_destructor (self->schedules, s_sched_destroy);
    self->queues = zhashx_new ();
    self->delayed = zlistx_new ();
    zlistx_set_destructor (self->delayed, s_work_destroy);
    zhashx_set_destructor (self->queues, s_queue_destroy);
    self->known = zhashx_new ();
    zhashx_set_destructor (self->known, (zhashx_destructor_fn *) zstr_free);
    self->tasks = zhashx_new ();
    zhashx_set_destructor (self->tasks, s_task_destroy);
    self->executors = zhashx_new ();
    zhashx_set_destructor (self->executors, s_exec_destroy);
    self->jobs = zhashx_new ();
    zhashx_set_destructor (self->jobs, (zhashx_destructor_fn *) zstr_free);
    self->job_of = zhashx_new ();
    zhashx_set_destructor (self->job_of, (zhashx_destructor_fn *) zstr_free);
    if (gethostname (self->host, sizeof self->host) != 0)
        snprintf (self->host, sizeof self->host, "unknown");
    return self;
}

void
scheduler_destroy (scheduler_t **self_p)
{
    if (self_p && *self_p) {
        scheduler_t *self = *self_p;
        zhashx_destroy (&self->executors);
        zhashx_destroy (&self->job_of);
        zhashx_destroy (&self->jobs);
        zsock_destroy (&self->api);
        zhashx_destroy (&self->tasks);
        zhashx_destroy (&self->known);
        zhashx_destroy (&self->queues);
        zlistx_destroy (&self->delayed);
        zhashx_destroy (&self->schedules);
        sched_heap_destroy (&self->heap);
        zloop_destroy (&self->loop);
        norc_link_destroy (&self->link);
        zsock_destroy (&self->dispatch);
        zsock_destroy (&self->notify);
        norc_db_destroy (&self->db);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Waiting instances and dispatch

static void
s_mark_known (scheduler_t *self, uint64_t instance_id)
{
    char key [32];
    norc_us_t *when = (norc_us_t *) norc_malloc (sizeof (norc_us_t));
    *when = norc_mono_us ();
    zhashx_update (self->known, s_key (instance_id, key, sizeof key), when);
}

static int s_on_delayed (zloop_t *loop, int timer_id, void *arg);

static void s_job_advance (scheduler_t *self, uint64_t job_id, bool stop);

static void
s_enqueue (scheduler_t *self, s_work_t *work, bool front)
{
    if (work->job) {
        //  A job takes no executor: the dispatcher starts it and its nodes
        uint64_t id = work->instance_id;
        void *item = work;
        s_work_destroy (&item);
        if (self->dispatch)
            s_job_advance (self, id, false);
        return;
    }
    norc_us_t wait = work->not_before - norc_now_us ();
    if (self->dispatch && wait > 0) {
        //  A retry in its backoff: it joins its queue when the time comes
        zlistx_add_end (self->delayed, work);
        s_mark_known (self, work->instance_id);
        zloop_timer (self->loop, (size_t) (wait / 1000) + 1, 1, s_on_delayed, self);
        return;
    }
    if (!self->dispatch) {
        //  Another scheduler dispatches: it learns of this instance from
        //  the aggregator's notification, or from MySQL
        void *item = work;
        s_work_destroy (&item);
        return;
    }
    zlistx_t *fifo = (zlistx_t *) zhashx_lookup (self->queues, work->queue);
    if (!fifo) {
        fifo = zlistx_new ();
        zlistx_set_destructor (fifo, s_work_destroy);
        zhashx_insert (self->queues, work->queue, fifo);
    }
    if (front)
        zlistx_add_start (fifo, work);
    else
        zlistx_add_end (fifo, work);
    s_mark_known (self, work->instance_id);
}

static void s_dispatch (scheduler_t *self);

//  Retries whose backoff is over join their queues.
static int
s_on_delayed (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    scheduler_t *self = (scheduler_t *) arg;
    norc_us_t now = norc_now_us ();
    bool moved = true;
    while (moved) {
        moved = false;
        for (s_work_t *work = (s_work_t *) zlistx_first (self->delayed); work;
             work = (s_work_t *) zlistx_next (self->delayed))
            if (work->not_before <= now) {
                zlistx_detach_cur (self->delayed);
                work->not_before = 0;
                s_enqueue (self, work, false);
                moved = true;
                break;
            }
    }
    //  The loop's timers have millisecond resolution on another clock: one
    //  that fired a moment early must not strand what is still waiting
    norc_us_t first = 0;
    for (s_work_t *work = (s_work_t *) zlistx_first (self->delayed); work;
         work = (s_work_t *) zlistx_next (self->delayed))
        if (!first || work->not_before < first)
            first = work->not_before;
    if (first)
        zloop_timer (self->loop, (size_t) ((first - now) / 1000) + 2, 1, s_on_delayed, self);
    s_dispatch (self);
    return 0;
}

static s_work_t *
s_work_from_instance (const norc_instance_t *inst)
{
    s_work_t *work = (s_work_t *) norc_calloc (1, sizeof (s_work_t));
    work->instance_id = inst->id;
    work->task_id = inst->task_id;
    work->schedule_id = inst->schedule_id;
    work->attempt = inst->attempt ? inst->attempt : 1;
    work->nominal = inst->nominal;
    work->not_before = inst->not_before;
    work->job = inst->task_kind == NORC_TASK_JOB;
    work->queue = norc_strdup (inst->queue ? inst->queue : "");
    char path [64];
    work->log_path = norc_strdup (inst->log_path ? inst->log_path
                                  : norc_log_path (inst->id, path, sizeof path));
    return work;
}

static norc_task_t *
s_task (scheduler_t *self, uint64_t task_id)
{
    char key [32];
    norc_task_t *task = (norc_task_t *) zhashx_lookup (self->tasks, s_key (task_id, key, sizeof key));
    if (task)
        return task;
    task = (norc_task_t *) norc_calloc (1, sizeof (norc_task_t));
    char name [32];
    snprintf (name, sizeof name, "#%llu", (unsigned long long) task_id);
    if (norc_store_task_get (self->db, name, task) != NORC_OK) {
        norc_task_clear (task);
        free (task);
        return NULL;
    }
    zhashx_insert (self->tasks, key, task);
    return task;
}

//  Send one recorded assignment. False when the executor is gone.
static bool
s_send_assign (scheduler_t *self, s_exec_t *exec, s_work_t *work, norc_task_t *task)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_ASSIGN);
    norc_assign_t *a = &msg->assign;
    a->instance_id = work->instance_id;
    a->task_id = work->task_id;
    a->task = norc_strdup (task->name);
    a->attempt = work->attempt;
    a->command = norc_strdup (task->command ? task->command : "true");
    for (size_t i = 0; i < task->env.count; i++)
        norc_strmap_set (&a->env, task->env.keys [i], task->env.values [i]);
    a->cwd = task->cwd ? norc_strdup (task->cwd) : NULL;
    a->timeout_s = task->timeout_s;
    a->log_max_bytes = task->log_max_bytes;
    a->log_path = norc_strdup (work->log_path);
    a->nominal_us = work->nominal;
    a->queue = norc_strdup (work->queue);
    norc_msg_set_routing_id (msg, exec->routing_id);
    return norc_msg_send (&msg, self->dispatch) == NORC_OK;
}

typedef struct {
    s_work_t *work;
    s_exec_t *exec;
    zlistx_t *fifo;
} s_pick_t;

//  The executor serving this queue with the most free credits (the least
//  loaded), the one given work longest ago among equals, so work spreads
//  over every host.
static s_exec_t *
s_free_executor (scheduler_t *self, const char *queue)
{
    s_exec_t *best = NULL;
    for (s_exec_t *exec = (s_exec_t *) zhashx_first (self->executors); exec;
         exec = (s_exec_t *) zhashx_next (self->executors)) {
        if (exec->credits <= 0)
            continue;
        if (best && (exec->credits < best->credits
                     || (exec->credits == best->credits && exec->last_pick > best->last_pick)))
            continue;
        for (size_t m = 0; m < exec->member_count; m++)
            if (strcmp (exec->members [m], queue) == 0) {
                best = exec;
                break;
            }
    }
    if (best)
        best->last_pick = ++self->picks;
    return best;
}

//  Plan rounds of at most one assignment per executor with credits (so
//  work spreads), record them all in one transaction, then send them.
static int
s_exec_order (const void *a, const void *b)
{
    const s_exec_t *x = *(const s_exec_t *const *) a;
    const s_exec_t *y = *(const s_exec_t *const *) b;
    if (x->credits != y->credits)
        return x->credits > y->credits ? -1 : 1;
    return x->last_pick < y->last_pick ? -1 : x->last_pick > y->last_pick;
}

static void
s_dispatch (scheduler_t *self)
{
    size_t room = 4096, count = 0;
    s_pick_t *picks = NULL;
    bool progress = true;
    size_t nexec = zhashx_size (self->executors);
    s_exec_t **order = (s_exec_t **) norc_calloc (nexec ? nexec : 1, sizeof (s_exec_t *));
    while (progress && count < room) {
        progress = false;
        //  Each round, the least loaded first, then the one idle longest
        size_t n = 0;
        for (s_exec_t *exec = (s_exec_t *) zhashx_first (self->executors); exec && n < nexec;
             exec = (s_exec_t *) zhashx_next (self->executors))
            if (exec->credits > 0)
                order [n++] = exec;
        qsort (order, n, sizeof (s_exec_t *), s_exec_order);
        for (size_t e = 0; e < n && count < room; e++) {
            s_exec_t *exec = order [e];
            for (size_t m = 0; m < exec->member_count; m++) {
                zlistx_t *fifo = (zlistx_t *) zhashx_lookup (self->queues, exec->members [m]);
                if (!fifo || !zlistx_first (fifo))
                    continue;
                if (!picks)
                    picks = (s_pick_t *) norc_calloc (room, sizeof (s_pick_t));
                picks [count].work = (s_work_t *) zlistx_detach_cur (fifo);
                picks [count].exec = exec;
                picks [count].fifo = fifo;
                count++;
                exec->credits--;
                exec->last_pick = ++self->picks;
                progress = true;
                break;
            }
        }
    }
    free (order);
    if (!count)
        return;
    uint64_t *ids = (uint64_t *) norc_calloc (count, sizeof (uint64_t));
    uint64_t *execs = (uint64_t *) norc_calloc (count, sizeof (uint64_t));
    int *results = (int *) norc_calloc (count, sizeof (int));
    for (size_t i = 0; i < count; i++) {
        ids [i] = picks [i].work->instance_id;
        execs [i] = picks [i].exec->executor_id;
    }
    norc_fence_t fence = { self->id, self->dispatch_epoch };
    int rc = norc_store_instance_assign_batch (self->db, ids, execs, results, count, &fence);
    for (size_t i = count; i-- > 0; ) {
        s_pick_t *p = &picks [i];
        norc_task_t *task = rc == NORC_OK && results [i] == NORC_OK ? s_task (self, p->work->task_id) : NULL;
        bool done = rc == NORC_OK && results [i] != NORC_OK;    //  no longer waiting: drop
        if (task && s_send_assign (self, p->exec, p->work, task)) {
            s_mark_known (self, p->work->instance_id);
            done = true;
        }
        else
        if (!done) {
            //  Not recorded, no task, or the executor is gone: wait again
            if (rc == NORC_OK)
                norc_store_instance_unassign (self->db, p->work->instance_id, p->exec->executor_id,
                                              self->dispatch_epoch);
            p->exec->credits++;
            zlistx_add_start (p->fifo, p->work);
            p->work = NULL;
        }
        if (p->work) {
            void *item = p->work;
            s_work_destroy (&item);
        }
    }
    if (rc != NORC_OK)
        norc_log_warnx ("cannot record %zu assignments: %s", count, norc_db_errstr (self->db));
    free (results);
    free (execs);
    free (ids);
    free (picks);
}

//  --------------------------------------------------------------------------
//  Jobs: the dispatcher coordinates each running job. A step
//  (norc_store_job_advance, one transaction) starts the job, creates the
//  instances of nodes whose parents all succeeded, records the nodes below
//  a failure SKIPPED, and ends the job. Steps are taken when the job is
//  first seen waiting, when one of its nodes ends (instance.ended on the
//  aggregator's stream), at its timeout, and at every resync (the backstop
//  for a dropped notification or a new dispatcher). The events sent after
//  each step are for the record and the stream; the step itself is durable.

static int s_on_job_timeout (zloop_t *loop, int timer_id, void *arg);

static void
s_send_job_event (scheduler_t *self, uint64_t id, int status, norc_us_t started, const char *reason)
{
    norc_msg_t *msg;
    if (status == NORC_ST_RUNNING) {
        msg = norc_msg_new (NORC_MSG_INSTANCE_STARTED);
        msg->instance_started.instance_id = id;
        msg->instance_started.started_us = started;
    }
    else {
        msg = norc_msg_new (NORC_MSG_INSTANCE_ENDED);
        norc_instance_ended_t *m = &msg->instance_ended;
        m->instance_id = id;
        m->status = status;
        m->exit_code = -1;
        m->started_us = started;
        m->ended_us = norc_now_us ();
        m->reason = reason ? norc_strdup (reason) : NULL;
    }
    norc_link_send (self->link, &msg);
}

//  Ask the aggregator to stop a running node (as norcctl instance kill)
static void
s_stop_node (scheduler_t *self, uint64_t job_id, uint64_t node_instance_id)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_API_REQUEST);
    msg->api_request.request_id = node_instance_id;
    msg->api_request.op = norc_strdup ("instance.kill");
    char text [64];
    snprintf (text, sizeof text, "%llu", (unsigned long long) node_instance_id);
    norc_strmap_set (&msg->api_request.args, "id", text);
    snprintf (text, sizeof text, "job #%llu, which ended", (unsigned long long) job_id);
    norc_strmap_set (&msg->api_request.args, "by", text);
    norc_msg_send (&msg, self->api);
}

static int
s_handle_api (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (arg);
    norc_msg_t *msg = norc_msg_recv (sock);
    if (msg && msg->id == NORC_MSG_API_REPLY && msg->api_reply.code != NORC_OK)
        norc_log_info ("instance=%llu: not stopped: %s", (unsigned long long) msg->api_reply.request_id,
                       msg->api_reply.error ? msg->api_reply.error : "?");
    norc_msg_destroy (&msg);
    return 0;
}

static void
s_job_advance (scheduler_t *self, uint64_t job_id, bool stop)
{
    if (!self->dispatch)
        return;
    norc_job_step_t step = { 0 };
    int rc = norc_store_job_advance (self->db, job_id, 0, &step);
    char key [32];
    s_key (job_id, key, sizeof key);
    if (rc == NORC_NOTFOUND || rc == NORC_CONFLICT) {
        zhashx_delete (self->jobs, key);
        return;
    }
    if (rc) {
        norc_log_warnx ("job=%llu: cannot take its next step (again at the next resync): %s",
                        (unsigned long long) job_id, norc_db_errstr (self->db));
        return;
    }
    if (step.started) {
        norc_log_info ("job=%llu: started", (unsigned long long) job_id);
        s_send_job_event (self, job_id, NORC_ST_RUNNING, step.started_at, NULL);
    }
    for (size_t i = 0; i < step.active_count; i++) {
        uint64_t *of = (uint64_t *) norc_malloc (sizeof (uint64_t));
        *of = job_id;
        char node_key [32];
        zhashx_update (self->job_of, s_key (step.active [i], node_key, sizeof node_key), of);
    }
    for (size_t i = 0; i < step.created_count; i++) {
        norc_instance_t *node = &step.created [i];
        norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_CREATED);
        norc_instance_created_t *m = &msg->instance_created;
        m->instance_id = node->id;
        m->task_id = node->task_id;
        m->task = norc_strdup (node->task ? node->task : "");
        m->queue = norc_strdup (node->queue ? node->queue : "");
        m->attempt = 1;
        norc_link_send (self->link, &msg);
        s_enqueue (self, s_work_from_instance (node), false);
    }
    for (size_t i = 0; i < step.closed_count; i++)
        s_send_job_event (self, step.closed [i].id, step.closed [i].status, 0, step.closed [i].reason);
    if (step.ended) {
        const char *name = norc_status_name (step.status);
        norc_log_info ("job=%llu: %s%s%s", (unsigned long long) job_id, name ? name : "?",
                       step.reason ? ": " : "", step.reason ? step.reason : "");
        s_send_job_event (self, job_id, step.status, step.started_at, step.reason);
    }
    if (step.ended || stop)
        for (size_t i = 0; i < step.stop_count; i++)
            s_stop_node (self, job_id, step.stop [i]);
    if (NORC_STATUS_IS_FINAL (step.status))
        zhashx_delete (self->jobs, key);
    else
    if (!zhashx_lookup (self->jobs, key)) {
        norc_us_t *deadline = (norc_us_t *) norc_malloc (sizeof (norc_us_t));
        *deadline = step.timeout_s ? step.started_at + (norc_us_t) step.timeout_s * NORC_US_PER_SEC : 0;
        zhashx_insert (self->jobs, key, deadline);
        if (*deadline) {
            norc_us_t wait = *deadline - norc_now_us ();
            zloop_timer (self->loop, wait > 0 ? (size_t) (wait / 1000) + 2 : 1, 1, s_on_job_timeout, self);
        }
    }
    norc_job_step_clear (&step);
    s_dispatch (self);
}

//  Jobs past their timeout end TIMEDOUT, and their nodes are stopped
static int
s_on_job_timeout (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    scheduler_t *self = (scheduler_t *) arg;
    norc_us_t now = norc_now_us ();
    size_t count = 0;
    uint64_t *due = (uint64_t *) norc_calloc (zhashx_size (self->jobs) + 1, sizeof (uint64_t));
    for (norc_us_t *deadline = (norc_us_t *) zhashx_first (self->jobs); deadline;
         deadline = (norc_us_t *) zhashx_next (self->jobs))
        if (*deadline && *deadline <= now)
            due [count++] = strtoull ((const char *) zhashx_cursor (self->jobs), NULL, 10);
    for (size_t i = 0; i < count; i++)
        s_job_advance (self, due [i], false);
    free (due);
    return 0;
}

//  An instance ended: a step for its job, if it is a job's node, or for
//  the job itself, if someone else ended it (norcctl instance kill)
static void
s_instance_ended (scheduler_t *self, uint64_t id)
{
    char key [32];
    s_key (id, key, sizeof key);
    uint64_t *of = (uint64_t *) zhashx_lookup (self->job_of, key);
    if (of) {
        uint64_t job_id = *of;
        zhashx_delete (self->job_of, key);
        s_job_advance (self, job_id, false);
    }
    else
    if (zhashx_lookup (self->jobs, key))
        s_job_advance (self, id, true);
}

//  Every running job takes a step (after a new dispatcher takes over, and
//  as the backstop for a lost notification)
static void
s_resync_jobs (scheduler_t *self)
{
    uint64_t *ids = NULL;
    size_t count = 0;
    if (norc_store_job_running (self->db, &ids, &count) != NORC_OK) {
        norc_log_warnx ("db: cannot read running jobs: %s", norc_db_errstr (self->db));
        return;
    }
    for (size_t i = 0; i < count && self->dispatch; i++)
        s_job_advance (self, ids [i], false);
    free (ids);
}

//  Add every waiting instance the scheduler does not know yet.
static void
s_resync_waiting (scheduler_t *self)
{
    if (!self->dispatch)
        return;
    norc_instance_t *list = NULL;
    size_t count = 0;
    if (norc_store_instance_waiting (self->db, &list, &count) != NORC_OK) {
        norc_log_warnx ("db: cannot read waiting instances: %s", norc_db_errstr (self->db));
        return;
    }
    size_t added = 0;
    for (size_t i = 0; i < count; i++) {
        char key [32];
        if (!zhashx_lookup (self->known, s_key (list [i].id, key, sizeof key))) {
            s_enqueue (self, s_work_from_instance (&list [i]), false);
            added++;
        }
        norc_instance_clear (&list [i]);
    }
    free (list);
    if (added)
        norc_log_debug ("%zu waiting instances queued", added);
    s_dispatch (self);
}

//  --------------------------------------------------------------------------
//  Executors

static s_exec_t *
s_executor (scheduler_t *self, zframe_t *routing_id, bool create)
{
    char *key = zframe_strhex (routing_id);
    s_exec_t *exec = (s_exec_t *) zhashx_lookup (self->executors, key);
    if (!exec && create) {
        exec = (s_exec_t *) norc_calloc (1, sizeof (s_exec_t));
        exec->routing_id = zframe_dup (routing_id);
        zhashx_insert (self->executors, key, exec);
    }
    free (key);
    if (exec)
        exec->last_seen = norc_mono_us ();
    return exec;
}

static void
s_set_members (scheduler_t *self, s_exec_t *exec, const char *queue)
{
    if (exec->queue && strcmp (exec->queue, queue) == 0 && exec->member_count)
        return;
    for (size_t i = 0; i < exec->member_count; i++)
        free (exec->members [i]);
    free (exec->members);
    exec->members = NULL;
    exec->member_count = 0;
    free (exec->queue);
    exec->queue = norc_strdup (queue);
    norc_queue_t q = { 0 };
    if (norc_store_queue_get (self->db, queue, &q) == NORC_OK && q.kind == NORC_QUEUE_GROUP) {
        norc_rows_t rows = { 0 };
        if (norc_store_group_members (self->db, queue, &rows) == NORC_OK) {
            exec->members = (char **) norc_calloc (rows.count ? rows.count : 1, sizeof (char *));
            for (size_t i = 0; i < rows.count; i++)
                exec->members [exec->member_count++] = norc_strdup (norc_strmap_get (&rows.rows [i], "queue"));
        }
        norc_rows_clear (&rows);
    }
    else {
        exec->members = (char **) norc_calloc (1, sizeof (char *));
        exec->members [exec->member_count++] = norc_strdup (queue);
    }
    norc_queue_clear (&q);
}

//  What the executor holds by the record but does not report running,
//  long after it was assigned, it never got (a lost ASSIGN) or gave back
//  unheard (a lost RELEASE): send it again. The executor starts it, gives
//  it back for want of a slot, or (when it had started it after all, its
//  end still on the way) ignores it: it never starts an instance twice.
static void
s_reconcile (scheduler_t *self, s_exec_t *exec, const norc_hello_t *h)
{
    int64_t older_us = (3 * self->period_ms > 3000 ? 3 * self->period_ms : 3000) * 1000;
    norc_instance_t *held = NULL;
    size_t count = 0;
    if (norc_store_instance_assigned (self->db, exec->executor_id, older_us, &held, &count) != NORC_OK)
        return;
    for (size_t i = 0; i < count; i++) {
        bool running = false;
        for (size_t r = 0; r < h->running.count && !running; r++)
            running = h->running.items [r] == held [i].id;
        if (!running && exec->credits > 0) {
            s_work_t *work = s_work_from_instance (&held [i]);
            norc_task_t *task = s_task (self, work->task_id);
            if (task && s_send_assign (self, exec, work, task)) {
                norc_log_warnx ("instance=%llu: assigned to executor %llu, which does not run it: sent again",
                                (unsigned long long) held [i].id, (unsigned long long) exec->executor_id);
                exec->credits--;
            }
            void *item = work;
            s_work_destroy (&item);
        }
        norc_instance_clear (&held [i]);
    }
    free (held);
}

static void
s_on_executor_message (scheduler_t *self, norc_msg_t *msg)
{
    s_exec_t *exec = s_executor (self, msg->routing_id, msg->id == NORC_MSG_HELLO);
    switch (msg->id) {
        case NORC_MSG_HELLO: {
            norc_hello_t *h = &msg->hello;
            bool fresh = exec->executor_id != h->executor_id;
            exec->executor_id = h->executor_id;
            s_set_members (self, exec, h->queue ? h->queue : "");
            //  HELLO is also the executor's periodic resync of its credits
            exec->credits = h->concurrency - (int) h->running.count;
            for (size_t i = 0; i < h->running.count; i++)
                s_mark_known (self, h->running.items [i]);
            //  One recorded dead (it was frozen past the threshold) gets no
            //  work: its runs were ended or put back; it registers again
            norc_daemon_t d = { 0 };
            bool dead = norc_store_daemon_get (self->db, h->executor_id, &d) == NORC_OK
                     && NORC_STATUS_IS_FINAL (d.status);
            norc_daemon_clear (&d);
            if (dead && !exec->dead)
                norc_log_warnx ("executor=%llu is recorded dead: no work for it until it registers again",
                                (unsigned long long) h->executor_id);
            exec->dead = dead;
            if (dead)
                exec->credits = 0;
            else
                s_reconcile (self, exec, h);
            if (fresh)
                norc_log_info ("executor=%llu: serving %s with %d slots", (unsigned long long) h->executor_id,
                               exec->queue, h->concurrency);
            break;
        }
        case NORC_MSG_CREDIT:
            if (exec && !exec->dead)
                exec->credits += msg->credit.credits;
            break;
        case NORC_MSG_RELEASE: {
            norc_instance_t inst = { 0 };
            //  Given back by the executor that holds it (whoever assigned it)
            if (exec && norc_store_instance_get (self->db, msg->release.instance_id, &inst) == NORC_OK
            &&  inst.status == NORC_ST_CREATED
            &&  norc_store_instance_unassign (self->db, inst.id, exec->executor_id, 0) == NORC_OK)
                s_enqueue (self, s_work_from_instance (&inst), true);
            norc_instance_clear (&inst);
            break;
        }
        default:
            norc_log_warnx ("unexpected %s from an executor", norc_msg_name (msg));
    }
    if (!exec && msg->id != NORC_MSG_HELLO)
        norc_log_debug ("message from an executor that has not said HELLO");
}

static int
s_handle_dispatch (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    scheduler_t *self = (scheduler_t *) arg;
    //  Take every waiting message (credits come in bursts), then dispatch once
    for (int i = 0; i < 1000 && (zsock_events (sock) & ZMQ_POLLIN); i++) {
        norc_msg_t *msg = norc_msg_recv (sock);
        if (msg)
            s_on_executor_message (self, msg);
        norc_msg_destroy (&msg);
    }
    s_dispatch (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Schedules and ticks

static void s_arm (scheduler_t *self);

static void
s_forget (scheduler_t *self, s_sched_t *s, const char *why)
{
    norc_log_info ("schedule=%llu: dropped (%s)", (unsigned long long) s->row.id, why);
    if (sched_heap_contains (self->heap, &s->node))
        sched_heap_remove (self->heap, &s->node);
    char key [32];
    zhashx_delete (self->schedules, s_key (s->row.id, key, sizeof key));
}

//  Add (or replace) a schedule the scheduler holds. An invalid one is
//  soft-deleted with its reason.
static void
s_adopt (scheduler_t *self, norc_schedule_t *row)
{
    char key [32];
    s_key (row->id, key, sizeof key);
    s_sched_t *old = (s_sched_t *) zhashx_lookup (self->schedules, key);
    if (old)
        s_forget (self, old, "reloaded");
    s_sched_t *s = (s_sched_t *) norc_calloc (1, sizeof (s_sched_t));
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
        s_sched_destroy (&item);
        return;
    }
    norc_us_t after = s->row.last_nominal ? s->row.last_nominal : s->timing.start - 1;
    norc_us_t next;
    if (norc_timing_next (&s->timing, after, &next) != NORC_OK) {
        void *item = s;
        s_sched_destroy (&item);
        return;
    }
    s->node.key = next;
    zhashx_insert (self->schedules, key, s);
    sched_heap_push (self->heap, &s->node);
}

static void
s_send_created (scheduler_t *self, s_sched_t *s, uint64_t instance_id, norc_us_t nominal)
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
}

//  One event for a tick, or a run of ticks, that fired nothing
static void
s_send_skipped (scheduler_t *self, s_sched_t *s, const norc_tick_fire_t *t, const char *outcome)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_TICK_SKIPPED);
    msg->tick_skipped.schedule_id = s->row.id;
    msg->tick_skipped.nominal_us = t->nominal;
    msg->tick_skipped.last_us = t->last > t->nominal ? t->last : t->nominal;
    msg->tick_skipped.count = t->count > 1 ? t->count : 1;
    msg->tick_skipped.outcome = norc_strdup (outcome);
    msg->tick_skipped.reason = norc_strdup (t->reason ? t->reason : "");
    norc_link_send (self->link, &msg);
}

//  One planned tick of the current fire round, with its schedule.
typedef struct {
    s_sched_t *sched;
    norc_tick_fire_t tick;
    s_exec_t *exec;             //  assigned with the tick, when one was free
} s_planned_t;

//  Plan one schedule's due ticks into the round (nothing is written yet).
//  Returns how many were added; sets *more when more are due than planned.
static size_t
s_plan_schedule (scheduler_t *self, s_sched_t *s, norc_us_t now, s_planned_t *out, size_t room,
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
s_apply_round (scheduler_t *self, s_planned_t *round, size_t count, norc_us_t now)
{
    norc_tick_fire_t *ticks = (norc_tick_fire_t *) norc_calloc (count ? count : 1, sizeof (norc_tick_fire_t));
    for (size_t i = 0; i < count; i++) {
        //  When an executor is free for the queue, the instance is written
        //  assigned to it: no second transaction for the assignment
        if (round [i].tick.outcome == 0 && round [i].sched->row.task_kind != NORC_TASK_JOB
        &&  (round [i].exec = s_free_executor (self, round [i].sched->row.queue))) {
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
        s_sched_t *s = round [i].sched;
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
            s_work_t *work = s_work_from_instance (&inst);
            //  Written assigned only while this scheduler holds the dispatch
            //  lease at its epoch (else executor_id came back 0)
            if (round [i].exec && !t->executor_id) {
                round [i].exec->credits++;
                round [i].exec = NULL;
            }
            norc_task_t *task = round [i].exec ? s_task (self, work->task_id) : NULL;
            if (task && s_send_assign (self, round [i].exec, work, task)) {
                s_mark_known (self, work->instance_id);
                void *item = work;
                s_work_destroy (&item);
                sent = true;
            }
            else {
                if (round [i].exec)
                    norc_store_instance_unassign (self->db, work->instance_id, round [i].exec->executor_id,
                                                  self->dispatch_epoch);
                s_enqueue (self, work, false);
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
s_on_fire (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (timer_id);
    scheduler_t *self = (scheduler_t *) arg;
    self->fire_timer = -1;
    //  Credits that came during the last round first (and the waiting work
    //  they take, oldest first): the new ticks are then written assigned
    //  to the slots still free
    if (self->dispatch && (zsock_events (self->dispatch) & ZMQ_POLLIN))
        s_handle_dispatch (loop, self->dispatch, self);
    norc_us_t now = norc_now_us ();
    //  Take every due schedule off the heap and plan its ticks into one
    //  round, written in one transaction (a group commit)
    size_t room = 20000, count = 0;
    s_planned_t *round = (s_planned_t *) norc_calloc (room, sizeof (s_planned_t));
    zlistx_t *due = zlistx_new ();
    sched_heap_node_t *top;
    while ((top = sched_heap_top (self->heap)) && top->key <= now && count + PLAN_CAP <= room) {
        s_sched_t *s = (s_sched_t *) top->item;
        sched_heap_remove (self->heap, &s->node);
        norc_us_t next;
        count += s_plan_schedule (self, s, now, round + count, room - count, &next);
        s->node.key = next;
        zlistx_add_end (due, s);
    }
    s_apply_round (self, round, count, now);
    for (s_sched_t *s = (s_sched_t *) zlistx_first (due); s; s = (s_sched_t *) zlistx_next (due)) {
        if (s->node.key > 0)
            sched_heap_push (self->heap, &s->node);
        else
            s_forget (self, s, s->node.key == 0 ? "finished" : "deleted or claimed by another scheduler");
    }
    zlistx_destroy (&due);
    free (round);
    s_dispatch (self);
    s_arm (self);
    return 0;
}

//  Arm the one timer for the head of the heap (wall-clock distance, slept
//  on the loop's monotonic clock; recomputed after every fire).
static void
s_arm (scheduler_t *self)
{
    if (self->fire_timer >= 0) {
        zloop_timer_end (self->loop, self->fire_timer);
        self->fire_timer = -1;
    }
    sched_heap_node_t *top = sched_heap_top (self->heap);
    //  Paused: nothing fires; the ticks due meanwhile are handled at resume
    //  by each schedule's catch-up policy
    if (!top || self->status == NORC_ST_PAUSED)
        return;
    norc_us_t delay = top->key - norc_now_us ();
    size_t ms = delay <= 0 ? 0 : (size_t) ((delay + 999) / 1000);
    self->fire_timer = zloop_timer (self->loop, ms, 1, s_on_fire, self);
}

//  Take, keep or lose the dispatch lease, binding or closing the dispatch
//  socket to match.
static void
s_dispatch_lease (scheduler_t *self, norc_us_t now, norc_us_t until)
{
    bool held = false;
    uint64_t epoch = 0;
    if (norc_store_lease_acquire (self->db, "dispatch", self->id, now, until, &held, &epoch) != NORC_OK) {
        norc_log_warnx ("db: cannot renew or take the dispatch lease: %s", norc_db_errstr (self->db));
        return;
    }
    if (held)
        self->dispatch_epoch = epoch;
    if (held && !self->dispatch) {
        char *endpoint = norc_config_bind_endpoint (self->config, "scheduler.dispatch");
        self->dispatch = norc_zmq_bind (ZMQ_ROUTER, endpoint);
        if (self->dispatch) {
            zloop_reader (self->loop, self->dispatch, s_handle_dispatch, self);
            norc_log_info ("dispatching on %s (dispatch lease, epoch %llu)", endpoint, (unsigned long long) epoch);
            s_resync_waiting (self);
            s_resync_jobs (self);
        }
        else
            norc_store_lease_release (self->db, "dispatch", self->id);
        free (endpoint);
    }
    else
    if (!held && self->dispatch) {
        norc_log_warnx ("the dispatch lease went to another scheduler: no longer dispatching");
        zloop_reader_end (self->loop, self->dispatch);
        zsock_destroy (&self->dispatch);
        zhashx_purge (self->executors);
        zhashx_purge (self->queues);
        zlistx_purge (self->delayed);
        zhashx_purge (self->known);
    }
    else
    if (!held && !self->standing_by)
        norc_log_info ("another scheduler dispatches; standing by to take over");
    self->standing_by = !held;
}

//  Renew, claim, and load what is held.
static void
s_lease (scheduler_t *self)
{
    norc_us_t now = norc_now_us ();
    norc_us_t until = now + self->lease_ms * 1000;
    s_dispatch_lease (self, now, until);
    int renewed = 0, claimed = 0;
    if (norc_store_schedule_renew (self->db, self->id, until, &renewed) != NORC_OK
    ||  norc_store_schedule_claim (self->db, self->id, now, until, 10000, &claimed) != NORC_OK) {
        norc_log_warnx ("db: cannot renew or claim leases: %s", norc_db_errstr (self->db));
        return;
    }
    norc_schedule_t *owned = NULL;
    size_t count = 0;
    if (norc_store_schedule_owned (self->db, self->id, &owned, &count) != NORC_OK)
        return;
    //  Forget what is no longer ours; adopt what is new
    zhashx_t *held = zhashx_new ();
    for (size_t i = 0; i < count; i++) {
        char key [32];
        s_key (owned [i].id, key, sizeof key);
        zhashx_insert (held, key, (void *) 1);
        s_sched_t *s = (s_sched_t *) zhashx_lookup (self->schedules, key);
        if (!s || s->row.lease_epoch != owned [i].lease_epoch || s->row.paused != owned [i].paused)
            s_adopt (self, &owned [i]);
        norc_schedule_clear (&owned [i]);
    }
    free (owned);
    zlistx_t *ids = zhashx_keys (self->schedules);
    for (char *key = (char *) zlistx_first (ids); key; key = (char *) zlistx_next (ids))
        if (!zhashx_lookup (held, key)) {
            s_sched_t *s = (s_sched_t *) zhashx_lookup (self->schedules, key);
            if (s)
                s_forget (self, s, "no longer held");
        }
    zlistx_destroy (&ids);
    zhashx_destroy (&held);
    if (claimed)
        norc_log_info ("claimed %d schedules; holding %zu", claimed, zhashx_size (self->schedules));
    s_arm (self);
}

static int
s_on_lease (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    s_lease ((scheduler_t *) arg);
    return 0;
}

//  A schedule changed through norcctl: reload that one now (a new one is
//  claimed alone: what the scheduler holds already is not read again)
static void
s_schedule_changed (scheduler_t *self, uint64_t id)
{
    char key [32];
    s_sched_t *s = (s_sched_t *) zhashx_lookup (self->schedules, s_key (id, key, sizeof key));
    norc_schedule_t row = { 0 };
    if (!s) {
        norc_us_t now = norc_now_us ();
        if (norc_store_schedule_claim_one (self->db, self->id, id, now, now + self->lease_ms * 1000, &row) == NORC_OK) {
            s_adopt (self, &row);
            s_arm (self);
        }
        norc_schedule_clear (&row);
        return;
    }
    int rc = norc_store_schedule_get (self->db, id, &row);
    if (rc == NORC_OK && !row.deleted_at && row.lease_owner == self->id) {
        //  Keep the tick state we hold; take the definition
        s->row.paused = row.paused;
        norc_log_info ("schedule=%llu: %s", (unsigned long long) id, row.paused ? "paused" : "active");
    }
    else
    if (rc == NORC_OK || rc == NORC_NOTFOUND)
        s_forget (self, s, row.deleted_at ? "deleted" : "not held");
    norc_schedule_clear (&row);
    s_arm (self);
}

static void
s_on_notify (scheduler_t *self, norc_msg_t *msg, bool *resync)
{
    if (msg->id == NORC_MSG_SCHEDULE_CHANGED)
        s_schedule_changed (self, msg->schedule_changed.schedule_id);
    else
    if (msg->id == NORC_MSG_EVENT && msg->event.instance_id) {
        //  A manual run (or our own instance, already known), or one given
        //  back because its executor was lost before starting it
        char key [32];
        if (msg->event.topic && streq (msg->event.topic, "instance.ended")) {
            s_instance_ended (self, msg->event.instance_id);
            return;
        }
        if (msg->event.topic && streq (msg->event.topic, "instance.requeued"))
            zhashx_delete (self->known, s_key (msg->event.instance_id, key, sizeof key));
        //  One we do not know: read every waiting instance, in id order, so
        //  that one whose notification was lost (a subscriber that joined
        //  late) still takes its place in its queue's FIFO
        if (!zhashx_lookup (self->known, s_key (msg->event.instance_id, key, sizeof key)))
            *resync = true;
    }
}

static int
s_handle_notify (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    scheduler_t *self = (scheduler_t *) arg;
    //  Everything waiting, a bounded number, then one dispatch round
    bool resync = false;
    for (int i = 0; i < 1000 && (i == 0 || (zsock_events (sock) & ZMQ_POLLIN)); i++) {
        norc_msg_t *msg = norc_msg_recv (sock);
        if (msg)
            s_on_notify (self, msg, &resync);
        norc_msg_destroy (&msg);
    }
    if (resync)
        s_resync_waiting (self);
    else
        s_dispatch (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Aggregator link, heartbeats, housekeeping

//  Forget every schedule held (they are taken again from MySQL)
static void
s_forget_all (scheduler_t *self, const char *why)
{
    zlistx_t *keys = zhashx_keys (self->schedules);
    for (char *key = (char *) zlistx_first (keys); key; key = (char *) zlistx_next (keys)) {
        s_sched_t *s = (s_sched_t *) zhashx_lookup (self->schedules, key);
        if (s)
            s_forget (self, s, why);
    }
    zlistx_destroy (&keys);
}

//  A control request from the aggregator (the link reports the new status
//  and answers)
static norc_link_outcome_t
s_control (void *arg, const norc_control_t *c)
{
    scheduler_t *self = (scheduler_t *) arg;
    const char *refused = NULL;
    if (c->instance_id)
        refused = "a scheduler runs no instance";
    else
    switch (c->request) {
        case NORC_REQ_PAUSE:
            if (self->status != NORC_ST_RUNNING)
                refused = "not running";
            else {
                self->status = NORC_ST_PAUSED;
                s_arm (self);
            }
            break;
        case NORC_REQ_RESUME:
            if (self->status != NORC_ST_PAUSED)
                refused = "not paused";
            else {
                self->status = NORC_ST_RUNNING;
                s_arm (self);
            }
            break;
        case NORC_REQ_RELOAD: {
            //  Forget every schedule and take them again from MySQL
            s_forget_all (self, "reload");
            s_lease (self);
            break;
        }
        case NORC_REQ_STOP:
            self->status = NORC_ST_ENDED;
            break;
        case NORC_REQ_KILL:
            self->status = NORC_ST_KILLED;
            break;
        default:
            refused = "not a request for a scheduler";
    }
    bool final = NORC_STATUS_IS_FINAL (self->status);
    return (norc_link_outcome_t) { refused, self->status, !final, final };
}

//  Recorded dead while it was frozen (its leases went to others), and
//  registered again: give back what it may still hold under the old id,
//  forget every schedule, claim anew under the new one
static void
s_registered (void *arg, uint64_t old, uint64_t id)
{
    scheduler_t *self = (scheduler_t *) arg;
    int released = 0;
    norc_store_schedule_release (self->db, old, &released);
    norc_store_lease_release (self->db, "dispatch", old);
    s_forget_all (self, "registered again");
    self->id = id;
    s_lease (self);
}

static int
s_handle_events (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (sock);
    return norc_link_read (((scheduler_t *) arg)->link);
}

//  A HEARTBEAT, and nothing else (also sent while a transaction waits for
//  the database to come back: the scheduler is alive, only held up)
static void
s_send_heartbeat (void *arg)
{
    scheduler_t *self = (scheduler_t *) arg;
    if (!self->link || !self->id)
        return;
    norc_us_t now = norc_mono_us ();
    if (now - self->heartbeat_sent < self->period_ms * 1000 / 2)
        return;         //  one recently enough
    self->heartbeat_sent = now;
    norc_link_beat (self->link, self->status, 0, 0);
}

static int
s_on_heartbeat (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    scheduler_t *self = (scheduler_t *) arg;
    s_send_heartbeat (self);
    //  Executors silent past the threshold lose their credits
    norc_us_t cutoff = norc_mono_us () - self->failure_ms * 1000;
    zlistx_t *keys = zhashx_keys (self->executors);
    for (char *key = (char *) zlistx_first (keys); key; key = (char *) zlistx_next (keys)) {
        s_exec_t *exec = (s_exec_t *) zhashx_lookup (self->executors, key);
        if (exec && exec->last_seen < cutoff) {
            norc_log_info ("executor=%llu: silent, forgotten", (unsigned long long) exec->executor_id);
            zhashx_delete (self->executors, key);
        }
    }
    zlistx_destroy (&keys);
    return 0;
}

static int
s_on_resync (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    scheduler_t *self = (scheduler_t *) arg;
    //  Forget dispatched instances after an hour (they are in MySQL)
    norc_us_t cutoff = norc_mono_us () - INT64_C (3600000000);
    zlistx_t *keys = zhashx_keys (self->known);
    for (char *key = (char *) zlistx_first (keys); key; key = (char *) zlistx_next (keys)) {
        norc_us_t *when = (norc_us_t *) zhashx_lookup (self->known, key);
        if (when && *when < cutoff)
            zhashx_delete (self->known, key);
    }
    zlistx_destroy (&keys);
    s_resync_waiting (self);
    s_resync_jobs (self);
    return 0;
}

//  SIGTERM/SIGINT: stop as a STOP request would (leases released at once)
static int
s_on_signal (void *arg, int count)
{
    NORC_UNUSED (count);
    scheduler_t *self = (scheduler_t *) arg;
    self->status = NORC_ST_ENDED;
    return -1;
}

int
scheduler_start (scheduler_t *self)
{
    self->db = norc_db_new_from_config (self->config);
    if (!self->db) {
        norc_log_error ("malformed db.url");
        return NORC_ERROR;
    }
    norc_db_set_wait_hook (self->db, s_send_heartbeat, self);
    int version = 0, rc = NORC_AGAIN;
    for (int attempt = 0; attempt < 60 && !norc_service_signalled (); attempt++) {
        rc = norc_migrate_current (self->db, &version);
        if (rc == NORC_OK && version >= 1)
            break;
        norc_log_warnx ("db: not ready (%s); retrying", rc ? norc_db_errstr (self->db) : "schema not migrated");
        zclock_sleep (1000);
    }
    if (rc || version < 1) {
        norc_log_error ("db: unavailable or not migrated (run norcctl db migrate)");
        return NORC_ERROR;
    }
    if (strchr (norc_config_str (self->config, "scheduler.dispatch"), ',')) {
        norc_log_error ("scheduler.dispatch: a scheduler binds one endpoint (executors take a list)");
        return NORC_ERROR;
    }
    norc_link_spec_t spec = { .kind = "scheduler", .host = self->host, .control = s_control,
                              .registered = s_registered, .arg = self };
    self->link = norc_link_new (self->config, &spec);
    if (!self->link || norc_link_register (self->link, 60) != NORC_OK)
        return NORC_ERROR;
    self->id = norc_link_id (self->link);
    self->notify = norc_zmq_connect (ZMQ_SUB, norc_config_str (self->config, "aggregator.stream"));
    if (!self->notify)
        return NORC_ERROR;
    zsock_set_subscribe (self->notify, "schedule.");
    zsock_set_subscribe (self->notify, "instance.created");
    zsock_set_subscribe (self->notify, "instance.requeued");
    zsock_set_subscribe (self->notify, "instance.ended");
    self->api = norc_zmq_connect (ZMQ_DEALER, norc_config_str (self->config, "aggregator.api"));
    if (!self->api)
        return NORC_ERROR;
    self->loop = zloop_new ();
    zloop_reader (self->loop, norc_link_socket (self->link), s_handle_events, self);
    zloop_reader (self->loop, self->notify, s_handle_notify, self);
    zloop_reader (self->loop, self->api, s_handle_api, self);
    zloop_timer (self->loop, (size_t) self->period_ms, 0, s_on_heartbeat, self);
    zloop_timer (self->loop, (size_t) (self->lease_ms / 3), 0, s_on_lease, self);
    zloop_timer (self->loop, 10000, 0, s_on_resync, self);
    norc_service_on_signal (self->loop, s_on_signal, self);
    norc_service_upkeep (self->loop, self->config);
    norc_log_info ("scheduler=%llu on %s", (unsigned long long) self->id, self->host);
    s_on_heartbeat (self->loop, 0, self);
    s_resync_waiting (self);
    s_lease (self);
    return NORC_OK;
}

void
scheduler_run (scheduler_t *self)
{
    zloop_start (self->loop);
    //  Give the schedules back at once so another scheduler takes them
    int released = 0;
    norc_store_schedule_release (self->db, self->id, &released);
    if (self->dispatch)
        norc_store_lease_release (self->db, "dispatch", self->id);
    if (!NORC_STATUS_IS_FINAL (self->status))
        self->status = NORC_ST_ENDED;
    norc_store_daemon_status (self->db, self->id, self->status,
                              self->status == NORC_ST_KILLED ? "killed on request" : "stopped");
    //  Let the aggregator acknowledge what is still in flight (briefly)
    norc_link_flush (self->link, 1000);
    norc_log_info ("stopped: released %d schedules, %llu ticks fired", released,
                   (unsigned long long) self->ticks_fired);
}
