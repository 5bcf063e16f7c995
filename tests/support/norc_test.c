//  norc_test.c - helpers for the test suites.
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_migrate.h"
#include <criterion/criterion.h>
#include <unistd.h>
#include <time.h>

char *
norc_test_db_create (void)
{
    const char *server = getenv ("NORC_TEST_DB");
    if (!server || !*server)
        cr_assert_fail ("NORC_TEST_DB is not set: integration tests need the private "
                        "MariaDB that scripts/test.sh starts");
    static int counter = 0;
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    size_t len = strlen (server);
    char *url = norc_asprintf ("%s%snorc_t_%d_%d_%ld", server,
                               len && server [len - 1] == '/' ? "" : "/",
                               (int) getpid (), counter++, (long) (ts.tv_nsec % 100000));
    char err [512] = "";
    int rc = norc_migrate_url (url, err, sizeof err);
    cr_assert_eq (rc, NORC_OK, "cannot create test database %s: %s", url, err);
    return url;
}

void
norc_test_db_drop (char **url_p)
{
    if (!url_p || !*url_p)
        return;
    norc_db_t *db = norc_db_new (*url_p, NULL);
    if (db) {
        norc_db_drop_database (db);
        norc_db_destroy (&db);
    }
    free (*url_p);
    *url_p = NULL;
}

norc_db_t *
norc_test_db_open (const char *url)
{
    norc_db_t *db = norc_db_new (url, NULL);
    cr_assert_not_null (db, "bad URL %s", url);
    cr_assert_eq (norc_db_connect (db), NORC_OK, "connect: %s", norc_db_errstr (db));
    return db;
}

void
norc_test_db_exec (norc_db_t *db, const char *sql)
{
    int rc = norc_stmt_exec (norc_db_stmt (db, sql));
    cr_assert_eq (rc, NORC_OK, "%s: %s", sql, norc_db_errstr (db));
}

int64_t
norc_test_db_int (norc_db_t *db, const char *sql)
{
    norc_stmt_t *st = norc_db_stmt (db, sql);
    int rc = norc_stmt_exec (st);
    cr_assert_eq (rc, NORC_OK, "%s: %s", sql, norc_db_errstr (db));
    if (norc_stmt_fetch (st) != NORC_OK)
        return -1;
    return norc_stmt_i64 (st, 0);
}

bool
norc_test_wait_for (bool (*cond) (void *arg), void *arg, int timeout_ms)
{
    norc_us_t deadline = norc_mono_us () + (norc_us_t) timeout_ms * 1000;
    while (norc_mono_us () < deadline) {
        if (cond (arg))
            return true;
        usleep (10000);
    }
    return cond (arg);
}
