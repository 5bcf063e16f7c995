//  norc_zmq.c - socket set-up shared by every service. Linger is short so a
//  stopping service never hangs on unsent messages; anything that must not
//  be lost is acknowledged at the application level instead (design.md §3).
//  ROUTER sockets report unroutable peers instead of dropping silently, and
//  no send ever blocks.
#include "norc_zmq.h"
#include "norc_log.h"
#include "norc_mem.h"

static void
s_setup (zsock_t *sock, int type)
{
    //  A send never blocks the loop: when a peer's pipe is full (or it is
    //  gone) the message is dropped and the sender's own mechanism (outbox
    //  resend, periodic HELLO, client retry) makes up for it
    zsock_set_sndtimeo (sock, 0);
    zsock_set_linger (sock, 200);
    zsock_set_sndhwm (sock, 100000);
    zsock_set_rcvhwm (sock, 100000);
    //  A frame larger than any message is refused by libzmq before it is
    //  read into memory (the peer is disconnected), not by the decoder after
    zsock_set_maxmsgsize (sock, NORC_ZMQ_MAXMSGSIZE);
    if (type == ZMQ_ROUTER)
        zsock_set_router_mandatory (sock, 1);
}

zsock_t *
norc_zmq_bind (int type, const char *endpoint)
{
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    s_setup (sock, type);
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        norc_log_warn ("cannot bind %s", endpoint);
        zsock_destroy (&sock);
    }
    return sock;
}

zsock_t *
norc_zmq_connect (int type, const char *endpoint)
{
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    s_setup (sock, type);
    //  A list (executors: every scheduler that may dispatch): messages go
    //  only to peers actually connected, never queued for an absent one
    if (strchr (endpoint, ','))
        zsock_set_immediate (sock, 1);
    char *list = norc_strdup (endpoint);
    char *save = NULL;
    for (char *one = strtok_r (list, ",", &save); one && sock; one = strtok_r (NULL, ",", &save))
        if (zsock_connect (sock, "%s", one) < 0) {
            norc_log_warn ("cannot connect to %s", one);
            zsock_destroy (&sock);
        }
    free (list);
    return sock;
}

int
norc_zmq_wait (zsock_t *sock, int timeout_ms)
{
    zmq_pollitem_t item = { zsock_resolve (sock), 0, ZMQ_POLLIN, 0 };
    int rc = zmq_poll (&item, 1, timeout_ms);
    if (rc < 0)
        return NORC_ERROR;
    return rc == 0 ? NORC_AGAIN : NORC_OK;
}
