//  End to end: the README's run command, scripts/run.sh, as a new user
//  meets it: it shows each step, every demo run and its output on screen,
//  prints an export line that works, and a Ctrl-C stops everything in
//  order, so that every daemon's end is recorded as a clean stop; the
//  private MariaDB comes back on the port the export line names.
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"

TestSuite (launcher, .timeout = 240);

static char *
s_slurp (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return norc_strdup ("");
    char *text = (char *) norc_calloc (1, 1 << 20);
    size_t n = fread (text, 1, (1 << 20) - 1, file);
    text [n] = 0;
    fclose (file);
    return text;
}

static int
s_count (const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr (text, needle); p; p = strstr (p + 1, needle))
        n++;
    return n;
}

//  Wait until the file holds needle `times` times; its text (caller frees)
static char *
s_wait_output (const char *path, const char *needle, int times, int timeout_s)
{
    char *text = NULL;
    for (int i = 0; i < timeout_s * 10; i++) {
        free (text);
        text = s_slurp (path);
        if (s_count (text, needle) >= times)
            break;
        usleep (100000);
    }
    return text;
}

//  The whole walk, with CURVE on (NORC_SECURITY_CURVE=true) or not
static void
s_demo (bool curve)
{
    char dir [] = "/tmp/norc-launcher-XXXXXX";
    cr_assert_not_null (mkdtemp (dir));
    char *out_path = norc_asprintf ("%s/out.txt", dir);
    char *run_dir = norc_asprintf ("%s/run", dir);
    char *bin = norc_test_bin ("norcctl");
    *strrchr (bin, '/') = 0;
    char web [64];
    snprintf (web, sizeof web, "127.0.0.1:%d", norc_test_free_port ());
    pid_t pid = fork ();
    cr_assert_geq (pid, 0);
    if (pid == 0) {
        //  Its own process group, as a terminal's foreground job is
        setpgid (0, 0);
        FILE *out = freopen (out_path, "w", stdout);
        if (!out || dup2 (1, 2) < 0)
            _exit (126);
        setenv ("NORC_RUN_NO_BUILD", "1", 1);
        setenv ("NORC_BIN_DIR", bin, 1);
        setenv ("NORC_RUN_DIR", run_dir, 1);
        setenv ("NORC_DEMO_PERIOD", "1", 1);
        setenv ("NORC_DEMO_REPS", "3", 1);
        setenv ("NORC_WEB_LISTEN", web, 1);
        if (curve)
            setenv ("NORC_SECURITY_CURVE", "true", 1);
        execl (NORC_SOURCE_DIR "/scripts/run.sh", "run.sh", (char *) NULL);
        _exit (127);
    }
    setpgid (pid, pid);
    //  Every demo run and its output
    char *text = s_wait_output (out_path, "| Demo successful!", 3, 150);
    cr_expect_eq (s_count (text, "| Demo successful!"), 3, "%s", text);
    cr_expect_eq (s_count (text, "\"topic\": \"instance.ended\""), 3, "%s", text);
    cr_expect_not_null (strstr (text, "[3/5] database"), "%s", text);
    cr_expect_not_null (strstr (text, "[5/5] demo"), "%s", text);
    //  The export line puts the programs on PATH
    char *line = strstr (text, "export PATH=");
    cr_assert_not_null (line, "%s", text);
    char *want = norc_asprintf ("export PATH=%s:$PATH", bin);
    cr_expect_eq (strncmp (line, want, strlen (want)), 0, "%.200s", line);
    char *dsn = strstr (line, "NORC_DB_URL=mysql://root@127.0.0.1:");
    cr_assert_not_null (dsn, "%.400s", line);
    int port = atoi (dsn + strlen ("NORC_DB_URL=mysql://root@127.0.0.1:"));
    cr_expect_gt (port, 0);
    //  The page, and a login that works there
    char *page = norc_asprintf ("The page: http://%s/", web);
    cr_expect_not_null (strstr (text, page), "%s", text);
    const char *at = strstr (text, "password ");
    cr_assert_not_null (at, "%s", text);
    char password [64];
    snprintf (password, sizeof password, "%.*s", (int) strcspn (at + 9, ", \n"), at + 9);
    char *login = norc_asprintf ("curl -sf -o /dev/null -w '%%{http_code}' -H 'Content-Type: application/json' "
                                 "-d '{\"name\": \"admin\", \"password\": \"%s\"}' http://%s/api/v1/session",
                                 password, web);
    const char *login_argv [] = { "/bin/sh", "-c", login, NULL };
    char *said = NULL, *err_said = NULL;
    norc_test_run (login_argv, NULL, &said, &err_said);
    cr_expect_str_eq (said, "200", "the printed login logs in: %s%s", said, err_said);
    free (said);
    free (err_said);
    free (login);
    free (page);
    free (text);

    //  Ctrl-C: SIGINT to the whole foreground group
    kill (-pid, SIGINT);
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 900 && done == 0; i++) {
        done = waitpid (pid, &status, WNOHANG);
        if (done == 0)
            usleep (100000);
    }
    if (done == 0) {
        kill (-pid, SIGKILL);
        waitpid (pid, &status, 0);
    }
    cr_expect_neq (done, 0, "run.sh ended within 90 s of Ctrl-C");
    text = s_slurp (out_path);
    cr_expect_not_null (strstr (text, "== stopping Norc"), "%s", text);
    free (text);
    //  Nothing it started is left: the pids it recorded are gone
    char *pids_path = norc_asprintf ("%s/pids", run_dir);
    cr_expect_neq (access (pids_path, F_OK), 0, "its pid list is removed after everything stopped");
    free (pids_path);

    //  The same MariaDB again: the same port, and each daemon ended cleanly
    char *db_dir = norc_asprintf ("%s/mariadb", run_dir);
    char *start = norc_asprintf ("%s/scripts/mariadb-private.sh start %s", NORC_SOURCE_DIR, db_dir);
    const char *argv [] = { "/bin/sh", "-c", start, NULL };
    char *out, *err;
    cr_assert_eq (norc_test_run (argv, NULL, &out, &err), 0, "%s", err);
    char *expected = norc_asprintf ("mysql://root@127.0.0.1:%d/", port);
    cr_expect_eq (strncmp (out, expected, strlen (expected)), 0, "the port is kept: %s, not %s", out, expected);
    out [strcspn (out, "\n")] = 0;
    char *url = norc_asprintf ("%snorc", out);
    free (out);
    free (err);
    norc_db_t *db = norc_test_db_open (url);
    cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(*) FROM daemons"), 3);
    cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(*) FROM daemons WHERE status = 8"), 3,
                  "the executor, the scheduler and the log-archiver ended as ENDED, not ERROR");
    cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(*) FROM instances WHERE status = 7"), 3);
    if (curve) {
        cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(*) FROM principal WHERE state = 2 AND name IN "
                                            "('aggregator', 'archiver', 'scheduler', 'executor')"), 4);
        cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(*) FROM principal WHERE name = 'norcctl' "
                                            "AND roles = 'admin'"), 1, "the launcher's norcctl is an admin");
        cr_expect_eq (norc_test_db_int (db, "SELECT COUNT(*) FROM audit WHERE principal = 'norcctl' "
                                            "AND verb = 'schedule.add'"), 1, "changes name who made them");
    }
    norc_db_destroy (&db);
    char *stop = norc_asprintf ("%s/scripts/mariadb-private.sh stop %s", NORC_SOURCE_DIR, db_dir);
    const char *stop_argv [] = { "/bin/sh", "-c", stop, NULL };
    cr_expect_eq (norc_test_run (stop_argv, NULL, &out, &err), 0, "%s", err);
    free (out);
    free (err);
    char *rm = norc_asprintf ("rm -rf %s", dir);
    const char *rm_argv [] = { "/bin/sh", "-c", rm, NULL };
    norc_test_run (rm_argv, NULL, &out, &err);
    free (out);
    free (err);
    free (rm);
    free (stop);
    free (url);
    free (expected);
    free (start);
    free (db_dir);
    free (want);
    free (bin);
    free (run_dir);
    free (out_path);
}

Test (launcher, run_shows_the_demo_and_ctrl_c_stops_in_order)
{
    s_demo (false);
}

Test (launcher, run_works_with_curve_on)
{
    s_demo (true);
}
