//  Unit tests: how the executor starts commands (real child processes).
#include <criterion/criterion.h>
#include "norc_test.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "exec_child.h"
#include "exec_cgroup.h"
#include "norc_mem.h"

//  Read the child's output to the end and reap it.
static char *
s_collect (exec_child_t *child, int *status)
{
    char *out = norc_calloc (1, 1);
    size_t len = 0;
    while (true) {
        struct pollfd pfd = { child->output_fd, POLLIN, 0 };
        poll (&pfd, 1, 5000);
        char buf [4096];
        ssize_t n = read (child->output_fd, buf, sizeof buf);
        if (n < 0 && errno == EAGAIN)
            continue;
        if (n <= 0)
            break;
        out = norc_realloc (out, len + (size_t) n + 1);
        memcpy (out + len, buf, (size_t) n);
        len += (size_t) n;
        out [len] = 0;
    }
    close (child->output_fd);
    waitpid (child->pid, status, 0);
    return out;
}

Test (exec_child, which_commands_skip_the_shell)
{
    const char *simple [] = { "true", "/bin/echo hello", "echo a=b c", "sleep 0.1", "ls -la /tmp", "x_y.z-1 +2 %3 @4" };
    for (size_t i = 0; i < sizeof simple / sizeof simple [0]; i++)
        cr_expect (exec_child_is_simple (simple [i]), "%s", simple [i]);
    const char *shell [] = { "", "   ", "echo 'Demo successful!'", "echo $HOME", "a | b", "a > f", "a; b",
                             "a && b", "FOO=1 cmd", "cd /tmp", "exit 3", "echo `x`", "echo *", "echo ~",
                             "for x in 1; do :; done", "(sub)", "echo \"q\"", "a\\b", "export X=1", "." };
    for (size_t i = 0; i < sizeof shell / sizeof shell [0]; i++)
        cr_expect (!exec_child_is_simple (shell [i]), "%s", shell [i]);
    char *path = exec_child_which ("sh", "/nonexistent:/bin:/usr/bin");
    cr_assert_not_null (path);
    cr_expect_str_eq (path, "/bin/sh");
    free (path);
    cr_expect_null (exec_child_which ("asd78sad7ftaoq", "/bin:/usr/bin"));
    cr_expect_null (exec_child_which ("/etc/passwd", NULL), "not executable");
    path = exec_child_which ("/bin/true", NULL);
    cr_expect_str_eq (path, "/bin/true");
    free (path);
}

Test (exec_child, output_exit_environment_directory_and_group)
{
    exec_child_t child;
    char err [256];
    norc_strmap_t env = { 0 };
    norc_strmap_set (&env, "GREETING", "hello world");
    cr_assert_eq (exec_child_spawn ("pwd; echo \"$GREETING\" >&2; echo pgid=$(ps -o pgid= -p $$ | tr -d ' ') pid=$$; exit 4",
                                    &env, "/usr", &child, err, sizeof err), NORC_OK, "%s", err);
    cr_expect (!child.direct);
    int status;
    char *out = s_collect (&child, &status);
    cr_expect (WIFEXITED (status) && WEXITSTATUS (status) == 4);
    cr_expect_not_null (strstr (out, "/usr\nhello world\n"), "%s", out);
    char expect [64];
    snprintf (expect, sizeof expect, "pgid=%d pid=%d", (int) child.pid, (int) child.pid);
    cr_expect_not_null (strstr (out, expect), "own process group: %s", out);
    free (out);
    norc_strmap_clear (&env);

    //  Direct exec, same result as through the shell
    cr_assert_eq (exec_child_spawn ("/bin/echo direct words", NULL, NULL, &child, err, sizeof err), NORC_OK);
    cr_expect (child.direct);
    out = s_collect (&child, &status);
    cr_expect_str_eq (out, "direct words\n");
    cr_expect (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    free (out);

    //  Not found: the shell's message and 127
    cr_assert_eq (exec_child_spawn ("asd78sad7ftaoq", NULL, NULL, &child, err, sizeof err), NORC_OK);
    cr_expect (!child.direct);
    out = s_collect (&child, &status);
    cr_expect (WIFEXITED (status) && WEXITSTATUS (status) == 127);
    cr_expect_not_null (strstr (out, "not found"), "%s", out);
    free (out);

    //  A working directory that does not exist: the machine's fault, reported
    cr_expect_eq (exec_child_spawn ("true", NULL, "/nonexistent/dir", &child, err, sizeof err), NORC_ERROR);
    cr_expect_not_null (strstr (err, "/nonexistent/dir"), "%s", err);
}

Test (exec_child, a_task_is_given_none_of_norcs_own_settings)
{
    setenv ("NORC_DB_URL", "mysql://norc:secret@db/norc", 1);
    setenv ("NORC_AGGREGATOR_API", "tcp://127.0.0.1:7602", 1);
    setenv ("NORC_TEST_KEPT", "no", 1);
    setenv ("OTHER_SETTING", "kept", 1);
    norc_strmap_t env = { 0 };
    norc_strmap_set (&env, "NORC_INSTANCE_ID", "42");
    norc_strmap_set (&env, "NORC_TEST_KEPT", "the task's own");
    exec_child_t child;
    char err [256];
    cr_assert_eq (exec_child_spawn ("env", &env, NULL, &child, err, sizeof err), NORC_OK, "%s", err);
    int status;
    char *out = s_collect (&child, &status);
    cr_expect (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    cr_expect_null (strstr (out, "secret"), "no database credentials: %s", out);
    cr_expect_null (strstr (out, "NORC_DB_URL"), "%s", out);
    cr_expect_null (strstr (out, "NORC_AGGREGATOR_API"), "%s", out);
    cr_expect_not_null (strstr (out, "OTHER_SETTING=kept\n"), "the rest of the environment: %s", out);
    cr_expect_not_null (strstr (out, "NORC_INSTANCE_ID=42\n"), "what Norc gives the task: %s", out);
    cr_expect_not_null (strstr (out, "NORC_TEST_KEPT=the task's own\n"), "the task's own environment: %s", out);
    free (out);
    norc_strmap_clear (&env);
    unsetenv ("NORC_DB_URL");
    unsetenv ("NORC_AGGREGATOR_API");
    unsetenv ("NORC_TEST_KEPT");
    unsetenv ("OTHER_SETTING");
}

Test (exec_child, a_task_runs_as_another_user_and_cannot_read_ours)
{
    char err [256];
    exec_identity_t as;
    cr_expect_eq (exec_identity_lookup (&as, "no-such-user-norc", err, sizeof err), NORC_ERROR);
    cr_expect_not_null (strstr (err, "no user \"no-such-user-norc\""), "%s", err);
    if (geteuid () != 0)
        cr_skip_test ("switching users needs root");
    cr_assert_eq (exec_identity_lookup (&as, "nobody", err, sizeof err), NORC_OK, "%s", err);
    //  A file of ours in a directory only we can open
    char *dir = norc_test_tmpdir ("own");
    char *file = norc_asprintf ("%s/secret", dir);
    FILE *f = fopen (file, "w");
    cr_assert_not_null (f);
    fputs ("the executor's secret\n", f);
    fclose (f);
    char *command = norc_asprintf ("id -u; id -g; id -G; cat %s", file);
    exec_child_t child;
    cr_assert_eq (exec_child_spawn_in (command, NULL, "/", -1, &as, &child, err, sizeof err), NORC_OK, "%s", err);
    int status;
    char *out = s_collect (&child, &status);
    char expect [128];
    snprintf (expect, sizeof expect, "%d\n%d\n", (int) as.uid, (int) as.gid);
    cr_expect_eq (strncmp (out, expect, strlen (expect)), 0, "its ids: %s", out);
    cr_expect_null (strstr (out, "secret\n"), "it cannot read ours: %s", out);
    cr_expect_not_null (strstr (out, "Permission denied"), "%s", out);
    cr_expect (WIFEXITED (status) && WEXITSTATUS (status) != 0);
    free (out);
    free (command);
    norc_test_rmdir (&dir);
    free (file);
    exec_identity_clear (&as);
}

Test (exec_child, the_child_ignores_no_signal_and_blocks_none)
{
    //  What the executor ignores or blocks is not passed on
    signal (SIGPIPE, SIG_IGN);
    signal (SIGUSR2, SIG_IGN);
    sigset_t block;
    sigemptyset (&block);
    sigaddset (&block, SIGCHLD);
    sigaddset (&block, SIGUSR1);
    sigprocmask (SIG_BLOCK, &block, NULL);
    //  Both ways of starting: posix_spawn, and into a cgroup (vfork)
    char err [512];
    exec_cgroup_t *cgroup = exec_cgroup_open (NULL, err, sizeof err);
    for (int way = 0; way < (cgroup ? 2 : 1); way++) {
        int fd = way ? exec_cgroup_prepare (cgroup, 1, err, sizeof err) : -1;
        exec_child_t child;
        cr_assert_eq (exec_child_spawn_in ("grep -E '^Sig(Ign|Blk)' /proc/self/status; ps -o pgid= -p $$; cat "
                                           "/proc/self/cgroup; pwd", NULL, "/tmp", fd, NULL, &child, err, sizeof err),
                      NORC_OK, "%s", err);
        int status;
        char *out = s_collect (&child, &status);
        cr_expect (WIFEXITED (status) && WEXITSTATUS (status) == 0);
        cr_expect_not_null (strstr (out, "SigBlk:\t0000000000000000\n"), "%s", out);
        //  Ignored: nothing but the C library's own two signals (32 and 33,
        //  which glibc's posix_spawn leaves ignored and a new program's C
        //  library takes over)
        const char *ign = strstr (out, "SigIgn:\t");
        cr_assert_not_null (ign, "%s", out);
        unsigned long long mask = strtoull (ign + 8, NULL, 16);
        cr_expect_eq (mask & ~0x180000000ULL, 0, "%s", out);
        char pgid [32];
        snprintf (pgid, sizeof pgid, "%d\n", (int) child.pid);
        cr_expect_not_null (strstr (out, pgid), "its own process group: %s", out);
        cr_expect_not_null (strstr (out, "\n/tmp\n"), "in its directory: %s", out);
        if (way)
            cr_expect_not_null (strstr (out, "/i1\n"), "in the instance's cgroup: %s", out);
        free (out);
        cr_expect_eq (exec_child_spawn_in ("true", NULL, "/nonexistent/dir", fd, NULL, &child, err, sizeof err), NORC_ERROR);
        cr_expect_not_null (strstr (err, "cannot start in working directory /nonexistent/dir"), "%s", err);
        if (fd >= 0)
            close (fd);
    }
    exec_cgroup_destroy (&cgroup);
}

//  Processes of a group that are still running (zombies do not count: an
//  orphan's zombie waits for init to reap it).
static int
s_group_running (pid_t pgid)
{
    char cmd [128];
    snprintf (cmd, sizeof cmd, "ps -e -o pgid=,stat= | awk '$1 == %d && $2 !~ /^Z/' | wc -l", (int) pgid);
    FILE *p = popen (cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf (p, "%d", &n) != 1)
            n = -1;
        pclose (p);
    }
    return n;
}

Test (exec_child, a_signal_to_the_group_reaches_grandchildren)
{
    exec_child_t child;
    char err [256];
    cr_assert_eq (exec_child_spawn ("sleep 30 & sleep 30; echo never", NULL, NULL, &child, err, sizeof err), NORC_OK);
    usleep (200000);
    cr_assert_eq (kill (-child.pid, SIGTERM), 0);
    int status;
    char *out = s_collect (&child, &status);
    cr_expect (WIFSIGNALED (status), "the shell was killed");
    cr_expect_null (strstr (out, "never"));
    free (out);
    usleep (100000);
    cr_expect_eq (s_group_running (child.pid), 0, "no process of the group is left running");
}
