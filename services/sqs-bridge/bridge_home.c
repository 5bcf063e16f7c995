//  bridge_home.c - home's side of disconnected sites (bridge.returns): a
//  bridge of the control plane's site receives the return queue, opens
//  each body from the site that sealed it (a key of bridge.peers, named
//  by the message's norc-site attribute and again inside the body), and
//  does what the site would have done itself in connected mode
//  (docs/sqs.md, "Disconnected mode"):
//  - a claim is asked of the aggregator (sqs.claim: the record decides,
//    under the instance's lock, exactly as for a connected site) and its
//    answer, sealed to the site, goes to the reply queue the claim named;
//    a release gives the instance back (sqs.release); a registration of
//    one of the site's executors is made (daemon.register) and answered;
//  - an executor's event is relayed to the aggregator through this
//    bridge's own link (its acknowledged outbox), a chunk of its output
//    to the archiver;
//  - the site's beat brings its executors' heartbeats, said again to the
//    aggregator every heartbeat period while beats keep coming
//    (bridge.site_failure_s); a control request the aggregator sends for
//    one of them comes to this bridge's link and is forwarded to the site.
//  A return message is deleted only once what it carried is done: an
//  answer sent, an event acknowledged by the aggregator, a chunk held by
//  the archiver, a beat taken. Until then it is held here; given again by
//  SQS (its visibility ran out) it is asked or relayed again. A body that
//  does not open, names another site than its attribute, or carries what
//  this version does not take is poison: counted, logged, left for the
//  dead-letter queue.
#include "bridge_internal.h"
#include "norc_tick.h"
#include "norc_zmq.h"
#include "norc_mem.h"
#include "norc_log.h"

//  Most return messages held at once: no poll while that many wait
#define HOME_HELD_MAX 100

static void
s_ret_free (void **item)
{
    bridge_ret_t *ret = (bridge_ret_t *) *item;
    if (!ret)
        return;
    free (ret->message_id);
    free (ret->receipt);
    norc_msg_destroy (&ret->msg);
    free (ret);
    *item = NULL;
}

static void
s_str_free (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_msg_free (void **item)
{
    norc_msg_destroy ((norc_msg_t **) item);
}

static void
s_site_free (void **item)
{
    bridge_site_t *site = (bridge_site_t *) *item;
    if (!site)
        return;
    zhashx_destroy (&site->heartbeats);
    zhashx_destroy (&site->reregistered);
    free (site->reply_url);
    free (site);
    *item = NULL;
}

static bridge_site_t *
s_site (bridge_t *self, const char *name)
{
    bridge_site_t *site = (bridge_site_t *) zhashx_lookup (self->sites, name);
    if (!site) {
        site = (bridge_site_t *) norc_calloc (1, sizeof (bridge_site_t));
        site->heartbeats = zhashx_new ();
        zhashx_set_destructor (site->heartbeats, s_msg_free);
        site->reregistered = zhashx_new ();
        zhashx_set_destructor (site->reregistered, s_str_free);
        site->beat_at = norc_mono_us ();     //  (a site first heard of has bridge.site_failure_s to beat)
        zhashx_insert (self->sites, name, site);
    }
    return site;
}

static void s_delete (bridge_t *self, bridge_ret_t *ret);
static int s_handle_archiver (zloop_t *loop, zsock_t *sock, void *arg);

//  The aggregator committed an event a site sent: its return message goes
static void
s_on_acked (void *arg, uint64_t tag)
{
    bridge_t *self = (bridge_t *) arg;
    char key [32];
    bridge_key (tag, key, sizeof key);
    const char *message_id = (const char *) zhashx_lookup (self->relaying, key);
    bridge_ret_t *ret = message_id ? (bridge_ret_t *) zhashx_lookup (self->returned, message_id) : NULL;
    if (ret && ret->state == RET_RELAYING)
        s_delete (self, ret);
    zhashx_delete (self->relaying, key);
}

int
bridge_home_start (bridge_t *self)
{
    self->returned = zhashx_new ();
    zhashx_set_destructor (self->returned, s_ret_free);
    self->answering = zhashx_new ();
    zhashx_set_destructor (self->answering, s_str_free);
    self->relaying = zhashx_new ();
    zhashx_set_destructor (self->relaying, s_str_free);
    self->sites = zhashx_new ();
    zhashx_set_destructor (self->sites, s_site_free);
    self->returns_done = zlist_new ();
    zlist_autofree (self->returns_done);
    norc_link_on_acked (self->link, s_on_acked, self);
    self->archiver = norc_zmq_connect (ZMQ_DEALER, norc_config_str (self->config, "archiver.logs"));
    if (!self->archiver)
        return NORC_ERROR;
    zloop_reader (self->loop, self->archiver, s_handle_archiver, self);
    bridge_home_poll (self);
    return NORC_OK;
}

void
bridge_home_stop (bridge_t *self)
{
    zhashx_destroy (&self->returned);
    zhashx_destroy (&self->answering);
    zhashx_destroy (&self->relaying);
    zhashx_destroy (&self->sites);
    zlist_destroy (&self->returns_done);
    zsock_destroy (&self->archiver);
}

void
bridge_home_poll (bridge_t *self)
{
    if (!self->returns || self->backchannel_polling || self->done || zhashx_size (self->returned) >= HOME_HELD_MAX)
        return;
    //  (a short poll while return messages are held: until each is
    //  deleted its FIFO group holds back the next, and a long poll may not
    //  wake when it is)
    json_t *body = json_pack ("{s:i, s:i, s:i, s:[s], s:[s]}", "MaxNumberOfMessages", 10, "WaitTimeSeconds",
                              zhashx_size (self->returned) ? 1 : self->wait_s, "VisibilityTimeout",
                              self->visibility_s, "AttributeNames", "ApproximateReceiveCount",
                              "MessageAttributeNames", "All");
    char *json = bridge_json_at (self->return_url, body);
    bridge_sqs_call (self->backchannel, "ReceiveMessage", json, bridge_tag (self, CALL_RETURNS_RECEIVE, NULL, 0));
    free (json);
    self->backchannel_polling = true;
}

//  Ask the aggregator what the return message asks
static void
s_ask (bridge_t *self, bridge_ret_t *ret)
{
    norc_sqs_return_t *r = &ret->msg->sqs_return;
    ret->state = RET_ASKING;
    ret->asked = ++self->next_tag;
    char key [32], text [32];
    zhashx_update (self->answering, bridge_key (ret->asked, key, sizeof key), norc_strdup (ret->message_id));
    norc_strmap_t args = { 0 };
    if (strcmp (r->kind, "register") == 0) {
        //  One of the site's executors, registered by this bridge (which
        //  vouches for its sites' executors: docs/security.md)
        bridge_ask (self, ret->asked, "daemon.register", &r->args);
        return;
    }
    norc_strmap_set (&args, "instance", bridge_key (r->instance_id, text, sizeof text));
    norc_strmap_set (&args, "executor", bridge_key (r->executor_id, text, sizeof text));
    if (strcmp (r->kind, "claim") == 0) {
        snprintf (text, sizeof text, "%d", r->attempt);
        norc_strmap_set (&args, "attempt", text);
        norc_strmap_set (&args, "digest", r->digest ? r->digest : "");
        bridge_ask (self, ret->asked, "sqs.claim", &args);
    }
    else
        bridge_ask (self, ret->asked, "sqs.release", &args);
    norc_strmap_clear (&args);
}

static const char *
s_ret_receipt (bridge_t *self, const char *id)
{
    bridge_ret_t *ret = (bridge_ret_t *) zhashx_lookup (self->returned, id);
    return ret ? ret->receipt : NULL;
}

//  Delete what is done, ten to a request
void
bridge_home_delete_flush (bridge_t *self)
{
    bridge_delete_batches (self, self->return_url, self->returns_done, CALL_RETURNS_DELETE, s_ret_receipt);
}

//  A return message done with: deleted with others, ten to a request, or
//  after bridge.batch_ms
static void
s_delete (bridge_t *self, bridge_ret_t *ret)
{
    if (ret->state == RET_DELETING)
        return;
    ret->state = RET_DELETING;
    if (zlist_size (self->returns_done) == 0)
        self->returns_done_since = norc_mono_us ();
    zlist_append (self->returns_done, ret->message_id);     //  (copied: autofree)
    if (!bridge_batch_waits (self, BATCH_RETURNS_DELETE, zlist_size (self->returns_done), 10,
                             self->returns_done_since))
        bridge_home_delete_flush (self);
}

static void
s_poison (bridge_t *self, const char *id, const char *site, const char *count, const char *why)
{
    self->poison++;
    norc_log_warnx ("return message %s (norc-site %s), received %s times: %s: left for the dead-letter queue", id,
                    site ? site : "none", count ? count : "?", why);
}

//  The event an "event" return message carries: a start, an end or a
//  daemon's status, nothing else
static norc_msg_t *
s_event (const norc_sqs_return_t *r, const char **why)
{
    const char *error = NULL;
    norc_msg_t *event = r->data.size ? norc_msg_decode (r->data.data, r->data.size, &error) : NULL;
    if (!event)
        *why = "an event that is not a Norc message";
    else
    if (event->id != NORC_MSG_INSTANCE_STARTED && event->id != NORC_MSG_INSTANCE_ENDED
    &&  event->id != NORC_MSG_DAEMON_STATUS && event->id != NORC_MSG_CONTROL_REPLY) {
        *why = "an event other than a start, an end, a daemon's status or a control request's answer";
        norc_msg_destroy (&event);
    }
    return event;
}

static norc_msg_t *
s_heartbeat_copy (const norc_msg_t *hb, int64_t sent_us)
{
    norc_msg_t *copy = norc_msg_new (NORC_MSG_HEARTBEAT);
    norc_heartbeat_t *h = &copy->heartbeat;
    h->daemon_id = hb->heartbeat.daemon_id;
    h->kind = norc_strdup (hb->heartbeat.kind ? hb->heartbeat.kind : "executor");
    h->host = norc_strdup (hb->heartbeat.host ? hb->heartbeat.host : "");
    h->pid = hb->heartbeat.pid;
    h->status = hb->heartbeat.status;
    h->running = hb->heartbeat.running;
    h->free = hb->heartbeat.free;
    h->sent_us = sent_us;
    return copy;
}

//  The chunk of output a "log" return message carries
static norc_msg_t *
s_chunk (const norc_sqs_return_t *r, const char **why)
{
    const char *error = NULL;
    norc_msg_t *chunk = r->data.size ? norc_msg_decode (r->data.data, r->data.size, &error) : NULL;
    if (!chunk || chunk->id != NORC_MSG_LOG_CHUNK || chunk->log_chunk.offset == NORC_LOG_APPEND) {
        *why = "a log that is not a chunk of output at an offset";
        norc_msg_destroy (&chunk);
    }
    return chunk;
}

//  The archiver holds an instance's log up to seq: the chunks it holds go
static int
s_handle_archiver (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    bridge_t *self = (bridge_t *) arg;
    for (int i = 0; i < 256 && zsock_events (sock) & ZMQ_POLLIN; i++) {
        norc_msg_t *msg = norc_msg_recv (sock);
        if (msg && msg->id == NORC_MSG_ACK && msg->ack.instance_id)
            for (bridge_ret_t *ret = (bridge_ret_t *) zhashx_first (self->returned); ret;
                 ret = (bridge_ret_t *) zhashx_next (self->returned))
                if (ret->state == RET_RELAYING && ret->log_instance == msg->ack.instance_id
                &&  ret->log_end <= msg->ack.seq)
                    s_delete (self, ret);
        norc_msg_destroy (&msg);
    }
    return 0;
}

//  A site's beat: its executors' last heartbeats, replayed from now on
static int
s_beat (bridge_t *self, const char *name, const norc_sqs_return_t *r, const char **why)
{
    zhashx_t *heartbeats = zhashx_new ();
    zhashx_set_destructor (heartbeats, s_msg_free);
    size_t at = 0;
    while (at + 4 <= r->data.size) {
        const uint8_t *p = r->data.data + at;
        size_t size = (size_t) p [0] << 24 | (size_t) p [1] << 16 | (size_t) p [2] << 8 | p [3];
        const char *error = NULL;
        norc_msg_t *hb = at + 4 + size <= r->data.size ? norc_msg_decode (p + 4, size, &error) : NULL;
        if (!hb || hb->id != NORC_MSG_HEARTBEAT) {
            norc_msg_destroy (&hb);
            break;
        }
        char key [32];
        zhashx_update (heartbeats, bridge_key (hb->heartbeat.daemon_id, key, sizeof key), hb);
        at += 4 + size;
    }
    if (at != r->data.size) {
        *why = "a beat whose heartbeats do not read";
        zhashx_destroy (&heartbeats);
        return NORC_ERROR;
    }
    bridge_site_t *site = s_site (self, name);
    //  Those registered since the site beat last keep the heartbeat made
    //  for them until the site's own names them
    for (norc_msg_t *hb = (norc_msg_t *) zhashx_first (site->heartbeats); hb;
         hb = (norc_msg_t *) zhashx_next (site->heartbeats))
        if (hb->heartbeat.sent_us == 0 && !zhashx_lookup (heartbeats, zhashx_cursor (site->heartbeats)))
            zhashx_update (heartbeats, zhashx_cursor (site->heartbeats), s_heartbeat_copy (hb, 0));
    zhashx_destroy (&site->heartbeats);
    site->heartbeats = heartbeats;
    site->beat_at = norc_mono_us ();
    if (site->silent)
        norc_log_info ("site %s: beating again", name);
    site->silent = false;
    return NORC_OK;
}

void
bridge_home_beat (bridge_t *self)
{
    norc_us_t now = norc_mono_us ();
    for (bridge_site_t *site = (bridge_site_t *) zhashx_first (self->sites); site;
         site = (bridge_site_t *) zhashx_next (self->sites)) {
        if (now - site->beat_at > self->site_failure_s * NORC_US_PER_SEC) {
            if (!site->silent)
                norc_log_warnx ("site %s: no beat for %d s (bridge.site_failure_s): its %zu executors are no longer "
                                "said alive, and are recorded dead after heartbeat.failure_ms",
                                (const char *) zhashx_cursor (self->sites), self->site_failure_s,
                                zhashx_size (site->heartbeats));
            site->silent = true;
            continue;
        }
        for (norc_msg_t *hb = (norc_msg_t *) zhashx_first (site->heartbeats); hb;
             hb = (norc_msg_t *) zhashx_next (site->heartbeats)) {
            norc_msg_t *copy = s_heartbeat_copy (hb, norc_now_us ());
            norc_msg_send (&copy, norc_link_socket (self->link));
        }
    }
}

//  An executor registered for a site: said alive at once, until the
//  site's beat brings its own heartbeat
static void
s_registered (bridge_t *self, const char *name, const norc_strmap_t *args, const char *id)
{
    bridge_site_t *site = s_site (self, name);
    if (site->silent)
        site->beat_at = norc_mono_us ();
    site->silent = false;
    norc_msg_t *hb = norc_msg_new (NORC_MSG_HEARTBEAT);
    norc_id_parse (id, &hb->heartbeat.daemon_id);
    hb->heartbeat.kind = norc_strdup (norc_strmap_get (args, "kind") ?: "executor");
    hb->heartbeat.host = norc_strdup (norc_strmap_get (args, "host") ?: "");
    hb->heartbeat.pid = atoll (norc_strmap_get (args, "pid") ?: "0");
    hb->heartbeat.status = NORC_ST_RUNNING;
    hb->heartbeat.free = atoi (norc_strmap_get (args, "concurrency") ?: "0");
    zhashx_update (site->heartbeats, id, hb);
}

//  Why a return message opened from site cannot be taken, or NULL; an
//  event's message in *carried; a beat is taken here
static const char *
s_check (bridge_t *self, const char *site, const norc_sqs_return_t *r, norc_msg_t **carried)
{
    const char *kind = r->kind ? r->kind : "", *why = NULL;
    bool claim = strcmp (kind, "claim") == 0, release = strcmp (kind, "release") == 0;
    bool registration = strcmp (kind, "register") == 0;
    if (!r->site || strcmp (r->site, site))
        return "its body names another site than its attribute";
    if (!claim && !release && !registration && strcmp (kind, "event") && strcmp (kind, "beat") && strcmp (kind, "log"))
        return "a kind this version does not take";
    if ((claim || release) && (!r->instance_id || !r->executor_id))
        return "no instance or no executor";
    if ((claim || registration) && (!r->reply_url || !*r->reply_url || !r->request_id))
        return "no reply queue or no number to answer";
    if (strcmp (kind, "event") == 0)
        *carried = s_event (r, &why);
    if (strcmp (kind, "log") == 0)
        *carried = s_chunk (r, &why);
    if (strcmp (kind, "beat") == 0)
        s_beat (self, site, r, &why);
    return why;
}

static void
s_on_return (bridge_t *self, json_t *message)
{
    const char *id = json_string_value (json_object_get (message, "MessageId"));
    const char *receipt = json_string_value (json_object_get (message, "ReceiptHandle"));
    const char *body = json_string_value (json_object_get (message, "Body"));
    const char *site = json_string_value (json_object_get (json_object_get (json_object_get (message,
                                          "MessageAttributes"), "norc-site"), "StringValue"));
    const char *count = json_string_value (json_object_get (json_object_get (message, "Attributes"),
                                                            "ApproximateReceiveCount"));
    if (!id || !receipt)
        return;
    self->returns_read++;
    bridge_ret_t *ret = (bridge_ret_t *) zhashx_lookup (self->returned, id);
    if (ret) {
        //  Given again while held (the aggregator has not answered within
        //  the visibility timeout): the new receipt deletes it; asked again
        free (ret->receipt);
        ret->receipt = norc_strdup (receipt);
        const char *ignored = NULL;
        norc_msg_t *chunk = ret->log_instance && ret->state == RET_RELAYING
                          ? s_chunk (&ret->msg->sqs_return, &ignored) : NULL;
        if (ret->state == RET_ASKING)
            s_ask (self, ret);
        else
        if (chunk)
            norc_msg_send (&chunk, self->archiver);     //  the archiver did not say it holds it: again
        norc_msg_destroy (&chunk);
        return;
    }
    const uint8_t *key = site ? (const uint8_t *) zhashx_lookup (self->peers, site) : NULL;
    if (!key) {
        s_poison (self, id, site, count, "from no site of bridge.peers");
        return;
    }
    const char *why = NULL;
    norc_msg_t *msg = norc_site_decode (body, NORC_MSG_SQS_RETURN, self->own_secret, key, &why);
    norc_sqs_return_t *r = msg ? &msg->sqs_return : NULL;
    norc_msg_t *carried = NULL;
    if (r)
        why = s_check (self, site, r, &carried);
    const char *kind = r && r->kind ? r->kind : "";
    bool beat = strcmp (kind, "beat") == 0, event = strcmp (kind, "event") == 0;
    if (why) {
        s_poison (self, id, site, count, why);
        norc_msg_destroy (&msg);
        return;
    }
    ret = (bridge_ret_t *) norc_calloc (1, sizeof (bridge_ret_t));
    ret->message_id = norc_strdup (id);
    ret->receipt = norc_strdup (receipt);
    ret->msg = msg;
    zhashx_insert (self->returned, id, ret);
    if (r->reply_url && *r->reply_url) {
        bridge_site_t *known = s_site (self, site);
        if (!known->reply_url || strcmp (known->reply_url, r->reply_url)) {
            free (known->reply_url);
            known->reply_url = norc_strdup (r->reply_url);
        }
    }
    if (beat)
        s_delete (self, ret);
    else
    if (carried && carried->id == NORC_MSG_LOG_CHUNK) {
        //  To the archiver; deleted once it holds the chunk's end
        ret->state = RET_RELAYING;
        ret->log_instance = carried->log_chunk.instance_id;
        ret->log_end = carried->log_chunk.offset + carried->log_chunk.data.size + (carried->log_chunk.eof ? 1 : 0);
        norc_msg_send (&carried, self->archiver);
    }
    else
    if (event && carried->id == NORC_MSG_CONTROL_REPLY) {
        //  An answer to a control request forwarded to the site: as is
        norc_msg_send (&carried, norc_link_socket (self->link));
        s_delete (self, ret);
    }
    else
    if (event) {
        //  Relayed as the executor sent it; deleted once the aggregator
        //  committed it (a copy relayed again changes nothing)
        ret->state = RET_RELAYING;
        uint64_t tag = ++self->next_tag;
        char tag_key [32];
        zhashx_update (self->relaying, bridge_key (tag, tag_key, sizeof tag_key), norc_strdup (id));
        norc_link_send_tagged (self->link, &carried, tag);
    }
    else
        s_ask (self, ret);
}

//  The claim's answer, sealed to its site, on the site's reply queue
static void
s_reply (bridge_t *self, bridge_ret_t *ret, const norc_msg_t *answer)
{
    norc_sqs_return_t *r = &ret->msg->sqs_return;
    norc_msg_t *msg = norc_msg_new (NORC_MSG_SQS_REPLY);
    norc_sqs_reply_t *reply = &msg->sqs_reply;
    reply->version = 1;
    reply->site = norc_strdup (r->site);
    bool claim = strcmp (r->kind, "claim") == 0;
    reply->kind = norc_strdup (claim ? "claimed" : "registered");
    reply->instance_id = r->instance_id;
    reply->attempt = r->attempt;
    reply->tick_message = norc_strdup (r->tick_message ? r->tick_message : "");
    reply->request_id = r->request_id;
    const norc_strmap_t *row = answer->api_reply.rows.count ? &answer->api_reply.rows.rows [0] : NULL;
    const char *outcome = row && !answer->api_reply.code ? norc_strmap_get (row, "outcome") : NULL;
    reply->outcome = norc_strdup (outcome ? outcome : "");
    reply->reason = norc_strdup (answer->api_reply.code ? (answer->api_reply.error ? answer->api_reply.error : "?")
                                 : row && norc_strmap_get (row, "reason") ? norc_strmap_get (row, "reason") : "");
    for (size_t i = 0; outcome && i < row->count; i++)
        norc_strmap_set (&reply->definition, row->keys [i], row->values [i]);
    if (!claim && row && !answer->api_reply.code && norc_strmap_get (row, "id")) {
        norc_strmap_set (&reply->definition, "id", norc_strmap_get (row, "id"));
        s_registered (self, r->site, &r->args, norc_strmap_get (row, "id"));
    }
    char *body = bridge_site_seal (self, msg, r->site);
    char dedup [65];
    bridge_site_dedup (r->site, reply->kind, r->instance_id, r->attempt, r->request_id, dedup);
    ret->state = RET_REPLYING;
    char group [64];
    snprintf (group, sizeof group, "%s.%llu", reply->kind, (unsigned long long) r->request_id);
    bridge_site_send (self, r->reply_url, body, group, dedup, CALL_REPLY, norc_strdup (ret->message_id));
    free (body);
    norc_msg_destroy (&msg);
}

bool
bridge_home_on_api (bridge_t *self, norc_msg_t *reply)
{
    char key [32];
    bridge_key (reply->api_reply.request_id, key, sizeof key);
    char *message_id = (char *) zhashx_lookup (self->answering, key);
    if (!message_id)
        return false;
    bridge_ret_t *ret = (bridge_ret_t *) zhashx_lookup (self->returned, message_id);
    zhashx_delete (self->answering, key);
    if (!ret || ret->asked != reply->api_reply.request_id || ret->state != RET_ASKING)
        return true;        //  an answer to a question asked again since
    if (strcmp (ret->msg->sqs_return.kind, "release"))
        s_reply (self, ret, reply);
    else
    if (reply->api_reply.code == 0 || reply->api_reply.code == NORC_CONFLICT)
        s_delete (self, ret);   //  given back, or not waiting there any more: done either way
    else {
        norc_log_warnx ("instance=%llu: a site's release was not taken (%s): asked again when it comes back",
                        (unsigned long long) ret->msg->sqs_return.instance_id,
                        reply->api_reply.error ? reply->api_reply.error : "?");
        zhashx_delete (self->returned, ret->message_id);
    }
    return true;
}

void
bridge_home_on_answer (bridge_t *self, bridge_call_t *call, const bridge_sqs_answer_t *answer)
{
    static const char *actions [] = { [CALL_RETURNS_RECEIVE] = "ReceiveMessage (return queue)",
                                      [CALL_REPLY] = "SendMessage (reply queue)",
                                      [CALL_RETURNS_DELETE] = "DeleteMessageBatch (return queue)" };
    if (call->kind == CALL_RETURNS_RECEIVE)
        self->backchannel_polling = false;
    bridge_ret_t *ret = call->count ? (bridge_ret_t *) zhashx_lookup (self->returned, call->keys [0]) : NULL;
    if (answer->error.outcome != NORC_AWS_DONE) {
        //  Not answered or not deleted: it comes back, and is asked again
        bridge_sqs_refused (self, actions [call->kind], answer);
        for (size_t k = 0; k < call->count && call->kind != CALL_RETURNS_RECEIVE; k++)
            zhashx_delete (self->returned, call->keys [k]);
        if (call->kind == CALL_RETURNS_RECEIVE && answer->status)
            zclock_sleep (200);
        return;
    }
    if (call->kind == CALL_RETURNS_RECEIVE) {
        json_t *root = json_loads (answer->body, 0, NULL);
        size_t i;
        json_t *entry;
        json_array_foreach (json_object_get (root, "Messages"), i, entry)
            s_on_return (self, entry);
        json_decref (root);
    }
    else
    if (call->kind == CALL_REPLY) {
        self->replies_sent++;
        bridge_fault (self, "replied");
        if (ret)
            s_delete (self, ret);
    }
    else {
        //  Deleted (one that failed comes back, and is found done or done again)
        for (size_t k = 0; k < call->count; k++)
            zhashx_delete (self->returned, call->keys [k]);
        json_t *root = json_loads (answer->body, 0, NULL);
        size_t i;
        json_t *entry;
        json_array_foreach (json_object_get (root, "Failed"), i, entry)
            norc_log_warnx ("a return message was not deleted (%s): it comes back",
                            json_string_value (json_object_get (entry, "Code")) ?: "?");
        json_decref (root);
    }
}

void
bridge_home_forward (bridge_t *self, const norc_control_t *c)
{
    char key [32];
    bridge_key (c->daemon_id, key, sizeof key);
    const char *name = NULL;
    bridge_site_t *site = NULL;
    for (bridge_site_t *each = (bridge_site_t *) zhashx_first (self->sites); each && !site;
         each = (bridge_site_t *) zhashx_next (self->sites))
        if (zhashx_lookup (each->heartbeats, key)) {
            site = each;
            name = (const char *) zhashx_cursor (self->sites);
        }
    if (!site || !site->reply_url) {
        norc_log_warnx ("a control request for daemon %s, which is no site's executor: not forwarded", key);
        return;
    }
    //  The aggregator asks a daemon recorded dead to register again at
    //  every heartbeat write: forwarded once per heartbeat.failure_ms
    norc_us_t now = norc_mono_us ();
    if (c->request == NORC_REQ_REREGISTER) {
        int64_t *last = (int64_t *) zhashx_lookup (site->reregistered, key);
        int64_t rest = norc_config_int (self->config, "heartbeat.failure_ms") * 1000;
        if (last && now - *last < rest)
            return;
        int64_t *at = (int64_t *) norc_malloc (sizeof (int64_t));
        *at = now;
        zhashx_update (site->reregistered, key, at);
    }
    norc_msg_t *msg = norc_msg_new (NORC_MSG_SQS_REPLY);
    norc_sqs_reply_t *reply = &msg->sqs_reply;
    reply->version = 1;
    reply->site = norc_strdup (name);
    reply->kind = norc_strdup ("control");
    reply->daemon_id = c->daemon_id;
    reply->control_id = c->request_id;
    reply->request = c->request;
    reply->instance_id = c->instance_id;
    reply->requested_by = norc_strdup (c->requested_by ? c->requested_by : "");
    char *body = bridge_site_seal (self, msg, name);
    char group [64], dedup [65];
    snprintf (group, sizeof group, "control.%s", key);
    bridge_site_dedup (name, "control", c->instance_id, c->request, c->request_id ? c->request_id : (uint64_t) now,
                       dedup);
    if (body)
        bridge_site_send (self, site->reply_url, body, group, dedup, CALL_REPLY, norc_strdup (""));
    free (body);
    norc_msg_destroy (&msg);
}
