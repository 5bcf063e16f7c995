//  Integration tests of the claims of ticks carried by SQS, against the real MariaDB.
#include "store_fixture.h"

TestSuite (store_claims, .init = s_setup, .fini = s_teardown);

static uint64_t
s_daemon (int kind, uint64_t queue)
{
    norc_daemon_t d = { .kind = kind, .host = (char *) "h", .pid = 1, .queue_id = queue, .concurrency = 2 };
    cr_assert_eq (norc_store_daemon_register (s_db, &d), NORC_OK, "%s", norc_db_errstr (s_db));
    return d.id;
}

static uint64_t s_holder;

static int
s_claim (uint64_t instance, int attempt, uint64_t executor, bool digest_matches, char *why)
{
    norc_claim_t claim = { instance, attempt, executor, digest_matches };
    int outcome = 0;
    cr_assert_eq (norc_store_claim (s_db, &claim, &outcome, &s_holder, why, 256), NORC_OK, "%s", norc_db_errstr (s_db));
    return outcome;
}

static int
s_status (uint64_t id, uint64_t *executor)
{
    norc_instance_t inst = { 0 };
    cr_assert_eq (norc_store_instance_get (s_db, id, &inst), NORC_OK);
    int status = inst.status;
    if (executor)
        *executor = inst.executor_id;
    norc_instance_clear (&inst);
    return status;
}

Test (store_claims, one_executor_holds_a_tick_whatever_copies_arrive)
{
    uint64_t task = s_task ("T", "true");
    uint64_t far = 0;
    cr_assert_eq (norc_store_queue_add (s_db, "Far", NORC_QUEUE_SQS, "https://sqs.eu-west-1.amazonaws.com/1/far", &far),
                  NORC_OK);
    norc_queue_t q = { 0 };
    cr_assert_eq (norc_store_queue_get (s_db, "Far", &q), NORC_OK);
    cr_expect_str_eq (q.url, "https://sqs.eu-west-1.amazonaws.com/1/far");
    norc_queue_clear (&q);
    uint64_t bridge = s_daemon (NORC_DAEMON_BRIDGE, far);
    uint64_t e1 = s_daemon (NORC_DAEMON_EXECUTOR, far), e2 = s_daemon (NORC_DAEMON_EXECUTOR, far);
    uint64_t id = 0;
    cr_assert_eq (norc_store_instance_manual (s_db, task, far, &id), NORC_OK);
    //  Held by the bridge that sent it
    norc_fence_t fence = s_fence (99);
    cr_assert_eq (norc_store_instance_assign (s_db, id, bridge, &fence), NORC_OK);
    char why [256];

    cr_expect_eq (s_claim (id, 1, e1, true, why), NORC_CLAIM_ACCEPTED);
    uint64_t holder = 0;
    cr_expect_eq (s_status (id, &holder), NORC_ST_CREATED);
    cr_expect_eq (holder, e1, "the executor holds it now");
    //  A copy claimed again by the same executor: accepted (it never starts twice)
    cr_expect_eq (s_claim (id, 1, e1, true, why), NORC_CLAIM_ACCEPTED);
    //  By another: a duplicate
    cr_expect_eq (s_claim (id, 1, e2, true, why), NORC_CLAIM_DUPLICATE);
    cr_expect (strstr (why, "holds it"), "%s", why);
    cr_expect_eq (s_holder, e1, "the holder is named: it may still be handed the run");
    //  Another attempt's message: nothing to run
    cr_expect_eq (s_claim (id, 2, e2, true, why), NORC_CLAIM_CANCELLED);
    cr_expect (strstr (why, "attempt"), "%s", why);
    //  Started: every copy is a duplicate, even for its own executor
    s_start (id, e1, norc_now_us ());
    cr_expect_eq (s_claim (id, 1, e2, true, why), NORC_CLAIM_DUPLICATE);
    cr_expect (strstr (why, "started"), "%s", why);
    cr_expect_eq (s_holder, 0);
    //  Run and ended: still a copy
    norc_test_db_exec (s_db, "UPDATE instances SET status = 7, ended_at = UTC_TIMESTAMP(6)");
    cr_expect_eq (s_claim (id, 1, e1, true, why), NORC_CLAIM_DUPLICATE);
    cr_expect (strstr (why, "has run"), "%s", why);
    //  Ended without running (killed while it waited): nothing to run
    norc_test_db_exec (s_db, "UPDATE instances SET started_at = NULL, status = 9");
    cr_expect_eq (s_claim (id, 1, e1, true, why), NORC_CLAIM_CANCELLED);
    cr_expect (strstr (why, "ended"), "%s", why);
    //  Unknown
    cr_expect_eq (s_claim (id + 100, 1, e1, true, why), NORC_CLAIM_CANCELLED);
    cr_expect (strstr (why, "no instance"), "%s", why);
}

Test (store_claims, a_changed_definition_or_a_db_queue_is_never_run)
{
    uint64_t task = s_task ("T", "true");
    uint64_t far = 0, near = s_queue ("Near");
    cr_assert_eq (norc_store_queue_add (s_db, "Far", NORC_QUEUE_SQS, "https://sqs.eu-west-1.amazonaws.com/1/far", &far),
                  NORC_OK);
    uint64_t e1 = s_daemon (NORC_DAEMON_EXECUTOR, far);
    uint64_t id = 0, local = 0;
    cr_assert_eq (norc_store_instance_manual (s_db, task, far, &id), NORC_OK);
    cr_assert_eq (norc_store_instance_manual (s_db, task, near, &local), NORC_OK);
    char why [256];
    //  A db queue's instance is not claimed from SQS, whatever a message says
    cr_expect_eq (s_claim (local, 1, e1, true, why), NORC_CLAIM_CANCELLED);
    cr_expect (strstr (why, "not an sqs queue"), "%s", why);
    cr_expect_eq (s_status (local, NULL), NORC_ST_CREATED, "left alone");
    //  The digest differs: it ends ERROR, not run
    cr_expect_eq (s_claim (id, 1, e1, false, why), NORC_CLAIM_CANCELLED);
    uint64_t holder = 1;
    cr_expect_eq (s_status (id, &holder), NORC_ST_ERROR);
    cr_expect_eq (holder, 0);
    //  Given back, a claimed instance waits again
    uint64_t other = 0;
    cr_assert_eq (norc_store_instance_manual (s_db, task, far, &other), NORC_OK);
    cr_expect_eq (s_claim (other, 1, e1, true, why), NORC_CLAIM_ACCEPTED);
    cr_expect_eq (norc_store_instance_unassign (s_db, other, e1, 0), NORC_OK);
    cr_expect_eq (s_status (other, &holder), NORC_ST_CREATED);
    cr_expect_eq (holder, 0);
}
