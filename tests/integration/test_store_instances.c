//  Integration tests of the store's instances: assignment (fenced by the dispatch lease), starts and ends, retries, reports, against the real MariaDB.
#include "store_fixture.h"

TestSuite (store_instances, .init = s_setup, .fini = s_teardown);

Test (store_instances, instance_lifecycle_is_idempotent)
{
    uint64_t task = s_task ("T", "echo hi");
    uint64_t queue = s_queue ("Q");
    uint64_t id = 0;
    cr_assert_eq (norc_store_instance_manual (s_db, task, queue, &id), NORC_OK);
    norc_daemon_t exec = { .kind = NORC_DAEMON_EXECUTOR, .host = (char *) "h1", .pid = 42,
                           .queue_id = queue, .concurrency = 5 };
    cr_assert_eq (norc_store_daemon_register (s_db, &exec), NORC_OK);

    norc_instance_t *waiting = NULL;
    size_t count = 0;
    cr_assert_eq (norc_store_instance_waiting (s_db, &waiting, &count), NORC_OK);
    cr_assert_eq (count, 1);
    cr_expect_eq (waiting [0].id, id);
    cr_expect_eq (waiting [0].trigger, NORC_TRIGGER_MANUAL);
    cr_expect_str_eq (waiting [0].command, "echo hi");
    norc_instance_clear (&waiting [0]);
    free (waiting);

    norc_fence_t fence = s_fence (77);
    cr_assert_eq (norc_store_instance_assign (s_db, id, exec.id, &fence), NORC_OK);
    cr_assert_eq (norc_store_instance_waiting (s_db, &waiting, &count), NORC_OK);
    cr_expect_eq (count, 0, "an assigned instance is not waiting");
    cr_expect_eq (norc_store_instance_unassign (s_db, id, exec.id + 1, 0), NORC_CONFLICT, "not held by that one");
    cr_assert_eq (norc_store_instance_unassign (s_db, id, exec.id, fence.epoch), NORC_OK);
    cr_assert_eq (norc_store_instance_waiting (s_db, &waiting, &count), NORC_OK);
    cr_expect_eq (count, 1, "released: waiting again");
    norc_instance_clear (&waiting [0]);
    free (waiting);
    cr_assert_eq (norc_store_instance_assign (s_db, id, exec.id, &fence), NORC_OK);
    norc_us_t started = norc_now_us ();
    s_start (id, exec.id, started);
    s_start (id, exec.id, started);         //  resent: no change
    cr_expect_eq (norc_store_instance_assign (s_db, id, exec.id, &fence), NORC_CONFLICT, "not CREATED");
    norc_instance_t end = { .id = id, .executor_id = exec.id, .status = NORC_ST_FAILURE,
                            .ended = started + 1500000, .has_exit = true, .exit_code = 3,
                            .cpu_user_us = 1200, .cpu_sys_us = 300, .max_rss_kb = 2048 };
    cr_assert_eq (norc_store_instance_apply (s_db, &end, 1, NULL), NORC_OK, "%s", norc_db_errstr (s_db));
    //  Already final: another end, or a start, changes nothing
    norc_instance_t again = end;
    again.status = NORC_ST_SUCCESS;
    again.exit_code = 0;
    cr_expect_eq (norc_store_instance_apply (s_db, &again, 1, NULL), NORC_OK);
    s_start (id, exec.id, started + 5);
    norc_instance_t got = { 0 };
    cr_assert_eq (norc_store_instance_get (s_db, id, &got), NORC_OK);
    cr_expect_eq (got.status, NORC_ST_FAILURE);
    cr_expect (got.has_exit);
    cr_expect_eq (got.exit_code, 3);
    cr_expect_eq (got.started, started);
    cr_expect_eq (got.ended, started + 1500000);
    cr_expect_eq (got.cpu_user_us, 1200);
    cr_expect_eq (got.max_rss_kb, 2048);
    cr_expect_eq (got.executor_id, exec.id);
    cr_expect_eq (norc_store_instance_get (s_db, 9999, &got), NORC_NOTFOUND);
    end.id = 9999;
    cr_expect_eq (norc_store_instance_apply (s_db, &end, 1, NULL), NORC_OK, "an unknown instance changes nothing");
    cr_expect_eq (norc_store_instance_get (s_db, 9999, &got), NORC_NOTFOUND);

    //  Handling: only failures
    cr_assert_eq (norc_store_instance_handle (s_db, id, "operator"), NORC_OK);
    cr_assert_eq (norc_store_instance_get (s_db, id, &got), NORC_OK);
    cr_expect_eq (got.status, NORC_ST_HANDLED);
    cr_expect_eq (norc_store_instance_handle (s_db, id, "operator"), NORC_CONFLICT);
    cr_expect_eq (norc_store_instance_handle (s_db, 9999, "operator"), NORC_NOTFOUND);

    //  Revision: get-or-create by info
    cr_assert_eq (norc_store_instance_revision (s_db, id, "v1.2.3"), NORC_OK);
    cr_assert_eq (norc_store_instance_revision (s_db, id, "v1.2.3"), NORC_OK);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM revisions"), 1);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE revision_id IS NOT NULL"), 1);
    cr_expect_eq (norc_store_instance_revision (s_db, 9999, "v1"), NORC_NOTFOUND);
    norc_instance_clear (&got);
}

Test (store_instances, batched_apply_and_reports)
{
    uint64_t task = s_task ("T", "true");
    uint64_t queue = s_queue ("Q");
    uint64_t ids [4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq (norc_store_instance_manual (s_db, task, queue, &ids [i]), NORC_OK);
    norc_us_t t = norc_now_us ();
    norc_instance_t events [] = {
        { .id = ids [0], .executor_id = 1, .status = NORC_ST_RUNNING, .started = t },
        { .id = ids [1], .executor_id = 1, .status = NORC_ST_RUNNING, .started = t },
        { .id = ids [0], .executor_id = 1, .status = NORC_ST_SUCCESS, .ended = t + 10, .has_exit = true },
        { .id = ids [1], .executor_id = 1, .status = NORC_ST_TIMEDOUT, .ended = t + 20, .signal = 15 },
        { .id = ids [0], .executor_id = 1, .status = NORC_ST_FAILURE, .ended = t + 30 },  //  late duplicate
        { .id = 99999, .executor_id = 1, .status = NORC_ST_SUCCESS, .ended = t },         //  unknown: ignored
    };
    cr_assert_eq (norc_store_instance_apply (s_db, events, 6, NULL), NORC_OK, "%s", norc_db_errstr (s_db));
    norc_rows_t rows = { 0 };
    cr_assert_eq (norc_store_instance_list (s_db, 0, false, 0, &rows), NORC_OK);
    cr_expect_eq (rows.count, 4);
    cr_assert_eq (norc_store_instance_list (s_db, 0, true, 0, &rows), NORC_OK);
    cr_assert_eq (rows.count, 1);
    cr_expect_str_eq (s_cell (&rows, 0, "status"), "15");
    cr_assert_eq (norc_store_instance_list (s_db, 0, false, 2, &rows), NORC_OK);
    cr_expect_eq (rows.count, 2, "limit");
    //  since: instances that ended before it are left out, running ones stay
    cr_assert_eq (norc_store_instance_list (s_db, t + 1000000, false, 0, &rows), NORC_OK);
    cr_expect_eq (rows.count, 2);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT status FROM instances ORDER BY id LIMIT 1"), NORC_ST_SUCCESS);
    norc_rows_clear (&rows);
}

//  The retry policy reads the reason code, never the reason's text

Test (store_instances, a_retry_follows_the_reason_code_not_the_text)
{
    uint64_t task = s_task ("Retried", "false");            //  one retry allowed
    uint64_t queue = s_queue ("Q");
    uint64_t ids [3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq (norc_store_instance_manual (s_db, task, queue, &ids [i]), NORC_OK);
    norc_us_t t = norc_now_us ();
    norc_instance_t events [] = {
        //  Its text looks like a lost executor; its code says the machine refused the spawn
        { .id = ids [0], .status = NORC_ST_ERROR, .ended = t, .reason = (char *) "executor lost: looks so",
          .reason_code = NORC_WHY_SPAWN_FAILED },
        //  Any text; the code says its executor died under it
        { .id = ids [1], .status = NORC_ST_ERROR, .ended = t, .reason = (char *) "gone",
          .reason_code = NORC_WHY_EXECUTOR_DIED },
        { .id = ids [2], .status = NORC_ST_KILLED, .ended = t, .reason_code = NORC_WHY_KILL_REQUEST },
    };
    uint64_t retry [3];
    cr_assert_eq (norc_store_instance_apply (s_db, events, 3, retry), NORC_OK, "%s", norc_db_errstr (s_db));
    cr_expect_eq (retry [0], 0, "a refused spawn is not retried here");
    cr_expect_neq (retry [1], 0, "a dead executor's run is");
    cr_expect_eq (retry [2], 0, "a kill is not");
    norc_instance_t got = { 0 };
    cr_assert_eq (norc_store_instance_get (s_db, ids [1], &got), NORC_OK);
    cr_expect_eq (got.reason_code, NORC_WHY_EXECUTOR_DIED, "the code is recorded");
    norc_instance_clear (&got);
}

Test (store_instances, assign_batch_records_each_assignment)
{
    uint64_t task = s_task ("T", "true");
    uint64_t queue = s_queue ("Q");
    uint64_t ids [3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq (norc_store_instance_manual (s_db, task, queue, &ids [i]), NORC_OK);
    s_start (ids [2], 5, norc_now_us ());
    uint64_t execs [3] = { 5, 6, 5 };
    int results [3];
    norc_fence_t fence = s_fence (77);
    cr_assert_eq (norc_store_instance_assign_batch (s_db, ids, execs, results, 3, &fence), NORC_OK);
    cr_expect_eq (results [0], NORC_OK);
    cr_expect_eq (results [1], NORC_OK);
    cr_expect_eq (results [2], NORC_CONFLICT, "already running");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE executor_id = 6"), 1);
    norc_instance_t *waiting = NULL;
    size_t count = 0;
    cr_assert_eq (norc_store_instance_waiting (s_db, &waiting, &count), NORC_OK);
    cr_expect_eq (count, 0);
    free (waiting);
}

//  A dispatcher that lost the lease writes nothing: it cannot assign, and
//  an assignment of the same instance to the same executor by the new
//  dispatcher is not taken for its own, nor can it take that one back.

Test (store_instances, assignments_are_fenced_by_the_dispatch_lease)
{
    uint64_t schedule;
    norc_tick_fire_t tick = s_claim_one (7, &schedule);     //  task T and queue Q, id 1
    uint64_t task = 1, queue = 1;
    uint64_t ids [2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq (norc_store_instance_manual (s_db, task, queue, &ids [i]), NORC_OK);
    norc_fence_t old = s_fence (1);
    //  The lease expires and another scheduler takes it: a new epoch
    norc_test_db_exec (s_db, "UPDATE leases SET until = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND");
    norc_fence_t now = s_fence (2);
    cr_expect_gt (now.epoch, old.epoch);
    uint64_t execs [2] = { 5, 5 };
    int results [2];
    //  The new one assigns the first to executor 5
    cr_assert_eq (norc_store_instance_assign (s_db, ids [0], 5, &now), NORC_OK);
    //  The old one, assigning both to the same executor 5: neither is its own
    cr_assert_eq (norc_store_instance_assign_batch (s_db, ids, execs, results, 2, &old), NORC_OK);
    cr_expect_eq (results [0], NORC_CONFLICT, "the new dispatcher's assignment is not the old one's");
    cr_expect_eq (results [1], NORC_CONFLICT, "the old one cannot assign");
    cr_expect_eq (norc_store_instance_assign (s_db, ids [1], 5, &old), NORC_CONFLICT);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE executor_id IS NOT NULL"), 1);
    //  Nor can it take back the new one's
    cr_expect_eq (norc_store_instance_unassign (s_db, ids [0], 5, old.epoch), NORC_CONFLICT);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT executor_id FROM instances WHERE id = 1"), 5);
    //  The executor that holds it may give it back, whoever assigned it
    cr_expect_eq (norc_store_instance_unassign (s_db, ids [0], 5, 0), NORC_OK);
    //  A tick written assigned at once is assigned only under the fence
    tick.executor_id = 5;
    tick.dispatch_epoch = old.epoch;
    tick.owner = 7;
    cr_assert_eq (norc_store_tick_fire (s_db, &tick), NORC_OK, "%s", norc_db_errstr (s_db));
    cr_expect_eq (tick.executor_id, 0, "not the dispatcher: written unassigned");
    char sql [128];
    snprintf (sql, sizeof sql, "SELECT COUNT(*) FROM instances WHERE id = %llu AND executor_id IS NULL",
              (unsigned long long) tick.instance_id);
    cr_expect_eq (norc_test_db_int (s_db, sql), 1);
}
