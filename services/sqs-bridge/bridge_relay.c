//  bridge_relay.c - a disconnected site's executors reach nothing of the
//  control plane: their bridge is their aggregator. They connect their
//  aggregator.api to bridge.api and their aggregator.events to
//  bridge.events, as they would to the aggregator's, and the bridge
//  carries home through the return queue what they say:
//  - a registration (daemon.register, the only operation answered here)
//    goes home as a "register" return message; home registers the
//    executor in the record and answers on the reply queue with its id;
//  - an event (INSTANCE-STARTED, INSTANCE-ENDED, DAEMON-STATUS, and the
//    answer to a control request home forwarded) goes home as it was
//    sent, in an "event" return message (an instance's in its FIFO group,
//    after its claim), and is acknowledged to the executor once SQS took
//    it: from then on home relays it to the aggregator and deletes it only
//    once the aggregator acknowledged it;
//  - heartbeats are not carried one by one: the site's beat (every
//    bridge.beat_s, and at once when an executor appears) carries each
//    executor's last one, and home replays them every heartbeat period
//    while the site's beats keep coming (bridge.site_failure_s); a control
//    request home forwards comes to the executor it names;
//  - output (their archiver.logs is bridge.logs): each LOG-CHUNK goes home
//    as it was sent, in a "log" return message in the instance's group
//    (so in order), and is acknowledged to the executor, as the archiver
//    would, once SQS holds it and every byte before it: the executor then
//    forgets what SQS holds, and home deletes the message only once the
//    archiver wrote it.
//  A start also lets the tick's message go, as the stream would in
//  connected mode.
#include "bridge_internal.h"
#include "norc_tick.h"
#include "norc_zmq.h"
#include "norc_mem.h"
#include "norc_log.h"
#include "norc_buf.h"
#include "norc_authz.h"
#include <sodium.h>
#include <unistd.h>

static void
s_ask_free (void **item)
{
    bridge_ask_t *ask = (bridge_ask_t *) *item;
    if (!ask)
        return;
    zframe_destroy (&ask->routing_id);
    free (ask);
    *item = NULL;
}

static void
s_beat_free (void **item)
{
    bridge_beat_t *beat = (bridge_beat_t *) *item;
    if (!beat)
        return;
    norc_msg_destroy (&beat->heartbeat);
    free (beat);
    *item = NULL;
}

static void
s_box_free (void **item)
{
    free (*item);
    *item = NULL;
}

static bridge_ask_t *
s_ask_new (zframe_t *routing_id, uint64_t number)
{
    bridge_ask_t *ask = (bridge_ask_t *) norc_calloc (1, sizeof (bridge_ask_t));
    ask->routing_id = zframe_dup (routing_id);
    ask->number = number;
    return ask;
}

//  A registration: asked home, at most one at a time per executor (its
//  retries while home's answer travels replace the number it waits for)
static void
s_on_request (bridge_t *self, norc_msg_t *msg)
{
    norc_api_request_t *req = &msg->api_request;
    if (!req->op || strcmp (req->op, "daemon.register")) {
        norc_msg_t *reply = norc_msg_new (NORC_MSG_API_REPLY);
        reply->api_reply.request_id = req->request_id;
        reply->api_reply.code = NORC_ERROR;
        reply->api_reply.error = norc_strdup ("a disconnected site's bridge answers daemon.register only");
        norc_msg_set_routing_id (reply, msg->routing_id);
        norc_msg_send (&reply, self->site_api);
        return;
    }
    for (bridge_ask_t *ask = (bridge_ask_t *) zhashx_first (self->relay_asks); ask;
         ask = (bridge_ask_t *) zhashx_next (self->relay_asks))
        if (zframe_eq (ask->routing_id, msg->routing_id)) {
            ask->number = req->request_id;
            return;
        }
    uint64_t number = ++self->next_tag;
    char key [32];
    zhashx_insert (self->relay_asks, bridge_key (number, key, sizeof key), s_ask_new (msg->routing_id, req->request_id));
    norc_msg_t *ret = norc_msg_new (NORC_MSG_SQS_RETURN);
    norc_sqs_return_t *r = &ret->sqs_return;
    r->kind = norc_strdup ("register");
    r->request_id = number;
    r->reply_url = norc_strdup (self->reply_url);
    for (size_t i = 0; i < req->args.count; i++)
        norc_strmap_set (&r->args, req->args.keys [i], req->args.values [i]);
    char group [128], dedup [65];
    snprintf (group, sizeof group, "%s.register.%llu", self->site, (unsigned long long) number);
    bridge_site_dedup (self->site, "register", 0, 0, number, dedup);
    bridge_site_return (self, &ret, group, dedup, CALL_RETURN, norc_strdup ("register"));
    bridge_site_poll (self);
}

void
bridge_relay_registered (bridge_t *self, const norc_sqs_reply_t *r)
{
    char key [32];
    bridge_ask_t *ask = (bridge_ask_t *) zhashx_lookup (self->relay_asks, bridge_key (r->request_id, key, sizeof key));
    if (!ask)
        return;
    norc_msg_t *reply = norc_msg_new (NORC_MSG_API_REPLY);
    reply->api_reply.request_id = ask->number;
    const char *id = norc_strmap_get (&r->definition, "id");
    if (id) {
        norc_strmap_t *row = norc_rows_add (&reply->api_reply.rows);
        norc_strmap_set (row, "id", id);
    }
    else {
        reply->api_reply.code = NORC_ERROR;
        reply->api_reply.error = norc_strdup (r->reason && *r->reason ? r->reason : "home could not register it");
    }
    norc_msg_set_routing_id (reply, ask->routing_id);
    norc_msg_send (&reply, self->site_api);
    zhashx_delete (self->relay_asks, key);
}

static int
s_handle_api (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    bridge_t *self = (bridge_t *) arg;
    for (int i = 0; i < 256 && zsock_events (sock) & ZMQ_POLLIN; i++) {
        norc_msg_t *msg = norc_msg_recv (sock);
        if (msg && msg->id == NORC_MSG_API_REQUEST)
            s_on_request (self, msg);
        norc_msg_destroy (&msg);
    }
    return 0;
}

//  An event or a chunk of output, home as the executor sent it
static void
s_relay (bridge_t *self, norc_msg_t *msg, uint64_t seq, uint64_t instance_id)
{
    bool log = msg->id == NORC_MSG_LOG_CHUNK;
    norc_buf_t *buf = norc_buf_new (NORC_SITE_BODY_MAX);
    if (norc_msg_encode (msg, buf) != NORC_OK) {
        norc_buf_destroy (&buf);
        return;
    }
    //  Deduplicated by its bytes: a copy the executor sends again (its ACK
    //  was lost) is the same event, and changes nothing if it passes
    uint8_t hash [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (hash, norc_buf_data (buf), norc_buf_size (buf));
    char dedup [65], group [128], key [32];
    sodium_bin2hex (dedup, sizeof dedup, hash, sizeof hash);
    //  (an instance's in its group, after its claim; a daemon's status in
    //  the daemon's; an answer to a control request in one of its own)
    if (instance_id)
        snprintf (group, sizeof group, "%llu", (unsigned long long) instance_id);
    else
    if (msg->id == NORC_MSG_DAEMON_STATUS)
        snprintf (group, sizeof group, "%s.daemon.%llu", self->site, (unsigned long long) msg->daemon_status.daemon_id);
    else
        snprintf (group, sizeof group, "%.64s", dedup);
    norc_msg_t *ret = norc_msg_new (NORC_MSG_SQS_RETURN);
    norc_sqs_return_t *r = &ret->sqs_return;
    r->kind = norc_strdup (log ? "log" : "event");
    r->instance_id = instance_id;
    if (log) {
        r->offset = (int64_t) msg->log_chunk.offset;
        r->last = msg->log_chunk.eof;
    }
    norc_bin_set (&r->data, norc_buf_data (buf), norc_buf_size (buf));
    norc_buf_destroy (&buf);
    uint64_t number = ++self->next_tag;
    bridge_key (number, key, sizeof key);
    bridge_ask_t *ask = s_ask_new (msg->routing_id, seq);
    if (log) {
        ask->instance_id = msg->log_chunk.instance_id;
        ask->offset = msg->log_chunk.offset;
        ask->last = msg->log_chunk.eof;
    }
    zhashx_insert (self->relay_events, key, ask);
    bridge_site_return (self, &ret, group, dedup, log ? CALL_RELAY_LOG : CALL_RELAY, norc_strdup (key));
}

//  A chunk of output: its end is what the executor's ACK will say SQS
//  holds (and one more once the log is closed, as the archiver says)
static void
s_on_chunk (bridge_t *self, norc_msg_t *msg)
{
    norc_log_chunk_t *c = &msg->log_chunk;
    if (c->offset == NORC_LOG_APPEND) {
        norc_log_warnx ("instance=%llu: an appended log is not carried by a disconnected site: dropped",
                        (unsigned long long) c->instance_id);
        return;
    }
    s_relay (self, msg, c->offset + c->data.size + (c->eof ? 1 : 0), c->instance_id);
}

static void
s_on_event (bridge_t *self, norc_msg_t **msg_p)
{
    norc_msg_t *msg = *msg_p;
    switch (msg->id) {
        case NORC_MSG_HEARTBEAT: {
            char key [32];
            bridge_key (msg->heartbeat.daemon_id, key, sizeof key);
            bridge_beat_t *beat = (bridge_beat_t *) zhashx_lookup (self->site_execs, key);
            bool fresh = !beat;
            if (!beat) {
                beat = (bridge_beat_t *) norc_calloc (1, sizeof (bridge_beat_t));
                zhashx_insert (self->site_execs, key, beat);
            }
            norc_msg_destroy (&beat->heartbeat);
            beat->heartbeat = msg;      //  (kept: taken from the caller)
            *msg_p = NULL;
            beat->heard = norc_mono_us ();
            if (fresh)
                bridge_relay_beat (self, true);
            break;
        }
        case NORC_MSG_INSTANCE_STARTED:
            bridge_recv_started (self, msg->instance_started.instance_id);
            s_relay (self, msg, msg->instance_started.seq, msg->instance_started.instance_id);
            break;
        case NORC_MSG_INSTANCE_ENDED:
            bridge_recv_started (self, msg->instance_ended.instance_id);
            s_relay (self, msg, msg->instance_ended.seq, msg->instance_ended.instance_id);
            break;
        case NORC_MSG_DAEMON_STATUS:
            s_relay (self, msg, msg->daemon_status.seq, 0);
            break;
        case NORC_MSG_CONTROL_REPLY:
            s_relay (self, msg, 0, 0);
            break;
        default:
            norc_log_warnx ("unexpected %s from an executor on bridge.events", norc_msg_name (msg));
    }
}

static int
s_handle_events (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    bridge_t *self = (bridge_t *) arg;
    for (int i = 0; i < 1024 && zsock_events (sock) & ZMQ_POLLIN; i++) {
        norc_msg_t *msg = norc_msg_recv (sock);
        if (msg && norc_authz_check (msg, NULL))
            s_on_event (self, &msg);
        norc_msg_destroy (&msg);
    }
    return 0;
}

//  SQS holds a chunk: acknowledged when it continues what SQS held before
//  (one that failed leaves a gap: nothing past it is acknowledged, and the
//  executor sends it all again; a copy SQS holds twice is the same bytes
//  at the same offset to the archiver)
static void
s_log_acked (bridge_t *self, bridge_ask_t *ask)
{
    self->returns_sent++;
    char key [32];
    bridge_key (ask->instance_id, key, sizeof key);
    uint64_t *held = (uint64_t *) zhashx_lookup (self->log_acked, key);
    if (!held) {
        held = (uint64_t *) norc_calloc (1, sizeof (uint64_t));
        zhashx_insert (self->log_acked, key, held);
    }
    if (ask->offset > *held)
        return;
    if (ask->number > *held)
        *held = ask->number;
    norc_msg_t *ack = norc_msg_new (NORC_MSG_ACK);
    ack->ack.seq = *held;
    ack->ack.instance_id = ask->instance_id;
    norc_msg_set_routing_id (ack, ask->routing_id);
    norc_msg_send (&ack, self->site_logs);
    if (ask->last)
        zhashx_delete (self->log_acked, key);
}

static int
s_handle_logs (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    bridge_t *self = (bridge_t *) arg;
    for (int i = 0; i < 256 && zsock_events (sock) & ZMQ_POLLIN; i++) {
        norc_msg_t *msg = norc_msg_recv (sock);
        if (msg && msg->id == NORC_MSG_LOG_CHUNK && norc_authz_check (msg, NULL))
            s_on_chunk (self, msg);
        norc_msg_destroy (&msg);
    }
    return 0;
}

void
bridge_relay_on_answer (bridge_t *self, bridge_call_t *call, const bridge_sqs_answer_t *answer)
{
    bridge_ask_t *ask = call->count ? (bridge_ask_t *) zhashx_lookup (self->relay_events, call->keys [0]) : NULL;
    if (answer->error.outcome != NORC_AWS_DONE)
        //  Not acknowledged: the executor sends it again
        bridge_sqs_refused (self, "SendMessage (return queue, an event)", answer);
    else
    if (ask && ask->number && call->kind == CALL_RELAY_LOG)
        s_log_acked (self, ask);
    else
    if (ask && ask->number) {
        self->returns_sent++;
        norc_msg_t *ack = norc_msg_new (NORC_MSG_ACK);
        ack->ack.seq = ask->number;
        norc_msg_set_routing_id (ack, ask->routing_id);
        norc_msg_send (&ack, self->site_events);
    }
    if (ask)
        zhashx_delete (self->relay_events, call->keys [0]);
}

//  The site's beat: its executors' last heartbeats (those heard within
//  three periods), every bridge.beat_s, or now
void
bridge_relay_beat (bridge_t *self, bool now)
{
    norc_us_t mono = norc_mono_us ();
    if (!now && mono - self->beat_at < self->beat_s * NORC_US_PER_SEC)
        return;
    int64_t silent_us = (3 * self->period_ms > 3000 ? 3 * self->period_ms : 3000) * 1000LL;
    norc_buf_t *all = norc_buf_new (NORC_SITE_BODY_MAX / 2);
    norc_buf_t *one = norc_buf_new (4096);
    zlist_t *gone = zlist_new ();
    for (bridge_beat_t *beat = (bridge_beat_t *) zhashx_first (self->site_execs); beat;
         beat = (bridge_beat_t *) zhashx_next (self->site_execs)) {
        if (mono - beat->heard > silent_us) {
            zlist_append (gone, (void *) zhashx_cursor (self->site_execs));
            continue;
        }
        norc_buf_reset (one);
        if (norc_msg_encode (beat->heartbeat, one) != NORC_OK)
            continue;
        uint32_t size = (uint32_t) norc_buf_size (one);
        uint8_t prefix [4] = { (uint8_t) (size >> 24), (uint8_t) (size >> 16), (uint8_t) (size >> 8), (uint8_t) size };
        if (norc_buf_append (all, prefix, 4) != NORC_OK || norc_buf_append (all, norc_buf_data (one), size) != NORC_OK)
            break;
    }
    for (const char *key = (const char *) zlist_first (gone); key; key = (const char *) zlist_next (gone))
        zhashx_delete (self->site_execs, key);
    zlist_destroy (&gone);
    norc_msg_t *ret = norc_msg_new (NORC_MSG_SQS_RETURN);
    norc_sqs_return_t *r = &ret->sqs_return;
    r->kind = norc_strdup ("beat");
    r->status = self->status;
    norc_bin_set (&r->data, norc_buf_data (all), norc_buf_size (all));
    norc_buf_destroy (&all);
    norc_buf_destroy (&one);
    //  (the process and the beat's number: each beat its own; and its own
    //  group: a beat held by a home that died must not hold back the next
    //  ones past the visibility timeout, and one applied out of order is
    //  corrected by the next)
    char dedup [65];
    bridge_site_dedup (self->site, "beat", (uint64_t) getpid (), 0, ++self->beats + (uint64_t) self->beat_at, dedup);
    self->beat_at = mono;
    bridge_site_return (self, &ret, dedup, dedup, CALL_RETURN, norc_strdup ("beat"));
}

int
bridge_relay_start (bridge_t *self)
{
    self->relay_asks = zhashx_new ();
    zhashx_set_destructor (self->relay_asks, s_ask_free);
    self->relay_events = zhashx_new ();
    zhashx_set_destructor (self->relay_events, s_ask_free);
    self->site_execs = zhashx_new ();
    zhashx_set_destructor (self->site_execs, s_beat_free);
    self->log_acked = zhashx_new ();
    zhashx_set_destructor (self->log_acked, s_box_free);
    const char *keys [] = { "bridge.events", "bridge.api", "bridge.logs" };
    zsock_t **socks [] = { &self->site_events, &self->site_api, &self->site_logs };
    zloop_reader_fn *handlers [] = { s_handle_events, s_handle_api, s_handle_logs };
    for (int i = 0; i < 3; i++) {
        char *endpoint = norc_config_bind_endpoint (self->config, keys [i]);
        *socks [i] = endpoint ? norc_zmq_bind (ZMQ_ROUTER, endpoint) : NULL;
        free (endpoint);
        if (!*socks [i]) {
            norc_log_error ("cannot bind %s (%s)", keys [i], norc_config_str (self->config, keys [i]));
            return NORC_ERROR;
        }
        zloop_reader (self->loop, *socks [i], handlers [i], self);
    }
    bridge_site_poll (self);
    return NORC_OK;
}

void
bridge_relay_stop (bridge_t *self)
{
    zhashx_destroy (&self->relay_asks);
    zhashx_destroy (&self->relay_events);
    zhashx_destroy (&self->site_execs);
    zhashx_destroy (&self->log_acked);
    zsock_destroy (&self->site_events);
    zsock_destroy (&self->site_api);
    zsock_destroy (&self->site_logs);
}

void
bridge_relay_control (bridge_t *self, const norc_sqs_reply_t *r)
{
    char key [32];
    bridge_beat_t *beat = (bridge_beat_t *) zhashx_lookup (self->site_execs, bridge_key (r->daemon_id, key, sizeof key));
    if (!beat || !beat->heartbeat->routing_id) {
        norc_log_warnx ("a control request for executor=%s, which is not heard here: dropped", key);
        return;
    }
    norc_msg_t *msg = norc_msg_new (NORC_MSG_CONTROL);
    msg->control.request_id = r->control_id;
    msg->control.daemon_id = r->daemon_id;
    msg->control.request = r->request;
    msg->control.instance_id = r->instance_id;
    msg->control.requested_by = norc_strdup (r->requested_by ? r->requested_by : "");
    norc_msg_set_routing_id (msg, beat->heartbeat->routing_id);
    norc_msg_send (&msg, self->site_events);
}
