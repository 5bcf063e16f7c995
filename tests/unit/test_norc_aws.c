//  Unit: SigV4 as norc_aws.c writes it, against known answers: the AWS
//  SigV4 test suite's get-vanilla (its published signature), and requests
//  of Norc's own kinds (a query out of order with a value to encode, SQS's
//  JSON protocol with temporary credentials, S3's valueless ?uploads with
//  the payload's hash) whose canonical request, string to sign and
//  signature come from botocore, an independent signer.
#include <criterion/criterion.h>
#include "norc_aws.h"
#include "norc_aws_creds.h"
#include <unistd.h>

#define S_KEY       "AKIDEXAMPLE"
#define S_SECRET    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
//  2015-08-30T12:36:00Z
#define S_WHEN      ((norc_us_t) 1440938160 * NORC_US_PER_SEC)

static void
s_expect (const norc_aws_request_t *r, const char *canonical, const char *to_sign, const char *authorization)
{
    char *signed_headers = NULL;
    char *c = norc_aws_canonical_request (r, &signed_headers);
    cr_expect_str_eq (c, canonical);
    char *s = norc_aws_string_to_sign (r, c);
    cr_expect_str_eq (s, to_sign);
    char *a = norc_aws_authorization (r);
    cr_expect_str_eq (a, authorization);
    free (signed_headers);
    free (c);
    free (s);
    free (a);
}

Test (aws, the_suites_get_vanilla)
{
    norc_aws_pair_t headers [] = { { "Host", "example.amazonaws.com" } };
    norc_aws_request_t r = { .method = "GET", .path = "/", .headers = headers, .header_count = 1,
                             .region = "us-east-1", .service = "service", .access_key = S_KEY,
                             .secret_key = S_SECRET, .when = S_WHEN };
    s_expect (&r,
              "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
              "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
              "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
              "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

Test (aws, a_query_out_of_order_is_sorted_and_encoded_in_upper_case)
{
    norc_aws_pair_t headers [] = { { "Host", "example.amazonaws.com" } };
    norc_aws_pair_t query [] = { { "Param2", "value2" }, { "Param1", "value one" } };
    norc_aws_request_t r = { .method = "GET", .path = "/", .query = query, .query_count = 2, .headers = headers,
                             .header_count = 1, .region = "us-east-1", .service = "service", .access_key = S_KEY,
                             .secret_key = S_SECRET, .when = S_WHEN };
    s_expect (&r,
              "GET\n/\nParam1=value%20one&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
              "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
              "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
              "af6749f31eabb93bcd2cecd647fb48144883ca562b55d6a2344f3a20eba72eed",
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
              "SignedHeaders=host;x-amz-date, Signature=2f87e238be506a198917feb86c30a9cc33faf3a0713c6a60ac101b12a0eab194");
}

Test (aws, sqs_json_with_temporary_credentials_signs_the_token_and_the_body)
{
    const char *body = "{\"QueueUrl\":\"https://sqs.eu-west-1.amazonaws.com/123456789012/norc-remote\","
                       "\"MaxNumberOfMessages\":10}";
    norc_aws_pair_t headers [] = {
        { "Host", "sqs.eu-west-1.amazonaws.com" }, { "Content-Type", "application/x-amz-json-1.0" },
        { "X-Amz-Target", "AmazonSQS.ReceiveMessage" },
    };
    norc_aws_request_t r = { .method = "POST", .path = "/", .headers = headers, .header_count = 3, .body = body,
                             .body_len = strlen (body), .region = "eu-west-1", .service = "sqs",
                             .access_key = S_KEY, .secret_key = S_SECRET,
                             .session_token = "IQoJb3JpZ2luX2VjEXAMPLETOKEN", .when = S_WHEN };
    s_expect (&r,
              "POST\n/\n\ncontent-type:application/x-amz-json-1.0\nhost:sqs.eu-west-1.amazonaws.com\n"
              "x-amz-date:20150830T123600Z\nx-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLETOKEN\n"
              "x-amz-target:AmazonSQS.ReceiveMessage\n\n"
              "content-type;host;x-amz-date;x-amz-security-token;x-amz-target\n"
              "d3dbf057518cdccd0fd61aa7f1fc7927ce52740c46c96a32316e47440a463a88",
              "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/eu-west-1/sqs/aws4_request\n"
              "9d6211937d2e7dea17c667e072953bcd44a4e3d72d49d112bc571f4863ab7fe7",
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/sqs/aws4_request, "
              "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
              "Signature=73f8a71951112c545c653f1d338ccbc0436d832b96a73574fe2c75a7c87e9310");
}

Test (aws, s3_signs_a_valueless_parameter_as_name_equals_and_the_payloads_hash)
{
    norc_aws_pair_t headers [] = { { "Host", "127.0.0.1:9000" } };
    norc_aws_pair_t query [] = { { "uploads", "" } };
    norc_aws_request_t r = { .method = "POST", .path = "/norc-logs/instances/0/42", .query = query, .query_count = 1,
                             .headers = headers, .header_count = 1, .region = "us-east-1", .service = "s3",
                             .access_key = S_KEY, .secret_key = S_SECRET, .when = S_WHEN };
    s_expect (&r,
              "POST\n/norc-logs/instances/0/42\nuploads=\nhost:127.0.0.1:9000\n"
              "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
              "x-amz-date:20150830T123600Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
              "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/s3/aws4_request\n"
              "5c53c29e1233a1feeb4fca8ca3d287b38b0b9a1a5752688251335a9b8eabeefb",
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, "
              "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
              "Signature=087a8b85ccb218c3c867afc71131f27d1cd7fbf135ea85c4f30475e5450cffc9");
}

Test (aws, encoding_keeps_only_the_unreserved_and_trims_header_values)
{
    char *e = norc_aws_encode ("a b/c~d_e.f-g+h=i&é", false);
    cr_expect_str_eq (e, "a%20b%2Fc~d_e.f-g%2Bh%3Di%26%C3%A9");
    free (e);
    e = norc_aws_encode ("/bucket/key with space", true);
    cr_expect_str_eq (e, "/bucket/key%20with%20space");
    free (e);
    norc_aws_pair_t query [] = { { "b", "2" }, { "a", "" }, { "a", "1" }, { "A", "x" } };
    char *q = norc_aws_canonical_query (query, 4);
    cr_expect_str_eq (q, "A=x&a=&a=1&b=2", "byte order, then by value");
    free (q);
    //  A header's value: outer space gone, inner runs made one
    norc_aws_pair_t headers [] = { { "Host", "h" }, { "X-Norc-Test", "  one   two  " } };
    norc_aws_request_t r = { .method = "GET", .path = "/", .headers = headers, .header_count = 2,
                             .region = "r", .service = "s", .access_key = "k", .secret_key = "s", .when = S_WHEN };
    char *c = norc_aws_canonical_request (&r, NULL);
    cr_expect_not_null (strstr (c, "\nx-norc-test:one two\n"), "%s", c);
    free (c);
}

//  One taxonomy for the three shapes AWS answers errors in
Test (aws, errors_are_read_from_xml_json_and_the_query_header)
{
    norc_aws_error_t e;
    //  S3 (XML), as moto answers a wrong signature
    norc_aws_error_parse (403, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
                          "<Message>The request signature we calculated does not match</Message></Error>", "", &e);
    cr_expect_eq (e.outcome, NORC_AWS_AUTH);
    cr_expect_not (e.retry, "an authentication error is never retried");
    cr_expect_str_eq (e.code, "SignatureDoesNotMatch");
    cr_expect_str_eq (e.message, "The request signature we calculated does not match");
    //  SQS's JSON protocol: the shape's name after its '#'
    norc_aws_error_parse (400, "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":\"The specified queue "
                          "does not exist.\"}", "HTTP/1.1 400 Bad Request\r\n", &e);
    cr_expect_eq (e.outcome, NORC_AWS_REFUSED);
    cr_expect_str_eq (e.code, "QueueDoesNotExist");
    cr_expect_str_eq (e.message, "The specified queue does not exist.");
    //  The query code in its header wins over the body's
    norc_aws_error_parse (400, "{\"__type\":\"com.amazonaws.sqs#ThrottlingException\"}",
                          "HTTP/1.1 400 Bad Request\r\nx-amzn-query-error: RequestThrottled;Sender\r\n", &e);
    cr_expect_eq (e.outcome, NORC_AWS_THROTTLED);
    cr_expect (e.retry);
    cr_expect_str_eq (e.code, "RequestThrottled");
    //  By status alone, and the ones with their own meaning
    norc_aws_error_parse (503, "", "", &e);
    cr_expect (e.outcome == NORC_AWS_UNAVAILABLE && e.retry);
    norc_aws_error_parse (429, "", "", &e);
    cr_expect (e.outcome == NORC_AWS_THROTTLED && e.retry);
    norc_aws_error_parse (412, "<Error><Code>PreconditionFailed</Code></Error>", "", &e);
    cr_expect (e.outcome == NORC_AWS_PRECONDITION && !e.retry, "the key exists: an answer");
    norc_aws_error_parse (400, "{\"__type\":\"com.amazon.coral.service#ExpiredTokenException\"}", "", &e);
    cr_expect (e.outcome == NORC_AWS_EXPIRED && !e.retry);
    norc_aws_error_parse (403, "<Error><Code>RequestTimeTooSkewed</Code></Error>", "", &e);
    cr_expect_eq (e.outcome, NORC_AWS_SKEWED);
    norc_aws_error_parse (200, "{}", "", &e);
    cr_expect_eq (e.outcome, NORC_AWS_DONE);
}

Test (aws, the_skew_is_measured_from_date_and_backoff_is_full_jitter)
{
    //  The server says 12:37:30; it is 12:36:00 here: 90 s ahead
    const char *headers = "HTTP/1.1 403 Forbidden\r\nServer: x\r\nDate: Sun, 30 Aug 2015 12:37:30 GMT\r\n\r\n";
    cr_expect_eq (norc_aws_skew_s (headers, S_WHEN), 90);
    cr_expect_eq (norc_aws_skew_s ("HTTP/1.1 200 OK\r\n\r\n", S_WHEN), 0, "no Date: no measure");
    cr_expect_eq (norc_aws_backoff_ms (0, 100, 20000, 1.0), 100);
    cr_expect_eq (norc_aws_backoff_ms (3, 100, 20000, 1.0), 800);
    cr_expect_eq (norc_aws_backoff_ms (30, 100, 20000, 1.0), 20000, "capped");
    cr_expect_eq (norc_aws_backoff_ms (3, 100, 20000, 0.5), 400);
    cr_expect_eq (norc_aws_backoff_ms (3, 100, 20000, 0.0), 0);
}

Test (aws, the_environment_gives_region_endpoint_and_key_as_awss_tools_read_it)
{
    const char *names [] = { "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS",
                             "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN" };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        unsetenv (names [i]);
    norc_aws_env_t env;
    char why [256];
    cr_expect_eq (norc_aws_env ("sqs", &env, why, sizeof why), NORC_ERROR);
    cr_expect_not_null (strstr (why, "AWS_REGION"), "%s", why);
    setenv ("AWS_DEFAULT_REGION", "eu-west-1", 1);
    //  No key: where and as whom without who (the chain finds it)
    cr_assert_eq (norc_aws_env ("sqs", &env, why, sizeof why), NORC_OK, "%s", why);
    cr_expect_str_eq (env.access_key, "");
    setenv ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv ("AWS_SECRET_ACCESS_KEY", S_SECRET, 1);
    cr_assert_eq (norc_aws_env ("sqs", &env, why, sizeof why), NORC_OK, "%s", why);
    cr_expect_str_eq (env.region, "eu-west-1");
    cr_expect_str_eq (env.endpoint, "https://sqs.eu-west-1.amazonaws.com", "AWS's own");
    cr_expect_str_eq (env.session_token, "");
    //  AWS_REGION over AWS_DEFAULT_REGION; the service's endpoint over the general one
    setenv ("AWS_REGION", "us-east-2", 1);
    setenv ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/", 1);
    setenv ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000", 1);
    setenv ("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLETOKEN", 1);
    cr_assert_eq (norc_aws_env ("sqs", &env, why, sizeof why), NORC_OK, "%s", why);
    cr_expect_str_eq (env.region, "us-east-2");
    cr_expect_str_eq (env.endpoint, "http://127.0.0.1:5000", "no trailing slash");
    cr_expect_str_eq (env.session_token, "IQoJb3JpZ2luX2VjEXAMPLETOKEN");
    cr_assert_eq (norc_aws_env ("s3", &env, why, sizeof why), NORC_OK, "%s", why);
    cr_expect_str_eq (env.endpoint, "http://127.0.0.1:9000");
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        unsetenv (names [i]);
}

//  The credential chain: the environment first, then the configuration (a
//  key and its secret's file); with neither, and no container endpoint and
//  no metadata service, one line names every source and no secret
Test (norc_aws, the_credential_chain_takes_the_first_source_that_has_them)
{
    const char *names [] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                             "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                             "AWS_EC2_METADATA_SERVICE_ENDPOINT" };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        unsetenv (names [i]);
    setenv ("AWS_EC2_METADATA_DISABLED", "true", 1);
    char path [] = "/tmp/norc-aws-secret-XXXXXX";
    int fd = mkstemp (path);
    cr_assert_geq (fd, 0);
    cr_assert_eq (write (fd, S_SECRET "\n", strlen (S_SECRET) + 1), (ssize_t) strlen (S_SECRET) + 1);
    close (fd);
    norc_aws_creds_config_t config = { "AKIDCONFIG", path, 0 };
    norc_aws_creds_t creds;
    char why [512];
    cr_assert_eq (norc_aws_creds_get (&config, &creds, why, sizeof why), NORC_OK, "%s", why);
    cr_expect_str_eq (creds.source, "configuration");
    cr_expect_str_eq (creds.access_key, "AKIDCONFIG");
    cr_expect_str_eq (creds.secret_key, S_SECRET, "the file's first line");
    cr_expect_eq (creds.expires, 0);
    cr_expect_not (norc_aws_creds_due (&creds, norc_now_us ()), "long-term credentials are never due");
    setenv ("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv ("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    setenv ("AWS_SESSION_TOKEN", "TOKEN", 1);
    cr_assert_eq (norc_aws_creds_get (&config, &creds, why, sizeof why), NORC_OK, "%s", why);
    cr_expect_str_eq (creds.source, "environment");
    cr_expect_str_eq (creds.access_key, "AKIDENV");
    cr_expect_str_eq (creds.session_token, "TOKEN");
    for (size_t i = 0; i < 3; i++)
        unsetenv (names [i]);
    //  A key without its secret's file is said, not guessed
    norc_aws_creds_config_t lacking = { "AKIDCONFIG", "/nonexistent/secret", 0 };
    cr_expect_eq (norc_aws_creds_get (&lacking, &creds, why, sizeof why), NORC_ERROR);
    cr_expect_not_null (strstr (why, "aws.secret_access_key_file"), "%s", why);
    cr_expect_eq (norc_aws_creds_get (NULL, &creds, why, sizeof why), NORC_ERROR);
    cr_expect_not_null (strstr (why, "AWS_ACCESS_KEY_ID") && strstr (why, "aws.access_key_id")
                        && strstr (why, "container") && strstr (why, "metadata"), "%s", why);
    cr_expect_null (strstr (why, S_SECRET));
    unlink (path);
    unsetenv ("AWS_EC2_METADATA_DISABLED");
}

//  Temporary credentials are made again before they expire: five minutes
//  before, or at half their life when they live less than ten
Test (norc_aws, temporary_credentials_are_due_before_they_expire)
{
    norc_us_t now = norc_aws_creds_time ("2026-12-04T18:00:00Z");
    cr_assert_gt (now, 0);
    cr_expect_eq (norc_aws_creds_time ("2026-12-04T18:00:00.123Z"), now);
    cr_expect_eq (norc_aws_creds_time ("2026-12-04 18:00:00"), 0, "not ISO-8601 UTC");
    norc_aws_creds_t creds = { .obtained = now, .expires = now + 3600 * NORC_US_PER_SEC };
    cr_expect_not (norc_aws_creds_due (&creds, now + 3000 * NORC_US_PER_SEC));
    cr_expect (norc_aws_creds_due (&creds, now + 3301 * NORC_US_PER_SEC), "within five minutes of the end");
    creds.expires = now + 60 * NORC_US_PER_SEC;
    cr_expect_not (norc_aws_creds_due (&creds, now + 29 * NORC_US_PER_SEC));
    cr_expect (norc_aws_creds_due (&creds, now + 31 * NORC_US_PER_SEC), "past half of a short life");
}
