//  End to end: norc-web's logs. An instance's log read over HTTP by byte
//  range and followed while its task runs, the same bytes as norcctl logs
//  prints (and its ranges); who may read a log (logs:read), and the errors
//  of a missing instance or a bad range.
#include <criterion/criterion.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"

NORC_TEST_E2E_SUITE (web_logs, 300);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

#include "web_fixture.h"

Test (web_logs, an_instances_log_is_read_by_byte_range_and_followed_while_it_runs)
{
    s_start_web ();
    const char *exec_args [] = { "Q", "-c", "2", NULL };
    char *admin = s_token ("deploy", "admin");
    char *reader = s_token ("support", "viewer,logs:read");
    char *viewer = s_token ("grafana", "viewer");
    s_wait_ready ();
    OK ("queue", "add", "Q");
    norc_test_system_start (s_sys, "norc-executor", exec_args);
    //  Output that comes in steps, then a block larger than one answer
    OK ("task", "add", "talk", "--command",
        "for i in 1 2 3 4 5; do echo step$i; sleep 0.3; done; head -c 200000 /dev/zero | tr '\\0' x; echo; echo end");
    char *out = NULL, *err = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "run", "talk", "--queue", "Q", (const char *) NULL), 0,
                  "%s%s", out, err);
    long long id = strtoll (out + strcspn (out, "0123456789"), NULL, 10);
    cr_assert_gt (id, 0, "%s", out);
    free (out);
    free (err);
    //  Followed from the start: each answer's bytes sit at its offset, and
    //  the steps arrive while it runs, before the end
    char path [128];
    s_buf_t log = { norc_strdup (""), 0 };
    bool complete = false, seen_running = false;
    for (int i = 0; i < 400 && !complete; i++) {
        snprintf (path, sizeof path, "/api/v1/instances/%lld/log?offset=%zu&follow=true", id, log.len);
        s_response_t r = s_http ("GET", path, reader, NULL, NULL);
        cr_assert_eq (r.status, 200, "%s", r.body);
        char *offset = s_header (&r, "X-Norc-Log-Offset");
        char *size = s_header (&r, "X-Norc-Log-Size");
        char *done = s_header (&r, "X-Norc-Log-Complete");
        cr_assert (offset && size && done, "%s", r.headers);
        cr_expect_eq (strtoull (offset, NULL, 10), log.len, "the bytes asked for");
        cr_expect_geq (strtoull (size, NULL, 10), log.len + r.size);
        cr_expect (strstr (r.headers, "text/plain"), "%s", r.headers);
        complete = strcmp (done, "true") == 0;
        s_collect (r.body, 1, r.size, &log);
        if (!complete && strstr (log.buf, "step1") && !strstr (log.buf, "\nend\n"))
            seen_running = true;
        free (offset);
        free (size);
        free (done);
        s_response_free (&r);
    }
    cr_assert (complete, "the log was read to its end");
    cr_expect (seen_running, "output came while the instance ran");
    //  The normalized log: Norc's lines around the command's output
    char *steps = strstr (log.buf, "\nstep1\nstep2\nstep3\nstep4\nstep5\nxxx");
    cr_assert_not_null (steps, "%.300s", log.buf);
    cr_expect_not_null (strstr (log.buf, "xxx\nend\n["), "%s", log.buf + log.len - 100);
    cr_expect_not_null (strstr (log.buf + log.len - 100, "SUCCESS (exit code 0).\n"), "%s", log.buf + log.len - 100);
    size_t step2 = (size_t) (steps - log.buf) + 7;
    //  The same bytes as norcctl reads from the archiver, and its ranges
    out = err = NULL;
    snprintf (path, sizeof path, "%lld", id);
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "logs", path, (const char *) NULL), 0, "%s", err);
    cr_expect (strlen (out) == log.len && memcmp (out, log.buf, log.len) == 0, "norcctl logs prints the same log");
    free (out);
    free (err);
    out = err = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "logs", "--tail", "10", path, (const char *) NULL), 0, "%s", err);
    cr_expect_str_eq (out, log.buf + log.len - 10);
    free (out);
    free (err);
    out = err = NULL;
    char from [24];
    snprintf (from, sizeof from, "%zu", step2);
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "logs", "--offset", from, "--limit", "6", path,
                                        (const char *) NULL), 0, "%s", err);
    cr_expect_str_eq (out, "step2\n");
    free (out);
    free (err);
    //  Its tail, and a range, over HTTP
    snprintf (path, sizeof path, "/api/v1/instances/%lld/log?tail=4", id);
    s_response_t r = s_http ("GET", path, reader, NULL, NULL);
    cr_expect_eq (r.status, 200, "%s", r.body);
    cr_expect_str_eq (r.body, log.buf + log.len - 4);
    char *offset = s_header (&r, "X-Norc-Log-Offset");
    cr_expect_eq (strtoull (offset, NULL, 10), log.len - 4);
    free (offset);
    s_response_free (&r);
    snprintf (path, sizeof path, "/api/v1/instances/%lld/log?offset=%zu&limit=6", id, step2 + 6);
    r = s_http ("GET", path, reader, NULL, NULL);
    cr_expect_str_eq (r.body, "step3\n");
    char *complete_text = s_header (&r, "X-Norc-Log-Complete");
    cr_expect_str_eq (complete_text, "false", "a range short of the end");
    free (complete_text);
    s_response_free (&r);
    //  A viewer may not read logs (403); no such instance (404); a bad range (400)
    snprintf (path, sizeof path, "/api/v1/instances/%lld/log", id);
    r = s_http ("GET", path, viewer, NULL, NULL);
    s_expect_problem (&r, 403, "forbidden");
    s_response_free (&r);
    r = s_http ("GET", "/api/v1/instances/999999/log", admin, NULL, NULL);
    s_expect_problem (&r, 404, "not-found");
    s_response_free (&r);
    snprintf (path, sizeof path, "/api/v1/instances/%lld/log?limit=0", id);
    r = s_http ("GET", path, admin, NULL, NULL);
    s_expect_problem (&r, 400, "bad-request");
    s_response_free (&r);
    snprintf (path, sizeof path, "/api/v1/instances/%lld/log?tail=-3", id);
    r = s_http ("GET", path, admin, NULL, NULL);
    s_expect_problem (&r, 400, "bad-request");
    s_response_free (&r);
    free (log.buf);
    free (admin);
    free (reader);
    free (viewer);
}
