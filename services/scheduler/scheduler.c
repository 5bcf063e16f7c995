//  scheduler.c - the scheduler's loop.
//
//  Schedules: every third of a lease period the scheduler renews its own
//  lease (one row, whatever it holds) and claims the free shards of
//  schedules (no owner, or an owner whose lease expired:
//  norc_store_shard_claim), then loads the schedules of the shards it took,
//  a batch at a time (docs/scale.md); it keeps each schedule in a
//  min-heap keyed by its next fire time. One zloop timer is
//  armed for the head of the heap. When it fires, every due schedule is
//  planned with norc_timing_plan (fire, or record as missed, per its
//  catch-up policy) and the round's ticks are written with
//  norc_store_tick_batch, which also advances the schedules and refuses a
//  scheduler whose shard epoch is stale. Changes made through norcctl arrive as notifications on
//  the aggregator's stream and take effect at once; the lease period is
//  only a backstop.
//
//  Dispatch: one scheduler at a time dispatches, the holder of the
//  "dispatch" lease (norc_store_lease_acquire, renewed with the
//  scheduler's lease). Only it binds the dispatch ROUTER; executors connect to every
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
#include "sched_internal.h"

char *
sched_key (uint64_t id, char *buf, size_t size)
{
    snprintf (buf, size, "%llu", (unsigned long long) id);
    return buf;
}

scheduler_t *
scheduler_new (norc_config_t *config)
{
    scheduler_t *self = (scheduler_t *) norc_calloc (1, sizeof (scheduler_t));
    self->config = config;
    self->fire_fd = -1;
    self->load_timer = -1;
    self->status = NORC_ST_RUNNING;
    self->lease_ms = norc_config_int (config, "scheduler.lease_ms");
    self->period_ms = norc_config_int (config, "heartbeat.period_ms");
    self->failure_ms = norc_config_int (config, "heartbeat.failure_ms");
    self->grace_ms = norc_config_int (config, "scheduler.misfire_grace_ms");
    self->heap = sched_heap_new ();
    self->schedules = zhashx_new ();
    zhashx_set_destructor (self->schedules, sched_ticks_destroy);
    self->queues = zhashx_new ();
    self->delayed = zlistx_new ();
    zlistx_set_destructor (self->delayed, sched_dispatch_work_destroy);
    zhashx_set_destructor (self->queues, sched_dispatch_queue_destroy);
    self->known = zhashx_new ();
    zhashx_set_destructor (self->known, (zhashx_destructor_fn *) zstr_free);
    self->tasks = zhashx_new ();
    zhashx_set_destructor (self->tasks, sched_dispatch_task_destroy);
    self->executors = zhashx_new ();
    zhashx_set_destructor (self->executors, sched_dispatch_exec_destroy);
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
        free (self->loading);
        sched_heap_destroy (&self->heap);
        zloop_destroy (&self->loop);
        if (self->fire_fd >= 0)
            close (self->fire_fd);
        norc_link_destroy (&self->link);
        zsock_destroy (&self->dispatch);
        zsock_destroy (&self->notify);
        norc_store_audit_refusals_stop (self->db);
        norc_db_destroy (&self->db);
        free (self);
        *self_p = NULL;
    }
}

static void
s_on_notify (scheduler_t *self, norc_msg_t *msg, bool *resync)
{
    if (msg->id == NORC_MSG_SCHEDULE_CHANGED)
        sched_ticks_changed (self, msg->schedule_changed.schedule_id);
    else
    if (msg->id == NORC_MSG_EVENT && msg->event.instance_id) {
        //  A manual run (or our own instance, already known), or one given
        //  back because its executor was lost before starting it
        char key [32];
        if (msg->event.topic && streq (msg->event.topic, "instance.ended")) {
            sched_jobs_instance_ended (self, msg->event.instance_id);
            return;
        }
        if (msg->event.topic && streq (msg->event.topic, "instance.requeued"))
            zhashx_delete (self->known, sched_key (msg->event.instance_id, key, sizeof key));
        //  One we do not know: read every waiting instance, in id order, so
        //  that one whose notification was lost (a subscriber that joined
        //  late) still takes its place in its queue's FIFO
        if (!zhashx_lookup (self->known, sched_key (msg->event.instance_id, key, sizeof key)))
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
        sched_dispatch_resync (self);
    else
        sched_dispatch (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Aggregator link, heartbeats, housekeeping

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
                sched_ticks_arm (self);
            }
            break;
        case NORC_REQ_RESUME:
            if (self->status != NORC_ST_PAUSED)
                refused = "not paused";
            else {
                self->status = NORC_ST_RUNNING;
                sched_ticks_arm (self);
            }
            break;
        case NORC_REQ_RELOAD: {
            //  Forget every schedule and take them again from MySQL
            sched_ticks_forget_all (self, "reload");
            sched_ticks_lease (self);
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
    norc_store_schedule_release (self->db, old);
    norc_store_lease_release (self->db, "dispatch", old);
    sched_ticks_forget_all (self, "registered again");
    self->id = id;
    sched_ticks_lease (self);
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
    norc_link_beat (self->link, self->status, (int) zhashx_size (self->schedules), 0);
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
        sched_exec_t *exec = (sched_exec_t *) zhashx_lookup (self->executors, key);
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
    sched_dispatch_resync (self);
    sched_jobs_resync (self);
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
    //  It binds its dispatch endpoint only when it takes the dispatch
    //  lease: one it may not bind is refused now, not then
    char *dispatch = norc_config_bind_endpoint (self->config, "scheduler.dispatch");
    if (!dispatch)
        return NORC_ERROR;
    free (dispatch);
    self->db = norc_db_new_from_config (self->config);
    if (!self->db) {
        norc_log_error ("malformed db.url");
        return NORC_ERROR;
    }
    norc_db_set_wait_hook (self->db, s_send_heartbeat, self);
    //  A dispatch message refused for its sender joins the audit
    norc_store_audit_refusals (self->db, "scheduler");
    sched_metrics_declare (norc_config_int (self->config, "metrics.schedules"));
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
    zloop_reader (self->loop, self->api, sched_jobs_handle_api, self);
    if (sched_ticks_start (self) != NORC_OK)
        return NORC_ERROR;
    zloop_timer (self->loop, (size_t) self->period_ms, 0, s_on_heartbeat, self);
    zloop_timer (self->loop, (size_t) (self->lease_ms / 3), 0, sched_ticks_on_lease, self);
    zloop_timer (self->loop, 10000, 0, s_on_resync, self);
    norc_service_on_signal (self->loop, s_on_signal, self);
    norc_service_upkeep (self->loop, self->config);
    norc_log_info ("scheduler=%llu on %s", (unsigned long long) self->id, self->host);
    s_on_heartbeat (self->loop, 0, self);
    sched_dispatch_resync (self);
    sched_ticks_lease (self);
    return NORC_OK;
}

void
scheduler_run (scheduler_t *self)
{
    zloop_start (self->loop);
    //  Give the schedules back at once so another scheduler takes them
    size_t released = zhashx_size (self->schedules);
    norc_store_schedule_release (self->db, self->id);
    if (self->dispatch)
        norc_store_lease_release (self->db, "dispatch", self->id);
    if (!NORC_STATUS_IS_FINAL (self->status))
        self->status = NORC_ST_ENDED;
    norc_store_daemon_status (self->db, self->id, self->status,
                              self->status == NORC_ST_KILLED ? "killed on request" : "stopped");
    //  Let the aggregator acknowledge what is still in flight (briefly)
    norc_link_flush (self->link, 1000);
    norc_log_info ("stopped: released %zu schedules, %llu ticks fired", released,
                   (unsigned long long) self->ticks_fired);
}
