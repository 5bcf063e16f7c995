//  End to end: Prometheus metrics. A scheduler and an executor started with
//  metrics.listen serve /metrics; after a schedule's ticks ran, the
//  scheduler counts them and their lateness and the executor their
//  durations and its slots, and Prometheus's own checker (promtool check
//  metrics) finds nothing wrong with either exposition.
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"

NORC_TEST_E2E_SUITE (metrics, 120);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

static int
s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    cr_assert_eq (bind (fd, (struct sockaddr *) &addr, sizeof addr), 0);
    cr_assert_eq (getsockname (fd, (struct sockaddr *) &addr, &len), 0);
    close (fd);
    return ntohs (addr.sin_port);
}

//  The body of GET /metrics on port ("" when nothing answers)
static char *
s_scrape (int port)
{
    char *command = norc_asprintf ("curl -sf http://127.0.0.1:%d/metrics", port);
    FILE *pipe = popen (command, "r");
    free (command);
    cr_assert_not_null (pipe);
    size_t size = 0, room = 65536;
    char *text = (char *) norc_malloc (room);
    size_t n;
    while ((n = fread (text + size, 1, room - size - 1, pipe)) > 0) {
        size += n;
        if (size + 1 == room)
            text = (char *) norc_realloc (text, room *= 2);
    }
    text [size] = 0;
    pclose (pipe);
    return text;
}

//  Wait until the scrape of port has line; the last scrape
static char *
s_scrape_until (int port, const char *line, int timeout_ms)
{
    char *text = NULL;
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        free (text);
        text = s_scrape (port);
        if (strstr (text, line))
            break;
        usleep (200000);
    }
    return text;
}

//  promtool check metrics on text: its exit code, its complaints in *said
static int
s_promtool (const char *text, char **said)
{
    char path [] = "/tmp/norc-metrics-XXXXXX";
    int fd = mkstemp (path);
    cr_assert (fd >= 0);
    cr_assert_eq (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
    char *command = norc_asprintf ("promtool check metrics < %s 2>&1", path);
    FILE *pipe = popen (command, "r");
    free (command);
    char buffer [4096] = "";
    size_t n = fread (buffer, 1, sizeof buffer - 1, pipe);
    buffer [n] = 0;
    int rc = pclose (pipe);
    unlink (path);
    *said = norc_strdup (buffer);
    return WIFEXITED (rc) ? WEXITSTATUS (rc) : -1;
}

Test (metrics, the_scheduler_and_the_executor_serve_what_they_did)
{
    cr_assert_eq (system ("command -v promtool >/dev/null && command -v curl >/dev/null"), 0,
                  "promtool (Debian's prometheus) and curl are needed: scripts/test.sh installs them");
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    //  The core's scheduler gives its schedules up; one with metrics takes over
    pid_t old = norc_test_system_pid (s_sys, "norc-scheduler");
    norc_test_system_signal (s_sys, old, SIGTERM);
    int sched_port = s_free_port (), exec_port = s_free_port ();
    char sched_listen [64], exec_listen [64];
    snprintf (sched_listen, sizeof sched_listen, "127.0.0.1:%d", sched_port);
    snprintf (exec_listen, sizeof exec_listen, "127.0.0.1:%d", exec_port);
    const char *sched_args [] = { "--metrics.listen", sched_listen, NULL };
    norc_test_system_start (s_sys, "norc-scheduler", sched_args);
    const char *exec_args [] = { "Q", "-c", "2", "--metrics.listen", exec_listen, NULL };
    norc_test_system_start (s_sys, "norc-executor", exec_args);
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "1", "--reps", "3");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 3, 20000);

    char *sched = s_scrape_until (sched_port, "norc_ticks_total{outcome=\"fired\",queue=\"Q\"} 3", 5000);
    cr_expect_not_null (strstr (sched, "\nnorc_ticks_total{outcome=\"fired\",queue=\"Q\"} 3\n"), "%s", sched);
    cr_expect_not_null (strstr (sched, "\nnorc_tick_lateness_seconds_count{queue=\"Q\"} 3\n"), "%s", sched);
    cr_expect_not_null (strstr (sched, "\nnorc_tick_lateness_seconds_bucket{queue=\"Q\",le=\"+Inf\"} 3\n"),
                        "%s", sched);
    cr_expect_not_null (strstr (sched, "norc_build_info{service=\"scheduler\""), "%s", sched);
    char *exec = s_scrape_until (exec_port, "norc_instance_duration_seconds_count{queue=\"Q\",status=\"SUCCESS\"} 3",
                                 5000);
    cr_expect_not_null (strstr (exec, "\nnorc_instance_duration_seconds_count{queue=\"Q\",status=\"SUCCESS\"} 3\n"),
                        "%s", exec);
    cr_expect_not_null (strstr (exec, "\nnorc_executor_slots{queue=\"Q\",state=\"free\"} "), "%s", exec);
    cr_expect_not_null (strstr (exec, "norc_build_info{service=\"executor\""), "%s", exec);
    cr_expect_not_null (strstr (exec, "\nprocess_resident_memory_bytes "), "%s", exec);

    //  Prometheus's own checker
    char *said = NULL;
    cr_expect_eq (s_promtool (sched, &said), 0, "scheduler: %s", said);
    free (said);
    cr_expect_eq (s_promtool (exec, &said), 0, "executor: %s", said);
    free (said);
    free (sched);
    free (exec);
}
