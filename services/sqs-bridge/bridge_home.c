//  bridge_home.c - home's side of disconnected sites (bridge.returns): a
//  bridge of the control plane's site receives the return queue, opens
//  each body from the site that sealed it (a key of bridge.peers, named
//  by the message's norc-site attribute and again inside the body), and
//  does what the site would have done itself in connected mode: a claim
//  is asked of the aggregator (sqs.claim: the record decides, under the
//  instance's lock, exactly as for a connected site) and its answer,
//  sealed to the site, goes to the reply queue the claim named; a release
//  gives the instance back (sqs.release). A return message is deleted
//  only once what it carried is done: a claim once its answer is sent, a
//  release once the record took it. Until then it is held here; given
//  again by SQS (its visibility ran out: the aggregator did not answer)
//  it is asked again. A body that does not open, or names another site
//  than its attribute, is poison: counted, logged, left for the
//  dead-letter queue.
#include "bridge_internal.h"
#include "norc_tick.h"
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

int
bridge_home_start (bridge_t *self)
{
    self->returned = zhashx_new ();
    zhashx_set_destructor (self->returned, s_ret_free);
    self->answering = zhashx_new ();
    zhashx_set_destructor (self->answering, s_str_free);
    bridge_home_poll (self);
    return NORC_OK;
}

void
bridge_home_stop (bridge_t *self)
{
    zhashx_destroy (&self->returned);
    zhashx_destroy (&self->answering);
}

void
bridge_home_poll (bridge_t *self)
{
    if (!self->returns || self->backchannel_polling || self->done || zhashx_size (self->returned) >= HOME_HELD_MAX)
        return;
    json_t *body = json_pack ("{s:i, s:i, s:i, s:[s], s:[s]}", "MaxNumberOfMessages", 10, "WaitTimeSeconds",
                              self->wait_s, "VisibilityTimeout", self->visibility_s, "AttributeNames",
                              "ApproximateReceiveCount", "MessageAttributeNames", "All");
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

static void
s_delete (bridge_t *self, bridge_ret_t *ret)
{
    ret->state = RET_DELETING;
    char *json = bridge_json_at (self->return_url, json_pack ("{s:s}", "ReceiptHandle", ret->receipt));
    char **keys = (char **) norc_calloc (1, sizeof (char *));
    keys [0] = norc_strdup (ret->message_id);
    bridge_sqs_call (self->ops, "DeleteMessage", json, bridge_tag (self, CALL_RETURNS_DELETE, keys, 1));
    free (json);
}

static void
s_poison (bridge_t *self, const char *id, const char *site, const char *count, const char *why)
{
    self->poison++;
    norc_log_warnx ("return message %s (norc-site %s), received %s times: %s: left for the dead-letter queue", id,
                    site ? site : "none", count ? count : "?", why);
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
        if (ret->state == RET_ASKING)
            s_ask (self, ret);
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
    if (r && (!r->site || strcmp (r->site, site)))
        why = "its body names another site than its attribute";
    else
    if (r && (!r->kind || (strcmp (r->kind, "claim") && strcmp (r->kind, "release"))))
        why = "a kind this version does not take";
    else
    if (r && (!r->instance_id || !r->executor_id))
        why = "no instance or no executor";
    else
    if (r && strcmp (r->kind, "claim") == 0 && (!r->reply_url || !*r->reply_url || !r->request_id))
        why = "a claim without its reply queue or its number";
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
    reply->kind = norc_strdup ("claimed");
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
    char *body = bridge_site_seal (self, msg, r->site);
    char dedup [65];
    bridge_site_dedup (r->site, "claimed", r->instance_id, r->attempt, r->request_id, dedup);
    ret->state = RET_REPLYING;
    bridge_site_send (self, r->reply_url, body, r->site, dedup, CALL_REPLY, norc_strdup (ret->message_id));
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
    if (strcmp (ret->msg->sqs_return.kind, "claim") == 0)
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
                                      [CALL_RETURNS_DELETE] = "DeleteMessage (return queue)" };
    if (call->kind == CALL_RETURNS_RECEIVE)
        self->backchannel_polling = false;
    bridge_ret_t *ret = call->count ? (bridge_ret_t *) zhashx_lookup (self->returned, call->keys [0]) : NULL;
    if (answer->error.outcome != NORC_AWS_DONE) {
        //  Not answered or not deleted: it comes back, and is asked again
        bridge_sqs_refused (self, actions [call->kind], answer);
        if (ret)
            zhashx_delete (self->returned, call->keys [0]);
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
    else
    if (ret)
        zhashx_delete (self->returned, call->keys [0]);
}
