//  bridge_recv.c - the receiving side of norc-sqs-bridge. To this site's
//  executors it is their dispatcher (they connect to bridge.dispatch as
//  to a scheduler's): it knows their free slots from HELLO and CREDIT,
//  and receives from SQS at most as many messages as they have free slots
//  (a long poll, never a sleep). Each message's tick is claimed from the
//  control plane for one executor (sqs.claim: the record decides, under
//  the instance's lock); an accepted claim returns what to run, checked
//  against the tick's digest, and goes to that executor as ASSIGN; the
//  message is deleted once the run has started (the stream says so, or
//  the executor's HELLO lists it) or the claim says there is nothing to
//  run. Until then the message's visibility is extended, and a kill at
//  any point leaves the message to come back: claimed again, it is run by
//  the executor that holds it, or found started and deleted as a copy.
//  A body that is not an SQS-TICK is poison: counted, logged, and left
//  for SQS's redrive policy to move to the dead-letter queue.
#include "bridge_internal.h"
#include "norc_tick.h"
#include "norc_zmq.h"
#include "norc_mem.h"
#include "norc_log.h"
#include "norc_authz.h"

static void
s_in_free (void **item)
{
    bridge_in_t *in = (bridge_in_t *) *item;
    if (!in)
        return;
    free (in->message_id);
    free (in->receipt);
    free (in->task);
    free (in);
    *item = NULL;
}

static void
s_exec_free (void **item)
{
    bridge_exec_t *exec = (bridge_exec_t *) *item;
    if (!exec)
        return;
    zframe_destroy (&exec->routing_id);
    norc_u64list_clear (&exec->running);
    free (exec);
    *item = NULL;
}

static void
s_str_free (void **item)
{
    free (*item);
    *item = NULL;
}

static bridge_exec_t *
s_exec_by_id (bridge_t *self, uint64_t executor_id)
{
    for (bridge_exec_t *exec = (bridge_exec_t *) zhashx_first (self->executors); exec;
         exec = (bridge_exec_t *) zhashx_next (self->executors))
        if (exec->executor_id == executor_id && !exec->wrong_queue)
            return exec;
    return NULL;
}

static int
s_free_slots (bridge_t *self)
{
    int free_slots = 0;
    for (bridge_exec_t *exec = (bridge_exec_t *) zhashx_first (self->executors); exec;
         exec = (bridge_exec_t *) zhashx_next (self->executors))
        if (!exec->wrong_queue && exec->credits > exec->reserved)
            free_slots += exec->credits - exec->reserved;
    return free_slots;
}

//  The executor with the most slots not promised
static bridge_exec_t *
s_pick (bridge_t *self)
{
    bridge_exec_t *best = NULL;
    for (bridge_exec_t *exec = (bridge_exec_t *) zhashx_first (self->executors); exec;
         exec = (bridge_exec_t *) zhashx_next (self->executors))
        if (!exec->wrong_queue && exec->credits > exec->reserved
        &&  (!best || exec->credits - exec->reserved > best->credits - best->reserved))
            best = exec;
    return best;
}

//  Receive, when a slot is free and no poll is out: at once for ten (or
//  every slot there is), else after bridge.batch_ms, so that slots
//  freed one by one make one receive, not one each
void
bridge_recv_poll (bridge_t *self)
{
    if (!self->receiving || self->polling || self->done)
        return;
    int free_slots = s_free_slots (self), slots = 0;
    if (free_slots <= 0) {
        self->free_since = 0;
        return;
    }
    for (bridge_exec_t *exec = (bridge_exec_t *) zhashx_first (self->executors); exec;
         exec = (bridge_exec_t *) zhashx_next (self->executors))
        slots += exec->wrong_queue ? 0 : exec->concurrency;
    if (!self->free_since)
        self->free_since = norc_mono_us ();
    if (bridge_batch_waits (self, BATCH_RECEIVE, (size_t) free_slots, (size_t) (slots < 10 ? slots : 10),
                            self->free_since))
        return;
    self->free_since = 0;
    json_t *body = json_pack ("{s:i, s:i, s:i, s:[s, s], s:[s]}", "MaxNumberOfMessages",
                              free_slots < 10 ? free_slots : 10, "WaitTimeSeconds", self->wait_s,
                              "VisibilityTimeout", self->visibility_s, "AttributeNames", "ApproximateReceiveCount",
                              "SentTimestamp", "MessageAttributeNames", "All");
    char *json = bridge_json (self, body);
    bridge_sqs_call (self->poll, "ReceiveMessage", json, bridge_tag (self, CALL_RECEIVE, NULL, 0));
    free (json);
    self->polling = true;
}

//  Ask the control plane for a message's tick, for one executor
static void
s_claim (bridge_t *self, bridge_in_t *in, bridge_exec_t *exec)
{
    in->state = IN_CLAIMING;
    in->executor_id = exec->executor_id;
    exec->reserved++;
    in->request_id = ++self->next_tag;
    in->asked_at = norc_mono_us ();
    char key [32], text [32];
    zhashx_update (self->claims, bridge_key (in->request_id, key, sizeof key), norc_strdup (in->message_id));
    if (self->disconnected) {
        bridge_site_claim (self, in, exec->executor_id);    //  (its fault point: once it is sent)
        return;
    }
    norc_strmap_t args = { 0 };
    norc_strmap_set (&args, "instance", bridge_key (in->instance_id, text, sizeof text));
    snprintf (text, sizeof text, "%d", in->attempt);
    norc_strmap_set (&args, "attempt", text);
    norc_strmap_set (&args, "digest", in->digest);
    norc_strmap_set (&args, "executor", bridge_key (exec->executor_id, text, sizeof text));
    bridge_ask (self, in->request_id, "sqs.claim", &args);
    norc_strmap_clear (&args);
    bridge_fault (self, "claim-sent");
}

//  Forget a message without deleting it: SQS gives it again after its
//  visibility timeout, and it is claimed again then
static void
s_let_go (bridge_t *self, bridge_in_t *in)
{
    zhashx_delete (self->incoming, in->message_id);
}

static const char *
s_in_receipt (bridge_t *self, const char *id)
{
    bridge_in_t *in = (bridge_in_t *) zhashx_lookup (self->incoming, id);
    return in ? in->receipt : NULL;
}

//  Delete what waits, ten to a call
void
bridge_recv_delete_flush (bridge_t *self)
{
    bridge_delete_batches (self, self->url, self->to_delete, CALL_DELETE, s_in_receipt);
}

//  A message to delete: with others, ten to a call, or after
//  bridge.batch_ms
static void
s_delete (bridge_t *self, bridge_in_t *in)
{
    if (in->state == IN_DELETING)
        return;
    in->state = IN_DELETING;
    if (zlist_size (self->to_delete) == 0)
        self->delete_since = norc_mono_us ();
    zlist_append (self->to_delete, in->message_id);     //  (copied: autofree)
    if (!bridge_batch_waits (self, BATCH_DELETE, zlist_size (self->to_delete), 10, self->delete_since))
        bridge_recv_delete_flush (self);
}

//  A message received
static void
s_on_message (bridge_t *self, json_t *message)
{
    const char *id = json_string_value (json_object_get (message, "MessageId"));
    const char *receipt = json_string_value (json_object_get (message, "ReceiptHandle"));
    const char *body = json_string_value (json_object_get (message, "Body"));
    if (!id || !receipt)
        return;
    self->received++;
    bridge_in_t *in = (bridge_in_t *) zhashx_lookup (self->incoming, id);
    norc_us_t now = norc_mono_us ();
    if (in) {
        //  Given again while held here (its visibility ran out): the new
        //  receipt is the one that deletes it
        free (in->receipt);
        in->receipt = norc_strdup (receipt);
        in->visible_until = now + self->visibility_s * NORC_US_PER_SEC;
        return;
    }
    const char *why = NULL;
    norc_msg_t *tick = norc_tick_decode (body, body ? strlen (body) : 0, &why);
    //  Another message for a tick held here (a copy sent again): the one
    //  held decides; this copy goes (were this bridge to die first, the
    //  one held comes back)
    for (bridge_in_t *held = tick ? (bridge_in_t *) zhashx_first (self->incoming) : NULL; held;
         held = (bridge_in_t *) zhashx_next (self->incoming))
        if (held->instance_id == tick->sqs_tick.instance_id && held->attempt == tick->sqs_tick.attempt) {
            self->duplicates++;
            norc_log_info ("instance=%llu: a copy of a tick claimed already (held here): its message is deleted",
                           (unsigned long long) held->instance_id);
            norc_msg_destroy (&tick);
            in = (bridge_in_t *) norc_calloc (1, sizeof (bridge_in_t));
            in->message_id = norc_strdup (id);
            in->receipt = norc_strdup (receipt);
            zhashx_insert (self->incoming, id, in);
            s_delete (self, in);
            return;
        }
    if (!tick) {
        //  Poison: never run, never deleted here; SQS's redrive policy
        //  moves it to the dead-letter queue after maxReceiveCount
        self->poison++;
        const char *count = json_string_value (json_object_get (json_object_get (message, "Attributes"),
                                                                "ApproximateReceiveCount"));
        norc_log_warnx ("message %s is not a tick (%s), received %s times: left for the dead-letter queue", id,
                        why, count ? count : "?");
        return;
    }
    in = (bridge_in_t *) norc_calloc (1, sizeof (bridge_in_t));
    in->message_id = norc_strdup (id);
    in->receipt = norc_strdup (receipt);
    in->instance_id = tick->sqs_tick.instance_id;
    in->attempt = tick->sqs_tick.attempt;
    snprintf (in->digest, sizeof in->digest, "%s", tick->sqs_tick.digest);
    in->task = norc_strdup (tick->sqs_tick.task ? tick->sqs_tick.task : "");
    in->visible_until = now + self->visibility_s * NORC_US_PER_SEC;
    norc_msg_destroy (&tick);
    zhashx_insert (self->incoming, id, in);
    bridge_fault (self, "received");
    bridge_exec_t *exec = s_pick (self);
    if (exec)
        s_claim (self, in, exec);
    else
        s_let_go (self, in);        //  no slot after all (an executor went): it comes back
}

void
bridge_recv_on_answer (bridge_t *self, bridge_call_t *call, const bridge_sqs_answer_t *answer)
{
    if (call->kind == CALL_RECEIVE)
        self->polling = false;
    if (answer->error.outcome != NORC_AWS_DONE) {
        bridge_sqs_refused (self, call->kind == CALL_RECEIVE ? "ReceiveMessage"
                                : call->kind == CALL_DELETE ? "DeleteMessageBatch" : "ChangeMessageVisibilityBatch",
                            answer);
        //  A delete that failed: the message comes back, and is found a copy
        for (size_t i = 0; call->kind == CALL_DELETE && i < call->count; i++)
            zhashx_delete (self->incoming, call->keys [i]);
        if (call->kind == CALL_RECEIVE && answer->status)
            zclock_sleep (200);     //  a refusal is not answered by a tight loop of polls
        return;
    }
    json_t *root = json_loads (answer->body, 0, NULL);
    size_t i;
    json_t *entry;
    if (call->kind == CALL_RECEIVE) {
        json_array_foreach (json_object_get (root, "Messages"), i, entry)
            s_on_message (self, entry);
    }
    else
    if (call->kind == CALL_DELETE) {
        for (size_t k = 0; k < call->count; k++) {
            if (zhashx_lookup (self->incoming, call->keys [k]))
                self->deleted++;
            zhashx_delete (self->incoming, call->keys [k]);
        }
        bridge_fault (self, "deleted");
        json_array_foreach (json_object_get (root, "Failed"), i, entry)
            norc_log_warnx ("a message was not deleted (%s): it comes back and is found a copy",
                            json_string_value (json_object_get (entry, "Code")) ?: "?");
    }
    json_decref (root);
}

//  The claim's answer
static void
s_assign (bridge_t *self, bridge_in_t *in, bridge_exec_t *exec, const norc_strmap_t *row)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_ASSIGN);
    norc_assign_t *a = &msg->assign;
    a->instance_id = in->instance_id;
    norc_id_parse (norc_strmap_get (row, "task_id"), &a->task_id);
    a->task = norc_strdup (norc_strmap_get (row, "task") ?: "");
    a->attempt = atoi (norc_strmap_get (row, "attempt") ?: "1");
    a->command = norc_strdup (norc_strmap_get (row, "command") ?: "");
    const char *cwd = norc_strmap_get (row, "cwd");
    a->cwd = cwd && *cwd ? norc_strdup (cwd) : NULL;
    a->timeout_s = atoi (norc_strmap_get (row, "timeout_s") ?: "0");
    a->log_max_bytes = atoll (norc_strmap_get (row, "log_max_bytes") ?: "0");
    a->log_path = norc_strdup (norc_strmap_get (row, "log_path") ?: "");
    a->nominal_us = atoll (norc_strmap_get (row, "nominal_us") ?: "0");
    a->queue = norc_strdup (self->queue);
    for (size_t i = 0; i < row->count; i++)
        if (strncmp (row->keys [i], "env.", 4) == 0)
            norc_strmap_set (&a->env, row->keys [i] + 4, row->values [i]);
    //  What runs is what the record returned, and it must be what was sent
    char digest [65];
    norc_tick_digest (a->command, a->cwd, a->timeout_s, a->log_max_bytes, &a->env, digest);
    if (strcmp (digest, in->digest)) {
        norc_log_error ("instance=%llu: the claim returned a definition whose digest is not the tick's: not run",
                        (unsigned long long) in->instance_id);
        norc_msg_destroy (&msg);
        s_let_go (self, in);
        return;
    }
    norc_msg_set_routing_id (msg, exec->routing_id);
    norc_msg_send (&msg, self->dispatch);
    exec->credits--;
    in->state = IN_ASSIGNED;
    in->assigns++;
    in->deadline = norc_mono_us () + (3 * self->period_ms > 3000 ? 3 * self->period_ms : 3000) * 1000;
}

void
bridge_recv_on_api (bridge_t *self, norc_msg_t *reply)
{
    char key [32];
    bridge_key (reply->api_reply.request_id, key, sizeof key);
    char *message_id = (char *) zhashx_lookup (self->claims, key);
    bridge_in_t *in = message_id ? (bridge_in_t *) zhashx_lookup (self->incoming, message_id) : NULL;
    if (message_id)
        zhashx_delete (self->claims, key);
    if (!in || in->state != IN_CLAIMING || in->request_id != reply->api_reply.request_id)
        return;
    bridge_exec_t *exec = s_exec_by_id (self, in->executor_id);
    if (exec && exec->reserved > 0)
        exec->reserved--;
    const norc_strmap_t *row = reply->api_reply.rows.count ? &reply->api_reply.rows.rows [0] : NULL;
    const char *outcome = row ? norc_strmap_get (row, "outcome") : NULL;
    if (reply->api_reply.code || !outcome) {
        norc_log_warnx ("instance=%llu: not claimed (%s): its message comes back", (unsigned long long) in->instance_id,
                        reply->api_reply.error ? reply->api_reply.error : "no outcome");
        s_let_go (self, in);
    }
    else
    if (strcmp (outcome, "accepted") == 0) {
        bridge_fault (self, "claim-answered");
        if (in->assigns == 0)
            self->accepted++;
        if (exec && exec->credits > 0)
            s_assign (self, in, exec, row);
        else
            s_let_go (self, in);    //  its executor went or filled up: it comes back, to the same one
    }
    else {
        const char *reason = norc_strmap_get (row, "reason");
        //  Held by one of this site's executors and not started: that one
        //  runs it (it never starts a run twice), claimed again for it
        const char *holder_text = norc_strmap_get (row, "holder");
        uint64_t holder = 0;
        bridge_exec_t *owner = holder_text && norc_id_parse (holder_text, &holder) == NORC_OK
                             ? s_exec_by_id (self, holder) : NULL;
        if (strcmp (outcome, "duplicate") == 0 && holder) {
            if (owner && owner->credits > owner->reserved)
                s_claim (self, in, owner);
            else {
                self->held_elsewhere++;
                s_let_go (self, in);
            }
            return;
        }
        if (strcmp (outcome, "duplicate") == 0) {
            if (in->assigns == 0)
                self->duplicates++;
        }
        else
            self->cancelled++;
        if (in->assigns == 0)
            norc_log_info ("instance=%llu: a %s (%s): its message is deleted", (unsigned long long) in->instance_id,
                           strcmp (outcome, "duplicate") == 0 ? "copy of a tick claimed already" : "tick with nothing to run",
                           reason ? reason : "");
        s_delete (self, in);
    }
}

//  The run started (or ended): its message goes
void
bridge_recv_started (bridge_t *self, uint64_t instance_id)
{
    for (bridge_in_t *in = (bridge_in_t *) zhashx_first (self->incoming); in;
         in = (bridge_in_t *) zhashx_next (self->incoming))
        if (in->instance_id == instance_id && in->state == IN_ASSIGNED) {
            bridge_fault (self, "started");
            s_delete (self, in);
            break;
        }
}

//  --------------------------------------------------------------------------
//  This site's executors

static bridge_exec_t *
s_executor (bridge_t *self, zframe_t *routing_id, bool create)
{
    char *key = zframe_strhex (routing_id);
    bridge_exec_t *exec = (bridge_exec_t *) zhashx_lookup (self->executors, key);
    if (!exec && create) {
        exec = (bridge_exec_t *) norc_calloc (1, sizeof (bridge_exec_t));
        exec->routing_id = zframe_dup (routing_id);
        zhashx_insert (self->executors, key, exec);
    }
    free (key);
    return exec;
}

static void
s_on_executor (bridge_t *self, norc_msg_t *msg)
{
    bridge_exec_t *exec = s_executor (self, msg->routing_id, msg->id == NORC_MSG_HELLO);
    if (!exec)
        return;
    exec->last_seen = norc_mono_us ();
    switch (msg->id) {
        case NORC_MSG_HELLO: {
            norc_hello_t *h = &msg->hello;
            bool wrong = !h->queue || strcmp (h->queue, self->queue);
            if (wrong && !exec->wrong_queue)
                norc_log_warnx ("executor=%llu serves %s, not %s: it gets nothing here",
                                (unsigned long long) h->executor_id, h->queue ? h->queue : "", self->queue);
            else
            if (!exec->executor_id || exec->executor_id != h->executor_id)
                norc_log_info ("executor=%llu: serving %s with %d slots", (unsigned long long) h->executor_id,
                               self->queue, h->concurrency);
            exec->wrong_queue = wrong;
            exec->executor_id = h->executor_id;
            exec->concurrency = h->concurrency;
            exec->credits = h->concurrency - (int) h->running.count;
            norc_u64list_clear (&exec->running);
            for (size_t i = 0; i < h->running.count; i++) {
                norc_u64list_append (&exec->running, h->running.items [i]);
                bridge_recv_started (self, h->running.items [i]);
            }
            break;
        }
        case NORC_MSG_CREDIT:
            exec->credits += msg->credit.credits;
            break;
        case NORC_MSG_RELEASE: {
            //  Given back (the executor drains): waiting again in the
            //  record, it is sent again; this copy goes
            if (self->disconnected)
                bridge_site_release (self, msg->release.instance_id, exec->executor_id);
            else {
                char text [32];
                norc_strmap_t args = { 0 };
                norc_strmap_set (&args, "instance", bridge_key (msg->release.instance_id, text, sizeof text));
                norc_strmap_set (&args, "executor", bridge_key (exec->executor_id, text, sizeof text));
                bridge_ask (self, 0, "sqs.release", &args);
                norc_strmap_clear (&args);
            }
            exec->credits++;
            for (bridge_in_t *in = (bridge_in_t *) zhashx_first (self->incoming); in;
                 in = (bridge_in_t *) zhashx_next (self->incoming))
                if (in->instance_id == msg->release.instance_id && in->state == IN_ASSIGNED) {
                    s_delete (self, in);
                    break;
                }
            break;
        }
        default:
            norc_log_warnx ("unexpected %s from an executor", norc_msg_name (msg));
    }
}

int
bridge_recv_handle_dispatch (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    bridge_t *self = (bridge_t *) arg;
    for (int i = 0; i < 1024 && zsock_events (sock) & ZMQ_POLLIN; i++) {
        norc_msg_t *msg = norc_msg_recv (sock);
        if (msg && norc_authz_check (msg, NULL))
            s_on_executor (self, msg);
        norc_msg_destroy (&msg);
    }
    bridge_recv_poll (self);
    return 0;
}

//  Every heartbeat: a run assigned and not seen started is claimed again
//  (the record says whether it started); visibility is extended for what
//  is held; executors not heard from for three periods are forgotten
void
bridge_recv_beat (bridge_t *self)
{
    norc_us_t now = norc_mono_us ();
    json_t *entries = json_array ();
    char **keys = (char **) norc_calloc (zhashx_size (self->incoming) + 1, sizeof (char *));
    size_t count = 0;
    zlist_t *let_go = zlist_new ();
    //  (a disconnected site's claim travels two queues: bridge.claim_wait_s)
    int64_t patience = self->disconnected ? self->claim_wait_s * NORC_US_PER_SEC
                     : (3 * self->period_ms > 5000 ? 3 * self->period_ms : 5000) * 1000LL;
    for (bridge_in_t *in = (bridge_in_t *) zhashx_first (self->incoming); in;
         in = (bridge_in_t *) zhashx_next (self->incoming)) {
        //  Assigned and not seen started, or a claim not answered (the
        //  aggregator restarted and lost it): claimed again, for its
        //  executor, or for another when that one is gone (the record
        //  decides: the holder runs it, or it waits again once the holder
        //  is recorded dead); with no executor at all, let go
        bool stale = (in->state == IN_ASSIGNED && now > in->deadline)
                  || (in->state == IN_CLAIMING && now - in->asked_at > patience);
        if (stale) {
            bridge_exec_t *exec = s_exec_by_id (self, in->executor_id);
            if (exec && in->state == IN_CLAIMING && exec->reserved > 0)
                exec->reserved--;
            exec = exec ? exec : s_pick (self);
            if (exec)
                s_claim (self, in, exec);
            else {
                zlist_append (let_go, (void *) zhashx_cursor (self->incoming));
                continue;
            }
        }
        if (in->state != IN_DELETING && in->visible_until - now < self->visibility_s * NORC_US_PER_SEC / 2
        &&  count < 10) {
            char id [32];
            snprintf (id, sizeof id, "v%zu", count);
            json_array_append_new (entries, json_pack ("{s:s, s:s, s:i}", "Id", id, "ReceiptHandle", in->receipt,
                                                       "VisibilityTimeout", self->visibility_s));
            keys [count++] = norc_strdup (in->message_id);
            in->visible_until = now + self->visibility_s * NORC_US_PER_SEC;
        }
    }
    for (const char *key = (const char *) zlist_first (let_go); key; key = (const char *) zlist_next (let_go))
        zhashx_delete (self->incoming, key);
    zlist_destroy (&let_go);
    bridge_call_batch (self, "ChangeMessageVisibilityBatch", CALL_VISIBILITY, entries, keys, count);
    //  An executor silent for three periods is gone (killed, or connected
    //  elsewhere): its slots are not offered, no claim is made for it
    int64_t silent_us = (3 * self->period_ms > 3000 ? 3 * self->period_ms : 3000) * 1000LL;
    zlist_t *gone = zlist_new ();
    for (bridge_exec_t *exec = (bridge_exec_t *) zhashx_first (self->executors); exec;
         exec = (bridge_exec_t *) zhashx_next (self->executors))
        if (now - exec->last_seen > silent_us)
            zlist_append (gone, (void *) zhashx_cursor (self->executors));
    for (const char *key = (const char *) zlist_first (gone); key; key = (const char *) zlist_next (gone)) {
        bridge_exec_t *exec = (bridge_exec_t *) zhashx_lookup (self->executors, key);
        norc_log_info ("executor=%llu: silent for %lld ms, forgotten", (unsigned long long) exec->executor_id,
                       (long long) (silent_us / 1000));
        zhashx_delete (self->executors, key);
    }
    zlist_destroy (&gone);
    bridge_recv_poll (self);
}

int
bridge_recv_start (bridge_t *self)
{
    self->executors = zhashx_new ();
    zhashx_set_destructor (self->executors, s_exec_free);
    self->incoming = zhashx_new ();
    zhashx_set_destructor (self->incoming, s_in_free);
    self->claims = zhashx_new ();
    zhashx_set_destructor (self->claims, s_str_free);
    self->to_delete = zlist_new ();
    zlist_autofree (self->to_delete);
    char *endpoint = norc_config_bind_endpoint (self->config, "bridge.dispatch");
    self->dispatch = endpoint ? norc_zmq_bind (ZMQ_ROUTER, endpoint) : NULL;
    free (endpoint);
    if (!self->dispatch) {
        norc_log_error ("cannot bind bridge.dispatch (%s)", norc_config_str (self->config, "bridge.dispatch"));
        return NORC_ERROR;
    }
    zloop_reader (self->loop, self->dispatch, bridge_recv_handle_dispatch, self);
    return NORC_OK;
}

void
bridge_recv_stop (bridge_t *self)
{
    zhashx_destroy (&self->executors);
    zhashx_destroy (&self->incoming);
    zhashx_destroy (&self->claims);
    zlist_destroy (&self->to_delete);
    zsock_destroy (&self->dispatch);
}
