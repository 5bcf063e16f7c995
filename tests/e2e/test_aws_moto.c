//  End to end: Norc's signed requests to SQS and S3 (norc_http.c, signed
//  by Debian's libcurl with what Norc adds, docs/aws.md) against moto's
//  server (PyPI moto[server]) on loopback with signature checking on, and
//  boto3 as the independent client that reads back what Norc wrote.
//  Checked: SQS's JSON protocol (CreateQueue, SendMessage, ReceiveMessage,
//  DeleteMessage); S3's CreateBucket, PutObject with If-None-Match: * (a
//  second put refused, 412), CreateMultipartUpload (the valueless
//  ?uploads), GetObject by byte range; and a wrong secret refused, read as
//  an authentication error (never retried), the server's clock measured.
#include <criterion/criterion.h>
#include "norc_test.h"
#include "norc_moto.h"
#include "norc_http.h"
#include "norc_log.h"
#include "norc_mem.h"

static norc_moto_t *s_moto;

static void
s_setup (void)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    s_moto = norc_moto_start ();
}

static void
s_teardown (void)
{
    norc_moto_stop (&s_moto);
}

TestSuite (aws_moto, .init = s_setup, .fini = s_teardown, .timeout = 120);

//  Where and as whom, as a deployment says it: AWS's environment
static norc_aws_env_t s_env;

static norc_aws_target_t
s_target (const char *service)
{
    setenv ("AWS_REGION", "us-east-1", 1);
    setenv ("AWS_ENDPOINT_URL", s_moto->endpoint, 1);
    setenv ("AWS_ACCESS_KEY_ID", s_moto->key, 1);
    setenv ("AWS_SECRET_ACCESS_KEY", s_moto->secret, 1);
    char why [256];
    cr_assert_eq (norc_aws_env (service, &s_env, why, sizeof why), NORC_OK, "%s", why);
    return (norc_aws_target_t) { .endpoint = s_env.endpoint, .region = s_env.region, .service = service,
                                 .access_key = s_env.access_key, .secret_key = s_env.secret_key };
}

//  One SQS JSON call: its answer's body (caller frees), status checked
static char *
s_sqs (const char *action, const char *body, long want)
{
    norc_aws_target_t t = s_target ("sqs");
    char *target = norc_asprintf ("AmazonSQS.%s", action);
    norc_aws_pair_t headers [] = { { "Content-Type", "application/x-amz-json-1.0" }, { "X-Amz-Target", target } };
    norc_http_response_t r;
    cr_assert_eq (norc_aws_call (&t, "POST", "/", NULL, 0, headers, 2, body, strlen (body), &r), NORC_OK, "%s", r.error);
    cr_expect_eq (r.status, want, "%s: %ld %s", action, r.status, r.body);
    char *answer = r.body;
    r.body = NULL;
    norc_http_response_clear (&r);
    free (target);
    return answer;
}

Test (aws_moto, sqs_json_calls_signed_by_curl_are_accepted_and_boto3_reads_them)
{
    char *created = s_sqs ("CreateQueue", "{\"QueueName\": \"norc-remote\"}", 200);
    const char *url = strstr (created, "\"QueueUrl\"");
    cr_assert_not_null (url, "%s", created);
    char queue_url [512];
    cr_assert_eq (sscanf (strchr (url + 10, '"') + 1, "%511[^\"]", queue_url), 1, "%s", created);
    free (created);
    char *send = norc_asprintf ("{\"QueueUrl\": \"%s\", \"MessageBody\": \"tick 42 for you\"}", queue_url);
    char *sent = s_sqs ("SendMessage", send, 200);
    cr_expect_not_null (strstr (sent, "MessageId"), "%s", sent);
    free (sent);
    free (send);
    //  boto3 receives what Norc sent
    char *body = norc_moto_tool (s_moto, "receive", "norc-remote", NULL);
    cr_expect_str_eq (body, "tick 42 for you");
    free (body);
    //  Norc receives (the message is visible again at once? no: a second one)
    send = norc_asprintf ("{\"QueueUrl\": \"%s\", \"MessageBody\": \"second\"}", queue_url);
    free (s_sqs ("SendMessage", send, 200));
    free (send);
    char *receive = norc_asprintf ("{\"QueueUrl\": \"%s\", \"MaxNumberOfMessages\": 10, \"WaitTimeSeconds\": 1}",
                                   queue_url);
    char *got = s_sqs ("ReceiveMessage", receive, 200);
    cr_expect_not_null (strstr (got, "\"second\""), "%s", got);
    char handle [2048] = "";
    const char *h = strstr (got, "\"ReceiptHandle\"");
    if (h)
        sscanf (strchr (h + 15, '"') + 1, "%2047[^\"]", handle);
    cr_assert (*handle, "%s", got);
    free (got);
    free (receive);
    char *del = norc_asprintf ("{\"QueueUrl\": \"%s\", \"ReceiptHandle\": \"%s\"}", queue_url, handle);
    free (s_sqs ("DeleteMessage", del, 200));
    free (del);
    //  A wrong secret: refused, so the signatures above were checked
    norc_aws_target_t t = s_target ("sqs");
    t.secret_key = "not-the-secret";
    norc_aws_pair_t headers [] = { { "Content-Type", "application/x-amz-json-1.0" },
                                   { "X-Amz-Target", "AmazonSQS.ListQueues" } };
    norc_http_response_t r;
    cr_assert_eq (norc_aws_call (&t, "POST", "/", NULL, 0, headers, 2, "{}", 2, &r), NORC_OK, "%s", r.error);
    cr_expect (r.status == 403 || r.status == 400, "a wrong secret: %ld %s", r.status, r.body);
    norc_aws_error_t e;
    norc_aws_error_parse (r.status, r.body, r.headers, &e);
    cr_expect_eq (e.outcome, NORC_AWS_AUTH, "%s: %s", e.code, r.body);
    cr_expect_str_eq (e.code, "SignatureDoesNotMatch");
    cr_expect_not (e.retry, "never retried");
    //  The server's clock, from its Date: the same machine's, so close
    int64_t skew = norc_aws_skew_s (r.headers, norc_now_us ());
    cr_expect (skew >= -5 && skew <= 5, "skew %lld s: %s", (long long) skew, r.headers);
    norc_http_response_clear (&r);
}

Test (aws_moto, s3_puts_once_starts_a_multipart_upload_and_reads_a_range)
{
    norc_aws_target_t t = s_target ("s3");
    norc_http_response_t r;
    cr_assert_eq (norc_aws_call (&t, "PUT", "/norc-logs", NULL, 0, NULL, 0, NULL, 0, &r), NORC_OK, "%s", r.error);
    cr_expect_eq (r.status, 200, "CreateBucket: %ld %s", r.status, r.body);
    norc_http_response_clear (&r);
    //  A log: put once (If-None-Match: *), a second put refused
    const char *log = "[2026/12/03 12:00:00.000000] INFO: Starting instance #42\nhello\n";
    norc_aws_pair_t once [] = { { "If-None-Match", "*" }, { "Content-Type", "text/plain" } };
    cr_assert_eq (norc_aws_call (&t, "PUT", "/norc-logs/instances/0/42", NULL, 0, once, 2, log, strlen (log), &r),
                  NORC_OK, "%s", r.error);
    cr_expect_eq (r.status, 200, "PutObject: %ld %s", r.status, r.body);
    norc_http_response_clear (&r);
    cr_assert_eq (norc_aws_call (&t, "PUT", "/norc-logs/instances/0/42", NULL, 0, once, 2, "other", 5, &r),
                  NORC_OK, "%s", r.error);
    cr_expect_eq (r.status, 412, "a second put: %ld %s", r.status, r.body);
    norc_http_response_clear (&r);
    //  boto3 reads the object: its SHA-256 is the log's
    char hash [65];
    norc_aws_sha256_hex (log, strlen (log), hash);
    char *read = norc_moto_tool (s_moto, "object", "norc-logs", "instances/0/42", NULL);
    cr_expect_str_eq (read, hash);
    free (read);
    //  Bytes sent with no type are bytes (curl's default would call them a form)
    cr_assert_eq (norc_aws_call (&t, "PUT", "/norc-logs/instances/0/44", NULL, 0, NULL, 0, "\x01\x02", 2, &r),
                  NORC_OK, "%s", r.error);
    cr_expect_eq (r.status, 200, "PutObject: %ld %s", r.status, r.body);
    norc_http_response_clear (&r);
    char *head = norc_moto_tool (s_moto, "head", "norc-logs", "instances/0/44", NULL);
    cr_expect (strstr (head, " application/octet-stream"), "boto3 sees %s", head);
    free (head);
    head = norc_moto_tool (s_moto, "head", "norc-logs", "instances/0/42", NULL);
    cr_expect (strstr (head, " text/plain"), "the type given is kept: %s", head);
    free (head);
    //  A byte range: the tail of a log
    norc_aws_pair_t range [] = { { "Range", "bytes=-6" } };
    cr_assert_eq (norc_aws_call (&t, "GET", "/norc-logs/instances/0/42", NULL, 0, range, 1, NULL, 0, &r), NORC_OK,
                  "%s", r.error);
    cr_expect_eq (r.status, 206, "%ld %s", r.status, r.body);
    cr_expect_str_eq (r.body, "hello\n");
    norc_http_response_clear (&r);
    //  A multipart upload starts with the valueless ?uploads
    norc_aws_pair_t uploads [] = { { "uploads", "" } };
    cr_assert_eq (norc_aws_call (&t, "POST", "/norc-logs/instances/0/43", uploads, 1, NULL, 0, NULL, 0, &r), NORC_OK,
                  "%s", r.error);
    cr_expect_eq (r.status, 200, "CreateMultipartUpload: %ld %s", r.status, r.body);
    cr_expect_not_null (strstr (r.body, "<UploadId>"), "%s", r.body);
    norc_http_response_clear (&r);
}
