//  bridge.c - norc-sqs-bridge, the daemon: its configuration, its link to
//  the aggregator, the API it asks, the SQS lanes and the loop. The two
//  sides are bridge_send.c and bridge_recv.c (docs/sqs.md).
#include "bridge_internal.h"
#include "norc_zmq.h"
#include "norc_mem.h"
#include "norc_log.h"
#include "norc_service.h"
#include "norc_metrics.h"
#include "norc_enums.h"
#include <signal.h>
#include <sodium.h>
#include <unistd.h>

char *
bridge_key (uint64_t id, char *buf, size_t size)
{
    snprintf (buf, size, "%llu", (unsigned long long) id);
    return buf;
}

void
bridge_call_destroy (bridge_call_t **call_p)
{
    if (!call_p || !*call_p)
        return;
    for (size_t i = 0; i < (*call_p)->count; i++)
        free ((*call_p)->keys [i]);
    free ((*call_p)->keys);
    free (*call_p);
    *call_p = NULL;
}

uint64_t
bridge_tag (bridge_t *self, bridge_call_kind_t kind, char **keys, size_t count)
{
    bridge_call_t *call = (bridge_call_t *) norc_calloc (1, sizeof (bridge_call_t));
    call->kind = kind;
    call->keys = keys;
    call->count = count;
    uint64_t tag = ++self->next_tag;
    self->call_counts [kind]++;
    char key [32];
    zhashx_insert (self->calls, bridge_key (tag, key, sizeof key), call);
    return tag;
}

bridge_call_t *
bridge_call_take (bridge_t *self, uint64_t tag)
{
    char key [32];
    bridge_key (tag, key, sizeof key);
    bridge_call_t *call = (bridge_call_t *) zhashx_lookup (self->calls, key);
    if (call)
        zhashx_delete (self->calls, key);
    return call;
}

void
bridge_sqs_refused (bridge_t *self, const char *action, const bridge_sqs_answer_t *answer)
{
    norc_metrics_add ("norc_bridge_sqs_errors_total", "", 1);
    if (answer->error.outcome == NORC_AWS_SKEWED)
        norc_metrics_set ("norc_bridge_clock_skew_seconds", "", (double) answer->skew_s);
    norc_us_t now = norc_mono_us ();
    if (self->sqs_refused_log && now - self->sqs_refused_log < 10 * NORC_US_PER_SEC)
        return;
    self->sqs_refused_log = now;
    if (answer->status == 0)
        norc_log_warnx ("%s: no answer from SQS (%s)", action, answer->body ? answer->body : "?");
    else
    if (answer->error.outcome == NORC_AWS_SKEWED)
        norc_log_error ("%s: refused, %s: this host's clock is %lld s %s SQS's", action, answer->error.code,
                        (long long) (answer->skew_s < 0 ? -answer->skew_s : answer->skew_s),
                        answer->skew_s > 0 ? "behind" : "ahead of");
    else
        norc_log_error ("%s: refused (%ld %s): %s", action, answer->status, answer->error.code,
                        answer->error.message);
}

static int
s_on_batch_timer (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    bridge_batch_t *batch = (bridge_batch_t *) arg;
    batch->timer = -1;
    bridge_t *self = batch->bridge;
    if (batch->kind == BATCH_SEND)
        bridge_send_flush (self);
    else
    if (batch->kind == BATCH_RECEIVE)
        bridge_recv_poll (self);
    else
    if (batch->kind == BATCH_RETURNS_DELETE)
        bridge_home_delete_flush (self);
    else
    if (batch->kind == BATCH_RETURNS_SEND)
        bridge_site_return_flush (self);
    else
        bridge_recv_delete_flush (self);
    return 0;
}

bool
bridge_batch_waits (bridge_t *self, bridge_batch_kind_t kind, size_t ready, size_t full, norc_us_t since)
{
    norc_us_t waited = norc_mono_us () - since;
    if (ready >= full || waited >= self->batch_ms * 1000)
        return false;
    bridge_batch_t *batch = &self->batches [kind];
    if (batch->timer < 0)
        batch->timer = zloop_timer (self->loop, (size_t) ((self->batch_ms * 1000 - waited) / 1000 + 1), 1,
                                    s_on_batch_timer, batch);
    return true;
}

void
bridge_fault (bridge_t *self, const char *point)
{
    if (!self->fault || strcmp (self->fault, point))
        return;
    norc_log_warnx ("bridge.fault: killed at %s", point);
    raise (SIGKILL);
}

char *
bridge_json_at (const char *url, json_t *body)
{
    json_object_set_new (body, "QueueUrl", json_string (url));
    char *text = json_dumps (body, JSON_COMPACT);
    json_decref (body);
    return text;
}

char *
bridge_json (bridge_t *self, json_t *body)
{
    return bridge_json_at (self->url, body);
}

bool
bridge_call_batch (bridge_t *self, const char *action, bridge_call_kind_t kind, json_t *entries, char **keys,
                   size_t count)
{
    if (count == 0) {
        json_decref (entries);
        free (keys);
        return false;
    }
    json_t *body = json_object ();
    json_object_set_new (body, "Entries", entries);
    char *json = bridge_json (self, body);
    bridge_sqs_call (self->ops, action, json, bridge_tag (self, kind, keys, count));
    free (json);
    return true;
}

void
bridge_delete_batches (bridge_t *self, const char *url, zlist_t *ids, bridge_call_kind_t kind,
                       const char *(*receipt) (bridge_t *self, const char *id))
{
    while (zlist_size (ids)) {
        json_t *entries = json_array ();
        char **keys = (char **) norc_calloc (10, sizeof (char *));
        size_t count = 0;
        while (count < 10 && zlist_size (ids)) {
            char *id = (char *) zlist_pop (ids);
            const char *handle = receipt (self, id);
            if (handle) {
                char entry_id [32];
                snprintf (entry_id, sizeof entry_id, "m%zu", count);
                json_array_append_new (entries, json_pack ("{s:s, s:s}", "Id", entry_id, "ReceiptHandle", handle));
                keys [count++] = id;
            }
            else
                free (id);
        }
        if (count == 0) {
            json_decref (entries);
            free (keys);
            break;
        }
        json_t *body = json_object ();
        json_object_set_new (body, "Entries", entries);
        char *json = bridge_json_at (url, body);
        bridge_sqs_call (self->ops, "DeleteMessageBatch", json, bridge_tag (self, kind, keys, count));
        free (json);
    }
}

void
bridge_ask (bridge_t *self, uint64_t request_id, const char *op, const norc_strmap_t *args)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_API_REQUEST);
    msg->api_request.request_id = request_id;
    msg->api_request.op = norc_strdup (op);
    for (size_t i = 0; args && i < args->count; i++)
        norc_strmap_set (&msg->api_request.args, args->keys [i], args->values [i]);
    norc_msg_send (&msg, self->api);
}

//  --------------------------------------------------------------------------

bridge_t *
bridge_new (norc_config_t *config)
{
    bridge_t *self = (bridge_t *) norc_calloc (1, sizeof (bridge_t));
    self->config = config;
    gethostname (self->host, sizeof self->host - 1);
    self->queue = norc_strdup (norc_config_str (config, "bridge.queue"));
    self->sending = norc_config_bool (config, "bridge.send");
    self->receiving = norc_config_bool (config, "bridge.receive");
    self->fault = norc_config_str (config, "bridge.fault");
    self->period_ms = (int) norc_config_int (config, "heartbeat.period_ms");
    self->window = (int) norc_config_int (config, "bridge.window");
    self->claim_deadline_ms = norc_config_int (config, "bridge.claim_deadline_ms");
    self->visibility_s = (int) norc_config_int (config, "bridge.visibility_s");
    self->wait_s = (int) norc_config_int (config, "bridge.wait_s");
    self->batch_ms = (int) norc_config_int (config, "bridge.batch_ms");
    self->disconnected = strcmp (norc_config_str (config, "bridge.mode"), "disconnected") == 0;
    self->returns = norc_config_bool (config, "bridge.returns");
    self->claim_wait_s = (int) norc_config_int (config, "bridge.claim_wait_s");
    self->beat_s = (int) norc_config_int (config, "bridge.beat_s");
    self->site_failure_s = (int) norc_config_int (config, "bridge.site_failure_s");
    self->status = NORC_ST_RUNNING;
    self->calls = zhashx_new ();     //  (no destructor: a call taken out is its taker's)
    for (int i = 0; i < BATCH_KINDS; i++)
        self->batches [i] = (bridge_batch_t) { self, (bridge_batch_kind_t) i, -1 };
    return self;
}

void
bridge_destroy (bridge_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bridge_t *self = *self_p;
    bridge_send_stop (self);
    bridge_recv_stop (self);
    bridge_home_stop (self);
    bridge_relay_stop (self);
    bridge_site_stop (self);
    bridge_sqs_destroy (&self->ops);
    bridge_sqs_destroy (&self->poll);
    bridge_sqs_destroy (&self->backchannel);
    for (bridge_call_t *call = (bridge_call_t *) zhashx_first (self->calls); call;
         call = (bridge_call_t *) zhashx_next (self->calls))
        bridge_call_destroy (&call);
    zhashx_destroy (&self->calls);
    zloop_destroy (&self->loop);
    zsock_destroy (&self->api);
    zsock_destroy (&self->stream);
    norc_link_destroy (&self->link);
    free (self->queue);
    free (self->url);
    free (self);
    *self_p = NULL;
}

//  The queue's SQS URL, from the record (the aggregator's queue.list)
static int
s_learn_url (bridge_t *self)
{
    int timeout = (int) norc_config_int (self->config, "api.timeout_ms");
    for (int attempt = 0; attempt < 60 && !norc_service_signalled (); attempt++) {
        bridge_ask (self, 1, "queue.list", NULL);
        norc_msg_t *reply = NULL;
        if (norc_zmq_wait (self->api, timeout) == NORC_OK)
            reply = norc_msg_recv (self->api);
        if (!reply || reply->id != NORC_MSG_API_REPLY) {
            norc_msg_destroy (&reply);
            continue;
        }
        int rc = NORC_ERROR;
        if (reply->api_reply.code)
            norc_log_error ("cannot read the queues: %s", reply->api_reply.error ? reply->api_reply.error : "?");
        else
        for (size_t i = 0; i < reply->api_reply.rows.count; i++) {
            const norc_strmap_t *row = &reply->api_reply.rows.rows [i];
            const char *name = norc_strmap_get (row, "name"), *kind = norc_strmap_get (row, "kind");
            const char *url = norc_strmap_get (row, "url");
            if (!name || strcmp (name, self->queue))
                continue;
            if (!kind || strcmp (kind, "sqs") || !url || !*url)
                norc_log_error ("queue %s is not an sqs queue (norcctl queue add %s --kind sqs --url URL)",
                                self->queue, self->queue);
            else {
                self->url = norc_strdup (url);
                rc = NORC_OK;
            }
        }
        if (rc && !reply->api_reply.code && !self->url)
            norc_log_error ("no queue %s in the record", self->queue);
        norc_msg_destroy (&reply);
        return rc;
    }
    norc_log_error ("the aggregator did not answer (%s)", norc_config_str (self->config, "aggregator.api"));
    return NORC_ERROR;
}

static int
s_handle_events (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (sock);
    bridge_t *self = (bridge_t *) arg;
    int rc = self->done ? -1 : norc_link_read (self->link);
    return rc < 0 || self->done ? -1 : 0;
}

static int
s_handle_api (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    bridge_t *self = (bridge_t *) arg;
    for (int i = 0; i < 256 && zsock_events (sock) & ZMQ_POLLIN; i++) {
        norc_msg_t *msg = norc_msg_recv (sock);
        //  (request 0: a note, sqs.waiting, answered for nobody)
        if (msg && msg->id == NORC_MSG_API_REPLY && msg->api_reply.request_id
        &&  !(self->returns && bridge_home_on_api (self, msg)) && self->receiving)
            bridge_recv_on_api (self, msg);
        norc_msg_destroy (&msg);
    }
    return 0;
}

//  The stream: an instance claimed (the sending side lets it go), started
//  or ended (its message can be deleted; the sender lets it go too)
static int
s_handle_stream (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    bridge_t *self = (bridge_t *) arg;
    for (int i = 0; i < 1024 && zsock_events (sock) & ZMQ_POLLIN; i++) {
        norc_msg_t *msg = norc_msg_recv (sock);
        if (msg && msg->id == NORC_MSG_EVENT && msg->event.instance_id) {
            const char *topic = msg->event.topic ? msg->event.topic : "";
            if (self->sending)
                bridge_send_gone (self, msg->event.instance_id);
            if (self->receiving && strcmp (topic, "instance.claimed"))
                bridge_recv_started (self, msg->event.instance_id);
        }
        norc_msg_destroy (&msg);
    }
    if (self->sending)
        bridge_send_flush (self);
    return 0;
}

static int
s_handle_lane (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (sock);
    bridge_t *self = (bridge_t *) arg;
    bridge_sqs_t *lane = sock == bridge_sqs_socket (self->ops) ? self->ops
                       : sock == bridge_sqs_socket (self->poll) ? self->poll : self->backchannel;
    bridge_sqs_answer_t answer;
    if (bridge_sqs_read (lane, &answer) == NORC_OK) {
        bridge_call_t *call = bridge_call_take (self, answer.tag);
        if (call && call->kind == CALL_SEND)
            bridge_send_on_answer (self, call, &answer);
        else
        if (call && call->kind >= CALL_RETURNS_RECEIVE)
            bridge_home_on_answer (self, call, &answer);
        else
        if (call && call->kind == CALL_RETURN_BATCH)
            bridge_site_on_batch (self, call, &answer);
        else
        if (call && (call->kind == CALL_RELAY || call->kind == CALL_RELAY_LOG))
            bridge_relay_on_answer (self, call, &answer);
        else
        if (call && call->kind >= CALL_RETURN)
            bridge_site_on_answer (self, call, &answer);
        else
        if (call)
            bridge_recv_on_answer (self, call, &answer);
        bridge_call_destroy (&call);
    }
    bridge_sqs_answer_clear (&answer);
    if (self->sending)
        bridge_send_flush (self);
    if (self->receiving)
        bridge_recv_poll (self);
    if (self->disconnected)
        bridge_site_poll (self);
    if (self->returns)
        bridge_home_poll (self);
    return 0;
}

static int
s_on_heartbeat (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    bridge_t *self = (bridge_t *) arg;
    int held = self->outgoing ? (int) zhashx_size (self->outgoing) : 0;
    if (self->link)
        norc_link_beat (self->link, self->status, held, self->window - held);
    if (self->disconnected)
        bridge_relay_beat (self, false);
    if (self->returns)
        bridge_home_beat (self);
    if (self->sending)
        bridge_send_beat (self);
    if (self->receiving)
        bridge_recv_beat (self);
    char labels [192], queue [128];
    norc_metrics_escape (self->queue, queue, sizeof queue);
    const struct { const char *what; uint64_t count; } counts [] = {
        { "sent", self->sent }, { "sent_again", self->resent }, { "received", self->received },
        { "claimed", self->accepted }, { "duplicate", self->duplicates }, { "cancelled", self->cancelled },
        { "poison", self->poison }, { "deleted", self->deleted } };
    for (size_t i = 0; i < sizeof counts / sizeof counts [0]; i++) {
        snprintf (labels, sizeof labels, "queue=\"%s\",outcome=\"%s\"", queue, counts [i].what);
        norc_metrics_set ("norc_bridge_messages_total", labels, (double) counts [i].count);
    }
    return 0;
}

static norc_link_outcome_t
s_control (void *arg, const norc_control_t *request)
{
    bridge_t *self = (bridge_t *) arg;
    if (request->instance_id)
        return (norc_link_outcome_t) { "a bridge runs no instance", self->status, false, false };
    if (request->request == NORC_REQ_STOP || request->request == NORC_REQ_KILL) {
        self->done = true;
        self->status = NORC_ST_ENDED;
        return (norc_link_outcome_t) { NULL, self->status, true, true };
    }
    return (norc_link_outcome_t) { "a bridge takes STOP and KILL only", self->status, false, false };
}

static void
s_forward (void *arg, const norc_control_t *request)
{
    bridge_t *self = (bridge_t *) arg;
    if (self->returns)
        bridge_home_forward (self, request);
}

static void
s_registered (void *arg, uint64_t old_id, uint64_t new_id)
{
    NORC_UNUSED (old_id);
    bridge_t *self = (bridge_t *) arg;
    self->id = new_id;
    if (self->sending)
        bridge_send_hello (self);
}

static int
s_on_signal (void *arg, int count)
{
    NORC_UNUSED (count);
    bridge_t *self = (bridge_t *) arg;
    self->done = true;
    return -1;
}

int
bridge_start (bridge_t *self)
{
    if (!*self->queue) {
        norc_log_error ("no queue: --bridge.queue NAME (an sqs queue)");
        return NORC_ERROR;
    }
    if (!self->sending && !self->receiving) {
        norc_log_error ("neither bridge.send nor bridge.receive: nothing to do");
        return NORC_ERROR;
    }
    const char *mode = norc_config_str (self->config, "bridge.mode");
    if (strcmp (mode, "connected") && strcmp (mode, "disconnected")) {
        norc_log_error ("bridge.mode is connected or disconnected, not \"%s\"", mode);
        return NORC_ERROR;
    }
    if (self->disconnected && (!self->receiving || self->sending || self->returns)) {
        norc_log_error ("bridge.mode = disconnected is a receiving site's (bridge.receive true, bridge.send and "
                        "bridge.returns false)");
        return NORC_ERROR;
    }
    if ((self->disconnected || self->returns) && bridge_site_keys (self))
        return NORC_ERROR;
    norc_aws_env_t env;
    char why [512];
    if (norc_aws_env ("sqs", &env, why, sizeof why) != NORC_OK) {
        norc_log_error ("AWS: %s", why);
        return NORC_ERROR;
    }
    norc_metrics_family ("norc_bridge_messages_total", NORC_METRIC_COUNTER,
                         "SQS messages of this bridge by outcome: sent, sent_again, received, claimed, duplicate, "
                         "cancelled, poison (left for the dead-letter queue), deleted.", NULL, 0);
    norc_metrics_family ("norc_bridge_sqs_errors_total", NORC_METRIC_COUNTER,
                         "SQS calls that failed after their retries, or were refused.", NULL, 0);
    norc_metrics_family ("norc_bridge_clock_skew_seconds", NORC_METRIC_GAUGE,
                         "SQS's clock minus this host's, as measured when SQS refused a request as skewed.", NULL, 0);
    //  A disconnected site reaches nothing of the control plane: not in
    //  the record itself, its claims, its executors' registrations and
    //  events travel the queues (bridge_site.c, bridge_relay.c), and its
    //  queue's URL is given (bridge.url)
    if (self->disconnected)
        self->url = norc_strdup (norc_config_str (self->config, "bridge.url"));
    else {
        norc_link_spec_t spec = { .kind = "bridge", .host = self->host, .queue = self->queue,
                                  .concurrency = self->window, .control = s_control,
                                  .registered = s_registered, .forward = s_forward, .arg = self };
        self->link = norc_link_new (self->config, &spec);
        if (!self->link || norc_link_register (self->link, 60) != NORC_OK)
            return NORC_ERROR;
        self->id = norc_link_id (self->link);
        self->api = norc_zmq_connect (ZMQ_DEALER, norc_config_str (self->config, "aggregator.api"));
        self->stream = norc_zmq_connect (ZMQ_SUB, norc_config_str (self->config, "aggregator.stream"));
        if (!self->api || !self->stream || s_learn_url (self))
            return NORC_ERROR;
        zsock_set_subscribe (self->stream, "instance.claimed");
        zsock_set_subscribe (self->stream, "instance.started");
        zsock_set_subscribe (self->stream, "instance.ended");
    }
    size_t url_len = strlen (self->url);
    self->fifo = url_len > 5 && strcmp (self->url + url_len - 5, ".fifo") == 0;
    norc_aws_target_t target = { .endpoint = env.endpoint, .region = env.region, .service = "sqs",
                                 .insecure = !norc_config_bool (self->config, "bridge.tls_verify"),
                                 .timeout_ms = (self->wait_s + 10) * 1000L };
    int attempts = (int) norc_config_int (self->config, "bridge.attempts");
    norc_http_init ();
    //  Who it is to AWS: the credential chain, tried once here so that a
    //  bridge without credentials says so and stops; each lane holds its
    //  own and makes them again before they expire
    norc_aws_creds_config_t creds_config = { norc_config_str (self->config, "aws.access_key_id"),
                                             norc_config_str (self->config, "aws.secret_access_key_file"), 0 };
    norc_aws_creds_t creds;
    if (norc_aws_creds_get (&creds_config, &creds, why, sizeof why) != NORC_OK) {
        norc_log_error ("AWS: %s", why);
        return NORC_ERROR;
    }
    sodium_memzero (&creds, sizeof creds);
    self->ops = bridge_sqs_new (&target, &creds_config, attempts);
    self->poll = bridge_sqs_new (&target, &creds_config, 1);
    if (self->disconnected || self->returns)
        self->backchannel = bridge_sqs_new (&target, &creds_config, 1);
    self->loop = zloop_new ();
    if (self->link)
        zloop_reader (self->loop, norc_link_socket (self->link), s_handle_events, self);
    if (self->api)
        zloop_reader (self->loop, self->api, s_handle_api, self);
    if (self->stream)
        zloop_reader (self->loop, self->stream, s_handle_stream, self);
    zloop_reader (self->loop, bridge_sqs_socket (self->ops), s_handle_lane, self);
    zloop_reader (self->loop, bridge_sqs_socket (self->poll), s_handle_lane, self);
    if (self->backchannel)
        zloop_reader (self->loop, bridge_sqs_socket (self->backchannel), s_handle_lane, self);
    zloop_timer (self->loop, (size_t) self->period_ms, 0, s_on_heartbeat, self);
    norc_service_on_signal (self->loop, s_on_signal, self);
    norc_service_upkeep (self->loop, self->config);
    if ((self->sending && bridge_send_start (self)) || (self->receiving && bridge_recv_start (self))
    ||  (self->disconnected && bridge_relay_start (self)) || (self->returns && bridge_home_start (self)))
        return NORC_ERROR;
    char who [128];
    if (self->disconnected)
        snprintf (who, sizeof who, "site %s", self->site);
    else
        snprintf (who, sizeof who, "bridge=%llu", (unsigned long long) self->id);
    norc_log_info ("%s on %s: carrying %s over %s (%s%s%s%s)", who, self->host, self->queue, self->url,
                   self->sending ? "sending" : "",
                   self->sending && self->receiving ? ", " : "", self->receiving ? "receiving" : "",
                   self->disconnected ? ", disconnected: everything else over the return and reply queues"
                   : self->returns ? ", answering the sites of the return queue" : "");
    s_on_heartbeat (self->loop, 0, self);
    return NORC_OK;
}

void
bridge_run (bridge_t *self)
{
    zloop_start (self->loop);
    self->status = NORC_ST_ENDED;
    if (self->sending)
        bridge_send_stop (self);
    if (self->link) {
        norc_link_status (self->link, self->status, "stopped");
        norc_link_flush (self->link, 2000);
    }
    norc_log_info ("stopped: sent %llu (again %llu); received %llu: %llu claimed, %llu duplicates, %llu cancelled, "
                   "%llu poison; SQS calls: %llu sends, %llu receives, %llu deletes, %llu visibility changes",
                   (unsigned long long) self->sent, (unsigned long long) self->resent,
                   (unsigned long long) self->received, (unsigned long long) self->accepted,
                   (unsigned long long) self->duplicates, (unsigned long long) self->cancelled,
                   (unsigned long long) self->poison, (unsigned long long) self->call_counts [CALL_SEND],
                   (unsigned long long) self->call_counts [CALL_RECEIVE], (unsigned long long) self->call_counts [CALL_DELETE],
                   (unsigned long long) self->call_counts [CALL_VISIBILITY]);
    if (self->disconnected || self->returns)
        norc_log_info ("stopped: %llu return messages sent, %llu read; %llu replies sent, %llu read",
                       (unsigned long long) self->returns_sent, (unsigned long long) self->returns_read,
                       (unsigned long long) self->replies_sent, (unsigned long long) self->replies_read);
}
