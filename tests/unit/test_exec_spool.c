//  exec_spool: an executor's slot, and what a later executor does with the
//  slot of one that died (real processes, real flocks).
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "exec_spool.h"
#include "norc_log.h"
#include "norc_mem.h"

static char s_root [] = "/tmp/norc-spool-XXXXXX";

static void
s_setup (void)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    strcpy (s_root, "/tmp/norc-spool-XXXXXX");
    cr_assert_not_null (mkdtemp (s_root));
}

static void
s_teardown (void)
{
    char *cmd = norc_asprintf ("rm -rf %s", s_root);
    cr_expect_eq (system (cmd), 0);
    free (cmd);
}

TestSuite (exec_spool, .init = s_setup, .fini = s_teardown, .timeout = 30);

static int
s_entries (const char *path)
{
    DIR *dir = opendir (path);
    int n = 0;
    struct dirent *entry;
    while (dir && (entry = readdir (dir)))
        n += entry->d_name [0] != '.';
    if (dir)
        closedir (dir);
    return n;
}

static void
s_write (const char *dir, const char *name, const char *text)
{
    char *path = norc_asprintf ("%s/%s", dir, name);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fputs (text, file);
    fclose (file);
    free (path);
}

Test (exec_spool, two_live_executors_keep_their_own_slots)
{
    char err [256];
    exec_spool_t *a = exec_spool_open (s_root, err, sizeof err);
    cr_assert_not_null (a, "%s", err);
    s_write (exec_spool_dir (a), "7.log", "output\n");
    cr_assert_eq (exec_spool_run_record (a, 7, getpid (), exec_spool_clock ()), NORC_OK);
    exec_spool_t *b = exec_spool_open (s_root, err, sizeof err);
    cr_assert_not_null (b, "%s", err);
    cr_expect_str_neq (exec_spool_dir (a), exec_spool_dir (b));
    //  a lives: b adopts nothing of it
    exec_spool_leftover_t *list;
    size_t count;
    exec_spool_leftovers (b, &list, &count);
    cr_expect_eq (count, 0);
    exec_spool_leftovers_free (&list, count);
    cr_expect_eq (s_entries (exec_spool_dir (a)), 3, "lock, runs, 7.log");
    //  The run table holds one record for the running child, and a blank
    //  one once it is forgotten; a second run takes the next record
    char *runs = norc_asprintf ("%s/runs", exec_spool_dir (a));
    char *expected = norc_asprintf ("7 %d ", (int) getpid ());
    char record [65] = "";
    FILE *file = fopen (runs, "r");
    cr_assert_not_null (file);
    cr_expect_eq (fread (record, 1, 64, file), 64);
    fclose (file);
    cr_expect_eq (strncmp (record, expected, strlen (expected)), 0, "%s", record);
    cr_expect_eq (record [63], '\n');
    cr_assert_eq (exec_spool_run_record (a, 8, getpid (), exec_spool_clock ()), NORC_OK);
    exec_spool_run_forget (a, 7);
    file = fopen (runs, "r");
    cr_assert_not_null (file);
    cr_expect_eq (fread (record, 1, 64, file), 64);
    cr_expect_eq (strspn (record, " "), 63, "blank: %s", record);
    cr_expect_eq (fread (record, 1, 64, file), 64);
    cr_expect_eq (strncmp (record, "8 ", 2), 0, "%s", record);
    fclose (file);
    exec_spool_run_forget (a, 8);
    free (expected);
    free (runs);
    //  b is empty and goes away when closed; a keeps its log for adoption
    char *a_dir = norc_strdup (exec_spool_dir (a));
    exec_spool_destroy (&b);
    exec_spool_destroy (&a);
    cr_expect_eq (s_entries (s_root), 1, "only a's slot, with its log, is left");
    cr_expect_eq (access (a_dir, F_OK), 0);
    free (a_dir);
}

Test (exec_spool, a_dead_executors_slot_is_adopted_and_its_lost_run_stopped)
{
    //  Orphans of the dead executor become our children, so we can reap them
    cr_assert_eq (prctl (PR_SET_CHILD_SUBREAPER, 1), 0);
    int pipefd [2];
    cr_assert_eq (pipe (pipefd), 0);
    pid_t executor = fork ();
    cr_assert_geq (executor, 0);
    if (executor == 0) {
        //  The "executor": a slot, a finished instance's log, a running
        //  child in its own process group; then it dies without cleaning up
        char err [256];
        exec_spool_t *spool = exec_spool_open (s_root, err, sizeof err);
        if (!spool)
            _exit (1);
        uint64_t since = exec_spool_clock ();
        pid_t child = fork ();
        if (child == 0) {
            setpgid (0, 0);
            execl ("/bin/sleep", "sleep", "60", (char *) NULL);
            _exit (127);
        }
        setpgid (child, child);
        s_write (exec_spool_dir (spool), "41.log", "done\n");
        s_write (exec_spool_dir (spool), "42.log", "half of the output\n");
        exec_spool_run_record (spool, 42, child, since);
        exec_spool_note_cgroup (spool, "/sys/fs/cgroup/somewhere/norc-executor-1234");
        if (write (pipefd [1], &child, sizeof child) != sizeof child)
            _exit (1);
        pause ();
        _exit (0);
    }
    close (pipefd [1]);
    pid_t child = 0;
    cr_assert_eq (read (pipefd [0], &child, sizeof child), (ssize_t) sizeof child);
    close (pipefd [0]);
    //  Until the child has exec'd it shares the executor's open slot lock,
    //  and the slot would rightly look alive: wait for the exec
    char *comm_path = norc_asprintf ("/proc/%d/comm", (int) child);
    bool execd = false;
    for (int tries = 0; tries < 500 && !execd; tries++) {
        char comm [32] = "";
        FILE *file = fopen (comm_path, "r");
        if (file) {
            execd = fgets (comm, sizeof comm, file) && strcmp (comm, "sleep\n") == 0;
            fclose (file);
        }
        if (!execd)
            usleep (10000);
    }
    free (comm_path);
    cr_assert (execd, "the child runs sleep");
    kill (executor, SIGKILL);
    cr_assert_eq (waitpid (executor, NULL, 0), executor);
    cr_expect_eq (kill (child, 0), 0, "its child still runs");

    char err [256];
    exec_spool_t *spool = exec_spool_open (s_root, err, sizeof err);
    cr_assert_not_null (spool, "%s", err);
    exec_spool_leftover_t *list;
    size_t count;
    exec_spool_leftovers (spool, &list, &count);
    cr_assert_eq (count, 2);
    for (size_t i = 0; i < count; i++) {
        cr_assert_not_null (list [i].log);
        cr_expect_eq (strncmp (list [i].log, exec_spool_dir (spool), strlen (exec_spool_dir (spool))), 0,
                      "moved into our slot: %s", list [i].log);
        if (list [i].instance_id == 41)
            cr_expect_not (list [i].lost_run);
        else {
            cr_expect_eq (list [i].instance_id, 42);
            cr_expect (list [i].lost_run);
            cr_expect (list [i].stopped);
        }
    }
    exec_spool_leftovers_free (&list, count);
    //  The cgroup subtree it noted, for the adopter to reap
    const char *const *left;
    cr_assert_eq (exec_spool_cgroups_left (spool, &left), 1);
    cr_expect_str_eq (left [0], "/sys/fs/cgroup/somewhere/norc-executor-1234");
    //  The lost run's process was stopped: reap it as its new parent
    int status = 0;
    cr_assert_eq (waitpid (child, &status, 0), child);
    cr_expect (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
    cr_expect_eq (s_entries (s_root), 1, "the dead executor's slot is gone");
    //  Adopted once only
    exec_spool_leftovers (spool, &list, &count);
    cr_expect_eq (count, 0);
    exec_spool_destroy (&spool);
}

Test (exec_spool, a_reused_process_number_is_never_signalled)
{
    //  A record naming our own process group with a start time that is not
    //  its own (as after a restart in a new pid namespace)
    char *slot = norc_asprintf ("%s/slot-old", s_root);
    cr_assert_eq (mkdir (slot, 0750), 0);
    s_write (slot, "lock", "");
    char *line = norc_asprintf ("9 %d 1 2\n", (int) getpgrp ());
    s_write (slot, "runs", line);
    free (line);
    char err [256];
    exec_spool_t *spool = exec_spool_open (s_root, err, sizeof err);
    cr_assert_not_null (spool, "%s", err);
    exec_spool_leftover_t *list;
    size_t count;
    exec_spool_leftovers (spool, &list, &count);
    cr_assert_eq (count, 1);
    cr_expect (list [0].lost_run);
    cr_expect_not (list [0].stopped, "we are still here");
    cr_expect_null (list [0].log);
    exec_spool_leftovers_free (&list, count);
    exec_spool_destroy (&spool);
    free (slot);
}

Test (exec_spool, emptied_files_are_reused_and_never_adopted)
{
    char err [256];
    exec_spool_t *spool = exec_spool_open (s_root, err, sizeof err);
    cr_assert_not_null (spool, "%s", err);
    int fd = exec_spool_file_new (spool, "5.log");
    cr_assert_geq (fd, 0);
    cr_assert_eq (write (fd, "hello\n", 6), 6);
    struct stat first;
    cr_assert_eq (fstat (fd, &first), 0);
    close (fd);
    exec_spool_file_done (spool, "5.log");
    cr_expect_eq (s_entries (exec_spool_dir (spool)), 2, "only the lock and the run table are visible");
    //  The next file is the same one, empty
    fd = exec_spool_file_new (spool, "6.log");
    struct stat second;
    cr_assert_eq (fstat (fd, &second), 0);
    cr_expect_eq (second.st_ino, first.st_ino);
    cr_expect_eq (second.st_size, 0);
    close (fd);
    exec_spool_file_done (spool, "6.log");
    char *dir = norc_strdup (exec_spool_dir (spool));
    exec_spool_destroy (&spool);
    cr_expect_neq (access (dir, F_OK), 0, "an empty slot is removed, kept files and all");
    free (dir);
}

//  A run is recorded before its spawn, noted ended with how it ended, and
//  forgotten only when the aggregator has the end: an executor that dies
//  before that leaves the record, and the next one finds the run ended (or,
//  for one recorded and not ended, lost), never a run it could start again
Test (exec_spool, an_ended_run_stays_recorded_until_its_end_is_acknowledged)
{
    char err [256];
    exec_spool_t *spool = exec_spool_open (s_root, err, sizeof err);
    cr_assert_not_null (spool, "%s", err);
    //  Many waiting at once (an aggregator away): each record is its own
    for (uint64_t id = 1; id <= 100; id++) {
        cr_assert_eq (exec_spool_run_record (spool, id, 0, exec_spool_clock ()), NORC_OK);
        cr_assert_eq (exec_spool_run_record (spool, id, getpid (), exec_spool_clock ()), NORC_OK, "the same line");
        exec_spool_run_ended (spool, id, id % 2 ? NORC_ST_SUCCESS : NORC_ST_FAILURE, id % 2 ? 0 : 3, 0);
    }
    for (uint64_t id = 1; id <= 97; id++)
        exec_spool_run_forget (spool, id);
    //  One recorded before its spawn and never ended
    cr_assert_eq (exec_spool_run_record (spool, 500, 0, exec_spool_clock ()), NORC_OK);
    //  The executor dies (its slot's lock goes): the next one adopts
    char *slot = NULL;
    DIR *dir = opendir (s_root);
    struct dirent *entry;
    while (dir && (entry = readdir (dir)))
        if (strncmp (entry->d_name, "slot-", 5) == 0)
            slot = norc_asprintf ("%s/%s", s_root, entry->d_name);
    closedir (dir);
    cr_assert_not_null (slot);
    pid_t child = fork ();
    if (child == 0) {
        //  Another process opens it while ours still holds it: nothing adopted
        exec_spool_t *other = exec_spool_open (s_root, err, sizeof err);
        exec_spool_leftover_t *list;
        size_t count;
        exec_spool_leftovers (other, &list, &count);
        _exit (count == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid (child, &status, 0);
    cr_expect_eq (WEXITSTATUS (status), 0, "a live executor's slot is never adopted");
    //  Left as a dead one leaves it: the run table stays (records in it)
    char *runs = norc_asprintf ("%s/runs", slot);
    char *copy = norc_asprintf ("cp %s %s.keep", runs, runs);
    cr_assert_eq (system (copy), 0);
    exec_spool_destroy (&spool);
    char *back = norc_asprintf ("mkdir -p %s && touch %s/lock && cp %s.keep %s", slot, slot, runs, runs);
    cr_assert_eq (system (back), 0);
    spool = exec_spool_open (s_root, err, sizeof err);
    cr_assert_not_null (spool, "%s", err);
    exec_spool_leftover_t *list;
    size_t count;
    exec_spool_leftovers (spool, &list, &count);
    cr_assert_eq (count, 4, "three ended, one lost");
    int ended = 0, lost = 0;
    for (size_t i = 0; i < count; i++) {
        if (list [i].ended) {
            ended++;
            cr_expect_eq (list [i].status, list [i].instance_id % 2 ? NORC_ST_SUCCESS : NORC_ST_FAILURE);
            cr_expect_eq (list [i].exit_code, list [i].instance_id % 2 ? 0 : 3);
        }
        if (list [i].lost_run) {
            lost++;
            cr_expect_eq (list [i].instance_id, 500);
            cr_expect_not (list [i].stopped, "no process group recorded: none signalled");
        }
    }
    cr_expect_eq (ended, 3);
    cr_expect_eq (lost, 1);
    exec_spool_leftovers_free (&list, count);
    exec_spool_destroy (&spool);
    free (back);
    free (copy);
    free (runs);
    free (slot);
}
