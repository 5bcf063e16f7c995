//  web_session.c - who asks norc-web (an API token or a session's cookie),
//  local users' sessions (/api/v1/session), CSRF for changes made with a
//  cookie, and Idempotency-Key (web_internal.h, docs/web.md).
#include "web_internal.h"
#include "norc_secret.h"
#include "norc_mem.h"
#include <jansson.h>
#include <sodium.h>
#include <strings.h>

#define S_COOKIE "norc_session"

//  The credential: an API token (Authorization: Bearer), else the
//  session's cookie (*from_cookie set); NULL when there is neither
const char *
web_credential (struct MHD_Connection *connection, bool *from_cookie)
{
    *from_cookie = false;
    const char *auth = MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth && strncasecmp (auth, "Bearer ", 7) == 0) {
        auth += 7;
        while (*auth == ' ')
            auth++;
        return *auth && strlen (auth) < 256 ? auth : NULL;
    }
    const char *cookie = MHD_lookup_connection_value (connection, MHD_COOKIE_KIND, S_COOKIE);
    if (cookie && *cookie && strlen (cookie) < 256) {
        *from_cookie = true;
        return cookie;
    }
    return NULL;
}

//  A session's CSRF token: derived from its secret, so norc-web keeps
//  nothing and a page on another site, which cannot read the cookie,
//  cannot make it (32 hex digits of SHA-256 of "csrf:" and the secret)
static void
s_csrf (const char *secret, char *out)
{
    char *text = norc_asprintf ("csrf:%s", secret);
    char hex [65];
    norc_secret_hash (text, hex);
    free (text);
    memcpy (out, hex, 32);
    out [32] = 0;
}

//  A change with an Idempotency-Key: done once. false when it is answered
//  already (the first answer replayed, or why not)
bool
web_idempotent (web_t *self, web_request_t *req, const char *credential, const char *method, const char *url)
{
    const char *header = MHD_lookup_connection_value (req->connection, MHD_HEADER_KIND, "Idempotency-Key");
    if (!header)
        return true;
    if (!*header || strlen (header) > 128) {
        web_fail (req, 400, "bad-request", "Idempotency-Key: from 1 to 128 characters");
        return false;
    }
    //  Per credential; the same key with another request is refused
    char who [65], fingerprint [65];
    norc_secret_hash (credential, who);
    char *key = norc_asprintf ("%s:%s", who, header);
    char *request = norc_asprintf ("%s %s\n%.*s", method, url, (int) req->body_len, req->body ? req->body : "");
    norc_secret_hash (request, fingerprint);
    free (request);
    int status = 0;
    const char *text = NULL, *type = NULL;
    switch (web_idem_begin (self->idem, key, fingerprint, norc_mono_us (), &status, &text, &type)) {
        case WEB_IDEM_NEW:
            req->idem = key;
            return true;
        case WEB_IDEM_REPLAY:
            web_answer (req, status, norc_strdup (text), strncmp (type, "application/problem", 19) == 0
                      ? "application/problem+json" : "application/json");
            req->replayed = true;
            break;
        case WEB_IDEM_BUSY:
            web_fail (req, 409, "idempotency-busy", "the first request with this Idempotency-Key is still "
                       "being done");
            break;
        case WEB_IDEM_MISMATCH:
            web_fail (req, 422, "idempotency-key-reused", "this Idempotency-Key was used for another request");
            break;
    }
    free (key);
    return false;
}

//  A change with the session's cookie must carry its CSRF token
//  (X-CSRF-Token): a 403 when it does not
bool
web_csrf_ok (web_request_t *req, const char *secret)
{
    char csrf [33];
    s_csrf (secret, csrf);
    const char *sent = MHD_lookup_connection_value (req->connection, MHD_HEADER_KIND, "X-CSRF-Token");
    if (sent && strlen (sent) == 32 && sodium_memcmp (sent, csrf, 32) == 0)
        return true;
    web_fail (req, 403, "csrf", "a change made with the session's cookie needs its X-CSRF-Token header "
               "(GET /api/v1/session gives it)");
    return false;
}

//  /api/v1/session: POST logs in (name, password: a session cookie), GET
//  says who the session is (and its CSRF token), DELETE logs out
void
web_session (web_t *self, web_request_t *req, const char *method)
{
    if (strcmp (method, "POST") == 0) {
        if (!norc_rate_allow (&self->logins, 20)) {
            web_fail (req, 429, "too-many-requests", "too many logins at once: try again in a second");
            return;
        }
        json_error_t error;
        json_t *body = req->body_len ? json_loadb (req->body, req->body_len, 0, &error) : NULL;
        const char *name = json_string_value (json_object_get (body, "name"));
        const char *password = json_string_value (json_object_get (body, "password"));
        if (!name || !password || json_object_size (body) != 2) {
            web_fail (req, 400, "bad-request", "a login is a JSON object {\"name\": ..., \"password\": ...}");
            json_decref (body);
            return;
        }
        norc_strmap_t args = { 0 };
        norc_strmap_set (&args, "name", name);
        norc_strmap_set (&args, "password", password);
        json_decref (body);
        req->session = 1;
        req->op = norc_api_op ("session.open");
        web_ask (self, req, "session.open", NULL, &args);
        norc_strmap_clear (&args);
        return;
    }
    bool cookie;
    const char *credential = web_credential (req->connection, &cookie);
    if (strcmp (method, "GET") != 0 && strcmp (method, "DELETE") != 0) {
        snprintf (req->allow, sizeof req->allow, "GET, POST, DELETE");
        web_fail (req, 405, "method-not-allowed", "a session is opened (POST), read (GET) or closed (DELETE)");
        return;
    }
    if (!credential && strcmp (method, "GET") == 0) {
        //  Nobody: said so, not refused (the page asks this first)
        web_answer (req, 200, norc_strdup ("{\"name\":null}"), "application/json");
        return;
    }
    if (!credential) {
        web_fail (req, 401, "unauthenticated", "no session: log in with POST /api/v1/session");
        return;
    }
    if (cookie && strcmp (method, "DELETE") == 0 && !web_csrf_ok (req, credential))
        return;
    req->session = strcmp (method, "GET") == 0 ? 2 : 3;
    req->from_cookie = cookie;
    req->credential = norc_strdup (credential);
    req->op = norc_api_op (req->session == 2 ? "whoami" : "session.close");
    web_ask (self, req, req->op->name, credential, NULL);
}

//  A session request the aggregator refused: a session that ended is
//  nobody (and its cookie cleared), a user locked out is told to wait,
//  the rest as any refusal
static void
s_session_refused (web_request_t *req, const norc_api_reply_t *reply)
{
    if (req->session == 2 && reply->code == NORC_UNAUTHENTICATED) {
        web_answer (req, 200, norc_strdup ("{\"name\":null}"), "application/json");
        req->cookie = norc_strdup (S_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        return;
    }
    if (req->session == 1 && reply->code == NORC_DENIED) {
        web_fail (req, 429, "too-many-requests", reply->error ? reply->error : "locked out");
        return;
    }
    const char *slug;
    int status = web_status_of (reply->code, &slug);
    web_fail (req, status, slug, reply->error ? reply->error : "failed");
}

//  The reply to a /api/v1/session request: the body, and the cookie set
//  or cleared
void
web_session_reply (web_t *self, web_request_t *req, const norc_api_reply_t *reply)
{
    if (reply->code != NORC_OK) {
        s_session_refused (req, reply);
        return;
    }
    const norc_strmap_t *row = reply->rows.count ? &reply->rows.rows [0] : NULL;
    json_t *doc = json_object ();
    char csrf [33] = "";
    if (req->session == 1 && row) {
        const char *secret = norc_strmap_get (row, "token");
        s_csrf (secret, csrf);
        req->cookie = norc_asprintf (S_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200%s", secret,
                                     self->secure_cookie ? "; Secure" : "");
        json_object_set_new (doc, "name", json_string (norc_strmap_get (row, "name")));
        json_object_set_new (doc, "roles", json_string (norc_strmap_get (row, "roles")));
        json_object_set_new (doc, "expires_at", json_string (norc_strmap_get (row, "expires_at")));
        json_object_set_new (doc, "csrf", json_string (csrf));
    }
    else
    if (req->session == 2 && row) {
        json_object_set_new (doc, "name", json_string (norc_strmap_get (row, "name")));
        json_object_set_new (doc, "roles", json_string (norc_strmap_get (row, "roles")));
        if (req->from_cookie) {
            s_csrf (req->credential, csrf);
            json_object_set_new (doc, "csrf", json_string (csrf));
        }
    }
    else {
        req->cookie = norc_strdup (S_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        json_object_set_new (doc, "closed", json_true ());
    }
    web_answer (req, 200, json_dumps (doc, JSON_COMPACT | JSON_PRESERVE_ORDER), "application/json");
    json_decref (doc);
}

