//  End to end: what happens when processes are signalled, die or restart.
//  Every scenario ends by checking the record in MySQL: one instance per
//  tick key, every instance final, every completed instance's log complete.
#include <criterion/criterion.h>
#include <signal.h>
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
}

static void
s_teardown (void)
{
    norc_db_destroy (&s_db);
    norc_test_system_destroy (&s_sys);
}

TestSuite (failure, .init = s_setup, .fini = s_teardown, .timeout = 180);

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

static pid_t
s_executor (const char *queue, const char *slots)
{
    const char *args [] = { queue, "-c", slots, NULL };
    return norc_test_system_start (s_sys, "norc-executor", args);
}

Test (failure, executor_sigterm_drains_then_ends)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Slow", "--command", "sleep 1; echo finished");
    OK ("task", "add", "Quick", "--command", "echo quick");
    pid_t pid = s_executor ("Q", "2");
    s_wait ("SELECT COUNT(*) FROM daemons WHERE kind = 2 AND status = 2", 1, 10000);
    OK ("run", "Slow", "--queue", "Q");
    s_wait ("SELECT COUNT(*) FROM instances WHERE status = 2", 1, 10000);
    //  First SIGTERM: the running instance finishes; nothing new is taken
    kill (pid, SIGTERM);
    s_wait ("SELECT COUNT(*) FROM daemons WHERE kind = 2 AND status = 4", 1, 5000);
    OK ("run", "Quick", "--queue", "Q");
    s_wait ("SELECT COUNT(*) FROM instances WHERE status = 7", 1, 10000);
    s_wait ("SELECT COUNT(*) FROM daemons WHERE kind = 2 AND status = 8", 1, 10000);
    norc_test_system_signal (s_sys, pid, SIGTERM);
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM instances i JOIN tasks t ON t.id = i.task_id "
                         "WHERE t.name = 'Slow' AND i.status = 7"), 1, "the running instance finished");
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM instances i JOIN tasks t ON t.id = i.task_id "
                         "WHERE t.name = 'Quick' AND i.status = 1 AND i.executor_id IS NULL"), 1,
                  "the new one still waits for an executor");
    //  Another executor takes it
    s_executor ("Q", "1");
    s_wait ("SELECT COUNT(*) FROM instances WHERE status = 7", 2, 10000);
}

Test (failure, executor_second_signal_interrupts)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Long", "--command", "sleep 30");
    pid_t pid = s_executor ("Q", "1");
    s_wait ("SELECT COUNT(*) FROM daemons WHERE kind = 2 AND status = 2", 1, 10000);
    OK ("run", "Long", "--queue", "Q");
    s_wait ("SELECT COUNT(*) FROM instances WHERE status = 2", 1, 10000);
    kill (pid, SIGINT);
    s_wait ("SELECT COUNT(*) FROM daemons WHERE kind = 2 AND status = 4", 1, 5000);
    kill (pid, SIGINT);
    s_wait ("SELECT COUNT(*) FROM instances WHERE status = 16", 1, 10000);
    s_wait ("SELECT COUNT(*) FROM daemons WHERE kind = 2 AND status = 9", 1, 10000);
    norc_test_system_signal (s_sys, pid, SIGTERM);
    cr_expect_neq (system ("pgrep -f '^sleep 30$' >/dev/null"), 0, "the task's process is gone");
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM instances WHERE reason LIKE '%second signal%' "
                         "OR reason LIKE '%interrupted%'"), 1, "the reason is recorded");
}

Test (failure, executor_drain_time_is_bounded)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Long", "--command", "sleep 30");
    pid_t pid = s_executor ("Q", "1");
    s_wait ("SELECT COUNT(*) FROM daemons WHERE kind = 2 AND status = 2", 1, 10000);
    OK ("run", "Long", "--queue", "Q");
    s_wait ("SELECT COUNT(*) FROM instances WHERE status = 2", 1, 10000);
    //  executor.drain_ms is 1.5 s in the test system: then the task is interrupted
    kill (pid, SIGTERM);
    s_wait ("SELECT COUNT(*) FROM instances WHERE status = 16", 1, 10000);
    s_wait ("SELECT COUNT(*) FROM daemons WHERE kind = 2 AND status = 9", 1, 10000);
    norc_test_system_signal (s_sys, pid, SIGTERM);
    cr_expect_neq (system ("pgrep -f '^sleep 30$' >/dev/null"), 0, "the task's process is gone");
}

Test (failure, scheduler_sigterm_releases_its_schedules)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "60");
    s_wait ("SELECT COUNT(*) FROM schedules WHERE lease_owner IS NOT NULL", 1, 10000);
    pid_t pid = (pid_t) s_int ("SELECT pid FROM daemons WHERE kind = 1 AND status = 2");
    norc_test_system_signal (s_sys, pid, SIGTERM);
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM schedules WHERE lease_owner IS NOT NULL"), 0,
                  "the lease is released at once");
    s_wait ("SELECT COUNT(*) FROM daemons WHERE kind = 1 AND status = 8", 1, 5000);
}
