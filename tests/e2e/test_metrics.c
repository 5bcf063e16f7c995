//  End to end: Prometheus metrics. An aggregator, a scheduler and an
//  executor started with metrics.listen serve /metrics: the aggregator
//  counts what waits in a queue, for how long, the daemons alive and the
//  instances finished; after a schedule's ticks ran, the scheduler counts
//  them and their lateness and the executor their durations and its
//  slots; and Prometheus's own checker (promtool check metrics) finds
//  nothing wrong with any of them; a real Prometheus server scrapes them
//  all, loads the shipped alert rules and answers a quantile of lateness.
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"

NORC_TEST_E2E_SUITE (metrics, 120);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

//  The standard output of a shell command (norc_test_run)
static char *
s_run (const char *command)
{
    const char *argv [] = { "/bin/sh", "-c", command, NULL };
    char *out = NULL, *err = NULL;
    norc_test_run (argv, NULL, &out, &err);
    free (err);
    return out;
}

//  The body of GET /metrics on port ("" when nothing answers)
static char *
s_scrape (int port)
{
    char *command = norc_asprintf ("curl -sf http://127.0.0.1:%d/metrics", port);
    char *text = s_run (command);
    free (command);
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
    static int count;
    char *path = norc_asprintf ("%s/metrics-%d.txt", s_sys->dir, ++count);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fputs (text, file);
    fclose (file);
    char *command = norc_asprintf ("promtool check metrics < %s", path);
    const char *argv [] = { "/bin/sh", "-c", command, NULL };
    char *out = NULL, *err = NULL;
    int rc = norc_test_run (argv, NULL, &out, &err);
    *said = norc_asprintf ("%s%s", out, err);
    free (out);
    free (err);
    free (command);
    free (path);
    return rc;
}

Test (metrics, the_services_serve_what_they_did)
{
    cr_assert_eq (system ("command -v promtool >/dev/null && command -v curl >/dev/null"), 0,
                  "promtool (Debian's prometheus) and curl are needed: scripts/test.sh installs them");
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    //  The core's scheduler and aggregator give way to ones with metrics
    int agg_port = norc_test_free_port (), sched_port = norc_test_free_port ();
    int exec_port = norc_test_free_port ();
    char agg_listen [64], sched_listen [64], exec_listen [64];
    snprintf (agg_listen, sizeof agg_listen, "127.0.0.1:%d", agg_port);
    snprintf (sched_listen, sizeof sched_listen, "127.0.0.1:%d", sched_port);
    snprintf (exec_listen, sizeof exec_listen, "127.0.0.1:%d", exec_port);
    pid_t old = norc_test_system_pid (s_sys, "norc-scheduler");
    norc_test_system_signal (s_sys, old, SIGTERM);
    old = norc_test_system_pid (s_sys, "norc-aggregator");
    norc_test_system_signal (s_sys, old, SIGTERM);
    cr_assert (norc_test_process_gone ("norc-aggregator", 10000), "the first aggregator ended");
    const char *agg_args [] = { "--metrics.listen", agg_listen, NULL };
    norc_test_system_start (s_sys, "norc-aggregator", agg_args);
    const char *sched_args [] = { "--metrics.listen", sched_listen, "--metrics.schedules", "1", NULL };
    norc_test_system_start (s_sys, "norc-scheduler", sched_args);
    //  Two runs wait for an executor: the queue's depth and age
    OK ("run", "T", "--queue", "Q");
    OK ("run", "T", "--queue", "Q");
    char *agg = s_scrape_until (agg_port, "norc_queue_depth{queue=\"Q\"} 2", 10000);
    cr_expect_not_null (strstr (agg, "\nnorc_queue_depth{queue=\"Q\"} 2\n"), "%s", agg);
    const char *age = strstr (agg, "\nnorc_queue_oldest_age_seconds{queue=\"Q\"} ");
    cr_expect (age && strtod (age + strlen ("\nnorc_queue_oldest_age_seconds{queue=\"Q\"} "), NULL) > 0, "%s", agg);
    cr_expect_not_null (strstr (agg, "\nnorc_daemons_up{kind=\"scheduler\"} 1\n"), "%s", agg);
    free (agg);
    const char *exec_args [] = { "Q", "-c", "2", "--metrics.listen", exec_listen, NULL };
    norc_test_system_start (s_sys, "norc-executor", exec_args);
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "1", "--reps", "3");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 5, 20000);
    agg = s_scrape_until (agg_port, "norc_instances_finished_total{queue=\"Q\",status=\"SUCCESS\"} 5", 5000);
    cr_expect_not_null (strstr (agg, "\nnorc_instances_finished_total{queue=\"Q\",status=\"SUCCESS\"} 5\n"),
                        "%s", agg);
    free (agg);
    agg = s_scrape_until (agg_port, "norc_queue_depth{queue=\"Q\"} 0", 10000);
    cr_expect_not_null (strstr (agg, "\nnorc_queue_depth{queue=\"Q\"} 0\n"), "%s", agg);
    cr_expect_not_null (strstr (agg, "\nnorc_daemons_up{kind=\"executor\"} 1\n"), "%s", agg);

    char *sched = s_scrape_until (sched_port, "norc_ticks_total{outcome=\"fired\",queue=\"Q\"} 3", 5000);
    cr_expect_not_null (strstr (sched, "\nnorc_ticks_total{outcome=\"fired\",queue=\"Q\"} 3\n"), "%s", sched);
    cr_expect_not_null (strstr (sched, "\nnorc_tick_lateness_seconds_count{queue=\"Q\"} 3\n"), "%s", sched);
    //  Asked for one schedule's own series: it has them
    cr_expect_not_null (strstr (sched, "\nnorc_schedule_ticks_total{outcome=\"fired\",queue=\"Q\",schedule=\"1\","
                                       "task=\"T\"} 3\n"), "%s", sched);
    cr_expect_not_null (strstr (sched, "\nnorc_schedule_last_lateness_seconds{queue=\"Q\",schedule=\"1\",task=\"T\"} "),
                        "%s", sched);
    cr_expect_not_null (strstr (sched, "\nnorc_tick_lateness_seconds_bucket{queue=\"Q\",le=\"+Inf\"} 3\n"),
                        "%s", sched);
    cr_expect_not_null (strstr (sched, "norc_build_info{service=\"scheduler\""), "%s", sched);
    char *exec = s_scrape_until (exec_port, "norc_instance_duration_seconds_count{queue=\"Q\",status=\"SUCCESS\"} 5",
                                 5000);
    cr_expect_not_null (strstr (exec, "\nnorc_instance_duration_seconds_count{queue=\"Q\",status=\"SUCCESS\"} 5\n"),
                        "%s", exec);
    cr_expect_not_null (strstr (exec, "\nnorc_executor_slots{queue=\"Q\",state=\"free\"} "), "%s", exec);
    cr_expect_not_null (strstr (exec, "norc_build_info{service=\"executor\""), "%s", exec);
    cr_expect_not_null (strstr (exec, "\nprocess_resident_memory_bytes "), "%s", exec);

    //  Prometheus's own checker
    char *said = NULL;
    cr_expect_eq (s_promtool (agg, &said), 0, "aggregator: %s", said);
    free (said);
    cr_expect_eq (s_promtool (sched, &said), 0, "scheduler: %s", said);
    free (said);
    cr_expect_eq (s_promtool (exec, &said), 0, "executor: %s", said);
    free (said);
    free (agg);
    free (sched);
    free (exec);

    //  A real Prometheus server (Debian's) scrapes the three, with the
    //  shipped rules loaded, and answers a quantile of the ticks' lateness
    int prom_port = norc_test_free_port ();
    char *dir = norc_asprintf ("%s/prometheus", s_sys->dir);
    char *config = norc_asprintf (
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "rule_files:\n  - %s/deploy/prometheus/norc-rules.yml\n"
        "scrape_configs:\n"
        "  - job_name: norc-aggregator\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
        "  - job_name: norc-scheduler\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
        "  - job_name: norc-executor\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n",
        NORC_SOURCE_DIR, agg_port, sched_port, exec_port);
    char *path = norc_asprintf ("%s.yml", dir);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fputs (config, file);
    fclose (file);
    char *flag_config = norc_asprintf ("--config.file=%s", path);
    char *flag_data = norc_asprintf ("--storage.tsdb.path=%s", dir);
    char *flag_web = norc_asprintf ("--web.listen-address=127.0.0.1:%d", prom_port);
    pid_t prom = fork ();
    cr_assert (prom >= 0);
    if (prom == 0) {
        int null = open ("/dev/null", O_WRONLY);
        dup2 (null, 1);
        dup2 (null, 2);
        execlp ("prometheus", "prometheus", flag_config, flag_data, flag_web, (char *) NULL);
        _exit (127);
    }
    //  Every target up, then the quantile
    char *query = norc_asprintf ("curl -sfG http://127.0.0.1:%d/api/v1/query --data-urlencode "
                                 "'query=count(up == 1)'", prom_port);
    bool up = false;
    for (int i = 0; i < 150 && !up; i++) {
        char *answer = s_run (query);
        up = strstr (answer, "\"3\"]") != NULL;
        free (answer);
        if (!up)
            usleep (200000);
    }
    cr_expect (up, "Prometheus scrapes the aggregator, the scheduler and the executor");
    free (query);
    query = norc_asprintf ("curl -sfG http://127.0.0.1:%d/api/v1/query --data-urlencode "
                           "'query=histogram_quantile(0.5, sum by (le, queue) (norc_tick_lateness_seconds_bucket))'",
                           prom_port);
    char *answer = s_run (query);
    cr_expect_not_null (strstr (answer, "\"queue\":\"Q\""), "%s", answer);
    cr_expect_null (strstr (answer, "NaN"), "%s", answer);
    free (answer);
    free (query);
    query = norc_asprintf ("curl -sf http://127.0.0.1:%d/api/v1/rules", prom_port);
    answer = s_run (query);
    cr_expect_not_null (strstr (answer, "NorcNoSchedulerAlive"), "the shipped rules load: %s", answer);
    free (answer);
    free (query);
    kill (prom, SIGTERM);
    waitpid (prom, NULL, 0);
    free (flag_config);
    free (flag_data);
    free (flag_web);
    free (config);
    free (path);
    free (dir);
}
