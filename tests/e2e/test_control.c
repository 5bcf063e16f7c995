//  End to end: control requests to executors and schedulers through
//  norcctl, with --wait, host-wide, refusals, and handling a dead daemon.
#include <criterion/criterion.h>
#include <signal.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"

NORC_TEST_E2E_SUITE (control, 120);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

static void
s_wait (const char *sql, int64_t want, int timeout_ms)
{
    norc_test_db_wait_count (s_db, sql, want, timeout_ms);
}

static char *
s_id (const char *sql)
{
    return norc_asprintf ("%lld", (long long) norc_test_db_int (s_db, sql));
}

//  Run norcctl expecting failure with this text on stderr.
static void
s_refused (const char *expect, const char *a1, const char *a2, const char *a3)
{
    char *out, *err;
    int rc = norc_test_system_ctl (s_sys, &out, &err, "control", a1, a2, a3, (const char *) NULL);
    cr_expect_eq (rc, 1, "control %s %s %s: rc %d", a1, a2, a3, rc);
    cr_expect_not_null (strstr (err, expect), "%s", err);
    free (out);
    free (err);
}

Test (control, executor_pause_resume_stop_and_refusals)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "echo ran");
    OK ("task", "add", "Slow", "--command", "sleep 2; echo finished");
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_TEST_ANY_STATUS, 1, 10000);
    char *exec = s_id ("SELECT id FROM daemons WHERE kind = 2");
    norc_test_system_settle (s_sys);
    s_refused ("RELOAD is for schedulers only", "reload", "executor", exec);
    s_refused ("RESUME needs a PAUSED", "resume", "executor", exec);
    s_refused ("unknown daemon 999", "pause", "executor", "999");

    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "control", "pause", "executor", exec, "--wait",
                                        (const char *) NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "was sent a PAUSE request"), "%s", out);
    cr_expect_not_null (strstr (out, "is PAUSED"), "%s", out);
    free (out);
    free (err);
    //  Paused: a run waits
    OK ("run", "T", "--queue", "Q");
    norc_test_system_settle (s_sys);
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_CREATED), 1, "still waiting");
    OK ("control", "resume", "executor", exec, "--wait");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);

    //  STOP drains: the running instance finishes, then the executor ends
    OK ("run", "Slow", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_RUNNING, 1, 10000);
    OK ("control", "stop", "executor", exec, "--wait", "--timeout", "20");
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS), 2,
                  "the running instance finished");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT status FROM daemons WHERE kind = 2"), 8, "ENDED");
    s_refused ("has already ended", "pause", "executor", exec);
    //  ENDED is not an error: nothing to handle
    s_refused ("nothing to handle", "handle", "executor", exec);
    free (exec);
}

Test (control, executor_kill_interrupts_and_a_dead_executor_gets_handled)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Long", "--command", "sleep 30");
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_TEST_ANY_STATUS, 1, 10000);
    char *exec = s_id ("SELECT id FROM daemons WHERE kind = 2");
    OK ("run", "Long", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_RUNNING, 1, 10000);
    OK ("control", "kill", "executor", exec, "--wait", "--timeout", "20");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_INTERRUPTED, 1, 10000);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT status FROM daemons WHERE kind = 2"), 9, "KILLED");
    cr_expect (norc_test_process_gone ("^sleep 30$", 2000), "the task's process is gone");
    free (exec);

    //  An executor killed -9 is marked dead after the threshold, then handled
    pid_t pid = norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_RUNNING, 1, 10000);
    exec = s_id ("SELECT id FROM daemons WHERE kind = 2 AND status = 2");
    s_refused ("alive or not in an error state", "handle", "executor", exec);
    norc_test_system_signal (s_sys, pid, SIGKILL);
    char *sql = norc_asprintf ("SELECT COUNT(*) FROM daemons WHERE id = %s AND status = 14", exec);
    s_wait (sql, 1, 15000);
    free (sql);
    OK ("control", "handle", "executor", exec);
    sql = norc_asprintf ("SELECT status FROM daemons WHERE id = %s", exec);
    cr_expect_eq (norc_test_db_int (s_db, sql), 12, "HANDLED");
    free (sql);
    free (exec);
}

Test (control, scheduler_pause_reload_host_wide_and_stop)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    char *sched = s_id ("SELECT id FROM daemons WHERE kind = 1");
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "1");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    OK ("control", "pause", "scheduler", sched, "--wait");
    int64_t before = norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_TEST_ANY_STATUS);
    usleep (2500000);           //  two ticks of the one-second schedule that must not fire
    cr_expect_leq (norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_TEST_ANY_STATUS), before + 1,
                   "nothing fires while the scheduler is paused");
    OK ("control", "resume", "scheduler", sched, "--wait");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, before + 2, 10000);
    OK ("control", "reload", "scheduler", sched);
    s_wait ("SELECT COUNT(*) FROM control_requests WHERE request = 9 AND state = 3", 1, 10000);
    //  Host-wide: every daemon on this host
    char host [256];
    gethostname (host, sizeof host);
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "control", "pause", "--host", host, "--wait",
                                        (const char *) NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "scheduler"), "%s", out);
    cr_expect_not_null (strstr (out, "executor"), "%s", out);
    free (out);
    free (err);
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_DAEMONS, NORC_ST_PAUSED), 2);
    //  STOP releases the scheduler's schedules at once
    OK ("control", "stop", "scheduler", sched, "--wait");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM schedule_shards h JOIN scheduler_leases l "
                  "ON l.owner = h.owner WHERE l.until >= UTC_TIMESTAMP(6)"), 0, "no schedule held under a live lease");
    free (sched);
}

Test (control, executor_suspends_when_it_cannot_spool_and_resumes)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "echo hello");
    OK ("task", "add", "Long", "--command", "exec sleep 47");
    char *spool = norc_asprintf ("%s/spool-suspend", s_sys->dir);
    const char *args [] = { "Q", "-c", "2", "--spool.dir", spool, NULL };
    pid_t pid = norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_RUNNING, 1, 10000);
    char *exec = s_id ("SELECT id FROM daemons WHERE kind = 2");
    OK ("run", "Long", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_RUNNING, 1, 10000);
    //  The machine takes the spool away: the executor cannot keep output
    char *rm = norc_asprintf ("rm -rf %s", spool);
    cr_assert_eq (system (rm), 0);
    free (rm);
    OK ("run", "T", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_SUSPENDED, 1, 10000);
    //  The instance was given back, not lost
    s_wait ("SELECT COUNT(*) FROM instances WHERE status = 1 AND executor_id IS NULL", 1, 10000);
    norc_test_system_settle (s_sys);
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_CREATED), 1,
                  "suspended: it takes no work");
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "status", "executors", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "SUSPENDED"), "%s", out);
    free (out);
    free (err);
    //  Resumed: the spool is made again and the work runs
    OK ("control", "resume", "executor", exec, "--wait");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    //  The run that went on meanwhile is in the new run table: when this
    //  executor dies, the next one on the spool stops it
    norc_test_system_signal (s_sys, pid, SIGKILL);
    cr_expect (norc_test_process_seen ("^sleep 47$", 0), "the orphaned task still runs");
    norc_test_system_start (s_sys, "norc-executor", args);
    cr_expect (norc_test_process_gone ("^sleep 47$", 10000), "the orphaned task was stopped");
    free (exec);
    free (spool);
}
