//  norc_authz.c - see norc_authz.h. The one table of who may ask what.
#include "norc_authz.h"
#include "norc_api.h"
#include "norc_msg.h"
#include "norc_log.h"

#define VIEW    NORC_ROLE_VIEWER
#define OPER    NORC_ROLE_OPERATOR
#define ADMIN   NORC_ROLE_ADMIN

//  API operations: the table generated from proto/norc_api.xml (reads
//  need viewer; runs and control need operator; definitions, principals
//  and the audit need admin; services ask a few: each daemon registers
//  itself, a scheduler kills a job's steps)
uint32_t
norc_authz_op (const char *op)
{
    const norc_api_op_t *known = norc_api_op (op);
    return known ? known->needs : ADMIN;
}

uint32_t
norc_authz_msg (int msg_id)
{
    switch (msg_id) {
        //  dispatch: an executor asks a scheduler (or a bridge) for work;
        //  a bridge asks a scheduler for its sqs queue's instances to send
        case NORC_MSG_HELLO:
        case NORC_MSG_CREDIT:
        case NORC_MSG_RELEASE:
            return NORC_ROLE_EXECUTOR | NORC_ROLE_BRIDGE;
        //  events: a scheduler creates instances and skips ticks; either
        //  daemon starts and ends instances and reports on itself
        case NORC_MSG_INSTANCE_CREATED:
        case NORC_MSG_TICK_SKIPPED:
            return NORC_ROLE_SCHEDULER;
        case NORC_MSG_INSTANCE_STARTED:
        case NORC_MSG_INSTANCE_ENDED:
            //  (a bridge relays those of a disconnected site's executors)
            return NORC_ROLE_SCHEDULER | NORC_ROLE_EXECUTOR | NORC_ROLE_BRIDGE;
        //  every daemon reports on itself (a bridge and a log-archiver too)
        case NORC_MSG_DAEMON_STATUS:
        case NORC_MSG_HEARTBEAT:
        case NORC_MSG_CONTROL_REPLY:
            return NORC_ROLE_SCHEDULER | NORC_ROLE_EXECUTOR | NORC_ROLE_BRIDGE | NORC_ROLE_ARCHIVER;
        //  a refusal for the audit, from the one server without it
        case NORC_MSG_REFUSAL:
            return NORC_ROLE_ARCHIVER;
        //  logs: an executor writes them, a reader with logs:read reads them,
        //  and norc-web for those the aggregator says may (instance.log)
        case NORC_MSG_LOG_CHUNK:
            return NORC_ROLE_EXECUTOR | NORC_ROLE_BRIDGE;       //  (a bridge's: its sites' executors')
        case NORC_MSG_LOG_FETCH:
            return NORC_ROLE_LOGS | NORC_ROLE_WEB;
        //  api: any principal; the operation says the rest (norc_authz_op)
        case NORC_MSG_API_REQUEST:
            return NORC_ROLE_ANY;
        //  ASSIGN, ACK, CONTROL, LOG DATA, API REPLY, SCHEDULE CHANGED,
        //  EVENT travel from a server to its clients, never to a server
        default:
            return 0;
    }
}

static norc_authz_denied_fn *s_denied;
static void *s_denied_arg;

void
norc_authz_on_denied (norc_authz_denied_fn *fn, void *arg)
{
    s_denied = fn;
    s_denied_arg = arg;
}

bool
norc_authz_check (const norc_msg_t *msg, norc_zap_who_t *who)
{
    if (!who && !norc_zap_curve ())
        return true;            //  nothing to check, nobody to name
    norc_zap_who_t mine;
    who = who ? who : &mine;
    const char *why = NULL;
    if (norc_zap_allows (msg->user_id, norc_authz_msg (msg->id), who, &why))
        return true;
    const char *address = msg->routing_id ? zframe_meta (msg->routing_id, "Peer-Address") : NULL;
    static int64_t said_at, quiet;
    if (said_at && zclock_mono () - said_at < 10000)
        quiet++;
    else {
        norc_log_warnx ("refused %s from %s (key %s, %s): %s (%lld more refusals not said; a line every 10 s "
                        "at most)", norc_msg_name (msg), who->name, *who->fingerprint ? who->fingerprint : "none",
                        address ? address : "?", why, (long long) quiet);
        said_at = zclock_mono ();
        quiet = 0;
    }
    if (s_denied)
        s_denied (s_denied_arg, who, norc_msg_name (msg), why, address ? address : "");
    return false;
}
