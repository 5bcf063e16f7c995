//  bridge_sqs.h - SQS's JSON protocol for norc-sqs-bridge, off the loop.
//  A request to SQS can take 20 s (a long poll) and must never hold the
//  bridge's loop, so each lane is a thread of its own that makes one call
//  at a time, retries what AWS says to retry (throttling, 5xx, no answer:
//  full-jitter backoff, at most `attempts` tries) and never what it says
//  not to (authentication, a wrong request), and answers on its socket.
//  The bridge has two lanes: one for the long polls, one for the rest
//  (sends, deletes, visibility), so a poll never delays a delete.
#ifndef BRIDGE_SQS_H_INCLUDED
#define BRIDGE_SQS_H_INCLUDED
#include "norc.h"
#include "norc_http.h"
#include "norc_aws_creds.h"
#include <czmq.h>

typedef struct _bridge_sqs_t bridge_sqs_t;

//  A lane calling target (its strings are copied; its key is the
//  credential chain's, made again before it expires, and at once when AWS
//  says it expired)
bridge_sqs_t *bridge_sqs_new (const norc_aws_target_t *target, const norc_aws_creds_config_t *creds, int attempts);
void bridge_sqs_destroy (bridge_sqs_t **self_p);

//  Ask for action (e.g. "SendMessageBatch") with its JSON body; the
//  answer comes later on bridge_sqs_socket with the same tag.
void bridge_sqs_call (bridge_sqs_t *self, const char *action, const char *json, uint64_t tag);

//  Requests asked and not answered yet
size_t bridge_sqs_busy (bridge_sqs_t *self);

//  Read one answer from the lane's socket (in the loop's reader)
typedef struct {
    uint64_t tag;
    long status;                //  HTTP status, 0 when no answer came
    norc_aws_error_t error;     //  its meaning (outcome DONE for 2xx)
    int64_t skew_s;             //  the server's clock minus ours, when AWS said it was skewed
    char *body;                 //  the answer's body (or why no answer came)
} bridge_sqs_answer_t;

int bridge_sqs_read (bridge_sqs_t *self, bridge_sqs_answer_t *answer);
void bridge_sqs_answer_clear (bridge_sqs_answer_t *answer);

zsock_t *bridge_sqs_socket (bridge_sqs_t *self);

#endif
