//  Unit tests: configuration from defaults, file, environment and flags,
//  errors naming the key and value; ZeroMQ helpers on real sockets.
#include <criterion/criterion.h>
#include "norc_test.h"
#include <sys/stat.h>
#include <unistd.h>
#include "norc_config.h"
#include "norc_zmq.h"
#include "norc_log.h"
#include "norc_mem.h"

Test (norc_config, defaults_then_file_env_flags_in_that_order)
{
    unsetenv ("NORC_CONFIG");
    unsetenv ("NORC_DB_URL");
    norc_config_t *config = norc_config_new ();
    cr_expect_str_eq (norc_config_str (config, "db.url"), "mysql://norc@127.0.0.1:3306/norc");
    cr_expect_eq (norc_config_int (config, "heartbeat.period_ms"), 1000);

    char path [] = "/tmp/norc-config-XXXXXX";
    int fd = mkstemp (path);
    FILE *file = fdopen (fd, "w");
    fprintf (file, "# comment\n\n db.url = mysql://file@h/f \nheartbeat.period_ms=250\nlog.level = debug\n");
    fclose (file);
    setenv ("NORC_CONFIG", path, 1);
    setenv ("NORC_HEARTBEAT_PERIOD_MS", "300", 1);
    char *argv [] = { (char *) "prog", (char *) "run", (char *) "--log-level=warn",
                      (char *) "--heartbeat.failure_ms", (char *) "9000", (char *) "keep",
                      (char *) "--unknown-flag", NULL };
    int argc = 7;
    cr_assert_eq (norc_config_load (config, &argc, argv), NORC_OK, "%s", norc_config_errstr (config));
    cr_expect_str_eq (norc_config_str (config, "db.url"), "mysql://file@h/f");
    cr_expect_eq (norc_config_int (config, "heartbeat.period_ms"), 300, "env beats file");
    cr_expect_str_eq (norc_config_str (config, "log.level"), "warn", "flag beats file");
    cr_expect_eq (norc_config_int (config, "heartbeat.failure_ms"), 9000);
    cr_assert_eq (argc, 4, "known flags are taken out, the rest stays in order");
    cr_expect_str_eq (argv [1], "run");
    cr_expect_str_eq (argv [2], "keep");
    cr_expect_str_eq (argv [3], "--unknown-flag");
    cr_expect_null (argv [4]);
    unsetenv ("NORC_CONFIG");
    unsetenv ("NORC_HEARTBEAT_PERIOD_MS");
    unlink (path);
    norc_config_destroy (&config);
    cr_expect_null (config);
}

//  db.password_file: its first line becomes db.url's password, encoded
//  for the URL; a file that cannot be read is an error that says so
Test (norc_config, the_database_password_comes_from_a_file)
{
    unsetenv ("NORC_CONFIG");
    char *dir = norc_test_tmpdir ("password");
    char *path = norc_asprintf ("%s/password", dir);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fprintf (file, "s3cret:@/x\nsecond line\n");
    fclose (file);
    const char *urls [] = { "mysql://norc@db:3306/norc", "mysql://norc:old@db:3306/norc" };
    for (int i = 0; i < 2; i++) {
        norc_config_t *config = norc_config_new ();
        char *argv [] = { (char *) "prog", (char *) "--db.url", (char *) urls [i], (char *) "--db.password_file",
                          path, NULL };
        int argc = 5;
        cr_assert_eq (norc_config_load (config, &argc, argv), NORC_OK, "%s", norc_config_errstr (config));
        cr_expect_str_eq (norc_config_str (config, "db.url"), "mysql://norc:s3cret%3A%40%2Fx@db:3306/norc");
        norc_config_destroy (&config);
    }
    unlink (path);
    norc_config_t *config = norc_config_new ();
    char *argv [] = { (char *) "prog", (char *) "--db.password_file", path, NULL };
    int argc = 3;
    cr_expect_eq (norc_config_load (config, &argc, argv), NORC_ERROR);
    cr_expect_not_null (strstr (norc_config_errstr (config), "db.password_file: cannot read a password from"),
                        "%s", norc_config_errstr (config));
    norc_config_destroy (&config);
    free (path);
    norc_test_rmdir (&dir);
}

Test (norc_config, errors_name_the_key_and_the_value)
{
    norc_config_t *config = norc_config_new ();
    cr_expect_eq (norc_config_set (config, "db.nope", "x"), NORC_ERROR);
    cr_expect_str_eq (norc_config_errstr (config), "unknown configuration key \"db.nope\"");
    cr_expect_eq (norc_config_set (config, "heartbeat.period_ms", "fast"), NORC_ERROR);
    cr_expect_not_null (strstr (norc_config_errstr (config), "bad value \"fast\" for heartbeat.period_ms"));
    cr_expect_eq (norc_config_set (config, "heartbeat.period_ms", "1"), NORC_ERROR);
    cr_expect_not_null (strstr (norc_config_errstr (config), "out of range"));
    cr_expect_eq (norc_config_set (config, "log.level", "loud"), NORC_ERROR);
    cr_expect_eq (norc_config_set (config, "db.url", "postgres://x"), NORC_ERROR);
    cr_expect_eq (norc_config_set (config, "aggregator.api", "http://x"), NORC_ERROR);
    cr_expect_eq (norc_config_int (config, "heartbeat.period_ms"), 1000, "bad values change nothing");

    char path [] = "/tmp/norc-config-XXXXXX";
    int fd = mkstemp (path);
    FILE *file = fdopen (fd, "w");
    fprintf (file, "db.url = mysql://a@b/c\nno equals sign here\n");
    fclose (file);
    cr_expect_eq (norc_config_load_file (config, path), NORC_ERROR);
    cr_expect_not_null (strstr (norc_config_errstr (config), ":2: expected key = value"));
    file = fopen (path, "w");
    fprintf (file, "spool.dirr = /tmp\n");
    fclose (file);
    cr_expect_eq (norc_config_load_file (config, path), NORC_ERROR);
    cr_expect_not_null (strstr (norc_config_errstr (config), ":1: unknown configuration key \"spool.dirr\""));
    unlink (path);
    cr_expect_eq (norc_config_load_file (config, "/nonexistent/norc.conf"), NORC_ERROR);
    cr_expect_not_null (strstr (norc_config_errstr (config), "cannot read"));

    setenv ("NORC_API_TIMEOUT_MS", "-5", 1);
    cr_expect_eq (norc_config_load_env (config), NORC_ERROR);
    cr_expect_not_null (strstr (norc_config_errstr (config), "environment NORC_API_TIMEOUT_MS"));
    unsetenv ("NORC_API_TIMEOUT_MS");

    char *argv [] = { (char *) "prog", (char *) "--db-url", NULL };
    int argc = 2;
    cr_expect_eq (norc_config_load_args (config, &argc, argv), NORC_ERROR);
    cr_expect_not_null (strstr (norc_config_errstr (config), "needs a value"));
    char *argv2 [] = { (char *) "prog", (char *) "--heartbeat-period_ms=x", NULL };
    argc = 2;
    cr_expect_eq (norc_config_load_args (config, &argc, argv2), NORC_ERROR);
    cr_expect_not_null (strstr (norc_config_errstr (config), "flag --heartbeat-period_ms"));
    norc_config_destroy (&config);
}

Test (norc_config, bind_endpoints_and_markdown)
{
    norc_config_t *config = norc_config_new ();
    char *bind = norc_config_bind_endpoint (config, "aggregator.api");
    cr_expect_str_eq (bind, "tcp://127.0.0.1:7602");
    free (bind);
    norc_config_set (config, "aggregator.api", "tcp://aggregator:7602");
    norc_config_set (config, "listen.host", "*");
    norc_log_init ("test", NORC_LOG_ERROR);
    cr_expect_null (norc_config_bind_endpoint (config, "aggregator.api"),
                    "every host could reach it and nothing checks who: refused");
    norc_config_set (config, "archiver.fetch", "ipc:///tmp/x.ipc");
    cr_expect_null (norc_config_bind_endpoint (config, "archiver.fetch"), "/tmp is open to every user: refused");
    //  Unless the operator says so
    cr_assert_eq (norc_config_set (config, "security.insecure", "true"), NORC_OK);
    bind = norc_config_bind_endpoint (config, "aggregator.api");
    cr_expect_str_eq (bind, "tcp://*:7602");
    free (bind);
    bind = norc_config_bind_endpoint (config, "archiver.fetch");
    cr_expect_str_eq (bind, "ipc:///tmp/x.ipc");
    free (bind);
    cr_expect (norc_config_known ("db.url"));
    cr_expect (!norc_config_known ("db.urls"));
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    norc_config_print_markdown (out);
    fclose (out);
    cr_expect_not_null (strstr (text, "| `db.url` | `NORC_DB_URL` |"));
    free (text);
    norc_config_destroy (&config);
}

//  Every key of the table is documented in docs/configuration.md.
Test (norc_config, every_key_is_documented)
{
    FILE *doc = fopen (NORC_SOURCE_DIR "/docs/configuration.md", "r");
    cr_assert_not_null (doc);
    char *text = NULL;
    size_t size = 0;
    FILE *table = open_memstream (&text, &size);
    norc_config_print_markdown (table);
    fclose (table);
    char *docs = (char *) norc_calloc (1, 1 << 20);
    size_t n = fread (docs, 1, (1 << 20) - 1, doc);
    docs [n] = 0;
    fclose (doc);
    for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n"))
        cr_expect_not_null (strstr (docs, line), "docs/configuration.md lacks: %s", line);
    free (docs);
    free (text);
}

Test (norc_zmq, who_can_reach_an_endpoint)
{
    char why [512];
    const char *own [] = { "tcp://127.0.0.1:7601", "tcp://127.0.0.2:1", "tcp://localhost:7601", "tcp://[::1]:7601",
                           "inproc://x" };
    for (size_t i = 0; i < sizeof own / sizeof own [0]; i++)
        cr_expect (!norc_zmq_exposed (own [i], why, sizeof why), "%s", own [i]);
    const char *open [] = { "tcp://*:7601", "tcp://0.0.0.0:7601", "tcp://10.1.2.3:7601", "tcp://aggregator:7601",
                            "tcp://[::]:7601", "tcp://eth0:7601", "ipc://@norc" };
    for (size_t i = 0; i < sizeof open / sizeof open [0]; i++) {
        cr_expect (norc_zmq_exposed (open [i], why, sizeof why), "%s", open [i]);
        cr_expect_not_null (strstr (why, open [i]), "the reason names it: %s", why);
    }
    //  ipc: the directory decides
    char *dir = norc_test_tmpdir ("zmq");
    char *endpoint = norc_asprintf ("ipc://%s/api.ipc", dir);
    cr_expect (!norc_zmq_exposed (endpoint, why, sizeof why), "a directory only its owner can open");
    chmod (dir, 0755);
    cr_expect (norc_zmq_exposed (endpoint, why, sizeof why), "readable by others");
    cr_expect_not_null (strstr (why, "mode 755"), "%s", why);
    norc_test_rmdir (&dir);
    free (endpoint);
}

Test (norc_zmq, bind_connect_wait)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    zsock_t *server = norc_zmq_bind (ZMQ_ROUTER, "inproc://zmq-helpers");
    cr_assert_not_null (server);
    cr_expect_null (norc_zmq_bind (ZMQ_ROUTER, "inproc://zmq-helpers"), "address in use");
    cr_expect_null (norc_zmq_bind (ZMQ_ROUTER, "nonsense://x"));
    zsock_t *client = norc_zmq_connect (ZMQ_DEALER, "inproc://zmq-helpers");
    cr_assert_not_null (client);
    cr_expect_eq (norc_zmq_wait (server, 50), NORC_AGAIN);
    zstr_send (client, "hello");
    cr_expect_eq (norc_zmq_wait (server, 2000), NORC_OK);
    zmsg_t *msg = zmsg_recv (server);
    cr_expect_eq (zmsg_size (msg), 2);
    zmsg_destroy (&msg);
    zsock_destroy (&client);
    zsock_destroy (&server);
}
