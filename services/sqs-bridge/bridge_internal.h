//  bridge_internal.h - what the parts of norc-sqs-bridge share: the
//  daemon (bridge.c: configuration, link, the API, the loop), the sending
//  side (bridge_send.c) and the receiving side (bridge_recv.c).
#ifndef BRIDGE_INTERNAL_H_INCLUDED
#define BRIDGE_INTERNAL_H_INCLUDED
#include "bridge.h"
#include "bridge_sqs.h"
#include "norc_msg.h"
#include "norc_link.h"
#include <czmq.h>
#include <jansson.h>

//  An instance this site sends: waiting for SendMessageBatch, or sent
//  and not claimed yet
typedef struct {
    uint64_t instance_id;
    char *body;                 //  the SQS-TICK, base64
    char *dedup;                //  FIFO deduplication id: the same on every send of this tick
    char *group;                //  FIFO group: the schedule
    char *task;
    bool sent;
    norc_us_t ready_at;         //  monotonic: when it became ready to send
    norc_us_t sent_at;          //  monotonic, the last send
    norc_us_t not_before;       //  a failed send waits until then
    int sends;
} bridge_out_t;

//  An executor of this site
typedef struct {
    zframe_t *routing_id;
    uint64_t executor_id;
    int credits;                //  free slots it granted
    int concurrency;            //  its slots
    int reserved;               //  of those, promised to ticks being claimed
    norc_u64list_t running;     //  what its last HELLO said it runs
    bool wrong_queue;
    norc_us_t last_seen;        //  monotonic
} bridge_exec_t;

//  A message this site received and has not deleted
typedef enum { IN_CLAIMING, IN_ASSIGNED, IN_DELETING } bridge_in_state_t;

typedef struct {
    char *message_id;
    char *receipt;
    uint64_t instance_id;
    int attempt;
    char digest [65];
    char *task;
    bridge_in_state_t state;
    uint64_t executor_id;       //  the executor it is claimed for
    uint64_t request_id;        //  its claim's, while one is asked
    norc_us_t asked_at;         //  monotonic: when it was asked
    norc_us_t deadline;         //  monotonic: ASSIGNED, claim again then unless it started
    norc_us_t visible_until;    //  monotonic: when SQS would give it to another receiver
    int assigns;
} bridge_in_t;

//  Something an executor of a disconnected site asked, answered once home
//  has: a registration (its API request) or an event (its sequence number)
typedef struct {
    zframe_t *routing_id;
    uint64_t number;            //  the executor's request id, its event's seq, or its chunk's end
    uint64_t instance_id;       //  a chunk of output: its instance,
    uint64_t offset;            //  where it starts,
    bool last;                  //  and whether it closes the log
} bridge_ask_t;

//  An executor's last heartbeat, as its site heard it (or home made it
//  when it registered it, until the site's beat brings the real one)
typedef struct {
    norc_msg_t *heartbeat;
    norc_us_t heard;            //  monotonic
} bridge_beat_t;

//  A disconnected site, as home knows it from its beats
typedef struct {
    zhashx_t *heartbeats;       //  daemon id -> norc_msg_t (HEARTBEAT), replayed every period while it lives
    norc_us_t beat_at;          //  monotonic: its last beat
    bool silent;                //  said to be silent
    char *reply_url;            //  its reply queue, as its last claim or registration named it
    zhashx_t *reregistered;     //  daemon id -> when a "register again" was last forwarded (monotonic, boxed)
} bridge_site_t;

//  What gathers up to ten before a request: sends, receives (free slots),
//  deletes
typedef enum { BATCH_SEND, BATCH_RECEIVE, BATCH_DELETE, BATCH_RETURNS_DELETE, BATCH_RETURNS_SEND,
               BATCH_KINDS } bridge_batch_kind_t;

typedef struct {
    struct _bridge_t *bridge;
    bridge_batch_kind_t kind;
    int timer;                  //  armed while it waits (-1: none)
} bridge_batch_t;

//  What a call on a lane was for
typedef enum {
    CALL_SEND, CALL_RECEIVE, CALL_DELETE, CALL_VISIBILITY,
    CALL_RETURN, CALL_REPLY_RECEIVE, CALL_REPLY_DELETE,         //  a disconnected site (bridge_site.c)
    CALL_RELAY, CALL_RELAY_LOG,                                 //  ... its executors' events and logs (bridge_relay.c)
    CALL_RETURN_BATCH,                                          //  ... up to ten of those in one SendMessageBatch
    CALL_RETURNS_RECEIVE, CALL_REPLY, CALL_RETURNS_DELETE,      //  home's side of the sites (bridge_home.c)
    CALL_KINDS
} bridge_call_kind_t;

//  A return message home holds: received, asked of the aggregator,
//  answered on the site's reply queue, then deleted
typedef enum { RET_ASKING, RET_REPLYING, RET_RELAYING, RET_DELETING } bridge_ret_state_t;

typedef struct {
    char *message_id;
    char *receipt;
    norc_msg_t *msg;            //  the SQS-RETURN, opened
    uint64_t asked;             //  our API request for it (the last)
    uint64_t log_instance;      //  a log chunk: its instance, and the archiver's
    uint64_t log_end;           //  acknowledgement that deletes it
    bridge_ret_state_t state;
} bridge_ret_t;

typedef struct {
    bridge_call_kind_t kind;
    char **keys;                //  the instance ids (send) or message ids (delete, visibility) it names
    size_t count;
} bridge_call_t;

struct _bridge_t {
    norc_config_t *config;      //  not owned
    char host [256];
    char *queue;                //  the Norc queue carried
    char *url;                  //  its SQS queue (from the record)
    bool fifo;
    bool sending, receiving;
    const char *fault;          //  bridge.fault: where it kills itself (failure tests)
    uint64_t id;                //  daemons.id
    int period_ms;
    int batch_ms;               //  bridge.batch_ms: how long a batch (send, receive, delete) waits for ten
    bridge_batch_t batches [BATCH_KINDS];   //  by bridge_batch_kind_t
    int status;
    bool done;
    norc_link_t *link;
    zloop_t *loop;
    zsock_t *api;               //  DEALER to aggregator.api: claims
    zsock_t *stream;            //  SUB to aggregator.stream: claims, starts, ends
    bridge_sqs_t *ops;          //  sends, deletes, visibility
    bridge_sqs_t *poll;         //  long polls
    uint64_t next_tag;
    zhashx_t *calls;            //  tag -> bridge_call_t
    norc_us_t sqs_refused_log;  //  monotonic: last time a refusal was said

    //  Sending
    zsock_t *upstream;          //  DEALER to the scheduler's dispatch
    int window;                 //  most instances held (to send, or sent and not claimed)
    int64_t claim_deadline_ms;
    zhashx_t *outgoing;         //  instance id -> bridge_out_t
    int freed;                  //  slots freed in this wake-up, given back as one CREDIT

    //  Receiving
    zsock_t *dispatch;          //  ROUTER for this site's executors
    zhashx_t *executors;        //  routing id (hex) -> bridge_exec_t
    zhashx_t *incoming;         //  message id -> bridge_in_t
    zhashx_t *claims;           //  request id -> message id (a copy)
    int visibility_s;
    int wait_s;
    bool polling;
    norc_us_t free_since;       //  monotonic: since when a slot is free and no poll is out (0: none)
    zlist_t *to_delete;         //  message ids waiting for a DeleteMessageBatch
    norc_us_t delete_since;     //  monotonic: since when the first of them waits

    //  Disconnected mode: a site (bridge.mode = disconnected) or home
    //  (bridge.returns); both seal what they send to the other's key
    bool disconnected;          //  a site: claims travel the return and reply queues
    bool returns;               //  home: answers the sites from the return queue
    char *return_url;
    char *reply_url;            //  a site's own reply queue
    char *site;                 //  this bridge's key name: a site's name
    int claim_wait_s;
    uint8_t own_secret [32];
    zhashx_t *peers;            //  key name -> its public key (32 bytes)
    bridge_sqs_t *backchannel;  //  long polls: a site's of its reply queue, home's of the return queue
    bool backchannel_polling;
    int reply_deletes;          //  a site: replies read and not deleted yet
    zlist_t *returns_out;       //  a site: return messages to send (json entries), ten to a request
    norc_us_t returns_out_since;    //  monotonic: since when the first of them waits
    zhashx_t *returned;         //  home: return message id -> bridge_ret_t
    zhashx_t *answering;        //  home: API request id -> return message id (a copy)
    zhashx_t *relaying;         //  home: outbox tag -> return message id (a copy): an event relayed
    zlist_t *returns_done;      //  home: return message ids to delete, ten to a request
    norc_us_t returns_done_since;   //  monotonic: since when the first of them waits
    zhashx_t *sites;            //  home: site name -> bridge_site_t
    int site_failure_s;

    //  A disconnected site's executors: this bridge is their aggregator
    //  (bridge_relay.c)
    zsock_t *site_events;       //  ROUTER: their events and heartbeats (their aggregator.events)
    zsock_t *site_api;          //  ROUTER: their registration (their aggregator.api)
    zsock_t *site_logs;         //  ROUTER: their output (their archiver.logs)
    zhashx_t *log_acked;        //  instance id -> bytes of its log SQS holds, from its start (boxed uint64_t)
    zsock_t *archiver;          //  home: DEALER to archiver.logs, for the sites' output
    zhashx_t *relay_asks;       //  our request id -> bridge_ask_t: a registration sent home
    zhashx_t *relay_events;     //  relay key -> bridge_ask_t: an event sent home, its ACK owed
    zhashx_t *site_execs;       //  daemon id -> bridge_beat_t: what each executor last said of itself
    int beat_s;
    norc_us_t beat_at;          //  monotonic: the site's last beat sent
    uint64_t beats;

    //  What happened, for the log, the metrics and the tests
    uint64_t sent, resent, send_failures;
    uint64_t returns_sent, replies_read, returns_read, replies_sent;
    uint64_t call_counts [CALL_KINDS];  //  SQS calls made, by bridge_call_kind_t
    uint64_t received, accepted, duplicates, cancelled, poison, deleted, held_elsewhere;
};

char *bridge_key (uint64_t id, char *buf, size_t size);
uint64_t bridge_tag (bridge_t *self, bridge_call_kind_t kind, char **keys, size_t count);
//  The call a tag was for (removed from the table; caller destroys)
bridge_call_t *bridge_call_take (bridge_t *self, uint64_t tag);
void bridge_call_destroy (bridge_call_t **call_p);
//  One line about a refused SQS call, at most every 10 s
void bridge_sqs_refused (bridge_t *self, const char *action, const bridge_sqs_answer_t *answer);
//  At a point named by bridge.fault: SIGKILL, as a crash there would be
void bridge_fault (bridge_t *self, const char *point);
//  Whether a batch of `ready` (`full` make a whole one) whose oldest has
//  waited since `since` should wait for more: it does while fewer than
//  `full` wait and for less than bridge.batch_ms, and its flush runs again
//  when that time is up
bool bridge_batch_waits (bridge_t *self, bridge_batch_kind_t kind, size_t ready, size_t full, norc_us_t since);
//  One batch call: {QueueUrl, Entries} to action on the ops lane, tagged
//  with what it names (keys, count of them; taken). False, and nothing
//  sent (entries and keys freed), when count is 0.
bool bridge_call_batch (bridge_t *self, const char *action, bridge_call_kind_t kind, json_t *entries, char **keys,
                        size_t count);
//  Delete the messages a list names (ids, taken from it), ten to a
//  DeleteMessageBatch on url, the call of kind naming them; receipt says
//  each one's receipt handle (NULL: no longer held, skipped)
void bridge_delete_batches (bridge_t *self, const char *url, zlist_t *ids, bridge_call_kind_t kind,
                            const char *(*receipt) (bridge_t *self, const char *id));
//  A JSON body (caller frees), with QueueUrl added: the queue carried, or
//  another (bridge_json_at)
char *bridge_json (bridge_t *self, json_t *body);
char *bridge_json_at (const char *url, json_t *body);
//  Ask the aggregator (the reply comes to bridge_recv_on_api)
void bridge_ask (bridge_t *self, uint64_t request_id, const char *op, const norc_strmap_t *args);

//  Sending (bridge_send.c)
int bridge_send_start (bridge_t *self);
void bridge_send_stop (bridge_t *self);
void bridge_send_hello (bridge_t *self);
int bridge_send_handle_upstream (zloop_t *loop, zsock_t *sock, void *arg);
void bridge_send_flush (bridge_t *self);
void bridge_send_on_answer (bridge_t *self, bridge_call_t *call, const bridge_sqs_answer_t *answer);
//  An instance claimed, started or ended (the stream): no longer this side's
void bridge_send_gone (bridge_t *self, uint64_t instance_id);
void bridge_send_beat (bridge_t *self);

//  Receiving (bridge_recv.c)
int bridge_recv_start (bridge_t *self);
void bridge_recv_stop (bridge_t *self);
int bridge_recv_handle_dispatch (zloop_t *loop, zsock_t *sock, void *arg);
void bridge_recv_poll (bridge_t *self);
void bridge_recv_delete_flush (bridge_t *self);
void bridge_recv_on_answer (bridge_t *self, bridge_call_t *call, const bridge_sqs_answer_t *answer);
void bridge_recv_on_api (bridge_t *self, norc_msg_t *reply);
//  An instance started or ended (the stream): its message can go
void bridge_recv_started (bridge_t *self, uint64_t instance_id);
void bridge_recv_beat (bridge_t *self);

//  Disconnected mode (bridge_site.c): keys, and a site's claims over the
//  queues (its answers come to bridge_recv_on_api as the API's would)
int bridge_site_keys (bridge_t *self);
void bridge_site_stop (bridge_t *self);
//  Send home a claim of a received tick for one executor, or the release
//  of an instance
void bridge_site_claim (bridge_t *self, bridge_in_t *in, uint64_t executor_id);
void bridge_site_release (bridge_t *self, uint64_t instance_id, uint64_t executor_id);
//  Poll the reply queue while claims wait for their answers
void bridge_site_poll (bridge_t *self);
void bridge_site_on_answer (bridge_t *self, bridge_call_t *call, const bridge_sqs_answer_t *answer);
//  Send what waits for the return queue, ten (and at most 256 KiB) to a
//  request; and the answer to such a batch, handed on entry by entry
void bridge_site_return_flush (bridge_t *self);
void bridge_site_on_batch (bridge_t *self, bridge_call_t *call, const bridge_sqs_answer_t *answer);
//  A body sealed to a peer (bridge.peers), and a send of it: group and
//  deduplication for a FIFO queue, the writer in attribute norc-site
char *bridge_site_seal (bridge_t *self, const norc_msg_t *msg, const char *peer);
//  SHA-256 (hex) of what names one message of a site: the same on every
//  send of it, another for any other (a FIFO queue's deduplication id)
void bridge_site_dedup (const char *site, const char *kind, uint64_t instance_id, int attempt, uint64_t number,
                        char hex [65]);
void bridge_site_send (bridge_t *self, const char *url, const char *body, const char *group, const char *dedup,
                       bridge_call_kind_t kind, char *key);

//  A disconnected site's executors (bridge_relay.c): their registration
//  and events go home through the return queue, their heartbeats in the
//  site's beat
int bridge_relay_start (bridge_t *self);
void bridge_relay_stop (bridge_t *self);
void bridge_relay_beat (bridge_t *self, bool now);
void bridge_relay_on_answer (bridge_t *self, bridge_call_t *call, const bridge_sqs_answer_t *answer);
//  home's answer to a registration (an SQS-REPLY "registered")
void bridge_relay_registered (bridge_t *self, const norc_sqs_reply_t *reply);
//  Send home a return message (kind and what it names set): sealed, in
//  the group, with the deduplication id; the answer comes to call kind
//  with key
void bridge_site_return (bridge_t *self, norc_msg_t **msg_p, const char *group, const char *dedup,
                         bridge_call_kind_t kind, char *key);

//  Home's side of the sites (bridge_home.c)
int bridge_home_start (bridge_t *self);
void bridge_home_stop (bridge_t *self);
void bridge_home_poll (bridge_t *self);
void bridge_home_delete_flush (bridge_t *self);
void bridge_home_on_answer (bridge_t *self, bridge_call_t *call, const bridge_sqs_answer_t *answer);
//  An API reply: true when it answers a site's claim (then handled)
bool bridge_home_on_api (bridge_t *self, norc_msg_t *reply);
//  Every heartbeat period: the live sites' executors' heartbeats, replayed
void bridge_home_beat (bridge_t *self);
//  A control request for a site's executor: to its site's reply queue
void bridge_home_forward (bridge_t *self, const norc_control_t *request);
//  home's control request for one of this site's executors (an SQS-REPLY
//  "control"): delivered to it
void bridge_relay_control (bridge_t *self, const norc_sqs_reply_t *reply);

#endif
