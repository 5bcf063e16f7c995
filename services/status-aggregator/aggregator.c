//  aggregator.c - the status-aggregator's loop.
//
//  Lifecycle events from every scheduler and executor arrive on one ROUTER.
//  The handler drains everything waiting (up to a batch limit); the events
//  of a few milliseconds (aggregator.batch_ms) are applied in one
//  transaction (a group commit), and only after the commit each event is
//  acknowledged to its sender and published on the stream. If the commit
//  fails, nothing is acknowledged and the senders' outboxes send the
//  events again. Heartbeats are kept in memory and written once per period
//  for all daemons; a sweep marks daemons silent past the failure
//  threshold dead and ends their unfinished instances as ERROR
//  (agg_liveness.c). The API ROUTER serves norcctl (agg_api.c).
#include "agg_internal.h"
#include "norc_authz.h"
#include "norc_metrics.h"

aggregator_t *
aggregator_new (norc_config_t *config)
{
    aggregator_t *self = (aggregator_t *) norc_calloc (1, sizeof (aggregator_t));
    self->config = config;
    self->period_ms = norc_config_int (config, "heartbeat.period_ms");
    self->failure_ms = norc_config_int (config, "heartbeat.failure_ms");
    self->batch_ms = norc_config_int (config, "aggregator.batch_ms");
    self->flush_timer = -1;
    self->batch = (norc_instance_t *) norc_calloc (BATCH_MAX, sizeof (norc_instance_t));
    self->retry_ids = (uint64_t *) norc_calloc (BATCH_MAX, sizeof (uint64_t));
    self->acks = (s_ack_t *) norc_calloc (BATCH_MAX * 2, sizeof (s_ack_t));
    self->publish = (norc_msg_t **) norc_calloc (BATCH_MAX * 2, sizeof (norc_msg_t *));
    self->waits = agg_wait_list ();
    self->beats = zhashx_new ();
    self->pending = zhashx_new ();
    zhashx_set_destructor (self->pending, (zhashx_destructor_fn *) zstr_free);
    self->strangers = zhashx_new ();
    zhashx_set_destructor (self->beats, (zhashx_destructor_fn *) zstr_free);
    self->in_batch = zhashx_new ();
    self->routes = zhashx_new ();
    zhashx_set_destructor (self->routes, (zhashx_destructor_fn *) zframe_destroy);
    self->speakers = zhashx_new ();
    zhashx_set_destructor (self->speakers, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (self->speakers, (zhashx_duplicator_fn *) strdup);
    return self;
}

void
aggregator_destroy (aggregator_t **self_p)
{
    if (self_p && *self_p) {
        aggregator_t *self = *self_p;
        //  Controls still waiting are answered with what is so now
        if (self->api && self->db)
            agg_wait_check (self, true);
        zlistx_destroy (&self->waits);
        agg_live_clear_pending (self);
        free (self->batch);
        free (self->retry_ids);
        free (self->acks);
        free (self->publish);
        zhashx_destroy (&self->beats);
        zhashx_destroy (&self->pending);
        zhashx_destroy (&self->strangers);
        zhashx_destroy (&self->in_batch);
        zhashx_destroy (&self->routes);
        zhashx_destroy (&self->speakers);
        zloop_destroy (&self->loop);
        zsock_destroy (&self->stream);
        free (self->stream_endpoint);
        zsock_destroy (&self->api);
        zsock_destroy (&self->events);
        norc_store_audit_refusals_stop (self->db);
        norc_db_destroy (&self->db);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Events

static void
s_queue_ack (aggregator_t *self, zframe_t *routing_id, uint64_t seq)
{
    s_ack_t *ack = &self->acks [self->ack_count++];
    ack->routing_id = zframe_dup (routing_id);
    ack->seq = seq;
}

//  The batch entry for an instance: its earlier change in this batch (a
//  start, which the end supersedes: one UPDATE instead of two), or a new one.
static norc_instance_t *
s_change (aggregator_t *self, uint64_t instance_id)
{
    char key [32];
    snprintf (key, sizeof key, "%llu", (unsigned long long) instance_id);
    norc_instance_t *change = (norc_instance_t *) zhashx_lookup (self->in_batch, key);
    if (change)
        return change;
    change = &self->batch [self->batch_count++];
    memset (change, 0, sizeof (*change));
    zhashx_insert (self->in_batch, key, change);
    return change;
}

norc_msg_t *
agg_event (const char *topic_status, uint64_t instance_id, int status)
{
    NORC_UNUSED (topic_status);
    norc_msg_t *event = norc_msg_new (NORC_MSG_EVENT);
    event->event.instance_id = instance_id;
    event->event.status = status;
    const char *name = norc_status_name (status);
    event->event.status_name = norc_strdup (name ? name : "?");
    return event;
}

//  The replace policy: a schedule's new run stops its earlier ones (a
//  waiting one ends KILLED here, a running one is stopped by its executor).
static void
s_replace (aggregator_t *self, uint64_t schedule_id, uint64_t instance_id)
{
    norc_rows_t rows = { 0 };
    if (norc_store_schedule_active (self->db, schedule_id, instance_id, &rows) != NORC_OK) {
        norc_log_warnx ("schedule=%llu: cannot read its active runs to replace them: %s",
                        (unsigned long long) schedule_id, norc_db_errstr (self->db));
        return;
    }
    char *by = norc_asprintf ("the replace policy of schedule %llu (#%llu)", (unsigned long long) schedule_id,
                              (unsigned long long) instance_id);
    for (size_t i = 0; i < rows.count; i++) {
        uint64_t id = strtoull (norc_strmap_get (&rows.rows [i], "id"), NULL, 10);
        uint64_t executor = strtoull (norc_strmap_get (&rows.rows [i], "executor_id"), NULL, 10);
        bool done;
        if (!executor) {
            //  Waiting, or a job's run (on no executor: the dispatcher stops its nodes)
            char *reason = norc_asprintf ("killed on request by %s", by);
            done = norc_store_instance_cancel (self->db, id, reason) == NORC_OK;
            if (done) {
                norc_msg_t *event = agg_event (NULL, id, NORC_ST_KILLED);
                event->event.schedule_id = schedule_id;
                event->event.detail = reason;
                reason = NULL;
                agg_api_publish (self->stream, &event, "instance.ended");
            }
            free (reason);
        }
        else
            done = agg_live_deliver (self, executor, 0, NORC_REQ_KILL, by, id);
        norc_log_info ("instance=%llu: replaced by #%llu%s", (unsigned long long) id,
                       (unsigned long long) instance_id, done ? "" : " (its executor is not connected)");
    }
    free (by);
    norc_rows_clear (&rows);
}

//  A retry was created for instance `of`.
void
agg_publish_retry (aggregator_t *self, uint64_t id, uint64_t of)
{
    norc_msg_t *event = agg_event (NULL, id, NORC_ST_CREATED);
    event->event.detail = of ? norc_asprintf ("retry of #%llu", (unsigned long long) of)
                             : norc_strdup ("retry: its executor was lost");
    agg_api_publish (self->stream, &event, "instance.created");
}

//  The instance events of a batch name their schedule, nominal time,
//  attempt, task, queue and executor host: what a client of the stream
//  needs without asking the database. One query for the whole batch.
static void
s_describe (aggregator_t *self)
{
    uint64_t *ids = (uint64_t *) norc_calloc (self->publish_count + 1, sizeof (uint64_t));
    size_t n = 0;
    for (size_t i = 0; i < self->publish_count; i++) {
        norc_event_t *e = &self->publish [i]->event;
        if (e->instance_id && !e->task && strncmp (e->topic, "instance.", 9) == 0)
            ids [n++] = e->instance_id;
    }
    norc_rows_t rows = { 0 };
    if (n && norc_store_instance_describe (self->db, ids, n, &rows) != NORC_OK)
        norc_log_warnx ("db: cannot describe %zu instances for the stream: %s", n, norc_db_errstr (self->db));
    //  Each row by its id, then one pass over the events
    zhashx_t *by_id = zhashx_new ();
    for (size_t r = 0; r < rows.count; r++)
        zhashx_update (by_id, norc_strmap_get (&rows.rows [r], "id"), &rows.rows [r]);
    for (size_t i = 0; i < self->publish_count; i++) {
        norc_event_t *e = &self->publish [i]->event;
        char key [32];
        snprintf (key, sizeof key, "%llu", (unsigned long long) e->instance_id);
        norc_strmap_t *row = e->instance_id && !e->task && strncmp (e->topic, "instance.", 9) == 0
                           ? (norc_strmap_t *) zhashx_lookup (by_id, key) : NULL;
        if (!row)
            continue;
        e->task = norc_strdup (norc_strmap_get (row, "task"));
        e->queue = norc_strdup (norc_strmap_get (row, "queue"));
        const char *host = norc_strmap_get (row, "host");
        if (host && *host)
            e->host = norc_strdup (host);
        e->schedule_id = strtoull (norc_strmap_get (row, "schedule_id"), NULL, 10);
        const char *nominal = norc_strmap_get (row, "nominal");
        norc_us_t t;
        if (nominal && *nominal && norc_time_parse (nominal, &t) == NORC_OK)
            e->nominal_us = t;
        e->attempt = atoi (norc_strmap_get (row, "attempt"));
        if (!e->daemon_id)
            e->daemon_id = strtoull (norc_strmap_get (row, "executor_id"), NULL, 10);
    }
    zhashx_destroy (&by_id);
    norc_rows_clear (&rows);
    free (ids);
}

static void s_refuse (aggregator_t *self, zframe_t *routing_id, uint64_t seq, uint64_t instance_id,
                      const char *why);

//  Take an instance's start and end events off the publish list (its
//  change was refused: the stream must not report what is not recorded)
static void
s_unpublish (aggregator_t *self, uint64_t instance_id)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->publish_count; i++) {
        norc_event_t *e = &self->publish [i]->event;
        if (e->instance_id == instance_id
        &&  (strcmp (e->topic, "instance.started") == 0 || strcmp (e->topic, "instance.ended") == 0))
            norc_msg_destroy (&self->publish [i]);
        else
            self->publish [kept++] = self->publish [i];
    }
    self->publish_count = kept;
}

//  Commit the batch; on success acknowledge and publish everything queued.
void
agg_flush (aggregator_t *self)
{
    if (self->flush_timer >= 0) {
        //  Committed now: the window's timer has nothing left to do
        zloop_timer_end (self->loop, self->flush_timer);
        self->flush_timer = -1;
    }
    if (self->ack_count == 0 && self->batch_count == 0)
        return;
    int rc = NORC_OK;
    if (self->batch_count)
        rc = norc_store_instance_apply (self->db, self->batch, self->batch_count, self->retry_ids);
    if (rc != NORC_OK && rc != NORC_AGAIN) {
        //  Not the database's absence but something in the batch: each
        //  change alone, so one bad event is refused and the rest recorded
        rc = NORC_OK;
        for (size_t i = 0; i < self->batch_count && rc == NORC_OK; i++) {
            int one = norc_store_instance_apply (self->db, &self->batch [i], 1, &self->retry_ids [i]);
            if (one == NORC_AGAIN)
                rc = one;           //  gone meanwhile: nothing is acknowledged, all comes again
            else
            if (one != NORC_OK) {
                s_refuse (self, NULL, 0, self->batch [i].id, norc_db_errstr (self->db));
                s_unpublish (self, self->batch [i].id);
            }
        }
    }
    if (rc == NORC_OK) {
        //  One ACK per sender, listing its sequence numbers
        for (size_t i = 0; i < self->ack_count; i++) {
            if (!self->acks [i].routing_id)
                continue;       //  sent with an earlier one of its sender
            norc_msg_t *ack = norc_msg_new (NORC_MSG_ACK);
            ack->ack.seq = self->acks [i].seq;
            ack->routing_id = self->acks [i].routing_id;
            self->acks [i].routing_id = NULL;
            for (size_t j = i + 1; j < self->ack_count; j++)
                if (self->acks [j].routing_id && zframe_eq (self->acks [j].routing_id, ack->routing_id)) {
                    norc_u64list_append (&ack->ack.more, self->acks [j].seq);
                    zframe_destroy (&self->acks [j].routing_id);
                }
            norc_msg_send (&ack, self->events);
        }
        s_describe (self);
        for (size_t i = 0; i < self->publish_count; i++) {
            norc_msg_t *event = self->publish [i];
            char *topic = norc_strdup (event->event.topic);
            if (strcmp (topic, "instance.ended") == 0) {
                char labels [192], queue [128];
                snprintf (labels, sizeof labels, "queue=\"%s\",status=\"%s\"",
                          norc_metrics_escape (event->event.queue, queue, sizeof queue),
                          norc_status_name (event->event.status) ? norc_status_name (event->event.status) : "?");
                norc_metrics_add ("norc_instances_finished_total", labels, 1);
            }
            agg_api_publish (self->stream, &event, topic);
            free (topic);
            self->publish [i] = NULL;
        }
        self->publish_count = 0;
        //  New attempts: the dispatcher takes them from this notification
        for (size_t i = 0; i < self->batch_count; i++)
            if (self->retry_ids [i])
                agg_publish_retry (self, self->retry_ids [i], self->batch [i].id);
    }
    else
        norc_log_warnx ("db: cannot record %zu events, they will be resent: %s",
                        self->batch_count, norc_db_errstr (self->db));
    agg_live_clear_pending (self);
}

static void
s_publish_later (aggregator_t *self, norc_msg_t *event, const char *topic)
{
    event->event.topic = norc_strdup (topic);
    event->event.time_us = norc_now_us ();
    self->publish [self->publish_count++] = event;
}

//  A refused event: acknowledged (its sender must not resend it for
//  ever), not recorded, logged at most once a second with a count of the
//  others refused meanwhile.
static void
s_refuse (aggregator_t *self, zframe_t *routing_id, uint64_t seq, uint64_t instance_id, const char *why)
{
    if (routing_id)
        s_queue_ack (self, routing_id, seq);
    self->refused++;
    norc_us_t now = norc_mono_us ();
    if (now - self->refused_logged >= NORC_US_PER_SEC) {
        norc_log_warnx ("refused an event for instance %llu: %s (%llu refused since the last report)",
                        (unsigned long long) instance_id, why, (unsigned long long) self->refused);
        self->refused = 0;
        self->refused_logged = now;
    }
}

//  What the record can hold: a time between 1970 and 9999 (0: none)
static bool
s_valid_time (norc_us_t t)
{
    return t >= 0 && t < INT64_C (253402300799) * NORC_US_PER_SEC;
}

//  An instance's final status: a named code of 7 or more, but not the
//  daemons' ENDED nor the operators' HANDLED
//  The reason codes an executor reports; the others are the record's own
//  (heartbeat lost: the sweep's guess; cancelled, job: the store's)
static bool
s_valid_why (int why)
{
    return why == NORC_WHY_EXIT || why == NORC_WHY_SIGNAL || why == NORC_WHY_TIMEOUT
        || why == NORC_WHY_KILL_REQUEST || why == NORC_WHY_INTERRUPTED || why == NORC_WHY_EXECUTOR_DIED
        || why == NORC_WHY_SPAWN_FAILED;
}

static bool
s_valid_final (int status)
{
    return NORC_STATUS_IS_FINAL (status) && norc_status_name (status)
        && status != NORC_ST_ENDED && status != NORC_ST_HANDLED;
}

static void
s_on_event (aggregator_t *self, norc_msg_t *msg)
{
    norc_msg_t *event;
    norc_instance_t *change;
    switch (msg->id) {
        case NORC_MSG_INSTANCE_STARTED: {
            norc_instance_started_t *m = &msg->instance_started;
            if (!m->instance_id || !s_valid_time (m->started_us)) {
                s_refuse (self, msg->routing_id, m->seq, m->instance_id, "a start without an instance or with "
                          "a time out of range");
                break;
            }
            change = s_change (self, m->instance_id);
            if (change->status) {
                //  Already in this batch (its end, or the same start again)
                s_queue_ack (self, msg->routing_id, m->seq);
                break;
            }
            change->id = m->instance_id;
            change->executor_id = m->executor_id;
            change->status = NORC_ST_RUNNING;
            change->started = m->started_us;
            change->revision = m->revision && *m->revision ? norc_strdup (m->revision) : NULL;
            s_queue_ack (self, msg->routing_id, m->seq);
            event = agg_event (NULL, m->instance_id, NORC_ST_RUNNING);
            event->event.daemon_id = m->executor_id;
            s_publish_later (self, event, "instance.started");
            break;
        }
        case NORC_MSG_INSTANCE_ENDED: {
            norc_instance_ended_t *m = &msg->instance_ended;
            if (!m->instance_id || !s_valid_final (m->status) || !s_valid_time (m->started_us)
            ||  !s_valid_time (m->ended_us) || m->signal < 0 || m->signal > 128 || m->cpu_user_us < 0
            ||  m->cpu_sys_us < 0 || m->max_rss_kb < 0 || !s_valid_why (m->reason_code)) {
                char why [96];
                snprintf (why, sizeof why, "an end with status %d or a value out of range", m->status);
                s_refuse (self, msg->routing_id, m->seq, m->instance_id, why);
                break;
            }
            change = s_change (self, m->instance_id);
            norc_us_t started = change->started;
            char *revision = change->revision;      //  from its start, in the same batch
            change->revision = NULL;
            norc_instance_clear (change);
            change->revision = revision;
            change->id = m->instance_id;
            change->executor_id = m->executor_id;
            change->status = m->status;
            change->started = m->started_us ? m->started_us : started;
            change->ended = m->ended_us;
            change->has_exit = m->exit_code >= 0 && m->signal == 0;
            change->exit_code = m->exit_code;
            change->signal = m->signal;
            change->cpu_user_us = m->cpu_user_us;
            change->cpu_sys_us = m->cpu_sys_us;
            change->max_rss_kb = m->max_rss_kb;
            change->reason = m->reason ? norc_strdup (m->reason) : NULL;
            change->reason_code = m->reason_code;
            s_queue_ack (self, msg->routing_id, m->seq);
            event = agg_event (NULL, m->instance_id, m->status);
            event->event.daemon_id = m->executor_id;
            event->event.exit_code = m->exit_code;
            event->event.detail = m->reason ? norc_strdup (m->reason) : NULL;
            s_publish_later (self, event, "instance.ended");
            break;
        }
        case NORC_MSG_INSTANCE_CREATED: {
            //  The scheduler committed the row itself; this is for the stream
            norc_instance_created_t *m = &msg->instance_created;
            s_queue_ack (self, msg->routing_id, m->seq);
            event = agg_event (NULL, m->instance_id, NORC_ST_CREATED);
            event->event.schedule_id = m->schedule_id;
            event->event.task = m->task ? norc_strdup (m->task) : NULL;
            event->event.queue = m->queue ? norc_strdup (m->queue) : NULL;
            event->event.nominal_us = m->nominal_us;
            event->event.attempt = m->attempt;
            s_publish_later (self, event, "instance.created");
            if (m->replace)
                s_replace (self, m->schedule_id, m->instance_id);
            break;
        }
        case NORC_MSG_TICK_SKIPPED: {
            norc_tick_skipped_t *m = &msg->tick_skipped;
            s_queue_ack (self, msg->routing_id, m->seq);
            event = norc_msg_new (NORC_MSG_EVENT);
            event->event.schedule_id = m->schedule_id;
            event->event.nominal_us = m->nominal_us;
            event->event.last_us = m->last_us ? m->last_us : m->nominal_us;
            event->event.count = m->count > 1 ? m->count : 1;
            event->event.detail = norc_asprintf ("%s: %s", m->outcome ? m->outcome : "skipped",
                                                 m->reason ? m->reason : "");
            s_publish_later (self, event, "tick.skipped");
            break;
        }
        case NORC_MSG_DAEMON_STATUS: {
            norc_daemon_status_t *m = &msg->daemon_status;
            //  What the daemon reported before is recorded first: an
            //  executor's ENDED comes after the ends of its last runs
            agg_flush (self);
            int rc = norc_store_daemon_status (self->db, m->daemon_id, m->status, m->reason);
            //  A heartbeat read before this change must not write the old
            //  status back at the next heartbeat write
            char key [32];
            snprintf (key, sizeof key, "%llu", (unsigned long long) m->daemon_id);
            s_beat_t *beat = (s_beat_t *) zhashx_lookup (self->beats, key);
            if (!beat)
                beat = (s_beat_t *) zhashx_lookup (self->pending, key);
            if (beat && rc == NORC_OK && !NORC_STATUS_IS_FINAL (m->status))
                beat->status = m->status;
            if (rc == NORC_OK || rc == NORC_NOTFOUND) {
                s_queue_ack (self, msg->routing_id, m->seq);
                event = agg_event (NULL, 0, m->status);
                event->event.daemon_id = m->daemon_id;
                event->event.detail = m->reason ? norc_strdup (m->reason) : NULL;
                char topic [32];
                int kind = m->kind ? norc_enum_code (&norc_enum_daemon_kind, m->kind) : -1;
                s_publish_later (self, event, agg_status_topic (kind, topic, sizeof topic));
            }
            break;
        }
        case NORC_MSG_HEARTBEAT:
            if (agg_live_heartbeat (self, &msg->heartbeat))
                agg_live_route (self, msg->heartbeat.daemon_id, msg->routing_id);
            break;
        case NORC_MSG_REFUSAL: {
            //  A server without the audit (the archiver) refused a message
            //  for its sender; only the archiver's key may say so (norc_authz)
            norc_refusal_t *m = &msg->refusal;
            norc_audit_entry_t entry = {
                .principal = m->principal ? m->principal : "?", .key_fingerprint = m->fingerprint,
                .source = m->address, .verb = m->verb ? m->verb : "?", .target = m->server,
                .outcome = NORC_AUDIT_DENIED, .reason = m->reason
            };
            if (norc_store_audit_append (self->db, &entry, NULL, NULL) != NORC_OK)
                norc_log_warnx ("audit: cannot record a refusal at the %s: %s", m->server ? m->server : "?",
                                norc_db_errstr (self->db));
            break;
        }
        case NORC_MSG_CONTROL_REPLY: {
            norc_control_reply_t *m = &msg->control_reply;
            if (m->request_id)
                norc_store_control_mark (self->db, m->request_id,
                                         m->accepted ? NORC_CONTROL_DONE : NORC_CONTROL_REFUSED, m->reason);
            else
            if (!m->accepted)       //  an instance kill (not stored): its refusal is said here
                norc_log_info ("daemon=%llu refused a request for one instance: %s",
                               (unsigned long long) m->daemon_id, m->reason ? m->reason : "?");
            break;
        }
        default:
            norc_log_warnx ("unexpected %s on the events socket", norc_msg_name (msg));
    }
}

static int
s_on_flush (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    aggregator_t *self = (aggregator_t *) arg;
    self->flush_timer = -1;
    agg_flush (self);
    return 0;
}

int
agg_handle_events (zloop_t *loop, zsock_t *sock, void *arg)
{
    aggregator_t *self = (aggregator_t *) arg;
    //  Drain what is waiting, then commit it all at once
    while (self->batch_count < BATCH_MAX && self->ack_count < BATCH_MAX
       && (zsock_events (sock) & ZMQ_POLLIN)) {
        norc_msg_t *msg = norc_msg_recv (sock);
        if (!msg || !norc_authz_check (msg, NULL)) {
            norc_msg_destroy (&msg);
            continue;
        }
        if (msg->id != NORC_MSG_HEARTBEAT)
            agg_live_heard (self, msg->routing_id);
        s_on_event (self, msg);
        norc_msg_destroy (&msg);
    }
    //  A young, small batch waits for more (one commit for the events of a
    //  few milliseconds); a full one, or with no window, is committed now
    if (self->batch_ms > 0 && (self->batch_count || self->ack_count)
    &&  self->batch_count < BATCH_MAX / 2 && self->ack_count < BATCH_MAX / 2) {
        if (self->flush_timer < 0)
            self->flush_timer = zloop_timer (loop, (size_t) self->batch_ms, 1, s_on_flush, self);
        return 0;
    }
    agg_flush (self);
    return 0;
}

static int
s_handle_api (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    aggregator_t *self = (aggregator_t *) arg;
    norc_msg_rejected_t rejected;
    norc_msg_t *msg = norc_msg_recv_checked (sock, &rejected);
    if (!msg && rejected.routing_id) {
        //  Every request gets an answer: one that cannot be read is refused
        //  with the reason and the limits
        norc_msg_t *reply = norc_msg_new (NORC_MSG_API_REPLY);
        reply->api_reply.request_id = rejected.request_id;
        reply->api_reply.code = NORC_ERROR;
        reply->api_reply.error = norc_asprintf ("request refused (%zu bytes): %s; a request holds at most %d "
                                                "arguments of at most %d bytes each, %d MiB in all",
                                                rejected.size, rejected.why, NORC_API_ARGS_MAX,
                                                NORC_API_VALUE_MAX, NORC_MSG_MAX / (1024 * 1024));
        norc_msg_set_routing_id (reply, rejected.routing_id);
        zframe_destroy (&rejected.routing_id);
        norc_msg_send (&reply, sock);
        return 0;
    }
    norc_zap_who_t who;
    if (!msg || !norc_authz_check (msg, &who)) {
        norc_msg_destroy (&msg);
        return 0;
    }
    if (msg->id != NORC_MSG_API_REQUEST) {
        norc_log_warnx ("unexpected %s on the api socket", norc_msg_name (msg));
        norc_msg_destroy (&msg);
        return 0;
    }
    norc_msg_t *reply = norc_msg_new (NORC_MSG_API_REPLY);
    //  Who sent it, for the audit (libzmq's metadata of the frame)
    self->api_ctx.peer = msg->routing_id ? zframe_meta (msg->routing_id, "Peer-Address") : NULL;
    self->api_ctx.user_id = msg->user_id;
    //  Under CURVE "who asked" (control requests, kills, handling) is the
    //  principal, whatever the request says
    if (norc_zap_curve ())
        norc_strmap_set (&msg->api_request.args, "by", who.name);
    self->api_ctx.wait_ms = 0;
    agg_api_handle (&self->api_ctx, &msg->api_request, &reply->api_reply);
    self->api_ctx.peer = NULL;
    self->api_ctx.user_id = NULL;
    if (reply->api_reply.code)
        norc_log_debug ("api %s: %s", msg->api_request.op, reply->api_reply.error);
    norc_msg_set_routing_id (reply, msg->routing_id);
    if (self->api_ctx.wait_ms && reply->api_reply.code == NORC_OK && reply->api_reply.rows.count)
        agg_wait_add (self, &reply, self->api_ctx.wait_status, self->api_ctx.wait_ms);
    else
        norc_msg_send (&reply, sock);
    norc_msg_destroy (&msg);
    return 0;
}

//  --------------------------------------------------------------------------
//  Start and stop

//  A key that was admitted is admitted no more (revoked, rejected,
//  expired): a subscriber sends the stream nothing to check, so the stream
//  is bound again, which closes every connection it accepted; the
//  subscribers reconnect at once and shake hands again, and a withdrawn key
//  is refused then (within a second of the change: the registry is read
//  every half second, this looks every quarter). Subscribers miss what is
//  published in that moment, as after any reconnect (docs/events.md).
static int
s_on_withdrawals (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    aggregator_t *self = (aggregator_t *) arg;
    uint64_t withdrawals = norc_zap_withdrawals ();
    if (withdrawals == self->withdrawals || !self->stream_endpoint)
        return 0;
    self->withdrawals = withdrawals;
    if (zsock_unbind (self->stream, "%s", self->stream_endpoint) != 0
    ||  zsock_bind (self->stream, "%s", self->stream_endpoint) < 0)
        norc_log_warn ("stream: cannot bind %s again after a key was withdrawn", self->stream_endpoint);
    else
        norc_log_info ("stream: a key was withdrawn: bound %s again (its subscribers shake hands anew)",
                       self->stream_endpoint);
    return 0;
}

//  The queues' depth and the age of their oldest waiting instance, and the
//  daemons alive (heard from within the failure threshold), for /metrics:
//  every five heartbeat periods, and only while metrics are served (one
//  query)
static int
s_on_metrics (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    aggregator_t *self = (aggregator_t *) arg;
    norc_rows_t rows = { 0 };
    norc_us_t alive_after = norc_now_us () - self->failure_ms * 1000;
    if (self->db && !norc_db_down_ms (self->db) && norc_store_queue_list (self->db, alive_after, &rows) == NORC_OK)
        for (size_t i = 0; i < rows.count; i++) {
            const char *kind = norc_strmap_get (&rows.rows [i], "kind");
            if (kind && strcmp (kind, "group") == 0)
                continue;
            char labels [160], queue [128];
            snprintf (labels, sizeof labels, "queue=\"%s\"",
                      norc_metrics_escape (norc_strmap_get (&rows.rows [i], "name"), queue, sizeof queue));
            const char *waiting = norc_strmap_get (&rows.rows [i], "waiting");
            const char *oldest = norc_strmap_get (&rows.rows [i], "oldest_us");
            norc_metrics_set ("norc_queue_depth", labels, waiting ? strtod (waiting, NULL) : 0);
            norc_metrics_set ("norc_queue_oldest_age_seconds", labels, oldest ? strtod (oldest, NULL) / 1e6 : 0);
        }
    norc_rows_clear (&rows);
    //  By kind (NORC_DAEMON_*, 1 to 4); bridges and archivers once there are some
    int up [5] = { 0 };
    for (s_beat_t *beat = (s_beat_t *) zhashx_first (self->beats); beat;
         beat = (s_beat_t *) zhashx_next (self->beats))
        if (beat->at >= alive_after && beat->kind >= 1 && beat->kind <= 4)
            up [beat->kind]++;
    norc_metrics_set ("norc_daemons_up", "kind=\"scheduler\"", up [NORC_DAEMON_SCHEDULER]);
    norc_metrics_set ("norc_daemons_up", "kind=\"executor\"", up [NORC_DAEMON_EXECUTOR]);
    if (up [NORC_DAEMON_BRIDGE])
        norc_metrics_set ("norc_daemons_up", "kind=\"bridge\"", up [NORC_DAEMON_BRIDGE]);
    if (up [NORC_DAEMON_ARCHIVER])
        norc_metrics_set ("norc_daemons_up", "kind=\"archiver\"", up [NORC_DAEMON_ARCHIVER]);
    return 0;
}

//  SIGTERM/SIGINT: the batch in hand is committed on the way out
static int
s_on_signal (void *arg, int count)
{
    NORC_UNUSED (arg);
    NORC_UNUSED (count);
    return -1;
}

int
aggregator_start (aggregator_t *self)
{
    const char *url = norc_config_str (self->config, "db.url");
    char err [512] = "";
    //  The database may still be starting (compose): wait for it a while
    int rc = NORC_AGAIN;
    for (int attempt = 0; attempt < 60 && rc == NORC_AGAIN && !norc_service_signalled (); attempt++) {
        rc = norc_migrate_url (url, err, sizeof err);
        if (rc == NORC_AGAIN || (rc == NORC_ERROR && strstr (err, "cannot connect"))) {
            rc = NORC_AGAIN;
            norc_log_warnx ("db: %s; retrying", err);
            zclock_sleep (1000);
        }
    }
    if (rc) {
        norc_log_error ("db: %s", err);
        return NORC_ERROR;
    }
    self->db = norc_db_new_from_config (self->config);
    //  While MariaDB is out of reach every transaction fails at once (the
    //  senders resend their events) so that the loop keeps answering
    if (self->db)
        norc_db_set_fail_fast (self->db, true);
    char *events = norc_config_bind_endpoint (self->config, "aggregator.events");
    char *api = norc_config_bind_endpoint (self->config, "aggregator.api");
    char *stream = norc_config_bind_endpoint (self->config, "aggregator.stream");
    self->events = norc_zmq_bind (ZMQ_ROUTER, events);
    self->api = norc_zmq_bind (ZMQ_ROUTER, api);
    self->stream = norc_zmq_bind (ZMQ_PUB, stream);
    bool ok = self->events && self->api && self->stream;
    if (ok)
        norc_log_info ("listening: events %s, api %s, stream %s", events, api, stream);
    free (events);
    free (api);
    free (stream);
    if (!ok)
        return NORC_ERROR;
    self->api_ctx.db = self->db;
    self->api_ctx.stream = self->stream;
    self->api_ctx.alive_ms = self->failure_ms;
    self->api_ctx.deliver = agg_live_deliver;
    self->api_ctx.daemons = agg_live_daemons_heard;
    self->api_ctx.owner = self;
    //  A message refused for its sender (an API request is recorded with
    //  its operation by agg_api_handle) joins the audit
    norc_store_audit_refusals (self->db, "aggregator");
    self->observing_since = self->last_sweep = norc_mono_us ();
    norc_metrics_family ("norc_instances_finished_total", NORC_METRIC_COUNTER,
                         "Instances that reached a final status, as recorded, by queue and status.", NULL, 0);
    norc_metrics_family ("norc_queue_depth", NORC_METRIC_GAUGE,
                         "Instances waiting in a queue (not started yet), every five heartbeat periods.", NULL, 0);
    norc_metrics_family ("norc_queue_oldest_age_seconds", NORC_METRIC_GAUGE,
                         "How long the oldest instance waiting in a queue has waited (0: none), every five heartbeat periods.", NULL, 0);
    norc_metrics_family ("norc_daemons_up", NORC_METRIC_GAUGE,
                         "Schedulers and executors heard from within the failure threshold.", NULL, 0);
    self->loop = zloop_new ();
    if (norc_zap_curve ()) {
        self->stream_endpoint = zsock_last_endpoint (self->stream);
        self->withdrawals = norc_zap_withdrawals ();
        zloop_timer (self->loop, 250, 0, s_on_withdrawals, self);
    }
    zloop_reader (self->loop, self->events, agg_handle_events, self);
    zloop_reader (self->loop, self->api, s_handle_api, self);
    zloop_timer (self->loop, 100, 0, agg_wait_on_timer, self);
    zloop_timer (self->loop, (size_t) self->period_ms, 0, agg_live_on_heartbeat_write, self);
    zloop_timer (self->loop, (size_t) self->period_ms, 0, agg_live_on_sweep, self);
    if (norc_metrics_serving ()) {
        s_on_metrics (self->loop, 0, self);
        zloop_timer (self->loop, (size_t) (5 * self->period_ms), 0, s_on_metrics, self);
    }
    norc_service_on_signal (self->loop, s_on_signal, self);
    norc_service_upkeep (self->loop, self->config);
    return NORC_OK;
}

void
aggregator_run (aggregator_t *self)
{
    zloop_start (self->loop);
    agg_flush (self);
    agg_live_on_heartbeat_write (self->loop, 0, self);
    norc_log_info ("stopped");
}
