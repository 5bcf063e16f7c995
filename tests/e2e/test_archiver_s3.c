//  End to end: logs copied to S3 by the log-archiver (moto's server on
//  loopback, signature checking on; boto3 the independent reader). A small
//  log is put once, with its SHA-256 in the object's metadata and in the
//  record; norcctl reads it from S3 once its local copy is gone (the whole
//  of it and its tail), and `norcctl logs verify` finds it whole, then
//  finds the object that was replaced behind Norc's back. A log larger
//  than a part is uploaded in parts while its task still runs; the
//  archiver is killed -9 mid-upload and started again: it goes on with the
//  same upload (no upload left behind), and boto3 reads back an object
//  whose SHA-256 is the log's.
//  The archiver shows in norcctl status with the logs it owes S3.
#include <criterion/criterion.h>
#include "norc_test.h"
#include "norc_moto.h"
#include "norc_aws.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

static norc_test_system_t *s_sys;
static norc_db_t *s_db;
static norc_moto_t *s_moto;

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

static void
s_env (const char *name, const char *value)
{
    char *entry = norc_asprintf ("%s=%s", name, value);
    norc_test_system_setenv (s_sys, entry);
    free (entry);
}

static void
s_setup (void)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    s_moto = norc_moto_start ();
    s_sys = norc_test_system_new ();
    s_env ("AWS_ENDPOINT_URL", s_moto->endpoint);
    s_env ("AWS_ACCESS_KEY_ID", s_moto->key);
    s_env ("AWS_SECRET_ACCESS_KEY", s_moto->secret);
    s_env ("AWS_REGION", "us-east-1");
    s_env ("NORC_ARCHIVER_S3_BUCKET", "norc-logs");
    s_env ("NORC_ARCHIVER_S3_PREFIX", "site-a");
    s_env ("NORC_ARCHIVER_S3_PART_BYTES", "5242880");
    free (norc_moto_tool (s_moto, "bucket", "norc-logs", NULL));
    norc_test_system_start_core (s_sys);
    s_db = norc_test_system_db (s_sys);
}

static void
s_teardown (void)
{
    norc_db_destroy (&s_db);
    norc_test_system_destroy (&s_sys);
    norc_moto_stop (&s_moto);
}

TestSuite (archiver_s3, .init = s_setup, .fini = s_teardown, .timeout = 180);

//  The local copy of a log, its path
static char *
s_local (uint64_t id)
{
    char rel [64];
    return norc_asprintf ("%s/logs/%s", s_sys->dir, norc_log_path (id, rel, sizeof rel));
}

//  SHA-256 of a file, as hex
static void
s_file_sha (const char *path, char hex [65], long *size)
{
    FILE *file = fopen (path, "rb");
    cr_assert_not_null (file, "%s", path);
    fseek (file, 0, SEEK_END);
    *size = ftell (file);
    rewind (file);
    char *data = (char *) norc_malloc ((size_t) *size + 1);
    cr_assert_eq (fread (data, 1, (size_t) *size, file), (size_t) *size);
    fclose (file);
    norc_aws_sha256_hex (data, (size_t) *size, hex);
    free (data);
}

//  The record's archive of an instance: "KEY SIZE SHA256"
static char *
s_record (uint64_t id)
{
    char *sql = norc_asprintf ("SELECT COUNT(*) FROM log_archives WHERE instance_id = %llu",
                               (unsigned long long) id);
    norc_test_db_wait_count (s_db, sql, 1, 60000);
    free (sql);
    char *out, *err;
    char text [32];
    snprintf (text, sizeof text, "%llu", (unsigned long long) id);
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "instance", "show", text, "--json", NULL), 0, "%s", err);
    free (err);
    return out;
}

//  Instance 1's log: the record, boto3's reading of the object (its bytes,
//  size and metadata) and the local copy agree; its size returned
static long
s_archived_whole (void)
{
    char *shown = s_record (1);
    char hex [65];
    long size;
    char *local = s_local (1);
    s_file_sha (local, hex, &size);
    cr_expect_not_null (strstr (shown, hex), "the record holds the log's SHA-256 %s: %s", hex, shown);
    cr_expect_not_null (strstr (shown, "site-a/instances/0/1"), "%s", shown);
    char *read = norc_moto_tool (s_moto, "object", "norc-logs", "site-a/instances/0/1", NULL);
    cr_expect_str_eq (read, hex, "boto3 reads the log's bytes");
    free (read);
    char *head = norc_moto_tool (s_moto, "head", "norc-logs", "site-a/instances/0/1", NULL);
    char *want = norc_asprintf ("%ld %s ", size, hex);
    cr_expect_eq (strncmp (head, want, strlen (want)), 0, "size and metadata: %s, not %s", head, want);
    free (want);
    free (head);
    free (shown);
    free (local);
    return size;
}

Test (archiver_s3, a_small_log_is_put_once_recorded_read_back_from_s3_and_verified)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Hello", "--command", "echo hello from far; echo second line");
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "Hello", "--queue", "Q");
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 7", 1, 30000);
    s_archived_whole ();
    OK ("logs", "verify", "1");
    char *local = s_local (1);
    //  The local copy gone, norcctl reads the log from S3, whole and its tail
    char *before = NULL, *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &before, &err, "logs", "1", NULL), 0, "%s", err);
    free (err);
    cr_assert_eq (unlink (local), 0);
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "logs", "1", NULL), 0, "%s", err);
    cr_expect_str_eq (out, before, "the log read from S3 is the log");
    cr_expect_not_null (strstr (out, "hello from far"), "%s", out);
    free (out);
    free (err);
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "logs", "--tail", "5", "1", NULL), 0, "%s", err);
    cr_expect_str_eq (out, before + strlen (before) - 5, "the tail, by byte range");
    free (out);
    free (err);
    free (before);
    //  Replaced behind Norc's back: verify says so, and fails
    free (norc_moto_tool (s_moto, "put", "norc-logs", "site-a/instances/0/1", "not the log\n", NULL));
    int rc = norc_test_system_ctl (s_sys, &out, &err, "logs", "verify", "1", NULL);
    cr_expect_eq (rc, 1, "verify fails: %s%s", out, err);
    cr_expect_not_null (strstr (out, "MISMATCH"), "%s", out);
    free (out);
    free (err);
    //  A log never archived: said so
    rc = norc_test_system_ctl (s_sys, &out, &err, "logs", "verify", "99", NULL);
    cr_expect_eq (rc, 1);
    free (out);
    free (err);
    free (local);
}

//  The pending mark of a log holds its upload's state
static bool
s_mark_has (uint64_t id, const char *text, int timeout_ms)
{
    char *path = norc_asprintf ("%s/logs/s3/pending/%llu", s_sys->dir, (unsigned long long) id);
    bool found = false;
    for (int waited = 0; !found && waited < timeout_ms; waited += 50) {
        FILE *file = fopen (path, "r");
        char buf [4096] = "";
        if (file) {
            size_t n = fread (buf, 1, sizeof buf - 1, file);
            buf [n] = 0;
            fclose (file);
        }
        found = strstr (buf, text) != NULL;
        if (!found)
            usleep (50000);
    }
    free (path);
    return found;
}

Test (archiver_s3, a_large_log_goes_in_parts_while_it_runs_and_the_upload_survives_a_killed_archiver)
{
    OK ("queue", "add", "Q");
    //  About 4.5 MB of lines every few seconds, three times: the first part
    //  (5 MiB) goes while the task still runs
    OK ("task", "add", "Big", "--command",
        "for i in 1 2 3; do head -c 4500000 /dev/zero | tr '\\0' x | fold -w 99; sleep 4; done; echo the end");
    const char *args [] = { "Q", "-c", "1", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "Big", "--queue", "Q");
    cr_assert (s_mark_has (1, "part 1 ", 30000), "the first part is uploaded while the task runs");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT status FROM instances WHERE id = 1"), 2, "it still runs");
    char *uploads = norc_moto_tool (s_moto, "uploads", "norc-logs", NULL);
    cr_expect_eq (strncmp (uploads, "1 ", 2), 0, "one upload in progress: %s", uploads);
    free (uploads);
    //  The archiver killed mid-upload, started again: it goes on
    norc_test_system_signal (s_sys, norc_test_system_pid (s_sys, "norc-archiver"), SIGKILL);
    norc_test_system_start (s_sys, "norc-archiver", NULL);
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 7", 1, 60000);
    cr_expect_gt (s_archived_whole (), 3 * 4500000, "the whole log is here");
    uploads = norc_moto_tool (s_moto, "uploads", "norc-logs", NULL);
    cr_expect_str_eq (uploads, "0 0", "no upload left behind: the same one went on");
    free (uploads);
    OK ("logs", "verify", "1");
}

Test (archiver_s3, an_upload_no_log_holds_is_aborted_and_others_are_left_alone)
{
    //  Left behind under the archiver's prefix (its mark lost), and one of
    //  another prefix (another site's archiver): only the first is its own
    norc_test_system_signal (s_sys, norc_test_system_pid (s_sys, "norc-archiver"), SIGTERM);
    free (norc_moto_tool (s_moto, "upload", "norc-logs", "site-a/instances/0/77", NULL));
    free (norc_moto_tool (s_moto, "upload", "norc-logs", "site-b/instances/0/77", NULL));
    char *uploads = norc_moto_tool (s_moto, "uploads", "norc-logs", NULL);
    cr_assert_str_eq (uploads, "2 2");
    free (uploads);
    sleep (2);
    const char *args [] = { "--archiver.s3_abandon_s", "1", NULL };
    norc_test_system_start (s_sys, "norc-archiver", args);
    bool gone = false;
    for (int i = 0; i < 100 && !gone; i++) {
        uploads = norc_moto_tool (s_moto, "uploads", "norc-logs", "site-a/", NULL);
        gone = streq (uploads, "0 0");
        free (uploads);
        if (!gone)
            usleep (100000);
    }
    cr_expect (gone, "the abandoned upload under site-a/ is aborted");
    uploads = norc_moto_tool (s_moto, "uploads", "norc-logs", "site-b/", NULL);
    cr_expect_str_eq (uploads, "1 1", "another prefix's upload is left alone");
    free (uploads);
}

//  The log-archiver is a daemon of the record: norcctl status lists it,
//  and its heartbeat says how many logs it owes S3. S3 stops answering
//  (moto frozen): the logs stay owed and the backlog shows them (as the
//  uploader last counted them: one request waits for S3 meanwhile); S3
//  back, they are archived and the backlog is 0 again.
Test (archiver_s3, status_shows_the_archiver_and_the_logs_it_owes_s3)
{
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM daemons WHERE kind = 4 AND status = 2", 1, 10000);
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "status", "archivers", (const char *) NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "Log-archivers"), "%s", out);
    cr_expect_not_null (strstr (out, "Backlog"), "%s", out);
    cr_expect_not_null (strstr (out, "RUNNING"), "alive: %s", out);
    free (out);
    free (err);
    OK ("queue", "add", "Q");
    OK ("task", "add", "Owed", "--command", "echo owed to S3");
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    kill (s_moto->pid, SIGSTOP);
    OK ("run", "Owed", "--queue", "Q");
    OK ("run", "Owed", "--queue", "Q");
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE status = 7", 2, 30000);
    norc_test_db_wait_count (s_db, "SELECT reported FROM daemons WHERE kind = 4 AND status = 2", 1, 30000);
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "status", "archivers", "--json", (const char *) NULL), 0,
                  "%s", err);
    cr_expect_not_null (strstr (out, "\"running\": "), "%s", out);
    cr_expect_null (strstr (out, "\"running\": 0"), "a backlog: %s", out);
    free (out);
    free (err);
    //  Also in the whole report, unasked
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "status", (const char *) NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "Log-archivers"), "%s", out);
    free (out);
    free (err);
    kill (s_moto->pid, SIGCONT);
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM log_archives", 2, 60000);
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM daemons WHERE kind = 4 AND status = 2 AND reported = 0",
                             1, 10000);
}
