//  End to end: the MariaDB server crashes and comes back while schedules
//  fire and instances run. The services reconnect by themselves; no tick is
//  lost or doubled, no instance is left unfinished, no log is incomplete.
//  The test runs its own private server, so it can crash it.
#include <criterion/criterion.h>
#include <signal.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"

static char *s_dir;              //  the private server's directory
static norc_test_system_t *s_sys;
static norc_db_t *s_db;

static char *
s_script (const char *command)
{
    char *cmd = norc_asprintf ("%s/scripts/mariadb-private.sh %s %s", NORC_SOURCE_DIR, command, s_dir);
    FILE *out = popen (cmd, "r");
    cr_assert_not_null (out);
    char line [256] = "";
    if (!fgets (line, sizeof line, out))
        line [0] = 0;
    cr_assert_eq (pclose (out), 0, "%s failed", cmd);
    free (cmd);
    line [strcspn (line, "\n")] = 0;
    return norc_strdup (line);
}

static void
s_setup (void)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    s_dir = norc_test_tmpdir ("db");
    char *dsn = s_script ("start");
    setenv ("NORC_TEST_DB", dsn, 1);
    free (dsn);
    s_sys = norc_test_system_new ();
    norc_test_system_start_core (s_sys);
    s_db = norc_test_system_db (s_sys);
}

static void
s_teardown (void)
{
    norc_db_destroy (&s_db);
    norc_test_system_destroy (&s_sys);
    free (s_script ("stop"));
    norc_test_rmdir (&s_dir);
}

TestSuite (db_restart, .init = s_setup, .fini = s_teardown, .timeout = 240);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

static int64_t
s_int (const char *sql)
{
    return norc_test_db_int (s_db, sql);
}

Test (db_restart, services_recover_and_nothing_is_lost_or_doubled)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "echo one; sleep 0.2; echo two");
    const char *args [] = { "Q", "-c", "4", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    for (int i = 0; i < 3; i++)
        OK ("schedule", "add", "T", "--queue", "Q", "--period", "1", "--make-up");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 6, 20000);
    //  Crash, stay down 3 s, come back on the same port
    setenv ("NORC_MARIADB_DOWN_S", "3", 1);
    free (s_script ("crash-restart"));
    norc_db_destroy (&s_db);            //  the test's own connections died too
    norc_db_destroy (&s_sys->db);
    s_db = norc_test_system_db (s_sys);
    int64_t before = norc_test_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS);
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, before + 9, 30000);
    for (int i = 1; i <= 3; i++) {
        char id [8];
        snprintf (id, sizeof id, "%d", i);
        OK ("schedule", "pause", id);
    }
    //  Each pause is in force once its schedule records a paused tick
    norc_test_db_wait_count (s_db, "SELECT COUNT(DISTINCT schedule_id) FROM ticks WHERE reason = 'paused'", 3, 10000);
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) = 0 FROM instances WHERE status < 7", 1, 30000);
    //  make-up: every nominal second from each schedule's first tick to its
    //  last has exactly one instance, none twice
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM (SELECT schedule_id, nominal FROM instances "
                         "GROUP BY schedule_id, nominal HAVING COUNT(*) > 1) d"), 0, "no tick twice");
    cr_expect_eq (s_int ("SELECT SUM(n) FROM (SELECT COUNT(*) - 1 - TIMESTAMPDIFF(SECOND, MIN(nominal), "
                         "MAX(nominal)) AS n FROM instances GROUP BY schedule_id) d"), 0, "no tick lost");
    cr_expect_eq (s_int ("SELECT COUNT(*) FROM instances WHERE status <> 7"), 0, "every instance succeeded");
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_DAEMONS, NORC_ST_ERROR), 0, "nobody was declared dead");
    //  Every log complete
    norc_stmt_t *st = norc_db_stmt (s_db, "SELECT id FROM instances");
    cr_assert_eq (norc_stmt_exec (st), NORC_OK);
    while (norc_stmt_fetch (st) == NORC_OK) {
        uint64_t id = norc_stmt_u64 (st, 0);
        char *cmd = norc_asprintf ("for i in $(seq 100); do grep -q 'Task ended with status SUCCESS' "
                                   "%s/logs/instances/%llu/%llu && exit 0; sleep 0.1; done; exit 1",
                                   s_sys->dir, (unsigned long long) (id / 1000), (unsigned long long) id);
        cr_expect_eq (system (cmd), 0, "instance %llu: log incomplete", (unsigned long long) id);
        free (cmd);
    }
}

//  While MariaDB is down the aggregator keeps answering: what needs the
//  database says it is unavailable and for how long, at once; the status
//  of daemons comes from what it heard; all is back when MariaDB is.
Test (db_restart, the_aggregator_answers_while_the_database_is_down)
{
    OK ("queue", "add", "Q");
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_RUNNING, 1, 10000);
    norc_test_system_settle (s_sys);    //  its heartbeats reach the aggregator
    norc_db_destroy (&s_db);
    norc_db_destroy (&s_sys->db);
    free (s_script ("stop"));
    //  The aggregator's next writes find it gone
    char *out, *err;
    bool told = false;
    for (int i = 0; i < 100 && !told; i++) {
        norc_test_system_ctl (s_sys, &out, &err, "queue", "list", NULL);
        told = strstr (err, "the database is unavailable") != NULL;
        free (out);
        free (err);
        if (!told)
            usleep (100000);
    }
    cr_assert (told, "the aggregator says the database is unavailable");
    for (int i = 0; i < 3; i++) {
        norc_us_t t0 = norc_mono_us ();
        int rc = norc_test_system_ctl (s_sys, &out, &err, "queue", "list", NULL);
        cr_expect_eq (rc, 1);
        cr_expect_not_null (strstr (err, "the database is unavailable"), "%s", err);
        cr_expect_null (strstr (err, "is the status-aggregator running"), "%s", err);
        cr_expect_lt (norc_mono_us () - t0, 3 * NORC_US_PER_SEC, "answered at once");
        free (out);
        free (err);
    }
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "status", "executors", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (err, "the database is unavailable (for "), "%s", err);
    char host [256] = "";
    gethostname (host, sizeof host);
    cr_expect_not_null (strstr (out, host), "the executor, as last heard: %s", out);
    free (out);
    free (err);
    //  Back on the same port: everything answers again
    free (s_script ("start"));
    int rc = 1;
    for (int i = 0; i < 100 && rc != 0; i++) {
        rc = norc_test_system_ctl (s_sys, &out, &err, "queue", "list", NULL);
        free (out);
        free (err);
        if (rc)
            usleep (100000);
    }
    cr_expect_eq (rc, 0, "queue list works again");
    s_db = norc_test_system_db (s_sys);
}
