//  End to end: what happens when processes are signalled, die or restart.
//  Every scenario ends by checking the record in MySQL: one instance per
//  tick key, every instance final, every completed instance's log complete.
#include <criterion/criterion.h>
#include <signal.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"

NORC_TEST_E2E_SUITE (failure, 180);

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

//  The record after any scenario: one instance per tick key, every instance
//  final, every completed instance's log complete (its final status line).
static void
s_check_record (void)
{
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM (SELECT schedule_id, nominal FROM instances "
                         "WHERE schedule_id IS NOT NULL GROUP BY schedule_id, nominal, attempt "
                         "HAVING COUNT(*) > 1) d"), 0, "one instance per tick key");
    s_wait ("SELECT COUNT(*) = 0 FROM instances WHERE status < 7", 1, 20000);
    norc_stmt_t *st = norc_db_stmt (s_db, "SELECT id, status FROM instances WHERE status IN (7, 13, 15, 16)");
    cr_assert_eq (norc_stmt_exec (st), NORC_OK);
    int checked = 0;
    while (norc_stmt_fetch (st) == NORC_OK) {
        uint64_t id = norc_stmt_u64 (st, 0);
        char *path = norc_asprintf ("%s/logs/instances/%llu/%llu", s_sys->dir, (unsigned long long) (id / 1000),
                                    (unsigned long long) id);
        char *cmd = norc_asprintf ("grep -q 'Task ended with status' %s", path);
        bool found = false;
        for (int i = 0; i < 200 && !found; i++) {
            found = system (cmd) == 0;
            if (!found)
                usleep (50000);
        }
        cr_expect (found, "instance %llu (status %lld): log %s lacks its final line", (unsigned long long) id,
                   (long long) norc_stmt_i64 (st, 1), path);
        free (cmd);
        free (path);
        checked++;
    }
    cr_expect_gt (checked, 0, "some instance completed");
}

Test (failure, executor_sigterm_drains_then_ends)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Slow", "--command", "sleep 1; echo finished");
    OK ("task", "add", "Quick", "--command", "echo quick");
    pid_t pid = s_executor ("Q", "2");
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_RUNNING, 1, 10000);
    OK ("run", "Slow", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_RUNNING, 1, 10000);
    //  First SIGTERM: the running instance finishes; nothing new is taken
    kill (pid, SIGTERM);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_STOPPING, 1, 5000);
    OK ("run", "Quick", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_ENDED, 1, 10000);
    norc_test_system_signal (s_sys, pid, SIGTERM);
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM instances i JOIN tasks t ON t.id = i.task_id "
                         "WHERE t.name = 'Slow' AND i.status = 7"), 1, "the running instance finished");
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM instances i JOIN tasks t ON t.id = i.task_id "
                         "WHERE t.name = 'Quick' AND i.status = 1 AND i.executor_id IS NULL"), 1,
                  "the new one still waits for an executor");
    //  Another executor takes it
    s_executor ("Q", "1");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 2, 10000);
}

Test (failure, executor_second_signal_interrupts)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Long", "--command", "sleep 30");
    pid_t pid = s_executor ("Q", "1");
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_RUNNING, 1, 10000);
    OK ("run", "Long", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_RUNNING, 1, 10000);
    kill (pid, SIGINT);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_STOPPING, 1, 5000);
    kill (pid, SIGINT);
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_INTERRUPTED, 1, 10000);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_KILLED, 1, 10000);
    norc_test_system_signal (s_sys, pid, SIGTERM);
    cr_expect (norc_test_process_gone ("^sleep 30$", 2000), "the task's process is gone");
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM instances WHERE reason LIKE '%second signal%' "
                         "OR reason LIKE '%interrupted%'"), 1, "the reason is recorded");
}

Test (failure, executor_drain_time_is_bounded)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Long", "--command", "sleep 30");
    pid_t pid = s_executor ("Q", "1");
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_RUNNING, 1, 10000);
    OK ("run", "Long", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_RUNNING, 1, 10000);
    //  executor.drain_ms is 1.5 s in the test system: then the task is interrupted
    kill (pid, SIGTERM);
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_INTERRUPTED, 1, 10000);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_KILLED, 1, 10000);
    norc_test_system_signal (s_sys, pid, SIGTERM);
    cr_expect (norc_test_process_gone ("^sleep 30$", 2000), "the task's process is gone");
}

Test (failure, scheduler_sigterm_releases_its_schedules)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "60");
    s_wait ("SELECT COUNT(*) FROM schedules s JOIN schedule_shards h ON h.shard = s.shard WHERE h.owner IS NOT NULL",
            1, 10000);
    pid_t pid = (pid_t) s_int ("SELECT pid FROM daemons WHERE kind = 1 AND status = 2");
    norc_test_system_signal (s_sys, pid, SIGTERM);
    //  (its lease ends at once: no schedule is held under a live lease)
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM schedule_shards h JOIN scheduler_leases l ON l.owner = h.owner "
                  "WHERE l.until >= UTC_TIMESTAMP(6)"), 0,
                  "the lease is released at once");
    norc_test_wait_count (s_sys, NORC_TEST_SCHEDULERS, NORC_ST_ENDED, 1, 5000);
}

Test (failure, scheduler_killed_its_schedules_and_dispatch_move_to_the_survivor)
{
    //  A second scheduler, with its own dispatch endpoint; the executor
    //  connects to both
    char *second = norc_asprintf ("ipc://%s/dispatch2.ipc", s_sys->dir);
    char *both = norc_asprintf ("ipc://%s/dispatch.ipc,%s", s_sys->dir, second);
    const char *sargs [] = { "--scheduler.dispatch", second, NULL };
    norc_test_system_start (s_sys, "norc-scheduler", sargs);
    const char *eargs [] = { "Q", "-c", "4", "--scheduler.dispatch", both, NULL };
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "echo tick");
    norc_test_system_start (s_sys, "norc-executor", eargs);
    for (int i = 0; i < 4; i++)
        OK ("schedule", "add", "T", "--queue", "Q", "--period", "1");
    norc_test_wait_count (s_sys, NORC_TEST_SCHEDULERS, NORC_ST_RUNNING, 2, 10000);
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 8, 20000);
    //  Kill -9 the scheduler that dispatches (it also holds schedules)
    int64_t holder = s_int ("SELECT holder FROM leases WHERE name = 'dispatch'");
    cr_assert_gt (holder, 0);
    char *sql = norc_asprintf ("SELECT pid FROM daemons WHERE id = %lld", (long long) holder);
    pid_t victim = (pid_t) s_int (sql);
    free (sql);
    cr_expect_gt (s_int ("SELECT COUNT(*) FROM schedules s JOIN schedule_shards h ON h.shard = s.shard "
                         "WHERE h.owner = (SELECT holder FROM leases WHERE name = 'dispatch')"), 0);
    norc_test_system_signal (s_sys, victim, SIGKILL);
    int64_t before = norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS);
    //  The survivor takes the lease, the schedules, and the work
    sql = norc_asprintf ("SELECT COUNT(*) FROM leases WHERE name = 'dispatch' AND holder IS NOT NULL "
                         "AND holder <> %lld", (long long) holder);
    s_wait (sql, 1, 15000);
    free (sql);
    sql = norc_asprintf ("SELECT COUNT(*) FROM schedules s JOIN schedule_shards h ON h.shard = s.shard "
                         "WHERE h.owner IS NOT NULL AND h.owner <> %lld", (long long) holder);
    s_wait (sql, 4, 15000);
    free (sql);
    char *more = norc_asprintf ("SELECT COUNT(*) FROM instances WHERE status = 7");
    s_wait (more, before + 8, 20000);
    free (more);
    sql = norc_asprintf ("SELECT COUNT(*) FROM daemons WHERE id = %lld AND status = 14", (long long) holder);
    s_wait (sql, 1, 10000);
    free (sql);
    OK ("schedule", "pause", "1");
    OK ("schedule", "pause", "2");
    OK ("schedule", "pause", "3");
    OK ("schedule", "pause", "4");
    //  Each pause is in force once its schedule records a paused tick
    s_wait ("SELECT COUNT(DISTINCT schedule_id) FROM ticks WHERE reason = 'paused'", 4, 10000);
    s_check_record ();
    free (second);
    free (both);
}

static bool
s_log_has (uint64_t id, const char *text)
{
    return norc_test_log_has (s_sys, id, text, 10000);
}

Test (failure, executor_killed_mid_task_then_a_new_one_reconciles)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Long", "--command", "echo started; exec sleep 30");
    OK ("task", "add", "Quick", "--command", "echo quick");
    pid_t pid = s_executor ("Q", "1");
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_RUNNING, 1, 10000);
    OK ("run", "Long", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_RUNNING, 1, 10000);
    uint64_t lost = (uint64_t) s_int ("SELECT id FROM instances WHERE status = 2");
    cr_assert (s_log_has (lost, "started"));
    OK ("run", "Quick", "--queue", "Q");
    norc_test_system_signal (s_sys, pid, SIGKILL);
    //  Within the failure threshold the lost run is final, with the reason
    s_wait ("SELECT COUNT(*) FROM instances WHERE status = 14 AND reason LIKE 'executor lost%'", 1, 10000);
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_CREATED), 1, "the other still waits");
    cr_expect (norc_test_process_seen ("^sleep 30$", 0), "the orphaned task still runs");
    //  A new executor on this host adopts the dead one's spool: the orphan
    //  is stopped, the log completed, and the waiting instance runs
    s_executor ("Q", "1");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    cr_expect (s_log_has (lost, "Executor lost while the task ran"), "the lost run's log is completed");
    cr_expect (norc_test_process_gone ("^sleep 30$", 5000), "the orphaned task was stopped");
    s_check_record ();
}

//  A task that marks each run in DIR/runs (after prefix), run once on an
//  executor whose events go nowhere (and its logs too, with no_logs),
//  killed -9 once the task ran and its end was made: the runs file
static char *
s_run_then_kill_executor (const char *prefix, bool no_logs)
{
    OK ("queue", "add", "Q");
    char *runs = norc_asprintf ("%s/runs", s_sys->dir);
    char *command = norc_asprintf ("%secho $NORC_INSTANCE_ID >> %s", prefix, runs);
    OK ("task", "add", "Mark", "--command", command);
    char *nowhere = norc_asprintf ("ipc://%s/nowhere.ipc", s_sys->dir);
    char *no_logs_at = norc_asprintf ("ipc://%s/no-logs.ipc", s_sys->dir);
    const char *args [] = { "Q", "-c", "1", "--aggregator.events", nowhere, no_logs ? "--archiver.logs" : NULL,
                            no_logs_at, NULL };
    pid_t pid = norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_RUNNING, 1, 10000);
    OK ("run", "Mark", "--queue", "Q");
    for (int i = 0; i < 200 && norc_test_file_lines (runs) < 1; i++)
        usleep (10000);
    cr_assert_eq (norc_test_file_lines (runs), 1, "the task ran");
    usleep (100000);            //  its end is made (and goes nowhere); its log is less than a heartbeat old
    norc_test_system_signal (s_sys, pid, SIGKILL);
    free (no_logs_at);
    free (nowhere);
    free (command);
    return runs;
}

//  An executor whose ends never reach the aggregator (its events endpoint
//  leads nowhere) runs a task, and is killed -9 after the task ended and
//  before its end was recorded. The next executor on the host finds the
//  run's record in the spool with how it ended and reports that end: the
//  instance is SUCCESS and ran once. (Were the record forgotten when the
//  child ended, the instance would still wait in the record, and run again
//  once its executor is recorded dead.)
Test (failure, executor_killed_before_its_end_was_recorded_the_run_is_not_run_again)
{
    char *runs = s_run_then_kill_executor ("", false);
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS), 0, "the end was not recorded");
    s_executor ("Q", "1");
    s_wait ("SELECT COUNT(*) FROM instances WHERE status = 7 AND reason LIKE '%reported by the next executor%'", 1,
            10000);
    //  Its first executor is recorded dead meanwhile: nothing waits to run again
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_ERROR, 1, 10000);
    norc_test_system_settle (s_sys);
    cr_expect_eq (norc_test_file_lines (runs), 1, "it ran once");
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_TEST_ANY_STATUS), 1);
    free (runs);
}

//  The same, its log still in memory when its executor was killed (the
//  archiver unreachable for it): the instance's log says the output is
//  lost, rather than there being no log at all
Test (failure, executor_killed_with_a_log_in_memory_the_log_says_its_output_is_lost)
{
    char *runs = s_run_then_kill_executor ("echo hello; ", true);
    s_executor ("Q", "1");
    s_wait ("SELECT COUNT(*) FROM instances WHERE status = 7 AND reason LIKE '%reported by the next executor%'", 1,
            10000);
    bool said = false;
    for (int i = 0; i < 100 && !said; i++) {
        char *out = NULL, *err = NULL;
        norc_test_system_ctl (s_sys, &out, &err, "logs", "1", (const char *) NULL);
        said = out && strstr (out, "the output of the run is lost; it ended with status SUCCESS");
        free (out);
        free (err);
        if (!said)
            usleep (100000);
    }
    cr_expect (said, "the log says what became of the run");
    norc_test_system_settle (s_sys);
    cr_expect_eq (norc_test_file_lines (runs), 1, "it ran once");
    free (runs);
}

static pid_t
s_pid_of (const char *binary)
{
    return norc_test_system_pid (s_sys, binary);
}

//  Several schedules firing every second into two executors, with output
//  spread over time.
static void
s_busy_system (void)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "echo one; sleep 0.3; echo two; sleep 0.3; echo three");
    s_executor ("Q", "4");
    s_executor ("Q", "4");
    for (int i = 0; i < 3; i++)
        OK ("schedule", "add", "T", "--queue", "Q", "--period", "1");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 6, 20000);
}

static void
s_quiesce (void)
{
    for (int i = 1; i <= 3; i++) {
        char id [8];
        snprintf (id, sizeof id, "%d", i);
        OK ("schedule", "pause", id);
    }
    //  Each pause is in force once its schedule records a paused tick (a
    //  fire round under way when it arrived may still add an instance)
    s_wait ("SELECT COUNT(DISTINCT schedule_id) FROM ticks WHERE reason = 'paused'", 3, 10000);
}

Test (failure, aggregator_killed_mid_run_loses_nothing)
{
    s_busy_system ();
    norc_test_system_signal (s_sys, s_pid_of ("norc-aggregator"), SIGKILL);
    //  Down for a while: events wait in the senders' outboxes
    usleep (2000000);
    int64_t before = norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS);
    norc_test_system_start (s_sys, "norc-aggregator", NULL);
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, before + 6, 20000);
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_DAEMONS, NORC_ST_ERROR), 0, "nobody was declared dead");
    s_quiesce ();
    s_check_record ();
    //  Every instance succeeded
    norc_stmt_t *st = norc_db_stmt (s_db, "SELECT id, status, COALESCE(reason, '') FROM instances WHERE status <> 7");
    cr_assert_eq (norc_stmt_exec (st), NORC_OK);
    while (norc_stmt_fetch (st) == NORC_OK)
        cr_expect_fail ("instance %llu ended %lld: %s", (unsigned long long) norc_stmt_u64 (st, 0),
                        (long long) norc_stmt_i64 (st, 1), norc_stmt_str (st, 2));
}

Test (failure, archiver_killed_mid_run_loses_no_log_byte)
{
    s_busy_system ();
    norc_test_system_signal (s_sys, s_pid_of ("norc-archiver"), SIGKILL);
    usleep (1500000);           //  down for a while: output waits in the executors
    norc_test_system_start (s_sys, "norc-archiver", NULL);
    int64_t before = norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS);
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, before + 6, 20000);
    s_quiesce ();
    s_check_record ();
    //  Every log holds the whole output, in order
    norc_stmt_t *st = norc_db_stmt (s_db, "SELECT id FROM instances WHERE status = 7");
    cr_assert_eq (norc_stmt_exec (st), NORC_OK);
    while (norc_stmt_fetch (st) == NORC_OK) {
        uint64_t id = norc_stmt_u64 (st, 0);
        char *cmd = norc_asprintf ("tr '\\n' ' ' < %s/logs/instances/%llu/%llu | grep -q 'one two three'",
                                   s_sys->dir, (unsigned long long) (id / 1000), (unsigned long long) id);
        cr_expect_eq (system (cmd), 0, "instance %llu: output incomplete", (unsigned long long) id);
        free (cmd);
    }
}

Test (failure, health_file_tells_a_live_loop_from_a_stuck_one)
{
    char *file = norc_asprintf ("%s/archiver.alive", s_sys->dir);
    //  A second archiver on its own endpoints, with a health file
    char *logs = norc_asprintf ("ipc://%s/logs2.ipc", s_sys->dir);
    char *fetch = norc_asprintf ("ipc://%s/fetch2.ipc", s_sys->dir);
    const char *aargs [] = { "--health.file", file, "--archiver.logs", logs, "--archiver.fetch", fetch, NULL };
    pid_t pid = norc_test_system_start (s_sys, "norc-archiver", aargs);
    bool alive = false;
    for (int i = 0; i < 100 && !alive; i++) {
        alive = norc_test_system_ctl (s_sys, NULL, NULL, "health", "--health.file", file, NULL) == 0;
        if (!alive)
            usleep (50000);
    }
    cr_expect (alive, "healthy once its loop runs");
    //  Stopped (SIGSTOP): the file goes stale and the check fails
    kill (pid, SIGSTOP);
    bool stale = false;
    for (int i = 0; i < 100 && !stale; i++) {
        char *out, *err;
        stale = norc_test_system_ctl (s_sys, &out, &err, "health", "--health.file", file,
                                      "--heartbeat.period_ms", "200", NULL) == 1;
        if (stale)
            cr_expect_not_null (strstr (err, "stuck"), "%s", err);
        free (out);
        free (err);
        if (!stale)
            usleep (100000);
    }
    cr_expect (stale, "unhealthy while its loop cannot run");
    kill (pid, SIGCONT);
    char *out, *err;
    cr_expect_eq (norc_test_system_ctl (s_sys, &out, &err, "health", NULL), 1, "no health.file: an error");
    cr_expect_not_null (strstr (err, "health.file is not set"), "%s", err);
    free (out);
    free (err);
    free (logs);
    free (fetch);
    free (file);
}

//  A daemon registered through the API (as a scheduler: no queue), its id
static uint64_t
s_register_daemon (void)
{
    zsock_t *api = zsock_new (ZMQ_DEALER);
    cr_assert_eq (zsock_connect (api, "%s", norc_test_system_env (s_sys, "NORC_AGGREGATOR_API")), 0);
    norc_msg_t *reply = norc_test_api_ask (api, "daemon.register", "kind", "scheduler", 5000);
    cr_assert (reply && reply->api_reply.code == 0 && reply->api_reply.rows.count, "registered");
    uint64_t id = strtoull (norc_strmap_get (&reply->api_reply.rows.rows [0], "id"), NULL, 10);
    norc_msg_destroy (&reply);
    zsock_destroy (&api);
    return id;
}

static void
s_send_heartbeat (zsock_t *events, uint64_t id)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_HEARTBEAT);
    msg->heartbeat.daemon_id = id;
    msg->heartbeat.kind = norc_strdup ("scheduler");
    msg->heartbeat.sent_us = norc_now_us ();
    norc_msg_send (&msg, events);
}

//  A daemon busy with its own events is alive even while its heartbeats
//  wait behind them in the aggregator's socket: whatever is read from its
//  connection counts as a heartbeat. One that says nothing more is recorded
//  dead after the threshold (2 s here).
Test (failure, a_daemon_heard_from_lives_a_silent_one_is_recorded_dead)
{
    uint64_t busy = s_register_daemon (), quiet = s_register_daemon ();
    zsock_t *busy_events = zsock_new (ZMQ_DEALER), *quiet_events = zsock_new (ZMQ_DEALER);
    const char *endpoint = norc_test_system_env (s_sys, "NORC_AGGREGATOR_EVENTS");
    cr_assert_eq (zsock_connect (busy_events, "%s", endpoint), 0);
    cr_assert_eq (zsock_connect (quiet_events, "%s", endpoint), 0);
    //  Heartbeats for a moment name each connection's daemon (the first
    //  of a daemon new to the aggregator waits for a look-up in the record)
    for (int i = 0; i < 3; i++) {
        s_send_heartbeat (busy_events, busy);
        s_send_heartbeat (quiet_events, quiet);
        usleep (250000);
    }
    //  Then only replies to control requests from the busy one, for twice
    //  the threshold
    for (int i = 0; i < 40; i++) {
        norc_msg_t *msg = norc_msg_new (NORC_MSG_CONTROL_REPLY);
        msg->control_reply.daemon_id = busy;
        msg->control_reply.accepted = true;
        norc_msg_send (&msg, busy_events);
        usleep (100000);
    }
    char *sql = norc_asprintf ("SELECT status FROM daemons WHERE id = %llu", (unsigned long long) quiet);
    s_wait (sql, 14, 5000);
    free (sql);
    sql = norc_asprintf ("SELECT status FROM daemons WHERE id = %llu", (unsigned long long) busy);
    cr_expect_lt (s_int (sql), 7, "the busy daemon lives");
    free (sql);
    zsock_destroy (&busy_events);
    zsock_destroy (&quiet_events);
}
