//  bridge_sqs.c - see bridge_sqs.h.
#include "bridge_sqs.h"
#include "norc_mem.h"
#include "norc_log.h"

struct _bridge_sqs_t {
    zactor_t *actor;
    size_t busy;
    volatile int cancel;        //  set on the way out: a long poll ends at once
};

typedef struct {
    norc_aws_session_t *session;
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

typedef struct {
    s_lane_t *lane;
    zsock_t *pipe;
} s_waiting_t;

//  Between retries the lane keeps reading its pipe: a request waits its
//  turn, $TERM ends the wait
static bool
s_wait (void *arg, int64_t ms)
{
    s_waiting_t *w = (s_waiting_t *) arg;
    norc_us_t until = norc_mono_us () + ms * 1000;
    while (!w->lane->term && norc_mono_us () < until)
        s_take (w->lane, w->pipe, (int) ((until - norc_mono_us ()) / 1000) + 1);
    return !w->lane->term;
}

//  One call with its retries; the answer's frames go to pipe
static void
s_call (s_lane_t *lane, zsock_t *pipe, uint64_t tag, const char *action, const char *json)
{
    char target [96];
    snprintf (target, sizeof target, "AmazonSQS.%s", action);
    norc_aws_pair_t headers [] = { { "Content-Type", "application/x-amz-json-1.0" }, { "X-Amz-Target", target } };
    norc_http_response_t r;
    norc_aws_error_t error;
    int64_t skew = 0;
    s_waiting_t w = { lane, pipe };
    norc_aws_session_call (lane->session, "POST", "/", NULL, 0, headers, 2, json, strlen (json), &r, &error, &skew,
                           s_wait, &w);
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
    norc_aws_session_destroy (&lane->session);
    free (lane);
}

bridge_sqs_t *
bridge_sqs_new (const norc_aws_target_t *target, const norc_aws_creds_config_t *creds, int attempts)
{
    bridge_sqs_t *self = (bridge_sqs_t *) norc_calloc (1, sizeof (bridge_sqs_t));
    norc_aws_target_t t = *target;
    t.cancel = &self->cancel;
    s_lane_t *lane = (s_lane_t *) norc_calloc (1, sizeof (s_lane_t));
    lane->session = norc_aws_session_new (&t, creds, attempts);
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
