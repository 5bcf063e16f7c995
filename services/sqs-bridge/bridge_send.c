//  bridge_send.c - the sending side of norc-sqs-bridge. To the dispatching
//  scheduler it is an executor of the sqs queue: it says HELLO, grants
//  credits (its window), and each ASSIGN it gets is an instance already
//  committed to the record, held by this bridge. It sends each as an
//  SQS-TICK (SendMessageBatch, ten at a time), and keeps it, reported as
//  running in its HELLO, until the stream says it was claimed, started or
//  ended. One sent and not claimed within bridge.claim_deadline_ms is sent
//  again with the same deduplication id (the deadline doubling each time,
//  at most 15 min). After a restart, what this process held waits again
//  in the record (the dead bridge's assignments) and is handed to the next
//  bridge: the record is what is held, never this process's memory.
#include "bridge_internal.h"
#include "norc_tick.h"
#include "norc_zmq.h"
#include "norc_mem.h"
#include "norc_log.h"
#include "norc_authz.h"
#include <sodium.h>
#include <unistd.h>

//  Calls on the ops lane at once, at most
#define SEND_CALLS_MAX 4

static void
s_out_free (void **item)
{
    bridge_out_t *out = (bridge_out_t *) *item;
    if (!out)
        return;
    free (out->body);
    free (out->dedup);
    free (out->group);
    free (out->task);
    free (out);
    *item = NULL;
}

void
bridge_send_hello (bridge_t *self)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_HELLO);
    norc_hello_t *h = &msg->hello;
    h->executor_id = self->id;
    h->host = norc_strdup (self->host);
    h->pid = getpid ();
    h->queue = norc_strdup (self->queue);
    h->concurrency = self->window;
    for (bridge_out_t *out = (bridge_out_t *) zhashx_first (self->outgoing); out;
         out = (bridge_out_t *) zhashx_next (self->outgoing))
        norc_u64list_append (&h->running, out->instance_id);
    norc_msg_send (&msg, self->upstream);
    self->freed = 0;
}

static void
s_credit (bridge_t *self)
{
    if (self->freed <= 0)
        return;
    norc_msg_t *msg = norc_msg_new (NORC_MSG_CREDIT);
    msg->credit.executor_id = self->id;
    msg->credit.credits = self->freed;
    norc_msg_send (&msg, self->upstream);
    self->freed = 0;
}

//  An ASSIGN: the instance becomes an SQS-TICK, to be sent
static void
s_on_assign (bridge_t *self, const norc_assign_t *a)
{
    char key [32];
    bridge_key (a->instance_id, key, sizeof key);
    bridge_out_t *out = (bridge_out_t *) zhashx_lookup (self->outgoing, key);
    if (out) {
        //  Handed over again (the scheduler did not hear of it): send again
        out->sent = false;
        out->not_before = 0;
        out->ready_at = norc_mono_us ();
        return;
    }
    norc_msg_t *tick = norc_msg_new (NORC_MSG_SQS_TICK);
    norc_sqs_tick_t *t = &tick->sqs_tick;
    t->instance_id = a->instance_id;
    t->nominal_us = a->nominal_us;
    t->attempt = a->attempt;
    t->task = norc_strdup (a->task ? a->task : "");
    t->queue = norc_strdup (self->queue);
    char digest [65];
    norc_tick_digest (a->command, a->cwd, a->timeout_s, a->log_max_bytes, &a->env, digest);
    t->digest = norc_strdup (digest);
    t->sent_us = norc_now_us ();
    t->origin = norc_strdup (self->host);
    out = (bridge_out_t *) norc_calloc (1, sizeof (bridge_out_t));
    out->instance_id = a->instance_id;
    out->body = norc_tick_encode (tick);
    out->task = norc_strdup (t->task);
    norc_msg_destroy (&tick);
    //  FIFO: one deduplication id per tick (its instance and attempt), so
    //  every send of it within SQS's five minutes is one message; the
    //  group is the queue (FIFO order across the queue's instances)
    char text [64], hash [65];
    snprintf (text, sizeof text, "%llu:%d", (unsigned long long) a->instance_id, a->attempt);
    uint8_t bin [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (bin, (const uint8_t *) text, strlen (text));
    sodium_bin2hex (hash, sizeof hash, bin, sizeof bin);
    out->dedup = norc_strdup (hash);
    out->group = norc_strdup (self->queue);
    out->ready_at = norc_mono_us ();
    zhashx_insert (self->outgoing, key, out);
}

int
bridge_send_handle_upstream (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    bridge_t *self = (bridge_t *) arg;
    for (int i = 0; i < 1024 && zsock_events (sock) & ZMQ_POLLIN; i++) {
        norc_msg_t *msg = norc_msg_recv (sock);
        if (msg && msg->id == NORC_MSG_ASSIGN)
            s_on_assign (self, &msg->assign);
        else
        if (msg)
            norc_log_warnx ("unexpected %s from the scheduler", norc_msg_name (msg));
        norc_msg_destroy (&msg);
    }
    bridge_send_flush (self);
    return 0;
}

//  Send what waits, ten to a call, a few calls at once; fewer than ten
//  wait up to bridge.batch_ms for more
void
bridge_send_flush (bridge_t *self)
{
    norc_us_t now = norc_mono_us ();
    size_t ready = 0;
    norc_us_t oldest = now;
    for (bridge_out_t *out = (bridge_out_t *) zhashx_first (self->outgoing); out && ready < 10;
         out = (bridge_out_t *) zhashx_next (self->outgoing))
        if (!out->sent && out->not_before <= now) {
            ready++;
            oldest = out->ready_at < oldest ? out->ready_at : oldest;
        }
    if (ready == 0 || bridge_batch_waits (self, BATCH_SEND, ready, 10, oldest))
        return;
    while (bridge_sqs_busy (self->ops) < SEND_CALLS_MAX) {
        json_t *entries = json_array ();
        char **keys = (char **) norc_calloc (10, sizeof (char *));
        size_t count = 0;
        for (bridge_out_t *out = (bridge_out_t *) zhashx_first (self->outgoing); out && count < 10;
             out = (bridge_out_t *) zhashx_next (self->outgoing)) {
            if (out->sent || out->not_before > now)
                continue;
            out->sent = true;           //  on its way (the answer says how it went)
            out->sent_at = now;
            char id [32];
            snprintf (id, sizeof id, "i%llu", (unsigned long long) out->instance_id);
            json_t *entry = json_pack ("{s:s, s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}}", "Id", id, "MessageBody",
                                       out->body, "MessageAttributes", "norc-queue", "DataType", "String",
                                       "StringValue", self->queue, "norc-task", "DataType", "String",
                                       "StringValue", *out->task ? out->task : "-");
            if (self->fifo) {
                json_object_set_new (entry, "MessageDeduplicationId", json_string (out->dedup));
                json_object_set_new (entry, "MessageGroupId", json_string (out->group));
            }
            json_array_append_new (entries, entry);
            keys [count++] = norc_strdup (id + 1);
        }
        if (!bridge_call_batch (self, "SendMessageBatch", CALL_SEND, entries, keys, count))
            break;
    }
}

static void
s_failed (bridge_t *self, const char *key, const char *why)
{
    bridge_out_t *out = (bridge_out_t *) zhashx_lookup (self->outgoing, key);
    if (!out)
        return;
    out->sent = false;
    out->sends++;
    self->send_failures++;
    //  Tried again after a while, longer each time (at most a minute)
    int64_t wait = norc_aws_backoff_ms (out->sends, 500, 60000, randombytes_uniform (1000001) / 1e6) + 100;
    out->not_before = norc_mono_us () + wait * 1000;
    out->ready_at = out->not_before;
    if (why)
        norc_log_warnx ("instance=%s: not sent (%s): again in %lld ms", key, why, (long long) wait);
}

void
bridge_send_on_answer (bridge_t *self, bridge_call_t *call, const bridge_sqs_answer_t *answer)
{
    if (answer->error.outcome != NORC_AWS_DONE) {
        bridge_sqs_refused (self, "SendMessageBatch", answer);
        for (size_t i = 0; i < call->count; i++)
            s_failed (self, call->keys [i], NULL);
        return;
    }
    json_t *root = json_loads (answer->body, 0, NULL);
    json_t *ok = json_object_get (root, "Successful"), *failed = json_object_get (root, "Failed");
    size_t i;
    json_t *entry;
    norc_us_t now = norc_mono_us ();
    json_array_foreach (ok, i, entry) {
        const char *id = json_string_value (json_object_get (entry, "Id"));
        bridge_out_t *out = id && *id == 'i' ? (bridge_out_t *) zhashx_lookup (self->outgoing, id + 1) : NULL;
        if (!out)
            continue;
        out->sent = true;
        out->sent_at = now;
        if (out->sends++)
            self->resent++;
        self->sent++;
    }
    bridge_fault (self, "sent");
    json_array_foreach (failed, i, entry) {
        const char *id = json_string_value (json_object_get (entry, "Id"));
        const char *code = json_string_value (json_object_get (entry, "Code"));
        const char *message = json_string_value (json_object_get (entry, "Message"));
        char why [300];
        snprintf (why, sizeof why, "%s%s%s", code ? code : "?", message ? ": " : "", message ? message : "");
        if (id && *id == 'i')
            s_failed (self, id + 1, why);
    }
    //  An entry the answer does not name was not sent
    for (size_t k = 0; k < call->count; k++) {
        bool named = false;
        char id [40];
        snprintf (id, sizeof id, "i%s", call->keys [k]);
        json_array_foreach (ok, i, entry)
            named = named || strcmp (json_string_value (json_object_get (entry, "Id")) ?: "", id) == 0;
        json_array_foreach (failed, i, entry)
            named = named || strcmp (json_string_value (json_object_get (entry, "Id")) ?: "", id) == 0;
        if (!named)
            s_failed (self, call->keys [k], "not in SQS's answer");
    }
    json_decref (root);
}

void
bridge_send_gone (bridge_t *self, uint64_t instance_id)
{
    char key [32];
    bridge_key (instance_id, key, sizeof key);
    if (zhashx_lookup (self->outgoing, key)) {
        zhashx_delete (self->outgoing, key);
        self->freed++;
        s_credit (self);
    }
}

//  How long a send waits for its claim: the deadline, doubled for each
//  send already made, at most a quarter of an hour (a site that is down
//  for a day gets a few copies of each tick, not thousands)
static int64_t
s_deadline_ms (bridge_t *self, const bridge_out_t *out)
{
    int64_t deadline = self->claim_deadline_ms;
    for (int i = 1; i < out->sends && deadline < 900000; i++)
        deadline *= 2;
    return deadline < 900000 || self->claim_deadline_ms > 900000 ? deadline : 900000;
}

//  Every heartbeat: what was sent and not claimed by its deadline is sent
//  again (the same deduplication id), then HELLO
void
bridge_send_beat (bridge_t *self)
{
    norc_us_t now = norc_mono_us ();
    for (bridge_out_t *out = (bridge_out_t *) zhashx_first (self->outgoing); out;
         out = (bridge_out_t *) zhashx_next (self->outgoing)) {
        int64_t deadline = s_deadline_ms (self, out);
        if (out->sent && out->sends && now - out->sent_at > deadline * 1000) {
            norc_log_warnx ("instance=%llu: sent %d times, the last %lld s ago, and not claimed: sent again "
                            "(is a receiving site up?)", (unsigned long long) out->instance_id, out->sends,
                            (long long) (deadline / 1000));
            //  ...and in the record, where a user looks (norcctl instance show)
            norc_strmap_t args = { 0 };
            char text [300];
            snprintf (text, sizeof text, "%llu", (unsigned long long) out->instance_id);
            norc_strmap_set (&args, "instance", text);
            snprintf (text, sizeof text, "sent to SQS %d times by bridge %llu, the last %lld s ago, and claimed by no "
                      "site yet: sent again (is a receiving bridge up?)", out->sends, (unsigned long long) self->id,
                      (long long) (deadline / 1000));
            norc_strmap_set (&args, "reason", text);
            bridge_ask (self, 0, "sqs.waiting", &args);
            norc_strmap_clear (&args);
            out->sent = false;
            out->not_before = 0;
            out->ready_at = 0;
        }
    }
    bridge_send_hello (self);
    bridge_send_flush (self);
}

int
bridge_send_start (bridge_t *self)
{
    self->outgoing = zhashx_new ();
    zhashx_set_destructor (self->outgoing, s_out_free);
    self->upstream = norc_zmq_connect (ZMQ_DEALER, norc_config_str (self->config, "scheduler.dispatch"));
    if (!self->upstream)
        return NORC_ERROR;
    zloop_reader (self->loop, self->upstream, bridge_send_handle_upstream, self);
    bridge_send_hello (self);
    return NORC_OK;
}

//  On the way out: everything held goes back to the scheduler, which hands
//  it to another bridge (or to this one, started again)
void
bridge_send_stop (bridge_t *self)
{
    if (self->upstream && self->outgoing) {
        for (bridge_out_t *out = (bridge_out_t *) zhashx_first (self->outgoing); out;
             out = (bridge_out_t *) zhashx_next (self->outgoing)) {
            norc_msg_t *msg = norc_msg_new (NORC_MSG_RELEASE);
            msg->release.executor_id = self->id;
            msg->release.instance_id = out->instance_id;
            msg->release.reason = norc_strdup ("its bridge stopped");
            norc_msg_send (&msg, self->upstream);
        }
        zclock_sleep (100);
    }
    zhashx_destroy (&self->outgoing);
    zsock_destroy (&self->upstream);
}
