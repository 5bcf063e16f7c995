//  norc_link.h - a daemon's link to the status-aggregator, the same for
//  every daemon (scheduler, executor): its identity in the record
//  (registered through the aggregator's API: a daemons row, an id), its
//  heartbeat, the acknowledged outbox for the events it must not lose,
//  and the control requests that come back on the same connection, each
//  one answered (a request for one instance too) after the daemon's new
//  status is reported.
//
//  A daemon recorded dead while it was only frozen is told to register
//  again (REREGISTER): the link does, and tells the daemon its new id; no
//  reply goes to the old one.
#ifndef NORC_LINK_H_INCLUDED
#define NORC_LINK_H_INCLUDED
#include "norc_msg.h"
#include "norc_config.h"
#include "norc_outbox.h"

typedef struct _norc_link_t norc_link_t;

//  What the daemon did with a control request
typedef struct {
    const char *refused;        //  why it refused, or NULL when it acted
    int status;                 //  its status now
    bool report;                //  report the status (DAEMON-STATUS) before the reply
    bool stop;                  //  its loop is to end
} norc_link_outcome_t;

typedef norc_link_outcome_t (norc_link_control_fn) (void *arg, const norc_control_t *request);

//  After registering again: the id it had, and the new one
typedef void (norc_link_registered_fn) (void *arg, uint64_t old_id, uint64_t new_id);

typedef struct {
    const char *kind;           //  "scheduler" or "executor"
    const char *host;
    const char *queue;          //  an executor's queue (NULL for a scheduler)
    int concurrency;            //  an executor's slots
    norc_link_control_fn *control;
    norc_link_registered_fn *registered;
    //  A control request for another daemon (a bridge's disconnected
    //  site's executor, whose heartbeats the bridge carries): given to
    //  forward, which sends it on; that daemon answers. NULL: ignored.
    void (*forward) (void *arg, const norc_control_t *request);
    void *arg;
} norc_link_spec_t;

//  A link to aggregator.events (and aggregator.api to register), resending
//  what is not acknowledged every three heartbeat periods. The strings of
//  spec are copied. NULL when an endpoint is malformed.
norc_link_t *norc_link_new (norc_config_t *config, const norc_link_spec_t *spec);
void norc_link_destroy (norc_link_t **self_p);

//  Under CURVE, before a daemon opens its connections: with
//  security.enrol_token set, present the token to the aggregator so that
//  this program's own key is admitted as the principal the token names;
//  then wait until the aggregator admits the key (a pending key waits for
//  an admin's norcctl keys accept, saying so every 30 s), and, when it was
//  not admitted at once, a second more for every server to know it (libzmq
//  never connects again a socket whose handshake was refused). NORC_OK, or
//  NORC_ERROR when a signal came first.
int norc_link_admission (norc_config_t *config);

//  Register (up to `attempts` tries of api.timeout_ms each, while no
//  signal came): NORC_OK with the id set, NORC_AGAIN when the aggregator
//  never answered, NORC_ERROR when it refused (the reason is logged).
int norc_link_register (norc_link_t *self, int attempts);

uint64_t norc_link_id (norc_link_t *self);

//  The events socket, to read from the daemon's loop (norc_link_read)
zsock_t *norc_link_socket (norc_link_t *self);

//  Send an event through the outbox (its seq is set here); consumes *msg_p
void norc_link_send (norc_link_t *self, norc_msg_t **msg_p);

//  The same, with a tag handed to the on_acked callback once the
//  aggregator has committed the event (norc_outbox_send_tagged)
void norc_link_send_tagged (norc_link_t *self, norc_msg_t **msg_p, uint64_t tag);
void norc_link_on_acked (norc_link_t *self, norc_outbox_acked_fn *fn, void *arg);

//  A HEARTBEAT with the daemon's status (and, for an executor, its running
//  and free slots), then whatever waited too long for its ACK again.
void norc_link_beat (norc_link_t *self, int status, int running, int free_slots);

//  Report a status change (DAEMON-STATUS, through the outbox)
void norc_link_status (norc_link_t *self, int status, const char *reason);

//  Read what the aggregator sent (ACKs, control requests), a bounded
//  number at a time. Returns -1 when a request ended the daemon's loop.
int norc_link_read (norc_link_t *self);

//  Take the acknowledgements waiting, and nothing else (a daemon on its
//  way out acts on no request)
void norc_link_read_acks (norc_link_t *self);

//  Events not acknowledged yet
size_t norc_link_pending (norc_link_t *self);

//  Wait up to timeout_ms in all for the pending events to be acknowledged
//  (on the way out)
void norc_link_flush (norc_link_t *self, int timeout_ms);

#endif
