//  norc_zmq.h - ZeroMQ helpers on czmq: sockets made the same way in every
//  service (linger, high-water marks, bind-or-connect with an error that
//  says which endpoint failed), and a bounded wait for input.
#ifndef NORC_ZMQ_H_INCLUDED
#define NORC_ZMQ_H_INCLUDED
#include "norc.h"

//  The largest frame any socket accepts: the largest message (NORC_MSG_MAX,
//  4 MiB) with room to spare. Larger frames cost nothing: libzmq drops the
//  connection that sends one.
#define NORC_ZMQ_MAXMSGSIZE (4 * 1024 * 1024 + 64 * 1024)
#include <czmq.h>

//  A socket of type (ZMQ_ROUTER, ZMQ_DEALER, ...) bound to endpoint.
//  NULL when the bind fails (the reason is logged with the endpoint).
zsock_t *norc_zmq_bind (int type, const char *endpoint);

//  A socket of type connected to endpoint (connecting never waits for the
//  peer: ZeroMQ reconnects by itself). NULL on a malformed endpoint.
zsock_t *norc_zmq_connect (int type, const char *endpoint);

//  Whether a bound endpoint can be reached by others than this host's
//  owner of the process: a tcp endpoint on any host but loopback, an ipc
//  endpoint in the abstract namespace or in a directory other users can
//  open. True with the reason in why; false for loopback tcp, ipc in an
//  owner-only directory, and inproc.
bool norc_zmq_exposed (const char *endpoint, char *why, size_t size);

//  Remember that an exposed endpoint was bound anyway (security.insecure;
//  why names it), and say so: once now, and again at each
//  norc_zmq_warn_exposed.
void norc_zmq_note_exposed (const char *why);

//  Repeat the warning for every exposed endpoint bound (a service calls it
//  once a minute).
void norc_zmq_warn_exposed (void);

//  Wait until the socket has input: NORC_OK, NORC_AGAIN after timeout_ms,
//  NORC_ERROR when interrupted.
int norc_zmq_wait (zsock_t *sock, int timeout_ms);

#endif
