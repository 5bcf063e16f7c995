//  Fuzz target: norc-web's HTTP request handling, whole. Each input is the
//  bytes a client sends on one connection (the request line, headers and
//  body: several requests, pipelined, as they come), handed to the real
//  service (libmicrohttpd and Norc's own checks, routing, JSON bodies,
//  sessions, the event stream) over a socket pair; a ROUTER in the place of
//  the aggregator answers every API-REQUEST with a refusal. Whatever comes
//  in, what goes out is HTTP: a status line of 1xx to 5xx (never a 500:
//  nothing of Norc's fails that way), or nothing at all; and the service
//  is still there for the next input.
#include "web.h"
#include "norc_msg.h"
#include "norc_config.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <czmq.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static web_t *s_web;
static zsock_t *s_aggregator;
static zsock_t *s_stream;
static norc_config_t *s_config;

static void
s_start (void)
{
    norc_log_init ("fuzz", NORC_LOG_ERROR);
    zsys_init ();
    zsys_set_linger (0);
    s_aggregator = zsock_new_router ("inproc://fuzz-aggregator");
    s_stream = zsock_new_pub ("inproc://fuzz-stream");
    s_config = norc_config_new ();
    norc_config_set (s_config, "web.listen", "127.0.0.1:0");
    norc_config_set (s_config, "web.timeout_ms", "100");
    norc_config_set (s_config, "web.max_body", "65536");
    norc_config_set (s_config, "web.idle_s", "1");
    norc_config_set (s_config, "web.max_per_client", "65536");
    norc_config_set (s_config, "web.max_connections", "65536");
    norc_config_set (s_config, "aggregator.api", "inproc://fuzz-aggregator");
    norc_config_set (s_config, "aggregator.stream", "inproc://fuzz-stream");
    s_web = web_new (s_config);
    if (!s_aggregator || !s_stream || web_start (s_web) != NORC_OK)
        abort ();
}

//  The aggregator's part: every request refused, as a credential that is
//  not valid (a whoami for the event stream: a viewer, so a stream opens)
static void
s_answer (void)
{
    while (zsock_events (s_aggregator) & ZMQ_POLLIN) {
        norc_msg_t *msg = norc_msg_recv (s_aggregator);
        if (!msg)
            continue;
        norc_msg_t *reply = norc_msg_new (NORC_MSG_API_REPLY);
        reply->api_reply.request_id = msg->api_request.request_id;
        bool whoami = msg->api_request.op && strcmp (msg->api_request.op, "whoami") == 0;
        if (whoami && msg->api_request.credential && strcmp (msg->api_request.credential, "ok") == 0) {
            norc_strmap_t *row = norc_rows_add (&reply->api_reply.rows);
            norc_strmap_set (row, "name", "fuzz");
            norc_strmap_set (row, "roles", "viewer");
        }
        else {
            reply->api_reply.code = NORC_UNAUTHENTICATED;
            reply->api_reply.error = norc_strdup ("the credential is not valid");
        }
        norc_msg_set_routing_id (reply, msg->routing_id);
        norc_msg_send (&reply, s_aggregator);
        norc_msg_destroy (&msg);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_web)
        s_start ();
    int fds [2];
    if (socketpair (AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        abort ();
    fcntl (fds [1], F_SETFL, O_NONBLOCK);
    struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons (40000) };
    peer.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (MHD_add_connection (web_daemon (s_web), fds [0], (struct sockaddr *) &peer, sizeof peer) != MHD_YES)
        abort ();
    size_t sent = 0;
    char out [8192];
    size_t got = 0;
    bool closed = false;
    int quiet = 0;              //  turns in a row with nothing new, all sent
    //  Send, serve, read, until the server closes, or says nothing more
    for (int turn = 0; turn < 400 && !closed && quiet < 40; turn++) {
        size_t before = got;
        if (sent < size) {
            ssize_t n = send (fds [1], data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t) n;
            if (sent == size)
                shutdown (fds [1], SHUT_WR);
        }
        web_turn (s_web);
        s_answer ();
        web_turn (s_web);
        for (;;) {
            char buf [4096];
            ssize_t n = recv (fds [1], buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0)
                closed = true;
            if (n <= 0)
                break;
            size_t keep = got + (size_t) n < sizeof out ? (size_t) n : sizeof out - got;
            memcpy (out + got, buf, keep);
            got += keep;
        }
        quiet = sent == size && got == before ? quiet + 1 : 0;
        if (quiet > 5)
            usleep (100);
    }
    close (fds [1]);
    //  Let the server see the close and free the connection
    for (int turn = 0; turn < 5; turn++)
        web_turn (s_web);
    if (got) {
        if (got < 12 || memcmp (out, "HTTP/1.", 7) != 0)
            abort ();           //  not HTTP
        int status = atoi (out + 9);
        if (status < 100 || status > 599 || status == 500)
            abort ();
    }
    return 0;
}

//  The sockets and the service live as long as the process (libFuzzer
//  never returns from its loop)
