//  End to end: per-schedule policies. Concurrency forbid (a tick is skipped
//  and recorded while the previous run is active) and replace (the new run
//  stops the previous one); catch-up latest; a deadline after which a late
//  tick is missed instead of run.
#include <criterion/criterion.h>
#include <time.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"

static norc_test_system_t *s_sys;
static norc_db_t *s_db;

static void
s_setup (void)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    s_sys = norc_test_system_new ();
    norc_test_system_start_core (s_sys);
    s_db = norc_test_system_db (s_sys);
    NORC_TEST_CTL_OK (s_sys, "queue", "add", "Q");
    const char *args [] = { "Q", "-c", "4", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
}

static void
s_teardown (void)
{
    norc_db_destroy (&s_db);
    norc_test_system_destroy (&s_sys);
}

TestSuite (policies, .init = s_setup, .fini = s_teardown, .timeout = 120);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

static void
s_wait (const char *sql, int64_t want, int timeout_ms)
{
    norc_test_db_wait_count (s_db, sql, want, timeout_ms);
}

static int64_t
s_int (const char *sql)
{
    return norc_test_db_int (s_db, sql);
}

Test (policies, forbid_skips_ticks_while_the_previous_run_is_active)
{
    OK ("task", "add", "Slow", "--command", "sleep 2.5");
    OK ("schedule", "add", "Slow", "--queue", "Q", "--period", "1", "--concurrency", "forbid");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 2, 20000);
    OK ("schedule", "pause", "1");
    s_wait ("SELECT COUNT(*) = 0 FROM instances WHERE status < 7", 1, 10000);
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM instances a JOIN instances b ON a.id < b.id "
                         "WHERE b.started_at < a.ended_at"), 0, "no two runs overlap");
    cr_expect_geq (s_int ("SELECT COALESCE(SUM(tick_count), 0) FROM ticks WHERE outcome = 2 "
                          "AND reason = 'forbid: the previous run is still active'"), 2, "the skipped ticks are recorded");
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "schedule", "history", "1", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "forbid"), "%s", out);
    free (out);
    free (err);
}

Test (policies, replace_stops_the_previous_run)
{
    OK ("task", "add", "Endless", "--command", "sleep 30");
    OK ("schedule", "add", "Endless", "--queue", "Q", "--period", "2", "--concurrency", "replace");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_KILLED, 2, 20000);
    OK ("schedule", "pause", "1");
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM instances WHERE status = 9 AND reason LIKE "
                         "'killed on request by the replace policy of schedule 1%'"), s_int ("SELECT COUNT(*) FROM "
                         "instances WHERE status = 9"), "each was replaced, with the reason");
    cr_expect_leq (s_int ("SELECT COUNT(*) FROM instances WHERE status < 7"), 1, "one run at a time, at most");
    //  The last one: killed by hand, so nothing is left running
    char *id = norc_asprintf ("%lld", (long long) s_int ("SELECT MAX(id) FROM instances"));
    OK ("instance", "kill", id);
    free (id);
    s_wait ("SELECT COUNT(*) = 0 FROM instances WHERE status < 7", 1, 10000);
}

//  Instances of schedule `id` whose tick was more than `seconds` before
//  the schedule was added (measured from its creation, not from now: a
//  slow machine may take seconds to get to the check)
static int64_t
s_ran_before_creation (int id, int seconds)
{
    char *sql = norc_asprintf ("SELECT COUNT(*) FROM instances i JOIN schedules s ON s.id = i.schedule_id "
                               "WHERE s.id = %d AND i.nominal < s.created_at - INTERVAL %d SECOND", id, seconds);
    int64_t n = s_int (sql);
    free (sql);
    return n;
}

Test (policies, deadline_and_catchup_latest)
{
    OK ("task", "add", "T", "--command", "true");
    char start [64];
    norc_time_iso (norc_now_us () - 31 * NORC_US_PER_SEC, start, sizeof start);
    //  Replays missed ticks (all), but not those older than 12 s: ticks at
    //  -31, -26, -21, -16 are past the deadline; -11, -6 and -1 run
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "5", "--start", start, "--catchup", "all",
        "--deadline", "12");
    //  Latest: only the most recent of the missed ticks runs
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "5", "--start", start, "--catchup", "latest");
    s_wait ("SELECT COUNT(*) FROM instances WHERE schedule_id = 1 AND status = 7", 3, 10000);
    s_wait ("SELECT COUNT(*) FROM instances WHERE schedule_id = 2 AND status = 7", 1, 10000);
    cr_expect_eq (s_int ("SELECT COALESCE(SUM(tick_count), 0) FROM ticks WHERE schedule_id = 1 AND reason = 'past its deadline'"), 4);
    cr_expect_eq (s_ran_before_creation (1, 13), 0, "nothing past its deadline ran");
    cr_expect_eq (s_ran_before_creation (2, 5), 0, "latest: only the newest missed tick ran");
    cr_expect_geq (s_int ("SELECT COALESCE(SUM(tick_count), 0) FROM ticks WHERE schedule_id = 2 AND outcome = 3"), 5);
}

Test (policies, catchup_within_a_window_and_a_schedules_own_zone)
{
    OK ("task", "add", "T", "--command", "true");
    char start [64];
    norc_time_iso (norc_now_us () - 31 * NORC_US_PER_SEC, start, sizeof start);
    //  Within 12 s: missed ticks at -31, -26, -21, -16 are recorded missed;
    //  -11, -6 and -1 are replayed
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "5", "--start", start, "--catchup", "within",
        "--window", "12");
    //  Every second, but only in this hour and the next in Asia/Kolkata
    //  (UTC+5:30): the same expression in UTC matches none of this test's
    //  seconds
    time_t now = time (NULL);
    struct tm there;
    setenv ("TZ", "Asia/Kolkata", 1);
    tzset ();
    localtime_r (&now, &there);
    unsetenv ("TZ");
    tzset ();
    char expr [64];
    snprintf (expr, sizeof expr, "* * %d,%d * * *", there.tm_hour, (there.tm_hour + 1) % 24);
    OK ("schedule", "add", "T", "--queue", "Q", "--cron", expr, "--tz", "Asia/Kolkata");
    OK ("schedule", "add", "T", "--queue", "Q", "--cron", expr, "--tz", "UTC");
    s_wait ("SELECT COUNT(*) FROM instances WHERE schedule_id = 1 AND status = 7", 3, 10000);
    s_wait ("SELECT COUNT(*) FROM instances WHERE schedule_id = 2 AND status = 7", 3, 10000);
    cr_expect_eq (s_int ("SELECT COALESCE(SUM(tick_count), 0) FROM ticks WHERE schedule_id = 1 AND outcome = 3"), 4);
    cr_expect_eq (s_ran_before_creation (1, 13), 0, "nothing older than the window ran");
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM instances WHERE schedule_id = 3"), 0,
                  "the UTC schedule's hours are not now");
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM schedules WHERE id = 3 AND next_nominal > UTC_TIMESTAMP(6) "
                         "+ INTERVAL 1 HOUR"), 1, "its next tick is hours away");
}
