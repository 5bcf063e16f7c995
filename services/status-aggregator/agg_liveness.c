//  agg_liveness.c - who is alive: each daemon's heartbeats (batched, and
//  checked against the record for strangers), its route (the connection it
//  talks on, where control requests go), and the sweep that records the
//  daemons silent past the threshold dead and deals with what they held.
//  See agg_internal.h.
#include "agg_internal.h"

void
agg_live_clear_pending (aggregator_t *self)
{
    for (size_t i = 0; i < self->batch_count; i++)
        norc_instance_clear (&self->batch [i]);
    self->batch_count = 0;
    zhashx_purge (self->in_batch);
    for (size_t i = 0; i < self->ack_count; i++)
        zframe_destroy (&self->acks [i].routing_id);
    self->ack_count = 0;
    for (size_t i = 0; i < self->publish_count; i++)
        norc_msg_destroy (&self->publish [i]);
    self->publish_count = 0;
}

//  Send a control request to a connected daemon (agg_api_deliver_fn).
bool
agg_live_deliver (void *owner, uint64_t daemon_id, uint64_t request_id, int request, const char *by,
           uint64_t instance_id)
{
    aggregator_t *self = (aggregator_t *) owner;
    char key [32];
    snprintf (key, sizeof key, "%llu", (unsigned long long) daemon_id);
    zframe_t *route = (zframe_t *) zhashx_lookup (self->routes, key);
    if (!route)
        return false;
    norc_msg_t *msg = norc_msg_new (NORC_MSG_CONTROL);
    msg->control.request_id = request_id;
    msg->control.daemon_id = daemon_id;
    msg->control.request = request;
    msg->control.requested_by = norc_strdup (by ? by : "");
    msg->control.instance_id = instance_id;
    norc_msg_set_routing_id (msg, route);
    return norc_msg_send (&msg, self->events) == NORC_OK;
}

//  A daemon (re)connected: hand it what was asked while it was away.
static void
s_deliver_pending (aggregator_t *self, uint64_t daemon_id)
{
    norc_rows_t rows = { 0 };
    if (norc_store_control_pending (self->db, daemon_id, &rows) == NORC_OK)
        for (size_t i = 0; i < rows.count; i++) {
            uint64_t id = strtoull (norc_strmap_get (&rows.rows [i], "id"), NULL, 10);
            int request = atoi (norc_strmap_get (&rows.rows [i], "request"));
            if (agg_live_deliver (self, daemon_id, id, request, norc_strmap_get (&rows.rows [i], "requested_by"), 0))
                norc_store_control_mark (self->db, id, NORC_CONTROL_DELIVERED, NULL);
        }
    norc_rows_clear (&rows);
}

//  A routing id as a hash key (a ROUTER's own ids are 5 bytes; a peer's
//  chosen one at most 255), without an allocation per message
#define S_ROUTE_HEX 512
static const char *
s_route_hex (zframe_t *routing_id, char *hex)
{
    static const char digits [] = "0123456789abcdef";
    size_t size = zframe_size (routing_id);
    const byte *data = zframe_data (routing_id);
    size = size > S_ROUTE_HEX / 2 - 1 ? S_ROUTE_HEX / 2 - 1 : size;
    for (size_t i = 0; i < size; i++) {
        hex [2 * i] = digits [data [i] >> 4];
        hex [2 * i + 1] = digits [data [i] & 15];
    }
    hex [2 * size] = 0;
    return hex;
}

void
agg_live_route (aggregator_t *self, uint64_t daemon_id, zframe_t *routing_id)
{
    if (!daemon_id || !routing_id)
        return;
    char key [32];
    snprintf (key, sizeof key, "%llu", (unsigned long long) daemon_id);
    zframe_t *known = (zframe_t *) zhashx_lookup (self->routes, key);
    if (known && zframe_eq (known, routing_id))
        return;
    char hex [S_ROUTE_HEX];
    if (known)
        zhashx_delete (self->speakers, s_route_hex (known, hex));
    zhashx_update (self->speakers, s_route_hex (routing_id, hex), key);
    zhashx_update (self->routes, key, zframe_dup (routing_id));
    s_deliver_pending (self, daemon_id);
}

void
agg_live_heard (aggregator_t *self, zframe_t *routing_id)
{
    char hex [S_ROUTE_HEX];
    const char *key = routing_id ? (const char *) zhashx_lookup (self->speakers, s_route_hex (routing_id, hex))
                                 : NULL;
    s_beat_t *beat = key ? (s_beat_t *) zhashx_lookup (self->beats, key) : NULL;
    if (beat) {
        beat->at = norc_now_us ();
        beat->dirty = true;
    }
}

//  A heartbeat. Only daemons the record knows are kept and routed: one
//  not seen before waits (at most PENDING_MAX of them) for one batched
//  look-up at the next heartbeat write; one the record does not have is a
//  stranger, and its heartbeats are dropped at once (a flood of them
//  costs a hash look-up each). True when the daemon is known.
bool
agg_live_heartbeat (aggregator_t *self, norc_heartbeat_t *hb)
{
    char key [32];
    snprintf (key, sizeof key, "%llu", (unsigned long long) hb->daemon_id);
    s_beat_t *beat = (s_beat_t *) zhashx_lookup (self->beats, key);
    if (!beat) {
        if (!hb->daemon_id || zhashx_lookup (self->strangers, key))
            return false;
        beat = (s_beat_t *) zhashx_lookup (self->pending, key);
        if (!beat && zhashx_size (self->pending) >= PENDING_MAX)
            return false;       //  a real daemon beats again within a period
        if (!beat) {
            beat = (s_beat_t *) norc_calloc (1, sizeof (s_beat_t));
            beat->daemon_id = hb->daemon_id;
            zhashx_insert (self->pending, key, beat);
        }
    }
    beat->status = hb->status ? hb->status : NORC_ST_RUNNING;
    beat->at = norc_now_us ();
    beat->dirty = true;
    int kind = hb->kind ? norc_enum_code (&norc_enum_daemon_kind, hb->kind) : -1;
    beat->kind = kind > 0 ? kind : NORC_DAEMON_EXECUTOR;
    snprintf (beat->host, sizeof beat->host, "%s", hb->host ? hb->host : "");
    beat->pid = hb->pid;
    beat->running = hb->running;
    return zhashx_lookup (self->beats, key) != NULL;
}

//  The daemons heard from for the first time: known to the record, they
//  join the others; unknown, they are strangers for a while
static void
s_check_pending (aggregator_t *self)
{
    size_t n = zhashx_size (self->pending);
    if (n == 0)
        return;
    if (zhashx_size (self->strangers) > STRANGERS_MAX)
        zhashx_purge (self->strangers);         //  forget old ones rather than grow
    uint64_t *ids = (uint64_t *) norc_calloc (n, sizeof (uint64_t));
    bool *known = (bool *) norc_calloc (n, sizeof (bool));
    size_t k = 0;
    for (s_beat_t *b = (s_beat_t *) zhashx_first (self->pending); b; b = (s_beat_t *) zhashx_next (self->pending))
        ids [k++] = b->daemon_id;
    if (norc_store_daemons_exist (self->db, ids, k, known) == NORC_OK)
        for (size_t i = 0; i < k; i++) {
            char key [32];
            snprintf (key, sizeof key, "%llu", (unsigned long long) ids [i]);
            s_beat_t *b = (s_beat_t *) zhashx_lookup (self->pending, key);
            if (known [i] && b) {
                s_beat_t *copy = (s_beat_t *) norc_malloc (sizeof (s_beat_t));
                *copy = *b;
                zhashx_insert (self->beats, key, copy);
            }
            else
                zhashx_insert (self->strangers, key, (void *) 1);
            zhashx_delete (self->pending, key);
        }
    free (known);
    free (ids);
}

//  The daemons heard from lately, from memory (agg_api_daemons_fn): what
//  the API answers while the database is out of reach.
void
agg_live_daemons_heard (void *owner, int kind, norc_rows_t *rows)
{
    aggregator_t *self = (aggregator_t *) owner;
    norc_us_t alive_after = norc_now_us () - self->failure_ms * 1000;
    for (s_beat_t *beat = (s_beat_t *) zhashx_first (self->beats); beat;
         beat = (s_beat_t *) zhashx_next (self->beats)) {
        if (beat->kind != kind || beat->at < alive_after)
            continue;
        norc_strmap_t *row = norc_rows_add (rows);
        char text [64];
        snprintf (text, sizeof text, "%llu", (unsigned long long) beat->daemon_id);
        norc_strmap_set (row, "id", text);
        norc_strmap_set (row, "host", beat->host);
        snprintf (text, sizeof text, "%lld", (long long) beat->pid);
        norc_strmap_set (row, "pid", text);
        snprintf (text, sizeof text, "%d", beat->running);
        norc_strmap_set (row, "running", text);
        snprintf (text, sizeof text, "%d", beat->status);
        norc_strmap_set (row, "status", text);
        norc_strmap_set (row, "heartbeat", norc_time_iso (beat->at, text, sizeof text));
    }
}

//  The stream topic of a daemon's status: "<kind>.status" (an unknown
//  kind is an executor's, as a heartbeat without one is)
const char *
agg_status_topic (int kind, char *buf, size_t size)
{
    const char *name = kind > 0 ? norc_enum_name (&norc_enum_daemon_kind, kind) : NULL;
    snprintf (buf, size, "%s.status", name ? name : "executor");
    return buf;
}

//  --------------------------------------------------------------------------
//  Timers: the heartbeat write and the sweep

int
agg_live_on_heartbeat_write (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    aggregator_t *self = (aggregator_t *) arg;
    s_check_pending (self);
    for (s_beat_t *beat = (s_beat_t *) zhashx_first (self->beats); beat;
         beat = (s_beat_t *) zhashx_next (self->beats)) {
        if (!beat->dirty)
            continue;
        int rc = norc_store_daemon_heartbeat (self->db, beat->daemon_id, beat->status, beat->running, beat->at);
        if (rc == NORC_CONFLICT) {
            //  Recorded dead, and yet it talks (it was frozen past the
            //  threshold): it must register again before it gets any work
            norc_log_warnx ("daemon %llu is recorded dead but still sends heartbeats: asking it to register "
                            "again", (unsigned long long) beat->daemon_id);
            agg_live_deliver (self, beat->daemon_id, 0, NORC_REQ_REREGISTER, "the status-aggregator", 0);
        }
        if (rc == NORC_OK || rc == NORC_CONFLICT || rc == NORC_NOTFOUND)
            beat->dirty = false;
        else
            self->observing_since = norc_mono_us ();    //  the record is behind: judge nobody yet
    }
    return 0;
}

//  What daemons recorded dead still hold by the record (a frozen executor
//  that woke up and reported a start late): nothing is left non-final
static void
s_orphans (aggregator_t *self, norc_us_t dead_before)
{
    uint64_t *ended = NULL, *requeued = NULL;
    size_t nended = 0, nrequeued = 0;
    const char *reason = "executor lost: no heartbeat (it started the task after it was recorded dead)";
    if (norc_store_daemon_orphans (self->db, dead_before, reason, &ended, &nended, &requeued, &nrequeued) == NORC_OK) {
        for (size_t i = 0; i < nended; i++) {
            norc_msg_t *event = agg_event (NULL, ended [i], NORC_ST_ERROR);
            event->event.time_us = norc_now_us ();
            event->event.detail = norc_strdup (reason);
            agg_api_publish (self->stream, &event, "instance.ended");
        }
        for (size_t i = 0; i < nrequeued; i++) {
            norc_msg_t *event = agg_event (NULL, requeued [i], NORC_ST_CREATED);
            event->event.time_us = norc_now_us ();
            event->event.detail = norc_strdup ("its executor is recorded dead");
            agg_api_publish (self->stream, &event, "instance.requeued");
        }
        if (nended || nrequeued)
            norc_log_warnx ("instances held by daemons recorded dead: %zu ended ERROR, %zu waiting again",
                            nended, nrequeued);
    }
    free (ended);
    free (requeued);
}

int
agg_live_on_sweep (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    aggregator_t *self = (aggregator_t *) arg;
    //  Judge a daemon silent only after watching for a whole threshold
    //  without a gap: after a restart, after the loop stalled (the database
    //  was away), or while heartbeats cannot be stored, everyone gets one
    //  full threshold to be heard again
    norc_us_t now = norc_mono_us ();
    int64_t stall_ms = 3 * self->period_ms > self->failure_ms / 2 ? 3 * self->period_ms : self->failure_ms / 2;
    if (now - self->last_sweep > stall_ms * 1000)
        self->observing_since = now;
    self->last_sweep = now;
    //  Take the heartbeats already waiting first (timers run before
    //  readers in a loop turn): after a slow moment they are in the socket
    for (int i = 0; i < 10 && (zsock_events (self->events) & ZMQ_POLLIN); i++)
        agg_handle_events (loop, self->events, self);
    agg_flush (self);             //  the ends already received are recorded before any judgement
    agg_live_on_heartbeat_write (loop, 0, self);
    //  Those writes wait for the database when it is away: if they held
    //  the loop up, the heartbeats that came meanwhile are not read yet,
    //  and the record is behind; judge nobody before a full threshold
    if (norc_mono_us () - now > stall_ms * 1000) {
        self->observing_since = self->last_sweep = norc_mono_us ();
        return 0;
    }
    if (norc_mono_us () - self->observing_since < self->failure_ms * 1000)
        return 0;
    norc_dead_t *dead = NULL;
    size_t count = 0;
    norc_us_t silent_before = norc_now_us () - self->failure_ms * 1000;
    const char *reason = "executor lost: no heartbeat";
    if (norc_store_daemon_mark_dead (self->db, silent_before, reason, &dead, &count) != NORC_OK)
        return 0;
    bool released = false;
    for (size_t i = 0; i < count; i++) {
        norc_dead_t *d = &dead [i];
        bool is_executor = d->kind != NORC_DAEMON_SCHEDULER;
        const char *kind = norc_enum_name (&norc_enum_daemon_kind, d->kind);
        kind = kind ? kind : "executor";
        norc_log_warnx ("%s=%llu: no heartbeat for %lld ms: marked dead; %zu instances ended as ERROR, "
                        "%zu waiting again, %d schedules released", kind,
                        (unsigned long long) d->id, (long long) self->failure_ms, d->ended_count,
                        d->requeued_count, d->leases_released);
        norc_msg_t *event = agg_event (NULL, 0, NORC_ST_ERROR);
        event->event.daemon_id = d->id;
        event->event.time_us = norc_now_us ();
        event->event.detail = d->kind == NORC_DAEMON_ARCHIVER ? norc_strdup ("no heartbeat")
            : is_executor ? norc_asprintf ("no heartbeat; %zu instances ended as ERROR, %zu waiting again",
                             d->ended_count, d->requeued_count)
            : norc_asprintf ("no heartbeat; %d schedules released", d->leases_released);
        char topic [32];
        agg_api_publish (self->stream, &event, agg_status_topic (d->kind, topic, sizeof topic));
        for (size_t j = 0; j < d->ended_count; j++) {
            event = agg_event (NULL, d->ended [j], NORC_ST_ERROR);
            event->event.daemon_id = d->id;
            event->event.time_us = norc_now_us ();
            event->event.detail = norc_strdup (reason);
            agg_api_publish (self->stream, &event, "instance.ended");
        }
        for (size_t j = 0; j < d->retried_count; j++)
            agg_publish_retry (self, d->retried [j], 0);
        //  The dispatcher takes these again at once
        for (size_t j = 0; j < d->requeued_count; j++) {
            event = agg_event (NULL, d->requeued [j], NORC_ST_CREATED);
            event->event.time_us = norc_now_us ();
            event->event.detail = norc_strdup ("its executor was lost before starting it");
            agg_api_publish (self->stream, &event, "instance.requeued");
        }
        released = released || d->leases_released > 0 || d->shards_released > 0;
        char key [32];
        snprintf (key, sizeof key, "%llu", (unsigned long long) d->id);
        zhashx_delete (self->beats, key);
    }
    //  The surviving schedulers claim the released schedules now
    if (released)
        agg_api_notify_schedule (self->stream, 0, "release");
    norc_dead_list_free (&dead, count);
    s_orphans (self, silent_before);
    return 0;
}
