//  norc_link.c - see norc_link.h
#include "norc_link.h"
#include "norc_control.h"
#include "norc_outbox.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_service.h"
#include "norc_zmq.h"
#include "norc_zap.h"
#include <unistd.h>

struct _norc_link_t {
    norc_config_t *config;      //  not owned
    char *kind, *host, *queue;
    int concurrency;
    norc_link_control_fn *control;
    norc_link_registered_fn *registered;
    void (*forward) (void *arg, const norc_control_t *request);
    void *arg;
    uint64_t id;
    zsock_t *events;            //  DEALER to aggregator.events
    norc_outbox_t *outbox;
    int64_t reregister_failed_at;   //  monotonic us: the last attempt to register again failed then
};

norc_link_t *
norc_link_new (norc_config_t *config, const norc_link_spec_t *spec)
{
    zsock_t *events = norc_zmq_connect (ZMQ_DEALER, norc_config_str (config, "aggregator.events"));
    if (!events)
        return NULL;
    norc_link_t *self = (norc_link_t *) norc_calloc (1, sizeof (norc_link_t));
    self->config = config;
    self->kind = norc_strdup (spec->kind);
    self->host = norc_strdup (spec->host);
    self->queue = spec->queue ? norc_strdup (spec->queue) : NULL;
    self->concurrency = spec->concurrency;
    self->control = spec->control;
    self->registered = spec->registered;
    self->forward = spec->forward;
    self->arg = spec->arg;
    self->events = events;
    self->outbox = norc_outbox_new (events, (int) norc_config_int (config, "heartbeat.period_ms") * 3);
    return self;
}

void
norc_link_destroy (norc_link_t **self_p)
{
    if (self_p && *self_p) {
        norc_link_t *self = *self_p;
        norc_outbox_destroy (&self->outbox);
        zsock_destroy (&self->events);
        free (self->kind);
        free (self->host);
        free (self->queue);
        free (self);
        *self_p = NULL;
    }
}

int
norc_link_register (norc_link_t *self, int attempts)
{
    zsock_t *api = norc_zmq_connect (ZMQ_DEALER, norc_config_str (self->config, "aggregator.api"));
    if (!api)
        return NORC_ERROR;
    int rc = NORC_AGAIN;
    int timeout = (int) norc_config_int (self->config, "api.timeout_ms");
    for (int attempt = 0; attempt < attempts && rc == NORC_AGAIN && !norc_service_signalled (); attempt++) {
        norc_msg_t *msg = norc_msg_new (NORC_MSG_API_REQUEST);
        msg->api_request.request_id = (uint64_t) attempt + 1;
        msg->api_request.op = norc_strdup ("daemon.register");
        char value [32];
        norc_strmap_set (&msg->api_request.args, "kind", self->kind);
        norc_strmap_set (&msg->api_request.args, "host", self->host);
        snprintf (value, sizeof value, "%d", (int) getpid ());
        norc_strmap_set (&msg->api_request.args, "pid", value);
        if (self->queue) {
            norc_strmap_set (&msg->api_request.args, "queue", self->queue);
            snprintf (value, sizeof value, "%d", self->concurrency);
            norc_strmap_set (&msg->api_request.args, "concurrency", value);
        }
        norc_msg_send (&msg, api);
        norc_us_t deadline = norc_mono_us () + (norc_us_t) timeout * 1000;
        while (rc == NORC_AGAIN && norc_mono_us () < deadline
           && norc_zmq_wait (api, (int) ((deadline - norc_mono_us ()) / 1000) + 1) == NORC_OK) {
            norc_msg_t *reply = norc_msg_recv (api);
            if (reply && reply->id == NORC_MSG_API_REPLY && reply->api_reply.request_id == (uint64_t) attempt + 1) {
                const char *id = reply->api_reply.code == NORC_OK && reply->api_reply.rows.count
                               ? norc_strmap_get (&reply->api_reply.rows.rows [0], "id") : NULL;
                if (id) {
                    self->id = strtoull (id, NULL, 10);
                    rc = NORC_OK;
                }
                else {
                    norc_log_error ("cannot register: %s", reply->api_reply.error ? reply->api_reply.error : "?");
                    rc = reply->api_reply.code == NORC_AGAIN ? NORC_AGAIN : NORC_ERROR;
                }
            }
            norc_msg_destroy (&reply);
        }
        if (rc == NORC_AGAIN)
            norc_log_warnx ("no answer from the status-aggregator at %s; retrying",
                            norc_config_str (self->config, "aggregator.api"));
    }
    zsock_destroy (&api);
    return rc;
}

uint64_t
norc_link_id (norc_link_t *self)
{
    return self->id;
}

zsock_t *
norc_link_socket (norc_link_t *self)
{
    return self->events;
}

void
norc_link_send (norc_link_t *self, norc_msg_t **msg_p)
{
    norc_outbox_send (self->outbox, msg_p);
}

void
norc_link_send_tagged (norc_link_t *self, norc_msg_t **msg_p, uint64_t tag)
{
    norc_outbox_send_tagged (self->outbox, msg_p, tag);
}

void
norc_link_on_acked (norc_link_t *self, norc_outbox_acked_fn *fn, void *arg)
{
    norc_outbox_on_acked (self->outbox, fn, arg);
}

void
norc_link_beat (norc_link_t *self, int status, int running, int free_slots)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_HEARTBEAT);
    msg->heartbeat.daemon_id = self->id;
    msg->heartbeat.kind = norc_strdup (self->kind);
    msg->heartbeat.host = norc_strdup (self->host);
    msg->heartbeat.pid = getpid ();
    msg->heartbeat.status = status;
    msg->heartbeat.running = running;
    msg->heartbeat.free = free_slots;
    msg->heartbeat.sent_us = norc_now_us ();
    norc_msg_send (&msg, self->events);
    norc_outbox_resend (self->outbox);
}

void
norc_link_status (norc_link_t *self, int status, const char *reason)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_DAEMON_STATUS);
    msg->daemon_status.daemon_id = self->id;
    msg->daemon_status.kind = norc_strdup (self->kind);
    msg->daemon_status.status = status;
    msg->daemon_status.reason = reason ? norc_strdup (reason) : NULL;
    norc_outbox_send (self->outbox, &msg);
}

//  One control request: act (the daemon), report, answer
static int
s_control (norc_link_t *self, const norc_control_t *c)
{
    const char *name = norc_request_name (c->request);
    if (c->daemon_id && c->daemon_id != self->id && self->forward) {
        self->forward (self->arg, c);
        return 0;
    }
    if (c->request == NORC_REQ_REREGISTER && !c->instance_id) {
        //  Recorded dead while it was frozen: a new id; no reply (it would
        //  go to a daemon that is no more). The aggregator asks at every
        //  heartbeat write while the record says dead: a request for an id
        //  this daemon no longer has is stale, and after an attempt that
        //  failed the next waits a failure threshold (each attempt holds the
        //  loop up to api.timeout_ms: a backlog of requests must not hold it
        //  for minutes)
        uint64_t old = self->id;
        int64_t rest_us = norc_config_int (self->config, "heartbeat.failure_ms") * 1000;
        if ((c->daemon_id && c->daemon_id != self->id)
        ||  (self->reregister_failed_at && norc_mono_us () - self->reregister_failed_at < rest_us))
            return 0;
        if (norc_link_register (self, 1) != NORC_OK) {
            self->id = old;
            self->reregister_failed_at = norc_mono_us ();
            norc_log_warnx ("recorded dead, and cannot register again yet");
            return 0;
        }
        self->reregister_failed_at = 0;
        norc_log_warnx ("recorded dead as %s %llu; registered again as %llu", self->kind, (unsigned long long) old,
                        (unsigned long long) self->id);
        if (self->registered)
            self->registered (self->arg, old, self->id);
        return 0;
    }
    norc_link_outcome_t out = self->control (self->arg, c);
    if (c->instance_id)
        norc_log_info ("instance=%llu: %s from %s: %s", (unsigned long long) c->instance_id, name ? name : "?",
                       c->requested_by ? c->requested_by : "?", out.refused ? out.refused : "done");
    else
        norc_log_info ("request %s from %s: %s", name ? name : "?", c->requested_by ? c->requested_by : "?",
                       out.refused ? out.refused : "done");
    //  The new status goes first: whoever waits for the reply then finds
    //  it recorded (the aggregator reads one connection in order)
    if (!out.refused && out.report)
        norc_link_status (self, out.status, name);
    norc_control_reply (self->events, c, self->id, out.status, out.refused);
    return out.stop ? -1 : 0;
}

int
norc_link_read (norc_link_t *self)
{
    int rc = 0;
    //  Everything waiting (acknowledgements come in bursts), a bounded number
    for (int i = 0; i < 1000 && rc == 0 && (i == 0 || (zsock_events (self->events) & ZMQ_POLLIN)); i++) {
        norc_msg_t *msg = norc_msg_recv (self->events);
        if (msg && msg->id == NORC_MSG_ACK)
            norc_outbox_ack_all (self->outbox, &msg->ack);
        else
        if (msg && msg->id == NORC_MSG_CONTROL)
            rc = s_control (self, &msg->control);
        else
        if (msg)
            norc_log_warnx ("unexpected %s from the aggregator", norc_msg_name (msg));
        norc_msg_destroy (&msg);
    }
    return rc;
}

void
norc_link_read_acks (norc_link_t *self)
{
    for (int i = 0; i < 1000 && (zsock_events (self->events) & ZMQ_POLLIN); i++) {
        norc_msg_t *msg = norc_msg_recv (self->events);
        if (msg && msg->id == NORC_MSG_ACK)
            norc_outbox_ack_all (self->outbox, &msg->ack);
        norc_msg_destroy (&msg);
    }
}

size_t
norc_link_pending (norc_link_t *self)
{
    return norc_outbox_pending (self->outbox);
}

void
norc_link_flush (norc_link_t *self, int timeout_ms)
{
    norc_us_t deadline = norc_mono_us () + (norc_us_t) timeout_ms * 1000;
    while (norc_outbox_pending (self->outbox) && norc_mono_us () < deadline)
        if (norc_zmq_wait (self->events, 50) == NORC_OK)
            norc_link_read_acks (self);
}

//  One API request to the aggregator with this pair (a new connection each
//  time: libzmq never connects again a socket whose handshake was refused)
static norc_msg_t *
s_ask_as (norc_config_t *config, zcert_t *cert, const char *op, const char *key, const char *value, int timeout)
{
    char *endpoint = norc_strdup (norc_config_str (config, "aggregator.api"));
    char *comma = strchr (endpoint, ',');
    if (comma)
        *comma = 0;
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    zsock_set_linger (sock, 0);
    norc_zap_apply_as (sock, endpoint, cert);
    norc_msg_t *reply = NULL;
    if (zsock_connect (sock, "%s", endpoint) == 0) {
        norc_msg_t *msg = norc_msg_new (NORC_MSG_API_REQUEST);
        msg->api_request.request_id = 1;
        msg->api_request.op = norc_strdup (op);
        if (key)
            norc_strmap_set (&msg->api_request.args, key, value);
        norc_msg_send (&msg, sock);
        reply = norc_zmq_wait (sock, timeout) == NORC_OK ? norc_msg_recv (sock) : NULL;
        if (reply && reply->id != NORC_MSG_API_REPLY)
            norc_msg_destroy (&reply);
    }
    zsock_destroy (&sock);
    free (endpoint);
    return reply;
}

//  Present the enrolment token
static void
s_enrol (norc_config_t *config, const char *token)
{
    char public_txt [41];
    if (strlen (token) != 40 || zmq_curve_public (public_txt, token) != 0) {
        norc_log_error ("security.enrol_token is not a token (40 characters of Z85, as norcctl keys token "
                        "prints it)");
        return;
    }
    uint8_t public_key [32], secret_key [32];
    zmq_z85_decode (public_key, public_txt);
    zmq_z85_decode (secret_key, token);
    zcert_t *cert = zcert_new_from (public_key, secret_key);
    //  A token made a moment ago may not be in every registry yet: asked
    //  again, on a new connection each time, for ten seconds
    norc_msg_t *reply = NULL;
    for (int attempt = 0; attempt < 10 && !reply && !norc_service_signalled (); attempt++)
        reply = s_ask_as (config, cert, "keys.enrol", "key", norc_zap_own_key (), 1000);
    if (!reply)
        norc_log_error ("enrolment: no answer within 10 s (a token spent, expired or unknown gets none)");
    else
    if (reply->api_reply.code)
        norc_log_error ("enrolment refused: %s", reply->api_reply.error ? reply->api_reply.error : "?");
    else
        norc_log_info ("enrolled as %s", reply->api_reply.rows.count
                       ? norc_strmap_get (&reply->api_reply.rows.rows [0], "name") : "?");
    norc_msg_destroy (&reply);
    zcert_destroy (&cert);
}

int
norc_link_admission (norc_config_t *config)
{
    if (!norc_zap_curve ())
        return NORC_OK;
    const char *token = norc_config_str (config, "security.enrol_token");
    if (*token)
        s_enrol (config, token);
    //  Ask who this key is until the aggregator answers
    int64_t said_at = 0;
    bool waited = *token != 0;
    while (!norc_service_signalled ()) {
        norc_msg_t *reply = s_ask_as (config, NULL, "whoami", NULL, NULL, 1000);
        if (reply && reply->api_reply.code == 0) {
            norc_log_info ("admitted as %s", reply->api_reply.rows.count
                           ? norc_strmap_get (&reply->api_reply.rows.rows [0], "name") : "?");
            norc_msg_destroy (&reply);
            //  A key admitted just now: every server reads the registry
            //  again within this (a key admitted at the first question
            //  has been in the registry since before this start)
            if (waited)
                zclock_sleep (1000);
            return NORC_OK;
        }
        waited = true;
        norc_msg_destroy (&reply);
        if (zclock_mono () - said_at >= 30000) {
            char fp [41];
            norc_key_fingerprint (norc_zap_own_key (), fp);
            norc_log_warnx ("waiting to be admitted: this key (fingerprint %s) is pending until an admin accepts "
                            "it (norcctl keys accept %.16s --name NAME --role executor)", fp, fp);
            said_at = zclock_mono ();
        }
        zclock_sleep (1000);
    }
    return NORC_ERROR;
}
