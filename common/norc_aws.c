//  norc_aws.c - see norc_aws.h.
#include "norc_aws.h"
#include "norc_buf.h"
#include "norc_mem.h"
#include "norc_log.h"
#include <ctype.h>
#include <sodium.h>
#include <time.h>

#define S_CAP   (16 * 1024 * 1024)  //  the most a canonical request may hold

char *
norc_aws_encode (const char *text, bool keep_slash)
{
    norc_buf_t *out = norc_buf_new (S_CAP);
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if (isalnum (*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/'))
            norc_buf_append (out, p, 1);
        else
            norc_buf_printf (out, "%%%02X", *p);
    }
    char *text_out = (char *) norc_buf_take (out, NULL);
    norc_buf_destroy (&out);
    return text_out;
}

typedef struct {
    char *name;
    char *value;
} s_pair_t;

static int
s_pair_cmp (const void *a, const void *b)
{
    const s_pair_t *x = (const s_pair_t *) a, *y = (const s_pair_t *) b;
    int c = strcmp (x->name, y->name);
    return c ? c : strcmp (x->value, y->value);
}

char *
norc_aws_canonical_query (const norc_aws_pair_t *query, size_t count)
{
    s_pair_t *pairs = (s_pair_t *) norc_calloc (count + 1, sizeof *pairs);
    for (size_t i = 0; i < count; i++) {
        pairs [i].name = norc_aws_encode (query [i].name, false);
        pairs [i].value = norc_aws_encode (query [i].value ? query [i].value : "", false);
    }
    qsort (pairs, count, sizeof *pairs, s_pair_cmp);
    norc_buf_t *out = norc_buf_new (S_CAP);
    for (size_t i = 0; i < count; i++) {
        norc_buf_printf (out, "%s%s=%s", i ? "&" : "", pairs [i].name, pairs [i].value);
        free (pairs [i].name);
        free (pairs [i].value);
    }
    free (pairs);
    char *text = (char *) norc_buf_take (out, NULL);
    norc_buf_destroy (&out);
    return text;
}

static void
s_hex (const unsigned char *bytes, size_t len, char *hex)
{
    sodium_bin2hex (hex, len * 2 + 1, bytes, len);
}

void
norc_aws_sha256_hex (const void *data, size_t len, char hex [65])
{
    if (sodium_init () < 0)
        norc_fatalx ("libsodium cannot start");
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, (const unsigned char *) (data ? data : ""), len);
    s_hex (digest, sizeof digest, hex);
}

void
norc_aws_amz_date (norc_us_t when, char out [17])
{
    time_t t = (time_t) (when / NORC_US_PER_SEC);
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

size_t
norc_aws_extra_headers (const norc_aws_request_t *r, norc_aws_pair_t extra [3], char values [3][80])
{
    size_t n = 0;
    norc_aws_amz_date (r->when, values [n]);
    extra [n++] = (norc_aws_pair_t) { "x-amz-date", values [0] };
    if (r->service && strcmp (r->service, "s3") == 0) {
        norc_aws_sha256_hex (r->body, r->body_len, values [n]);
        extra [n] = (norc_aws_pair_t) { "x-amz-content-sha256", values [n] };
        n++;
    }
    if (r->session_token && *r->session_token)
        extra [n++] = (norc_aws_pair_t) { "x-amz-security-token", r->session_token };
    return n;
}

//  A header's name in lower case; its value trimmed, inner runs of spaces
//  made one
static s_pair_t
s_header (const norc_aws_pair_t *h)
{
    s_pair_t p = { norc_strdup (h->name), norc_strdup ("") };
    for (char *c = p.name; *c; c++)
        *c = (char) tolower ((unsigned char) *c);
    const char *v = h->value ? h->value : "";
    while (*v == ' ' || *v == '\t')
        v++;
    free (p.value);
    p.value = (char *) norc_malloc (strlen (v) + 1);
    size_t len = 0;
    for (; *v; v++) {
        bool space = *v == ' ' || *v == '\t';
        if (space && (len == 0 || p.value [len - 1] == ' '))
            continue;
        p.value [len++] = space ? ' ' : *v;
    }
    while (len && p.value [len - 1] == ' ')
        len--;
    p.value [len] = 0;
    return p;
}

char *
norc_aws_canonical_request (const norc_aws_request_t *r, char **signed_headers)
{
    norc_aws_pair_t extra [3];
    char values [3][80];
    size_t n_extra = norc_aws_extra_headers (r, extra, values);
    size_t count = r->header_count + n_extra;
    s_pair_t *headers = (s_pair_t *) norc_calloc (count + 1, sizeof *headers);
    for (size_t i = 0; i < r->header_count; i++)
        headers [i] = s_header (&r->headers [i]);
    for (size_t i = 0; i < n_extra; i++)
        headers [r->header_count + i] = s_header (&extra [i]);
    qsort (headers, count, sizeof *headers, s_pair_cmp);
    char *path = norc_aws_encode (r->path && *r->path ? r->path : "/", true);
    char *query = norc_aws_canonical_query (r->query, r->query_count);
    char payload [65];
    norc_aws_sha256_hex (r->body, r->body_len, payload);
    norc_buf_t *out = norc_buf_new (S_CAP);
    norc_buf_t *names = norc_buf_new (S_CAP);
    norc_buf_printf (out, "%s\n%s\n%s\n", r->method, path, query);
    for (size_t i = 0; i < count; i++) {
        norc_buf_printf (out, "%s:%s\n", headers [i].name, headers [i].value);
        norc_buf_printf (names, "%s%s", i ? ";" : "", headers [i].name);
        free (headers [i].name);
        free (headers [i].value);
    }
    free (headers);
    norc_buf_printf (out, "\n%s\n%s", norc_buf_str (names), payload);
    if (signed_headers)
        *signed_headers = (char *) norc_buf_take (names, NULL);
    norc_buf_destroy (&names);
    char *text = (char *) norc_buf_take (out, NULL);
    norc_buf_destroy (&out);
    free (path);
    free (query);
    return text;
}

//  "20150830/us-east-1/service/aws4_request"
static char *
s_scope (const norc_aws_request_t *r)
{
    char date [17];
    norc_aws_amz_date (r->when, date);
    return norc_asprintf ("%.8s/%s/%s/aws4_request", date, r->region, r->service);
}

char *
norc_aws_string_to_sign (const norc_aws_request_t *r, const char *canonical_request)
{
    char date [17], hash [65];
    norc_aws_amz_date (r->when, date);
    norc_aws_sha256_hex (canonical_request, strlen (canonical_request), hash);
    char *scope = s_scope (r);
    char *text = norc_asprintf ("AWS4-HMAC-SHA256\n%s\n%s\n%s", date, scope, hash);
    free (scope);
    return text;
}

static void
s_hmac (const unsigned char *key, size_t key_len, const char *data, unsigned char out [32])
{
    if (sodium_init () < 0)
        norc_fatalx ("libsodium cannot start");
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init (&state, key, key_len);
    crypto_auth_hmacsha256_update (&state, (const unsigned char *) data, strlen (data));
    crypto_auth_hmacsha256_final (&state, out);
}

char *
norc_aws_authorization (const norc_aws_request_t *r)
{
    char *signed_headers = NULL;
    char *canonical = norc_aws_canonical_request (r, &signed_headers);
    char *to_sign = norc_aws_string_to_sign (r, canonical);
    //  The signing key: the secret, then the date, region, service and
    //  "aws4_request", each an HMAC of the one before
    char date [17];
    norc_aws_amz_date (r->when, date);
    char day [9];
    snprintf (day, sizeof day, "%.8s", date);
    char *first = norc_asprintf ("AWS4%s", r->secret_key);
    unsigned char key [32], next [32];
    s_hmac ((const unsigned char *) first, strlen (first), day, key);
    sodium_memzero (first, strlen (first));
    free (first);
    const char *parts [] = { r->region, r->service, "aws4_request" };
    for (size_t i = 0; i < 3; i++) {
        s_hmac (key, sizeof key, parts [i], next);
        memcpy (key, next, sizeof key);
    }
    unsigned char signature [32];
    s_hmac (key, sizeof key, to_sign, signature);
    sodium_memzero (key, sizeof key);
    char hex [65];
    s_hex (signature, sizeof signature, hex);
    char *scope = s_scope (r);
    char *value = norc_asprintf ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s", r->access_key,
                                 scope, signed_headers, hex);
    free (scope);
    free (signed_headers);
    free (canonical);
    free (to_sign);
    return value;
}

//  --------------------------------------------------------------------------
//  Errors

//  The text between after and the first of stop in text, into out
static bool
s_between (const char *text, const char *after, const char *stop, char *out, size_t size)
{
    const char *at = text ? strstr (text, after) : NULL;
    if (!at)
        return false;
    at += strlen (after);
    size_t len = strcspn (at, stop);
    snprintf (out, size, "%.*s", (int) (len < size ? len : size - 1), at);
    return true;
}

void
norc_aws_error_parse (long status, const char *body, const char *headers, norc_aws_error_t *e)
{
    memset (e, 0, sizeof *e);
    if (status >= 200 && status < 300) {
        e->outcome = NORC_AWS_DONE;
        return;
    }
    //  The code: SQS's query header, JSON's __type (after its '#'), XML's <Code>
    char type [96] = "";
    if (s_between (headers, "x-amzn-query-error: ", ";\r\n", type, sizeof type)
    ||  s_between (headers, "X-Amzn-Query-Error: ", ";\r\n", type, sizeof type)
    ||  s_between (body, "\"__type\":\"", "\"", type, sizeof type)
    ||  s_between (body, "\"__type\": \"", "\"", type, sizeof type)
    ||  s_between (body, "<Code>", "<", type, sizeof type)) {
        const char *hash = strrchr (type, '#');
        snprintf (e->code, sizeof e->code, "%s", hash ? hash + 1 : type);
    }
    if (!s_between (body, "<Message>", "<", e->message, sizeof e->message)
    &&  !s_between (body, "\"message\":\"", "\"", e->message, sizeof e->message)
    &&  !s_between (body, "\"Message\":\"", "\"", e->message, sizeof e->message))
        s_between (body, "\"message\": \"", "\"", e->message, sizeof e->message);
    static const struct { const char *code; norc_aws_outcome_t outcome; } known [] = {
        { "Throttling", NORC_AWS_THROTTLED },               { "ThrottlingException", NORC_AWS_THROTTLED },
        { "RequestThrottled", NORC_AWS_THROTTLED },         { "SlowDown", NORC_AWS_THROTTLED },
        { "RequestLimitExceeded", NORC_AWS_THROTTLED },     { "TooManyRequestsException", NORC_AWS_THROTTLED },
        { "AWS.SimpleQueueService.RequestThrottled", NORC_AWS_THROTTLED },
        { "InternalError", NORC_AWS_UNAVAILABLE },          { "InternalFailure", NORC_AWS_UNAVAILABLE },
        { "ServiceUnavailable", NORC_AWS_UNAVAILABLE },
        { "SignatureDoesNotMatch", NORC_AWS_AUTH },         { "InvalidClientTokenId", NORC_AWS_AUTH },
        { "InvalidAccessKeyId", NORC_AWS_AUTH },            { "AccessDenied", NORC_AWS_AUTH },
        { "AccessDeniedException", NORC_AWS_AUTH },         { "UnrecognizedClientException", NORC_AWS_AUTH },
        { "MissingAuthenticationToken", NORC_AWS_AUTH },    { "IncompleteSignature", NORC_AWS_AUTH },
        { "InvalidSecurity", NORC_AWS_AUTH },
        { "ExpiredToken", NORC_AWS_EXPIRED },               { "ExpiredTokenException", NORC_AWS_EXPIRED },
        { "RequestTimeTooSkewed", NORC_AWS_SKEWED },        { "RequestExpired", NORC_AWS_SKEWED },
        { "PreconditionFailed", NORC_AWS_PRECONDITION },
    };
    e->outcome = status == 429 ? NORC_AWS_THROTTLED
               : status >= 500 ? NORC_AWS_UNAVAILABLE
               : status == 412 ? NORC_AWS_PRECONDITION
               : status == 401 || status == 403 ? NORC_AWS_AUTH : NORC_AWS_REFUSED;
    for (size_t i = 0; *e->code && i < sizeof known / sizeof known [0]; i++)
        if (strcmp (e->code, known [i].code) == 0)
            e->outcome = known [i].outcome;
    e->retry = e->outcome == NORC_AWS_THROTTLED || e->outcome == NORC_AWS_UNAVAILABLE;
}

int64_t
norc_aws_skew_s (const char *headers, norc_us_t now)
{
    char date [64];
    if (!s_between (headers, "\nDate: ", "\r\n", date, sizeof date)
    &&  !s_between (headers, "\ndate: ", "\r\n", date, sizeof date))
        return 0;
    struct tm tm = { 0 };
    if (!strptime (date, "%a, %d %b %Y %H:%M:%S GMT", &tm))
        return 0;
    return (int64_t) timegm (&tm) - now / NORC_US_PER_SEC;
}

int64_t
norc_aws_backoff_ms (int attempt, int64_t base_ms, int64_t cap_ms, double random)
{
    int64_t ceiling = base_ms;
    for (int i = 0; i < attempt && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    if (random < 0)
        random = 0;
    if (random > 1)
        random = 1;
    return (int64_t) (random * (double) ceiling);
}

//  --------------------------------------------------------------------------
//  The environment

//  The first of the variables that is set and not empty, or NULL
static const char *
s_env (const char *first, const char *second)
{
    const char *v = first ? getenv (first) : NULL;
    if (v && *v)
        return v;
    v = second ? getenv (second) : NULL;
    return v && *v ? v : NULL;
}

int
norc_aws_env (const char *service, norc_aws_env_t *env, char *why, size_t whysize)
{
    memset (env, 0, sizeof *env);
    const char *region = s_env ("AWS_REGION", "AWS_DEFAULT_REGION");
    if (!region) {
        snprintf (why, whysize, "no region: set AWS_REGION");
        return NORC_ERROR;
    }
    char own [64];
    snprintf (own, sizeof own, "AWS_ENDPOINT_URL_%s", strcmp (service, "s3") == 0 ? "S3" : "SQS");
    const char *endpoint = s_env (own, "AWS_ENDPOINT_URL");
    const char *key = s_env ("AWS_ACCESS_KEY_ID", NULL), *secret = s_env ("AWS_SECRET_ACCESS_KEY", NULL);
    const char *token = s_env ("AWS_SESSION_TOKEN", NULL);
    if (!key || !secret)
        key = secret = token = NULL;        //  the credential chain finds them (norc_aws_creds.h)
    int n = endpoint ? snprintf (env->endpoint, sizeof env->endpoint, "%s", endpoint)
                     : snprintf (env->endpoint, sizeof env->endpoint, "https://%s.%s.amazonaws.com", service, region);
    //  (an endpoint's trailing '/' would double the path's)
    size_t len = strlen (env->endpoint);
    while (len && env->endpoint [len - 1] == '/')
        env->endpoint [--len] = 0;
    if ((size_t) n >= sizeof env->endpoint
    ||  (size_t) snprintf (env->region, sizeof env->region, "%s", region) >= sizeof env->region
    ||  (size_t) snprintf (env->access_key, sizeof env->access_key, "%s", key ? key : "") >= sizeof env->access_key
    ||  (size_t) snprintf (env->secret_key, sizeof env->secret_key, "%s", secret ? secret : "")
            >= sizeof env->secret_key
    ||  (size_t) snprintf (env->session_token, sizeof env->session_token, "%s", token ? token : "")
            >= sizeof env->session_token) {
        sodium_memzero (env, sizeof *env);
        snprintf (why, whysize, "a value of the AWS environment is too long");
        return NORC_ERROR;
    }
    return NORC_OK;
}
