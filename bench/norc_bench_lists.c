//  norc_bench_lists - the API at scale: how long the first page of every
//  list takes over HTTP (norc-web, the status-aggregator, MariaDB) when the
//  record holds SCHEDULES schedules (1,000,000 by default) and INSTANCES
//  instances (10,000,000), spread over the last 7 days, 20 queues, 1,000
//  tasks, a job and 50 executors, with 100,000 audit rows.
//
//  The rows are written straight into a private database (the SEQUENCE
//  engine, a million rows a statement) before the aggregator and norc-web
//  start; then each list route of the OpenAPI document, and the filters of
//  GET /instances, is asked ROUNDS times with an admin's token, the first
//  answer not counted. As the machine's own floor in the same run: the
//  time of GET /healthz (HTTP alone) and of the newest 100 instances read
//  straight from MariaDB. Prints Markdown for docs/performance.md.
//
//  usage: norc_bench_lists SERVER-URL BIN-DIR [--schedules N] [--instances N] [--rounds R] [--keep]
//  (bench/lists.sh starts a private MariaDB and runs it)
#include "bench_sys.h"
#include "norc_api.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static int s_port;
static char *s_token;

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static size_t
s_count (char *data, size_t size, size_t n, void *arg)
{
    NORC_UNUSED (data);
    *(size_t *) arg += size * n;
    return size * n;
}

//  One GET: its status, the body's size, the time in ms
static long
s_get (CURL *curl, const char *path, size_t *bytes, double *ms)
{
    char *url = norc_asprintf ("http://127.0.0.1:%d%s", s_port, path);
    char *auth = norc_asprintf ("Authorization: Bearer %s", s_token);
    struct curl_slist *headers = curl_slist_append (NULL, auth);
    *bytes = 0;
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_count);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, bytes);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT, 120L);
    long status = 0;
    norc_us_t start = norc_mono_us ();
    if (curl_easy_perform (curl) == CURLE_OK)
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
    *ms = (norc_mono_us () - start) / 1000.0;
    curl_slist_free_all (headers);
    free (auth);
    free (url);
    return status;
}

//  A route asked rounds times (the first not counted): one table row
static void
s_measure (CURL *curl, const char *what, const char *path, int rounds)
{
    double *ms = (double *) norc_calloc ((size_t) rounds, sizeof (double));
    size_t bytes = 0;
    double first;
    long status = s_get (curl, path, &bytes, &first);
    for (int i = 0; i < rounds && status == 200; i++)
        status = s_get (curl, path, &bytes, &ms [i]);
    if (status != 200)
        printf ("| %s | `%s` | HTTP %ld | | | |\n", what, path, status);
    else {
        qsort (ms, (size_t) rounds, sizeof (double), s_cmp);
        printf ("| %s | `%s` | %zu | %.1f | %.1f | %.1f |\n", what, path, bytes, ms [rounds / 2],
                ms [(int) (rounds * 0.95) < rounds ? (int) (rounds * 0.95) : rounds - 1], first);
    }
    fflush (stdout);
    free (ms);
}

//  The rows, straight into the record
static void
s_generate (norc_db_t *db, int64_t schedules, int64_t instances)
{
    bench_exec (db, "SET SESSION foreign_key_checks = 0");
    bench_exec (db, "SET SESSION unique_checks = 0");
    bench_exec (db, "INSERT INTO queues (name, kind, created_at) "
                    "SELECT CONCAT('q', LPAD(seq, 2, '0')), 1, UTC_TIMESTAMP(6) FROM seq_1_to_20");
    bench_exec (db, "INSERT INTO tasks (name, kind, command, timeout_s, created_at) "
                    "SELECT CONCAT('t', LPAD(seq, 4, '0')), 1, CONCAT('echo task ', seq), 60, UTC_TIMESTAMP(6) "
                    "FROM seq_1_to_1000");
    //  A job of two nodes, j0001
    bench_exec (db, "INSERT INTO tasks (name, kind, created_at) VALUES ('j0001', 2, UTC_TIMESTAMP(6))");
    bench_exec (db, "INSERT INTO job_nodes (job_id, task_id, name) SELECT j.id, seq, CONCAT('node', seq) "
                    "FROM tasks j, seq_1_to_2 WHERE j.name = 'j0001'");
    bench_exec (db, "INSERT INTO job_edges (job_id, parent_id, child_id) SELECT a.job_id, a.id, b.id "
                    "FROM job_nodes a JOIN job_nodes b ON b.job_id = a.job_id AND b.name = 'node2' WHERE a.name = 'node1'");
    //  Two schedulers (ids 1 and 2), then 50 executors (3 to 52), on hosts h01 to h50
    bench_exec (db, "INSERT INTO daemons (kind, host, pid, status, concurrency, heartbeat, started_at) "
                    "SELECT 1, CONCAT('s', seq), 1000 + seq, 2, 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) FROM seq_1_to_2");
    bench_exec (db, "INSERT INTO daemons (kind, host, pid, status, queue_id, concurrency, heartbeat, started_at) "
                    "SELECT 2, CONCAT('h', LPAD(seq, 2, '0')), 2000 + seq, 2, 1 + seq % 20, 8, UTC_TIMESTAMP(6), "
                    "UTC_TIMESTAMP(6) FROM seq_1_to_50");
    //  Daily schedules, their times spread over the day
    char *sql = norc_asprintf (
        "INSERT INTO schedules (task_id, queue_id, kind, start_at, period_s, repetitions, remaining, next_nominal, "
        "created_at) SELECT 1 + seq %% 1000, 1 + seq %% 20, 1, "
        "DATE_ADD(UTC_DATE(), INTERVAL seq %% 86400 SECOND), 86400, 0, 0, "
        "DATE_ADD(UTC_DATE(), INTERVAL 86400 + seq %% 86400 SECOND), UTC_TIMESTAMP(6) FROM seq_1_to_%lld",
        (long long) schedules);
    bench_exec (db, sql);
    free (sql);
    //  Instances over the last 7 days, a million a statement: 95% SUCCESS,
    //  5% FAILURE, the newest few hundred waiting or running
    int64_t step_us = 7LL * 86400 * 1000000 / instances;
    for (int64_t from = 0; from < instances; from += 1000000) {
        int64_t n = instances - from < 1000000 ? instances - from : 1000000;
        sql = norc_asprintf (
            "INSERT INTO instances (task_id, queue_id, schedule_id, nominal, attempt, trigger_kind, executor_id, "
            "status, enqueued_at, started_at, ended_at, exit_code, log_path) "
            "SELECT 1 + (k * 7) %% 1000, 1 + k %% 20, 1 + k %% %lld, t, 1, 1, 3 + k %% 50, "
            "CASE WHEN k > %lld - 200 THEN 1 WHEN k > %lld - 400 THEN 2 WHEN k %% 19 = 0 THEN 13 ELSE 7 END, "
            "t, DATE_ADD(t, INTERVAL 2000 MICROSECOND), IF(k > %lld - 400, NULL, DATE_ADD(t, INTERVAL 1 SECOND)), "
            "IF(k > %lld - 400, NULL, IF(k %% 19 = 0, 1, 0)), CONCAT('instances/', k DIV 1000, '/', k) "
            "FROM (SELECT seq + %lld AS k, DATE_SUB(UTC_TIMESTAMP(6), INTERVAL (%lld - seq - %lld) * %lld MICROSECOND) AS t "
            "FROM seq_1_to_%lld) AS g",
            (long long) schedules, (long long) instances, (long long) instances, (long long) instances,
            (long long) instances, (long long) from, (long long) instances, (long long) from, (long long) step_us,
            (long long) n);
        norc_us_t start = norc_mono_us ();
        bench_exec (db, sql);
        free (sql);
        fprintf (stderr, "instances: %lld written (%.1f s for the last million)\n", (long long) (from + n),
                 (norc_mono_us () - start) / 1e6);
    }
    //  The audit: 100,000 changes (a chain no one verifies here)
    bench_exec (db, "INSERT INTO audit (id, at, principal, verb, target, outcome, prev_hash, hash) "
                    "SELECT seq, DATE_SUB(UTC_TIMESTAMP(6), INTERVAL 100000 - seq SECOND), 'bench', 'task.add', "
                    "CONCAT('t', seq), 1, REPEAT('0', 64), SHA2(seq, 256) FROM seq_1_to_100000");
    bench_exec (db, "ANALYZE TABLE instances, schedules, audit");
}

int
main (int argc, char *argv [])
{
    if (argc < 3) {
        fprintf (stderr, "usage: norc_bench_lists SERVER-URL BIN-DIR [--schedules N] [--instances N] [--rounds R] "
                         "[--keep]\n");
        return 2;
    }
    bench_server = argv [1];
    bench_bin = argv [2];
    int64_t schedules = 1000000, instances = 10000000;
    int rounds = 20;
    bool keep = false;
    for (int i = 3; i < argc; i++) {
        if (strcmp (argv [i], "--keep") == 0)
            keep = true;        //  the database and the run's directory stay (for EXPLAIN)
        else
        if (strcmp (argv [i], "--schedules") == 0 && i + 1 < argc)
            schedules = atoll (argv [++i]);
        else
        if (strcmp (argv [i], "--instances") == 0 && i + 1 < argc)
            instances = atoll (argv [++i]);
        else
        if (strcmp (argv [i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi (argv [++i]);
        else
            norc_fatalx ("unknown argument %s", argv [i]);
    }
    if (schedules < 1 || instances < 1000 || rounds < 2)
        norc_fatalx ("--schedules from 1, --instances from 1000, --rounds from 2");
    norc_log_init ("bench", NORC_LOG_WARN);
    if (!mkdtemp (bench_dir))
        norc_fatal ("mkdtemp");
    bench_sys_t sys;
    bench_sys_init (&sys, "lists");
    //  (a million rows a statement: more than the default 30 s to answer)
    norc_db_options_t long_answers = { 5, 3600, 3600, 0 };
    norc_db_t *db = norc_db_new (sys.url, &long_answers);
    norc_us_t start = norc_mono_us ();
    s_generate (db, schedules, instances);
    double generated = (norc_mono_us () - start) / 1e6;

    s_port = bench_free_port ();
    char listen [64];
    snprintf (listen, sizeof listen, "127.0.0.1:%d", s_port);
    bench_sys_start (&sys, "norc-aggregator", NULL, NULL, NULL, NULL);
    bench_sys_start (&sys, "norc-web", "--web.listen", listen, NULL, NULL);
    //  An admin's token, by norcctl as a user makes one
    for (int i = 0; sys.env [i]; i++)
        putenv (sys.env [i]);
    char *command = norc_asprintf ("%s/norcctl token add bench --role admin", bench_bin);
    for (int i = 0; i < 100 && !s_token; i++) {
        FILE *out = popen (command, "r");
        char line [256] = "";
        if (out && fgets (line, sizeof line, out) && strncmp (line, "norc_", 5) == 0) {
            line [strcspn (line, "\n")] = 0;
            s_token = norc_strdup (line);
        }
        if (out)
            pclose (out);
        if (!s_token)
            usleep (200000);
    }
    free (command);
    if (!s_token)
        norc_fatalx ("no token: is the aggregator running? (see %s)", bench_dir);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init ();
    size_t bytes;
    double ms;
    for (int i = 0; i < 200 && s_get (curl, "/readyz", &bytes, &ms) != 200; i++)
        usleep (100000);

    printf ("## The API at scale (measured in this run)\n\n");
    printf ("%lld schedules, %lld instances over 7 days, 1,000 tasks, 20 queues, 52 daemons, 100,000 audit rows "
            "(written in %.0f s). Each route asked %d times over HTTP with an admin's token (the first answer "
            "apart); times in ms at the client on loopback.\n\n", (long long) schedules, (long long) instances,
            generated, rounds);
    printf ("| what | request | bytes | p50 | p95 | first |\n|---|---|---|---|---|---|\n");
    s_measure (curl, "floor: HTTP alone", "/healthz", rounds);
    //  The floor in MariaDB: the newest 100 instances, read straight
    double *sql_ms = (double *) norc_calloc ((size_t) rounds, sizeof (double));
    for (int i = 0; i < rounds; i++) {
        norc_us_t t = norc_mono_us ();
        norc_stmt_t *st = norc_db_stmt (db, "SELECT * FROM instances ORDER BY id DESC LIMIT 100");
        if (norc_stmt_exec (st) == NORC_OK)
            while (norc_stmt_fetch (st) == NORC_OK)
                ;
        sql_ms [i] = (norc_mono_us () - t) / 1000.0;
    }
    qsort (sql_ms, (size_t) rounds, sizeof (double), s_cmp);
    printf ("| floor: MariaDB alone | `SELECT * FROM instances ORDER BY id DESC LIMIT 100` | | %.1f | %.1f | |\n",
            sql_ms [rounds / 2], sql_ms [(int) (rounds * 0.95) < rounds ? (int) (rounds * 0.95) : rounds - 1]);
    free (sql_ms);
    //  Every list of the document, its path's arguments filled in
    for (size_t i = 0; norc_api_op_at (i); i++) {
        const norc_api_op_t *op = norc_api_op_at (i);
        if (!op->http_method || strcmp (op->http_method, "GET") != 0 || !op->http_list
        ||  strcmp (op->name, "audit.verify") == 0)
            continue;           //  (the audit's check reads every row: not a list)
        char path [256] = "/api/v1";
        const char *p = op->http_path;
        size_t len = strlen (path);
        while (*p && len + 16 < sizeof path) {
            if (*p == '{') {
                const char *end = strchr (p, '}');
                bool id = strncmp (p, "{id}", 4) == 0;
                len += (size_t) snprintf (path + len, sizeof path - len, "%s",
                                          id ? "4242" : strncmp (op->name, "job.", 4) == 0 ? "j0001" : "t0042");
                p = end + 1;
            }
            else
                path [len++] = *p++;
        }
        path [len] = 0;
        //  cron.next: a schedule's zone and an expression
        if (strcmp (op->name, "cron.next") == 0)
            snprintf (path + len, sizeof path - len, "?expr=0+30+2+*+*+*&tz=Europe/London&n=10");
        s_measure (curl, op->name, path, rounds);
    }
    //  The instances' filters and a later page
    static const struct { const char *what, *query; } filters [] = {
        { "status.instances, every one", "?since=all" },
        { "status.instances, failed", "?since=all&status=failed" },
        { "status.instances, a queue", "?since=all&queue=q07" },
        { "status.instances, a task", "?since=all&task=t0042" },
        { "status.instances, a host", "?since=all&host=h07" },
        { "status.instances, failed on a host", "?since=all&status=failed&host=h07" },
        { "status.instances, the last hour", "?since=1h" },
        { "status.instances, waiting", "?since=all&status=waiting" },
        { "status.instances, a later page", "?since=all&before=5000000" },
    };
    for (size_t i = 0; i < sizeof filters / sizeof filters [0]; i++) {
        char *path = norc_asprintf ("/api/v1/instances%s", filters [i].query);
        s_measure (curl, filters [i].what, path, rounds);
        free (path);
    }
    printf ("\n");
    curl_easy_cleanup (curl);
    curl_global_cleanup ();
    norc_db_destroy (&db);
    if (keep) {
        fprintf (stderr, "kept: %s and %s\n", sys.url, bench_dir);
        return 0;
    }
    bench_sys_stop (&sys);
    char *cmd = norc_asprintf ("rm -rf %s", bench_dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", bench_dir);
    free (cmd);
    free (s_token);
    return 0;
}
