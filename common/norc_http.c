//  norc_http.c - see norc_http.h. The one place (with norc_s3.c and
//  norc_sqs.c) that includes curl.h.
#include "norc_http.h"
#include <pthread.h>
#include <strings.h>
#include "norc_buf.h"
#include "norc_mem.h"
#include "norc_log.h"
#include <curl/curl.h>
#include <sodium.h>
#include <unistd.h>

#define S_ANSWER_MAX    (64 * 1024 * 1024)  //  the most of an answer kept

void
norc_http_response_clear (norc_http_response_t *self)
{
    free (self->body);
    free (self->headers);
    memset (self, 0, sizeof *self);
}

static size_t
s_collect (char *data, size_t size, size_t n, void *arg)
{
    return norc_buf_append ((norc_buf_t *) arg, data, size * n) == NORC_OK ? size * n : 0;
}

static pthread_once_t s_started = PTHREAD_ONCE_INIT;

static void
s_start (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
}

void
norc_http_init (void)
{
    pthread_once (&s_started, s_start);
}

//  A request ends on its way when its target's cancel flag turns
static int
s_progress (void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    NORC_UNUSED (dltotal);
    NORC_UNUSED (dlnow);
    NORC_UNUSED (ultotal);
    NORC_UNUSED (ulnow);
    const volatile int *cancel = (const volatile int *) arg;
    return *cancel ? 1 : 0;
}

int
norc_aws_call (const norc_aws_target_t *target, const char *method, const char *path,
               const norc_aws_pair_t *query, size_t query_count, const norc_aws_pair_t *headers,
               size_t header_count, const void *body, size_t body_len, norc_http_response_t *response)
{
    norc_http_init ();
    memset (response, 0, sizeof *response);
    //  The URL with the query already canonical: what curl 7.88 signs as is
    char *encoded = norc_aws_encode (path && *path ? path : "/", true);
    char *canonical = norc_aws_canonical_query (query, query_count);
    char *url = norc_asprintf ("%s%s%s%s", target->endpoint, encoded, *canonical ? "?" : "", canonical);
    free (encoded);
    free (canonical);
    //  The headers: the caller's, then the payload's hash (S3) and the
    //  session token; x-amz-date is curl's own
    norc_aws_request_t r = { .method = method, .service = target->service, .body = body, .body_len = body_len,
                             .session_token = target->session_token, .when = norc_now_us () };
    norc_aws_pair_t extra [3];
    char values [3][80];
    size_t n_extra = norc_aws_extra_headers (&r, extra, values);
    struct curl_slist *list = NULL;
    bool typed = false;
    for (size_t i = 0; i < header_count + n_extra; i++) {
        const norc_aws_pair_t *h = i < header_count ? &headers [i] : &extra [i - header_count];
        if (strcmp (h->name, "x-amz-date") == 0)
            continue;
        if (strcasecmp (h->name, "Content-Type") == 0)
            typed = true;
        char *line = norc_asprintf ("%s: %s", h->name, h->value);
        list = curl_slist_append (list, line);
        free (line);
    }
    //  A body sent without a type is bytes: else curl says it is a form
    //  (application/x-www-form-urlencoded), which servers may try to parse
    bool sends_body = body_len || strcmp (method, "POST") == 0 || strcmp (method, "PUT") == 0;
    if (sends_body && !typed)
        list = curl_slist_append (list, "Content-Type: application/octet-stream");
    //  (no "Expect:" to switch 100-continue off: curl 7.88 would sign the
    //  header it was given only to leave out, and AWS would not match)
    char *sigv4 = norc_asprintf ("aws:amz:%s:%s", target->region, target->service);
    char *userpwd = norc_asprintf ("%s:%s", target->access_key, target->secret_key);
    norc_buf_t *answer = norc_buf_new (S_ANSWER_MAX);
    norc_buf_t *lines = norc_buf_new (1024 * 1024);
    CURL *curl = curl_easy_init ();
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp (method, "HEAD") == 0)
        curl_easy_setopt (curl, CURLOPT_NOBODY, 1L);    //  headers only: no body follows
    if (sends_body) {
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_len);
    }
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt (curl, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt (curl, CURLOPT_USERPWD, userpwd);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, s_collect);
    curl_easy_setopt (curl, CURLOPT_HEADERDATA, lines);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, target->timeout_ms > 0 ? target->timeout_ms : 30000L);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (target->cancel) {
        curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, s_progress);
        curl_easy_setopt (curl, CURLOPT_XFERINFODATA, (void *) target->cancel);
    }
    if (target->insecure) {
        curl_easy_setopt (curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt (curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    char errbuf [CURL_ERROR_SIZE] = "";
    curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform (curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &response->status);
    else
        //  (curl's message names the host, never the credentials)
        snprintf (response->error, sizeof response->error, "%s", *errbuf ? errbuf : curl_easy_strerror (rc));
    response->body = (char *) norc_buf_take (answer, &response->body_len);
    response->headers = (char *) norc_buf_take (lines, NULL);
    curl_easy_cleanup (curl);
    curl_slist_free_all (list);
    norc_buf_destroy (&answer);
    norc_buf_destroy (&lines);
    //  The secret is wiped from the heap once curl is done with it
    memset (userpwd, 0, strlen (userpwd));
    free (userpwd);
    free (sigv4);
    free (url);
    return rc == CURLE_OK ? NORC_OK : NORC_ERROR;
}

char *
norc_http_plain (const char *method, const char *url, const char *header1, const char *header2, long timeout_ms)
{
    CURL *curl = curl_easy_init ();
    norc_buf_t *answer = norc_buf_new (64 * 1024);
    struct curl_slist *list = NULL;
    if (header1)
        list = curl_slist_append (list, header1);
    if (header2)
        list = curl_slist_append (list, header2);
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (strcmp (method, "PUT") == 0) {
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE, 0L);
    }
    long status = 0;
    if (curl_easy_perform (curl) == CURLE_OK)
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
    char *body = status == 200 ? (char *) norc_buf_take (answer, NULL) : NULL;
    norc_buf_destroy (&answer);
    curl_slist_free_all (list);
    curl_easy_cleanup (curl);
    return body;
}

//  --------------------------------------------------------------------------
//  Sessions

struct _norc_aws_session_t {
    norc_aws_target_t target;
    char *strings [3];          //  endpoint, region, service
    norc_aws_creds_config_t creds_config;
    char *creds_strings [2];
    norc_aws_creds_t creds;     //  the target's key points here
    bool have_creds;
    int attempts;
};

norc_aws_session_t *
norc_aws_session_new (const norc_aws_target_t *target, const norc_aws_creds_config_t *creds, int attempts)
{
    norc_aws_session_t *self = (norc_aws_session_t *) norc_calloc (1, sizeof (norc_aws_session_t));
    self->target = *target;
    self->strings [0] = norc_strdup (target->endpoint ? target->endpoint : "");
    self->strings [1] = norc_strdup (target->region ? target->region : "");
    self->strings [2] = norc_strdup (target->service ? target->service : "");
    self->target.endpoint = self->strings [0];
    self->target.region = self->strings [1];
    self->target.service = self->strings [2];
    self->target.access_key = self->target.secret_key = self->target.session_token = NULL;
    self->creds_strings [0] = creds && creds->access_key_id ? norc_strdup (creds->access_key_id) : NULL;
    self->creds_strings [1] = creds && creds->secret_file ? norc_strdup (creds->secret_file) : NULL;
    self->creds_config = (norc_aws_creds_config_t) { self->creds_strings [0], self->creds_strings [1],
                                                     creds ? creds->timeout_ms : 0 };
    self->attempts = attempts > 0 ? attempts : 1;
    return self;
}

void
norc_aws_session_destroy (norc_aws_session_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    norc_aws_session_t *self = *self_p;
    for (size_t i = 0; i < 3; i++)
        free (self->strings [i]);
    for (size_t i = 0; i < 2; i++)
        free (self->creds_strings [i]);
    sodium_memzero (&self->creds, sizeof self->creds);
    free (self);
    *self_p = NULL;
}

//  Credentials from the chain when there are none yet, when they are due,
//  or when forced (AWS said they expired). False when there are none to use.
static bool
s_credentials (norc_aws_session_t *self, bool force, char *why, size_t whysize)
{
    norc_us_t now = norc_now_us ();
    if (self->have_creds && !force && !norc_aws_creds_due (&self->creds, now))
        return true;
    norc_aws_creds_t fresh;
    if (norc_aws_creds_get (&self->creds_config, &fresh, why, whysize) == NORC_OK) {
        if (!self->have_creds || strcmp (fresh.source, self->creds.source) || fresh.expires)
            norc_log_info ("AWS credentials from %s%s", fresh.source, fresh.expires ? " (temporary)" : "");
        self->creds = fresh;
        self->have_creds = true;
        sodium_memzero (&fresh, sizeof fresh);
        self->target.access_key = self->creds.access_key;
        self->target.secret_key = self->creds.secret_key;
        self->target.session_token = *self->creds.session_token ? self->creds.session_token : NULL;
        return true;
    }
    //  Not made again: the ones held serve while they last
    norc_log_warnx ("AWS credentials not made again: %s", why);
    return self->have_creds && (!self->creds.expires || self->creds.expires > now);
}

int
norc_aws_session_call (norc_aws_session_t *self, const char *method, const char *path,
                       const norc_aws_pair_t *query, size_t query_count, const norc_aws_pair_t *headers,
                       size_t header_count, const void *body, size_t body_len, norc_http_response_t *response,
                       norc_aws_error_t *error, int64_t *skew_s, norc_aws_wait_fn *wait, void *arg)
{
    memset (response, 0, sizeof *response);
    memset (error, 0, sizeof *error);
    *skew_s = 0;
    bool refreshed = false;
    for (int attempt = 0; attempt < self->attempts; attempt++) {
        norc_http_response_clear (response);
        char why [512];
        if (!s_credentials (self, false, why, sizeof why)) {
            *error = (norc_aws_error_t) { .outcome = NORC_AWS_AUTH, .retry = false };
            snprintf (error->code, sizeof error->code, "NoCredentials");
            snprintf (error->message, sizeof error->message, "%.250s", why);
            snprintf (response->error, sizeof response->error, "%.250s", why);
            break;
        }
        if (norc_aws_call (&self->target, method, path, query, query_count, headers, header_count, body, body_len,
                           response) == NORC_OK) {
            norc_aws_error_parse (response->status, response->body, response->headers, error);
            if (error->outcome == NORC_AWS_SKEWED)
                *skew_s = norc_aws_skew_s (response->headers, norc_now_us ());
            //  Expired: made again, then tried once more at once
            if (error->outcome == NORC_AWS_EXPIRED && !refreshed && s_credentials (self, true, why, sizeof why)) {
                refreshed = true;
                attempt--;
                continue;
            }
            if (!error->retry)
                break;
        }
        else {
            *error = (norc_aws_error_t) { .outcome = NORC_AWS_UNAVAILABLE, .retry = true };
            snprintf (error->message, sizeof error->message, "%s", response->error);
        }
        if (attempt + 1 < self->attempts) {
            int64_t ms = norc_aws_backoff_ms (attempt, 100, 5000, randombytes_uniform (1000001) / 1e6);
            norc_log_debug ("%s %s: %s; again in %lld ms", method, path, error->code [0] ? error->code : "no answer",
                            (long long) ms);
            if (wait ? !wait (arg, ms) : (usleep ((useconds_t) ms * 1000), false))
                break;
        }
    }
    return error->outcome == NORC_AWS_DONE ? NORC_OK : NORC_ERROR;
}
