//  norc_test.c - helpers for the test suites.
#include "norc_test.h"
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include "norc_mem.h"
#include "norc_migrate.h"
#include "norc_zmq.h"
#include <criterion/criterion.h>
#include <dirent.h>
#include <regex.h>
#include <signal.h>
#include <sys/prctl.h>
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

int
norc_test_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    cr_assert (fd >= 0 && bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0
               && getsockname (fd, (struct sockaddr *) &addr, &len) == 0, "a free port");
    close (fd);
    return ntohs (addr.sin_port);
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

//  --------------------------------------------------------------------------
//  A private Norc

#include <signal.h>
#include <sys/stat.h>

static int s_own_processes (const char *pattern, pid_t group, int sig);

norc_test_system_t *
norc_test_system_new (void)
{
    //  Orphaned task processes stay this process's descendants, so a test
    //  looks at its own and nobody else's
    prctl (PR_SET_CHILD_SUBREAPER, 1);
    norc_test_system_t *self = (norc_test_system_t *) norc_calloc (1, sizeof (norc_test_system_t));
    self->dir = norc_test_tmpdir ("e2e");
    self->db_url = norc_test_db_create ();
    const char *names [][2] = {
        { "NORC_AGGREGATOR_EVENTS", "ipc://%s/events.ipc" }, { "NORC_AGGREGATOR_API", "ipc://%s/api.ipc" },
        { "NORC_AGGREGATOR_STREAM", "ipc://%s/stream.ipc" }, { "NORC_SCHEDULER_DISPATCH", "ipc://%s/dispatch.ipc" },
        { "NORC_ARCHIVER_LOGS", "ipc://%s/logs.ipc" }, { "NORC_ARCHIVER_FETCH", "ipc://%s/fetch.ipc" },
        { "NORC_LOG_DIR", "%s/logs" }, { "NORC_SPOOL_DIR", "%s/spool" },
    };
    size_t n = sizeof names / sizeof names [0];
    self->env = (char **) norc_calloc (n + 8, sizeof (char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char *value = norc_asprintf (names [i][1], self->dir);
        self->env [k++] = norc_asprintf ("%s=%s", names [i][0], value);
        free (value);
    }
    self->env [k++] = norc_asprintf ("NORC_DB_URL=%s", self->db_url);
    self->env [k++] = norc_strdup ("NORC_HEARTBEAT_PERIOD_MS=200");
    self->env [k++] = norc_strdup ("NORC_HEARTBEAT_FAILURE_MS=2000");
    self->env [k++] = norc_strdup ("NORC_SCHEDULER_LEASE_MS=3000");
    self->env [k++] = norc_strdup ("NORC_EXECUTOR_KILL_GRACE_MS=1000");
    self->env [k++] = norc_strdup ("NORC_EXECUTOR_DRAIN_MS=1500");
    self->env [k++] = norc_strdup ("NORC_LOG_LEVEL=info");
    self->env [k] = NULL;
    return self;
}

pid_t
norc_test_system_start (norc_test_system_t *self, const char *binary, const char *const *args)
{
    cr_assert_lt (self->count, 32);
    int argc = 0;
    while (args && args [argc])
        argc++;
    cr_assert_lt (argc, 63, "%s: %d arguments, more than a test starts a program with", binary, argc);
    char *path = norc_test_bin (binary);
    char *log = norc_asprintf ("%s/%s-%d.log", self->dir, binary, self->count);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    cr_assert_geq (pid, 0);
    if (pid == 0) {
        setpgid (0, 0);
        //  The test's own: a test process that dies without its teardown
        //  (a setup that failed, a crash) takes its services with it
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (127);
        int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2 (fd, 1);
        dup2 (fd, 2);
        close (fd);
        for (int i = 0; self->env [i]; i++)
            putenv (self->env [i]);
        const char *argv [64] = { path };
        int n = 1;
        for (int i = 0; args && args [i] && n < 63; i++)
            argv [n++] = args [i];
        argv [n] = NULL;
        execv (path, (char *const *) argv);
        _exit (127);
    }
    setpgid (pid, pid);         //  as the child does: whichever runs first
    self->pids [self->count] = pid;
    self->names [self->count++] = norc_strdup (binary);
    free (path);
    free (log);
    return pid;
}

int
norc_test_system_ctl (norc_test_system_t *self, char **out, char **err, ...)
{
    char *path = norc_test_bin ("norcctl");
    const char *argv [32] = { path };
    int n = 1;
    va_list ap;
    va_start (ap, err);
    const char *arg;
    while ((arg = va_arg (ap, const char *)) && n < 31)
        argv [n++] = arg;
    va_end (ap);
    argv [n] = NULL;
    int rc = norc_test_run (argv, (const char *const *) self->env, out, err);
    free (path);
    return rc;
}

void
norc_test_system_start_core (norc_test_system_t *self)
{
    norc_test_system_start (self, "norc-aggregator", NULL);
    norc_test_system_start (self, "norc-archiver", NULL);
    norc_test_system_start (self, "norc-scheduler", NULL);
    bool answered = false;
    for (int i = 0; i < 100 && !answered; i++) {
        answered = norc_test_system_ctl (self, NULL, NULL, "queue", "list", "--api-timeout_ms", "200", NULL) == 0;
        if (!answered)
            usleep (100000);
    }
    if (!answered)
        cr_assert_fail ("the status-aggregator did not answer (see %s)", self->dir);
    //  And the scheduler has registered (through the aggregator): a test may
    //  address it at once
    norc_db_t *db = norc_test_db_open (self->db_url);
    norc_test_db_wait_count (db, "SELECT COUNT(*) FROM daemons WHERE kind = 1 AND status = 2", 1, 10000);
    norc_db_destroy (&db);
}

void
norc_test_system_signal (norc_test_system_t *self, pid_t pid, int sig)
{
    kill (pid, sig);
    if (sig != SIGKILL && sig != SIGTERM)
        return;
    for (int i = 0; i < 1000; i++) {
        if (waitpid (pid, NULL, WNOHANG) == pid)
            break;
        usleep (10000);
    }
    //  Gone: its group is remembered (as -pid) so that the system still
    //  stops what is left in it
    for (int i = 0; i < self->count; i++)
        if (self->pids [i] == pid)
            self->pids [i] = -pid;
}

norc_db_t *
norc_test_system_db (norc_test_system_t *self)
{
    return norc_test_db_open (self->db_url);
}

void
norc_test_system_destroy (norc_test_system_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    norc_test_system_t *self = *self_p;
    norc_db_destroy (&self->db);
    for (int i = self->count - 1; i >= 0; i--)
        if (self->pids [i] > 0)
            kill (self->pids [i], SIGTERM);
    for (int i = self->count - 1; i >= 0; i--) {
        if (self->pids [i] <= 0)
            continue;
        int waited = 0;
        while (waitpid (self->pids [i], NULL, WNOHANG) == 0 && waited < 500) {
            usleep (10000);
            waited++;
        }
        if (waited == 500) {
            kill (self->pids [i], SIGKILL);
            waitpid (self->pids [i], NULL, 0);
        }
    }
    //  Whatever the services left in their groups (a task of an executor
    //  that was killed) goes with them: this test's own processes only
    for (int i = 0; i < self->count; i++)
        if (self->pids [i])
            s_own_processes ("", self->pids [i] > 0 ? self->pids [i] : -self->pids [i], SIGKILL);
    //  A sanitizer report in any service's output fails the test
    char *scan = norc_asprintf ("grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' %s/*.log "
                                "2>/dev/null", self->dir);
    FILE *found = popen (scan, "r");
    char hit [512] = "";
    if (found) {
        if (!fgets (hit, sizeof hit, found))
            hit [0] = 0;
        pclose (found);
    }
    free (scan);
    if (*hit) {
        char *show = norc_asprintf ("grep -h -A 30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' %s/*.log "
                                    "| head -60 >&2", self->dir);
        if (system (show) != 0)
            fprintf (stderr, "(could not show the report)\n");
        free (show);
        setenv ("NORC_TEST_KEEP", "1", 1);
        cr_expect_fail ("sanitizer report in service output: %s", hit);
    }
    for (int i = 0; i < self->count; i++)
        free (self->names [i]);
    for (int i = 0; self->env [i]; i++)
        free (self->env [i]);
    free (self->env);
    norc_test_db_drop (&self->db_url);
    if (!getenv ("NORC_TEST_KEEP")) {
        char *cmd = norc_asprintf ("rm -rf '%s'", self->dir);
        if (system (cmd) != 0)
            fprintf (stderr, "could not remove %s\n", self->dir);
        free (cmd);
    }
    free (self->dir);
    free (self);
    *self_p = NULL;
}

typedef struct {
    norc_db_t *db;
    const char *sql;
    int64_t want;
} s_count_t;

static bool
s_count_reached (void *arg)
{
    s_count_t *c = (s_count_t *) arg;
    return norc_test_db_int (c->db, c->sql) >= c->want;
}

void
norc_test_db_wait_count (norc_db_t *db, const char *sql, int64_t want, int timeout_ms)
{
    s_count_t c = { db, sql, want };
    cr_assert (norc_test_wait_for (s_count_reached, &c, timeout_ms), "waited %d ms for %s >= %lld (is %lld)",
               timeout_ms, sql, (long long) want, (long long) norc_test_db_int (db, sql));
}

//  The processes this test started, and theirs: the descendants of this
//  process (a child subreaper, so orphans stay among them), never the
//  rest of the machine. Signals (sig, or none when 0) each live one whose
//  command line (arguments joined by spaces) matches pattern and, unless
//  group is 0, whose process group is group; returns how many matched.
static int
s_own_processes (const char *pattern, pid_t group, int sig)
{
    regex_t re;
    if (regcomp (&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return -1;
    //  Every process's parent, from /proc
    enum { MAX = 1 << 16 };
    pid_t *pids = (pid_t *) norc_calloc (MAX, sizeof (pid_t));
    pid_t *parents = (pid_t *) norc_calloc (MAX, sizeof (pid_t));
    pid_t *groups = (pid_t *) norc_calloc (MAX, sizeof (pid_t));
    size_t n = 0;
    DIR *dir = opendir ("/proc");
    struct dirent *entry;
    while (dir && n < MAX && (entry = readdir (dir))) {
        char *end;
        long pid = strtol (entry->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char path [64], buf [512];
        snprintf (path, sizeof path, "/proc/%ld/stat", pid);
        FILE *file = fopen (path, "r");
        if (!file)
            continue;
        size_t len = fread (buf, 1, sizeof buf - 1, file);
        fclose (file);
        buf [len] = 0;
        //  "pid (comm) state ppid ...": comm may hold spaces and parens
        char *close = strrchr (buf, ')');
        char state;
        int ppid, pgrp;
        if (!close || sscanf (close + 1, " %c %d %d", &state, &ppid, &pgrp) != 3 || state == 'Z')
            continue;
        pids [n] = (pid_t) pid;
        groups [n] = (pid_t) pgrp;
        parents [n++] = (pid_t) ppid;
    }
    if (dir)
        closedir (dir);
    //  Descendants of this process, to a fixed point
    bool *mine = (bool *) norc_calloc (MAX, sizeof (bool));
    bool grew = true;
    while (grew) {
        grew = false;
        for (size_t i = 0; i < n; i++) {
            if (mine [i])
                continue;
            bool child = parents [i] == getpid ();
            for (size_t j = 0; j < n && !child; j++)
                child = mine [j] && pids [j] == parents [i];
            if (child)
                mine [i] = grew = true;
        }
    }
    int matched = 0;
    for (size_t i = 0; i < n; i++) {
        if (!mine [i] || (group && groups [i] != group))
            continue;
        char path [64], cmdline [4096];
        snprintf (path, sizeof path, "/proc/%d/cmdline", (int) pids [i]);
        FILE *file = fopen (path, "r");
        if (!file)
            continue;
        size_t len = fread (cmdline, 1, sizeof cmdline - 1, file);
        fclose (file);
        while (len && cmdline [len - 1] == 0)
            len--;
        cmdline [len] = 0;
        for (size_t k = 0; k < len; k++)
            if (cmdline [k] == 0)
                cmdline [k] = ' ';
        if (len && regexec (&re, cmdline, 0, NULL, 0) == 0) {
            matched++;
            if (sig)
                kill (pids [i], sig);
        }
    }
    regfree (&re);
    free (mine);
    free (parents);
    free (groups);
    free (pids);
    return matched;
}

static bool
s_no_process (void *arg)
{
    return s_own_processes ((const char *) arg, 0, 0) == 0;
}

static bool
s_some_process (void *arg)
{
    return s_own_processes ((const char *) arg, 0, 0) > 0;
}

bool
norc_test_process_gone (const char *pattern, int timeout_ms)
{
    return norc_test_wait_for (s_no_process, (void *) pattern, timeout_ms);
}

bool
norc_test_process_seen (const char *pattern, int timeout_ms)
{
    return norc_test_wait_for (s_some_process, (void *) pattern, timeout_ms);
}

int
norc_test_process_kill (const char *pattern, int sig)
{
    return s_own_processes (pattern, 0, sig);
}

const char *
norc_test_system_env (norc_test_system_t *self, const char *name)
{
    size_t len = strlen (name);
    for (char **e = self->env; *e; e++)
        if (strncmp (*e, name, len) == 0 && (*e) [len] == '=')
            return *e + len + 1;
    return NULL;
}

int
norc_test_file_lines (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    int lines = 0, c;
    while ((c = fgetc (file)) != EOF)
        lines += c == '\n';
    fclose (file);
    return lines;
}

pid_t
norc_test_system_pid (norc_test_system_t *self, const char *binary)
{
    for (int i = self->count - 1; i >= 0; i--)
        if (self->pids [i] > 0 && strcmp (self->names [i], binary) == 0)
            return self->pids [i];
    cr_assert_fail ("%s is not running", binary);
    return 0;
}

//  --------------------------------------------------------------------------
//  Named counts and conditions

static norc_db_t *
s_system_db (norc_test_system_t *self)
{
    if (!self->db)
        self->db = norc_test_db_open (self->db_url);
    return self->db;
}

static char *
s_count_sql (norc_test_rows_t rows, int status)
{
    const char *from = rows == NORC_TEST_INSTANCES ? "instances WHERE 1"
                     : rows == NORC_TEST_EXECUTORS ? "daemons WHERE kind = 2"
                     : rows == NORC_TEST_SCHEDULERS ? "daemons WHERE kind = 1"
                     : "daemons WHERE 1";
    if (status == NORC_TEST_ANY_STATUS)
        return norc_asprintf ("SELECT COUNT(*) FROM %s", from);
    return norc_asprintf ("SELECT COUNT(*) FROM %s AND status = %d", from, status);
}

int64_t
norc_test_count (norc_test_system_t *self, norc_test_rows_t rows, int status)
{
    char *sql = s_count_sql (rows, status);
    int64_t count = norc_test_db_int (s_system_db (self), sql);
    free (sql);
    return count;
}

void
norc_test_wait_count (norc_test_system_t *self, norc_test_rows_t rows, int status, int64_t want, int timeout_ms)
{
    char *sql = s_count_sql (rows, status);
    norc_test_db_wait_count (s_system_db (self), sql, want, timeout_ms);
    free (sql);
}

void
norc_test_system_settle (norc_test_system_t *self)
{
    const char *period_text = norc_test_system_env (self, "NORC_HEARTBEAT_PERIOD_MS");
    int64_t period_ms = period_text ? atoll (period_text) : 1000;
    norc_us_t after = norc_now_us () + 2 * period_ms * 1000;
    char *sql = norc_asprintf ("SELECT COUNT(*) = 0 FROM daemons WHERE status < 7 "
                               "AND (heartbeat IS NULL OR heartbeat < FROM_UNIXTIME(%lld.%06lld))",
                               (long long) (after / NORC_US_PER_SEC), (long long) (after % NORC_US_PER_SEC));
    norc_test_db_wait_count (s_system_db (self), sql, 1, 10000);
    free (sql);
}

typedef struct {
    char *paths [2];
    const char *text;
} s_log_wait_t;

static bool
s_log_holds (void *arg)
{
    s_log_wait_t *w = (s_log_wait_t *) arg;
    for (int i = 0; i < 2; i++) {
        FILE *file = fopen (w->paths [i], "r");
        if (!file)
            continue;
        char *data = NULL;
        size_t size = 0;
        ssize_t n = getdelim (&data, &size, '\0', file);
        fclose (file);
        bool found = n > 0 && strstr (data, w->text);
        free (data);
        if (found)
            return true;
    }
    return false;
}

bool
norc_test_log_has (norc_test_system_t *self, uint64_t instance_id, const char *text, int timeout_ms)
{
    s_log_wait_t w = { { NULL, NULL }, text };
    w.paths [0] = norc_asprintf ("%s/logs/instances/%llu/%llu", self->dir, (unsigned long long) (instance_id / 1000),
                                 (unsigned long long) instance_id);
    w.paths [1] = norc_asprintf ("%s.part", w.paths [0]);
    bool found = norc_test_wait_for (s_log_holds, &w, timeout_ms);
    free (w.paths [0]);
    free (w.paths [1]);
    return found;
}

void
norc_test_system_setenv (norc_test_system_t *self, const char *entry)
{
    size_t n = 0;
    while (self->env [n])
        n++;
    self->env = (char **) norc_realloc (self->env, (n + 2) * sizeof (char *));
    self->env [n] = norc_strdup (entry);
    self->env [n + 1] = NULL;
}

char *
norc_test_tmpdir (const char *name)
{
    char *path = norc_asprintf ("/tmp/norc-%s-XXXXXX", name);
    cr_assert_not_null (mkdtemp (path), "cannot make %s", path);
    return path;
}

void
norc_test_rmdir (char **path_p)
{
    if (!*path_p)
        return;
    char *cmd = norc_asprintf ("rm -rf '%s'", *path_p);
    cr_expect_eq (system (cmd), 0, "%s", cmd);
    free (cmd);
    free (*path_p);
    *path_p = NULL;
}

norc_msg_t *
norc_test_api_ask (zsock_t *client, const char *op, const char *key, const char *value, int timeout_ms)
{
    norc_msg_t *request = norc_msg_new (NORC_MSG_API_REQUEST);
    request->api_request.request_id = 4242;
    request->api_request.op = norc_strdup (op);
    if (key)
        norc_strmap_set (&request->api_request.args, key, value);
    norc_msg_send (&request, client);
    norc_msg_t *reply = NULL;
    if (norc_zmq_wait (client, timeout_ms) == NORC_OK)
        reply = norc_msg_recv (client);
    return reply;
}
