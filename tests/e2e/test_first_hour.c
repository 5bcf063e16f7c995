//  End to end: what a new user meets in the first hour. Careless input
//  (a past --at, negative ids, an empty zone, an oversized request) gets a
//  clear answer and writes nothing it should not; a far-past start is one
//  run in the tick ledger, not one row per second.
#include <criterion/criterion.h>
#include <czmq.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_msg.h"
#include "norc_zmq.h"

NORC_TEST_E2E_SUITE (first_hour, 120);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

static int64_t
s_int (const char *sql)
{
    return norc_test_db_int (s_db, sql);
}

//  norcctl with these words; its exit status, stdout and stderr
#define CTL(out, err, ...) norc_test_system_ctl (s_sys, (out), (err), __VA_ARGS__, (const char *) NULL)

//  The value of NAME in the system's environment
static const char *
s_env (const char *name)
{
    return norc_test_system_env (s_sys, name);
}

//  One raw API request to the aggregator, as any client could send it;
//  the reply (caller destroys) or NULL after 5 s.
static norc_msg_t *
s_api (const char *op, const char *key, const char *value)
{
    zsock_t *sock = norc_zmq_connect (ZMQ_DEALER, s_env ("NORC_AGGREGATOR_API"));
    cr_assert_not_null (sock);
    norc_msg_t *reply = norc_test_api_ask (sock, op, key, value, 5000);
    zsock_set_linger (sock, 0);
    zsock_destroy (&sock);
    return reply;
}

Test (first_hour, a_past_at_is_refused_and_a_far_past_start_is_one_run)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    char *out, *err;
    cr_expect_eq (CTL (&out, &err, "run", "T", "--queue", "Q", "--at", "2020-01-01T00:00:00Z"), 2);
    cr_expect_not_null (strstr (err, "is in the past"), "%s", err);
    free (out);
    free (err);
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM schedules"), 0, "nothing was stored");

    //  A schedule that starts in 2020, every second, once: the ~200
    //  million ticks since are one missed run, then the one fire
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "1", "--reps", "1", "--start", "2020-01-01T00:00:00Z");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    norc_test_system_settle (s_sys);
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM ticks"), 1);
    int64_t missed = s_int ("SELECT tick_count FROM ticks");
    int64_t expected = s_int ("SELECT TIMESTAMPDIFF(SECOND, '2020-01-01', i.nominal) FROM instances i");
    cr_expect_eq (missed, expected, "every second from 2020 to the fire is counted: %lld, %lld",
                  (long long) missed, (long long) expected);
    cr_assert_eq (CTL (&out, &err, "schedule", "history", "1"), 0, "%s", err);
    char count [32];
    snprintf (count, sizeof count, "%lld", (long long) missed);
    cr_expect_not_null (strstr (out, count), "the run's size is shown: %s", out);
    cr_expect_not_null (strstr (out, "2020-01-01 00:00:00"), "%s", out);
    cr_expect (strlen (out) < 2000, "two lines of history, not millions: %zu bytes", strlen (out));
    free (out);
    free (err);
}

Test (first_hour, paused_ticks_extend_one_row)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "1");
    OK ("schedule", "pause", "1");
    norc_test_db_wait_count (s_db, "SELECT COALESCE(SUM(tick_count), 0) >= 4 FROM ticks "
                             "WHERE reason = 'paused'", 1, 15000);
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM ticks WHERE reason = 'paused'"), 1,
                  "consecutive paused ticks are one row");
}

Test (first_hour, ids_must_be_positive_numbers)
{
    char *out, *err;
    const char *bad [] = { "-5", "0", "12abc", "18446744073709551611", " 7" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        cr_expect_eq (CTL (&out, &err, "logs", bad [i]), 2, "logs %s", bad [i]);
        cr_expect_not_null (strstr (err, "is not an"), "%s", err);
        cr_expect_null (strstr (out, "18446744073709551611"), "%s", out);
        free (out);
        free (err);
        cr_expect_eq (CTL (&out, &err, "instance", "show", bad [i]), 2, "instance show %s", bad [i]);
        free (out);
        free (err);
        cr_expect_eq (CTL (&out, &err, "schedule", "rm", bad [i]), 2, "schedule rm %s", bad [i]);
        free (out);
        free (err);
    }
    //  The aggregator refuses them too, whoever sends them
    const char *ops [] = { "instance.show", "schedule.show", "daemon.show" };
    for (size_t i = 0; i < 3; i++) {
        norc_msg_t *reply = s_api (ops [i], "id", "-5");
        cr_assert_not_null (reply, "%s answered", ops [i]);
        cr_expect_eq (reply->api_reply.code, NORC_ERROR);
        cr_expect_not_null (strstr (reply->api_reply.error, "\"-5\" is not a"), "%s", reply->api_reply.error);
        norc_msg_destroy (&reply);
    }
}

Test (first_hour, an_empty_zone_is_refused)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    char *out, *err;
    cr_expect_eq (CTL (&out, &err, "schedule", "add", "T", "--queue", "Q", "--cron", "0 0 * * *", "--tz", ""), 1);
    cr_expect_not_null (strstr (err, "empty time zone"), "%s", err);
    free (out);
    free (err);
    cr_expect_eq (CTL (&out, &err, "schedule", "add", "T", "--queue", "Q", "--cron", "not a cron"), 1);
    cr_expect_not_null (strstr (err, "\"not\" is not a cron field"), "%s", err);
    free (out);
    free (err);
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM schedules"), 0);
}

Test (first_hour, long_commands_get_an_answer_and_a_file_carries_them)
{
    //  A request the aggregator cannot read gets an error reply naming
    //  the limit (it used to be dropped, and the client waited)
    char *big = (char *) norc_malloc (70001);
    memset (big, 'x', 70000);
    big [70000] = 0;
    norc_msg_t *reply = s_api ("task.add", "command", big);
    cr_assert_not_null (reply, "the oversized request was answered");
    cr_expect_eq (reply->api_reply.request_id, 4242);
    cr_expect_eq (reply->api_reply.code, NORC_ERROR);
    cr_expect_not_null (strstr (reply->api_reply.error, "65536"), "%s", reply->api_reply.error);
    norc_msg_destroy (&reply);
    //  norcctl checks the limit before sending
    char *out, *err;
    norc_us_t t0 = norc_mono_us ();
    cr_expect_eq (CTL (&out, &err, "task", "add", "Big", "--command", big), 1);
    cr_expect_not_null (strstr (err, "over the limit of 65535"), "%s", err);
    cr_expect_lt (norc_mono_us () - t0, 3 * NORC_US_PER_SEC, "at once, not after a timeout");
    free (out);
    free (err);
    //  --command-file: up to the limit, from a file or standard input
    char *path = norc_asprintf ("%s/command.sh", s_sys->dir);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fprintf (file, "true ");
    for (int i = 0; i < 6000; i++)
        fprintf (file, "%09d ", i);
    fprintf (file, "\necho long done\n");
    fclose (file);
    OK ("task", "add", "Long", "--command-file", path);
    cr_expect_eq (s_int ("SELECT LENGTH(command) FROM tasks WHERE name = 'Long'"), 5 + 60000 + 16);
    char *ctl = norc_test_bin ("norcctl");
    char *script = norc_asprintf ("printf 'echo from stdin' | %s task add Piped --command-file -", ctl);
    const char *argv [] = { "/bin/sh", "-c", script, NULL };
    cr_expect_eq (norc_test_run (argv, (const char *const *) s_sys->env, &out, &err), 0, "%s", err);
    free (out);
    free (err);
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM tasks WHERE name = 'Piped' AND command = 'echo from stdin'"), 1);
    OK ("queue", "add", "Q");
    const char *args [] = { "Q", "-c", "1", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "Long", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    free (script);
    free (ctl);
    free (path);
    free (big);
}

//  A run on a queue no executor serves says so; the status header names
//  its window, and live daemons are listed whatever the window.
Test (first_hour, run_warns_without_an_executor_and_status_names_its_window)
{
    OK ("queue", "add", "Nightly");
    OK ("queue", "add", "Other");
    OK ("group", "add", "Everything", "Nightly:1", "Other:2");
    OK ("task", "add", "T", "--command", "true");
    char *out, *err;
    cr_assert_eq (CTL (&out, &err, "run", "T", "--queue", "Nightly"), 0, "%s", err);
    cr_expect_not_null (strstr (err, "warning: no live executor serves queue Nightly"), "%s", err);
    cr_expect_not_null (strstr (out, "instance 1 of T created"), "%s", out);
    free (out);
    free (err);
    //  An executor on a group that holds the queue serves it
    const char *args [] = { "Everything", "-c", "1", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    cr_assert_eq (CTL (&out, &err, "run", "T", "--queue", "Nightly"), 0, "%s", err);
    cr_expect_null (strstr (err, "warning"), "%s", err);
    free (out);
    free (err);
    //  An executor that started long ago is live: listed in a short window
    norc_test_db_exec (s_db, "UPDATE daemons SET started_at = UTC_TIMESTAMP(6) - INTERVAL 2 DAY WHERE kind = 2");
    cr_assert_eq (CTL (&out, &err, "status", "executors", "--since", "10m"), 0, "%s", err);
    cr_expect_not_null (strstr (out, "live daemons and those ended in the last 10m; instances: of the last 10m"),
                        "%s", out);
    cr_expect_not_null (strstr (out, "Everything"), "the live executor is listed: %s", out);
    free (out);
    free (err);
    cr_assert_eq (CTL (&out, &err, "status"), 0, "%s", err);
    cr_expect_not_null (strstr (out, "live daemons and those ended in the last 10m; instances: all"), "%s", out);
    free (out);
    free (err);
}

//  instance.started and instance.ended name the schedule, nominal time,
//  attempt, task, queue and executor host, as docs/events.md says.
Test (first_hour, instance_events_carry_what_a_client_needs)
{
    zsock_t *sub = norc_zmq_connect (ZMQ_SUB, s_env ("NORC_AGGREGATOR_STREAM"));
    cr_assert_not_null (sub);
    zsock_set_subscribe (sub, "instance.");
    usleep (300000);            //  the subscription reaches the publisher
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    const char *args [] = { "Q", "-c", "1", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "1", "--reps", "1");
    char host [256] = "";
    gethostname (host, sizeof host);
    bool started = false, ended = false;
    norc_us_t deadline = norc_mono_us () + 15 * NORC_US_PER_SEC;
    while (!(started && ended) && norc_mono_us () < deadline) {
        if (norc_zmq_wait (sub, 500) != NORC_OK)
            continue;
        norc_msg_t *msg = norc_msg_recv (sub);
        if (!msg || msg->id != NORC_MSG_EVENT) {
            norc_msg_destroy (&msg);
            continue;
        }
        norc_event_t *e = &msg->event;
        bool is_start = strcmp (e->topic, "instance.started") == 0;
        bool is_end = strcmp (e->topic, "instance.ended") == 0;
        if (is_start || is_end) {
            cr_expect_eq (e->schedule_id, 1, "%s", e->topic);
            cr_expect_neq (e->nominal_us, 0, "%s", e->topic);
            cr_expect_eq (e->attempt, 1, "%s", e->topic);
            cr_expect_str_eq (e->task ? e->task : "", "T", "%s", e->topic);
            cr_expect_str_eq (e->queue ? e->queue : "", "Q", "%s", e->topic);
            cr_expect_str_eq (e->host ? e->host : "", host, "%s", e->topic);
            cr_expect_neq (e->daemon_id, 0, "%s", e->topic);
            started |= is_start;
            ended |= is_end;
        }
        if (is_end)
            cr_expect_eq (e->status, NORC_ST_SUCCESS);
        norc_msg_destroy (&msg);
    }
    cr_expect (started && ended, "both events came");
    zsock_destroy (&sub);
}

//  Nothing checks yet who connects to an endpoint: one that other hosts
//  could reach is refused at start, with the reason and the way out,
//  unless the operator says so; then the service says it is insecure.
Test (first_hour, an_endpoint_others_could_reach_is_refused_unless_the_operator_insists)
{
    char *bin = norc_test_bin ("norc-archiver");
    char *logs = norc_asprintf ("--archiver.logs=ipc://%s/logs-2.ipc", s_sys->dir);
    const char *argv [] = { bin, logs, "--archiver.fetch", "tcp://0.0.0.0:*", NULL };
    char *out = NULL, *err = NULL;
    int rc = norc_test_run (argv, (const char *const *) s_sys->env, &out, &err);
    cr_expect_neq (rc, 0, "it does not start");
    cr_expect_not_null (strstr (err, "refusing to bind tcp://0.0.0.0:* (archiver.fetch)"), "%s", err);
    cr_expect_not_null (strstr (err, "reachable from other hosts"), "%s", err);
    cr_expect_not_null (strstr (err, "NORC_SECURITY_INSECURE=1"), "the way out: %s", err);
    free (out);
    free (err);
    //  Insisted on: it runs, and says what it is
    const char *args [] = { logs, "--archiver.fetch", "tcp://0.0.0.0:*", "--security.insecure", "true", NULL };
    norc_test_system_start (s_sys, "norc-archiver", args);
    char *log = norc_asprintf ("grep -q 'INSECURE (security.insecure is set): tcp://0.0.0.0:\\* is reachable' "
                               "%s/norc-archiver-%d.log", s_sys->dir, s_sys->count - 1);
    bool said = false;
    for (int i = 0; i < 100 && !said; i++) {
        said = system (log) == 0;
        if (!said)
            usleep (50000);
    }
    cr_expect (said, "it says it is insecure (see %s)", s_sys->dir);
    cr_expect (kill (norc_test_system_pid (s_sys, "norc-archiver"), 0) == 0, "it runs");
    free (log);
    free (logs);
    free (bin);
}

//  Commands that come from the schema alone, with the generic handler:
//  whoami and daemon show print a record, and --json types it
Test (first_hour, whoami_and_daemon_show_print_a_record)
{
    char *out = NULL, *err = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "whoami", (const char *) NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "kind"), "%s", out);
    free (out);
    free (err);
    int64_t id = norc_test_db_int (s_db, "SELECT MIN(id) FROM daemons WHERE kind = 1");
    char text [32];
    snprintf (text, sizeof text, "%lld", (long long) id);
    out = err = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "daemon", "show", text, (const char *) NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "scheduler"), "%s", out);
    cr_expect_not_null (strstr (out, "RUNNING"), "the status by its name: %s", out);
    free (out);
    free (err);
    out = err = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "daemon", "show", text, "--json", (const char *) NULL), 0,
                  "%s", err);
    char expect [64];
    snprintf (expect, sizeof expect, "\"id\": %lld", (long long) id);
    cr_expect_not_null (strstr (out, expect), "an id is a number: %s", out);
    free (out);
    free (err);
    //  A word that is not an id: a usage error, nothing asked
    out = err = NULL;
    cr_expect_eq (norc_test_system_ctl (s_sys, &out, &err, "daemon", "show", "four", (const char *) NULL), 2);
    cr_expect_not_null (strstr (err, "is not an id"), "%s", err);
    free (out);
    free (err);
}
