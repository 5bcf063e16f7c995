//  Unit tests: Prometheus metrics in the text exposition format, and
//  /metrics served over a real TCP connection.
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_metrics.h"
#include "norc_log.h"
#include "norc_mem.h"

//  The exposition holds this line exactly
static void
s_expect_line (const char *text, const char *line)
{
    char *want = norc_asprintf ("\n%s\n", line);
    char *with_start = norc_asprintf ("\n%s", text);
    cr_expect_not_null (strstr (with_start, want), "missing line: %s\nin:\n%s", line, text);
    free (want);
    free (with_start);
}

Test (norc_metrics, counters_gauges_and_histograms_in_the_text_format)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    static const double buckets [] = { 0.1, 1, 10 };
    norc_metrics_family ("norc_test_total", NORC_METRIC_COUNTER, "Things counted.", NULL, 0);
    norc_metrics_family ("norc_test_level", NORC_METRIC_GAUGE, "A level.", NULL, 0);
    norc_metrics_family ("norc_test_seconds", NORC_METRIC_HISTOGRAM, "Durations.", buckets, 3);
    norc_metrics_family ("norc_test_total", NORC_METRIC_GAUGE, "declared again: nothing", NULL, 0);
    norc_metrics_add ("norc_test_total", "queue=\"B\"", 2);
    norc_metrics_add ("norc_test_total", "queue=\"A\"", 1);
    norc_metrics_add ("norc_test_total", "queue=\"A\"", 1.5);
    norc_metrics_set ("norc_test_level", "", 7);
    norc_metrics_set ("norc_test_level", "", 3);
    norc_metrics_observe ("norc_test_seconds", "queue=\"A\"", 0.05);
    norc_metrics_observe ("norc_test_seconds", "queue=\"A\"", 0.1);
    norc_metrics_observe ("norc_test_seconds", "queue=\"A\"", 5);
    norc_metrics_observe ("norc_test_seconds", "queue=\"A\"", 50);
    norc_metrics_add ("norc_never_declared", "", 1);     //  said in the log, nothing else
    char *text = norc_metrics_text ();
    s_expect_line (text, "# HELP norc_test_total Things counted.");
    s_expect_line (text, "# TYPE norc_test_total counter");
    s_expect_line (text, "norc_test_total{queue=\"A\"} 2.5");
    s_expect_line (text, "norc_test_total{queue=\"B\"} 2");
    cr_expect_lt (strstr (text, "queue=\"A\"} 2.5"), strstr (text, "queue=\"B\"} 2"), "series in order");
    s_expect_line (text, "# TYPE norc_test_level gauge");
    s_expect_line (text, "norc_test_level 3");
    s_expect_line (text, "# TYPE norc_test_seconds histogram");
    s_expect_line (text, "norc_test_seconds_bucket{queue=\"A\",le=\"0.1\"} 2");
    s_expect_line (text, "norc_test_seconds_bucket{queue=\"A\",le=\"1\"} 2");
    s_expect_line (text, "norc_test_seconds_bucket{queue=\"A\",le=\"10\"} 3");
    s_expect_line (text, "norc_test_seconds_bucket{queue=\"A\",le=\"+Inf\"} 4");
    s_expect_line (text, "norc_test_seconds_sum{queue=\"A\"} 55.149999999999999");
    s_expect_line (text, "norc_test_seconds_count{queue=\"A\"} 4");
    cr_expect_null (strstr (text, "norc_never_declared"));
    cr_expect_not_null (strstr (text, "\nnorc_build_info{service=\""), "%s", text);
    cr_expect_not_null (strstr (text, "\nprocess_cpu_seconds_total "), "%s", text);
    cr_expect_not_null (strstr (text, "\nprocess_resident_memory_bytes "), "%s", text);
    cr_expect_not_null (strstr (text, "\nprocess_open_fds "), "%s", text);
    free (text);
    char out [64];
    cr_expect_str_eq (norc_metrics_escape ("a\"b\\c\nd", out, sizeof out), "a\\\"b\\\\c\\nd");
    norc_metrics_shutdown ();
}

//  One HTTP/1.0 request; the whole answer
static char *
s_http (int port, const char *request)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port),
                                .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    cr_assert_eq (connect (fd, (struct sockaddr *) &addr, sizeof addr), 0);
    cr_assert_eq (write (fd, request, strlen (request)), (ssize_t) strlen (request));
    size_t size = 0, room = 65536;
    char *answer = (char *) norc_malloc (room);
    ssize_t n;
    while ((n = read (fd, answer + size, room - size - 1)) > 0) {
        size += (size_t) n;
        if (size + 1 == room)
            answer = (char *) norc_realloc (answer, room *= 2);
    }
    answer [size] = 0;
    close (fd);
    return answer;
}

Test (norc_metrics, served_at_slash_metrics_and_nothing_else)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    norc_metrics_family ("norc_test_total", NORC_METRIC_COUNTER, "Things counted.", NULL, 0);
    norc_metrics_add ("norc_test_total", "", 3);
    int port = norc_test_free_port ();
    char where [64];
    snprintf (where, sizeof where, "127.0.0.1:%d", port);
    norc_config_t *config = norc_config_new ();
    cr_assert_eq (norc_config_set (config, "metrics.listen", where), NORC_OK);
    cr_assert_eq (norc_metrics_serve (config, "tester"), NORC_OK);
    char *answer = s_http (port, "GET /metrics HTTP/1.0\r\n\r\n");
    cr_expect_eq (strncmp (answer + 8, " 200", 4), 0, "%s", answer);
    cr_expect_not_null (strstr (answer, "Content-Type: text/plain; version=0.0.4"), "%s", answer);
    cr_expect_not_null (strstr (answer, "\nnorc_test_total 3\n"), "%s", answer);
    cr_expect_not_null (strstr (answer, "norc_build_info{service=\"tester\""), "%s", answer);
    free (answer);
    answer = s_http (port, "GET /other HTTP/1.0\r\n\r\n");
    cr_expect_eq (strncmp (answer + 8, " 404", 4), 0, "%s", answer);
    free (answer);
    answer = s_http (port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    cr_expect_eq (strncmp (answer + 8, " 405", 4), 0, "%s", answer);
    free (answer);
    answer = s_http (port, "GET /metrics HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
    cr_expect_eq (strncmp (answer + 8, " 400", 4), 0, "conflicting framing is refused: %s", answer);
    free (answer);
    norc_metrics_shutdown ();
    //  An address taken, or not an address: refused, said
    int taken = socket (AF_INET, SOCK_STREAM, 0), on = 1;
    setsockopt (taken, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port),
                                .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    cr_assert_eq (bind (taken, (struct sockaddr *) &addr, sizeof addr), 0);
    cr_assert_eq (listen (taken, 1), 0);
    cr_expect_eq (norc_metrics_serve (config, "tester"), NORC_ERROR, "taken");
    close (taken);
    const char *bad [] = { "127.0.0.1", "127.0.0.1:notaport", "no.such.host.invalid:9100" };
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq (norc_config_set (config, "metrics.listen", bad [i]), NORC_OK);
        cr_expect_eq (norc_metrics_serve (config, "tester"), NORC_ERROR, "%s", bad [i]);
    }
    norc_metrics_shutdown ();
    norc_config_destroy (&config);
}
