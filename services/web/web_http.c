//  web_http.c - routing, request hygiene and problem documents for
//  norc-web (web.h).
#include "web.h"
#include "norc_mem.h"
#include <jansson.h>
#include <strings.h>

const norc_api_op_t *
web_route (const char *method, const char *path, norc_strmap_t *args, bool *allowed)
{
    *allowed = false;
    for (size_t i = 0; norc_api_op_at (i); i++) {
        const norc_api_op_t *op = norc_api_op_at (i);
        if (!op->http_path)
            continue;
        //  Match segment by segment: a literal, or {arg} for one non-empty segment
        const char *p = op->http_path, *u = path;
        norc_strmap_t bound = { 0 };
        bool match = true;
        while (match && *p && *u) {
            if (*p != '/' || *u != '/') {
                match = false;
                break;
            }
            p++, u++;
            size_t plen = strcspn (p, "/"), ulen = strcspn (u, "/");
            if (*p == '{') {
                char name [64], value [1024];
                snprintf (name, sizeof name, "%.*s", (int) (plen - 2), p + 1);
                if (ulen == 0 || ulen >= sizeof value)
                    match = false;
                else {
                    snprintf (value, sizeof value, "%.*s", (int) ulen, u);
                    norc_strmap_set (&bound, name, value);
                }
            }
            else
            if (plen != ulen || strncmp (p, u, plen) != 0)
                match = false;
            p += plen, u += ulen;
        }
        match = match && !*p && !*u;
        if (match && strcmp (method, op->http_method) != 0)
            *allowed = true;
        if (match && strcmp (method, op->http_method) == 0) {
            for (size_t k = 0; k < bound.count; k++)
                norc_strmap_set (args, bound.keys [k], bound.values [k]);
            norc_strmap_clear (&bound);
            return op;
        }
        norc_strmap_clear (&bound);
    }
    return NULL;
}

void
web_route_methods (const char *path, char *out, size_t size)
{
    static const char *methods [] = { "GET", "POST", "DELETE" };
    size_t len = 0;
    *out = 0;
    for (size_t m = 0; m < sizeof methods / sizeof methods [0]; m++) {
        norc_strmap_t args = { 0 };
        bool allowed;
        if (web_route (methods [m], path, &args, &allowed) && len < size)
            len += (size_t) snprintf (out + len, size - len, "%s%s", len ? ", " : "", methods [m]);
        norc_strmap_clear (&args);
    }
}

typedef struct {
    int lengths;
    char length [32];
    bool conflict;
    bool bad_name;
} s_headers_t;

//  A header name is a token (RFC 9110 5.1)
static bool
s_token (const char *name)
{
    if (!*name)
        return false;
    for (const unsigned char *c = (const unsigned char *) name; *c; c++)
        if (*c <= 32 || *c >= 127 || strchr ("\"(),/:;<=>?@[\\]{}", *c))
            return false;
    return true;
}

static enum MHD_Result
s_header (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    NORC_UNUSED (kind);
    s_headers_t *h = (s_headers_t *) cls;
    if (!s_token (key))
        h->bad_name = true;
    if (strcasecmp (key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (h->lengths && strcmp (h->length, value ? value : "") != 0)
            h->conflict = true;
        snprintf (h->length, sizeof h->length, "%s", value ? value : "");
        h->lengths++;
    }
    return MHD_YES;
}

bool
web_framing_bad (struct MHD_Connection *connection, const char **why)
{
    s_headers_t h = { 0 };
    MHD_get_connection_values (connection, MHD_HEADER_KIND, s_header, &h);
    if (h.lengths && MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        *why = "Content-Length with Transfer-Encoding";
    else
    if (h.conflict)
        *why = "two different Content-Length values";
    else
    if (h.bad_name)
        *why = "a header name that is not a token";
    else
        return false;
    return true;
}

static const struct { int status; const char *title; } s_titles [] = {
    { 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
    { 405, "Method Not Allowed" }, { 409, "Conflict" }, { 413, "Content Too Large" },
    { 422, "Unprocessable Content" },
    { 429, "Too Many Requests" }, { 500, "Internal Server Error" }, { 503, "Service Unavailable" },
    { 504, "Gateway Timeout" },
};

char *
web_problem (int status, const char *slug, const char *detail, const char *instance)
{
    const char *title = "Error";
    for (size_t i = 0; i < sizeof s_titles / sizeof s_titles [0]; i++)
        if (s_titles [i].status == status)
            title = s_titles [i].title;
    char type [96];
    snprintf (type, sizeof type, "urn:norc:problem:%s", slug);
    json_t *doc = json_pack ("{s:s, s:s, s:i}", "type", type, "title", title, "status", status);
    if (detail)
        json_object_set_new (doc, "detail", json_string (detail));
    if (instance)
        json_object_set_new (doc, "instance", json_string (instance));
    char *text = json_dumps (doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref (doc);
    return text;
}

int
web_status_of (int code, const char **slug)
{
    switch (code) {
        case NORC_OK:               *slug = "ok";               return 200;
        case NORC_NOTFOUND:         *slug = "not-found";        return 404;
        case NORC_CONFLICT:         *slug = "conflict";         return 409;
        case NORC_DENIED:           *slug = "forbidden";        return 403;
        case NORC_UNAUTHENTICATED:  *slug = "unauthenticated";  return 401;
        case NORC_AGAIN:            *slug = "unavailable";      return 503;
        default:                    *slug = "bad-request";      return 400;
    }
}
