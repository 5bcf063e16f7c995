//  norc_http.c - see norc_http.h. The one place (with norc_s3.c and
//  norc_sqs.c) that includes curl.h.
#include "norc_http.h"
#include <pthread.h>
#include "norc_buf.h"
#include "norc_mem.h"
#include <curl/curl.h>

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
    for (size_t i = 0; i < header_count + n_extra; i++) {
        const norc_aws_pair_t *h = i < header_count ? &headers [i] : &extra [i - header_count];
        if (strcmp (h->name, "x-amz-date") == 0)
            continue;
        char *line = norc_asprintf ("%s: %s", h->name, h->value);
        list = curl_slist_append (list, line);
        free (line);
    }
    //  (no "Expect:" to switch 100-continue off: curl 7.88 would sign the
    //  header it was given only to leave out, and AWS would not match)
    char *sigv4 = norc_asprintf ("aws:amz:%s:%s", target->region, target->service);
    char *userpwd = norc_asprintf ("%s:%s", target->access_key, target->secret_key);
    norc_buf_t *answer = norc_buf_new (S_ANSWER_MAX);
    norc_buf_t *lines = norc_buf_new (1024 * 1024);
    CURL *curl = curl_easy_init ();
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    if (body_len || strcmp (method, "POST") == 0 || strcmp (method, "PUT") == 0) {
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
