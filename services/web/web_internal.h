//  web_internal.h - what the parts of norc-web share: the service's state,
//  one HTTP request's, and the calls that answer a request or hand it to
//  the aggregator (web.c); who asks, sessions, CSRF and Idempotency-Key
//  (web_session.c).
#ifndef WEB_INTERNAL_H_INCLUDED
#define WEB_INTERNAL_H_INCLUDED
#include "web.h"
#include "web_events.h"
#include "web_idem.h"
#include <czmq.h>

struct _web_t {
    norc_config_t *config;
    zloop_t *loop;
    zsock_t *api;                   //  DEALER to aggregator.api
    zsock_t *stream;                //  SUB to aggregator.stream
    zsock_t *archiver;              //  DEALER to archiver.fetch (logs)
    web_events_t *events;           //  the event streams' clients
    web_idem_t *idem;               //  the answers of changes made with an Idempotency-Key
    zhashx_t *rechecks;             //  request id -> a stream credential checked again
    struct MHD_Daemon *mhd;
    zhashx_t *waiting;              //  request id (decimal) -> web_request_t, suspended for a reply
    uint64_t next_id;
    int64_t timeout_ms;             //  how long a request waits for the aggregator
    size_t max_body;
    norc_us_t answered;             //  monotonic: the aggregator's last reply
    norc_rate_t logins;             //  login attempts this second
    bool secure_cookie;             //  the session cookie is Secure (served over HTTPS by a proxy)
    uint64_t probe_id;
};

//  One HTTP request, from its headers to its response
typedef struct {
    web_t *web;
    struct MHD_Connection *connection;
    char *body;
    size_t body_len;
    bool too_big;
    bool started;                   //  sent to the aggregator, or answered at once
    uint64_t request_id;
    norc_us_t deadline;
    const norc_api_op_t *op;
    int64_t page_limit;             //  a paged list: the page's size (its next when full)
    bool events;                    //  GET /api/v1/events: a stream, once whoami says who
    bool audit;                     //  ... and whether it may hear the audit (an admin)
    char *topics;
    char *last_id;
    char *credential;
    bool from_cookie;               //  the credential is the session cookie's
    int session;                    //  /api/v1/session: 1 login, 2 who, 3 logout
    char *cookie;                   //  a Set-Cookie for the response
    //  The response, once known
    int status;
    char *text;
    const char *type;
    bool close;
    char etag [24];
    char allow [32];                //  a 405's Allow header
    char *idem;                     //  its Idempotency-Key's entry, until its answer is kept
    bool replayed;                  //  the answer is a replay of the first
    size_t text_len;                //  text's length when it is bytes (a log); 0: strlen
    //  A log's byte range (web_logs.c): asked, then answered
    uint64_t log_offset, log_limit, log_tail, log_size;
    bool log_follow, log_final, log_asked, log_complete;
} web_request_t;

//  The request's answer: status, text (taken), content type (web.c).
void web_answer (web_request_t *req, int status, char *text, const char *type);
//  The request's answer: an RFC 9457 problem (web.c).
void web_fail (web_request_t *req, int status, const char *slug, const char *detail);
//  Send op to the aggregator with the credential (NULL: norc-web's own) and
//  the arguments, and suspend the request until the reply (web.c).
void web_ask (web_t *self, web_request_t *req, const char *op, const char *credential, const norc_strmap_t *args);

//  Who asks (web_session.c): an API token (Authorization: Bearer), else the
//  session's cookie (*from_cookie set); NULL when there is neither.
const char *web_credential (struct MHD_Connection *connection, bool *from_cookie);
//  A change made with the session's cookie carries its CSRF token; false
//  (the request answered 403) when it does not.
bool web_csrf_ok (web_request_t *req, const char *secret);
//  A change with an Idempotency-Key is done once: false when the request
//  is answered already (the first answer replayed, or why not).
bool web_idempotent (web_t *self, web_request_t *req, const char *credential, const char *method, const char *url);
//  /api/v1/session: POST logs in, GET says who, DELETE logs out.
void web_session (web_t *self, web_request_t *req, const char *method);
//  The aggregator's reply to a /api/v1/session request, as its answer.
void web_session_reply (web_t *self, web_request_t *req, const norc_api_reply_t *reply);

//  A log's request (web_logs.c): its byte range from the checked arguments;
//  once the aggregator allows it, the fetch from the log-archiver (the
//  request stays suspended); the archiver's bytes as its answer.
void web_logs_args (web_request_t *req, const norc_strmap_t *args);
void web_logs_fetch (web_t *self, web_request_t *req, const norc_api_reply_t *reply);
void web_logs_answer (web_request_t *req, const norc_log_data_t *data);

#endif
