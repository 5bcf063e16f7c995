//  norc_bench_schedules - one scheduler and many schedules: SCHEDULES daily
//  schedules (times spread evenly over the next day, from two minutes on) written straight into the
//  record, and ten schedules firing every second, before the scheduler
//  starts. Measured in one run:
//
//  - how long until every shard is claimed (the record) and every schedule
//    armed (the scheduler's own count, from its log);
//  - the scheduler's RSS then (and its peak), per schedule;
//  - the record's writes a second once it holds them all (rows
//    updated and inserted, commits), over WINDOW seconds: what holding
//    them costs in steady state (rows: handler updates and writes);
//  - the lateness (nominal -> enqueued) of the every-second ticks due in
//    that window, p50 / p99 / max;
//  - the takeover: a second scheduler started, the first killed -9, how
//    long until the second has armed every schedule (its log; against the
//    failure threshold; scheduler.lease_ms is 10 s).
//
//  usage: norc_bench_schedules SERVER-URL BIN-DIR [--schedules N] [--window S] [--keep]
//  (bench/schedules.sh starts a private MariaDB and runs it)
#include "bench_sys.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_store.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static int
s_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

//  The last "holding N" a scheduler logged after offset (-1: none yet)
static int64_t
s_holding (const char *log, long offset)
{
    FILE *file = fopen (log, "r");
    if (file && offset > 0)
        fseek (file, offset, SEEK_SET);
    char line [1024];
    int64_t holding = -1;
    while (file && fgets (line, sizeof line, file)) {
        char *at = strstr (line, "holding ");
        if (at)
            holding = strtoll (at + 8, NULL, 10);
    }
    if (file)
        fclose (file);
    return holding;
}

//  A field of /proc/PID/status in kB (VmRSS, VmHWM)
static int64_t
s_status_kb (pid_t pid, const char *field)
{
    char path [64], line [256];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    int64_t kb = -1;
    size_t len = strlen (field);
    while (file && fgets (line, sizeof line, file))
        if (strncmp (line, field, len) == 0 && line [len] == ':')
            kb = strtoll (line + len + 1, NULL, 10);
    if (file)
        fclose (file);
    return kb;
}

static int64_t
s_global (norc_db_t *db, const char *name)
{
    char *sql = norc_asprintf ("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                               "WHERE VARIABLE_NAME = '%s'", name);
    int64_t value = bench_int (db, sql);
    free (sql);
    return value;
}

int
main (int argc, char *argv [])
{
    if (argc < 3) {
        fprintf (stderr, "usage: norc_bench_schedules SERVER-URL BIN-DIR [--schedules N] [--window S] [--keep]\n");
        return 2;
    }
    bench_server = argv [1];
    bench_bin = argv [2];
    int64_t schedules = 100000;
    int window = 30;
    bool keep = false;
    for (int i = 3; i < argc; i++) {
        if (strcmp (argv [i], "--schedules") == 0 && i + 1 < argc)
            schedules = atoll (argv [++i]);
        else
        if (strcmp (argv [i], "--window") == 0 && i + 1 < argc)
            window = atoi (argv [++i]);
        else
        if (strcmp (argv [i], "--keep") == 0)
            keep = true;
        else
            norc_fatalx ("unknown argument %s", argv [i]);
    }
    if (schedules < 1 || window < 5)
        norc_fatalx ("--schedules from 1, --window from 5");
    norc_log_init ("bench", NORC_LOG_WARN);
    if (!mkdtemp (bench_dir))
        norc_fatal ("mkdtemp");
    bench_sys_t sys;
    bench_sys_init (&sys, "sched");
    norc_db_t *db = norc_db_new (sys.url, NULL);
    bench_exec (db, "SET SESSION foreign_key_checks = 0");
    bench_exec (db, "SET SESSION unique_checks = 0");
    bench_exec (db, "INSERT INTO queues (name, kind, created_at) VALUES ('daily', 1, UTC_TIMESTAMP(6)), "
                    "('tick', 1, UTC_TIMESTAMP(6))");
    bench_exec (db, "INSERT INTO tasks (name, kind, command, timeout_s, created_at) "
                    "VALUES ('t', 1, 'true', 60, UTC_TIMESTAMP(6))");
    //  Daily schedules over the next day from two minutes on (none due at
    //  once: what is measured is holding them, not catching up), then ten
    //  every second from two seconds on
    norc_us_t t_insert = norc_mono_us ();
    for (int64_t from = 0; from < schedules; from += 1000000) {
        int64_t n = schedules - from < 1000000 ? schedules - from : 1000000;
        char *sql = norc_asprintf (
            "INSERT INTO schedules (task_id, queue_id, kind, start_at, period_s, repetitions, remaining, created_at) "
            "SELECT 1, 1, 1, DATE_ADD(UTC_TIMESTAMP(), INTERVAL 120 + FLOOR((%lld + seq) * 86400 / %lld) SECOND), 86400, 0, 0, "
            "UTC_TIMESTAMP(6) FROM seq_1_to_%lld", (long long) from, (long long) schedules, (long long) n);
        bench_exec (db, sql);
        free (sql);
    }
    bench_exec (db, "INSERT INTO schedules (task_id, queue_id, kind, start_at, period_s, repetitions, remaining, "
                    "created_at) SELECT 1, 2, 1, DATE_ADD(UTC_TIMESTAMP(), INTERVAL 2 SECOND), 1, 0, 0, "
                    "UTC_TIMESTAMP(6) FROM seq_1_to_10");
    double insert_s = (double) (norc_mono_us () - t_insert) / NORC_US_PER_SEC;
    bench_exec (db, "ANALYZE TABLE schedules");
    int64_t total = schedules + 10;

    bench_sys_start (&sys, "norc-aggregator", NULL, NULL, NULL, NULL);
    usleep (300000);
    norc_us_t t0 = norc_mono_us ();
    pid_t scheduler = bench_sys_start (&sys, "norc-scheduler", "--log.level", "info", NULL, NULL);
    char *log = norc_asprintf ("%s/norc-scheduler-%d.log", bench_dir, sys.serial);
    double claimed_s = -1, armed_s = -1;
    norc_us_t give_up = t0 + 1200 * NORC_US_PER_SEC;
    while ((claimed_s < 0 || armed_s < 0) && norc_mono_us () < give_up) {
        usleep (100000);
        double at = (double) (norc_mono_us () - t0) / NORC_US_PER_SEC;
        if (claimed_s < 0 && bench_int (db, "SELECT COUNT(*) FROM schedule_shards WHERE owner IS NOT NULL")
                             >= NORC_SCHEDULE_SHARDS)
            claimed_s = at;
        if (armed_s < 0 && s_holding (log, 0) >= total)
            armed_s = at;
    }
    int64_t rss = s_status_kb (scheduler, "VmRSS"), peak = s_status_kb (scheduler, "VmHWM");
    //  Steady state: what holding them all costs the record, and the lateness of the ticks due
    norc_us_t from_wall = norc_now_us () + NORC_US_PER_SEC;
    int64_t updated = s_global (db, "HANDLER_UPDATE"), inserted = s_global (db, "HANDLER_WRITE");
    int64_t commits = s_global (db, "COM_COMMIT");
    usleep ((useconds_t) window * 1000000);
    updated = s_global (db, "HANDLER_UPDATE") - updated;
    inserted = s_global (db, "HANDLER_WRITE") - inserted;
    commits = s_global (db, "COM_COMMIT") - commits;
    norc_us_t to_wall = norc_now_us () - NORC_US_PER_SEC;
    usleep (1000000);
    char *sql = norc_asprintf ("SELECT TIMESTAMPDIFF(MICROSECOND, nominal, enqueued_at) FROM instances "
                               "WHERE queue_id = 2 AND nominal >= FROM_UNIXTIME(%lld / 1e6) "
                               "AND nominal < FROM_UNIXTIME(%lld / 1e6) ORDER BY 1",
                               (long long) from_wall, (long long) to_wall);
    norc_stmt_t *st = norc_db_stmt (db, sql);
    int64_t *late = NULL;
    size_t n = 0;
    if (norc_stmt_exec (st) == NORC_OK)
        while (norc_stmt_fetch (st) == NORC_OK) {
            late = (int64_t *) norc_realloc (late, (n + 1) * sizeof (int64_t));
            late [n++] = norc_stmt_i64 (st, 0);
        }
    free (sql);
    qsort (late, n, sizeof (int64_t), s_cmp);
    //  Takeover: a second scheduler waits; the first is killed -9; how long
    //  until the second holds every schedule
    pid_t second = bench_sys_start (&sys, "norc-scheduler", "--log.level", "info", NULL, NULL);
    int64_t second_id = -1;
    for (int i = 0; i < 100 && second_id <= 0; i++) {
        usleep (100000);
        char *q = norc_asprintf ("SELECT COALESCE(MAX(id), 0) FROM daemons WHERE kind = 1 AND pid = %d", (int) second);
        second_id = bench_int (db, q);
        free (q);
    }
    usleep (500000);
    //  (both schedulers log to one file: what follows the kill is the second's)
    norc_us_t killed = norc_mono_us ();
    bench_sys_kill (&sys, scheduler);
    FILE *file = fopen (log, "r");
    long offset = 0;
    if (file && fseek (file, 0, SEEK_END) == 0)
        offset = ftell (file);
    if (file)
        fclose (file);
    double takeover_s = -1;
    while (norc_mono_us () - killed < 600 * NORC_US_PER_SEC) {
        if (s_holding (log, offset) >= total) {
            takeover_s = (double) (norc_mono_us () - killed) / NORC_US_PER_SEC;
            break;
        }
        usleep (100000);
    }
    const int64_t failure_ms = 5000;        //  heartbeat.failure_ms: the default, which the services run with
    printf ("| schedules | inserted in (s) | all claimed after (s) | all armed after (s) | scheduler RSS (MB) | "
            "peak (MB) | bytes per schedule | rows written a second, holding them | commits a second | "
            "ticks due in %d s | nominal -> enqueued p50 / p99 / max (ms) | takeover after a kill -9 (s) |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|\n", window);
    printf ("| %lld | %.1f | %s | %s | %.0f | %.0f | %.0f | %.1f | %.1f | %zu | %.1f / %.1f / %.1f | %s |\n",
            (long long) schedules, insert_s,
            claimed_s < 0 ? "not reached" : norc_asprintf ("%.1f", claimed_s),
            armed_s < 0 ? "not reached" : norc_asprintf ("%.1f", armed_s),
            rss / 1024.0, peak / 1024.0, rss * 1024.0 / (double) total,
            (double) (updated + inserted) / window, (double) commits / window, n,
            n ? late [n / 2] / 1000.0 : 0, n ? late [(n * 99) / 100] / 1000.0 : 0, n ? late [n - 1] / 1000.0 : 0,
            takeover_s < 0 ? "not reached" : norc_asprintf ("%.1f (%.1f x heartbeat.failure_ms)", takeover_s,
                                                            takeover_s * 1000 / (double) failure_ms));
    free (late);
    free (log);
    norc_db_destroy (&db);
    bench_sys_stop (&sys);
    char *rm = norc_asprintf ("rm -rf '%s'", bench_dir);
    if (keep)
        printf ("\n(kept %s)\n", bench_dir);
    else
    if (system (rm) != 0)
        norc_log_warnx ("could not remove %s", bench_dir);
    free (rm);
    return 0;
}
