//  End to end: the audit. Every change made through norcctl and every
//  refusal of one is recorded with its outcome and the target's state
//  before and after, published on the stream, and listed by norcctl; the
//  hash chain finds a row edited behind Norc's back.
#include <criterion/criterion.h>
#include <czmq.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_msg.h"
#include "norc_zmq.h"

NORC_TEST_E2E_SUITE (audit, 120);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

Test (audit, changes_and_refusals_are_recorded_published_and_chained)
{
    zsock_t *sub = norc_zmq_connect (ZMQ_SUB, norc_test_system_env (s_sys, "NORC_AGGREGATOR_STREAM"));
    cr_assert_not_null (sub);
    zsock_set_subscribe (sub, "audit.");
    usleep (300000);            //  the subscription reaches the publisher (a SUB cannot tell)
    //  The log-archiver's and the scheduler's registrations come first
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM audit WHERE verb = 'daemon.register'", 2, 10000);
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    cr_expect_neq (norc_test_system_ctl (s_sys, NULL, NULL, "task", "add", "#bad", "--command", "true", NULL), 0);
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "60");
    OK ("schedule", "pause", "1");
    OK ("status");              //  a read: not recorded

    //  Published as it happens (the last change's, at least: a SUB cannot
    //  tell when its subscription took, so an early one may be missed)
    bool seen = false;
    norc_us_t deadline = norc_mono_us () + 5 * NORC_US_PER_SEC;
    while (!seen && norc_mono_us () < deadline && norc_zmq_wait (sub, 500) != NORC_ERROR) {
        norc_msg_t *msg = norc_msg_recv (sub);
        if (msg && msg->id == NORC_MSG_EVENT && strcmp (msg->event.topic, "audit.schedule.pause") == 0) {
            seen = true;
            cr_expect_not_null (strstr (msg->event.detail, "\"outcome\": \"accepted\""), "%s", msg->event.detail);
            cr_expect_not_null (strstr (msg->event.detail, "\"target\": \"1\""), "%s", msg->event.detail);
            cr_expect_not_null (strstr (msg->event.detail, "\"hash\": \""), "%s", msg->event.detail);
        }
        norc_msg_destroy (&msg);
    }
    cr_expect (seen, "audit.schedule.pause was published");
    zsock_destroy (&sub);

    //  Listed, newest first, with who, what, on what and why
    char *out = NULL, *err = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "audit", "list", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "schedule.pause"), "%s", out);
    cr_expect_not_null (strstr (out, "bad task name"), "the refusal and its reason: %s", out);
    cr_expect_not_null (strstr (out, "anonymous"), "%s", out);
    cr_expect_null (strstr (out, "status"), "reads are not recorded: %s", out);
    free (out);
    free (err);
    //  The two registrations (changes too), then the five above
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit"), 7);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE id <= 2 AND verb = 'daemon.register'"), 2);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE outcome = 3 AND verb = 'task.add'"), 1);
    //  The pause: the schedule before (not paused) and after (paused)
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE verb = 'schedule.pause' AND target = '1' "
                                          "AND before_state LIKE '%\"paused\": \"0\"%' "
                                          "AND after_state LIKE '%\"paused\": \"1\"%'"), 1,
                  "its state before and after");
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "audit", "verify", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "the audit chain holds: 7 rows"), "%s", out);
    free (out);
    free (err);

    //  An edit behind Norc's back (the refusal made to look accepted) is
    //  found, at its row
    cr_assert_eq (norc_test_db_int (s_db, "SELECT id FROM audit WHERE outcome = 3"), 5);
    norc_test_db_exec (s_db, "UPDATE audit SET outcome = 1, reason = '' WHERE id = 5");
    cr_expect_eq (norc_test_system_ctl (s_sys, &out, &err, "audit", "verify", NULL), 1);
    cr_expect_not_null (strstr (err, "the audit chain breaks at row 5 of 7"), "%s", err);
    free (out);
    free (err);
}

//  A secret environment value reaches its task and nothing else: not task
//  show (text or JSON), not the audit's states, not the services' logs.
Test (audit, a_secret_value_reaches_its_task_and_is_shown_nowhere)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "S", "--command", "echo \"token=$TOKEN plain=$PLAIN\"", "--secret-env", "TOKEN=hunter2-xyz",
        "--env", "PLAIN=visible");
    const char *args [] = { "Q", "-c", "1", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "S", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    cr_expect (norc_test_log_has (s_sys, 1, "token=hunter2-xyz plain=visible", 5000), "the task got it (see %s)",
               s_sys->dir);
    const char *shows [][4] = { { "task", "show", "S", NULL }, { "task", "show", "S", "--json" } };
    for (int i = 0; i < 2; i++) {
        char *out = NULL, *err = NULL;
        cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, shows [i][0], shows [i][1], shows [i][2], shows [i][3],
                                            NULL), 0, "%s", err);
        cr_expect_null (strstr (out, "hunter2"), "%s", out);
        cr_expect_not_null (strstr (out, "(secret)"), "%s", out);
        cr_expect_not_null (strstr (out, "visible"), "a plain value is shown: %s", out);
        free (out);
        free (err);
    }
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE verb = 'task.add' "
                                          "AND after_state LIKE '%(secret)%'"), 1, "the audit's state is redacted");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE CONCAT_WS(' ', before_state, after_state, "
                                          "reason) LIKE '%hunter2%'"), 0);
    char *logs = norc_asprintf ("grep -l hunter2 %s/*.log", s_sys->dir);
    cr_expect_neq (system (logs), 0, "no service wrote it in its log");
    free (logs);
}

//  An argument the operation does not take (docs/api.md) is refused with
//  its name, and nothing changes; the refused change is audited as failed
Test (audit, an_argument_an_operation_does_not_take_is_refused)
{
    zsock_t *api = zsock_new (ZMQ_DEALER);
    cr_assert_eq (zsock_connect (api, "%s", norc_test_system_env (s_sys, "NORC_AGGREGATOR_API")), 0);
    norc_msg_t *reply = norc_test_api_ask (api, "queue.add", "nmae", "Misspelt", 5000);
    cr_assert_not_null (reply);
    cr_expect_eq (reply->api_reply.code, NORC_ERROR);
    cr_expect_not_null (strstr (reply->api_reply.error, "queue.add takes no argument \"nmae\""), "%s",
                        reply->api_reply.error);
    norc_msg_destroy (&reply);
    reply = norc_test_api_ask (api, "queue.list", "colour", "red", 5000);
    cr_assert_not_null (reply);
    cr_expect_eq (reply->api_reply.code, NORC_ERROR, "a read too");
    norc_msg_destroy (&reply);
    zsock_destroy (&api);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM queues"), 0, "nothing added");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE verb = 'queue.add' AND outcome = 3"), 1,
                  "the refused change is audited as failed");
}
