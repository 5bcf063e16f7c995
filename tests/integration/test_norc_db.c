//  Integration tests: the MySQL layer and the migrations, against the real
//  MariaDB server started by scripts/test.sh.
#include <criterion/criterion.h>
#include <sys/wait.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_db.h"
#include "norc_migrate.h"
#include "norc_log.h"

static char *s_url;

static void s_setup (void)    { norc_log_init ("test", NORC_LOG_ERROR); s_url = norc_test_db_create (); }
static void s_teardown (void) { norc_test_db_drop (&s_url); }

TestSuite (norc_db, .init = s_setup, .fini = s_teardown);

Test (norc_db, url_parsing_and_bad_urls)
{
    cr_expect_null (norc_db_new ("postgres://x@y/z", NULL));
    cr_expect_null (norc_db_new ("mysql://user@host", NULL));
    cr_expect_null (norc_db_new ("mysql://user@host/bad-name;drop", NULL));
    norc_db_t *db = norc_db_new ("mysql://a%40b:p%3Ass@h:3307/norc_x?socket=/tmp/s", NULL);
    cr_assert_not_null (db);
    cr_expect_str_eq (norc_db_name (db), "norc_x");
    norc_db_destroy (&db);
    cr_expect_null (db);
}

Test (norc_db, unreachable_server_is_a_transient_error)
{
    norc_db_options_t options = { 1, 1, 1, 0 };
    norc_db_t *db = norc_db_new ("mysql://root@127.0.0.1:1/norc_nothing", &options);
    cr_expect_eq (norc_db_connect (db), NORC_AGAIN);
    cr_expect_neq (norc_db_errno (db), 0);
    cr_expect_neq (strlen (norc_db_errstr (db)), 0);
    norc_db_destroy (&db);
}

static void
s_count_wait (void *arg)
{
    (*(int *) arg)++;
}

static int
s_nothing (norc_db_t *db, void *arg)
{
    NORC_UNUSED (db);
    NORC_UNUSED (arg);
    return NORC_OK;
}

Test (norc_db, a_transaction_waiting_for_the_server_calls_the_wait_hook)
{
    //  Nobody listens: every attempt fails at once, and before each of the
    //  3 waits between the 4 attempts the hook runs
    norc_db_options_t options = { 1, 1, 1, 3 };
    norc_db_t *db = norc_db_new ("mysql://root@127.0.0.1:1/norc_nothing", &options);
    int waits = 0;
    norc_db_set_wait_hook (db, s_count_wait, &waits);
    cr_expect_eq (norc_db_txn (db, s_nothing, NULL), NORC_AGAIN);
    cr_expect_eq (waits, 3);
    norc_db_destroy (&db);
}

Test (norc_db, typed_values_round_trip)
{
    norc_db_t *db = norc_test_db_open (s_url);
    norc_test_db_exec (db, "CREATE TABLE t (id BIGINT UNSIGNED PRIMARY KEY, i BIGINT NULL, "
                           "s TEXT NULL, d DATETIME(6) NULL, u BIGINT UNSIGNED NULL)");
    norc_stmt_t *st = norc_db_stmt (db, "INSERT INTO t VALUES (?, ?, ?, ?, ?)");
    norc_us_t when = INT64_C (1777636800123456);   //  2026-05-01T12:00:00.123456Z
    norc_stmt_bind_u64 (st, 0, 1);
    norc_stmt_bind_i64 (st, 1, -42);
    norc_stmt_bind_str (st, 2, "héllo 'quoted' \"x\"; DROP TABLE t");
    norc_stmt_bind_time (st, 3, when);
    norc_stmt_bind_u64 (st, 4, UINT64_MAX);
    cr_assert_eq (norc_stmt_exec (st), NORC_OK, "%s", norc_db_errstr (db));
    cr_expect_eq (norc_stmt_affected (st), 1);
    st = norc_db_stmt (db, "INSERT INTO t (id) VALUES (?)");
    norc_stmt_bind_u64 (st, 0, 2);
    cr_assert_eq (norc_stmt_exec (st), NORC_OK);
    //  Duplicate key is a conflict
    st = norc_db_stmt (db, "INSERT INTO t (id) VALUES (?)");
    norc_stmt_bind_u64 (st, 0, 2);
    cr_expect_eq (norc_stmt_exec (st), NORC_CONFLICT);
    //  Wrong parameter count is a clean error
    st = norc_db_stmt (db, "INSERT INTO t (id) VALUES (?)");
    cr_expect_eq (norc_stmt_exec (st), NORC_ERROR);
    cr_expect_not_null (strstr (norc_db_errstr (db), "parameters"));
    //  Syntax error is an error, not a retry
    cr_expect_eq (norc_stmt_exec (norc_db_stmt (db, "SELEKT 1")), NORC_ERROR);

    st = norc_db_stmt (db, "SELECT id, i, s, d, u FROM t ORDER BY id");
    cr_assert_eq (norc_stmt_exec (st), NORC_OK);
    cr_expect_eq (norc_stmt_columns (st), 5);
    cr_expect_str_eq (norc_stmt_column_name (st, 3), "d");
    cr_assert_eq (norc_stmt_fetch (st), NORC_OK);
    cr_expect_eq (norc_stmt_u64 (st, 0), 1);
    cr_expect_eq (norc_stmt_i64 (st, 1), -42);
    cr_expect_str_eq (norc_stmt_str (st, 2), "héllo 'quoted' \"x\"; DROP TABLE t");
    cr_expect_eq (norc_stmt_time (st, 3), when);
    cr_expect_str_eq (norc_stmt_text (st, 3), "2026-05-01T12:00:00.123456Z");
    cr_expect_eq (norc_stmt_u64 (st, 4), UINT64_MAX);
    cr_expect_str_eq (norc_stmt_text (st, 4), "18446744073709551615");
    cr_assert_eq (norc_stmt_fetch (st), NORC_OK);
    cr_expect (norc_stmt_is_null (st, 1));
    cr_expect_null (norc_stmt_str (st, 2));
    cr_expect_eq (norc_stmt_time (st, 3), 0);
    cr_expect_str_eq (norc_stmt_text (st, 2), "");
    cr_expect_eq (norc_stmt_fetch (st), NORC_NOTFOUND);
    //  The session runs in UTC
    cr_expect_eq (norc_test_db_int (db, "SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW())"), 0);
    norc_db_destroy (&db);
}

static int
s_insert_then_fail (norc_db_t *db, void *arg)
{
    norc_stmt_t *st = norc_db_stmt (db, "INSERT INTO t (id) VALUES (?)");
    norc_stmt_bind_u64 (st, 0, 7);
    int rc = norc_stmt_exec (st);
    cr_assert (norc_db_in_txn (db));
    return rc ? rc : *(int *) arg;
}

Test (norc_db, transactions_commit_or_roll_back)
{
    norc_db_t *db = norc_test_db_open (s_url);
    norc_test_db_exec (db, "CREATE TABLE t (id BIGINT PRIMARY KEY) ENGINE=InnoDB");
    int outcome = NORC_ERROR;
    cr_expect_eq (norc_db_txn (db, s_insert_then_fail, &outcome), NORC_ERROR);
    cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(*) FROM t"), 0, "rolled back");
    outcome = NORC_OK;
    cr_expect_eq (norc_db_txn (db, s_insert_then_fail, &outcome), NORC_OK);
    cr_expect (!norc_db_in_txn (db));
    cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(*) FROM t"), 1);
    norc_db_destroy (&db);
}

static int s_runs;

static int
s_count_rows (norc_db_t *db, void *arg)
{
    s_runs++;
    norc_stmt_t *st = norc_db_stmt (db, "SELECT COUNT(*) FROM t");
    int rc = norc_stmt_exec (st);
    if (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK)
        *(int64_t *) arg = norc_stmt_i64 (st, 0);
    return rc;
}

Test (norc_db, lost_connection_is_retried_by_the_transaction)
{
    norc_db_t *db = norc_test_db_open (s_url);
    norc_db_t *killer = norc_test_db_open (s_url);
    norc_test_db_exec (db, "CREATE TABLE t (id BIGINT PRIMARY KEY)");
    //  Prepare a statement on the connection, then kill the connection
    int64_t count = -1;
    cr_assert_eq (norc_db_txn (db, s_count_rows, &count), NORC_OK);
    uint64_t victim = norc_db_thread_id (db);
    cr_assert_neq (victim, 0);
    norc_stmt_t *st = norc_db_stmt (killer, "KILL ?");
    norc_stmt_bind_u64 (st, 0, victim);
    cr_assert_eq (norc_stmt_exec (st), NORC_OK, "%s", norc_db_errstr (killer));
    s_runs = 0;
    count = -1;
    cr_expect_eq (norc_db_txn (db, s_count_rows, &count), NORC_OK, "%s", norc_db_errstr (db));
    cr_expect_eq (count, 0);
    cr_expect_geq (s_runs, 1);
    cr_expect_neq (norc_db_thread_id (db), victim, "a new connection");
    norc_db_destroy (&killer);
    norc_db_destroy (&db);
}

//  Two processes lock two rows in opposite orders: InnoDB picks a deadlock
//  victim, whose transaction norc_db_txn runs again; both end committed.
typedef struct { uint64_t first, second; int pipe_fd; } s_lock_order_t;

static int
s_lock_two (norc_db_t *db, void *arg)
{
    s_lock_order_t *order = (s_lock_order_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, "UPDATE t SET n = n + 1 WHERE id = ?");
    norc_stmt_bind_u64 (st, 0, order->first);
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    if (order->pipe_fd >= 0) {
        //  Both hold their first lock before either asks for the second
        char byte = 0;
        if (write (order->pipe_fd, &byte, 1) != 1)
            return NORC_ERROR;
        order->pipe_fd = -1;
        usleep (300000);
    }
    st = norc_db_stmt (db, "UPDATE t SET n = n + 1 WHERE id = ?");
    norc_stmt_bind_u64 (st, 0, order->second);
    return norc_stmt_exec (st);
}

Test (norc_db, deadlocks_are_retried_by_the_transaction)
{
    norc_db_t *db = norc_test_db_open (s_url);
    norc_test_db_exec (db, "CREATE TABLE t (id BIGINT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB");
    norc_test_db_exec (db, "INSERT INTO t VALUES (1, 0), (2, 0)");
    int fds [2];
    cr_assert_eq (pipe (fds), 0);
    pid_t child = fork ();
    if (child == 0) {
        close (fds [0]);
        norc_db_t *mine = norc_db_new (s_url, NULL);
        s_lock_order_t order = { 2, 1, fds [1] };
        int rc = norc_db_txn (mine, s_lock_two, &order);
        norc_db_destroy (&mine);
        _exit (rc == NORC_OK ? 0 : 1);
    }
    close (fds [1]);
    char byte;
    s_lock_order_t order = { 1, 2, -1 };
    //  Take row 1, wait until the child holds row 2, then ask for row 2
    norc_db_t *mine = norc_db_new (s_url, NULL);
    cr_assert_eq (read (fds [0], &byte, 1), 1);
    int rc = norc_db_txn (mine, s_lock_two, &order);
    int status;
    waitpid (child, &status, 0);
    cr_expect_eq (rc, NORC_OK, "%s", norc_db_errstr (mine));
    cr_expect (WIFEXITED (status) && WEXITSTATUS (status) == 0, "the other side committed too");
    cr_expect_eq (norc_test_db_int (db, "SELECT SUM(n) FROM t"), 4, "each ran its two updates once");
    close (fds [0]);
    norc_db_destroy (&mine);
    norc_db_destroy (&db);
}

Test (norc_db, scripts_split_on_statement_ends)
{
    norc_db_t *db = norc_test_db_open (s_url);
    cr_assert_eq (norc_db_exec_script (db,
        "-- a comment; with a semicolon\n"
        "CREATE TABLE a (x INT);\n"
        "CREATE TABLE b (\n  y INT\n);\n"
        "INSERT INTO a VALUES (1), (2);\n"), NORC_OK, "%s", norc_db_errstr (db));
    cr_expect_eq (norc_test_db_int (db, "SELECT SUM(x) FROM a"), 3);
    cr_expect_eq (norc_db_exec_script (db, "CREATE TABLE a (x INT);\n"), NORC_ERROR);
    norc_db_destroy (&db);
}

Test (norc_migrate, idempotent_versioned_and_refuses_newer, .init = s_setup, .fini = s_teardown)
{
    norc_db_t *db = norc_test_db_open (s_url);
    int version = -1;
    cr_assert_eq (norc_migrate_current (db, &version), NORC_OK);
    cr_expect_eq (version, norc_migrate_latest ());
    cr_expect_geq (norc_migrate_latest (), 1);
    cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(*) FROM schema_version"), norc_migrations_count);
    //  Again: nothing to do
    char err [512] = "";
    int from = -1, to = -1;
    cr_expect_eq (norc_migrate_run (db, &from, &to, err, sizeof err), NORC_OK, "%s", err);
    cr_expect_eq (from, norc_migrate_latest ());
    cr_expect_eq (to, norc_migrate_latest ());
    //  A database from a newer Norc is left alone
    norc_test_db_exec (db, "INSERT INTO schema_version VALUES (999, '999_future', UTC_TIMESTAMP(6))");
    cr_expect_eq (norc_migrate_run (db, &from, &to, err, sizeof err), NORC_CONFLICT);
    cr_expect_not_null (strstr (err, "newer than this Norc"), "%s", err);
    norc_db_destroy (&db);
}

Test (norc_migrate, fresh_database_gets_every_table, .init = s_setup, .fini = s_teardown)
{
    norc_db_t *db = norc_test_db_open (s_url);
    const char *tables [] = { "queues", "queue_group_members", "revisions", "tasks", "task_env",
                              "job_nodes", "job_edges", "daemons", "schedules", "instances",
                              "ticks", "control_requests", "leases", "schema_version" };
    for (size_t i = 0; i < sizeof tables / sizeof tables [0]; i++) {
        norc_stmt_t *st = norc_db_stmt (db, "SELECT COUNT(*) FROM information_schema.tables "
                                            "WHERE table_schema = DATABASE() AND table_name = ?");
        norc_stmt_bind_str (st, 0, tables [i]);
        cr_assert_eq (norc_stmt_exec (st), NORC_OK);
        cr_assert_eq (norc_stmt_fetch (st), NORC_OK);
        cr_expect_eq (norc_stmt_i64 (st, 0), 1, "table %s", tables [i]);
    }
    //  The tick key is unique
    cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(*) FROM information_schema.statistics "
        "WHERE table_schema = DATABASE() AND table_name = 'instances' "
        "AND index_name = 'instances_tick' AND non_unique = 0"), 3);
    norc_db_destroy (&db);
}
