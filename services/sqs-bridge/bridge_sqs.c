//  bridge_sqs.c - see bridge_sqs.h.
#include "bridge_sqs.h"
#include "norc_mem.h"
#include "norc_log.h"
#include <sodium.h>

struct _bridge_sqs_t {
    zactor_t *actor;
    size_t busy;
    volatile int cancel;        //  set on the way out: a long poll ends at once
};

typedef struct {
    norc_aws_target_t target;
    char *strings [6];          //  the target's, owned
    norc_aws_creds_config_t creds_config;
    char *creds_strings [2];    //  its strings, owned
    norc_aws_creds_t creds;     //  the target's key points here
    bool have_creds;
    int attempts;
    zlist_t *waiting;           //  requests read while a call waited to retry (zmsg_t)
    bool term;                  //  $TERM came
} s_lane_t;

//  Read what the bridge sent within timeout_ms: a request waits its turn,
//  $TERM ends the lane
static void
s_take (s_lane_t *lane, zsock_t *pipe, int timeout_ms)
{
    zmq_pollitem_t item = { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 };
    while (!lane->term && zmq_poll (&item, 1, timeout_ms) > 0) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            break;
        char *first = zmsg_popstr (msg);
        if (!first || streq (first, "$TERM")) {
            lane->term = true;
            zmsg_destroy (&msg);
        }
        else
            zlist_append (lane->waiting, msg);
        zstr_free (&first);
        timeout_ms = 0;
    }
}

//  Credentials from the chain when there are none yet, when they are due,
//  or when forced (AWS said they expired). False when there are none to use.
static bool
s_credentials (s_lane_t *lane, bool force, char *why, size_t whysize)
{
    norc_us_t now = norc_now_us ();
    if (lane->have_creds && !force && !norc_aws_creds_due (&lane->creds, now))
        return true;
    norc_aws_creds_t fresh;
    if (norc_aws_creds_get (&lane->creds_config, &fresh, why, whysize) == NORC_OK) {
        if (!lane->have_creds || strcmp (fresh.source, lane->creds.source) || fresh.expires)
            norc_log_info ("AWS credentials from %s%s", fresh.source, fresh.expires ? " (temporary)" : "");
        lane->creds = fresh;
        lane->have_creds = true;
        sodium_memzero (&fresh, sizeof fresh);
        lane->target.access_key = lane->creds.access_key;
        lane->target.secret_key = lane->creds.secret_key;
        lane->target.session_token = *lane->creds.session_token ? lane->creds.session_token : NULL;
        return true;
    }
    //  Not made again: the ones held serve while they last
    norc_log_warnx ("AWS credentials not made again: %s", why);
    return lane->have_creds && (!lane->creds.expires || lane->creds.expires > now);
}

//  One call with its retries; the answer's frames go to pipe. A $TERM
//  that comes while waiting to retry ends the wait (and the lane).
static void
s_call (s_lane_t *lane, zsock_t *pipe, uint64_t tag, const char *action, const char *json)
{
    char target [96];
    snprintf (target, sizeof target, "AmazonSQS.%s", action);
    norc_aws_pair_t headers [] = { { "Content-Type", "application/x-amz-json-1.0" }, { "X-Amz-Target", target } };
    norc_http_response_t r = { 0 };
    norc_aws_error_t error = { 0 };
    int64_t skew = 0;
    bool term = false, refreshed = false;
    for (int attempt = 0; attempt < lane->attempts && !term; attempt++) {
        norc_http_response_clear (&r);
        char why [512];
        if (!s_credentials (lane, false, why, sizeof why)) {
            error = (norc_aws_error_t) { .outcome = NORC_AWS_AUTH, .retry = false };
            snprintf (error.code, sizeof error.code, "NoCredentials");
            snprintf (error.message, sizeof error.message, "%.250s", why);
            snprintf (r.error, sizeof r.error, "%.250s", why);
            break;
        }
        int rc = norc_aws_call (&lane->target, "POST", "/", NULL, 0, headers, 2, json, strlen (json), &r);
        if (rc == NORC_OK) {
            norc_aws_error_parse (r.status, r.body, r.headers, &error);
            if (error.outcome == NORC_AWS_SKEWED)
                skew = norc_aws_skew_s (r.headers, norc_now_us ());
            //  Expired: made again, then tried once more at once
            if (error.outcome == NORC_AWS_EXPIRED && !refreshed && s_credentials (lane, true, why, sizeof why)) {
                refreshed = true;
                attempt--;
                continue;
            }
            if (!error.retry)
                break;
        }
        else {
            error = (norc_aws_error_t) { .outcome = NORC_AWS_UNAVAILABLE, .retry = true };
            snprintf (error.message, sizeof error.message, "%s", r.error);
        }
        if (attempt + 1 < lane->attempts) {
            int64_t wait = norc_aws_backoff_ms (attempt, 100, 5000, randombytes_uniform (1000001) / 1e6);
            norc_log_debug ("%s: %s; again in %lld ms", action, error.code [0] ? error.code : "no answer",
                            (long long) wait);
            norc_us_t until = norc_mono_us () + wait * 1000;
            while (!lane->term && norc_mono_us () < until)
                s_take (lane, pipe, (int) ((until - norc_mono_us ()) / 1000) + 1);
            term = lane->term;
        }
    }
    zmsg_t *answer = zmsg_new ();
    zmsg_addmem (answer, &tag, sizeof tag);
    zmsg_addmem (answer, &r.status, sizeof r.status);
    zmsg_addmem (answer, &error, sizeof error);
    zmsg_addmem (answer, &skew, sizeof skew);
    zmsg_addstr (answer, r.status ? (r.body ? r.body : "") : r.error);
    zmsg_send (&answer, pipe);
    norc_http_response_clear (&r);
}

static void
s_lane (zsock_t *pipe, void *arg)
{
    s_lane_t *lane = (s_lane_t *) arg;
    lane->waiting = zlist_new ();
    zsock_signal (pipe, 0);
    while (!lane->term) {
        if (zlist_size (lane->waiting) == 0)
            s_take (lane, pipe, -1);
        zmsg_t *request = (zmsg_t *) zlist_pop (lane->waiting);
        if (!request)
            continue;
        if (zmsg_size (request) == 3) {
            zframe_t *tag = zmsg_pop (request);
            char *action = zmsg_popstr (request);
            char *json = zmsg_popstr (request);
            uint64_t id = 0;
            if (zframe_size (tag) == sizeof id)
                memcpy (&id, zframe_data (tag), sizeof id);
            s_call (lane, pipe, id, action, json);
            zframe_destroy (&tag);
            zstr_free (&action);
            zstr_free (&json);
        }
        zmsg_destroy (&request);
    }
    for (zmsg_t *left = (zmsg_t *) zlist_pop (lane->waiting); left; left = (zmsg_t *) zlist_pop (lane->waiting))
        zmsg_destroy (&left);
    zlist_destroy (&lane->waiting);
    for (size_t i = 0; i < 6; i++)
        free (lane->strings [i]);
    for (size_t i = 0; i < 2; i++)
        free (lane->creds_strings [i]);
    sodium_memzero (&lane->creds, sizeof lane->creds);
    free (lane);
}

bridge_sqs_t *
bridge_sqs_new (const norc_aws_target_t *target, const norc_aws_creds_config_t *creds, int attempts)
{
    s_lane_t *lane = (s_lane_t *) norc_calloc (1, sizeof (s_lane_t));
    lane->target = *target;
    const char *from [6] = { target->endpoint, target->region, target->service, target->access_key,
                             target->secret_key, target->session_token };
    for (size_t i = 0; i < 6; i++)
        lane->strings [i] = from [i] ? norc_strdup (from [i]) : NULL;
    lane->target.endpoint = lane->strings [0];
    lane->target.region = lane->strings [1];
    lane->target.service = lane->strings [2];
    lane->target.access_key = lane->strings [3];
    lane->target.secret_key = lane->strings [4];
    lane->target.session_token = lane->strings [5];
    lane->attempts = attempts > 0 ? attempts : 1;
    lane->creds_strings [0] = creds && creds->access_key_id ? norc_strdup (creds->access_key_id) : NULL;
    lane->creds_strings [1] = creds && creds->secret_file ? norc_strdup (creds->secret_file) : NULL;
    lane->creds_config = (norc_aws_creds_config_t) { lane->creds_strings [0], lane->creds_strings [1],
                                                     creds ? creds->timeout_ms : 0 };
    bridge_sqs_t *self = (bridge_sqs_t *) norc_calloc (1, sizeof (bridge_sqs_t));
    lane->target.cancel = &self->cancel;
    self->actor = zactor_new (s_lane, lane);
    return self;
}

void
bridge_sqs_destroy (bridge_sqs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    (*self_p)->cancel = 1;
    zactor_destroy (&(*self_p)->actor);
    free (*self_p);
    *self_p = NULL;
}

void
bridge_sqs_call (bridge_sqs_t *self, const char *action, const char *json, uint64_t tag)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "CALL");
    zmsg_addmem (request, &tag, sizeof tag);
    zmsg_addstr (request, action);
    zmsg_addstr (request, json);
    if (zmsg_send (&request, self->actor) == 0)
        self->busy++;
    zmsg_destroy (&request);
}

size_t
bridge_sqs_busy (bridge_sqs_t *self)
{
    return self->busy;
}

zsock_t *
bridge_sqs_socket (bridge_sqs_t *self)
{
    return zactor_sock (self->actor);
}

static bool
s_pop (zmsg_t *msg, void *into, size_t size)
{
    zframe_t *frame = zmsg_pop (msg);
    bool ok = frame && zframe_size (frame) == size;
    if (ok)
        memcpy (into, zframe_data (frame), size);
    zframe_destroy (&frame);
    return ok;
}

int
bridge_sqs_read (bridge_sqs_t *self, bridge_sqs_answer_t *answer)
{
    memset (answer, 0, sizeof *answer);
    zmsg_t *msg = zmsg_recv (self->actor);
    if (!msg)
        return NORC_ERROR;
    bool ok = zmsg_size (msg) == 5 && s_pop (msg, &answer->tag, sizeof answer->tag)
           && s_pop (msg, &answer->status, sizeof answer->status) && s_pop (msg, &answer->error, sizeof answer->error)
           && s_pop (msg, &answer->skew_s, sizeof answer->skew_s);
    if (ok)
        answer->body = zmsg_popstr (msg);
    zmsg_destroy (&msg);
    if (self->busy)
        self->busy--;
    return ok && answer->body ? NORC_OK : NORC_ERROR;
}

void
bridge_sqs_answer_clear (bridge_sqs_answer_t *answer)
{
    zstr_free (&answer->body);
}
