//  End to end: the executor's side of the dispatch protocol, with the test
//  playing the dispatcher on the real executor binary: every slot a run
//  frees comes back as credit, once.
#include <criterion/criterion.h>
#include <signal.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"
#include "norc_msg.h"

NORC_TEST_E2E_SUITE (dispatch, 60);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

//  The next message from the executor (fails the test after 10 s).
static norc_msg_t *
s_recv (zsock_t *router)
{
    norc_msg_t *msg = norc_msg_recv (router);
    cr_assert_not_null (msg, "the executor sent nothing for 10 s");
    return msg;
}

//  Hand the executor one instance, as the dispatcher does.
static void
s_assign (zsock_t *router, zframe_t *executor, uint64_t instance_id, const char *command)
{
    char path [64];
    norc_msg_t *msg = norc_msg_new (NORC_MSG_ASSIGN);
    msg->assign.instance_id = instance_id;
    msg->assign.task_id = 1;
    msg->assign.task = norc_strdup ("T");
    msg->assign.attempt = 1;
    msg->assign.command = norc_strdup (command);
    msg->assign.log_path = norc_strdup (norc_log_path (instance_id, path, sizeof path));
    msg->assign.queue = norc_strdup ("Q");
    norc_msg_set_routing_id (msg, executor);
    cr_assert_eq (norc_msg_send (&msg, router), NORC_OK);
}

//  Credits from the executor until they add up to want (HELLOs, which
//  come every heartbeat, are passed over); a RELEASE (the executor refusing
//  work for want of a slot) fails the test.
static int
s_credits (zsock_t *router, int want)
{
    int got = 0;
    int64_t deadline = zclock_mono () + 10000;
    while (got < want) {
        cr_assert_lt (zclock_mono (), deadline, "%d credits of %d came back in 10 s", got, want);
        norc_msg_t *msg = s_recv (router);
        cr_assert_neq (msg->id, NORC_MSG_RELEASE, "the executor gave an instance back: %s",
                       msg->id == NORC_MSG_RELEASE ? msg->release.reason : "");
        if (msg->id == NORC_MSG_CREDIT)
            got += msg->credit.credits;
        norc_msg_destroy (&msg);
    }
    return got;
}

Test (dispatch, every_freed_slot_comes_back_as_credit_once)
{
    //  The test is the dispatcher: the scheduler goes (core: aggregator,
    //  archiver, scheduler)
    norc_test_system_signal (s_sys, norc_test_system_pid (s_sys, "norc-scheduler"), SIGTERM);
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    for (int i = 0; i < 9; i++)
        OK ("run", "T", "--queue", "Q");
    char *endpoint = norc_asprintf ("ipc://%s/dispatch.ipc", s_sys->dir);
    zsock_t *router = zsock_new_router (endpoint);
    cr_assert_not_null (router, "cannot bind %s", endpoint);
    zsock_set_rcvtimeo (router, 10000);
    const char *args [] = { "Q", "-c", "3", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    norc_msg_t *hello = s_recv (router);
    cr_assert_eq (hello->id, NORC_MSG_HELLO, "%s", norc_msg_name (hello));
    cr_assert_eq (hello->hello.concurrency, 3);
    zframe_t *executor = zframe_dup (hello->routing_id);
    norc_msg_destroy (&hello);
    //  Three waves of three: each wave fills every slot, and the next one
    //  is sent only once the credits for the whole wave are back
    uint64_t id = 1;
    for (int wave = 0; wave < 3; wave++) {
        for (int i = 0; i < 3; i++)
            s_assign (router, executor, id++, i == 1 ? "echo one; exit 3" : "true");
        cr_assert_eq (s_credits (router, 3), 3, "wave %d", wave);
    }
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE status IN (7, 13)", 9, 10000);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE status = 13 AND exit_code = 3"), 3);
    //  Nothing more is owed: up to the next HELLO (sent after any credit
    //  of the runs above, on the same connection), no further credit
    int extra = 0;
    norc_msg_t *msg;
    while ((msg = s_recv (router))->id != NORC_MSG_HELLO) {
        if (msg->id == NORC_MSG_CREDIT)
            extra += msg->credit.credits;
        norc_msg_destroy (&msg);
    }
    cr_expect_eq (msg->hello.running.count, 0, "nothing runs");
    norc_msg_destroy (&msg);
    cr_expect_eq (extra, 0, "credits beyond the slots freed");
    zframe_destroy (&executor);
    zsock_destroy (&router);
    free (endpoint);
}

//  An instance assigned again after it ran (a second dispatcher's ASSIGN,
//  a resend) is never started a second time; its slot's credit comes back.
Test (dispatch, an_instance_assigned_again_after_it_ran_does_not_run_again)
{
    norc_test_system_signal (s_sys, norc_test_system_pid (s_sys, "norc-scheduler"), SIGTERM);
    OK ("queue", "add", "Q");
    char *file = norc_asprintf ("%s/ran.txt", s_sys->dir);
    char *command = norc_asprintf ("echo ran >> %s", file);
    OK ("task", "add", "T", "--command", command);
    OK ("run", "T", "--queue", "Q");
    char *endpoint = norc_asprintf ("ipc://%s/dispatch.ipc", s_sys->dir);
    zsock_t *router = zsock_new_router (endpoint);
    cr_assert_not_null (router);
    zsock_set_rcvtimeo (router, 10000);
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    norc_msg_t *hello = s_recv (router);
    cr_assert_eq (hello->id, NORC_MSG_HELLO);
    zframe_t *executor = zframe_dup (hello->routing_id);
    norc_msg_destroy (&hello);
    s_assign (router, executor, 1, command);
    cr_assert_eq (s_credits (router, 1), 1);
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    //  The same instance again, twice: its credit comes back each time,
    //  and it runs no more
    s_assign (router, executor, 1, command);
    s_assign (router, executor, 1, command);
    cr_expect_eq (s_credits (router, 2), 2);
    usleep (300000);            //  time enough to run it again, were it to
    cr_expect_eq (norc_test_file_lines (file), 1, "it ran once, not %d times", norc_test_file_lines (file));
    zframe_destroy (&executor);
    zsock_destroy (&router);
    free (endpoint);
    free (command);
    free (file);
}
