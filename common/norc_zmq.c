//  norc_zmq.c - socket set-up shared by every service. Linger is short so a
//  stopping service never hangs on unsent messages; anything that must not
//  be lost is acknowledged at the application level instead (design.md §3).
//  ROUTER sockets report unroutable peers instead of dropping silently, and
//  no send ever blocks.
#include "norc_zmq.h"
#include "norc_zap.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <libgen.h>
#include <sys/stat.h>

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
    //  A peer that connects and says nothing is dropped after the
    //  handshake time; a connection whose peer stopped answering (a frozen
    //  host, a cut network) is closed by ZMTP heartbeats instead of being
    //  kept half-open, and ZeroMQ reconnects by itself
    zsock_set_handshake_ivl (sock, 10000);
    zsock_set_heartbeat_ivl (sock, 10000);
    zsock_set_heartbeat_timeout (sock, 30000);
    zsock_set_heartbeat_ttl (sock, 30000);
    if (type == ZMQ_ROUTER)
        zsock_set_router_mandatory (sock, 1);
}

zsock_t *
norc_zmq_bind (int type, const char *endpoint)
{
    if (!endpoint)
        return NULL;
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    s_setup (sock, type);
    norc_zap_apply (sock, endpoint, true);
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
    for (char *one = strtok_r (list, ",", &save); one && sock; one = strtok_r (NULL, ",", &save)) {
        //  CURVE options hold for the connects that follow: each pins its own server
        norc_zap_apply (sock, one, false);
        if (zsock_connect (sock, "%s", one) < 0) {
            norc_log_warn ("cannot connect to %s", one);
            zsock_destroy (&sock);
        }
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

//  --------------------------------------------------------------------------
//  Who can reach an endpoint

bool
norc_zmq_exposed (const char *endpoint, char *why, size_t size)
{
    if (strncmp (endpoint, "tcp://", 6) == 0) {
        const char *host = endpoint + 6;
        const char *colon = strrchr (host, ':');
        size_t len = colon ? (size_t) (colon - host) : strlen (host);
        if (len >= 2 && host [0] == '[' && host [len - 1] == ']') {
            host++;
            len -= 2;
        }
        bool loopback = (len == 9 && strncmp (host, "localhost", 9) == 0)
                     || (len >= 4 && strncmp (host, "127.", 4) == 0)
                     || (len == 3 && strncmp (host, "::1", 3) == 0);
        if (!loopback)
            snprintf (why, size, "%s is reachable from other hosts and has no CURVE", endpoint);
        return !loopback;
    }
    if (strncmp (endpoint, "ipc://", 6) == 0) {
        const char *path = endpoint + 6;
        if (*path == '@') {
            snprintf (why, size, "%s is in the abstract namespace, open to every user of this host", endpoint);
            return true;
        }
        char *copy = norc_strdup (path);
        const char *dir = dirname (copy);
        struct stat st;
        bool open_to_others = stat (dir, &st) == 0 && (st.st_mode & 077) != 0;
        if (open_to_others)
            snprintf (why, size, "the directory of %s (%s, mode %03o) is open to other users: make it 0700",
                      endpoint, dir, (unsigned) (st.st_mode & 0777));
        free (copy);
        return open_to_others;
    }
    return false;
}

static char *s_exposed;         //  why each endpoint bound anyway is open, "; "-separated

void
norc_zmq_note_exposed (const char *why)
{
    if (s_exposed && strstr (s_exposed, why))
        return;
    char *more = norc_asprintf ("%s%s%s", s_exposed ? s_exposed : "", s_exposed ? "; " : "", why);
    free (s_exposed);
    s_exposed = more;
    norc_log_warnx ("INSECURE (security.insecure is set): %s", why);
}

void
norc_zmq_warn_exposed (void)
{
    if (s_exposed)
        norc_log_warnx ("INSECURE (security.insecure is set): %s", s_exposed);
}
