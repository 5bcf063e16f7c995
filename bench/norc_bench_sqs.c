//  norc_bench_sqs - a queue carried across sites by SQS (moto's server on
//  loopback, as norc-sqs-bridge sees AWS), measured beside a database
//  queue in the same run:
//
//  1. Latency: RATE schedules each firing every second put TICKS ticks on
//     a db queue (a local executor), then the same on an sqs queue (a
//     sending bridge, a receiving bridge and its executor). From the
//     record: nominal time -> the child's start, p50 / p99 / max, for each.
//  2. SQS requests per instance, from moto's own request log, and receive
//     calls a minute once the queue is idle (IDLE seconds, 60 by default).
//  3. With --disconnected: the same through a site in disconnected mode
//     (docs/sqs.md): home's bridge answers the site over a return queue
//     and a reply queue, and the site's executor talks only to the site's
//     bridge; its latency, its SQS requests per instance and when idle.
//  4. With --kill: the sqs run again while, every two seconds, one of the
//     sending bridge, the receiving bridge, the remote executor and the
//     log-archiver (which copies every log to S3) is killed -9 and started
//     again. From the lines the task writes (one per run) and the record:
//     runs twice, ticks without a run, instances ended ERROR (their
//     executor killed under them); then every finished instance's log in
//     S3, read back whole, its SHA-256 the record's and the local copy's.
//
//  usage: norc_bench_sqs SERVER-URL BIN-DIR [--ticks N] [--rate R] [--idle S] [--batch-ms MS] [--slots N]
//                        [--disconnected] [--kill] [--keep]
//  (bench/sqs.sh starts a private MariaDB and runs it)
#include "bench_sys.h"
#include "norc_http.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_keys.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char s_endpoint [64];
static char *s_url;
static pid_t s_moto;

static int
s_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

static void
s_ctl (bench_sys_t *sys, const char *const *args)
{
    fflush (stdout);
    pid_t pid = fork ();
    if (pid == 0) {
        for (int i = 0; sys->env [i]; i++)
            putenv (sys->env [i]);
        if (!freopen ("/dev/null", "w", stdout))
            _exit (127);
        char *path = norc_asprintf ("%s/norcctl", bench_bin);
        const char *argv [24] = { path };
        for (int i = 0; args [i] && i < 22; i++)
            argv [i + 1] = args [i];
        execv (path, (char *const *) argv);
        _exit (127);
    }
    int status = 0;
    waitpid (pid, &status, 0);
    if (!WIFEXITED (status) || WEXITSTATUS (status))
        norc_fatalx ("norcctl %s %s failed", args [0], args [1]);
}

//  POST requests moto has answered so far (its request log)
static int64_t
s_requests (void)
{
    char *path = norc_asprintf ("%s/moto.log", bench_dir);
    FILE *file = fopen (path, "r");
    free (path);
    int64_t count = 0;
    char line [512];
    while (file && fgets (line, sizeof line, file))
        count += strstr (line, "\"POST / HTTP/1.1\"") != NULL;
    if (file)
        fclose (file);
    return count;
}

//  moto as Norc's requests see it (the environment s_moto_start sets), for service
static norc_aws_target_t
s_target (const char *service)
{
    static norc_aws_env_t env;
    char why [256];
    if (!*env.endpoint && norc_aws_env (service, &env, why, sizeof why) != NORC_OK)
        norc_fatalx ("%s", why);
    norc_aws_target_t t = { .endpoint = env.endpoint, .region = env.region, .service = service,
                            .access_key = env.access_key, .secret_key = env.secret_key };
    return t;
}

//  An SQS queue (FIFO when its name ends in .fifo): its URL (caller frees)
static char *
s_make_queue (const char *name)
{
    norc_aws_target_t t = s_target ("sqs");
    norc_aws_pair_t headers [] = { { "Content-Type", "application/x-amz-json-1.0" },
                                   { "X-Amz-Target", "AmazonSQS.CreateQueue" } };
    bool fifo = strlen (name) > 5 && strcmp (name + strlen (name) - 5, ".fifo") == 0;
    char *body = norc_asprintf ("{\"QueueName\":\"%s\"%s}", name, fifo ? ",\"Attributes\":{\"FifoQueue\":\"true\"}" : "");
    char *url = NULL;
    for (int i = 0; i < 100 && !url; i++) {
        norc_http_response_t r;
        if (norc_aws_call (&t, "POST", "/", NULL, 0, headers, 2, body, strlen (body), &r) == NORC_OK
        &&  r.status == 200 && strstr (r.body, "QueueUrl")) {
            char *start = strstr (r.body, "http");
            char *end = start ? strchr (start, '"') : NULL;
            if (end)
                url = norc_strndup (start, (size_t) (end - start));
        }
        norc_http_response_clear (&r);
        if (!url)
            usleep (100000);
    }
    free (body);
    return url;
}

static void
s_moto_start (void)
{
    int port = bench_free_port ();
    snprintf (s_endpoint, sizeof s_endpoint, "http://127.0.0.1:%d", port);
    fflush (stdout);
    s_moto = fork ();
    if (s_moto == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        char *log = norc_asprintf ("%s/moto.log", bench_dir);
        if (!freopen ("/dev/null", "w", stdout) || !freopen (log, "w", stderr))
            _exit (127);
        char text [16];
        snprintf (text, sizeof text, "%d", port);
        execlp ("python3", "python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", text, (char *) NULL);
        _exit (127);
    }
    setenv ("AWS_ENDPOINT_URL", s_endpoint, 1);
    setenv ("AWS_REGION", "us-east-1", 1);
    setenv ("AWS_ACCESS_KEY_ID", "bench", 1);
    setenv ("AWS_SECRET_ACCESS_KEY", "bench", 1);
    s_url = s_make_queue ("norc-bench");
    if (!s_url)
        norc_fatalx ("moto's server did not start");
    //  The bucket the log-archiver copies logs to
    norc_aws_target_t s3 = s_target ("s3");
    norc_http_response_t r;
    if (norc_aws_call (&s3, "PUT", "/norc-bench-logs", NULL, 0, NULL, 0, NULL, 0, &r) != NORC_OK || r.status != 200)
        norc_fatalx ("cannot make the bucket: %ld %s", r.status, r.body ? r.body : r.error);
    norc_http_response_clear (&r);
}

//  Every finished instance after first: its log in S3 (the record's
//  object), read back whole; its SHA-256 the record's and the local
//  copy's. Waits up to a few minutes for the archiver to catch up.
static void
s_logs_in_s3 (bench_sys_t *sys, norc_db_t *db, int64_t first)
{
    char *final = norc_asprintf ("SELECT COUNT(*) FROM instances WHERE id > %lld AND status >= 7", (long long) first);
    char *archived = norc_asprintf ("SELECT COUNT(*) FROM instances i JOIN log_archives a ON a.instance_id = i.id "
                                    "WHERE i.id > %lld AND i.status >= 7", (long long) first);
    norc_us_t t0 = norc_mono_us ();
    while (bench_int (db, archived) < bench_int (db, final) && norc_mono_us () - t0 < 300 * NORC_US_PER_SEC)
        usleep (200000);
    double waited = (double) (norc_mono_us () - t0) / NORC_US_PER_SEC;
    norc_aws_target_t s3 = s_target ("s3");
    const char *dir = NULL;
    for (int i = 0; sys->env [i]; i++)
        if (strncmp (sys->env [i], "NORC_LOG_DIR=", 13) == 0)
            dir = sys->env [i] + 13;
    char *sql = norc_asprintf ("SELECT i.id, a.object_key, a.sha256, a.size FROM instances i "
                               "LEFT JOIN log_archives a ON a.instance_id = i.id "
                               "WHERE i.id > %lld AND i.status >= 7 ORDER BY i.id", (long long) first);
    norc_stmt_t *st = norc_db_stmt (db, sql);
    int64_t logs = 0, missing = 0, in_s3 = 0, mismatched = 0;
    if (norc_stmt_exec (st) != NORC_OK)
        norc_fatalx ("%s: %s", sql, norc_db_errstr (db));
    while (norc_stmt_fetch (st) == NORC_OK) {
        logs++;
        uint64_t id = norc_stmt_u64 (st, 0);
        const char *key = norc_stmt_str (st, 1), *sha = norc_stmt_str (st, 2);
        if (!key || !sha) {
            missing++;
            continue;
        }
        char *path = norc_asprintf ("/norc-bench-logs/%s", key);
        norc_http_response_t r;
        char got [65] = "", local [65] = "";
        if (norc_aws_call (&s3, "GET", path, NULL, 0, NULL, 0, NULL, 0, &r) == NORC_OK && r.status == 200) {
            in_s3++;
            norc_aws_sha256_hex (r.body, r.body_len, got);
        }
        norc_http_response_clear (&r);
        free (path);
        char rel [64];
        char *file = norc_asprintf ("%s/%s", dir, norc_log_path (id, rel, sizeof rel));
        FILE *f = fopen (file, "rb");
        if (f) {
            fseek (f, 0, SEEK_END);
            long size = ftell (f);
            rewind (f);
            char *data = (char *) norc_malloc ((size_t) size + 1);
            if (fread (data, 1, (size_t) size, f) == (size_t) size)
                norc_aws_sha256_hex (data, (size_t) size, local);
            free (data);
            fclose (f);
        }
        free (file);
        if (strcmp (got, sha) || strcmp (local, sha))
            mismatched++;
    }
    printf ("\n| finished instances | logs recorded as archived | objects read back from S3 | SHA-256 not the "
            "record's or the local copy's | archived within (s) after the last end |\n|---|---|---|---|---|\n");
    printf ("| %lld | %lld | %lld | %lld | %.1f |\n", (long long) logs, (long long) (logs - missing),
            (long long) in_s3, (long long) mismatched, waited);
    free (sql);
    free (final);
    free (archived);
}

//  RATE schedules on queue, each firing every second, TICKS in all, the
//  first tick two seconds from now; returns once every instance ended
static void
s_ticks (bench_sys_t *sys, norc_db_t *db, const char *queue, int ticks, int rate)
{
    char reps [16];
    snprintf (reps, sizeof reps, "%d", ticks / rate);
    for (int i = 0; i < rate; i++) {
        const char *args [] = { "schedule", "add", "Mark", "--queue", queue, "--period", "1", "--reps", reps,
                                "--start", "+2", NULL };
        s_ctl (sys, args);
    }
    char *sql = norc_asprintf ("SELECT COUNT(*) FROM instances i JOIN queues q ON q.id = i.queue_id "
                               "WHERE q.name = '%s' AND i.status >= 7", queue);
    int64_t want = (int64_t) (ticks / rate) * rate;
    norc_us_t deadline = norc_mono_us () + (want / rate + 120) * NORC_US_PER_SEC;
    while (bench_int (db, sql) < want && norc_mono_us () < deadline)
        usleep (200000);
    free (sql);
}

//  nominal -> start of the queue's instances, in ms: p50 / p99 / max
static void
s_lateness (norc_db_t *db, const char *queue, const char *what)
{
    char *sql = norc_asprintf ("SELECT TIMESTAMPDIFF(MICROSECOND, i.nominal, i.started_at) FROM instances i "
                               "JOIN queues q ON q.id = i.queue_id WHERE q.name = '%s' AND i.started_at IS NOT NULL",
                               queue);
    norc_stmt_t *st = norc_db_stmt (db, sql);
    int64_t *late = NULL;
    size_t count = 0;
    if (norc_stmt_exec (st) == NORC_OK)
        while (norc_stmt_fetch (st) == NORC_OK) {
            late = (int64_t *) norc_realloc (late, (count + 1) * sizeof (int64_t));
            late [count++] = norc_stmt_i64 (st, 0);
        }
    free (sql);
    if (!count) {
        printf ("| %s | none started | | | |\n", what);
        return;
    }
    qsort (late, count, sizeof (int64_t), s_cmp);
    printf ("| %s | %zu | %.1f | %.1f | %.1f |\n", what, count, late [count / 2] / 1000.0,
            late [(count * 99) / 100] / 1000.0, late [count - 1] / 1000.0);
    free (late);
}

//  TICKS on queue (RATE schedules), then its lateness, the SQS requests
//  per instance, and with idle the requests a minute once idle (why: note)
static void
s_measure (bench_sys_t *sys, norc_db_t *db, const char *queue, const char *label, int ticks, int rate, int idle,
           const char *note)
{
    int64_t before = s_requests ();
    s_ticks (sys, db, queue, ticks, rate);
    int64_t requests = s_requests () - before;
    s_lateness (db, queue, label);
    char *sql = norc_asprintf ("SELECT COUNT(*) FROM instances i JOIN queues q ON q.id = i.queue_id "
                               "WHERE q.name = '%s'", queue);
    int64_t done = bench_int (db, sql);
    free (sql);
    printf ("\n| SQS requests (%s) | instances | requests per instance |\n|---|---|---|\n", label);
    printf ("| %lld | %lld | %.2f |\n", (long long) requests, (long long) done,
            done ? (double) requests / (double) done : 0.0);
    if (idle > 0) {
        usleep (5 * 1000000);
        before = s_requests ();
        usleep ((useconds_t) idle * 1000000);
        int64_t calls = s_requests () - before;
        printf ("\nIdle for %d s: %lld SQS requests (%.1f a minute; %s).\n", idle, (long long) calls,
                calls * 60.0 / idle, note);
    }
}

//  A site that reaches only SQS: its bridge, and its executor talking to
//  that bridge alone; home's bridge answering it
static void
s_disconnected (bench_sys_t *sys, norc_db_t *db, int ticks, int rate, const char *slots, const char *batch_ms,
                int idle)
{
    char *url = s_make_queue ("norc-bench-far");
    char *returns = s_make_queue ("norc-bench-return.fifo");
    char *replies = s_make_queue ("norc-bench-reply.fifo");
    char *keys = norc_asprintf ("%s/bridge-keys", bench_dir);
    char err [256];
    if (!url || !returns || !replies || mkdir (keys, 0700)
    ||  norc_keys_generate (keys, "bridge-home", NULL, NULL, err, sizeof err)
    ||  norc_keys_generate (keys, "bridge-far", NULL, NULL, err, sizeof err))
        norc_fatalx ("cannot make the disconnected site's queues and keys");
    const char *farther [] = { "queue", "add", "Farther", "--kind", "sqs", "--url", url, NULL };
    s_ctl (sys, farther);
    char *events = norc_asprintf ("ipc://%s/site-events.ipc", bench_dir);
    char *api = norc_asprintf ("ipc://%s/site-api.ipc", bench_dir);
    char *logs = norc_asprintf ("ipc://%s/site-logs.ipc", bench_dir);
    char *dispatch = norc_asprintf ("ipc://%s/site-dispatch.ipc", bench_dir);
    const char *home_args [] = { "--bridge.queue", "Farther", "--bridge.returns", "true", "--bridge.return_url",
                                 returns, "--security.keys_dir", keys, "--security.key", "bridge-home",
                                 "--bridge.peers", "bridge-far", "--bridge.batch_ms", batch_ms, NULL };
    const char *site_args [] = { "--bridge.queue", "Farther", "--bridge.send", "false", "--bridge.receive", "true",
                                 "--bridge.mode", "disconnected", "--bridge.url", url, "--bridge.return_url", returns,
                                 "--bridge.reply_url", replies, "--security.keys_dir", keys, "--security.key",
                                 "bridge-far", "--bridge.peers", "bridge-home", "--bridge.dispatch", dispatch,
                                 "--bridge.events", events, "--bridge.api", api, "--bridge.logs", logs,
                                 "--bridge.batch_ms", batch_ms, NULL };
    const char *executor_args [] = { "Farther", "-c", slots, "--scheduler.dispatch", dispatch, "--aggregator.events",
                                     events, "--aggregator.api", api, "--archiver.logs", logs, NULL };
    pid_t home = bench_sys_startv (sys, "norc-sqs-bridge", home_args);
    pid_t site = bench_sys_startv (sys, "norc-sqs-bridge", site_args);
    pid_t executor = bench_sys_startv (sys, "norc-executor", executor_args);
    usleep (3000000);
    printf ("\n| queue | instances | nominal -> start p50 (ms) | p99 (ms) | max (ms) |\n|---|---|---|---|---|\n");
    s_measure (sys, db, "Farther", "sqs, a disconnected site (home's bridge, the site's bridge, its executor)",
               ticks, rate, idle, "the site's beat every bridge.beat_s, 2 s, sent, received and deleted, and the "
               "long polls of the tick and reply queues");
    bench_sys_kill (sys, executor);
    bench_sys_kill (sys, site);
    bench_sys_kill (sys, home);
    free (events);
    free (api);
    free (logs);
    free (dispatch);
    free (keys);
    free (url);
    free (returns);
    free (replies);
}

int
main (int argc, char *argv [])
{
    if (argc < 3) {
        fprintf (stderr, "usage: norc_bench_sqs SERVER-URL BIN-DIR [--ticks N] [--rate R] [--idle S] [--kill]\n");
        return 2;
    }
    bench_server = argv [1];
    bench_bin = argv [2];
    int ticks = 2000, rate = 20, idle = 60;
    const char *batch_ms = "10", *slots = "8";
    bool kills = false, keep = false, disconnected = false;
    for (int i = 3; i < argc; i++) {
        if (strcmp (argv [i], "--kill") == 0)
            kills = true;
        else
        if (strcmp (argv [i], "--disconnected") == 0)
            disconnected = true;
        else
        if (strcmp (argv [i], "--keep") == 0)
            keep = true;        //  the run's directory stays: the services' logs, moto's request log
        else
        if (strcmp (argv [i], "--ticks") == 0 && i + 1 < argc)
            ticks = atoi (argv [++i]);
        else
        if (strcmp (argv [i], "--rate") == 0 && i + 1 < argc)
            rate = atoi (argv [++i]);
        else
        if (strcmp (argv [i], "--idle") == 0 && i + 1 < argc)
            idle = atoi (argv [++i]);
        else
        if (strcmp (argv [i], "--batch-ms") == 0 && i + 1 < argc)
            batch_ms = argv [++i];
        else
        if (strcmp (argv [i], "--slots") == 0 && i + 1 < argc)
            slots = argv [++i];
        else
            norc_fatalx ("unknown argument %s", argv [i]);
    }
    if (rate < 1 || ticks < rate || idle < 0)
        norc_fatalx ("--rate from 1, --ticks from the rate, --idle from 0");
    norc_log_init ("bench", NORC_LOG_WARN);
    if (!mkdtemp (bench_dir))
        norc_fatal ("mkdtemp");
    s_moto_start ();
    bench_sys_t sys;
    bench_sys_init (&sys, "sqs");
    norc_db_t *db = norc_db_new (sys.url, NULL);
    char *dispatch = norc_asprintf ("ipc://%s/bridge.ipc", bench_dir);
    char *runs = norc_asprintf ("%s/runs", bench_dir);
    char *command = norc_asprintf ("echo $NORC_INSTANCE_ID >> %s", runs);
    bench_sys_start (&sys, "norc-aggregator", NULL, NULL, NULL, NULL);
    const char *archiver_args [] = { "--archiver.s3_bucket", "norc-bench-logs", NULL };
    pid_t archiver = bench_sys_startv (&sys, "norc-archiver", archiver_args);
    bench_sys_start (&sys, "norc-scheduler", NULL, NULL, NULL, NULL);
    usleep (500000);
    const char *near [] = { "queue", "add", "Near", NULL };
    const char *far [] = { "queue", "add", "Far", "--kind", "sqs", "--url", s_url, NULL };
    const char *task [] = { "task", "add", "Mark", "--command", command, NULL };
    s_ctl (&sys, near);
    s_ctl (&sys, far);
    s_ctl (&sys, task);
    printf ("## A queue across sites through SQS (moto on loopback)\n\n");
    printf ("%d ticks a queue, %d schedules each firing every second; one executor with %s slots a site; "
            "bridge.batch_ms %s.\n\n", ticks, rate, slots, batch_ms);
    printf ("| queue | instances | nominal -> start p50 (ms) | p99 (ms) | max (ms) |\n|---|---|---|---|---|\n");

    //  The database queue: the floor
    pid_t local = bench_sys_start (&sys, "norc-executor", "Near", "-c", slots, NULL);
    s_ticks (&sys, db, "Near", ticks, rate);
    s_lateness (db, "Near", "db (local executor)");
    bench_sys_kill (&sys, local);

    //  The sqs queue: two bridges and the remote executor
    const char *sender_args [] = { "--bridge.queue", "Far", "--log.level", "info", "--bridge.batch_ms", batch_ms, NULL };
    const char *receiver_args [] = { "--bridge.queue", "Far", "--bridge.send", "false", "--bridge.receive", "true",
                                     "--bridge.dispatch", dispatch, "--log.level", "info", "--bridge.batch_ms",
                                     batch_ms, NULL };
    const char *remote_args [] = { "Far", "-c", slots, "--scheduler.dispatch", dispatch, NULL };
    pid_t sender = bench_sys_startv (&sys, "norc-sqs-bridge", sender_args);
    pid_t receiver = bench_sys_startv (&sys, "norc-sqs-bridge", receiver_args);
    pid_t remote = bench_sys_startv (&sys, "norc-executor", remote_args);
    usleep (1000000);
    s_measure (&sys, db, "Far", "sqs (two bridges, remote executor)", ticks, rate, idle,
               "the receiving bridge's long polls of 20 s");

    if (disconnected)
        s_disconnected (&sys, db, ticks, rate, slots, batch_ms, idle);

    if (kills) {
        //  The same again while bridges and the executor are killed -9
        if (truncate (runs, 0) != 0)
            norc_fatal ("truncate %s", runs);
        bench_exec (db, "DELETE FROM instances WHERE queue_id = (SELECT id FROM queues WHERE name = 'Near')");
        int64_t first = bench_int (db, "SELECT COALESCE(MAX(id), 0) FROM instances");
        char reps [16];
        snprintf (reps, sizeof reps, "%d", ticks / rate);
        for (int i = 0; i < rate; i++) {
            const char *args [] = { "schedule", "add", "Mark", "--queue", "Far", "--period", "1", "--reps", reps,
                                    "--start", "+2", NULL };
            s_ctl (&sys, args);
        }
        int64_t want = (int64_t) (ticks / rate) * rate;
        char *sql = norc_asprintf ("SELECT COUNT(*) FROM instances WHERE id > %lld AND status >= 7",
                                   (long long) first);
        norc_us_t deadline = norc_mono_us () + (want / rate + 300) * NORC_US_PER_SEC;
        int killed [4] = { 0, 0, 0, 0 };
        srand ((unsigned) getpid ());
        norc_us_t stop_killing = norc_mono_us () + (want / rate) * NORC_US_PER_SEC;
        while (bench_int (db, sql) < want && norc_mono_us () < deadline) {
            usleep (2000000);
            if (norc_mono_us () > stop_killing)
                continue;
            int which = rand () % 4;
            killed [which]++;
            if (which == 0) {
                bench_sys_kill (&sys, sender);
                sender = bench_sys_startv (&sys, "norc-sqs-bridge", sender_args);
            }
            else
            if (which == 1) {
                bench_sys_kill (&sys, receiver);
                receiver = bench_sys_startv (&sys, "norc-sqs-bridge", receiver_args);
            }
            else
            if (which == 2) {
                bench_sys_kill (&sys, remote);
                remote = bench_sys_startv (&sys, "norc-executor", remote_args);
            }
            else {
                bench_sys_kill (&sys, archiver);
                archiver = bench_sys_startv (&sys, "norc-archiver", archiver_args);
            }
        }
        free (sql);
        //  Runs counted from the task's own lines
        FILE *file = fopen (runs, "r");
        int64_t lines = 0, twice = 0;
        int64_t span = bench_int (db, "SELECT COALESCE(MAX(id), 0) FROM instances") - first + 1;
        uint8_t *seen = (uint8_t *) norc_calloc ((size_t) (span > 0 ? span : 1), 1);
        unsigned long long id;
        while (file && fscanf (file, "%llu", &id) == 1) {
            lines++;
            int64_t k = (int64_t) id - first;
            if (k >= 0 && k < span && seen [k]++)
                twice++;
        }
        if (file)
            fclose (file);
        free (seen);
        char *q = norc_asprintf ("SELECT COUNT(*) FROM instances WHERE id > %lld AND status = 7", (long long) first);
        int64_t ok = bench_int (db, q);
        free (q);
        q = norc_asprintf ("SELECT COUNT(*) FROM instances WHERE id > %lld AND status = 14", (long long) first);
        int64_t errors = bench_int (db, q);
        free (q);
        q = norc_asprintf ("SELECT COUNT(*) FROM instances WHERE id > %lld AND status < 7", (long long) first);
        int64_t open = bench_int (db, q);
        free (q);
        q = norc_asprintf ("SELECT COUNT(*) FROM instances WHERE id > %lld", (long long) first);
        int64_t made = bench_int (db, q);
        free (q);
        printf ("\nWith kills (-9 every 2 s while the ticks come due: the sending bridge %d times, the receiving "
                "bridge %d, the remote executor %d, the log-archiver %d):\n\n", killed [0], killed [1], killed [2],
                killed [3]);
        printf ("| ticks | instances | runs (task's lines) | ran twice | SUCCESS | ERROR (executor killed) | "
                "not final |\n|---|---|---|---|---|---|---|\n");
        printf ("| %lld | %lld | %lld | %lld | %lld | %lld | %lld |\n", (long long) want, (long long) made,
                (long long) lines, (long long) twice, (long long) ok, (long long) errors, (long long) open);
        s_logs_in_s3 (&sys, db, first);
    }
    kill (s_moto, SIGTERM);
    waitpid (s_moto, NULL, 0);
    norc_db_destroy (&db);
    bench_sys_stop (&sys);
    free (dispatch);
    free (runs);
    free (command);
    free (s_url);
    char *rm = norc_asprintf ("rm -rf '%s'", bench_dir);
    if (keep)
        printf ("\n(kept %s)\n", bench_dir);
    else
    if (system (rm) != 0)
        norc_log_warnx ("could not remove %s", bench_dir);
    free (rm);
    return 0;
}
