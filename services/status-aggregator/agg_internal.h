//  agg_internal.h - what the status-aggregator's parts share: the
//  aggregator and the functions one part calls in another. Nothing outside
//  services/status-aggregator includes it.
//
//  The parts: aggregator.c (lifecycle events committed in batches and
//  published on the stream, the API socket, start and stop),
//  agg_liveness.c (heartbeats, each daemon's route, control delivery, the
//  sweep that records the dead and what they held), agg_api.c (the
//  operations norcctl asks for).
#ifndef AGG_INTERNAL_H_INCLUDED
#define AGG_INTERNAL_H_INCLUDED
#include "aggregator.h"
#include "agg_api.h"
#include "norc_db.h"
#include "norc_log.h"
#include "norc_service.h"
#include "norc_mem.h"
#include "norc_migrate.h"
#include "norc_msg.h"
#include "norc_store.h"
#include "norc_zmq.h"

#define BATCH_MAX 2000
#define PENDING_MAX 4096        //  daemons heard from first, checked together
#define STRANGERS_MAX 100000    //  unknown daemon ids remembered

typedef struct {
    zframe_t *routing_id;       //  sender
    uint64_t seq;               //  its sequence number
} s_ack_t;

typedef struct {
    uint64_t daemon_id;
    int status;
    norc_us_t at;               //  wall clock of the last heartbeat
    bool dirty;                 //  not yet written
    int kind;                   //  NORC_DAEMON_SCHEDULER or NORC_DAEMON_EXECUTOR
    char host [256];
    int64_t pid;
    int running;
} s_beat_t;

struct _aggregator_t {
    norc_config_t *config;      //  not owned
    norc_db_t *db;
    zsock_t *events;            //  ROUTER: events, heartbeats
    zsock_t *api;               //  ROUTER: norcctl
    zsock_t *stream;            //  PUB: the public event stream
    char *stream_endpoint;      //  where it is bound (as bound: a port 0 is the port it got)
    uint64_t withdrawals;       //  norc_zap_withdrawals when it was bound
    zloop_t *loop;
    agg_api_t api_ctx;
    zlistx_t *waits;            //  controls that wait (agg_wait.c)
    norc_instance_t *batch;     //  instance changes waiting for commit
    size_t batch_count;
    uint64_t *retry_ids;        //  per batch entry: the retry its end created, 0 if none
    s_ack_t *acks;              //  acknowledgements waiting for commit
    size_t ack_count;
    norc_msg_t **publish;       //  events waiting for commit
    size_t publish_count;
    zhashx_t *beats;            //  daemon id (string) -> s_beat_t, daemons the record has
    zhashx_t *pending;          //  the same, heard from first since the last heartbeat write
    zhashx_t *strangers;        //  daemon id (string) -> 1: not in the record
    zhashx_t *in_batch;         //  instance id (string) -> its change in the batch
    zhashx_t *routes;           //  daemon id (string) -> its routing id on the events socket
    zhashx_t *speakers;         //  routing id (hex) -> daemon id (string): who talks on a connection
    int64_t period_ms;
    int64_t failure_ms;
    norc_us_t observing_since;  //  monotonic: since when heartbeats were seen and stored without a gap
    norc_us_t last_sweep;       //  monotonic
    int flush_timer;            //  commits a young batch, -1 when not armed
    int64_t batch_ms;
    uint64_t refused;           //  events refused since the last report
    norc_us_t refused_logged;   //  monotonic: the last report
};

//  --------------------------------------------------------------------------
//  aggregator.c: lifecycle events in group commits, the stream, the API socket, start and stop

norc_msg_t *agg_event (const char *topic_status, uint64_t instance_id, int status);

//  A retry was created for instance `of`.
void agg_publish_retry (aggregator_t *self, uint64_t id, uint64_t of);

//  Commit the batch; on success acknowledge and publish everything queued.
void agg_flush (aggregator_t *self);

int agg_handle_events (zloop_t *loop, zsock_t *sock, void *arg);

//  Controls that wait (agg_wait.c): the list, a reply held (taken) until
//  its targets' status is status (or final), or wait_ms is over; the check
//  (all: answer every one now), and the loop's timer that runs it.
zlistx_t *agg_wait_list (void);
void agg_wait_add (aggregator_t *self, norc_msg_t **reply_p, int status, int64_t wait_ms);
void agg_wait_check (aggregator_t *self, bool all);
int agg_wait_on_timer (zloop_t *loop, int timer_id, void *arg);

//  --------------------------------------------------------------------------
//  agg_liveness.c: heartbeats, routes to daemons, control delivery, the sweep of the dead

void agg_live_clear_pending (aggregator_t *self);

//  Send a control request to a connected daemon (agg_api_deliver_fn).
bool agg_live_deliver (void *owner, uint64_t daemon_id, uint64_t request_id, int request, const char *by, uint64_t instance_id);

void agg_live_route (aggregator_t *self, uint64_t daemon_id, zframe_t *routing_id);

//  A message other than a heartbeat came on routing_id: its daemon (once
//  a heartbeat named the connection's daemon) is alive now. A busy daemon's
//  heartbeats wait behind its own events in the socket; what is read from
//  it shows it alive as well as a heartbeat does.
void agg_live_heard (aggregator_t *self, zframe_t *routing_id);

//  The stream topic of a daemon's status, "<kind>.status", in buf (an
//  unknown kind, 0 or -1, is an executor's)
const char *agg_status_topic (int kind, char *buf, size_t size);

//  A heartbeat. Only daemons the record knows are kept and routed: one
//  not seen before waits (at most PENDING_MAX of them) for one batched
//  look-up at the next heartbeat write; one the record does not have is a
//  stranger, and its heartbeats are dropped at once (a flood of them
//  costs a hash look-up each). True when the daemon is known.
bool agg_live_heartbeat (aggregator_t *self, norc_heartbeat_t *hb);

//  The daemons heard from lately, from memory (agg_api_daemons_fn): what
//  the API answers while the database is out of reach.
void agg_live_daemons_heard (void *owner, int kind, norc_rows_t *rows);

int agg_live_on_heartbeat_write (zloop_t *loop, int timer_id, void *arg);

int agg_live_on_sweep (zloop_t *loop, int timer_id, void *arg);

#endif
