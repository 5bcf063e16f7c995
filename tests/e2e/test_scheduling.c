//  End to end: catch-up, pause, invalid schedules, restarts of the
//  scheduler and of the log-archiver, with the real binaries.
#include <criterion/criterion.h>
#include <signal.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"

NORC_TEST_E2E_SUITE (scheduling, 120);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

static void
s_wait (const char *sql, int64_t want, int timeout_ms)
{
    norc_test_db_wait_count (s_db, sql, want, timeout_ms);
}

static void
s_define (void)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "echo ran");
    const char *args [] = { "Q", "-c", "4", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
}

Test (scheduling, make_up_replays_missed_ticks_and_none_records_them)
{
    s_define ();
    //  Started 5 s ago, every second, 5 repetitions, made up: all 5 run now
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "1", "--reps", "5", "--start", "-5", "--make-up");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 5, 10000);
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_TEST_ANY_STATUS), 5);
    //  Without make-up: the missed ticks are recorded as missed, not run
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "1", "--reps", "3", "--start", "-5");
    s_wait ("SELECT COALESCE(SUM(tick_count), 0) FROM ticks WHERE schedule_id = 2 AND outcome = 3", 4, 10000);
    s_wait ("SELECT COUNT(*) FROM instances WHERE schedule_id = 2 AND status = 7", 3, 10000);
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "schedule", "history", "2", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "missed"), "%s", out);
    cr_expect_not_null (strstr (out, "fired"), "%s", out);
    free (out);
    free (err);
}

Test (scheduling, pause_skips_ticks_and_resume_fires_again)
{
    s_define ();
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "1");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 2, 10000);
    OK ("schedule", "pause", "1");
    s_wait ("SELECT COALESCE(SUM(tick_count), 0) FROM ticks WHERE outcome = 2 AND reason = 'paused'", 2, 10000);
    int64_t before = norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_TEST_ANY_STATUS);
    usleep (1500000);           //  a tick of the one-second schedule that must not fire
    cr_expect_leq (norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_TEST_ANY_STATUS), before + 1,
                  "nothing fires while paused (one tick may have been in flight)");
    OK ("schedule", "resume", "1");
    int64_t after = norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_TEST_ANY_STATUS);
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, after + 2, 10000);
    OK ("schedule", "rm", "1");
    norc_test_system_settle (s_sys);    //  the scheduler has let it go
    int64_t final = norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_TEST_ANY_STATUS);
    usleep (1500000);           //  a tick of the deleted schedule, which must not come
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_TEST_ANY_STATUS), final, "deleted: no more fires");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances i JOIN ticks k ON "
                                          "k.schedule_id = i.schedule_id AND i.nominal BETWEEN k.nominal AND k.last_nominal"), 0,
                  "no tick both fired and skipped");
}

Test (scheduling, an_invalid_schedule_is_soft_deleted_with_its_reason)
{
    s_define ();
    OK ("schedule", "add", "T", "--queue", "Q", "--cron", "* * * * * *");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_TEST_ANY_STATUS, 1, 10000);
    //  Someone writes garbage into the row behind Norc's back
    //  (and its shard is left free: the scheduler claims it again and reads the row)
    norc_test_db_exec (s_db, "UPDATE schedules SET cron_expr = 'gibberish'");
    norc_test_db_exec (s_db, "UPDATE schedule_shards SET owner = NULL");
    s_wait ("SELECT COUNT(*) FROM schedules WHERE deleted_at IS NOT NULL "
            "AND deleted_reason LIKE 'invalid: %'", 1, 10000);
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "schedule", "list", "--all", NULL), 0);
    free (out);
    free (err);
    //  The scheduler is still serving
    OK ("run", "T", "--queue", "Q");
    s_wait ("SELECT COUNT(*) FROM instances WHERE trigger_kind = 2 AND status = 7", 1, 10000);
}

Test (scheduling, waiting_instances_survive_a_scheduler_restart)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "echo ran");
    for (int i = 0; i < 3; i++)
        OK ("run", "T", "--queue", "Q");
    //  The scheduler (third service started) stops and comes back
    norc_test_system_signal (s_sys, norc_test_system_pid (s_sys, "norc-scheduler"), SIGTERM);
    norc_test_system_start (s_sys, "norc-scheduler", NULL);
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 3, 15000);
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_TEST_ANY_STATUS), 3);
}

//  The log's text, once it holds `until` (10 s at most)
static char *
s_log_text (int64_t id, const char *until)
{
    char idtext [32];
    snprintf (idtext, sizeof idtext, "%lld", (long long) id);
    char *out = NULL, *err = NULL;
    for (int i = 0; i < 100; i++) {
        free (out);
        free (err);
        norc_test_system_ctl (s_sys, &out, &err, "logs", idtext, NULL);
        if (strstr (out, until))
            break;
        usleep (100000);
    }
    free (err);
    return out;
}

Test (scheduling, a_log_the_archiver_has_not_taken_goes_to_disk_and_outlives_its_executor)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "echo kept on disk");
    const char *args [] = { "Q", "-c", "1", NULL };
    pid_t executor = norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_system_signal (s_sys, norc_test_system_pid (s_sys, "norc-archiver"), SIGKILL);
    OK ("run", "T", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    int64_t id = norc_test_db_int (s_db, "SELECT id FROM instances");
    //  A short log is held in memory at first; unacknowledged for a
    //  heartbeat period, it is written to the executor's spool
    char *cmd = norc_asprintf ("grep -qs 'kept on disk' %s/spool/slot-*/%lld.log", s_sys->dir, (long long) id);
    bool spooled = false;
    for (int i = 0; i < 100 && !spooled; i++) {
        spooled = system (cmd) == 0;
        if (!spooled)
            usleep (100000);
    }
    free (cmd);
    cr_assert (spooled, "the log is in the spool");
    //  Its executor dies; the next one adopts the spool and, with the
    //  archiver back, the log arrives whole
    norc_test_system_signal (s_sys, executor, SIGKILL);
    norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_system_start (s_sys, "norc-archiver", NULL);
    char *out = s_log_text (id, "Task ended with status SUCCESS");
    cr_expect_not_null (strstr (out, "INFO: Starting instance #"), "%s", out);
    cr_expect_not_null (strstr (out, "INFO: $ echo kept on disk\nkept on disk\n"), "%s", out);
    cr_expect_not_null (strstr (out, "Task ended with status SUCCESS (exit code 0)."), "%s", out);
    free (out);
}

Test (scheduling, output_is_kept_while_the_archiver_is_away)
{
    s_define ();
    norc_test_system_signal (s_sys, norc_test_system_pid (s_sys, "norc-archiver"), SIGKILL);
    OK ("task", "add", "Chatty", "--command", "seq 1 20000");
    OK ("run", "Chatty", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    norc_test_system_start (s_sys, "norc-archiver", NULL);
    int64_t id = norc_test_db_int (s_db, "SELECT id FROM instances");
    char *out = s_log_text (id, "Task ended with status SUCCESS");
    cr_expect_not_null (strstr (out, "\n1\n2\n3\n"), "the output from its start");
    cr_expect_not_null (strstr (out, "\n19999\n20000\n"), "to its end");
    cr_expect_not_null (strstr (out, "Task ended with status SUCCESS (exit code 0)."));
    free (out);
}
