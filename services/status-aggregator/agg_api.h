//  agg_api.h - the operations norcctl asks the aggregator for (API-REQUEST
//  op + args, answered by API-REPLY code + error + rows).
#ifndef AGG_API_H_INCLUDED
#define AGG_API_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_msg.h"
#include "norc_zap.h"

//  Deliver a stored control request to its daemon now, if it is connected
//  (instance_id: a KILL for that one instance, not stored). Returns true
//  when it was sent.
typedef bool (agg_api_deliver_fn) (void *owner, uint64_t daemon_id, uint64_t request_id, int request,
                                    const char *by, uint64_t instance_id);

//  Daemons of a kind heard from lately, as rows (id, host, pid, running,
//  status, heartbeat), from the aggregator's memory.
typedef void (agg_api_daemons_fn) (void *owner, int kind, norc_rows_t *rows);

typedef struct {
    norc_db_t *db;              //  the aggregator's connection
    zsock_t *stream;            //  PUB, for change notifications
    int64_t alive_ms;           //  heartbeat failure threshold
    agg_api_deliver_fn *deliver;    //  control delivery
    agg_api_daemons_fn *daemons;    //  what it knows of live daemons without the database
    void *owner;                //  first argument of both
    norc_us_t probed_at;        //  monotonic: when a request last tried an unreachable database
    const char *peer;           //  the address of the request's sender ("" or NULL: unknown), for the audit
    const char *user_id;        //  the sender's key under CURVE (the frame's User-Id), or NULL
    norc_zap_who_t who;         //  the sender, while a request is handled
    //  Set by a control with wait: answer once each target's status is
    //  wait_status (or final), or wait_ms is over (the aggregator holds the
    //  reply meanwhile: agg_wait_*)
    int64_t wait_ms;
    int wait_status;
} agg_api_t;

//  Run request's operation and fill reply (an API-REPLY).
//  A request with a credential (from a front end: norc-web) is authorised
//  and audited as the credential's principal, and its "by" is that name.
void agg_api_handle (agg_api_t *self, norc_api_request_t *request, norc_api_reply_t *reply);

//  The principal of a credential (an API token or a session's secret):
//  NORC_OK with who filled, NORC_UNAUTHENTICATED when no live token has
//  that secret, or the store's failure; *why says why not.
int agg_api_credential (agg_api_t *self, const char *credential, norc_zap_who_t *who, const char **why);

//  Publish an EVENT on the stream under topic.
void agg_api_publish (zsock_t *stream, norc_msg_t **event_p, const char *topic);

//  Tell the schedulers a schedule changed (id 0 with op "release": leases
//  were freed, claim now).
void agg_api_notify_schedule (zsock_t *stream, uint64_t id, const char *op);

#endif
