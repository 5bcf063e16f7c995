//  norc_bench - measures Norc against this machine's own limits, in one run.
//
//  (a) the machine: posix_spawn of "/bin/sh -c true" and of /bin/true per
//      second (8 in flight), and MariaDB commits per second;
//  (b) end-to-end throughput of `true` instances from dispatch to durable
//      final status, with 1 and 2 executors of -c 8, and with one executor
//      that has a core to itself (an executor-only host);
//  (c) lateness from nominal fire time to the child's start, p50/p99/max,
//      with schedules firing every second at half the spawn limit (their
//      ticks spread evenly over the second), two executors of -c 32;
//  (d) the pipeline without spawning: ticks created, dispatched and
//      recorded per second, with an executor in its benchmark-only
//      --benchmark-instant mode;
//  (e) failover of a scheduler and of an executor;
//  (f) memory: the scheduler's and aggregator's RSS per instance queued
//      with no executor.
//  With --out DIR, the figures also go to DIR/norc.json and the lateness
//  samples to DIR/norc-*.txt, for bench/report.py (Celery beside Norc).
//
//  usage: norc_bench SERVER-URL BIN-DIR [--lateness-seconds N]
//  (bench/run.sh starts a private MariaDB and runs it). Prints Markdown.
#include "bench_sys.h"
#include "norc.h"
#include "norc_db.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_migrate.h"
#include "norc_keys.h"
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;


//  --------------------------------------------------------------------------
//  (a) machine limits

static double
s_spawn_rate (char *const argv [], double seconds)
{
    norc_us_t start = norc_mono_us (), end = start + (norc_us_t) (seconds * 1e6);
    int in_flight = 0;
    long done = 0;
    while (norc_mono_us () < end || in_flight > 0) {
        while (in_flight < 8 && norc_mono_us () < end) {
            pid_t pid;
            if (posix_spawn (&pid, argv [0], NULL, NULL, argv, environ) != 0)
                break;
            in_flight++;
        }
        if (in_flight && wait (NULL) > 0) {
            in_flight--;
            done++;
        }
    }
    return done / ((norc_mono_us () - start) / 1e6);
}

static int
s_insert_one (norc_db_t *db, void *arg)
{
    norc_stmt_t *st = norc_db_stmt (db, "INSERT INTO bench_commits (n) VALUES (?)");
    norc_stmt_bind_i64 (st, 0, *(int64_t *) arg);
    return norc_stmt_exec (st);
}

static double
s_commit_rate (const char *url, double seconds)
{
    norc_db_t *db = norc_db_new (url, NULL);
    norc_stmt_exec (norc_db_stmt (db, "CREATE TABLE IF NOT EXISTS bench_commits "
                                      "(id BIGINT AUTO_INCREMENT PRIMARY KEY, n BIGINT) ENGINE=InnoDB"));
    norc_us_t start = norc_mono_us (), end = start + (norc_us_t) (seconds * 1e6);
    int64_t n = 0;
    while (norc_mono_us () < end)
        if (norc_db_txn (db, s_insert_one, &n) == NORC_OK)
            n++;
    double rate = n / ((norc_mono_us () - start) / 1e6);
    norc_db_destroy (&db);
    return rate;
}

//  The command of the task every part runs: `true` (one plain word: the
//  executor execs /bin/true directly), or what a part sets
static const char *s_command = "true";

static void
s_define (norc_db_t *db)
{
    bench_exec (db, "INSERT INTO queues (name, kind, created_at) VALUES ('Q', 1, UTC_TIMESTAMP(6))");
    char *sql = norc_asprintf ("INSERT INTO tasks (name, kind, command, created_at) VALUES ('T', 1, '%s', "
                               "UTC_TIMESTAMP(6))", s_command);
    bench_exec (db, sql);
    free (sql);
}

//  --------------------------------------------------------------------------
//  (b) throughput

//  CPU time (user + system, in µs) a process has used, its children not counted
static int64_t
s_cpu_us (pid_t pid)
{
    char path [64], buf [1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return 0;
    size_t n = fread (buf, 1, sizeof buf - 1, file);
    fclose (file);
    buf [n] = 0;
    char *p = strrchr (buf, ')');
    unsigned long long utime = 0, stime = 0;
    //  Fields 14 and 15, counted from the one after the command name (3)
    for (int field = 2; p && field < 14; field++)
        p = strchr (p + 1, ' ');
    if (!p || sscanf (p, " %llu %llu", &utime, &stime) != 2)
        return 0;
    return (int64_t) ((utime + stime) * 1000000ULL / (unsigned long long) sysconf (_SC_CLK_TCK));
}

//  The busy and total time (clock ticks) of one core, or of every core
//  (cpu < 0), from /proc/stat: busy / total over a run is how much of it
//  the run used
static void
s_machine_ticks (int cpu, unsigned long long *busy, unsigned long long *total)
{
    unsigned long long v [8] = { 0 };
    *busy = *total = 0;
    FILE *file = fopen ("/proc/stat", "r");
    if (!file)
        return;
    char want [16], line [512];
    snprintf (want, sizeof want, cpu < 0 ? "cpu " : "cpu%d ", cpu);
    while (fgets (line, sizeof line, file))
        if (strncmp (line, want, strlen (want)) == 0
        &&  sscanf (line + strlen (want), "%llu %llu %llu %llu %llu %llu %llu %llu",
                    &v [0], &v [1], &v [2], &v [3], &v [4], &v [5], &v [6], &v [7]) == 8) {
            for (int i = 0; i < 8; i++)
                *total += v [i];
            *busy = *total - v [3] - v [4];        //  idle and iowait
            break;
        }
    fclose (file);
}

//  Every thread of a process on one core (only), or on every core but
//  that one (but), or on every core (cpu < 0)
static void
s_pin (pid_t pid, int cpu, bool but)
{
    cpu_set_t set;
    CPU_ZERO (&set);
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    for (int c = 0; c < cores && c < CPU_SETSIZE; c++)
        if (cpu < 0 || (c == cpu) != but)
            CPU_SET (c, &set);
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/task", (int) pid);
    DIR *dir = opendir (path);
    struct dirent *entry;
    while (dir && (entry = readdir (dir)))
        if (entry->d_name [0] != '.')
            sched_setaffinity ((pid_t) atoi (entry->d_name), sizeof set, &set);
    if (dir)
        closedir (dir);
    else
        sched_setaffinity (pid, sizeof set, &set);
}

static double s_machine_busy [3];         //  share used: of the machine by 1 or 2 executors (index),
                                          //  of the executor's own core when it has one (0)

//  The executor's CPU per instance when it had a core of its own (µs)
static double s_exec_cpu_alone = -1;

//  Per service CPU per instance of the last one-executor throughput run
static double s_cpu_per_instance [5];   //  scheduler, aggregator, archiver, executor, MariaDB (µs)

//  The database server's process, when it runs on this machine (its pid
//  file names it), else 0
static pid_t
s_server_pid (norc_db_t *db)
{
    norc_stmt_t *st = norc_db_stmt (db, "SELECT @@pid_file");
    pid_t pid = 0;
    if (norc_stmt_exec (st) == NORC_OK && norc_stmt_fetch (st) == NORC_OK && norc_stmt_str (st, 0)) {
        FILE *file = fopen (norc_stmt_str (st, 0), "r");
        int n = 0;
        if (file && fscanf (file, "%d", &n) == 1 && n > 0 && kill (n, 0) == 0)
            pid = n;
        if (file)
            fclose (file);
    }
    return pid;
}

//  End to end with executors of -c slots. With exec_cpu >= 0 (one executor),
//  it and its children have that core to themselves and everything else
//  (the other services, the database, this program) shares the others:
//  one host that only executes, as Norc is deployed on many hosts.
static double
s_throughput (int executors, const char *slots, int count, int exec_cpu)
{
    bench_sys_t sys;
    bench_sys_init (&sys, exec_cpu >= 0 ? "tpx" : executors == 1 ? "tp1" : "tp2");
    norc_db_t *db = norc_db_new (sys.url, NULL);
    s_define (db);
    //  The instances wait in MySQL before anything starts: what is measured
    //  is dispatch -> run -> durable final status
    char *sql = norc_asprintf ("INSERT INTO instances (task_id, queue_id, trigger_kind, status, enqueued_at) "
                               "SELECT 1, 1, 2, 1, UTC_TIMESTAMP(6) FROM seq_1_to_%d", count);
    bench_exec (db, sql);
    free (sql);
    pid_t server = s_server_pid (db);
    if (exec_cpu >= 0) {
        s_pin (getpid (), exec_cpu, true);      //  the services started below inherit it
        if (server)
            s_pin (server, exec_cpu, true);
    }
    bench_sys_start (&sys, "norc-aggregator", NULL, NULL, NULL, NULL);
    bench_sys_start (&sys, "norc-archiver", NULL, NULL, NULL, NULL);
    bench_sys_start (&sys, "norc-scheduler", NULL, NULL, NULL, NULL);
    usleep (500000);
    int64_t server_cpu = server ? s_cpu_us (server) : 0;
    unsigned long long busy0, total0, busy1, total1;
    s_machine_ticks (exec_cpu, &busy0, &total0);
    norc_us_t start = norc_mono_us ();
    for (int i = 0; i < executors; i++) {
        //  Pinned before it has registered, so before any child it spawns
        pid_t pid = bench_sys_start (&sys, "norc-executor", "Q", "-c", slots, NULL);
        if (exec_cpu >= 0)
            s_pin (pid, exec_cpu, false);
    }
    //  Asking whether anything is left (one index lookup, not a count)
    //  keeps the poll cheap for the database the run is measuring
    while (bench_int (db, "SELECT EXISTS (SELECT 1 FROM instances FORCE INDEX (instances_status) WHERE status < 7)")
       && norc_mono_us () - start < 120 * NORC_US_PER_SEC)
        usleep (20000);
    double seconds = (norc_mono_us () - start) / 1e6;
    s_machine_ticks (exec_cpu, &busy1, &total1);
    if (exec_cpu != -2)
        s_machine_busy [exec_cpu >= 0 ? 0 : executors] = total1 > total0
        ? (double) (busy1 - busy0) / (double) (total1 - total0) : -1;
    int64_t done = bench_int (db, "SELECT COUNT(*) FROM instances WHERE status = 7");
    if (exec_cpu >= 0) {
        s_exec_cpu_alone = done > 0 ? (double) s_cpu_us (sys.pids [3]) / (double) done : -1;
        s_pin (getpid (), -1, false);
        if (server)
            s_pin (server, -1, false);
    }
    else
    if (executors == 1 && done > 0 && exec_cpu == -1) {
        //  pids: aggregator, archiver, scheduler, executor
        static const int order [4] = { 2, 0, 1, 3 };
        for (int i = 0; i < 4; i++)
            s_cpu_per_instance [i] = (double) s_cpu_us (sys.pids [order [i]]) / (double) done;
        //  The server's CPU over the run (the poll above included: one
        //  index lookup every 20 ms)
        s_cpu_per_instance [4] = server ? (double) (s_cpu_us (server) - server_cpu) / (double) done : -1;
    }
    norc_db_destroy (&db);
    bench_sys_stop (&sys);
    return done / seconds;
}

//  --------------------------------------------------------------------------
//  (c) lateness and (d) pipeline capacity

typedef struct {
    double p50, p99, max;       //  ms
    int64_t count;
    double rate;                //  final instances per second
} s_lateness_t;

static double
s_percentile (norc_db_t *db, const char *expr, const char *where, double p, int64_t count)
{
    char *sql = norc_asprintf ("SELECT %s AS x FROM instances WHERE %s ORDER BY x LIMIT 1 OFFSET %lld",
                               expr, where, (long long) (p * (count - 1)));
    norc_stmt_t *st = norc_db_stmt (db, sql);
    double v = -1;
    if (norc_stmt_exec (st) == NORC_OK && norc_stmt_fetch (st) == NORC_OK)
        v = norc_stmt_i64 (st, 0) / 1000.0;
    free (sql);
    return v;
}

//  With dump, the window's lateness (ms), one a line, goes to that file of
//  bench_out, and the start times of the instances (Unix seconds) to
//  dump-starts.txt
static s_lateness_t
s_schedules_run (const char *name, int schedules, int seconds, bool instant, const char *dump)
{
    bench_sys_t sys;
    bench_sys_init (&sys, name);
    norc_db_t *db = norc_db_new (sys.url, NULL);
    s_define (db);
    char *sql = norc_asprintf (
        "INSERT INTO schedules (task_id, queue_id, kind, start_at, period_s, repetitions, remaining, created_at) "
        "SELECT 1, 1, 1, UTC_TIMESTAMP(6) + INTERVAL 3 SECOND + INTERVAL (seq * 1000000 DIV %d) MICROSECOND, "
        "1, 0, 0, UTC_TIMESTAMP(6) FROM seq_1_to_%d",
        schedules, schedules);
    bench_exec (db, sql);
    free (sql);
    bench_sys_start (&sys, "norc-aggregator", NULL, NULL, NULL, NULL);
    bench_sys_start (&sys, "norc-archiver", NULL, NULL, NULL, NULL);
    usleep (300000);
    if (instant)
        bench_sys_start (&sys, "norc-executor", "Q", "-c", "10000", "--benchmark-instant");
    else {
        //  Slots enough for the load: with 8 each the slots, not the
        //  machine, were the queue at half the spawn limit
        bench_sys_start (&sys, "norc-executor", "Q", "-c", "32", NULL);
        bench_sys_start (&sys, "norc-executor", "Q", "-c", "32", NULL);
    }
    bench_sys_start (&sys, "norc-scheduler", NULL, NULL, NULL, NULL);
    sleep ((unsigned) seconds + 3);
    kill (sys.pids [sys.count - 1], SIGTERM);      //  the scheduler: no more ticks
    waitpid (sys.pids [sys.count - 1], NULL, 0);
    sys.count--;
    sleep (2);
    //  Measure the ticks of the window, after a second of warm-up
    const char *where = "nominal >= (SELECT MIN(nominal) FROM instances) + INTERVAL 1 SECOND "
                        "AND started_at IS NOT NULL";
    s_lateness_t r = { 0 };
    sql = norc_asprintf ("SELECT COUNT(*) FROM instances WHERE %s", where);
    r.count = bench_int (db, sql);
    free (sql);
    const char *expr = "TIMESTAMPDIFF(MICROSECOND, nominal, started_at)";
    r.p50 = s_percentile (db, expr, where, 0.50, r.count);
    r.p99 = s_percentile (db, expr, where, 0.99, r.count);
    sql = norc_asprintf ("SELECT MAX(%s) FROM instances WHERE %s", expr, where);
    r.max = bench_int (db, sql) / 1000.0;
    free (sql);
    if (dump) {
        sql = norc_asprintf ("SELECT %s / 1000 AS x FROM instances WHERE %s ORDER BY x", expr, where);
        char *file = norc_asprintf ("%s.txt", dump);
        bench_dump (db, sql, file);
        free (sql);
        free (file);
        sql = norc_asprintf ("SELECT UNIX_TIMESTAMP(started_at) AS x FROM instances WHERE %s ORDER BY x", where);
        file = norc_asprintf ("%s-starts.txt", dump);
        bench_dump (db, sql, file);
        free (sql);
        free (file);
    }
    int64_t span = bench_int (db, "SELECT TIMESTAMPDIFF(MICROSECOND, MIN(nominal), MAX(nominal)) FROM instances "
                              "WHERE status = 7");
    int64_t final = bench_int (db, "SELECT COUNT(*) FROM instances WHERE status = 7");
    //  Ticks evenly spaced: the rate is the gaps between the first and the
    //  last over the time between them
    r.rate = span > 0 && final > 1 ? (final - 1) / (span / 1e6) : 0;
    norc_db_destroy (&db);
    bench_sys_stop (&sys);
    return r;
}

//  --------------------------------------------------------------------------
//  (e) failover, with the default liveness settings

//  A UTC wall-clock time as MySQL DATETIME(6) text.
static char *
s_sql_time (norc_us_t t)
{
    char iso [64];
    norc_time_iso (t, iso, sizeof iso);
    iso [10] = ' ';                     //  "YYYY-MM-DD HH:MM:SS.ffffff"
    iso [strcspn (iso, "Z")] = 0;
    return norc_strdup (iso);
}

static double
s_wait_ms (norc_db_t *db, const char *sql, int64_t want, norc_us_t since, int timeout_s)
{
    while (bench_int (db, sql) < want && norc_mono_us () - since < timeout_s * NORC_US_PER_SEC)
        usleep (5000);
    return (norc_mono_us () - since) / 1000.0;
}

//  The scheduler that dispatches and holds schedules is killed -9; the
//  other takes over. Returns the gap from the kill to the first instance
//  the survivor creates for one of the victim's schedules.
static double
s_failover_scheduler (double *threshold_ms)
{
    bench_sys_t sys;
    bench_sys_init (&sys, "failover");
    norc_db_t *db = norc_db_new (sys.url, NULL);
    s_define (db);
    bench_exec (db, "INSERT INTO schedules (task_id, queue_id, kind, start_at, period_s, repetitions, remaining, "
                "created_at) SELECT 1, 1, 1, UTC_TIMESTAMP(6), 1, 0, 0, UTC_TIMESTAMP(6) FROM seq_1_to_20");
    char *first = norc_asprintf ("ipc://%s/%d-3.ipc", bench_dir, sys.serial);
    char *second = norc_asprintf ("ipc://%s/failover-second.ipc", bench_dir);
    char *both = norc_asprintf ("%s,%s", first, second);
    bench_sys_start (&sys, "norc-aggregator", NULL, NULL, NULL, NULL);
    bench_sys_start (&sys, "norc-archiver", NULL, NULL, NULL, NULL);
    pid_t victim = bench_sys_start (&sys, "norc-scheduler", NULL, NULL, NULL, NULL);
    usleep (1000000);
    bench_sys_start (&sys, "norc-scheduler", "--scheduler.dispatch", second, NULL, NULL);
    const char *eargs [] = { "Q", "-c", "8", "--scheduler.dispatch", both, NULL };
    bench_sys_startv (&sys, "norc-executor", eargs);
    usleep (5000000);
    char *sql = norc_asprintf ("SELECT id FROM daemons WHERE pid = %d AND kind = 1", (int) victim);
    int64_t victim_id = bench_int (db, sql);
    free (sql);
    sql = norc_asprintf ("SELECT GROUP_CONCAT(s.id) FROM schedules s JOIN schedule_shards h ON h.shard = s.shard "
                         "WHERE h.owner = %lld", (long long) victim_id);
    norc_stmt_t *st = norc_db_stmt (db, sql);
    char *held = NULL;
    if (norc_stmt_exec (st) == NORC_OK && norc_stmt_fetch (st) == NORC_OK && norc_stmt_str (st, 0))
        held = norc_strdup (norc_stmt_str (st, 0));
    free (sql);
    if (!held)
        norc_fatalx ("failover: the first scheduler holds no schedule");
    kill (victim, SIGKILL);
    norc_us_t killed = norc_mono_us ();
    char *since = s_sql_time (norc_now_us ());
    sql = norc_asprintf ("SELECT COUNT(*) FROM instances WHERE schedule_id IN (%s) AND enqueued_at > '%s'",
                         held, since);
    double gap = s_wait_ms (db, sql, 1, killed, 60);
    free (sql);
    free (since);
    free (held);
    *threshold_ms = 5000;
    norc_db_destroy (&db);
    bench_sys_stop (&sys);
    free (first);
    free (second);
    free (both);
    return gap;
}

//  An executor running 8 instances is killed -9: time until all 8 are final.
static double
s_failover_executor (void)
{
    bench_sys_t sys;
    bench_sys_init (&sys, "lost");
    norc_db_t *db = norc_db_new (sys.url, NULL);
    bench_exec (db, "INSERT INTO queues (name, kind, created_at) VALUES ('Q', 1, UTC_TIMESTAMP(6))");
    bench_exec (db, "INSERT INTO tasks (name, kind, command, created_at) VALUES ('T', 1, 'sleep 60.0417', UTC_TIMESTAMP(6))");
    bench_exec (db, "INSERT INTO instances (task_id, queue_id, trigger_kind, status, enqueued_at) "
                "SELECT 1, 1, 2, 1, UTC_TIMESTAMP(6) FROM seq_1_to_8");
    bench_sys_start (&sys, "norc-aggregator", NULL, NULL, NULL, NULL);
    bench_sys_start (&sys, "norc-archiver", NULL, NULL, NULL, NULL);
    bench_sys_start (&sys, "norc-scheduler", NULL, NULL, NULL, NULL);
    pid_t victim = bench_sys_start (&sys, "norc-executor", "Q", "-c", "8", NULL);
    s_wait_ms (db, "SELECT COUNT(*) FROM instances WHERE status = 2", 8, norc_mono_us (), 30);
    kill (victim, SIGKILL);
    norc_us_t killed = norc_mono_us ();
    double ms = s_wait_ms (db, "SELECT COUNT(*) FROM instances WHERE status >= 7", 8, killed, 60);
    norc_db_destroy (&db);
    bench_sys_stop (&sys);
    //  Only the bench's own (an argument nothing else uses), not every sleep 60
    if (system ("pkill -KILL -f '^sleep 60[.]0417$'") < 0)
        norc_log_warnx ("could not clean up");
    return ms;
}

//  --------------------------------------------------------------------------
//  (f) memory: instances queued with no executor to take them

static double
s_rss_mb (pid_t pid)
{
    char path [64], line [256];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    long kb = -1;
    while (file && fgets (line, sizeof line, file))
        if (sscanf (line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (file)
        fclose (file);
    return kb / 1024.0;
}

//  The scheduler and aggregator's RSS before and after `count` instances
//  were made by their schedules (in about 20 s) and left queued, no
//  executor serving the queue: rss [0..1] the scheduler's, [2..3] the
//  aggregator's (MB). Returns how many were queued.
static int64_t
s_memory (int count, double rss [4])
{
    bench_sys_t sys;
    bench_sys_init (&sys, "memory");
    norc_db_t *db = norc_db_new (sys.url, NULL);
    s_define (db);
    int schedules = count / 20 > 1000 ? count / 20 : 1000, repetitions = (count + schedules - 1) / schedules;
    char *sql = norc_asprintf (
        "INSERT INTO schedules (task_id, queue_id, kind, start_at, period_s, repetitions, remaining, created_at) "
        "SELECT 1, 1, 1, UTC_TIMESTAMP(6) + INTERVAL 4 SECOND + INTERVAL (seq * 1000000 DIV %d) MICROSECOND, "
        "1, %d, %d, UTC_TIMESTAMP(6) FROM seq_1_to_%d", schedules, repetitions, repetitions, schedules);
    bench_exec (db, sql);
    free (sql);
    pid_t aggregator = bench_sys_start (&sys, "norc-aggregator", NULL, NULL, NULL, NULL);
    bench_sys_start (&sys, "norc-archiver", NULL, NULL, NULL, NULL);
    pid_t scheduler = bench_sys_start (&sys, "norc-scheduler", NULL, NULL, NULL, NULL);
    sleep (3);                          //  the schedules claimed, no tick yet
    rss [0] = s_rss_mb (scheduler);
    rss [2] = s_rss_mb (aggregator);
    int64_t total = (int64_t) schedules * repetitions;
    norc_us_t start = norc_mono_us ();
    while (bench_int (db, "SELECT COUNT(*) FROM instances") < total
       &&  norc_mono_us () - start < (norc_us_t) (repetitions + 60) * NORC_US_PER_SEC)
        sleep (1);
    sleep (3);                          //  what is made is dispatched (to nobody) and recorded
    rss [1] = s_rss_mb (scheduler);
    rss [3] = s_rss_mb (aggregator);
    int64_t queued = bench_int (db, "SELECT COUNT(*) FROM instances WHERE status = 1");
    norc_db_destroy (&db);
    bench_sys_stop (&sys);
    return queued;
}

int
main (int argc, char *argv [])
{
    if (argc < 3) {
        fprintf (stderr, "usage: norc_bench SERVER-URL BIN-DIR [--lateness-seconds N] [--only pipeline|failover|"
                 "throughput|lateness|memory] [--pipeline-schedules N] [--throughput-count N] [--curve true] "
                 "[--out DIR] [--beat-seconds N] [--queued N]\n");
        return 2;
    }
    bench_server = argv [1];
    bench_bin = argv [2];
    int lateness_seconds = 60;
    const char *only = NULL;
    int many = 30000;               //  (d): schedules firing every second, above capacity
    int count = 0;                  //  (b): instances per run (0: three seconds of spawning, 300 to 3000)
    int beat_seconds = 30;          //  (c): one schedule every second, as long
    int queued = 100000;            //  (f): instances left queued
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp (argv [i], "--lateness-seconds") == 0)
            lateness_seconds = atoi (argv [i + 1]);
        else
        if (strcmp (argv [i], "--only") == 0)
            only = argv [i + 1];    //  "pipeline", "failover" or "throughput" (one executor): one part alone
        else
        if (strcmp (argv [i], "--pipeline-schedules") == 0)
            many = atoi (argv [i + 1]);
        else
        if (strcmp (argv [i], "--throughput-count") == 0)
            count = atoi (argv [i + 1]);
        else
        if (strcmp (argv [i], "--curve") == 0)
            bench_curve = strcmp (argv [i + 1], "true") == 0;
        else
        if (strcmp (argv [i], "--out") == 0)
            bench_out = argv [i + 1];   //  norc.json and samples, for bench/report.py
        else
        if (strcmp (argv [i], "--beat-seconds") == 0)
            beat_seconds = atoi (argv [i + 1]);
        else
        if (strcmp (argv [i], "--queued") == 0)
            queued = atoi (argv [i + 1]);
    }
    norc_log_init ("bench", NORC_LOG_WARN);
    if (bench_out && mkdir (bench_out, 0755) != 0 && errno != EEXIST)
        norc_fatal ("%s", bench_out);
    if (!mkdtemp (bench_dir))
        norc_fatal ("mkdtemp");
    long cores = sysconf (_SC_NPROCESSORS_ONLN);

    char *sh [] = { (char *) "/bin/sh", (char *) "-c", (char *) "true", NULL };
    char *direct [] = { (char *) "/bin/true", NULL };
    double spawn_sh = s_spawn_rate (sh, 3);
    double spawn_direct = s_spawn_rate (direct, 3);
    char *url = norc_asprintf ("%snorc_bench_commits_%d", bench_server, (int) getpid ());
    char err [512];
    norc_migrate_url (url, err, sizeof err);
    double commits = s_commit_rate (url, 3);
    norc_db_t *db = norc_db_new (url, NULL);
    norc_db_drop_database (db);
    norc_db_destroy (&db);
    free (url);
    printf ("## Machine limits (measured in this run)\n\n");
    printf ("| limit | per second |\n|---|---|\n");
    printf ("| CPU cores | %ld |\n", cores);
    printf ("| posix_spawn `/bin/sh -c true`, 8 in flight | %.0f |\n", spawn_sh);
    printf ("| posix_spawn `/bin/true` (direct exec), 8 in flight | %.0f |\n", spawn_direct);
    printf ("| MariaDB commits (one connection, one row each, durable) | %.0f |\n\n", commits);
    fflush (stdout);
    bench_result ("cores", (double) cores);
    bench_result ("spawn_sh_per_s", spawn_sh);
    bench_result ("spawn_direct_per_s", spawn_direct);
    bench_result ("commits_per_s", commits);
    bench_results_write ("norc.json");

    if (only && strcmp (only, "pipeline") == 0)
        goto pipeline;
    if (only && strcmp (only, "failover") == 0)
        goto failover;
    if (only && strcmp (only, "lateness") == 0)
        goto lateness;
    if (only && strcmp (only, "memory") == 0)
        goto memory;
    if (count <= 0) {
        count = (int) (spawn_direct * 3);
        if (count < 300)
            count = 300;
        if (count > 3000)
            count = 3000;
    }
    double tp1 = s_throughput (1, "8", count, -1);
    double tp2 = only && strcmp (only, "throughput") == 0 ? -1 : s_throughput (2, "8", count, -1);   //  -1: not measured
    //  The same through a shell's words: the executor execs /bin/sh -c true
    s_command = "/bin/sh -c true";
    double tp_sh = s_throughput (1, "8", count, -2);
    s_command = "true";
    bench_result ("throughput_count", count);
    bench_result ("throughput_1x8_per_s", tp1);
    bench_result ("throughput_2x8_per_s", tp2 >= 0 ? tp2 : NAN);
    bench_result ("throughput_sh_1x8_per_s", tp_sh);
    //  One executor with a core of its own, against the spawn limit of one
    //  core (this program pinned to it while it measures); with 8 slots,
    //  and with 32 (enough to cover each slot's trip to the scheduler and
    //  its durable assignment)
    double tpx [2] = { -1, -1 }, spawn_core = -1, busy_core [2] = { -1, -1 }, exec_core [2] = { -1, -1 };
    if (cores >= 2) {
        s_pin (getpid (), (int) cores - 1, false);
        spawn_core = s_spawn_rate (direct, 3);
        s_pin (getpid (), -1, false);
        for (int i = 0; i < 2; i++) {
            tpx [i] = s_throughput (1, i ? "32" : "8", count, (int) cores - 1);
            busy_core [i] = s_machine_busy [0];
            exec_core [i] = s_exec_cpu_alone;
        }
    }
    printf ("## End-to-end throughput of `true` (dispatch to durable final status, %d instances)\n\n", count);
    printf ("`true` is one plain word, so executors exec /bin/true directly; the limit is the direct spawn rate.\n\n");
    printf ("| executors | instances/s | ratio to the direct spawn limit | machine busy |\n|---|---|---|---|\n");
    printf ("| 1 × -c 8 | %.0f | %.2f | %.0f %% |\n", tp1, tp1 / spawn_direct, 100 * s_machine_busy [1]);
    if (tp2 >= 0)
        printf ("| 2 × -c 8 | %.0f | %.2f | %.0f %% |\n", tp2, tp2 / spawn_direct, 100 * s_machine_busy [2]);
    printf ("\nThe task `/bin/sh -c true` (the executor execs the shell), 1 × -c 8: %.0f instances/s, %.2f of "
            "the `sh -c true` spawn limit.\n\n", tp_sh, tp_sh / spawn_sh);
    if (tpx [0] >= 0) {
        printf ("One executor with a core of its own (it and its children on core %ld; the other services, "
                "MariaDB and this program on the others), against the direct spawn limit of that one core "
                "(%.0f/s, 8 in flight):\n\n", cores - 1, spawn_core);
        printf ("| executor | instances/s | ratio to the one-core spawn limit | that core busy "
                "| executor CPU per instance | one spawn on that core |\n|---|---|---|---|---|---|\n");
        for (int i = 0; i < 2; i++)
            printf ("| 1 × -c %d | %.0f | %.2f | %.0f %% | %.0f µs | %.0f µs |\n", i ? 32 : 8, tpx [i],
                    tpx [i] / spawn_core, 100 * busy_core [i], exec_core [i], 1e6 / spawn_core);
        bench_result ("spawn_one_core_per_s", spawn_core);
        bench_result ("throughput_own_core_1x8_per_s", tpx [0]);
        bench_result ("throughput_own_core_1x32_per_s", tpx [1]);
        printf ("\n");
    }
    printf ("CPU per instance, one executor (µs; the children's own CPU not counted; MariaDB's from the "
            "start of the executor to the last final status):\n\n");
    printf ("| scheduler | aggregator | archiver | executor | MariaDB | one direct spawn (2 cores / spawn limit) |\n"
            "|---|---|---|---|---|---|\n");
    printf ("| %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n\n", s_cpu_per_instance [0], s_cpu_per_instance [1],
            s_cpu_per_instance [2], s_cpu_per_instance [3], s_cpu_per_instance [4],
            (double) cores * 1e6 / spawn_direct);
    fflush (stdout);
    if (only)
        goto done;

lateness:;
    int schedules = (int) (spawn_direct / 2);
    s_lateness_t late = s_schedules_run ("late", schedules, lateness_seconds, false, "norc-half");
    printf ("## Lateness: %d schedules every second (half the direct spawn limit) for %d s, 2 executors × -c 32\n\n",
            schedules, lateness_seconds);
    printf ("From the nominal tick to the executor starting the child, over %lld instances:\n\n",
            (long long) late.count);
    printf ("| p50 | p99 | max | completed per second |\n|---|---|---|---|\n");
    printf ("| %.1f ms | %.1f ms | %.1f ms | %.0f |\n\n", late.p50, late.p99, late.max, late.rate);
    fflush (stdout);

    //  The same at a quarter of the spawn limit, for comparison
    int quarter = (int) (spawn_direct / 4);
    s_lateness_t light = s_schedules_run ("light", quarter, lateness_seconds / 2, false, "norc-quarter");
    printf ("## Lateness at a quarter of the limit: %d schedules every second for %d s\n\n",
            quarter, lateness_seconds / 2);
    printf ("| p50 | p99 | max | completed per second | instances |\n|---|---|---|---|---|\n");
    printf ("| %.1f ms | %.1f ms | %.1f ms | %.0f | %lld |\n\n", light.p50, light.p99, light.max, light.rate,
            (long long) light.count);
    //  One schedule every second, as a cron user has (celery beat beside it)
    s_lateness_t beat = s_schedules_run ("beat", 1, beat_seconds, false, "norc-beat");
    printf ("## One schedule every second for %d s\n\n| p50 | p99 | max | instances |\n|---|---|---|---|\n"
            "| %.1f ms | %.1f ms | %.1f ms | %lld |\n\n", beat_seconds, beat.p50, beat.p99, beat.max,
            (long long) beat.count);
    fflush (stdout);
    const struct { const char *name; s_lateness_t *r; int rate; } runs [] = {
        { "half", &late, schedules }, { "quarter", &light, quarter }, { "beat", &beat, 1 } };
    for (size_t i = 0; i < 3; i++) {
        char key [64];
        const char *what [] = { "p50_ms", "p99_ms", "max_ms", "per_s", "rate", "count" };
        double value [] = { runs [i].r->p50, runs [i].r->p99, runs [i].r->max, runs [i].r->rate, runs [i].rate,
                            (double) runs [i].r->count };
        for (size_t j = 0; j < 6; j++) {
            snprintf (key, sizeof key, "lateness_%s_%s", runs [i].name, what [j]);
            bench_result (key, value [j]);
        }
    }
    bench_results_write ("norc.json");
    if (only)
        goto done;

pipeline:;
    //  At the design goal (does it keep up, and how late is dispatch),
    //  then offered more than it takes (what it takes is its capacity)
    s_lateness_t goal = s_schedules_run ("pipe", 20000, 10, true, NULL);
    s_lateness_t pipe = s_schedules_run ("pipe", many, 10, true, NULL);
    printf ("## Pipeline capacity without spawning (schedules every second for 10 s, "
            "executor in --benchmark-instant mode)\n\n");
    printf ("| schedules every second | ticks created, dispatched and recorded per second | "
            "p50 tick to dispatch | p99 | max |\n|---|---|---|---|---|\n");
    printf ("| 20000 (the goal) | %.0f | %.1f ms | %.1f ms | %.1f ms |\n", goal.rate, goal.p50, goal.p99, goal.max);
    printf ("| %d (more than it takes) | %.0f | %.1f ms | %.1f ms | %.1f ms |\n\n", many, pipe.rate, pipe.p50,
            pipe.p99, pipe.max);
    printf ("Ratios: pipeline capacity / the 20,000 goal = %.2f; / MariaDB commit rate = %.2f.\n\n",
            pipe.rate / 20000, pipe.rate / commits);
    fflush (stdout);
    bench_result ("pipeline_goal_per_s", goal.rate);
    bench_result ("pipeline_goal_p99_ms", goal.p99);
    bench_result ("pipeline_over_schedules", many);
    bench_result ("pipeline_over_per_s", pipe.rate);
    bench_result ("pipeline_over_p99_ms", pipe.p99);
    bench_results_write ("norc.json");
    if (only)
        goto done;

failover:;
    double threshold = 0;
    double gap = s_failover_scheduler (&threshold);
    double lost = s_failover_executor ();
    printf ("## Failover (default settings: heartbeat every 1 s, failure threshold %.0f ms)\n\n", threshold);
    printf ("| event | time | ratio to the failure threshold |\n|---|---|---|\n");
    printf ("| scheduler killed -9 → first tick fired by the survivor for one of its schedules | %.0f ms | %.2f |\n",
            gap, gap / threshold);
    printf ("| executor killed -9 with 8 instances running → all 8 final (ERROR) | %.0f ms | %.2f |\n\n",
            lost, lost / threshold);
    bench_result ("failover_threshold_ms", threshold);
    bench_result ("failover_scheduler_ms", gap);
    bench_result ("failover_executor_ms", lost);
    bench_results_write ("norc.json");
    if (only)
        goto done;

memory:;
    double rss [4];
    int64_t left = s_memory (queued, rss);
    printf ("## Memory: %lld instances queued, no executor (RSS)\n\n", (long long) left);
    printf ("| service | before | after | per queued instance |\n|---|---|---|---|\n");
    printf ("| scheduler | %.1f MB | %.1f MB | %.0f B |\n", rss [0], rss [1],
            left > 0 ? (rss [1] - rss [0]) * 1048576 / (double) left : -1);
    printf ("| aggregator | %.1f MB | %.1f MB | %.0f B |\n\n", rss [2], rss [3],
            left > 0 ? (rss [3] - rss [2]) * 1048576 / (double) left : -1);
    bench_result ("memory_queued", (double) left);
    bench_result ("memory_scheduler_before_mb", rss [0]);
    bench_result ("memory_scheduler_after_mb", rss [1]);
    bench_result ("memory_aggregator_before_mb", rss [2]);
    bench_result ("memory_aggregator_after_mb", rss [3]);
    bench_results_write ("norc.json");
done:;
    char *cmd = norc_asprintf ("rm -rf %s", bench_dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", bench_dir);
    free (cmd);
    return 0;
}
