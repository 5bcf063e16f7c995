//  norc_control.c - see norc_control.h.
#include "norc_control.h"
#include "norc_mem.h"

void
norc_control_reply (zsock_t *sock, const norc_control_t *request, uint64_t daemon_id, int status,
                    const char *refused)
{
    norc_msg_t *reply = norc_msg_new (NORC_MSG_CONTROL_REPLY);
    reply->control_reply.request_id = request->request_id;
    reply->control_reply.daemon_id = daemon_id;
    reply->control_reply.accepted = refused == NULL;
    reply->control_reply.status = status;
    reply->control_reply.reason = refused ? norc_strdup (refused) : NULL;
    norc_msg_send (&reply, sock);
}
