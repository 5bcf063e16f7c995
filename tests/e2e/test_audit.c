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
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    cr_expect_neq (norc_test_system_ctl (s_sys, NULL, NULL, "task", "add", "#bad", "--command", "true", NULL), 0);
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "60");
    OK ("schedule", "pause", "1");
    OK ("status");              //  a read: not recorded

    //  Published as it happens, the first one first
    cr_assert_eq (norc_zmq_wait (sub, 5000), NORC_OK, "an audit event");
    norc_msg_t *msg = norc_msg_recv (sub);
    cr_assert_not_null (msg);
    cr_expect_str_eq (msg->event.topic, "audit.queue.add");
    cr_expect_not_null (strstr (msg->event.detail, "\"outcome\": \"accepted\""), "%s", msg->event.detail);
    cr_expect_not_null (strstr (msg->event.detail, "\"hash\": \""), "%s", msg->event.detail);
    norc_msg_destroy (&msg);
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
    //  The scheduler's registration (a change too), then the five above
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit"), 6);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE id = 1 AND verb = 'daemon.register'"), 1);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE outcome = 3 AND verb = 'task.add'"), 1);
    //  The pause: the schedule before (not paused) and after (paused)
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE verb = 'schedule.pause' AND target = '1' "
                                          "AND before_state LIKE '%\"paused\": \"0\"%' "
                                          "AND after_state LIKE '%\"paused\": \"1\"%'"), 1,
                  "its state before and after");
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "audit", "verify", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "the audit chain holds: 6 rows"), "%s", out);
    free (out);
    free (err);

    //  An edit behind Norc's back (the refusal made to look accepted) is
    //  found, at its row
    cr_assert_eq (norc_test_db_int (s_db, "SELECT id FROM audit WHERE outcome = 3"), 4);
    norc_test_db_exec (s_db, "UPDATE audit SET outcome = 1, reason = '' WHERE id = 4");
    cr_expect_eq (norc_test_system_ctl (s_sys, &out, &err, "audit", "verify", NULL), 1);
    cr_expect_not_null (strstr (err, "the audit chain breaks at row 4 of 6"), "%s", err);
    free (out);
    free (err);
}
