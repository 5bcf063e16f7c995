//  End to end: the original's install walkthrough with the real binaries.
//  A queue, a command task, the four services and an executor with -c 5, a
//  schedule every second for 5 repetitions: 5 instances end SUCCESS one
//  second apart, each log is complete, and norcctl reports it all.
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"

static norc_test_system_t *s_sys;

static void
s_setup (void)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    s_sys = norc_test_system_new ();
    norc_test_system_start_core (s_sys);
}

static void
s_teardown (void)
{
    norc_test_system_destroy (&s_sys);
}

TestSuite (demo, .init = s_setup, .fini = s_teardown, .timeout = 120);

#define CTL(out, err, ...) norc_test_system_ctl (s_sys, out, err, __VA_ARGS__, (const char *) NULL)

//  Run norcctl; the command must succeed.
#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

static char *
s_log_of (int64_t id)
{
    char idtext [32];
    snprintf (idtext, sizeof idtext, "#%lld", (long long) id);
    char *out, *err;
    int rc = CTL (&out, &err, "logs", idtext);
    cr_assert_eq (rc, 0, "logs %s: %s", idtext, err);
    free (err);
    return out;
}

Test (demo, five_runs_at_their_ticks_with_complete_logs_and_reports)
{
    char *out, *err;
    OK ("queue", "add", "DemoQueue");
    OK ("task", "add", "DemoTask", "--command", "echo 'Demo successful!'");
    const char *exec_args [] = { "DemoQueue", "-c", "5", NULL };
    norc_test_system_start (s_sys, "norc-executor", exec_args);
    OK ("schedule", "add", "DemoTask", "--queue", "DemoQueue",
                               "--period", "1", "--reps", "5");
    norc_db_t *db = norc_test_system_db (s_sys);
    norc_test_db_wait_count (db, "SELECT COUNT(*) FROM instances WHERE status = 7", 5, 20000);
    cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(*) FROM instances"), 5, "exactly 5 instances");
    //  One per tick, one second apart, each started at its tick
    cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(DISTINCT nominal) FROM instances"), 5);
    cr_expect_eq (norc_test_db_int (db, "SELECT TIMESTAMPDIFF(MICROSECOND, MIN(nominal), MAX(nominal)) FROM instances"),
                  4000000);
    cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(*) FROM instances WHERE started_at >= nominal "
                                        "AND started_at < nominal + INTERVAL 2 SECOND"), 5);
    cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(*) FROM instances WHERE exit_code = 0 "
                                        "AND max_rss_kb > 0 AND cpu_user_us IS NOT NULL AND executor_id IS NOT NULL"), 5);
    cr_expect_eq (norc_test_db_int (db, "SELECT remaining FROM schedules"), 0);
    //  The queue, and what it promises
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "queue", "show", "DemoQueue", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "database"), "%s", out);
    cr_expect_not_null (strstr (out, "yes: a tick is one row of the record"), "%s", out);
    cr_expect_not_null (strstr (out, "streamed to the log-archiver"), "%s", out);
    free (out);
    free (err);
    //  Each log: start line, the command, its output, the final status line
    norc_stmt_t *st = norc_db_stmt (db, "SELECT id FROM instances ORDER BY id");
    cr_assert_eq (norc_stmt_exec (st), NORC_OK);
    int64_t ids [5];
    int n = 0;
    while (n < 5 && norc_stmt_fetch (st) == NORC_OK)
        ids [n++] = norc_stmt_i64 (st, 0);
    for (int i = 0; i < n; i++) {
        char *log = s_log_of (ids [i]);
        cr_expect_not_null (strstr (log, "] INFO: Starting instance #"), "%s", log);
        cr_expect_not_null (strstr (log, "] INFO: $ echo 'Demo successful!'\n"), "%s", log);
        cr_expect_not_null (strstr (log, "\nDemo successful!\n"), "%s", log);
        cr_expect_not_null (strstr (log, "] INFO: Task ended with status SUCCESS (exit code 0).\n"), "%s", log);
        cr_expect_eq (log [0], '[');
        free (log);
    }
    //  The reporter's tables
    cr_assert_eq (CTL (&out, &err, "status"), 0, "%s", err);
    cr_expect_not_null (strstr (out, "## Executors ##"));
    cr_expect_not_null (strstr (out, "## Schedulers ##"));
    cr_expect_not_null (strstr (out, "## Queues ##"));
    cr_expect_not_null (strstr (out, "## Instances ##"));
    cr_expect_not_null (strstr (out, "DemoQueue"));
    int successes = 0;
    for (char *p = out; (p = strstr (p, "SUCCESS")); p++)
        successes++;
    cr_expect_eq (successes, 5, "%s", out);
    free (out);
    free (err);
    cr_assert_eq (CTL (&out, &err, "status", "executors", "--json"), 0);
    cr_expect_not_null (strstr (out, "\"executors\": [{"), "%s", out);
    cr_expect_not_null (strstr (out, "\"succeeded\": 5"), "%s", out);
    free (out);
    free (err);
    cr_assert_eq (CTL (&out, &err, "status", "instances", "--since", "1h", "--failed"), 0);
    cr_expect_not_null (strstr (out, "None found."), "%s", out);
    free (out);
    free (err);
    norc_db_destroy (&db);
}

Test (demo, exits_timeouts_environment_and_manual_runs)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Fail", "--command", "echo failing; exit 3");
    OK ("task", "add", "Missing", "--command", "asd78sad7ftaoq");
    OK ("task", "add", "Slow", "--command", "sleep 30", "--timeout", "1");
    OK ("task", "add", "Env", "--command", "pwd; echo \"$GREETING\" >&2",
                       "--env", "GREETING=hello there", "--cwd", "/usr");
    const char *exec_args [] = { "Q", "-c", "4", NULL };
    norc_test_system_start (s_sys, "norc-executor", exec_args);
    //  Watch the stream for the first end
    char *events_path = norc_asprintf ("%s/events.out", s_sys->dir);
    pid_t watcher = fork ();
    if (watcher == 0) {
        FILE *f = freopen (events_path, "w", stdout);
        NORC_UNUSED (f);
        for (int i = 0; s_sys->env [i]; i++)
            putenv (s_sys->env [i]);
        char *ctl = norc_test_bin ("norcctl");
        execl (ctl, ctl, "events", "--filter", "instance.ended", "-n", "1", (char *) NULL);
        _exit (127);
    }
    usleep (300000);            //  its subscription reaches the publisher (a SUB cannot tell)
    const char *tasks [] = { "Fail", "Missing", "Slow", "Env" };
    for (int i = 0; i < 4; i++)
        OK ("run", tasks [i], "--queue", "Q");
    norc_db_t *db = norc_test_system_db (s_sys);
    norc_test_db_wait_count (db, "SELECT COUNT(*) FROM instances WHERE status >= 7", 4, 20000);
    cr_expect_eq (norc_test_db_int (db, "SELECT status FROM instances i JOIN tasks t ON t.id = i.task_id "
                                        "WHERE t.name = 'Fail'"), 13);
    cr_expect_eq (norc_test_db_int (db, "SELECT exit_code FROM instances i JOIN tasks t ON t.id = i.task_id "
                                        "WHERE t.name = 'Fail'"), 3);
    cr_expect_eq (norc_test_db_int (db, "SELECT exit_code FROM instances i JOIN tasks t ON t.id = i.task_id "
                                        "WHERE t.name = 'Missing'"), 127);
    cr_expect_eq (norc_test_db_int (db, "SELECT status FROM instances i JOIN tasks t ON t.id = i.task_id "
                                        "WHERE t.name = 'Slow'"), 15, "TIMEDOUT");
    cr_expect_eq (norc_test_db_int (db, "SELECT status FROM instances i JOIN tasks t ON t.id = i.task_id "
                                        "WHERE t.name = 'Env'"), 7);
    int64_t missing = norc_test_db_int (db, "SELECT i.id FROM instances i JOIN tasks t ON t.id = i.task_id "
                                            "WHERE t.name = 'Missing'");
    char *log = s_log_of (missing);
    cr_expect_not_null (strstr (log, "not found"), "%s", log);
    cr_expect_not_null (strstr (log, "Task ended with status FAILURE (exit code 127)."), "%s", log);
    free (log);
    int64_t env = norc_test_db_int (db, "SELECT i.id FROM instances i JOIN tasks t ON t.id = i.task_id "
                                        "WHERE t.name = 'Env'");
    log = s_log_of (env);
    cr_expect_not_null (strstr (log, "\n/usr\n"), "%s", log);
    cr_expect_not_null (strstr (log, "\nhello there\n"), "%s", log);
    free (log);
    int64_t slow = norc_test_db_int (db, "SELECT i.id FROM instances i JOIN tasks t ON t.id = i.task_id "
                                         "WHERE t.name = 'Slow'");
    log = s_log_of (slow);
    cr_expect_not_null (strstr (log, "Timeout reached"), "%s", log);
    cr_expect_not_null (strstr (log, "Task ended with status TIMEDOUT"), "%s", log);
    free (log);
    //  No child left behind
    cr_expect (norc_test_process_gone ("^sleep 30$", 2000), "the timed-out command was killed");
    int status;
    waitpid (watcher, &status, 0);
    FILE *f = fopen (events_path, "r");
    char line [4096] = "";
    cr_assert_not_null (f);
    cr_expect_not_null (fgets (line, sizeof line, f));
    fclose (f);
    cr_expect_not_null (strstr (line, "{\"topic\": \"instance.ended\""), "%s", line);
    cr_expect_not_null (strstr (line, "\"status_name\": "), "%s", line);
    free (events_path);
    norc_db_destroy (&db);
}

Test (demo, bad_input_is_one_clear_line_and_a_nonzero_exit)
{
    char *out, *err;
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    struct { const char *expect; const char *a [10]; } cases [] = {
        { "unknown queue \"Nope\"", { "schedule", "add", "T", "--queue", "Nope", "--period", "1", NULL } },
        { "unknown task \"U\"", { "schedule", "add", "U", "--queue", "Q", "--period", "1", NULL } },
        { "never matches", { "schedule", "add", "T", "--queue", "Q", "--cron", "0 0 30 2 *", NULL } },
        { "minute field", { "schedule", "add", "T", "--queue", "Q", "--cron", "99 * * * *", NULL } },
        { "unknown time zone", { "schedule", "add", "T", "--queue", "Q", "--cron", "* * * * *", "--tz", "X/Y", NULL } },
        { "exactly one of --period", { "schedule", "add", "T", "--queue", "Q", NULL } },
        { "already exists", { "queue", "add", "Q", NULL } },
        { "already exists", { "task", "add", "T", "--command", "x", NULL } },
        { "unknown queue \"Z\"", { "run", "T", "--queue", "Z", NULL } },
        { "unknown schedule 77", { "schedule", "rm", "77", NULL } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        const char **a = cases [i].a;
        int rc = CTL (&out, &err, a [0], a [1], a [2], a [3], a [4], a [5], a [6], a [7], a [8]);
        cr_expect_eq (rc, 1, "case %zu: rc %d", i, rc);
        cr_expect_not_null (strstr (err, cases [i].expect), "case %zu: %s", i, err);
        cr_expect_eq (strchr (err, '\n'), strrchr (err, '\n'), "one line: %s", err);
        free (out);
        free (err);
    }
    //  Nothing listening
    int rc = CTL (&out, &err, "--aggregator-api", "ipc:///tmp/norc-nobody-here.ipc", "--api-timeout_ms", "300",
                  "queue", "list");
    cr_expect_eq (rc, 1);
    cr_expect_not_null (strstr (err, "nothing answered"), "%s", err);
    free (out);
    free (err);
    //  An executor for an unknown queue says so and stops
    char *path = norc_test_bin ("norc-executor");
    const char *argv [] = { path, "NoSuchQueue", "-c", "1", NULL };
    rc = norc_test_run (argv, (const char *const *) s_sys->env, &out, &err);
    cr_expect_eq (rc, 1);
    cr_expect_not_null (strstr (err, "unknown queue \"NoSuchQueue\""), "%s", err);
    free (out);
    free (err);
    free (path);
}
