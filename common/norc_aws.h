//  norc_aws.h - AWS Signature Version 4, as Norc's SQS and S3 requests need
//  it, written out in full: the canonical request, the string to sign and
//  the signature (docs/aws.md). libcurl's CURLOPT_AWS_SIGV4 signs Norc's
//  requests; this is what Norc itself must get right whatever curl's
//  version (Debian 12 has 7.88, which signs a query verbatim and sends no
//  payload hash): the canonical query (sorted, %XX in upper case, "name="
//  for a valueless parameter), the payload's SHA-256, and the session
//  token's header; and, with the whole signature, known-answer tests and a
//  check of what curl sent. Hashes and HMACs are libsodium's.
#ifndef NORC_AWS_H_INCLUDED
#define NORC_AWS_H_INCLUDED
#include "norc.h"

//  A query parameter or a header: name and value, not encoded
typedef struct {
    const char *name;
    const char *value;          //  "" for a valueless query parameter
} norc_aws_pair_t;

typedef struct {
    const char *method;         //  "GET", "POST", "PUT"...
    const char *path;           //  "/" or "/bucket/key": encoded here, '/' kept
    const norc_aws_pair_t *query;
    size_t query_count;
    const norc_aws_pair_t *headers;     //  host among them; names in any case
    size_t header_count;
    const void *body;
    size_t body_len;
    const char *region;         //  "eu-west-1"
    const char *service;        //  "sqs", "s3"
    const char *access_key;
    const char *secret_key;
    const char *session_token;  //  temporary credentials; NULL: none
    norc_us_t when;             //  the signing time (wall clock)
} norc_aws_request_t;

//  RFC 3986 encoding as SigV4 wants it: unreserved characters kept, every
//  other byte %XX in upper case ('/' kept when keep_slash). Caller frees.
char *norc_aws_encode (const char *text, bool keep_slash);

//  The canonical query: each name and value encoded, sorted by name then
//  value (byte order), "name=" for a valueless one, joined by '&'.
char *norc_aws_canonical_query (const norc_aws_pair_t *query, size_t count);

//  SHA-256 of data as 64 lower-case hex digits (and a NUL) into hex.
void norc_aws_sha256_hex (const void *data, size_t len, char hex [65]);

//  "20150830T123600Z" for when, into out (at least 17 bytes).
void norc_aws_amz_date (norc_us_t when, char out [17]);

//  The headers Norc adds to every signed request (the caller sends them
//  too): x-amz-date; x-amz-security-token with temporary credentials;
//  x-amz-content-sha256 (the payload's real hash) for S3. Up to 3 pairs
//  into extra (their values point into values, 3 x 80 bytes at least, and
//  into the request's session token); returns how many.
size_t norc_aws_extra_headers (const norc_aws_request_t *r, norc_aws_pair_t extra [3], char values [3][80]);

//  The canonical request (caller frees); *signed_headers (caller frees)
//  gets the names signed, "host;x-amz-date".
char *norc_aws_canonical_request (const norc_aws_request_t *r, char **signed_headers);

//  The string to sign for a canonical request (caller frees).
char *norc_aws_string_to_sign (const norc_aws_request_t *r, const char *canonical_request);

//  The Authorization header's value (caller frees): "AWS4-HMAC-SHA256
//  Credential=..., SignedHeaders=..., Signature=...".
char *norc_aws_authorization (const norc_aws_request_t *r);

//  Where and as whom, from the environment as AWS's own tools read it:
//  the region from AWS_REGION (else AWS_DEFAULT_REGION); the endpoint from
//  AWS_ENDPOINT_URL_SQS or _S3 (the service's), else AWS_ENDPOINT_URL, else
//  AWS's own (https://sqs.REGION.amazonaws.com, https://s3.REGION...);
//  the key from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for
//  temporary credentials, AWS_SESSION_TOKEN.
typedef struct {
    char region [64];
    char endpoint [512];
    char access_key [128];
    char secret_key [128];
    char session_token [4096];  //  "" for long-term credentials
} norc_aws_env_t;

//  NORC_OK with env filled; NORC_ERROR with why (never a secret) when the
//  region is missing, or a value is too long. The key is filled only when
//  the environment holds it with its secret ("" otherwise: the rest of the
//  credential chain, norc_aws_creds.h, finds it).
int norc_aws_env (const char *service, norc_aws_env_t *env, char *why, size_t whysize);

//  What an answer from SQS or S3 means for the caller: one taxonomy for
//  JSON errors ("__type"), query errors (x-amzn-query-error) and XML ones
//  (<Code>). Throttling and the server's own faults are retried with
//  jittered backoff; an authentication error never is (an expired token
//  is: once, with credentials made again); a precondition that failed
//  (an S3 put of a key that exists) is an answer, not a fault.
typedef enum {
    NORC_AWS_DONE,              //  2xx
    NORC_AWS_THROTTLED,         //  retry, backing off
    NORC_AWS_UNAVAILABLE,       //  5xx: retry, backing off
    NORC_AWS_AUTH,              //  the credentials or the signature: never retried
    NORC_AWS_EXPIRED,           //  the token expired: refresh the credentials, then once more
    NORC_AWS_SKEWED,            //  the clock is off (norc_aws_skew_s says by how much)
    NORC_AWS_PRECONDITION,      //  412: the condition did not hold (the key exists)
    NORC_AWS_REFUSED            //  any other 4xx: the request is wrong; not retried
} norc_aws_outcome_t;

typedef struct {
    norc_aws_outcome_t outcome;
    bool retry;
    char code [96];             //  "SignatureDoesNotMatch", "QueueDoesNotExist"... ("" for 2xx)
    char message [256];
} norc_aws_error_t;

//  The answer's meaning, from its status, body and header lines.
void norc_aws_error_parse (long status, const char *body, const char *headers, norc_aws_error_t *error);

//  Seconds the server's clock is ahead of ours (negative: behind), from
//  the Date header among the response's header lines and now; 0 when
//  there is none.
int64_t norc_aws_skew_s (const char *headers, norc_us_t now);

//  Full-jitter backoff: a delay from 0 to min(cap, base * 2^attempt) ms,
//  random (from 0 to 1) choosing where.
int64_t norc_aws_backoff_ms (int attempt, int64_t base_ms, int64_t cap_ms, double random);

#endif
