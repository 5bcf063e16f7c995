//  web.c - norc-web's service: libmicrohttpd driven from the zloop, the
//  requests it serves and their answers, and the link to the aggregator
//  (web.h, docs/web.md). Who asks and sessions: web_session.c.
#include "web_internal.h"
#include "norc_principal.h"
#include "norc_api_json.h"
#include "norc_msg.h"
#include "norc_zmq.h"
#include "norc_zap.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_service.h"
#include "norc_secret.h"
#include "norc_listen.h"
#include <czmq.h>
#include <netdb.h>
#include <sodium.h>

//  The files embedded at build time (cmake/embed_files.cmake)
extern const struct { const char *path; const unsigned char *data; size_t size; } norc_embedded [];

#define S_PROBE_MS      2000        //  the aggregator is asked whoami this often
#define S_READY_MS      6000        //  ready while it answered within this
#define S_TICK_MS       100         //  libmicrohttpd's timeouts are run this often
#define S_KEEPALIVE_MS  15000       //  a comment to every event stream this often
#define S_RECHECK_MS    30000       //  every event stream's credential is checked again this often

//  --------------------------------------------------------------------------
//  Responses

void
web_answer (web_request_t *req, int status, char *text, const char *type)
{
    free (req->text);
    req->status = status;
    req->text = text;
    req->type = type;
}

void
web_fail (web_request_t *req, int status, const char *slug, const char *detail)
{
    web_answer (req, status, web_problem (status, slug, detail, NULL), "application/problem+json");
}

static enum MHD_Result
s_send (web_request_t *req)
{
    if (req->idem) {
        web_idem_finish (req->web->idem, req->idem, req->status, req->text, req->type);
        free (req->idem);
        req->idem = NULL;
    }
    const char *inm = MHD_lookup_connection_value (req->connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    //  ETag: a hash of a successful body; If-None-Match that matches is 304
    if (req->status == 200 && req->text && !req->events && !req->log_asked) {
        unsigned char digest [8];
        crypto_generichash (digest, sizeof digest, (const unsigned char *) req->text, strlen (req->text), NULL, 0);
        char hex [17];
        sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
        snprintf (req->etag, sizeof req->etag, "\"%s\"", hex);
    }
    struct MHD_Response *response;
    int status = req->status;
    if (req->events && status == 200) {
        response = web_events_open (req->web->events, req->topics, req->last_id, req->credential, req->audit);
        enum MHD_Result rc = MHD_queue_response (req->connection, MHD_HTTP_OK, response);
        MHD_destroy_response (response);
        return rc;
    }
    if (*req->etag && inm && strcmp (inm, req->etag) == 0) {
        status = MHD_HTTP_NOT_MODIFIED;
        response = MHD_create_response_from_buffer (0, (void *) "", MHD_RESPMEM_PERSISTENT);
    }
    else {
        size_t len = req->text_len ? req->text_len : req->text ? strlen (req->text) : 0;
        response = MHD_create_response_from_buffer (len, req->text ? req->text : (char *) "", MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, req->type ? req->type : "application/json");
    }
    if (*req->etag)
        MHD_add_response_header (response, MHD_HTTP_HEADER_ETAG, req->etag);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header (response, "X-Content-Type-Options", "nosniff");
    if (req->status == 401)
        MHD_add_response_header (response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"norc\"");
    if (req->replayed)
        MHD_add_response_header (response, "Idempotent-Replayed", "true");
    if (req->cookie)
        MHD_add_response_header (response, MHD_HTTP_HEADER_SET_COOKIE, req->cookie);
    if (req->log_asked && status == 200) {
        char v [24];
        snprintf (v, sizeof v, "%llu", (unsigned long long) req->log_offset);
        MHD_add_response_header (response, "X-Norc-Log-Offset", v);
        snprintf (v, sizeof v, "%llu", (unsigned long long) req->log_size);
        MHD_add_response_header (response, "X-Norc-Log-Size", v);
        MHD_add_response_header (response, "X-Norc-Log-Complete", req->log_complete ? "true" : "false");
    }
    if (status == 405 && *req->allow)
        MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, req->allow);
    if (req->type && strncmp (req->type, "text/html", 9) == 0) {
        //  The page loads nothing from another host, runs no inline script,
        //  and is framed by no one
        MHD_add_response_header (response, "Content-Security-Policy",
                                 "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                                 "frame-ancestors 'none'; form-action 'self'");
        MHD_add_response_header (response, "Referrer-Policy", "no-referrer");
    }
    if (req->close)
        MHD_add_response_header (response, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response (req->connection, (unsigned int) status, response);
    MHD_destroy_response (response);
    return rc;
}

//  The reply's rows as the route's shape: {"items": [...], "next": ...}
//  (next: a paged list's cursor, the last id of a full page, to pass as
//  before; else null) or the first row as an object
static char *
s_reply_json (const norc_api_op_t *op, const norc_api_reply_t *reply, int64_t page_limit)
{
    json_t *rows = norc_api_rows_json (op, &reply->rows);
    json_t *doc;
    if (op->http_list) {
        const char *last = reply->rows.count ? norc_strmap_get (&reply->rows.rows [reply->rows.count - 1], "id") : NULL;
        bool full = op->http_page && page_limit > 0 && (int64_t) reply->rows.count >= page_limit && last;
        doc = json_pack ("{s:o, s:o}", "items", rows, "next", full ? json_string (last) : json_null ());
    }
    else {
        doc = json_array_size (rows) ? json_incref (json_array_get (rows, 0)) : json_object ();
        json_decref (rows);
    }
    char *text = json_dumps (doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref (doc);
    return text;
}

//  --------------------------------------------------------------------------
//  Requests

static enum MHD_Result
s_query_arg (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    NORC_UNUSED (kind);
    norc_strmap_set ((norc_strmap_t *) cls, key, value ? value : "");
    return MHD_YES;
}

//  Send the request's operation to the aggregator, and suspend the
//  connection until the reply (or web.timeout_ms)
void
web_ask (web_t *self, web_request_t *req, const char *op, const char *credential, const norc_strmap_t *args)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_API_REQUEST);
    req->request_id = ++self->next_id;
    msg->api_request.request_id = req->request_id;
    msg->api_request.op = norc_strdup (op);
    msg->api_request.credential = credential ? norc_strdup (credential) : NULL;
    for (size_t k = 0; args && k < args->count; k++)
        norc_strmap_set (&msg->api_request.args, args->keys [k], args->values [k]);
    if (norc_msg_send (&msg, self->api) != 0) {
        web_fail (req, 503, "unavailable", "the status-aggregator cannot be reached");
        return;
    }
    char key [24];
    snprintf (key, sizeof key, "%llu", (unsigned long long) req->request_id);
    zhashx_insert (self->waiting, key, req);
    req->deadline = norc_mono_us () + self->timeout_ms * 1000;
    MHD_suspend_connection (req->connection);
}

//  Serve a request whose body has arrived: at once, or by asking the
//  aggregator (the connection then waits, suspended)
static void
s_serve (web_request_t *req, const char *url, const char *method)
{
    web_t *self = req->web;
    //  The files: the OpenAPI document and the page
    if (strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0) {
        if (strcmp (url, "/healthz") == 0) {
            web_answer (req, 200, norc_strdup ("{\"status\":\"ok\"}"), "application/json");
            return;
        }
        if (strcmp (url, "/readyz") == 0) {
            bool ready = self->answered && norc_mono_us () - self->answered < S_READY_MS * 1000;
            if (ready)
                web_answer (req, 200, norc_strdup ("{\"status\":\"ready\"}"), "application/json");
            else
                web_fail (req, 503, "unavailable", "the status-aggregator has not answered lately");
            return;
        }
        const char *file = strcmp (url, "/") == 0 ? "/index.html" : url;
        for (size_t i = 0; norc_embedded [i].path; i++)
            if (strcmp (file, norc_embedded [i].path) == 0) {
                const char *dot = strrchr (file, '.');
                const char *type = !dot ? "application/octet-stream"
                                 : strcmp (dot, ".json") == 0 ? "application/json"
                                 : strcmp (dot, ".html") == 0 ? "text/html; charset=utf-8"
                                 : strcmp (dot, ".css") == 0 ? "text/css; charset=utf-8"
                                 : strcmp (dot, ".js") == 0 ? "text/javascript; charset=utf-8" : "text/plain";
                char *text = (char *) norc_malloc (norc_embedded [i].size + 1);
                memcpy (text, norc_embedded [i].data, norc_embedded [i].size);
                text [norc_embedded [i].size] = 0;
                web_answer (req, 200, text, type);
                return;
            }
    }
    if (strcmp (url, "/api/v1/events") == 0 && strcmp (method, "GET") == 0) {
        //  Who asks: whoami with the credential; the stream opens on its answer
        bool cookie;
        const char *credential = web_credential (req->connection, &cookie);
        if (!credential) {
            web_fail (req, 401, "unauthenticated", "an API token is required: Authorization: Bearer TOKEN");
            return;
        }
        const char *topics = MHD_lookup_connection_value (req->connection, MHD_GET_ARGUMENT_KIND, "topic");
        const char *last = MHD_lookup_connection_value (req->connection, MHD_HEADER_KIND, "Last-Event-ID");
        if (!last)
            last = MHD_lookup_connection_value (req->connection, MHD_GET_ARGUMENT_KIND, "last_event_id");
        req->events = true;
        req->topics = norc_strdup (topics ? topics : "");
        req->last_id = last ? norc_strdup (last) : NULL;
        req->credential = norc_strdup (credential);
        req->op = norc_api_op ("whoami");
        web_ask (self, req, "whoami", credential, NULL);
        return;
    }
    if ((strcmp (url, "/api/v1/events") == 0 || strcmp (url, "/api/v1/openapi.json") == 0)
    &&  strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0) {
        snprintf (req->allow, sizeof req->allow, "GET, HEAD");
        web_fail (req, 405, "method-not-allowed", "this path is served with GET");
        return;
    }
    if (strcmp (url, "/api/v1/session") == 0) {
        web_session (self, req, method);
        return;
    }
    if (strncmp (url, "/api/v1/", 8) != 0) {
        web_fail (req, 404, "not-found", "nothing is served here: the API is under /api/v1/ (openapi.json)");
        return;
    }
    norc_strmap_t args = { 0 };
    bool allowed = false;
    const norc_api_op_t *op = web_route (method, url + 7, &args, &allowed);
    if (!op) {
        norc_strmap_clear (&args);
        if (allowed) {
            web_route_methods (url + 7, req->allow, sizeof req->allow);
            web_fail (req, 405, "method-not-allowed", "this path is served with another method");
        }
        else
            web_fail (req, 404, "not-found", "no such route: see /api/v1/openapi.json");
        return;
    }
    req->op = op;
    char why [512] = "";
    //  Arguments: the path's, then the query's (GET) or the JSON body's
    if (strcmp (method, "GET") == 0) {
        norc_strmap_t query = { 0 };
        MHD_get_connection_values (req->connection, MHD_GET_ARGUMENT_KIND, s_query_arg, &query);
        for (size_t k = 0; k < query.count && !*why; k++) {
            const norc_api_arg_t *arg = norc_api_arg (op, query.keys [k]);
            if (!arg || arg->prefix || norc_strmap_get (&args, query.keys [k]))
                snprintf (why, sizeof why, "%s takes no query parameter \"%.64s\"", op->http_path, query.keys [k]);
            else
            if (!norc_api_arg_reads (arg->type, query.values [k]))
                snprintf (why, sizeof why, "query parameter \"%s\": \"%.64s\" is not %s", query.keys [k],
                          query.values [k], norc_api_type_name (arg->type));
            else
                norc_strmap_set (&args, query.keys [k], query.values [k]);
        }
        norc_strmap_clear (&query);
    }
    else
    if (req->body_len) {
        json_error_t error;
        json_t *body = json_loadb (req->body, req->body_len, 0, &error);
        if (!body)
            snprintf (why, sizeof why, "the body is not JSON: %s (line %d)", error.text, error.line);
        else {
            //  A path argument is the path's, not the body's
            for (size_t k = 0; k < args.count; k++)
                if (json_object_get (body, args.keys [k]))
                    snprintf (why, sizeof why, "\"%s\" is in the path; the body may not repeat it", args.keys [k]);
            if (!*why)
                norc_api_args_from_json (op, body, &args, why, sizeof why);
            json_decref (body);
        }
    }
    //  A paged list: 100 a page unless told, 1000 at most
    if (!*why && op->http_page) {
        const char *limit = norc_strmap_get (&args, "limit");
        char *end = NULL;
        req->page_limit = limit ? strtoll (limit, &end, 10) : 100;
        if (limit && (*end || req->page_limit < 1 || req->page_limit > 1000))
            snprintf (why, sizeof why, "limit: from 1 to 1000 (a page; next gives the following one)");
        else
        if (!limit)
            norc_strmap_set (&args, "limit", "100");
    }
    if (*why) {
        web_fail (req, 400, "bad-request", why);
        norc_strmap_clear (&args);
        return;
    }
    if (op->http_bytes)
        web_logs_args (req, &args);
    bool cookie;
    const char *credential = web_credential (req->connection, &cookie);
    if (!credential) {
        web_fail (req, 401, "unauthenticated", "an API token is required: Authorization: Bearer TOKEN "
                   "(norcctl token add), or a session (POST /api/v1/session)");
        norc_strmap_clear (&args);
        return;
    }
    if (cookie && strcmp (method, "GET") != 0 && !web_csrf_ok (req, credential)) {
        norc_strmap_clear (&args);
        return;
    }
    if (strcmp (method, "GET") != 0 && !web_idempotent (self, req, credential, method, url)) {
        norc_strmap_clear (&args);
        return;
    }
    web_ask (self, req, op->name, credential, &args);
    //  An operation that waits (a control with wait) is given its time
    //  (what the aggregator takes: 1 to 300 s; it refuses the rest)
    const char *wait = norc_strmap_get (&args, "wait");
    long long wait_s = wait ? strtoll (wait, NULL, 10) : 0;
    if (wait_s > 0 && wait_s <= 300 && req->request_id && !req->status)
        req->deadline += wait_s * NORC_US_PER_SEC;
    norc_strmap_clear (&args);
}

static enum MHD_Result
s_access (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
    NORC_UNUSED (version);
    web_t *self = (web_t *) cls;
    web_request_t *req = (web_request_t *) *state;
    if (!req) {
        //  The headers: refuse at once what must not be read further
        req = (web_request_t *) norc_calloc (1, sizeof *req);
        req->web = self;
        req->connection = connection;
        *state = req;
        const char *why;
        if (web_framing_bad (connection, &why)) {
            web_fail (req, 400, "bad-framing", why);
            req->close = true;
            req->started = true;
            return s_send (req);
        }
        const char *length = MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull (length, NULL, 10) > self->max_body) {
            web_fail (req, 413, "too-large", "the body is over web.max_body");
            req->close = true;
            req->started = true;
            return s_send (req);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (req->body_len + n > self->max_body)
            req->too_big = true;
        else {
            req->body = (char *) norc_realloc (req->body, req->body_len + n + 1);
            memcpy (req->body + req->body_len, upload_data, n);
            req->body_len += n;
            req->body [req->body_len] = 0;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!req->started) {
        req->started = true;
        if (req->too_big) {
            web_fail (req, 413, "too-large", "the body is over web.max_body");
            req->close = true;
        }
        else
            s_serve (req, url, method);
        if (req->request_id && !req->status)
            return MHD_YES;     //  suspended: the aggregator's reply resumes it
    }
    return s_send (req);
}

static void
s_completed (void *cls, struct MHD_Connection *connection, void **state, enum MHD_RequestTerminationCode code)
{
    NORC_UNUSED (connection);
    NORC_UNUSED (code);
    web_t *self = (web_t *) cls;
    web_request_t *req = (web_request_t *) *state;
    if (!req)
        return;
    if (req->request_id && !req->status) {
        char key [24];
        snprintf (key, sizeof key, "%llu", (unsigned long long) req->request_id);
        zhashx_delete (self->waiting, key);
    }
    //  Closed before its answer: its Idempotency-Key is free again
    if (req->idem)
        web_idem_finish (self->idem, req->idem, 500, NULL, NULL);
    free (req->body);
    free (req->text);
    free (req->topics);
    free (req->last_id);
    free (req->credential);
    free (req->cookie);
    free (req->idem);
    free (req);
    *state = NULL;
}

//  --------------------------------------------------------------------------
//  The loop

//  libmicrohttpd reads what is ready, edge-triggered: while it says it has
//  more to do at once (a timeout of 0), it is run again
static void
s_mhd_run (web_t *self)
{
    for (int i = 0; i < 256; i++) {
        MHD_run (self->mhd);
        MHD_UNSIGNED_LONG_LONG timeout = 1;
        if (MHD_get_timeout (self->mhd, &timeout) != MHD_YES || timeout > 0)
            break;
    }
}

static void
s_resume (web_t *self, web_request_t *req)
{
    char key [24];
    snprintf (key, sizeof key, "%llu", (unsigned long long) req->request_id);
    zhashx_delete (self->waiting, key);
    MHD_resume_connection (req->connection);
}

static int
s_on_api (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    web_t *self = (web_t *) arg;
    norc_msg_t *msg = norc_msg_recv (sock);
    if (!msg || msg->id != NORC_MSG_API_REPLY) {
        norc_msg_destroy (&msg);
        return 0;
    }
    self->answered = norc_mono_us ();
    char key [24];
    snprintf (key, sizeof key, "%llu", (unsigned long long) msg->api_reply.request_id);
    web_request_t *req = (web_request_t *) zhashx_lookup (self->waiting, key);
    char *recheck = (char *) zhashx_lookup (self->rechecks, key);
    if (recheck) {
        //  A stream's credential checked again: no longer valid, its streams end
        if (msg->api_reply.code == NORC_UNAUTHENTICATED || msg->api_reply.code == NORC_DENIED)
            for (web_client_t *c = web_events_first (self->events); c; c = web_events_next (self->events))
                if (strcmp (web_client_credential (c), recheck) == 0)
                    web_client_end (c);
        zhashx_delete (self->rechecks, key);
        s_mhd_run (self);
    }
    if (req) {
        const norc_api_reply_t *reply = &msg->api_reply;
        uint32_t roles = 0;
        char err [256];
        if (req->events && reply->code == NORC_OK && reply->rows.count
        &&  norc_roles_parse (norc_strmap_get (&reply->rows.rows [0], "roles"), &roles, err, sizeof err) == NORC_OK
        &&  !norc_roles_allow (NORC_PRINCIPAL_USER, roles, NORC_ROLE_VIEWER))
            web_fail (req, 403, "forbidden", "the event stream needs the viewer role");
        else
        if (req->session)
            web_session_reply (self, req, reply);
        else
        if (req->events && reply->code == NORC_OK) {
            req->status = 200;
            req->audit = norc_roles_allow (NORC_PRINCIPAL_USER, roles, NORC_ROLE_ADMIN);
        }
        else
        if (reply->code == NORC_OK && req->op->http_bytes && reply->rows.count) {
            web_logs_fetch (self, req, reply);
            if (!req->status) {
                norc_msg_destroy (&msg);
                return 0;       //  still waiting: for the archiver's bytes
            }
        }
        else
        if (reply->code == NORC_OK)
            web_answer (req, 200, s_reply_json (req->op, reply, req->page_limit), "application/json");
        else {
            const char *slug;
            int status = web_status_of (reply->code, &slug);
            web_fail (req, status, slug, reply->error ? reply->error : "failed");
        }
        s_resume (self, req);
        s_mhd_run (self);
    }
    norc_msg_destroy (&msg);
    return 0;
}

//  The log-archiver's bytes for a request that waits for them
static int
s_on_log (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    web_t *self = (web_t *) arg;
    norc_msg_t *msg = norc_msg_recv (sock);
    if (msg && msg->id == NORC_MSG_LOG_DATA) {
        char key [24];
        snprintf (key, sizeof key, "%llu", (unsigned long long) msg->log_data.request_id);
        web_request_t *req = (web_request_t *) zhashx_lookup (self->waiting, key);
        if (req && req->log_asked) {
            web_logs_answer (req, &msg->log_data);
            s_resume (self, req);
            s_mhd_run (self);
        }
    }
    norc_msg_destroy (&msg);
    return 0;
}

static int
s_on_stream (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    web_t *self = (web_t *) arg;
    norc_msg_t *msg = norc_msg_recv (sock);
    if (msg)
        web_events_publish (self->events, msg);
    norc_msg_destroy (&msg);
    s_mhd_run (self);
    return 0;
}

static int
s_on_keepalive (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    web_t *self = (web_t *) arg;
    web_events_keepalive (self->events);
    s_mhd_run (self);
    return 0;
}

//  Every stream's credential is asked about again: a revoked or expired
//  token's stream ends (within S_RECHECK_MS of the revocation)
static int
s_on_recheck (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    web_t *self = (web_t *) arg;
    for (web_client_t *c = web_events_first (self->events); c; c = web_events_next (self->events)) {
        norc_msg_t *msg = norc_msg_new (NORC_MSG_API_REQUEST);
        msg->api_request.request_id = ++self->next_id;
        msg->api_request.op = norc_strdup ("whoami");
        msg->api_request.credential = norc_strdup (web_client_credential (c));
        char key [24];
        snprintf (key, sizeof key, "%llu", (unsigned long long) self->next_id);
        zhashx_insert (self->rechecks, key, norc_strdup (web_client_credential (c)));
        norc_msg_send (&msg, self->api);
    }
    return 0;
}

static int
s_on_http (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (item);
    web_t *self = (web_t *) arg;
    s_mhd_run (self);
    return 0;
}

//  Timeouts: libmicrohttpd's idle connections, and requests the aggregator
//  did not answer in time (504)
static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    web_t *self = (web_t *) arg;
    norc_us_t now = norc_mono_us ();
    zlistx_t *late = zlistx_new ();
    for (web_request_t *req = (web_request_t *) zhashx_first (self->waiting); req;
         req = (web_request_t *) zhashx_next (self->waiting))
        if (now >= req->deadline)
            zlistx_add_end (late, req);
    for (web_request_t *req = (web_request_t *) zlistx_first (late); req; req = (web_request_t *) zlistx_next (late)) {
        web_fail (req, 504, "timeout", req->log_asked ? "the log-archiver did not answer in time (web.timeout_ms)"
                                                      : "the status-aggregator did not answer in time (web.timeout_ms)");
        s_resume (self, req);
    }
    zlistx_destroy (&late);
    s_mhd_run (self);
    return 0;
}

//  Whether the aggregator answers: whoami as norc-web itself
static int
s_on_probe (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    web_t *self = (web_t *) arg;
    norc_msg_t *msg = norc_msg_new (NORC_MSG_API_REQUEST);
    msg->api_request.request_id = self->probe_id = ++self->next_id;
    msg->api_request.op = norc_strdup ("whoami");
    norc_msg_send (&msg, self->api);
    return 0;
}

static int
s_on_signal (void *arg, int count)
{
    NORC_UNUSED (arg);
    NORC_UNUSED (count);
    return -1;
}

web_t *
web_new (norc_config_t *config)
{
    web_t *self = (web_t *) norc_calloc (1, sizeof *self);
    self->config = config;
    self->waiting = zhashx_new ();
    self->rechecks = zhashx_new ();
    zhashx_set_destructor (self->rechecks, (zhashx_destructor_fn *) zstr_free);
    self->events = web_events_new (4096, 4 * 1024 * 1024);
    self->idem = web_idem_new (10000, 24 * 3600 * NORC_US_PER_SEC);
    self->timeout_ms = norc_config_int (config, "web.timeout_ms");
    self->max_body = (size_t) norc_config_int (config, "web.max_body");
    self->secure_cookie = norc_config_bool (config, "web.secure_cookie");
    return self;
}

void
web_destroy (web_t **self_p)
{
    web_t *self = *self_p;
    if (!self)
        return;
    if (self->mhd)
        MHD_stop_daemon (self->mhd);
    zhashx_destroy (&self->waiting);
    zhashx_destroy (&self->rechecks);
    web_events_destroy (&self->events);
    web_idem_destroy (&self->idem);
    zsock_destroy (&self->stream);
    zsock_destroy (&self->archiver);
    zloop_destroy (&self->loop);
    zsock_destroy (&self->api);
    free (self);
    *self_p = NULL;
}

int
web_start (web_t *self)
{
    if (sodium_init () < 0)
        return NORC_ERROR;
    const char *listen = norc_config_str (self->config, "web.listen");
    struct addrinfo *found = NULL;
    char err [256];
    if (norc_listen_resolve (listen, &found, err, sizeof err) != NORC_OK) {
        norc_log_warnx ("web.listen: %s", err);
        return NORC_ERROR;
    }
    unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (found->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    self->mhd = MHD_start_daemon (flags, 0, NULL, NULL, s_access, self,
                                  MHD_OPTION_SOCK_ADDR, found->ai_addr,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned int) norc_config_int (self->config, "web.max_connections"),
                                  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) norc_config_int (self->config, "web.max_per_client"),
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) norc_config_int (self->config, "web.idle_s"),
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 65536,
                                  MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
                                  MHD_OPTION_EXTERNAL_LOGGER, norc_listen_mhd_log, (void *) "http",
                                  MHD_OPTION_END);
    freeaddrinfo (found);
    if (!self->mhd) {
        norc_log_warn ("web.listen: cannot serve on %s", listen);
        return NORC_ERROR;
    }
    const char *endpoint = norc_config_str (self->config, "aggregator.api");
    self->api = norc_zmq_connect (ZMQ_DEALER, endpoint);
    if (!self->api) {
        norc_log_warnx ("cannot connect to %s", endpoint);
        return NORC_ERROR;
    }
    zsock_set_sndtimeo (self->api, 0);
    const char *stream = norc_config_str (self->config, "aggregator.stream");
    self->stream = norc_zmq_connect (ZMQ_SUB, stream);
    if (!self->stream) {
        norc_log_warnx ("cannot connect to %s", stream);
        return NORC_ERROR;
    }
    zsock_set_subscribe (self->stream, "");
    const char *archiver = norc_config_str (self->config, "archiver.fetch");
    self->archiver = norc_zmq_connect (ZMQ_DEALER, archiver);
    if (!self->archiver) {
        norc_log_warnx ("cannot connect to %s", archiver);
        return NORC_ERROR;
    }
    zsock_set_sndtimeo (self->archiver, 0);
    self->loop = zloop_new ();
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    zmq_pollitem_t item = { NULL, info->epoll_fd, ZMQ_POLLIN, 0 };
    zloop_poller (self->loop, &item, s_on_http, self);
    zloop_reader (self->loop, self->api, s_on_api, self);
    zloop_reader (self->loop, self->stream, s_on_stream, self);
    zloop_reader (self->loop, self->archiver, s_on_log, self);
    zloop_timer (self->loop, S_KEEPALIVE_MS, 0, s_on_keepalive, self);
    zloop_timer (self->loop, S_RECHECK_MS, 0, s_on_recheck, self);
    zloop_timer (self->loop, S_TICK_MS, 0, s_on_tick, self);
    zloop_timer (self->loop, S_PROBE_MS, 0, s_on_probe, self);
    s_on_probe (self->loop, 0, self);
    norc_log_info ("serving http://%s/ (the API under /api/v1/), the aggregator at %s", listen, endpoint);
    return NORC_OK;
}

void
web_run (web_t *self)
{
    norc_service_on_signal (self->loop, s_on_signal, self);
    norc_service_upkeep (self->loop, self->config);
    zloop_start (self->loop);
    norc_log_info ("stopping");
}

struct MHD_Daemon *
web_daemon (web_t *self)
{
    return self->mhd;
}

void
web_turn (web_t *self)
{
    while (zsock_events (self->api) & ZMQ_POLLIN)
        s_on_api (self->loop, self->api, self);
    while (zsock_events (self->stream) & ZMQ_POLLIN)
        s_on_stream (self->loop, self->stream, self);
    while (self->archiver && zsock_events (self->archiver) & ZMQ_POLLIN)
        s_on_log (self->loop, self->archiver, self);
    s_on_tick (self->loop, 0, self);
}
