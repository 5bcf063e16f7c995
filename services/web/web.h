//  web.h - norc-web: the control API over HTTP (/api/v1/, generated from
//  proto/norc_api.xml), its OpenAPI document, health and readiness, and
//  the page. It holds no database connection: every request goes to the
//  status-aggregator as an API-REQUEST that carries the caller's
//  credential, and the aggregator authorises and audits it as the
//  credential's principal. libmicrohttpd parses HTTP, driven from the
//  service's own zloop (one epoll descriptor); a request waits for the
//  aggregator's reply with its connection suspended. docs/web.md.
#ifndef WEB_H_INCLUDED
#define WEB_H_INCLUDED
#include "norc.h"
#include "norc_config.h"
#include "norc_api.h"
#include "norc_pack.h"
#include <microhttpd.h>

typedef struct _web_t web_t;

web_t *web_new (norc_config_t *config);
void web_destroy (web_t **self_p);
//  Bind the HTTP port and connect to the aggregator. NORC_OK or NORC_ERROR (logged).
int web_start (web_t *self);
//  Serve until SIGTERM/SIGINT.
void web_run (web_t *self);

//  For a fuzz target or a test that drives the service itself:
//  libmicrohttpd's daemon (MHD_add_connection hands it a socket), and one
//  turn of the loop's work without waiting: what the aggregator and the
//  stream sent, the timeouts, libmicrohttpd's reading and writing.
struct MHD_Daemon *web_daemon (web_t *self);
void web_turn (web_t *self);

//  The parts that need no server (web_http.c), tested on their own.

//  The operation served at METHOD /api/v1PATH (path without the prefix),
//  with its path arguments added to args; NULL when none is. *allowed is
//  set when the path is served with another method (405, not 404).
const norc_api_op_t *web_route (const char *method, const char *path, norc_strmap_t *args, bool *allowed);

//  The methods a path is served with, comma-separated (an Allow header),
//  into out; "" when none.
void web_route_methods (const char *path, char *out, size_t size);

//  Whether a request's framing or headers are ones two parsers could read
//  two ways (Content-Length with Transfer-Encoding, two different
//  Content-Length values, a header name that is not a token): *why says
//  which. Such a request is answered 400 and its connection closed.
bool web_framing_bad (struct MHD_Connection *connection, const char **why);

//  An RFC 9457 problem document (application/problem+json) for status:
//  type "urn:norc:problem:SLUG", its title, detail. Caller frees.
char *web_problem (int status, const char *slug, const char *detail, const char *instance);

//  The HTTP status and problem slug of an API-REPLY code.
int web_status_of (int code, const char **slug);

#endif
