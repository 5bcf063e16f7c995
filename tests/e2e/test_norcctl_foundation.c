//  End to end: the real norcctl binary migrates a real database and
//  previews cron expressions, with the exit codes and messages a user sees.
#include <criterion/criterion.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_migrate.h"

static char *s_norcctl;

static void s_setup (void)    { s_norcctl = norc_test_bin ("norcctl"); }
static void s_teardown (void) { free (s_norcctl); }

TestSuite (norcctl, .init = s_setup, .fini = s_teardown);

//  Run norcctl with the arguments up to NULL.
static int
s_run (char **out, char **err, ...)
{
    const char *argv [16] = { s_norcctl };
    int n = 1;
    va_list ap;
    va_start (ap, err);
    const char *arg;
    while ((arg = va_arg (ap, const char *)) && n < 15)
        argv [n++] = arg;
    va_end (ap);
    argv [n] = NULL;
    return norc_test_run (argv, NULL, out, err);
}

#define RUN(out, err, ...) s_run (out, err, __VA_ARGS__, (const char *) NULL)

Test (norcctl, db_migrate_creates_upgrades_and_is_idempotent)
{
    const char *server = getenv ("NORC_TEST_DB");
    cr_assert_not_null (server, "NORC_TEST_DB is not set");
    char *url = norc_asprintf ("%snorc_e2e_%d", server, (int) getpid ());
    char *out, *err;
    int rc = RUN (&out, &err, "--db-url", url, "db", "migrate");
    cr_expect_eq (rc, 0, "stderr: %s", err);
    char *expect = norc_asprintf ("schema migrated from version 0 to %d\n", norc_migrate_latest ());
    cr_expect_str_eq (out, expect);
    free (out);
    free (err);
    rc = RUN (&out, &err, "db", "migrate", "--db-url", url);
    cr_expect_eq (rc, 0);
    cr_expect_not_null (strstr (out, "up to date"));
    free (out);
    free (err);
    rc = RUN (&out, &err, "--db-url", url, "db", "version");
    cr_expect_eq (rc, 0);
    free (expect);
    expect = norc_asprintf ("database %d, this norcctl %d\n", norc_migrate_latest (), norc_migrate_latest ());
    cr_expect_str_eq (out, expect);
    free (out);
    free (err);
    //  A database newer than this build is refused
    norc_db_t *db = norc_test_db_open (url);
    norc_test_db_exec (db, "INSERT INTO schema_version VALUES (900, '900_x', UTC_TIMESTAMP(6))");
    rc = RUN (&out, &err, "--db-url", url, "db", "migrate");
    cr_expect_eq (rc, 1);
    cr_expect_not_null (strstr (err, "newer than this Norc"), "%s", err);
    free (out);
    free (err);
    norc_db_drop_database (db);
    norc_db_destroy (&db);
    //  Nothing listening: one clear line, exit 1
    rc = RUN (&out, &err, "--db-url", "mysql://root@127.0.0.1:1/x", "--db-connect_timeout_s", "1",
              "db", "migrate");
    cr_expect_eq (rc, 1);
    cr_expect_not_null (strstr (err, "cannot reach the database"), "%s", err);
    free (out);
    free (err);
    //  A bad configuration value: usage error naming it
    rc = RUN (&out, &err, "--db-url", "postgres://x", "db", "migrate");
    cr_expect_eq (rc, 2);
    cr_expect_not_null (strstr (err, "db.url"), "%s", err);
    free (out);
    free (err);
    free (expect);
    free (url);
}

Test (norcctl, cron_next_prints_fire_times_with_offsets)
{
    char *out, *err;
    int rc = RUN (&out, &err, "cron", "next", "30 2 * * *", "--tz", "America/New_York",
                  "--from", "2026-03-07T12:00:00-05:00", "-n", "3");
    cr_expect_eq (rc, 0, "%s", err);
    cr_expect_str_eq (out, "2026-03-08T03:00:00-04:00\n2026-03-09T02:30:00-04:00\n"
                           "2026-03-10T02:30:00-04:00\n");
    free (out);
    free (err);
    rc = RUN (&out, &err, "cron", "next", "o1,4,7,10d1w*h0m0s0", "--from", "2010-01-01T00:00:00Z", "-n", "2");
    cr_expect_eq (rc, 0, "%s", err);
    cr_expect_str_eq (out, "2010-04-01T00:00:00+00:00\n2010-07-01T00:00:00+00:00\n");
    cr_expect_not_null (strstr (err, "is stored as \"0 0 0 1 1,4,7,10 *\""), "%s", err);
    free (out);
    free (err);
    rc = RUN (&out, &err, "cron", "next", "0 0 30 2 *");
    cr_expect_eq (rc, 1);
    cr_expect_str_eq (out, "");
    cr_expect_not_null (strstr (err, "never matches"), "%s", err);
    free (out);
    free (err);
    rc = RUN (&out, &err, "cron", "next", "61 * * * *");
    cr_expect_eq (rc, 1);
    cr_expect_not_null (strstr (err, "minute field, column 1"), "%s", err);
    free (out);
    free (err);
    rc = RUN (&out, &err, "cron", "next", "* * * * *", "--tz", "Nowhere/Land");
    cr_expect_eq (rc, 1);
    cr_expect_not_null (strstr (err, "unknown time zone"), "%s", err);
    free (out);
    free (err);
    rc = RUN (&out, &err, "cron", "next", "* * * * *", "--from", "yesterday");
    cr_expect_eq (rc, 2);
    free (out);
    free (err);
    rc = RUN (&out, &err, "cron", "next");
    cr_expect_eq (rc, 2);
    free (out);
    free (err);
    rc = RUN (&out, &err, "frobnicate");
    cr_expect_eq (rc, 2);
    cr_expect_not_null (strstr (err, "unknown command"), "%s", err);
    free (out);
    free (err);
}

//  Every way of asking for help works; a command's help has every option
//  it takes, untruncated, and an example; a wrong option prints that
//  command's usage; the man page comes from the same table.
Test (norcctl, help_in_every_form_and_the_man_page)
{
    char *out, *err;
    const char *forms [][2] = { { "--help", NULL }, { "-h", NULL }, { "help", NULL } };
    for (size_t i = 0; i < 3; i++) {
        cr_expect_eq (RUN (&out, &err, forms [i][0]), 0, "%s", forms [i][0]);
        cr_expect_not_null (strstr (out, "schedule history"), "%s: %s", forms [i][0], out);
        cr_expect_not_null (strstr (out, "cron next"), "%s", out);
        free (out);
        free (err);
    }
    char *a, *b, *c;
    cr_assert_eq (RUN (&a, &err, "help", "schedule", "add"), 0, "%s", err);
    free (err);
    cr_assert_eq (RUN (&b, &err, "schedule", "add", "--help"), 0, "%s", err);
    free (err);
    cr_assert_eq (RUN (&c, &err, "--help", "schedule", "add"), 0, "%s", err);
    free (err);
    cr_expect_str_eq (a, b);
    cr_expect_str_eq (a, c);
    const char *flags [] = { "--queue", "--period", "--reps", "--start", "--cron", "--tz", "--catchup",
                             "--window", "--make-up", "--concurrency", "--deadline [--deadline S]", "example:" };
    for (size_t i = 0; i < sizeof flags / sizeof flags [0]; i++) {
        const char *flag = strstr (flags [i], " ") ? "[--deadline S]" : flags [i];
        cr_expect_not_null (strstr (a, flag), "schedule add's help lacks %s: %s", flag, a);
    }
    free (a);
    free (b);
    free (c);
    //  A wrong option: that command's usage, exit 2
    cr_expect_eq (RUN (&out, &err, "task", "add", "T", "--bogus", "x"), 2);
    cr_expect_not_null (strstr (err, "unknown option --bogus"), "%s", err);
    cr_expect_not_null (strstr (err, "usage: norcctl task add NAME (--command CMD | --command-file FILE)"), "%s", err);
    free (out);
    free (err);
    cr_expect_eq (RUN (&out, &err, "help", "no", "such"), 2);
    free (out);
    free (err);
    //  The man page: every command, valid roff
    cr_assert_eq (RUN (&out, &err, "help", "--man"), 0, "%s", err);
    cr_expect_eq (strncmp (out, ".TH NORCCTL 1", 13), 0, "%.40s", out);
    cr_expect_not_null (strstr (out, ".SS \"schedule history"), "%s", out);
    cr_expect_not_null (strstr (out, "\\-\\-command\\-file"), "%s", out);
    char *path = norc_asprintf ("/tmp/norcctl-man-%d.1", (int) getpid ());
    FILE *file = fopen (path, "w");
    fputs (out, file);
    fclose (file);
    free (out);
    free (err);
    if (access ("/usr/bin/groff", X_OK) == 0) {
        char *cmd = norc_asprintf ("groff -man -Tutf8 -ww -z %s", path);
        const char *argv [] = { "/bin/sh", "-c", cmd, NULL };
        cr_expect_eq (norc_test_run (argv, NULL, &out, &err), 0);
        cr_expect_str_eq (err, "", "groff warns: %s", err);
        free (out);
        free (err);
        free (cmd);
    }
    unlink (path);
    free (path);
}

//  A refused password says what most likely happened and where to read
Test (norcctl, migrate_with_a_refused_password_says_why)
{
    const char *server = getenv ("NORC_TEST_DB");
    cr_assert_not_null (server);
    const char *at = strstr (server, "root@");
    cr_assert_not_null (at, "%s", server);
    char *url = norc_asprintf ("%.*snorc_nobody:wrong@%snorc", (int) (at - server), server, at + 5);
    char *out, *err;
    cr_expect_eq (RUN (&out, &err, "--db.url", url, "db", "migrate"), 1);
    cr_expect_not_null (strstr (err, "refused the user or password"), "%s", err);
    cr_expect_not_null (strstr (err, "The database's passwords"), "%s", err);
    free (out);
    free (err);
    free (url);
}

//  cmake --install puts the five programs and the man page under a prefix
Test (norcctl, cmake_install_installs_the_programs_and_the_man_page)
{
    char prefix [] = "/tmp/norc-install-XXXXXX";
    cr_assert_not_null (mkdtemp (prefix));
    char *build = norc_strdup (s_norcctl);
    *strrchr (build, '/') = 0;              //  build/bin
    *strrchr (build, '/') = 0;              //  build
    char *cmd = norc_asprintf ("cmake --install %s --prefix %s >/dev/null", build, prefix);
    const char *argv [] = { "/bin/sh", "-c", cmd, NULL };
    char *out, *err;
    cr_assert_eq (norc_test_run (argv, NULL, &out, &err), 0, "%s", err);
    free (out);
    free (err);
    const char *files [] = { "bin/norcctl", "bin/norc-scheduler", "bin/norc-executor", "bin/norc-aggregator",
                             "bin/norc-archiver", "share/man/man1/norcctl.1" };
    for (size_t i = 0; i < sizeof files / sizeof files [0]; i++) {
        char *path = norc_asprintf ("%s/%s", prefix, files [i]);
        cr_expect_eq (access (path, R_OK), 0, "%s is installed", files [i]);
        free (path);
    }
    char *rm = norc_asprintf ("rm -rf %s", prefix);
    const char *rm_argv [] = { "/bin/sh", "-c", rm, NULL };
    norc_test_run (rm_argv, NULL, &out, &err);
    free (out);
    free (err);
    free (rm);
    free (cmd);
    free (build);
}
