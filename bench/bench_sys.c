//  bench_sys.c - see bench_sys.h.
#include "bench_sys.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_migrate.h"
#include "norc_keys.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <math.h>

const char *bench_server;
const char *bench_bin;
char bench_dir [] = "/tmp/norc-bench-XXXXXX";
bool bench_curve;

void
bench_sys_init (bench_sys_t *sys, const char *name)
{
    static int serial = 0;
    memset (sys, 0, sizeof (*sys));
    sys->serial = serial++;
    sys->url = norc_asprintf ("%snorc_bench_%s_%d", bench_server, name, (int) getpid ());
    char err [512];
    if (norc_migrate_url (sys->url, err, sizeof err) != NORC_OK)
        norc_fatalx ("cannot create %s: %s", sys->url, err);
    int k = 0;
    const char *keys [] = { "AGGREGATOR_EVENTS", "AGGREGATOR_API", "AGGREGATOR_STREAM",
                            "SCHEDULER_DISPATCH", "ARCHIVER_LOGS", "ARCHIVER_FETCH" };
    for (int i = 0; i < 6; i++)
        sys->env [k++] = norc_asprintf ("NORC_%s=ipc://%s/%d-%d.ipc", keys [i], bench_dir, sys->serial, i);
    sys->env [k++] = norc_asprintf ("NORC_DB_URL=%s", sys->url);
    sys->env [k++] = norc_asprintf ("NORC_LOG_DIR=%s/logs-%d", bench_dir, sys->serial);
    sys->env [k++] = norc_asprintf ("NORC_SPOOL_DIR=%s/spool-%d", bench_dir, sys->serial);
    sys->env [k++] = norc_strdup ("NORC_LOG_LEVEL=warn");
    if (bench_curve) {
        //  CURVE on every endpoint: a pair per service and an admin's for
        //  norcctl, as the launcher makes them
        char *keys_dir = norc_asprintf ("%s/keys-%d", bench_dir, sys->serial);
        const char *names [] = { "aggregator", "scheduler", "archiver", "executor", "norcctl" };
        for (int i = 0; i < 5; i++)
            if (norc_keys_generate (keys_dir, names [i], i == 4 ? "admin" : NULL, NULL, err, sizeof err) != NORC_OK)
                norc_fatalx ("keys: %s", err);
        sys->env [k++] = norc_strdup ("NORC_SECURITY_CURVE=true");
        sys->env [k++] = norc_asprintf ("NORC_SECURITY_KEYS_DIR=%s", keys_dir);
        free (keys_dir);
    }
    sys->env [k] = NULL;
}

pid_t
bench_sys_startv (bench_sys_t *sys, const char *binary, const char *const *args)
{
    int argc = 0;
    while (args [argc])
        argc++;
    if (argc > 62)
        norc_fatalx ("%s: %d arguments, more than a benchmark starts a program with", binary, argc);
    char *path = norc_asprintf ("%s/%s", bench_bin, binary);
    char *log = norc_asprintf ("%s/%s-%d.log", bench_dir, binary, sys->serial);
    fflush (stdout);
    pid_t pid = fork ();
    if (pid == 0) {
        int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2 (fd, 1);
        dup2 (fd, 2);
        for (int i = 0; sys->env [i]; i++)
            putenv (sys->env [i]);
        const char *argv [64] = { path };
        for (int i = 0; args [i] && i < 62; i++)
            argv [i + 1] = args [i];
        execv (path, (char *const *) argv);
        _exit (127);
    }
    free (path);
    free (log);
    if (sys->count < (int) (sizeof sys->pids / sizeof sys->pids [0]))
        sys->pids [sys->count++] = pid;
    return pid;
}

void
bench_sys_kill (bench_sys_t *sys, pid_t pid)
{
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
    for (int i = 0; i < sys->count; i++)
        if (sys->pids [i] == pid)
            sys->pids [i] = sys->pids [--sys->count];
}

pid_t
bench_sys_start (bench_sys_t *sys, const char *binary, const char *a1, const char *a2, const char *a3, const char *a4)
{
    const char *args [] = { a1, a2, a3, a4, NULL };
    return bench_sys_startv (sys, binary, args);
}

void
bench_sys_stop (bench_sys_t *sys)
{
    for (int i = sys->count - 1; i >= 0; i--)
        kill (sys->pids [i], SIGTERM);
    for (int i = sys->count - 1; i >= 0; i--)
        waitpid (sys->pids [i], NULL, 0);
    norc_db_t *db = norc_db_new (sys->url, NULL);
    norc_db_drop_database (db);
    norc_db_destroy (&db);
    for (int i = 0; sys->env [i]; i++)
        free (sys->env [i]);
    free (sys->url);
}

int64_t
bench_int (norc_db_t *db, const char *sql)
{
    norc_stmt_t *st = norc_db_stmt (db, sql);
    if (norc_stmt_exec (st) != NORC_OK || norc_stmt_fetch (st) != NORC_OK)
        return -1;
    return norc_stmt_i64 (st, 0);
}

void
bench_exec (norc_db_t *db, const char *sql)
{
    if (norc_stmt_exec (norc_db_stmt (db, sql)) != NORC_OK)
        norc_fatalx ("%s: %s", sql, norc_db_errstr (db));
}


int
bench_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET };
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || bind (fd, (struct sockaddr *) &addr, sizeof addr) != 0
    ||  getsockname (fd, (struct sockaddr *) &addr, &len) != 0)
        norc_fatal ("a free loopback port");
    close (fd);
    return ntohs (addr.sin_port);
}

//  --------------------------------------------------------------------------
//  Results for bench/report.py

const char *bench_out;

static struct { char *key; double value; } s_results [128];
static size_t s_result_count;

void
bench_result (const char *key, double value)
{
    for (size_t i = 0; i < s_result_count; i++)
        if (strcmp (s_results [i].key, key) == 0) {
            s_results [i].value = value;
            return;
        }
    if (s_result_count < sizeof s_results / sizeof s_results [0]) {
        s_results [s_result_count].key = norc_strdup (key);
        s_results [s_result_count++].value = value;
    }
}

void
bench_results_write (const char *name)
{
    if (!bench_out)
        return;
    char *path = norc_asprintf ("%s/%s", bench_out, name);
    FILE *file = fopen (path, "w");
    if (!file)
        norc_fatal ("%s", path);
    fprintf (file, "{");
    for (size_t i = 0; i < s_result_count; i++)
        //  (JSON has no NaN or infinity: a figure not measured is null)
        if (isfinite (s_results [i].value))
            fprintf (file, "%s\n \"%s\": %.6g", i ? "," : "", s_results [i].key, s_results [i].value);
        else
            fprintf (file, "%s\n \"%s\": null", i ? "," : "", s_results [i].key);
    fprintf (file, "\n}\n");
    fclose (file);
    free (path);
}

void
bench_dump (norc_db_t *db, const char *sql, const char *name)
{
    if (!bench_out)
        return;
    char *path = norc_asprintf ("%s/%s", bench_out, name);
    FILE *file = fopen (path, "w");
    norc_stmt_t *st = norc_db_stmt (db, sql);
    if (!file || norc_stmt_exec (st) != NORC_OK)
        norc_fatalx ("%s: %s", path, norc_db_errstr (db));
    while (norc_stmt_fetch (st) == NORC_OK)
        fprintf (file, "%s\n", norc_stmt_str (st, 0) ? norc_stmt_str (st, 0) : "");
    fclose (file);
    free (path);
}
