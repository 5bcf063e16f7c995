//  sched_dispatch.c - dispatch, by the holder of the "dispatch" lease:
//  waiting instances in one FIFO per queue, executors and their credits,
//  and each assignment recorded (fenced by the lease epoch) before its
//  ASSIGN is sent. See sched_internal.h.
#include "sched_internal.h"
#include "sched_pick.h"
#include "norc_authz.h"

void
sched_dispatch_work_destroy (void **item)
{
    sched_work_t *w = (sched_work_t *) *item;
    if (w) {
        free (w->queue);
        free (w->log_path);
        free (w);
        *item = NULL;
    }
}

void
sched_dispatch_queue_destroy (void **item)
{
    zlistx_destroy ((zlistx_t **) item);
}

void
sched_dispatch_exec_destroy (void **item)
{
    sched_exec_t *e = (sched_exec_t *) *item;
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

void
sched_dispatch_task_destroy (void **item)
{
    norc_task_t *t = (norc_task_t *) *item;
    if (t) {
        norc_task_clear (t);
        free (t);
        *item = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Waiting instances and dispatch

void
sched_dispatch_mark_known (scheduler_t *self, uint64_t instance_id)
{
    char key [32];
    norc_us_t *when = (norc_us_t *) norc_malloc (sizeof (norc_us_t));
    *when = norc_mono_us ();
    zhashx_update (self->known, sched_key (instance_id, key, sizeof key), when);
}

static int s_on_delayed (zloop_t *loop, int timer_id, void *arg);

void
sched_dispatch_enqueue (scheduler_t *self, sched_work_t *work, bool front)
{
    if (work->job) {
        //  A job takes no executor: the dispatcher starts it and its nodes
        uint64_t id = work->instance_id;
        void *item = work;
        sched_dispatch_work_destroy (&item);
        if (self->dispatch)
            sched_jobs_advance (self, id, false);
        return;
    }
    norc_us_t wait = work->not_before - norc_now_us ();
    if (self->dispatch && wait > 0) {
        //  A retry in its backoff: it joins its queue when the time comes
        zlistx_add_end (self->delayed, work);
        sched_dispatch_mark_known (self, work->instance_id);
        zloop_timer (self->loop, (size_t) (wait / 1000) + 1, 1, s_on_delayed, self);
        return;
    }
    if (!self->dispatch) {
        //  Another scheduler dispatches: it learns of this instance from
        //  the aggregator's notification, or from MySQL
        void *item = work;
        sched_dispatch_work_destroy (&item);
        return;
    }
    zlistx_t *fifo = (zlistx_t *) zhashx_lookup (self->queues, work->queue);
    if (!fifo) {
        fifo = zlistx_new ();
        zlistx_set_destructor (fifo, sched_dispatch_work_destroy);
        zhashx_insert (self->queues, work->queue, fifo);
    }
    if (front)
        zlistx_add_start (fifo, work);
    else
        zlistx_add_end (fifo, work);
    sched_dispatch_mark_known (self, work->instance_id);
}

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
        for (sched_work_t *work = (sched_work_t *) zlistx_first (self->delayed); work;
             work = (sched_work_t *) zlistx_next (self->delayed))
            if (work->not_before <= now) {
                zlistx_detach_cur (self->delayed);
                work->not_before = 0;
                sched_dispatch_enqueue (self, work, false);
                moved = true;
                break;
            }
    }
    //  The loop's timers have millisecond resolution on another clock: one
    //  that fired a moment early must not strand what is still waiting
    norc_us_t first = 0;
    for (sched_work_t *work = (sched_work_t *) zlistx_first (self->delayed); work;
         work = (sched_work_t *) zlistx_next (self->delayed))
        if (!first || work->not_before < first)
            first = work->not_before;
    if (first)
        zloop_timer (self->loop, (size_t) ((first - now) / 1000) + 2, 1, s_on_delayed, self);
    sched_dispatch (self);
    return 0;
}

sched_work_t *
sched_dispatch_work (const norc_instance_t *inst)
{
    sched_work_t *work = (sched_work_t *) norc_calloc (1, sizeof (sched_work_t));
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

norc_task_t *
sched_dispatch_task (scheduler_t *self, uint64_t task_id)
{
    char key [32];
    norc_task_t *task = (norc_task_t *) zhashx_lookup (self->tasks, sched_key (task_id, key, sizeof key));
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
bool
sched_dispatch_send_assign (scheduler_t *self, sched_exec_t *exec, sched_work_t *work, norc_task_t *task)
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

//  The executor serving this queue with the most free credits (the least
//  loaded), the one given work longest ago among equals, so work spreads
//  over every host.
sched_exec_t *
sched_dispatch_free_executor (scheduler_t *self, const char *queue)
{
    sched_exec_t *best = NULL;
    sched_pick_t best_pick = { 0 };
    for (sched_exec_t *exec = (sched_exec_t *) zhashx_first (self->executors); exec;
         exec = (sched_exec_t *) zhashx_next (self->executors)) {
        sched_pick_t pick = { false, exec->credits, exec->last_pick };
        for (size_t m = 0; m < exec->member_count && !pick.serves && exec->credits > 0; m++)
            pick.serves = strcmp (exec->members [m], queue) == 0;
        if (sched_pick_better (&pick, best ? &best_pick : NULL)) {
            best = exec;
            best_pick = pick;
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
    const sched_exec_t *x = *(const sched_exec_t *const *) a;
    const sched_exec_t *y = *(const sched_exec_t *const *) b;
    if (x->credits != y->credits)
        return x->credits > y->credits ? -1 : 1;
    return x->last_pick < y->last_pick ? -1 : x->last_pick > y->last_pick;
}

void
sched_dispatch (scheduler_t *self)
{
    size_t room = 4096, count = 0;
    s_pick_t *picks = NULL;
    bool progress = true;
    size_t nexec = zhashx_size (self->executors);
    sched_exec_t **order = (sched_exec_t **) norc_calloc (nexec ? nexec : 1, sizeof (sched_exec_t *));
    while (progress && count < room) {
        progress = false;
        //  Each round, the least loaded first, then the one idle longest
        size_t n = 0;
        for (sched_exec_t *exec = (sched_exec_t *) zhashx_first (self->executors); exec && n < nexec;
             exec = (sched_exec_t *) zhashx_next (self->executors))
            if (exec->credits > 0)
                order [n++] = exec;
        qsort (order, n, sizeof (sched_exec_t *), s_exec_order);
        for (size_t e = 0; e < n && count < room; e++) {
            sched_exec_t *exec = order [e];
            for (size_t m = 0; m < exec->member_count; m++) {
                zlistx_t *fifo = (zlistx_t *) zhashx_lookup (self->queues, exec->members [m]);
                if (!fifo || !zlistx_first (fifo))
                    continue;
                if (!picks)
                    picks = (s_pick_t *) norc_calloc (room, sizeof (s_pick_t));
                picks [count].work = (sched_work_t *) zlistx_detach_cur (fifo);
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
        norc_task_t *task = rc == NORC_OK && results [i] == NORC_OK ? sched_dispatch_task (self, p->work->task_id) : NULL;
        bool done = rc == NORC_OK && results [i] != NORC_OK;    //  no longer waiting: drop
        if (task && sched_dispatch_send_assign (self, p->exec, p->work, task)) {
            sched_dispatch_mark_known (self, p->work->instance_id);
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
            sched_dispatch_work_destroy (&item);
        }
    }
    if (rc != NORC_OK)
        norc_log_warnx ("cannot record %zu assignments: %s", count, norc_db_errstr (self->db));
    free (results);
    free (execs);
    free (ids);
    free (picks);
}

//  Add every waiting instance the scheduler does not know yet.
void
sched_dispatch_resync (scheduler_t *self)
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
        if (!zhashx_lookup (self->known, sched_key (list [i].id, key, sizeof key))) {
            sched_dispatch_enqueue (self, sched_dispatch_work (&list [i]), false);
            added++;
        }
        norc_instance_clear (&list [i]);
    }
    free (list);
    if (added)
        norc_log_debug ("%zu waiting instances queued", added);
    sched_dispatch (self);
}

//  --------------------------------------------------------------------------
//  Executors

static sched_exec_t *
s_executor (scheduler_t *self, zframe_t *routing_id, bool create)
{
    char *key = zframe_strhex (routing_id);
    sched_exec_t *exec = (sched_exec_t *) zhashx_lookup (self->executors, key);
    if (!exec && create) {
        exec = (sched_exec_t *) norc_calloc (1, sizeof (sched_exec_t));
        exec->routing_id = zframe_dup (routing_id);
        zhashx_insert (self->executors, key, exec);
    }
    free (key);
    if (exec)
        exec->last_seen = norc_mono_us ();
    return exec;
}

static void
s_set_members (scheduler_t *self, sched_exec_t *exec, const char *queue)
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
    int rc = norc_store_queue_get (self->db, queue, &q);
    exec->sqs = rc == NORC_OK && q.kind == NORC_QUEUE_SQS;
    if (rc == NORC_OK && q.kind == NORC_QUEUE_GROUP) {
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
s_reconcile (scheduler_t *self, sched_exec_t *exec, const norc_hello_t *h)
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
            sched_work_t *work = sched_dispatch_work (&held [i]);
            norc_task_t *task = sched_dispatch_task (self, work->task_id);
            if (task && sched_dispatch_send_assign (self, exec, work, task)) {
                norc_log_warnx ("instance=%llu: assigned to executor %llu, which does not run it: sent again",
                                (unsigned long long) held [i].id, (unsigned long long) exec->executor_id);
                exec->credits--;
            }
            void *item = work;
            sched_dispatch_work_destroy (&item);
        }
        norc_instance_clear (&held [i]);
    }
    free (held);
}

static void
s_on_executor_message (scheduler_t *self, norc_msg_t *msg)
{
    sched_exec_t *exec = s_executor (self, msg->routing_id, msg->id == NORC_MSG_HELLO);
    switch (msg->id) {
        case NORC_MSG_HELLO: {
            norc_hello_t *h = &msg->hello;
            bool fresh = exec->executor_id != h->executor_id;
            exec->executor_id = h->executor_id;
            s_set_members (self, exec, h->queue ? h->queue : "");
            //  HELLO is also the executor's periodic resync of its credits
            exec->credits = h->concurrency - (int) h->running.count;
            for (size_t i = 0; i < h->running.count; i++)
                sched_dispatch_mark_known (self, h->running.items [i]);
            //  One recorded dead (it was frozen past the threshold) gets no
            //  work: its runs were ended or put back; it registers again
            norc_daemon_t d = { 0 };
            bool known = norc_store_daemon_get (self->db, h->executor_id, &d) == NORC_OK;
            bool dead = known && NORC_STATUS_IS_FINAL (d.status);
            //  An sqs queue's instances go only to a bridge, which sends
            //  them; a bridge takes only those
            bool mismatched = known && (d.kind == NORC_DAEMON_BRIDGE) != exec->sqs;
            norc_daemon_clear (&d);
            if (dead && !exec->dead)
                norc_log_warnx ("executor=%llu is recorded dead: no work for it until it registers again",
                                (unsigned long long) h->executor_id);
            if (mismatched && !exec->mismatched)
                norc_log_warnx (exec->sqs ? "executor=%llu serves %s, an sqs queue: only norc-sqs-bridge takes its "
                                            "instances (docs/sqs.md); it gets none"
                                          : "bridge=%llu serves %s, which is not an sqs queue: it gets nothing",
                                (unsigned long long) h->executor_id, exec->queue);
            exec->dead = dead;
            exec->mismatched = mismatched;
            if (dead || mismatched)
                exec->credits = 0;
            else
                s_reconcile (self, exec, h);
            if (fresh)
                norc_log_info ("executor=%llu: serving %s with %d slots", (unsigned long long) h->executor_id,
                               exec->queue, h->concurrency);
            break;
        }
        case NORC_MSG_CREDIT:
            if (exec && !exec->dead && !exec->mismatched)
                exec->credits += msg->credit.credits;
            break;
        case NORC_MSG_RELEASE: {
            norc_instance_t inst = { 0 };
            //  Given back by the executor that holds it (whoever assigned it)
            if (exec && norc_store_instance_get (self->db, msg->release.instance_id, &inst) == NORC_OK
            &&  inst.status == NORC_ST_CREATED
            &&  norc_store_instance_unassign (self->db, inst.id, exec->executor_id, 0) == NORC_OK)
                sched_dispatch_enqueue (self, sched_dispatch_work (&inst), true);
            norc_instance_clear (&inst);
            break;
        }
        default:
            norc_log_warnx ("unexpected %s from an executor", norc_msg_name (msg));
    }
    if (!exec && msg->id != NORC_MSG_HELLO)
        norc_log_debug ("message from an executor that has not said HELLO");
}

int
sched_dispatch_handle (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    scheduler_t *self = (scheduler_t *) arg;
    //  Take every waiting message (credits come in bursts), then dispatch once
    for (int i = 0; i < 1000 && (zsock_events (sock) & ZMQ_POLLIN); i++) {
        norc_msg_t *msg = norc_msg_recv (sock);
        if (msg && norc_authz_check (msg, NULL))
            s_on_executor_message (self, msg);
        norc_msg_destroy (&msg);
    }
    sched_dispatch (self);
    return 0;
}

//  Take, keep or lose the dispatch lease, binding or closing the dispatch
//  socket to match.
void
sched_dispatch_lease (scheduler_t *self, norc_us_t now, norc_us_t until)
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
            zloop_reader (self->loop, self->dispatch, sched_dispatch_handle, self);
            norc_log_info ("dispatching on %s (dispatch lease, epoch %llu)", endpoint, (unsigned long long) epoch);
            sched_dispatch_resync (self);
            sched_jobs_resync (self);
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
