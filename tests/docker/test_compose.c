//  End to end in containers: docker compose up with three executors, the
//  demo schedule spread over them, scaling down (drain), an executor killed,
//  MariaDB restarted, the event stream read from the host by the Python
//  example, and `down -v` leaving nothing behind. With deploy/two-sites.yml,
//  a second site on a network of its own whose executor reaches nothing of
//  the control plane, only its bridge, which reaches only SQS (moto's
//  server on this host, signature checking on): the queue's runs cross
//  over and their logs come back. Skipped, saying so, when no Docker
//  engine answers.
#include <criterion/criterion.h>
#include <stdarg.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "norc_test.h"
#include "norc_moto.h"
#include "norc_mem.h"
#include "norc_log.h"

static char s_project [64];
static char *s_compose;                 //  "docker compose" or "docker-compose", with -p and -f
static int s_api_port, s_stream_port, s_fetch_port, s_web_port;
static norc_moto_t *s_moto;             //  SQS, for the second site

//  Run a shell command (formatted); its output goes to the test's output.
static int
s_sh (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *cmd = norc_vasprintf (fmt, ap);
    va_end (ap);
    int rc = system (cmd);
    free (cmd);
    return rc == -1 ? -1 : WEXITSTATUS (rc);
}

//  A shell command's standard output, trimmed.
static char *
s_out (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *cmd = norc_vasprintf (fmt, ap);
    va_end (ap);
    FILE *pipe = popen (cmd, "r");
    free (cmd);
    cr_assert_not_null (pipe);
    size_t size = 0, used = 0;
    char *text = NULL;
    char buf [4096];
    size_t n;
    while ((n = fread (buf, 1, sizeof buf, pipe)) > 0) {
        if (used + n + 1 > size) {
            size = (used + n + 1) * 2;
            text = (char *) norc_realloc (text, size);
        }
        memcpy (text + used, buf, n);
        used += n;
    }
    pclose (pipe);
    if (!text)
        text = norc_strdup ("");
    else
        text [used] = 0;
    while (used > 0 && (text [used - 1] == '\n' || text [used - 1] == ' '))
        text [--used] = 0;
    return text;
}

//  One integer from SQL run inside the MariaDB container (-1 on failure).
static int64_t
s_sql (const char *sql)
{
    //  As root, with the password the keys service made at the first up
    char *out = s_out ("%s exec -T mariadb sh -c 'MYSQL_PWD=$(cat /run/norc-db/db_root_password) "
                       "exec mariadb -uroot norc -N -e \"$0\"' \"%s\" 2>/dev/null", s_compose, sql);
    int64_t value = *out ? strtoll (out, NULL, 10) : -1;
    free (out);
    return value;
}

static void
s_wait_sql (const char *sql, int64_t want, int timeout_s)
{
    int64_t value = -1;
    for (int i = 0; i < timeout_s * 2; i++) {
        value = s_sql (sql);
        if (value >= want)
            return;
        usleep (500000);
    }
    s_sh ("%s ps; %s logs --tail 30", s_compose, s_compose);
    cr_assert_fail ("waited %d s for %s >= %lld (is %lld)", timeout_s, sql, (long long) want, (long long) value);
}

//  The published ports: four distinct ones free now (held open together
//  while they are picked, so no two are the same), in the environment
static void
s_pick_ports (void)
{
    int *ports [] = { &s_api_port, &s_stream_port, &s_fetch_port, &s_web_port };
    const char *names [] = { "NORC_API_PORT", "NORC_STREAM_PORT", "NORC_FETCH_PORT", "NORC_WEB_PORT" };
    int fds [4];
    for (int i = 0; i < 4; i++) {
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
        socklen_t len = sizeof addr;
        fds [i] = socket (AF_INET, SOCK_STREAM, 0);
        cr_assert (fds [i] >= 0 && bind (fds [i], (struct sockaddr *) &addr, sizeof addr) == 0
                   && getsockname (fds [i], (struct sockaddr *) &addr, &len) == 0, "a free port");
        *ports [i] = ntohs (addr.sin_port);
        char port [16];
        snprintf (port, sizeof port, "%d", *ports [i]);
        setenv (names [i], port, 1);
    }
    for (int i = 0; i < 4; i++)
        close (fds [i]);
}

//  Up, with the executors scaled to three (a second up finishes what the
//  first left starting). A port taken meanwhile by something else on this
//  machine (the engine then refuses to publish it) is not the stack's
//  fault: down, and up again on other ports, twice at most.
static int
s_up (void)
{
    int rc = -1;
    for (int attempt = 0; rc != 0 && attempt < 3; attempt++) {
        if (attempt) {
            s_sh ("%s down --remove-orphans >/dev/null 2>&1", s_compose);
            s_pick_ports ();
        }
        rc = s_sh ("%s up -d --scale executor=3 >/dev/null 2>&1 || %s up -d --scale executor=3",
                   s_compose, s_compose);
    }
    return rc;
}

static void
s_setup (void)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    if (s_sh ("docker info >/dev/null 2>&1") != 0)
        cr_skip_test ("docker: skipped (no Docker engine answers)");
    snprintf (s_project, sizeof s_project, "norctest%d", (int) getpid ());
    const char *tool = s_sh ("docker compose version >/dev/null 2>&1") == 0 ? "docker compose" : "docker-compose";
    s_compose = norc_asprintf ("%s -p %s -f %s/docker-compose.yml -f %s/deploy/two-sites.yml", tool, s_project,
                               NORC_SOURCE_DIR, NORC_SOURCE_DIR);
    //  SQS for the second site: moto on every address of this host, which
    //  the containers reach as host.docker.internal
    s_moto = norc_moto_start_on ("0.0.0.0");
    const char *queues [][3] = { { "NORC_FAR_URL", "far", "5" }, { "NORC_FAR_RETURN_URL", "far-return.fifo", "5" },
                                 { "NORC_FAR_REPLY_URL", "far-reply.fifo", "5" } };
    for (size_t i = 0; i < 3; i++) {
        char *url = norc_moto_tool (s_moto, "queue", queues [i][1], queues [i][2], NULL);
        setenv (queues [i][0], url, 1);
        free (url);
    }
    char *endpoint = norc_asprintf ("http://host.docker.internal:%s", strrchr (s_moto->endpoint, ':') + 1);
    setenv ("AWS_ENDPOINT_URL", endpoint, 1);
    free (endpoint);
    setenv ("AWS_ACCESS_KEY_ID", s_moto->key, 1);
    setenv ("AWS_SECRET_ACCESS_KEY", s_moto->secret, 1);
    setenv ("AWS_REGION", "us-east-1", 1);
    setenv ("NORC_FAR_QUEUE", "Far", 1);
    s_pick_ports ();
    //  The images: a local base and MariaDB (no registry here), Norc built
    setenv ("NORC_MARIADB_IMAGE", "norc-test/mariadb:10.11", 1);
    setenv ("NORC_IMAGE", "norc-test/norc:latest", 1);
    setenv ("NORC_DEMO", "1", 1);
    setenv ("NORC_DEMO_PERIOD", "1", 1);
    setenv ("NORC_DEMO_COMMAND", "echo begin; sleep 4; echo done", 1);
    setenv ("NORC_EXECUTOR_SLOTS", "2", 1);
    setenv ("NORC_HEARTBEAT_FAILURE_MS", "3000", 1);
    setenv ("NORC_EXECUTOR_DRAIN_MS", "10000", 1);
    setenv ("NORC_EXECUTOR_STOP_GRACE", "30s", 1);
    cr_assert_eq (s_sh ("%s/deploy/docker/make-test-images.sh", NORC_SOURCE_DIR), 0);
    cr_assert_eq (s_sh ("%s build -q >/dev/null", s_compose), 0, "the Norc image builds");
}

static void
s_teardown (void)
{
    if (!s_compose)
        return;
    s_sh ("%s down -v --remove-orphans >/dev/null 2>&1", s_compose);
    free (s_compose);
    s_compose = NULL;
    norc_moto_stop (&s_moto);
}

TestSuite (compose, .init = s_setup, .fini = s_teardown, .timeout = 1200);

Test (compose, up_scale_kill_restart_down)
{
    cr_assert_eq (s_up (), 0);
    //  The demo's instances spread over the three executor hosts
    s_wait_sql ("SELECT COUNT(*) FROM instances WHERE status = 7", 6, 180);
    s_wait_sql ("SELECT COUNT(DISTINCT d.host) FROM instances i JOIN daemons d ON d.id = i.executor_id "
                "WHERE i.status = 7", 3, 60);
    cr_expect_eq (s_sql ("SELECT COUNT(*) FROM daemons d JOIN queues q ON q.id = d.queue_id "
                         "WHERE d.kind = 2 AND d.status = 2 AND q.name = 'DemoQueue'"), 3);

    //  CURVE is on: a client with no key gets nothing from the published port
    char *anonymous = norc_asprintf ("%s/norcctl --aggregator.api tcp://127.0.0.1:%d --api.timeout_ms 2000 "
                                     "queue add Intruder 2>/dev/null", NORC_BIN_DIR, s_api_port);
    cr_expect_neq (s_sh ("%s", anonymous), 0, "no answer without a key");
    free (anonymous);
    cr_expect_eq (s_sql ("SELECT COUNT(*) FROM queues WHERE name = 'Intruder'"), 0);
    //  The first admin's key, made at the first up, exported to this host
    char *keys = norc_test_tmpdir ("compose-keys");
    cr_assert_eq (s_sh ("%s run --rm --no-deps -T keys norc-keys export | tar -x --no-same-owner -C %s",
                        s_compose, keys), 0);
    cr_expect_eq (s_sql ("SELECT COUNT(*) FROM principal WHERE name = 'admin' AND roles = 'admin'"), 1);
    //  norcctl from the host, against the published port, and inside the stack
    char *ctl = norc_asprintf ("%s/norcctl --aggregator.api tcp://127.0.0.1:%d --archiver.fetch tcp://127.0.0.1:%d "
                               "--security.curve true --security.keys_dir %s --security.key admin",
                               NORC_BIN_DIR, s_api_port, s_fetch_port, keys);
    char *hosts = s_out ("%s status executors --json", ctl);
    cr_expect_neq (strstr (hosts, "\"host\""), NULL, "%s", hosts);
    free (hosts);
    char *log = s_out ("%s logs 1", ctl);
    cr_expect_neq (strstr (log, "done"), NULL, "the log from the host: %s", log);
    free (log);
    cr_expect_eq (s_sh ("%s run --rm --no-deps -T setup norcctl status >/dev/null", s_compose), 0);

    //  The second site: its executor reaches nothing of the control plane
    //  (not even a name), yet runs the queue's ticks, once each, and their
    //  logs come back through the return queue
    cr_expect_neq (s_sh ("%s exec -T executor-far getent hosts aggregator >/dev/null 2>&1", s_compose), 0,
                   "the far site cannot even name the aggregator");
    cr_assert_eq (s_sh ("%s task add FarTask --command 'echo far-side' >/dev/null && "
                        "%s schedule add FarTask --queue Far --period 1 --reps 3 >/dev/null", ctl, ctl), 0);
    s_wait_sql ("SELECT COUNT(*) FROM instances i JOIN queues q ON q.id = i.queue_id "
                "WHERE q.name = 'Far' AND i.status = 7", 3, 180);
    cr_expect_eq (s_sql ("SELECT COUNT(*) FROM instances i JOIN queues q ON q.id = i.queue_id WHERE q.name = 'Far'"),
                  3, "one instance per tick");
    int64_t far = s_sql ("SELECT MIN(i.id) FROM instances i JOIN queues q ON q.id = i.queue_id WHERE q.name = 'Far'");
    //  run by the far site's executor, registered through the bridges
    char *far_host = s_out ("%s exec -T executor-far hostname", s_compose);
    char *sql_far = norc_asprintf ("SELECT COUNT(*) FROM instances i JOIN daemons d ON d.id = i.executor_id "
                                   "WHERE i.id = %lld AND d.host = '%s'", (long long) far, far_host);
    cr_expect_eq (s_sql (sql_far), 1, "run on %s", far_host);
    free (sql_far);
    free (far_host);
    bool far_log = false;
    for (int i = 0; i < 60 && !far_log; i++) {
        log = s_out ("%s logs %lld 2>&1", ctl, (long long) far);
        far_log = strstr (log, "far-side") != NULL;
        free (log);
        if (!far_log)
            usleep (500000);
    }
    cr_expect (far_log, "the far run's log, read from the archiver");

    //  The page on the published port, and its first login (user admin,
    //  the password the keys service made)
    char *password = s_out ("%s run --rm --no-deps -T keys cat /var/lib/norc/keys-admin/web_password", s_compose);
    cr_expect_eq (strlen (password), 20, "%s", password);
    char *page = s_out ("curl -sf http://127.0.0.1:%d/", s_web_port);
    cr_expect_neq (strstr (page, "<title>Norc</title>"), NULL, "%.200s", page);
    free (page);
    int login = 0;
    for (int i = 0; i < 60 && login != 200; i++) {
        char *code = s_out ("curl -s -o /dev/null -w '%%{http_code}' -c %s/cookies -H 'Content-Type: application/json' "
                            "-d '{\"name\": \"admin\", \"password\": \"%s\"}' http://127.0.0.1:%d/api/v1/session",
                            keys, password, s_web_port);
        login = atoi (code);
        free (code);
        if (login != 200)
            usleep (500000);
    }
    cr_expect_eq (login, 200, "the page's first login works");
    free (password);
    //  ... and the page's log viewer reads a log through norc-web (its key
    //  admitted by the archiver)
    log = s_out ("curl -sf -b %s/cookies 'http://127.0.0.1:%d/api/v1/instances/1/log?tail=4096'", keys, s_web_port);
    cr_expect_neq (strstr (log, "done"), NULL, "the log over HTTP: %s", log);
    free (log);
    //  norc-web holds no database credentials
    char *web_env = s_out ("%s exec -T web env", s_compose);
    cr_expect_null (strstr (web_env, "mysql://"), "%s", web_env);
    free (web_env);

    //  Hardened containers; an executor holds no database credentials
    cr_expect_neq (s_sh ("%s exec -T executor sh -c 'touch /usr/local/bin/x' 2>/dev/null", s_compose), 0,
                   "a read-only root filesystem");
    cr_expect_eq (s_sh ("%s exec -T executor sh -c 'touch /tmp/x'", s_compose), 0, "a writable /tmp");
    char *env = s_out ("%s exec -T executor env", s_compose);
    cr_expect_null (strstr (env, "NORC_DB_URL"), "%s", env);
    cr_expect_null (strstr (env, "mysql://"), "%s", env);
    free (env);
    char *caps = s_out ("%s exec -T executor grep CapEff /proc/self/status", s_compose);
    cr_expect_neq (strstr (caps, "00000000000000c0"), NULL, "SETGID and SETUID alone: %s", caps);
    free (caps);
    caps = s_out ("%s exec -T archiver grep CapEff /proc/self/status", s_compose);
    cr_expect_neq (strstr (caps, "0000000000000000"), NULL, "no capabilities: %s", caps);
    free (caps);
    //  A task runs as norc-task, with no capability, and cannot read its
    //  executor's key or spool
    char *made = s_out ("%s task add Peek --command 'id -un; grep CapEff /proc/self/status; "
                        "cat /var/lib/norc/keys/executor.key_secret || echo no-key; "
                        "ls /var/lib/norc/spool/* >/dev/null || echo no-spool; "
                        "getent hosts mariadb >/dev/null && echo reaches-db || echo no-db' >/dev/null && "
                        "%s run Peek --queue DemoQueue", ctl, ctl);
    long peek = 0;
    const char *of = strstr (made, "instance ");
    cr_assert (of && sscanf (of, "instance %ld", &peek) == 1, "%s", made);
    free (made);
    char *sql = norc_asprintf ("SELECT COUNT(*) FROM instances WHERE id = %ld AND status >= 7", peek);
    s_wait_sql (sql, 1, 60);
    free (sql);
    char *peeked = s_out ("%s logs %ld", ctl, peek);
    cr_expect_neq (strstr (peeked, "norc-task"), NULL, "%s", peeked);
    cr_expect_neq (strstr (peeked, "CapEff:\t0000000000000000"), NULL, "%s", peeked);
    cr_expect_neq (strstr (peeked, "no-key"), NULL, "%s", peeked);
    cr_expect_null (strstr (peeked, "secret-key"), "%s", peeked);
    cr_expect_neq (strstr (peeked, "no-spool"), NULL, "%s", peeked);
    cr_expect_neq (strstr (peeked, "no-db"), NULL, "a task cannot even reach MariaDB: %s", peeked);
    free (peeked);

    //  Any ZeroMQ + msgpack client reads the event stream from the host
    const char *python = getenv ("NORC_PYTHON") ? getenv ("NORC_PYTHON") : "python3";
    char *events = s_out ("%s %s/deploy/examples/norc_events.py --endpoint tcp://127.0.0.1:%d "
                          "--filter instance.ended -n 2 --timeout 30 --keys-dir %s --key admin", python,
                          NORC_SOURCE_DIR, s_stream_port, keys);
    cr_expect_neq (strstr (events, "\"topic\": \"instance.ended\""), NULL, "%s", events);
    free (events);

    //  Scale down while instances run: the two removed executors drain and end
    cr_assert_eq (s_sh ("%s up -d --scale executor=1 --no-recreate >/dev/null 2>&1", s_compose), 0);
    s_wait_sql ("SELECT COUNT(*) FROM daemons WHERE kind = 2 AND status = 8", 2, 60);
    cr_expect_eq (s_sql ("SELECT COUNT(*) FROM instances WHERE status IN (14, 16)"), 0,
                  "draining lost nothing");

    //  docker kill the last executor mid-task: its instance reaches a final
    //  status within the failure threshold (the container restarts, adopts
    //  its spool and reports the lost run)
    s_wait_sql ("SELECT COUNT(*) FROM instances WHERE status = 2", 1, 30);
    char *container = s_out ("%s ps -q executor", s_compose);
    cr_assert_eq (s_sh ("docker kill %s >/dev/null", container), 0);
    free (container);
    s_wait_sql ("SELECT COUNT(*) FROM instances WHERE status = 14", 1, 20);
    int64_t running = s_sql ("SELECT MIN(id) FROM instances WHERE status = 14");
    cr_expect_eq (s_sql ("SELECT COUNT(*) FROM instances WHERE status = 2"), 0, "nothing left running");
    //  Started again (docker kill counts as a manual stop), it adopts the
    //  dead executor's spool slot and completes the lost run's log
    cr_assert_eq (s_sh ("%s up -d --scale executor=1 >/dev/null 2>&1", s_compose), 0);
    bool completed = false;
    for (int i = 0; i < 60 && !completed; i++) {
        log = s_out ("%s logs %lld 2>&1", ctl, (long long) running);
        completed = strstr (log, "Executor lost while the task ran") != NULL;
        free (log);
        if (!completed)
            usleep (500000);
    }
    if (!completed) {
        s_sh ("%s logs executor 2>&1 | grep -v SUCCESS | tail -20", s_compose);
        s_sh ("%s logs %lld", ctl, (long long) running);
    }
    cr_expect (completed, "the lost run's log is completed by the restarted executor");

    //  Restart MariaDB: the stack recovers by itself
    int64_t before = s_sql ("SELECT COUNT(*) FROM instances WHERE status = 7");
    cr_assert_eq (s_sh ("%s restart mariadb >/dev/null 2>&1", s_compose), 0);
    s_wait_sql ("SELECT COUNT(*) FROM instances WHERE status = 7", before + 5, 120);

    //  Stop the demo; then every instance is final, no tick doubled or lost
    cr_expect_eq (s_sh ("%s schedule pause 1 >/dev/null", ctl), 0);
    s_wait_sql ("SELECT COUNT(*) = 0 FROM instances WHERE status < 7", 1, 60);
    cr_expect_eq (s_sql ("SELECT COUNT(*) FROM (SELECT nominal FROM instances GROUP BY schedule_id, nominal "
                         "HAVING COUNT(*) > 1) d"), 0, "no tick twice");
    cr_expect_eq (s_sql ("SELECT (SELECT COUNT(*) FROM instances WHERE schedule_id = 1 AND attempt = 1) "
                         "+ (SELECT COALESCE(SUM(tick_count), 0) FROM ticks WHERE schedule_id = 1) "
                         "- TIMESTAMPDIFF(SECOND, MIN(a), MAX(b)) - 1 FROM "
                         "(SELECT nominal AS a, nominal AS b FROM instances WHERE schedule_id = 1 UNION ALL "
                         "SELECT nominal, last_nominal FROM ticks WHERE schedule_id = 1) u"), 0,
                  "every tick has an instance or a recorded reason");
    free (ctl);
    norc_test_rmdir (&keys);

    //  down -v leaves nothing behind
    cr_assert_eq (s_sh ("%s down -v --remove-orphans >/dev/null 2>&1", s_compose), 0);
    char *left = s_out ("docker ps -aq --filter label=com.docker.compose.project=%s; "
                        "docker volume ls -q --filter label=com.docker.compose.project=%s; "
                        "docker network ls -q --filter label=com.docker.compose.project=%s",
                        s_project, s_project, s_project);
    cr_expect_str_eq (left, "", "left behind: %s", left);
    free (left);
}
