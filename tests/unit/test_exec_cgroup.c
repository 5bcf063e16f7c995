//  Unit tests: a cgroup per instance (real cgroup v2 files, real child
//  processes). Skipped where the host gives this process no writable
//  cgroup v2 (the executor then uses process groups only, tested in
//  test_under_fire).
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "exec_cgroup.h"
#include "exec_child.h"
#include "norc_mem.h"

static exec_cgroup_t *
s_open (void)
{
    char why [512];
    exec_cgroup_t *cgroup = exec_cgroup_open (NULL, why, sizeof why);
    if (!cgroup)
        cr_skip_test ("no cgroup per instance on this host: %s", why);
    return cgroup;
}

//  Start a command whose output nobody reads (it writes none), in the
//  instance's cgroup (NULL: in none)
static pid_t
s_spawn (exec_cgroup_t *cgroup, uint64_t id, const char *command)
{
    char why [512];
    int fd = -1;
    if (cgroup)
        cr_assert_geq (fd = exec_cgroup_prepare (cgroup, id, why, sizeof why), 0, "%s", why);
    exec_child_t child;
    cr_assert_eq (exec_child_spawn_in (command, NULL, NULL, fd, NULL, &child, why, sizeof why), NORC_OK, "%s", why);
    if (fd >= 0)
        close (fd);
    close (child.output_fd);
    return child.pid;
}

static bool
s_wait_count (exec_cgroup_t *cgroup, uint64_t id, int count, int timeout_ms)
{
    for (int i = 0; i < timeout_ms / 10; i++) {
        if (exec_cgroup_count (cgroup, id) == count)
            return true;
        usleep (10000);
    }
    return exec_cgroup_count (cgroup, id) == count;
}

static bool
s_exists (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0;
}

//  What leaves the process group and clears its environment is still in
//  the instance's cgroup, and ended with it
Test (exec_cgroup, everything_an_instance_starts_is_ended_with_it)
{
    exec_cgroup_t *cgroup = s_open ();
    //  (it leaves at once: the child is in the cgroup before it runs)
    pid_t pid = s_spawn (cgroup, 7, "setsid env -i sh -c 'sleep 301; true' & sleep 302");
    //  sh (the leader), sh -c and sleep 301 out of the group, sleep 302
    cr_assert (s_wait_count (cgroup, 7, 4, 5000), "four processes (%d)", exec_cgroup_count (cgroup, 7));
    cr_expect_eq (exec_cgroup_count (cgroup, 8), 0, "another instance has none");
    char *dir = norc_asprintf ("%s/i7", exec_cgroup_path (cgroup));
    cr_expect (s_exists (dir));
    cr_expect_eq (exec_cgroup_end (cgroup, 7, 2000), 4, "all four were ended");
    int status;
    cr_expect_eq (waitpid (pid, &status, 0), pid);
    cr_expect (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
    cr_expect_eq (exec_cgroup_count (cgroup, 7), 0);
    cr_expect_not (s_exists (dir), "its cgroup is removed");
    free (dir);
    char *path = norc_strdup (exec_cgroup_path (cgroup));
    exec_cgroup_destroy (&cgroup);
    cr_expect_not (s_exists (path), "the executor's subtree is removed");
    free (path);
}

//  SIGTERM reaches every process of the instance
Test (exec_cgroup, a_signal_reaches_every_process)
{
    exec_cgroup_t *cgroup = s_open ();
    pid_t pid = s_spawn (cgroup, 9, "setsid sleep 303 & sleep 304");
    cr_assert (s_wait_count (cgroup, 9, 3, 5000));
    exec_cgroup_signal (cgroup, 9, SIGTERM);
    int status;
    cr_expect_eq (waitpid (pid, &status, 0), pid);
    cr_expect (s_wait_count (cgroup, 9, 0, 5000), "every one ended (%d left)", exec_cgroup_count (cgroup, 9));
    exec_cgroup_destroy (&cgroup);
}

static bool
s_only_five (uint64_t instance_id, void *arg)
{
    (void) arg;
    return instance_id == 5;
}

//  The sweep ends the cgroups of instances that no longer run, and only those
Test (exec_cgroup, the_sweep_spares_running_instances)
{
    exec_cgroup_t *cgroup = s_open ();
    pid_t five = s_spawn (cgroup, 5, "sleep 305");
    pid_t six = s_spawn (cgroup, 6, "sleep 306");
    cr_expect_eq (exec_cgroup_sweep (cgroup, s_only_five, NULL), 1);
    int status;
    cr_expect_eq (waitpid (six, &status, 0), six);
    cr_expect_eq (exec_cgroup_count (cgroup, 5), 1, "five still runs");
    exec_cgroup_destroy (&cgroup);
    cr_expect_eq (waitpid (five, &status, 0), five, "and ends with the executor's subtree");
}

//  What an executor that is gone left running in its subtree is ended by
//  the executor that adopts its spool slot (exec_cgroup_reap on the path
//  the slot noted); nothing else is touched
Test (exec_cgroup, a_gone_executors_subtree_is_reaped)
{
    exec_cgroup_t *cgroup = s_open ();
    char *base = norc_strdup (exec_cgroup_path (cgroup));
    *strrchr (base, '/') = 0;
    exec_cgroup_destroy (&cgroup);
    //  A pid that is gone, and the tree its executor would have left (a
    //  pid whose name another run's executor left there is passed over)
    char *stale = NULL;
    while (!stale || access (stale, F_OK) == 0) {
        free (stale);
        pid_t gone = fork ();
        if (gone == 0)
            _exit (0);
        waitpid (gone, NULL, 0);
        stale = norc_asprintf ("%s/norc-executor-%d", base, (int) gone);
    }
    char *inst = norc_asprintf ("%s/i11", stale);
    cr_assert_eq (mkdir (stale, 0755), 0, "%s: %s", stale, strerror (errno));
    cr_assert_eq (mkdir (inst, 0755), 0);
    pid_t orphan = s_spawn (NULL, 0, "sleep 307");
    char *procs = norc_asprintf ("%s/cgroup.procs", inst);
    FILE *file = fopen (procs, "w");
    cr_assert_not_null (file);
    fprintf (file, "%d", (int) orphan);
    cr_assert_eq (fclose (file), 0);
    //  Opening a subtree of its own touches no other
    cgroup = s_open ();
    cr_expect (s_exists (inst), "another executor's subtree is left alone at start");
    exec_cgroup_destroy (&cgroup);
    cr_expect_eq (exec_cgroup_reap ("/tmp/not-an-executor"), 0, "only an executor's subtree is reaped");
    cr_expect_eq (exec_cgroup_reap (stale), 1, "one process ended");
    int status;
    cr_expect_eq (waitpid (orphan, &status, 0), orphan);
    cr_expect (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL, "it was killed");
    cr_expect_not (s_exists (stale), "the gone executor's tree is removed");
    free (procs);
    free (inst);
    free (stale);
    free (base);
}

Test (exec_cgroup, a_root_without_cgroup_v2_is_refused)
{
    char why [512];
    exec_cgroup_t *cgroup = exec_cgroup_open ("/tmp", why, sizeof why);
    cr_expect_null (cgroup);
    cr_expect_not_null (strstr (why, "/tmp is not a cgroup v2 directory"), "%s", why);
}

//  A move the kernel refuses (here: the cgroup was removed meanwhile)
//  starts nothing and says so, so the executor can start it without one
Test (exec_cgroup, a_refused_move_starts_nothing)
{
    exec_cgroup_t *cgroup = s_open ();
    char why [512];
    int fd = exec_cgroup_prepare (cgroup, 12, why, sizeof why);
    cr_assert_geq (fd, 0, "%s", why);
    cr_assert_eq (exec_cgroup_end (cgroup, 12, 0), 0);
    exec_child_t child;
    cr_expect_eq (exec_child_spawn_in ("echo never", NULL, NULL, fd, NULL, &child, why, sizeof why), NORC_AGAIN);
    cr_expect_not_null (strstr (why, "cannot move into its cgroup"), "%s", why);
    close (fd);
    exec_cgroup_destroy (&cgroup);
}
