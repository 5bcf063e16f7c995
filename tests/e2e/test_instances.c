//  End to end: acting on one instance with norcctl: kill (waiting or
//  running), handle (a failure), rerun.
#include <criterion/criterion.h>
#include <signal.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"
#include "norc_zmq.h"

NORC_TEST_E2E_SUITE (instances, 120);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

static void
s_wait (const char *sql, int64_t want)
{
    norc_test_db_wait_count (s_db, sql, want, 10000);
}

//  norcctl expecting failure, with this text on stderr.
static void
s_refused (const char *expect, const char *a1, const char *a2, const char *a3)
{
    char *out, *err;
    int rc = norc_test_system_ctl (s_sys, &out, &err, a1, a2, a3, (const char *) NULL);
    cr_expect_eq (rc, 1, "%s %s %s: rc %d", a1, a2, a3, rc);
    cr_expect_not_null (strstr (err, expect), "%s", err);
    free (out);
    free (err);
}

Test (instances, kill_before_and_while_running)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Long", "--command", "echo going; sleep 30");
    //  No executor yet: it waits, and is killed before it starts
    OK ("run", "Long", "--queue", "Q");
    OK ("instance", "kill", "1");
    s_wait ("SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 9 AND reason LIKE 'killed on request by %'", 1);
    //  Running: its executor stops it; the executor goes on
    const char *args [] = { "Q", "-c", "1", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "Long", "--queue", "Q");
    s_wait ("SELECT COUNT(*) FROM instances WHERE id = 2 AND status = 2", 1);
    OK ("instance", "kill", "#2");
    s_wait ("SELECT COUNT(*) FROM instances WHERE id = 2 AND status = 9", 1);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE id = 2 "
                                          "AND reason LIKE 'killed on request by %'"), 1);
    cr_expect (norc_test_process_gone ("sleep 30$", 2000), "the task's processes are gone");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT status FROM daemons WHERE kind = 2"), 2, "the executor runs on");
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "logs", "2", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "Killed on request by"), "%s", out);
    cr_expect_not_null (strstr (out, "Task ended with status KILLED"), "%s", out);
    free (out);
    free (err);
    s_refused ("has already ended (KILLED)", "instance", "kill", "2");
    s_refused ("unknown instance 99", "instance", "kill", "99");
}

Test (instances, a_timed_out_runs_whole_group_is_stopped)
{
    //  A member of the group that ignores SIGTERM (ignored dispositions
    //  survive exec) outlives the leader's SIGTERM: it is killed once the
    //  leader is gone, not left running
    OK ("queue", "add", "Q");
    OK ("task", "add", "Slow", "--command", "(trap '' TERM; exec sleep 33) & exec sleep 32", "--timeout", "1");
    const char *args [] = { "Q", "-c", "1", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "Slow", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_RUNNING, 1, 10000);
    cr_assert (norc_test_process_seen ("^sleep 33$", 5000), "the member started");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_TIMEDOUT, 1, 10000);
    cr_expect (norc_test_process_gone ("^sleep 32$", 2000), "the leader is gone");
    cr_expect (norc_test_process_gone ("^sleep 33$", 2000), "the member that ignores SIGTERM is gone");
}

Test (instances, handle_a_failure_and_rerun_it)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Fails", "--command", "echo trying; exit 3");
    OK ("task", "add", "Works", "--command", "true");
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "Fails", "--queue", "Q");
    OK ("run", "Works", "--queue", "Q");
    s_wait ("SELECT COUNT(*) FROM instances WHERE status >= 7", 2);
    s_refused ("is SUCCESS, not a failure", "instance", "handle", "2");
    OK ("instance", "handle", "1");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 12 "
                                          "AND handled_by LIKE '%@%' AND handled_at IS NOT NULL"), 1);
    s_refused ("is HANDLED, not a failure", "instance", "handle", "1");
    //  Rerun: a new instance of the same task on the same queue
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "instance", "rerun", "1", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "instance 3 created to rerun 1"), "%s", out);
    free (out);
    free (err);
    s_wait ("SELECT COUNT(*) FROM instances WHERE id = 3 AND status = 13 AND exit_code = 3", 1);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances a JOIN instances b "
                                          "ON a.task_id = b.task_id AND a.queue_id = b.queue_id "
                                          "WHERE a.id = 1 AND b.id = 3"), 1);
}

Test (instances, run_once_at_a_given_time)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Works", "--command", "true");
    const char *args [] = { "Q", "-c", "1", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    //  Two seconds from now, to the second
    char at [64];
    norc_time_iso ((norc_now_us () / NORC_US_PER_SEC + 2) * NORC_US_PER_SEC, at, sizeof at);
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "run", "Works", "--queue", "Q", "--at", at, NULL), 0,
                  "%s", err);
    cr_expect_not_null (strstr (out, "will run once"), "%s", out);
    free (out);
    free (err);
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_TEST_ANY_STATUS), 0, "nothing yet");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    char *sql = norc_asprintf ("SELECT COUNT(*) FROM instances WHERE nominal = '%.10s %.15s' "
                               "AND started_at >= nominal AND schedule_id IS NOT NULL", at, at + 11);
    cr_expect_eq (norc_test_db_int (s_db, sql), 1, "ran at %s, once", at);
    free (sql);
    norc_test_system_settle (s_sys);
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_TEST_ANY_STATUS), 1, "once only");
    cr_expect_neq (norc_test_system_ctl (s_sys, NULL, NULL, "run", "Works", "--queue", "Q", "--at", "tomorrowish",
                                        NULL), 0, "a bad time is refused");
}

Test (instances, retries_with_backoff_each_attempt_its_own_instance)
{
    OK ("queue", "add", "Q");
    char *marker = norc_asprintf ("%s/flaky.marker", s_sys->dir);
    char *flaky = norc_asprintf ("test -f %s && echo second && exit 0; touch %s; echo first; exit 1", marker, marker);
    OK ("task", "add", "Flaky", "--command", flaky, "--retries", "2", "--retry-backoff", "1");
    OK ("task", "add", "Broken", "--command", "exit 4", "--retries", "2", "--retry-backoff", "1", "--retry-cap", "1");
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    //  Fails once, then succeeds on the second attempt, after the backoff
    OK ("run", "Flaky", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 30000);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances a JOIN instances b ON b.retry_of = a.id "
                                          "WHERE a.status = 13 AND a.attempt = 1 AND b.status = 7 AND b.attempt = 2 "
                                          "AND b.trigger_kind = 4 AND b.started_at >= a.ended_at + INTERVAL 1 SECOND"),
                  1, "attempt 2 retried attempt 1 after its backoff");
    //  A scheduled tick that always fails: attempts 1..3 on the same tick key, then no more
    OK ("schedule", "add", "Broken", "--queue", "Q", "--period", "60", "--reps", "1");
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE schedule_id = 1 AND status = 13", 3, 30000);
    usleep (2500000);           //  past a fourth attempt's backoff (1 s), which must not come
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE schedule_id = 1"), 3,
                  "retries stop after the last attempt");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(DISTINCT nominal) * 10 + MAX(attempt) FROM instances "
                                          "WHERE schedule_id = 1"), 13, "one tick, attempts 1 to 3");
    free (flaky);
    free (marker);
}

Test (instances, a_lost_executors_instance_is_retried_elsewhere)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Slow", "--command", "sleep 3; echo ok", "--retries", "1", "--retry-backoff", "1");
    const char *args [] = { "Q", "-c", "1", NULL };
    pid_t first = norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_RUNNING, 1, 10000);
    OK ("run", "Slow", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_RUNNING, 1, 10000);
    norc_test_system_signal (s_sys, first, SIGKILL);
    //  Another executor on another spool: the retry runs there
    char *spool = norc_asprintf ("%s/spool2", s_sys->dir);
    const char *args2 [] = { "Q", "-c", "1", "--spool.dir", spool, NULL };
    norc_test_system_start (s_sys, "norc-executor", args2);
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE status = 7 AND attempt = 2", 1, 20000);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 14 "
                                          "AND reason LIKE 'executor lost%'"), 1);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances a JOIN instances b "
                                          "ON b.retry_of = a.id AND b.executor_id <> a.executor_id WHERE a.id = 1"), 1);
    free (spool);
    norc_test_process_kill ("^sleep 3$", SIGKILL);
}

Test (instances, the_revision_hook_is_recorded_on_each_instance)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "echo run");
    const char *args [] = { "Q", "-c", "1", "--executor.revision_command", "echo rev-42; echo ignored", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "T", "--queue", "Q");
    OK ("run", "T", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 2, 10000);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances i JOIN revisions r ON r.id = i.revision_id "
                                          "WHERE r.info = 'rev-42'"), 2);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM revisions"), 1, "one row per revision");
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "instance", "show", "1", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "rev-42"), "%s", out);
    free (out);
    free (err);
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "logs", "1", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "INFO: Revision: rev-42"), "%s", out);
    free (out);
    free (err);
}

//  A hook that hangs (after its first answer) holds nothing up: it is asked
//  beside the executor's loop, and instances go on starting (with no
//  revision once it was given up after 5 s)
Test (instances, a_slow_revision_hook_does_not_hold_the_executor_up)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    char *flag = norc_asprintf ("%s/hook-asked", s_sys->dir);
    char *hook = norc_asprintf ("if [ -e %s ]; then exec sleep 30; fi; touch %s; echo rev-1", flag, flag);
    const char *args [] = { "Q", "-c", "2", "--executor.revision_command", hook, "--executor.revision_every_s", "1",
                            NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "1");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 8, 10000);
    //  One start a second all along: no gap of the hook's 5 s
    int64_t gap = norc_test_db_int (s_db, "SELECT MAX(TIMESTAMPDIFF(MICROSECOND, a.started_at, b.started_at)) "
                                          "FROM instances a JOIN instances b ON b.id = a.id + 1 "
                                          "WHERE a.id <= 7");
    cr_expect_lt (gap, 2500000, "the longest gap between two starts is %lld us", (long long) gap);
    cr_expect_geq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances i JOIN revisions r ON "
                                           "r.id = i.revision_id WHERE r.info = 'rev-1'"), 1,
                   "the first answer was recorded");
    norc_test_process_kill ("^sleep 30$", SIGKILL);
    free (hook);
    free (flag);
}

//  A task is given none of what its executor holds: no endpoint, no
//  database credentials, nothing of Norc's own settings; only what Norc
//  tells it about its run.
Test (instances, a_task_sees_none_of_its_executors_settings)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Env", "--command", "env");
    const char *args [] = { "Q", "-c", "1", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "Env", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    cr_assert (norc_test_log_has (s_sys, 1, "NORC_INSTANCE_ID=1\n", 5000), "the task printed its environment");
    char *path = norc_asprintf ("%s/logs/instances/0/1", s_sys->dir);
    FILE *file = fopen (path, "r");
    cr_assert_not_null (file, "%s", path);
    char *text = NULL;
    size_t size = 0;
    cr_assert_gt (getdelim (&text, &size, '\0', file), 0);
    fclose (file);
    cr_expect_null (strstr (text, "NORC_DB_URL"), "%s", text);
    cr_expect_null (strstr (text, "NORC_AGGREGATOR_"), "%s", text);
    cr_expect_null (strstr (text, "NORC_SPOOL_DIR"), "%s", text);
    free (text);
    free (path);
}

//  executor.run_as: tasks run as another user, with its home and name; an
//  executor told to use a user the host does not have does not start.
Test (instances, tasks_run_as_the_user_the_executor_is_told)
{
    char *bin = norc_test_bin ("norc-executor");
    const char *bad [] = { bin, "Q", "--executor.run_as", "no-such-user-norc", NULL };
    char *out = NULL, *err = NULL;
    cr_expect_neq (norc_test_run (bad, (const char *const *) s_sys->env, &out, &err), 0);
    cr_expect_not_null (strstr (err, "executor.run_as: no user \"no-such-user-norc\""), "%s", err);
    free (out);
    free (err);
    free (bin);
    if (geteuid () != 0)
        cr_skip_test ("switching users needs root");
    OK ("queue", "add", "Q");
    OK ("task", "add", "Who", "--command", "echo \"who=$(id -un) home=$HOME user=$USER\"");
    const char *args [] = { "Q", "-c", "1", "--executor.run_as", "nobody", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "Who", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    cr_expect (norc_test_log_has (s_sys, 1, "who=nobody home=/nonexistent user=nobody", 5000),
               "the task ran as nobody (see %s)", s_sys->dir);
}

//  An instance handed again to the executor that ran it, the record not
//  holding its end (an end reported under an id since recorded dead is
//  not taken; here the record is set back by hand, and the instance given
//  back as a bridge gives one back): the executor never runs it twice, and
//  reports again how the one run ended, so the record ends it as it did
Test (instances, an_instance_handed_again_after_it_ran_gets_its_end_again)
{
    OK ("queue", "add", "Q");
    char *runs = norc_asprintf ("%s/runs", s_sys->dir);
    char *command = norc_asprintf ("echo $NORC_INSTANCE_ID >> %s", runs);
    OK ("task", "add", "Mark", "--command", command);
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "Mark", "--queue", "Q");
    s_wait ("SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 7", 1);
    norc_test_db_exec (s_db, "UPDATE instances SET status = 1, started_at = NULL, ended_at = NULL, exit_code = NULL "
                             "WHERE id = 1");
    char *exec = norc_asprintf ("%lld", (long long) norc_test_db_int (s_db, "SELECT executor_id FROM instances"));
    char *endpoint = norc_asprintf ("ipc://%s/api.ipc", s_sys->dir);
    zsock_t *api = norc_zmq_connect (ZMQ_DEALER, endpoint);
    norc_msg_t *msg = norc_msg_new (NORC_MSG_API_REQUEST);
    msg->api_request.request_id = 1;
    msg->api_request.op = norc_strdup ("sqs.release");
    norc_strmap_set (&msg->api_request.args, "instance", "1");
    norc_strmap_set (&msg->api_request.args, "executor", exec);
    norc_msg_send (&msg, api);
    cr_assert_eq (norc_zmq_wait (api, 5000), NORC_OK);
    norc_msg_t *reply = norc_msg_recv (api);
    cr_assert (reply && reply->id == NORC_MSG_API_REPLY && reply->api_reply.code == 0, "%s",
               reply && reply->api_reply.error ? reply->api_reply.error : "no answer");
    norc_msg_destroy (&reply);
    zsock_destroy (&api);
    s_wait ("SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 7 AND started_at IS NOT NULL", 1);
    norc_test_system_settle (s_sys);
    FILE *file = fopen (runs, "r");
    cr_assert_not_null (file);
    int lines = 0;
    for (int c; (c = fgetc (file)) != EOF; )
        lines += c == '\n';
    fclose (file);
    cr_expect_eq (lines, 1, "it ran once");
    free (endpoint);
    free (exec);
    free (command);
    free (runs);
}
