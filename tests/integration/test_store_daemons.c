//  Integration tests of the store's daemons: registration, heartbeats, death and handling, against the real MariaDB.
#include "store_fixture.h"

TestSuite (store_daemons, .init = s_setup, .fini = s_teardown);

Test (store_daemons, daemons_heartbeat_die_and_get_handled)
{
    uint64_t queue = s_queue ("Q");
    uint64_t task = s_task ("T", "sleep 100");
    norc_daemon_t sched = { .kind = NORC_DAEMON_SCHEDULER, .host = (char *) "h1", .pid = 10 };
    norc_daemon_t exec = { .kind = NORC_DAEMON_EXECUTOR, .host = (char *) "h2", .pid = 11,
                           .queue_id = queue, .concurrency = 5 };
    cr_assert_eq (norc_store_daemon_register (s_db, &sched), NORC_OK);
    cr_assert_eq (norc_store_daemon_register (s_db, &exec), NORC_OK);
    cr_expect_eq (exec.status, NORC_ST_RUNNING);
    norc_us_t now = norc_now_us ();
    cr_assert_eq (norc_store_daemon_heartbeat (s_db, sched.id, NORC_ST_PAUSED, 0, now), NORC_OK);
    norc_daemon_t got = { 0 };
    cr_assert_eq (norc_store_daemon_get (s_db, exec.id, &got), NORC_OK);
    cr_expect_str_eq (got.host, "h2");
    cr_expect_str_eq (got.queue, "Q");
    cr_expect_eq (got.concurrency, 5);
    cr_expect_eq (got.kind, NORC_DAEMON_EXECUTOR);
    cr_expect_neq (got.started, 0);
    cr_assert_eq (norc_store_daemon_get (s_db, sched.id, &got), NORC_OK);
    cr_expect_eq (got.status, NORC_ST_PAUSED);
    cr_expect_eq (got.heartbeat, now);
    cr_expect_eq (norc_store_daemon_get (s_db, 999, &got), NORC_NOTFOUND);

    //  The executor runs one instance and holds another not yet started,
    //  then goes silent
    uint64_t id, held;
    cr_assert_eq (norc_store_instance_manual (s_db, task, queue, &id), NORC_OK);
    s_start (id, exec.id, now);
    cr_assert_eq (norc_store_instance_manual (s_db, task, queue, &held), NORC_OK);
    norc_fence_t fence = s_fence (77);
    cr_assert_eq (norc_store_instance_assign (s_db, held, exec.id, &fence), NORC_OK);
    //  Held by one executor: nobody else gets it
    cr_expect_eq (norc_store_instance_assign (s_db, held, exec.id + 1000, &fence), NORC_CONFLICT);
    norc_test_db_exec (s_db, "UPDATE daemons SET heartbeat = UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE WHERE kind = 2");
    norc_dead_t *dead = NULL;
    size_t ndead = 0;
    cr_assert_eq (norc_store_daemon_mark_dead (s_db, now - 10 * NORC_US_PER_SEC, "executor lost", &dead, &ndead),
                  NORC_OK);
    cr_assert_eq (ndead, 1);
    cr_expect_eq (dead [0].id, exec.id);
    cr_expect_eq (dead [0].kind, NORC_DAEMON_EXECUTOR);
    cr_assert_eq (dead [0].ended_count, 1);
    cr_expect_eq (dead [0].ended [0], id);
    cr_assert_eq (dead [0].requeued_count, 1);
    cr_expect_eq (dead [0].requeued [0], held);
    norc_dead_list_free (&dead, ndead);
    cr_assert_eq (norc_store_daemon_get (s_db, exec.id, &got), NORC_OK);
    cr_expect_eq (got.status, NORC_ST_ERROR);
    cr_expect_str_eq (got.reason, "heartbeat lost");
    cr_expect_neq (got.ended, 0);
    //  A late heartbeat does not revive it
    cr_expect_eq (norc_store_daemon_heartbeat (s_db, exec.id, NORC_ST_RUNNING, 0, now), NORC_CONFLICT);
    norc_instance_t inst = { 0 };
    cr_assert_eq (norc_store_instance_get (s_db, id, &inst), NORC_OK);
    cr_expect_eq (inst.status, NORC_ST_ERROR);
    cr_expect_str_eq (inst.reason, "executor lost");
    norc_instance_clear (&inst);
    cr_assert_eq (norc_store_instance_get (s_db, held, &inst), NORC_OK);
    cr_expect_eq (inst.status, NORC_ST_CREATED);
    cr_expect_eq (inst.executor_id, 0, "waiting again");
    norc_instance_clear (&inst);
    //  Found once only
    cr_assert_eq (norc_store_daemon_mark_dead (s_db, now - 10 * NORC_US_PER_SEC, "executor lost", &dead, &ndead),
                  NORC_OK);
    cr_expect_eq (ndead, 0);
    norc_dead_list_free (&dead, ndead);

    //  Handle: refused for the live scheduler, done for the dead executor
    norc_us_t alive_after = now - 10 * NORC_US_PER_SEC;
    cr_expect_eq (norc_store_daemon_handle (s_db, sched.id, "op", alive_after), NORC_CONFLICT);
    cr_assert_eq (norc_store_daemon_handle (s_db, exec.id, "op", alive_after), NORC_OK);
    cr_assert_eq (norc_store_daemon_get (s_db, exec.id, &got), NORC_OK);
    cr_expect_eq (got.status, NORC_ST_HANDLED);
    cr_expect_eq (norc_store_daemon_handle (s_db, exec.id, "op", alive_after), NORC_CONFLICT);
    cr_expect_eq (norc_store_daemon_handle (s_db, 999, "op", alive_after), NORC_NOTFOUND);

    //  Status with reason; a final status sets ended
    cr_assert_eq (norc_store_daemon_status (s_db, sched.id, NORC_ST_ENDED, "stopped"), NORC_OK);
    cr_assert_eq (norc_store_daemon_get (s_db, sched.id, &got), NORC_OK);
    cr_expect_eq (got.status, NORC_ST_ENDED);
    cr_expect_neq (got.ended, 0);
    cr_expect_eq (norc_store_daemon_status (s_db, 999, NORC_ST_ENDED, NULL), NORC_NOTFOUND);
    //  A late report of a status that is not final does not bring it back
    norc_daemon_clear (&got);
    cr_assert_eq (norc_store_daemon_status (s_db, sched.id, NORC_ST_STOPPING, "STOP"), NORC_OK);
    cr_assert_eq (norc_store_daemon_get (s_db, sched.id, &got), NORC_OK);
    cr_expect_eq (got.status, NORC_ST_ENDED, "still ENDED");
    cr_expect_neq (got.ended, 0);

    norc_rows_t rows = { 0 };
    cr_assert_eq (norc_store_daemon_list (s_db, 0, 0, alive_after, &rows), NORC_OK);
    cr_expect_eq (rows.count, 2);
    cr_assert_eq (norc_store_daemon_list (s_db, NORC_DAEMON_EXECUTOR, 0, alive_after, &rows), NORC_OK);
    cr_assert_eq (rows.count, 1);
    cr_expect_str_eq (s_cell (&rows, 0, "kind"), "executor");
    cr_expect_str_eq (s_cell (&rows, 0, "failed"), "1");
    cr_expect_str_eq (s_cell (&rows, 0, "alive"), "0");
    cr_assert_eq (norc_store_daemon_list (s_db, 0, norc_now_us () + NORC_US_PER_SEC, alive_after, &rows), NORC_OK);
    cr_expect_eq (rows.count, 0, "both ended before since");
    norc_rows_clear (&rows);
    norc_daemon_clear (&got);
}
