//  ctl_sqs.c - norcctl sqs dlq list|show|redrive: the dead-letter queue of
//  an sqs queue, read and emptied with the operator's own AWS credentials
//  (the environment, as AWS's tools read it). The queue's URL comes from
//  the record; its dead-letter queue from its RedrivePolicy. Reading
//  makes the messages invisible for a moment and visible again at once
//  after; nothing is deleted but what redrive moved back.
#include "ctl_api_internal.h"
#include "norc_http.h"
#include "norc_aws_creds.h"
#include <sodium.h>
#include "norc_tick.h"
#include "norc_mem.h"
#include <jansson.h>
#include <time.h>

typedef struct {
    norc_aws_env_t env;
    norc_aws_creds_t creds;
    norc_aws_target_t target;
    char *url;                  //  the queue
    char *dlq;                  //  its dead-letter queue
} s_sqs_t;

//  One call; its answer (caller decrefs), or NULL after saying why
static json_t *
s_call (s_sqs_t *q, const char *action, json_t *body)
{
    char *json = json_dumps (body, JSON_COMPACT);
    json_decref (body);
    char target [96];
    snprintf (target, sizeof target, "AmazonSQS.%s", action);
    norc_aws_pair_t headers [] = { { "Content-Type", "application/x-amz-json-1.0" }, { "X-Amz-Target", target } };
    norc_http_response_t r;
    int rc = norc_aws_call (&q->target, "POST", "/", NULL, 0, headers, 2, json, strlen (json), &r);
    free (json);
    json_t *answer = NULL;
    if (rc != NORC_OK)
        fprintf (stderr, "norcctl: %s: no answer from SQS (%s)\n", action, r.error);
    else {
        norc_aws_error_t error;
        norc_aws_error_parse (r.status, r.body, r.headers, &error);
        if (error.outcome == NORC_AWS_DONE)
            answer = json_loads (r.body, 0, NULL);
        else
            fprintf (stderr, "norcctl: %s: refused (%ld %s): %s\n", action, r.status, error.code, error.message);
    }
    norc_http_response_clear (&r);
    return answer;
}

static void
s_close (s_sqs_t *q)
{
    free (q->url);
    free (q->dlq);
    sodium_memzero (&q->env, sizeof q->env);
    sodium_memzero (&q->creds, sizeof q->creds);
}

//  The queue's URL (the record) and its dead-letter queue's (SQS)
static int
s_open (norc_config_t *config, const char *name, s_sqs_t *q)
{
    memset (q, 0, sizeof *q);
    char why [512];
    norc_aws_creds_config_t chain = { norc_config_str (config, "aws.access_key_id"),
                                      norc_config_str (config, "aws.secret_access_key_file"), 0 };
    if (norc_aws_env ("sqs", &q->env, why, sizeof why) != NORC_OK
    ||  norc_aws_creds_get (&chain, &q->creds, why, sizeof why) != NORC_OK) {
        fprintf (stderr, "norcctl: AWS: %s\n", why);
        return CTL_FAIL;
    }
    q->target = (norc_aws_target_t) { .endpoint = q->env.endpoint, .region = q->env.region, .service = "sqs",
                                      .access_key = q->creds.access_key, .secret_key = q->creds.secret_key,
                                      .session_token = *q->creds.session_token ? q->creds.session_token : NULL };
    norc_msg_t *reply = NULL;
    norc_strmap_t args = { 0 };
    int rc = ctl_api_request (config, "queue.list", &args, &reply);
    norc_strmap_clear (&args);
    if (rc)
        return rc;
    for (size_t i = 0; i < reply->api_reply.rows.count; i++) {
        const norc_strmap_t *row = &reply->api_reply.rows.rows [i];
        const char *url = norc_strmap_get (row, "url");
        if (strcmp (norc_strmap_get (row, "name") ?: "", name) == 0 && url && *url)
            q->url = norc_strdup (url);
    }
    norc_msg_destroy (&reply);
    if (!q->url) {
        fprintf (stderr, "norcctl: no sqs queue named %s\n", name);
        return CTL_FAIL;
    }
    json_t *answer = s_call (q, "GetQueueAttributes", json_pack ("{s:s, s:[s]}", "QueueUrl", q->url,
                                                                 "AttributeNames", "RedrivePolicy"));
    if (!answer)
        return CTL_FAIL;
    const char *policy = json_string_value (json_object_get (json_object_get (answer, "Attributes"), "RedrivePolicy"));
    json_t *parsed = policy ? json_loads (policy, 0, NULL) : NULL;
    const char *arn = json_string_value (json_object_get (parsed, "deadLetterTargetArn"));
    //  arn:aws:sqs:REGION:ACCOUNT:NAME
    char account [64] = "", dlq_name [256] = "";
    if (arn) {
        const char *p = arn;
        for (int colons = 0; *p && colons < 4; p++)
            colons += *p == ':';
        const char *end = strchr (p, ':');
        if (end && end - p < (long) sizeof account) {
            memcpy (account, p, (size_t) (end - p));
            account [end - p] = 0;
            snprintf (dlq_name, sizeof dlq_name, "%s", end + 1);
        }
    }
    json_decref (parsed);
    json_decref (answer);
    if (!*dlq_name) {
        fprintf (stderr, "norcctl: queue %s has no dead-letter queue (no RedrivePolicy on %s): poison messages "
                 "stay in it; give it one (docs/sqs.md)\n", name, q->url);
        return CTL_FAIL;
    }
    answer = s_call (q, "GetQueueUrl", json_pack ("{s:s, s:s}", "QueueName", dlq_name, "QueueOwnerAWSAccountId",
                                                  account));
    const char *url = json_string_value (json_object_get (answer, "QueueUrl"));
    if (url)
        q->dlq = norc_strdup (url);
    json_decref (answer);
    return q->dlq ? CTL_OK : CTL_FAIL;
}

//  Every message of the dead-letter queue (at most 1000), each received
//  once; caller makes them visible again (s_show_again) or deletes them
static json_t *
s_scan (s_sqs_t *q)
{
    json_t *all = json_array ();
    while (json_array_size (all) < 1000) {
        json_t *answer = s_call (q, "ReceiveMessage",
                                 json_pack ("{s:s, s:i, s:i, s:i, s:[s], s:[s]}", "QueueUrl", q->dlq,
                                            "MaxNumberOfMessages", 10, "VisibilityTimeout", 60, "WaitTimeSeconds", 0,
                                            "AttributeNames", "All", "MessageAttributeNames", "All"));
        json_t *messages = json_object_get (answer, "Messages");
        size_t got = json_array_size (messages);
        json_array_extend (all, messages);
        json_decref (answer);
        if (got == 0)
            break;
    }
    return all;
}

static void
s_show_again (s_sqs_t *q, json_t *messages)
{
    size_t count = json_array_size (messages);
    for (size_t from = 0; from < count; from += 10) {
        json_t *entries = json_array ();
        for (size_t i = from; i < count && i < from + 10; i++) {
            char id [32];
            snprintf (id, sizeof id, "m%zu", i);
            json_array_append_new (entries, json_pack ("{s:s, s:O, s:i}", "Id", id, "ReceiptHandle",
                                                       json_object_get (json_array_get (messages, i), "ReceiptHandle"),
                                                       "VisibilityTimeout", 0));
        }
        json_decref (s_call (q, "ChangeMessageVisibilityBatch", json_pack ("{s:s, s:o}", "QueueUrl", q->dlq,
                                                                              "Entries", entries)));
    }
}

//  What a message is: a tick (its instance) or poison (why)
static void
s_what (json_t *message, char *out, size_t size)
{
    const char *body = json_string_value (json_object_get (message, "Body"));
    const char *why = NULL;
    norc_msg_t *tick = norc_tick_decode (body, body ? strlen (body) : 0, &why);
    if (tick)
        snprintf (out, size, "instance %llu (task %s, attempt %d)", (unsigned long long) tick->sqs_tick.instance_id,
                  tick->sqs_tick.task ? tick->sqs_tick.task : "?", tick->sqs_tick.attempt);
    else
        snprintf (out, size, "poison: %s", why);
    norc_msg_destroy (&tick);
}

static const char *
s_attr (json_t *message, const char *name)
{
    return json_string_value (json_object_get (json_object_get (message, "Attributes"), name)) ?: "";
}

static void
s_sent (json_t *message, char *out, size_t size)
{
    time_t sent = (time_t) (atoll (s_attr (message, "SentTimestamp")) / 1000);
    struct tm tm;
    gmtime_r (&sent, &tm);
    strftime (out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
ctl_sqs_dlq_list (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
    if (argc != 1) {
        fprintf (stderr, "norcctl: sqs dlq list QUEUE\n");
        return CTL_USAGE;
    }
    s_sqs_t q;
    int rc = s_open (config, argv [0], &q);
    if (rc == CTL_OK) {
        json_t *messages = s_scan (&q);
        printf ("%-36s  %-20s  %-8s  %s\n", "MESSAGE", "SENT", "RECEIVES", "WHAT");
        size_t i;
        json_t *m;
        json_array_foreach (messages, i, m) {
            char what [512], sent [32];
            s_what (m, what, sizeof what);
            s_sent (m, sent, sizeof sent);
            printf ("%-36s  %-20s  %-8s  %s\n", json_string_value (json_object_get (m, "MessageId")) ?: "?", sent,
                    s_attr (m, "ApproximateReceiveCount"), what);
        }
        printf ("%zu messages in %s\n", json_array_size (messages), q.dlq);
        s_show_again (&q, messages);
        json_decref (messages);
    }
    s_close (&q);
    return rc;
}

int
ctl_sqs_dlq_show (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
    if (argc != 2) {
        fprintf (stderr, "norcctl: sqs dlq show QUEUE MESSAGE-ID\n");
        return CTL_USAGE;
    }
    s_sqs_t q;
    int rc = s_open (config, argv [0], &q);
    if (rc == CTL_OK) {
        json_t *messages = s_scan (&q);
        size_t i;
        json_t *m, *found = NULL;
        json_array_foreach (messages, i, m)
            if (strcmp (json_string_value (json_object_get (m, "MessageId")) ?: "", argv [1]) == 0)
                found = m;
        if (found) {
            char what [512], sent [32];
            s_what (found, what, sizeof what);
            s_sent (found, sent, sizeof sent);
            printf ("message   %s\nsent      %s\nreceives  %s\nwhat      %s\nbody      %s\n", argv [1], sent,
                    s_attr (found, "ApproximateReceiveCount"), what,
                    json_string_value (json_object_get (found, "Body")) ?: "");
        }
        else {
            fprintf (stderr, "norcctl: no message %s in %s\n", argv [1], q.dlq);
            rc = CTL_FAIL;
        }
        s_show_again (&q, messages);
        json_decref (messages);
    }
    s_close (&q);
    return rc;
}

//  Back to the queue: sent again (its body and attributes), then deleted
//  from the dead-letter queue
int
ctl_sqs_dlq_redrive (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
    if (argc < 1) {
        fprintf (stderr, "norcctl: sqs dlq redrive QUEUE [MESSAGE-ID...]\n");
        return CTL_USAGE;
    }
    s_sqs_t q;
    int rc = s_open (config, argv [0], &q);
    if (rc != CTL_OK) {
        s_close (&q);
        return rc;
    }
    json_t *messages = s_scan (&q), *kept = json_array ();
    size_t moved = 0, i;
    json_t *m;
    bool fifo = strlen (q.url) > 5 && strcmp (q.url + strlen (q.url) - 5, ".fifo") == 0;
    json_array_foreach (messages, i, m) {
        const char *id = json_string_value (json_object_get (m, "MessageId")) ?: "";
        bool chosen = argc == 1;
        for (int a = 1; a < argc && !chosen; a++)
            chosen = strcmp (argv [a], id) == 0;
        if (!chosen) {
            json_array_append (kept, m);
            continue;
        }
        json_t *send = json_pack ("{s:s, s:O}", "QueueUrl", q.url, "MessageBody", json_object_get (m, "Body"));
        json_t *attributes = json_object_get (m, "MessageAttributes");
        if (json_object_size (attributes))
            json_object_set (send, "MessageAttributes", attributes);
        if (fifo) {
            json_object_set_new (send, "MessageGroupId", json_string (s_attr (m, "MessageGroupId")));
            json_object_set_new (send, "MessageDeduplicationId", json_string (s_attr (m, "MessageDeduplicationId")));
        }
        json_t *sent = s_call (&q, "SendMessage", send);
        if (!sent) {
            json_array_append (kept, m);
            rc = CTL_FAIL;
            continue;
        }
        json_decref (sent);
        json_decref (s_call (&q, "DeleteMessage", json_pack ("{s:s, s:O}", "QueueUrl", q.dlq, "ReceiptHandle",
                                                             json_object_get (m, "ReceiptHandle"))));
        moved++;
    }
    s_show_again (&q, kept);
    printf ("%zu messages moved back to %s\n", moved, q.url);
    json_decref (kept);
    json_decref (messages);
    s_close (&q);
    return rc;
}
