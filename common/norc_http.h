//  norc_http.h - Norc's HTTP client requests to AWS (SQS's JSON protocol,
//  S3), through libcurl: signed by curl's CURLOPT_AWS_SIGV4, with what
//  Debian's curl 7.88 leaves to Norc done by Norc (norc_aws.h, docs/aws.md):
//  the query sent in canonical form, the payload's real SHA-256 for S3,
//  the session token's header. Blocking; one request at a time.
#ifndef NORC_HTTP_H_INCLUDED
#define NORC_HTTP_H_INCLUDED
#include "norc_aws.h"

//  Where and as whom
typedef struct {
    const char *endpoint;       //  "https://sqs.eu-west-1.amazonaws.com", "http://127.0.0.1:5000"
    const char *region;
    const char *service;        //  "sqs", "s3"
    const char *access_key;
    const char *secret_key;
    const char *session_token;  //  NULL: long-term credentials
    bool insecure;              //  TLS peers not verified (never unless told)
    long timeout_ms;            //  the whole request (0: 30 s)
    const volatile int *cancel; //  when it turns non-zero, a request on its way ends (NULL: never)
} norc_aws_target_t;

typedef struct {
    long status;                //  0: no answer (error says why)
    char *body;                 //  NUL-terminated (body_len without it)
    size_t body_len;
    char *headers;              //  the response's header lines
    char error [256];
} norc_http_response_t;

void norc_http_response_clear (norc_http_response_t *self);

//  Start libcurl, once, before threads make requests (a request does it
//  too when nobody did).
void norc_http_init (void);

//  One signed request: path (not encoded), query and headers (not
//  encoded; never x-amz-date, curl's), a body. NORC_OK when an answer came
//  (whatever its status), NORC_ERROR when none did (response->error).
int norc_aws_call (const norc_aws_target_t *target, const char *method, const char *path,
                   const norc_aws_pair_t *query, size_t query_count, const norc_aws_pair_t *headers,
                   size_t header_count, const void *body, size_t body_len, norc_http_response_t *response);

//  One plain (unsigned) request to a local endpoint (a container's
//  credentials endpoint, the instance metadata service), with up to two
//  header lines: its body on a 200 (caller frees), else NULL.
char *norc_http_plain (const char *method, const char *url, const char *header1, const char *header2,
                       long timeout_ms);

//  A session: a target whose key is the credential chain's (norc_aws_creds.h),
//  made again before it expires and at once when AWS says it expired, and
//  the retries AWS's answers ask for. For one thread at a time.
#include "norc_aws_creds.h"
typedef struct _norc_aws_session_t norc_aws_session_t;

//  target's strings and creds' are copied (target's key is ignored)
norc_aws_session_t *norc_aws_session_new (const norc_aws_target_t *target, const norc_aws_creds_config_t *creds,
                                          int attempts);
void norc_aws_session_destroy (norc_aws_session_t **self_p);

//  Wait ms before a retry; false to give up at once (the caller is ending)
typedef bool (norc_aws_wait_fn) (void *arg, int64_t ms);

//  One request as norc_aws_call, with credentials from the chain and, when
//  AWS says to (throttled, 5xx, no answer), up to `attempts` tries after
//  full-jitter backoff (100 ms doubling, at most 5 s; wait may be NULL to
//  sleep). error gets the answer's meaning (NoCredentials, an AUTH outcome,
//  when the chain has none), skew_s the server's clock's lead when AWS
//  found ours skewed. NORC_OK when the outcome is DONE.
int norc_aws_session_call (norc_aws_session_t *self, const char *method, const char *path,
                           const norc_aws_pair_t *query, size_t query_count, const norc_aws_pair_t *headers,
                           size_t header_count, const void *body, size_t body_len, norc_http_response_t *response,
                           norc_aws_error_t *error, int64_t *skew_s, norc_aws_wait_fn *wait, void *arg);

#endif
