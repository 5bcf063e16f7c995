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

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>

//  Read both pipes to their ends without deadlocking on a full one.
static void
s_drain (int out_fd, int err_fd, char **out, char **err)
{
    size_t out_len = 0, err_len = 0;
    *out = norc_calloc (1, 1);
    *err = norc_calloc (1, 1);
    struct pollfd fds [2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll (fds, 2, -1) < 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds [i].fd < 0 || !(fds [i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf [4096];
            ssize_t n = read (fds [i].fd, buf, sizeof buf);
            if (n <= 0) {
                fds [i].fd = -1;
                open_fds--;
                continue;
            }
            char **dst = i == 0 ? out : err;
            size_t *len = i == 0 ? &out_len : &err_len;
            *dst = norc_realloc (*dst, *len + (size_t) n + 1);
            memcpy (*dst + *len, buf, (size_t) n);
            *len += (size_t) n;
            (*dst) [*len] = 0;
        }
    }
}

int
norc_test_run (const char *const *argv, const char *const *env, char **out, char **err)
{
    int out_pipe [2], err_pipe [2];
    cr_assert_eq (pipe (out_pipe), 0);
    cr_assert_eq (pipe (err_pipe), 0);
    pid_t pid = fork ();
    cr_assert_geq (pid, 0);
    if (pid == 0) {
        dup2 (out_pipe [1], 1);
        dup2 (err_pipe [1], 2);
        close (out_pipe [0]);
        close (err_pipe [0]);
        close (out_pipe [1]);
        close (err_pipe [1]);
        for (int i = 0; env && env [i]; i++)
            putenv ((char *) env [i]);
        execv (argv [0], (char *const *) argv);
        fprintf (stderr, "exec %s failed\n", argv [0]);
        _exit (127);
    }
    close (out_pipe [1]);
    close (err_pipe [1]);
    char *o, *e;
    s_drain (out_pipe [0], err_pipe [0], &o, &e);
    close (out_pipe [0]);
    close (err_pipe [0]);
    int status;
    waitpid (pid, &status, 0);
    if (out)
        *out = o;
    else
        free (o);
    if (err)
        *err = e;
    else
        free (e);
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

char *
norc_test_bin (const char *name)
{
    const char *dir = getenv ("NORC_BIN_DIR");
    if (!dir || !*dir)
        dir = NORC_BIN_DIR;
    char *path = norc_asprintf ("%s/%s", dir, name);
    cr_assert_eq (access (path, X_OK), 0, "no binary %s", path);
    return path;
}
