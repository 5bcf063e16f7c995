//  The test helpers that look at processes see only the test's own: a
//  `sleep 30` that something else on the machine runs is not the task's.
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "norc_test.h"

TestSuite (support, .timeout = 60);

Test (support, process_helpers_see_only_the_tests_own_processes)
{
    //  A process outside this test's tree: started by a child that exits
    //  at once, so it is adopted by someone else
    int fds [2];
    cr_assert_eq (pipe (fds), 0);
    pid_t child = fork ();
    if (child == 0) {
        pid_t stranger = fork ();
        if (stranger == 0) {
            close (fds [0]);
            close (fds [1]);
            execlp ("sleep", "sleep", "30", (char *) NULL);
            _exit (127);
        }
        if (write (fds [1], &stranger, sizeof stranger) != sizeof stranger)
            _exit (1);
        _exit (0);
    }
    close (fds [1]);
    pid_t stranger = 0;
    cr_assert_eq (read (fds [0], &stranger, sizeof stranger), (ssize_t) sizeof stranger);
    close (fds [0]);
    waitpid (child, NULL, 0);
    usleep (200000);
    cr_assert_eq (kill (stranger, 0), 0, "the stranger runs");
    cr_expect (norc_test_process_gone ("^sleep 30$", 0), "a stranger's sleep 30 is not ours");
    cr_expect (!norc_test_process_seen ("^sleep 30$", 300));
    cr_expect_eq (norc_test_process_kill ("^sleep 30$", SIGKILL), 0, "nor ours to kill");
    cr_expect_eq (kill (stranger, 0), 0, "it still runs");
    //  Our own is seen, and gone once killed
    pid_t mine = fork ();
    if (mine == 0) {
        execlp ("sleep", "sleep", "30", (char *) NULL);
        _exit (127);
    }
    cr_expect (norc_test_process_seen ("^sleep 30$", 2000), "our own sleep 30 is seen");
    cr_expect_eq (norc_test_process_kill ("^sleep 30$", SIGKILL), 1, "only ours is killed");
    waitpid (mine, NULL, 0);
    cr_expect (norc_test_process_gone ("^sleep 30$", 2000));
    kill (stranger, SIGKILL);
}
