//  bridge_site.c - a receiving bridge in disconnected mode: a site that
//  reaches SQS and nothing else of the control plane (docs/sqs.md). It
//  receives ticks as any receiving bridge does; each claim, instead of
//  the aggregator's API, travels home as an SQS-RETURN on the return queue
//  (sealed to home's bridge, in the instance's FIFO group), and its answer
//  comes back as an SQS-REPLY on this site's own reply queue, which is
//  always polled (answers and control requests come on it; what its
//  executors say goes home through bridge_relay.c). An answer is handed
//  to the receiving side as
//  the API's would be (bridge_recv_on_api): the record decides in both
//  modes. Every reply read is deleted: one whose claim is no longer
//  waiting here is stale (the tick was let go or claimed again, and the
//  record answers the claim that counts). The keys of both modes' peers
//  are read here too.
#include "bridge_internal.h"
#include "norc_tick.h"
#include "norc_seal.h"
#include "norc_keys.h"
#include "norc_mem.h"
#include "norc_log.h"
#include <sodium.h>

static void
s_key_free (void **item)
{
    free (*item);
    *item = NULL;
}

//  A site's one peer: home's bridge
static const char *
s_home (bridge_t *self)
{
    return zhashx_first (self->peers) ? (const char *) zhashx_cursor (self->peers) : "";
}

int
bridge_site_keys (bridge_t *self)
{
    const char *dir = norc_config_str (self->config, "security.keys_dir");
    const char *own = norc_config_str (self->config, "security.key");
    const char *peers = norc_config_str (self->config, "bridge.peers");
    self->site = norc_strdup (*own ? own : "bridge");
    self->return_url = norc_strdup (norc_config_str (self->config, "bridge.return_url"));
    self->reply_url = norc_strdup (norc_config_str (self->config, "bridge.reply_url"));
    const char *missing = !*self->return_url ? "bridge.return_url"
                        : !*peers ? "bridge.peers"
                        : self->disconnected && !*self->reply_url ? "bridge.reply_url"
                        : self->disconnected && !*norc_config_str (self->config, "bridge.url") ? "bridge.url" : NULL;
    if (missing) {
        norc_log_error ("disconnected mode needs %s (docs/sqs.md)", missing);
        return NORC_ERROR;
    }
    char err [512];
    zcert_t *cert = norc_keys_load (dir, self->site, true, err, sizeof err);
    if (!cert) {
        norc_log_error ("this bridge's key pair, which seals what it sends: %s", err);
        return NORC_ERROR;
    }
    memcpy (self->own_secret, zcert_secret_key (cert), sizeof self->own_secret);
    zcert_destroy (&cert);
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, s_key_free);
    char *list = norc_strdup (peers), *save = NULL;
    int rc = NORC_OK;
    for (char *name = strtok_r (list, ", ", &save); name && rc == NORC_OK; name = strtok_r (NULL, ", ", &save)) {
        cert = norc_keys_load (dir, name, false, err, sizeof err);
        if (!cert) {
            norc_log_error ("bridge.peers: %s", err);
            rc = NORC_ERROR;
            break;
        }
        char *key = (char *) norc_malloc (NORC_SEAL_KEY);
        memcpy (key, zcert_public_key (cert), NORC_SEAL_KEY);
        zhashx_update (self->peers, name, key);
        zcert_destroy (&cert);
    }
    free (list);
    if (rc == NORC_OK && self->disconnected && zhashx_size (self->peers) != 1) {
        norc_log_error ("bridge.peers: a site names one peer, home's bridge");
        rc = NORC_ERROR;
    }
    return rc;
}

void
bridge_site_stop (bridge_t *self)
{
    while (self->returns_out && zlist_size (self->returns_out)) {
        json_t *entry = (json_t *) zlist_pop (self->returns_out);
        json_decref (entry);
    }
    zlist_destroy (&self->returns_out);
    zhashx_destroy (&self->peers);
    sodium_memzero (self->own_secret, sizeof self->own_secret);
    free (self->site);
    free (self->return_url);
    free (self->reply_url);
    self->site = self->return_url = self->reply_url = NULL;
}

char *
bridge_site_seal (bridge_t *self, const norc_msg_t *msg, const char *peer)
{
    const uint8_t *key = (const uint8_t *) zhashx_lookup (self->peers, peer);
    return key ? norc_site_encode (msg, self->own_secret, key) : NULL;
}

//  SendMessageBatch takes at most 256 KiB in all: a batch stops short of it
#define RETURN_BATCH_BYTES (240 * 1024)

void
bridge_site_return_flush (bridge_t *self)
{
    while (self->returns_out && zlist_size (self->returns_out)) {
        json_t *entries = json_array ();
        char **keys = (char **) norc_calloc (10, sizeof (char *));
        size_t count = 0, bytes = 0;
        for (json_t *entry = (json_t *) zlist_first (self->returns_out); entry && count < 10;
             entry = (json_t *) zlist_first (self->returns_out)) {
            size_t size = strlen (json_string_value (json_object_get (entry, "MessageBody")));
            if (count && bytes + size > RETURN_BATCH_BYTES)
                break;
            zlist_pop (self->returns_out);
            bytes += size;
            //  (its Id names it in the answer; what it is for travels in keys)
            keys [count] = norc_strdup (json_string_value (json_object_get (entry, "Id")));
            char id [16];
            snprintf (id, sizeof id, "e%zu", count);
            json_object_set_new (entry, "Id", json_string (id));
            json_array_append_new (entries, entry);
            count++;
        }
        json_t *body = json_object ();
        json_object_set_new (body, "Entries", entries);
        char *json = bridge_json_at (self->return_url, body);
        bridge_sqs_call (self->ops, "SendMessageBatch", json, bridge_tag (self, CALL_RETURN_BATCH, keys, count));
        free (json);
    }
}

//  One entry of a batch answered: to its handler, as a call of its own
static void
s_entry_answered (bridge_t *self, const char *what, bool sent, const bridge_sqs_answer_t *batch)
{
    int kind = atoi (what);
    const char *key = strchr (what, ':');
    bridge_call_t one = { (bridge_call_kind_t) kind, NULL, 1 };
    char *keys [1] = { norc_strdup (key ? key + 1 : "") };
    one.keys = keys;
    bridge_sqs_answer_t answer = *batch;
    if (!sent && answer.error.outcome == NORC_AWS_DONE) {
        answer.error.outcome = NORC_AWS_REFUSED;
        snprintf (answer.error.code, sizeof answer.error.code, "its entry of SendMessageBatch failed");
    }
    if (kind == CALL_RETURN)
        bridge_site_on_answer (self, &one, &answer);
    else
        bridge_relay_on_answer (self, &one, &answer);
    free (keys [0]);
}

void
bridge_site_on_batch (bridge_t *self, bridge_call_t *call, const bridge_sqs_answer_t *answer)
{
    bool *sent = (bool *) norc_calloc (call->count + 1, sizeof (bool));
    if (answer->error.outcome == NORC_AWS_DONE) {
        json_t *root = json_loads (answer->body, 0, NULL);
        size_t i;
        json_t *entry;
        json_array_foreach (json_object_get (root, "Successful"), i, entry) {
            const char *id = json_string_value (json_object_get (entry, "Id"));
            size_t k = id && id [0] == 'e' ? (size_t) atoi (id + 1) : call->count;
            if (k < call->count)
                sent [k] = true;
        }
        json_array_foreach (json_object_get (root, "Failed"), i, entry)
            norc_log_warnx ("a return message was not sent (%s): sent again when its sender sends it again",
                            json_string_value (json_object_get (entry, "Code")) ?: "?");
        json_decref (root);
    }
    for (size_t k = 0; k < call->count; k++)
        s_entry_answered (self, call->keys [k], sent [k], answer);
    free (sent);
}

void
bridge_site_send (bridge_t *self, const char *url, const char *body, const char *group, const char *dedup,
                  bridge_call_kind_t kind, char *key)
{
    json_t *request = json_pack ("{s:s, s:{s:{s:s, s:s}}}", "MessageBody", body, "MessageAttributes", "norc-site",
                                 "DataType", "String", "StringValue", self->site);
    size_t len = strlen (url);
    if (len > 5 && strcmp (url + len - 5, ".fifo") == 0) {
        json_object_set_new (request, "MessageGroupId", json_string (group));
        json_object_set_new (request, "MessageDeduplicationId", json_string (dedup));
    }
    if (self->disconnected) {
        //  A site's return messages: with others, ten to a request, or
        //  after bridge.batch_ms (what each is for in its Id until then)
        char *what = norc_asprintf ("%d:%s", (int) kind, key);
        json_object_set_new (request, "Id", json_string (what));
        free (what);
        free (key);
        if (!self->returns_out)
            self->returns_out = zlist_new ();
        if (zlist_size (self->returns_out) == 0)
            self->returns_out_since = norc_mono_us ();
        zlist_append (self->returns_out, request);
        if (!bridge_batch_waits (self, BATCH_RETURNS_SEND, zlist_size (self->returns_out), 10,
                                 self->returns_out_since))
            bridge_site_return_flush (self);
        return;
    }
    char *json = bridge_json_at (url, request);
    char **keys = (char **) norc_calloc (1, sizeof (char *));
    keys [0] = key;
    bridge_sqs_call (self->ops, "SendMessage", json, bridge_tag (self, kind, keys, 1));
    free (json);
}

void
bridge_site_dedup (const char *site, const char *kind, uint64_t instance_id, int attempt, uint64_t number, char hex [65])
{
    char text [512];
    snprintf (text, sizeof text, "%s/%s/%llu/%d/%llu", site, kind, (unsigned long long) instance_id, attempt,
              (unsigned long long) number);
    uint8_t hash [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (hash, (const uint8_t *) text, strlen (text));
    sodium_bin2hex (hex, 65, hash, sizeof hash);
}

void
bridge_site_return (bridge_t *self, norc_msg_t **msg_p, const char *group, const char *dedup,
                    bridge_call_kind_t kind, char *key)
{
    norc_sqs_return_t *r = &(*msg_p)->sqs_return;
    r->version = 1;
    r->site = norc_strdup (self->site);
    r->at_us = norc_now_us ();
    char *body = bridge_site_seal (self, *msg_p, s_home (self));
    if (body)
        bridge_site_send (self, self->return_url, body, group, dedup, kind, key);
    else
        free (key);
    free (body);
    norc_msg_destroy (msg_p);
}

//  A claim or a release: in the instance's group
static void
s_return (bridge_t *self, norc_msg_t *msg, uint64_t number)
{
    norc_sqs_return_t *r = &msg->sqs_return;
    char group [32], dedup [65];
    snprintf (group, sizeof group, "%llu", (unsigned long long) r->instance_id);
    bridge_site_dedup (self->site, r->kind, r->instance_id, r->attempt, number, dedup);
    char *key = norc_strdup (r->kind);
    bridge_site_return (self, &msg, group, dedup, CALL_RETURN, key);
}

void
bridge_site_claim (bridge_t *self, bridge_in_t *in, uint64_t executor_id)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_SQS_RETURN);
    norc_sqs_return_t *r = &msg->sqs_return;
    r->kind = norc_strdup ("claim");
    r->instance_id = in->instance_id;
    r->attempt = in->attempt;
    r->digest = norc_strdup (in->digest);
    r->tick_message = norc_strdup (in->message_id);
    r->request_id = in->request_id;
    r->executor_id = executor_id;
    r->reply_url = norc_strdup (self->reply_url);
    s_return (self, msg, in->request_id);
    bridge_site_poll (self);
}

void
bridge_site_release (bridge_t *self, uint64_t instance_id, uint64_t executor_id)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_SQS_RETURN);
    norc_sqs_return_t *r = &msg->sqs_return;
    r->kind = norc_strdup ("release");
    r->instance_id = instance_id;
    r->executor_id = executor_id;
    s_return (self, msg, executor_id);
}

//  Poll the reply queue, always: answers to claims and registrations, and
//  control requests, come on it (a long poll: an idle site makes three
//  receives a minute)
void
bridge_site_poll (bridge_t *self)
{
    if (!self->disconnected || self->backchannel_polling || self->done)
        return;
    //  (a short poll while a reply read is not deleted yet: until it is,
    //  its FIFO group holds back the next, and a long poll may not wake)
    json_t *body = json_pack ("{s:i, s:i, s:i, s:[s]}", "MaxNumberOfMessages", 10, "WaitTimeSeconds",
                              self->reply_deletes ? 1 : self->wait_s, "VisibilityTimeout", self->visibility_s,
                              "MessageAttributeNames", "All");
    char *json = bridge_json_at (self->reply_url, body);
    bridge_sqs_call (self->backchannel, "ReceiveMessage", json, bridge_tag (self, CALL_REPLY_RECEIVE, NULL, 0));
    free (json);
    self->backchannel_polling = true;
}

//  A reply: the claim's answer, as the API would have given it
static void
s_on_reply (bridge_t *self, json_t *message)
{
    const char *body = json_string_value (json_object_get (message, "Body"));
    const char *home = s_home (self);
    const char *why = NULL;
    norc_msg_t *msg = norc_site_decode (body, NORC_MSG_SQS_REPLY, self->own_secret,
                                        (const uint8_t *) zhashx_lookup (self->peers, home), &why);
    self->replies_read++;
    if (!msg) {
        self->poison++;
        norc_log_warnx ("reply %s: not a reply from %s (%s): left for the dead-letter queue",
                        json_string_value (json_object_get (message, "MessageId")) ?: "?", home, why);
        return;
    }
    norc_sqs_reply_t *r = &msg->sqs_reply;
    if (r->kind && strcmp (r->kind, "claimed") == 0 && r->request_id) {
        norc_msg_t *answer = norc_msg_new (NORC_MSG_API_REPLY);
        answer->api_reply.request_id = r->request_id;
        if (!r->outcome || !*r->outcome) {
            answer->api_reply.code = NORC_ERROR;
            answer->api_reply.error = norc_strdup (r->reason ? r->reason : "home could not decide the claim");
        }
        else {
            norc_strmap_t *row = norc_rows_add (&answer->api_reply.rows);
            for (size_t i = 0; i < r->definition.count; i++)
                norc_strmap_set (row, r->definition.keys [i], r->definition.values [i]);
            norc_strmap_set (row, "outcome", r->outcome);
        }
        bridge_recv_on_api (self, answer);
        norc_msg_destroy (&answer);
    }
    else
    if (r->kind && strcmp (r->kind, "registered") == 0)
        bridge_relay_registered (self, r);
    else
    if (r->kind && strcmp (r->kind, "control") == 0)
        bridge_relay_control (self, r);
    norc_msg_destroy (&msg);
    //  Read: deleted, whether its claim still waited or not
    const char *receipt = json_string_value (json_object_get (message, "ReceiptHandle"));
    if (receipt) {
        char *json = bridge_json_at (self->reply_url, json_pack ("{s:s}", "ReceiptHandle", receipt));
        bridge_sqs_call (self->ops, "DeleteMessage", json, bridge_tag (self, CALL_REPLY_DELETE, NULL, 0));
        free (json);
        self->reply_deletes++;
    }
}

void
bridge_site_on_answer (bridge_t *self, bridge_call_t *call, const bridge_sqs_answer_t *answer)
{
    static const char *actions [] = { [CALL_RETURN] = "SendMessage (return queue)",
                                      [CALL_REPLY_RECEIVE] = "ReceiveMessage (reply queue)",
                                      [CALL_REPLY_DELETE] = "DeleteMessage (reply queue)" };
    if (call->kind == CALL_REPLY_RECEIVE)
        self->backchannel_polling = false;
    if (call->kind == CALL_REPLY_DELETE && self->reply_deletes > 0)
        self->reply_deletes--;
    if (answer->error.outcome != NORC_AWS_DONE) {
        //  A claim not sent is asked again after bridge.claim_wait_s; a
        //  reply not deleted is read again, and is stale then
        bridge_sqs_refused (self, actions [call->kind], answer);
        if (call->kind == CALL_REPLY_RECEIVE && answer->status)
            zclock_sleep (200);
        return;
    }
    if (call->kind == CALL_RETURN) {
        self->returns_sent++;
        if (call->count && strcmp (call->keys [0], "claim") == 0)
            bridge_fault (self, "claim-sent");
    }
    else
    if (call->kind == CALL_REPLY_RECEIVE) {
        json_t *root = json_loads (answer->body, 0, NULL);
        size_t i;
        json_t *entry;
        json_array_foreach (json_object_get (root, "Messages"), i, entry)
            s_on_reply (self, entry);
        json_decref (root);
    }
}
