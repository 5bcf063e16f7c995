//  Integration tests of the store's ticks and the ledger, including two processes racing for one tick key and a stale scheduler fenced off by the lease epoch, against the real MariaDB.
#include "store_fixture.h"

TestSuite (store_ticks, .init = s_setup, .fini = s_teardown);


Test (store_ticks, tick_fire_writes_instance_and_advances_schedule)
{
    uint64_t schedule;
    norc_tick_fire_t tick = s_claim_one (7, &schedule);
    cr_assert_eq (norc_store_tick_fire (s_db, &tick), NORC_OK, "%s", norc_db_errstr (s_db));
    cr_expect_neq (tick.instance_id, 0);
    norc_schedule_t s = { 0 };
    cr_assert_eq (norc_store_schedule_get (s_db, schedule, &s), NORC_OK);
    cr_expect_eq (s.last_nominal, tick.nominal);
    cr_expect_eq (s.next_nominal, tick.next_nominal);
    cr_expect_eq (s.remaining, 4);
    norc_instance_t inst = { 0 };
    cr_assert_eq (norc_store_instance_get (s_db, tick.instance_id, &inst), NORC_OK);
    cr_expect_eq (inst.status, NORC_ST_CREATED);
    cr_expect_eq (inst.schedule_id, schedule);
    cr_expect_eq (inst.nominal, tick.nominal);
    cr_expect_eq (inst.attempt, 1);
    cr_expect_eq (inst.trigger, NORC_TRIGGER_SCHEDULE);
    cr_expect_str_eq (inst.task, "T");
    cr_expect_str_eq (inst.queue, "Q");
    cr_expect_str_eq (inst.command, "true");
    char path [64];
    cr_expect_str_eq (inst.log_path, norc_log_path (inst.id, path, sizeof path));

    //  The same tick again: no second instance, schedule state still moves
    norc_tick_fire_t again = tick;
    again.next_nominal = INT64_C (1777636810000000);
    again.remaining = 3;
    cr_expect_eq (norc_store_tick_fire (s_db, &again), NORC_CONFLICT);
    cr_expect_eq (again.instance_id, 0);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances"), 1);
    cr_assert_eq (norc_store_schedule_get (s_db, schedule, &s), NORC_OK);
    cr_expect_eq (s.next_nominal, again.next_nominal);

    //  A stale epoch (another scheduler took over) writes nothing
    norc_tick_fire_t stale = tick;
    stale.epoch = tick.epoch + 5;
    stale.nominal = INT64_C (1777636805000000);
    cr_expect_eq (norc_store_tick_fire (s_db, &stale), NORC_NOTFOUND);
    cr_expect_eq (norc_store_tick_skip (s_db, &stale, NORC_TICK_MISSED, "down"), NORC_NOTFOUND);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances"), 1);
    //  A tick naming another shard than its schedule's writes nothing,
    //  even when the caller holds that shard too
    norc_tick_fire_t astray = tick;
    astray.shard = (tick.shard + 1) % NORC_SCHEDULE_SHARDS;
    astray.nominal = INT64_C (1777636805000000);
    cr_expect_eq (norc_store_tick_fire (s_db, &astray), NORC_NOTFOUND);
    //  Its shard taken by another scheduler (a new epoch): nothing either
    char *sql = norc_asprintf ("UPDATE schedule_shards SET owner = 8, epoch = epoch + 1 WHERE shard = %d", tick.shard);
    norc_test_db_exec (s_db, sql);
    free (sql);
    norc_tick_fire_t taken = tick;
    taken.nominal = INT64_C (1777636805000000);
    cr_expect_eq (norc_store_tick_fire (s_db, &taken), NORC_NOTFOUND);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances"), 1);
    norc_instance_clear (&inst);
    norc_schedule_clear (&s);
}

//  Another scheduler's claim of the shard, in progress in another
//  process: the round waits for its commit, then sees the new epoch and
//  writes nothing. (Were the shard read without a lock, the round would
//  see the epoch before the claim and write its tick.)
typedef struct {
    int shard;
    int ready;                  //  a pipe: written once the claim holds the row
} s_claim_hold_t;

static int
s_claim_and_hold (norc_db_t *db, void *arg)
{
    s_claim_hold_t *a = (s_claim_hold_t *) arg;
    char *sql = norc_asprintf ("UPDATE schedule_shards SET owner = 8, epoch = epoch + 1 WHERE shard = %d", a->shard);
    norc_stmt_t *st = norc_db_stmt (db, sql);
    free (sql);
    int rc = norc_stmt_exec (st);
    if (rc == NORC_OK && write (a->ready, "x", 1) == 1)
        usleep (1000000);
    return rc;
}

Test (store_ticks, a_round_waits_for_a_claim_of_its_shard_and_is_fenced_by_it)
{
    norc_tick_fire_t tick = s_claim_one (7, NULL);
    int ready [2];
    cr_assert_eq (pipe (ready), 0);
    pid_t pid = fork ();
    if (pid == 0) {
        close (ready [0]);
        norc_db_t *db = norc_db_new (s_url, NULL);
        s_claim_hold_t hold = { tick.shard, ready [1] };
        int rc = db && norc_db_connect (db) == NORC_OK ? norc_db_txn (db, s_claim_and_hold, &hold) : NORC_ERROR;
        norc_db_destroy (&db);
        _exit (rc == NORC_OK ? 0 : 1);
    }
    close (ready [1]);
    char byte;
    cr_assert_eq (read (ready [0], &byte, 1), 1, "the claim holds the shard row");
    cr_expect_eq (norc_store_tick_fire (s_db, &tick), NORC_NOTFOUND, "fenced by the claim that committed first");
    int status;
    cr_assert_eq (waitpid (pid, &status, 0), pid);
    cr_expect (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances"), 0);
    close (ready [0]);
}

//  Two processes, two connections, one tick key: exactly one instance.

Test (store_ticks, two_connections_race_for_one_tick_key)
{
    norc_tick_fire_t tick = s_claim_one (7, NULL);
    enum { RACERS = 4 };
    pid_t pids [RACERS];
    int go [2];
    cr_assert_eq (pipe (go), 0);
    for (int i = 0; i < RACERS; i++) {
        pids [i] = fork ();
        if (pids [i] == 0) {
            close (go [1]);
            norc_db_t *db = norc_db_new (s_url, NULL);
            if (norc_db_connect (db))
                _exit (3);
            char byte;
            //  Everyone starts when the pipe closes
            while (read (go [0], &byte, 1) > 0)
                ;
            norc_tick_fire_t mine = tick;
            int rc = norc_store_tick_fire (db, &mine);
            norc_db_destroy (&db);
            _exit (rc == NORC_OK ? 0 : rc == NORC_CONFLICT ? 1 : 2);
        }
    }
    close (go [0]);
    usleep (200000);
    close (go [1]);
    int won = 0, lost = 0;
    for (int i = 0; i < RACERS; i++) {
        int status;
        waitpid (pids [i], &status, 0);
        cr_assert (WIFEXITED (status));
        if (WEXITSTATUS (status) == 0)
            won++;
        else
        if (WEXITSTATUS (status) == 1)
            lost++;
    }
    cr_expect_eq (won, 1, "exactly one writer created the instance");
    cr_expect_eq (lost, RACERS - 1, "the others saw the tick key taken");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances"), 1);
}

Test (store_ticks, skipped_and_missed_ticks_and_history)
{
    uint64_t schedule;
    norc_tick_fire_t tick = s_claim_one (7, &schedule);
    cr_assert_eq (norc_store_tick_fire (s_db, &tick), NORC_OK);
    norc_tick_fire_t skip = tick;
    skip.nominal += 5 * NORC_US_PER_SEC;
    skip.next_nominal += 5 * NORC_US_PER_SEC;
    cr_assert_eq (norc_store_tick_skip (s_db, &skip, NORC_TICK_SKIPPED, "paused"), NORC_OK);
    cr_expect_eq (norc_store_tick_skip (s_db, &skip, NORC_TICK_SKIPPED, "paused"), NORC_OK, "idempotent");
    norc_tick_fire_t miss = skip;
    miss.nominal += 5 * NORC_US_PER_SEC;
    miss.next_nominal += 5 * NORC_US_PER_SEC;
    cr_assert_eq (norc_store_tick_skip (s_db, &miss, NORC_TICK_MISSED, "down"), NORC_OK);
    norc_rows_t rows = { 0 };
    cr_assert_eq (norc_store_tick_history (s_db, schedule, 10, &rows), NORC_OK);
    cr_assert_eq (rows.count, 3);
    cr_expect_str_eq (s_cell (&rows, 0, "outcome"), "missed");
    cr_expect_str_eq (s_cell (&rows, 0, "reason"), "down");
    cr_expect_str_eq (s_cell (&rows, 1, "outcome"), "skipped");
    cr_expect_str_eq (s_cell (&rows, 2, "outcome"), "fired");
    cr_expect_str_eq (s_cell (&rows, 2, "status"), "1");
    cr_expect_str_eq (s_cell (&rows, 2, "nominal"), "2026-05-01T12:00:00.000000Z");
    norc_schedule_t s = { 0 };
    cr_assert_eq (norc_store_schedule_get (s_db, schedule, &s), NORC_OK);
    cr_expect_eq (s.last_nominal, miss.nominal);
    norc_schedule_clear (&s);
    norc_rows_clear (&rows);
}

Test (store_ticks, tick_batch_writes_each_tick_and_reports_each_outcome)
{
    uint64_t schedule;
    norc_tick_fire_t first = s_claim_one (7, &schedule);
    norc_tick_fire_t ticks [4];
    for (int i = 0; i < 4; i++) {
        ticks [i] = first;
        ticks [i].nominal = first.nominal + i * 5 * NORC_US_PER_SEC;
        ticks [i].next_nominal = ticks [i].nominal + 5 * NORC_US_PER_SEC;
        ticks [i].remaining = 4 - i;
    }
    ticks [1].outcome = NORC_TICK_MISSED;
    ticks [1].reason = "late";
    ticks [3] = ticks [0];                  //  the first tick again: a duplicate
    cr_assert_eq (norc_store_tick_batch (s_db, ticks, 4), NORC_OK, "%s", norc_db_errstr (s_db));
    cr_expect_eq (ticks [0].result, NORC_OK);
    cr_expect_neq (ticks [0].instance_id, 0);
    cr_expect_eq (ticks [1].result, NORC_OK);
    cr_expect_eq (ticks [2].result, NORC_OK);
    cr_expect_eq (ticks [3].result, NORC_CONFLICT);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances"), 2);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM ticks WHERE outcome = 3"), 1);
    //  A stale epoch in a batch: that tick is refused, the others go in
    norc_tick_fire_t mixed [2] = { ticks [2], ticks [2] };
    mixed [0].nominal += 60 * NORC_US_PER_SEC;
    mixed [1].nominal += 65 * NORC_US_PER_SEC;
    mixed [1].epoch += 9;
    cr_assert_eq (norc_store_tick_batch (s_db, mixed, 2), NORC_OK);
    cr_expect_eq (mixed [0].result, NORC_OK);
    cr_expect_eq (mixed [1].result, NORC_NOTFOUND);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances"), 3);
    cr_expect_eq (norc_store_tick_batch (s_db, mixed, 0), NORC_OK);
}

Test (store_ticks, skipped_ticks_are_recorded_as_runs)
{
    uint64_t schedule;
    norc_tick_fire_t base = s_claim_one (7, &schedule);
    int64_t p = 5 * NORC_US_PER_SEC;
    norc_tick_fire_t t [3];
    //  A run of 1,000 missed ticks given as one, then two single ones
    for (int i = 0; i < 3; i++) {
        t [i] = base;
        t [i].outcome = NORC_TICK_MISSED;
        t [i].reason = "late";
    }
    t [0].last = base.nominal + 999 * p;
    t [0].count = 1000;
    t [1].prev = t [0].last;
    t [1].nominal = t [1].last = t [0].last + p;
    t [2].prev = t [1].last;
    t [2].nominal = t [2].last = t [1].last + p;
    t [2].next_nominal = t [2].nominal + p;
    cr_assert_eq (norc_store_tick_batch (s_db, t, 3), NORC_OK, "%s", norc_db_errstr (s_db));
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM ticks"), 1);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT tick_count FROM ticks"), 1002);
    //  The next batch continues the same row (its prev is the row's last)
    norc_tick_fire_t more = t [2];
    more.prev = t [2].last;
    more.nominal = more.last = t [2].last + p;
    more.count = 1;
    cr_assert_eq (norc_store_tick_batch (s_db, &more, 1), NORC_OK, "%s", norc_db_errstr (s_db));
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM ticks"), 1);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT tick_count FROM ticks"), 1003);
    //  The same batch again (a commit retried after it went through): nothing counted twice
    cr_assert_eq (norc_store_tick_batch (s_db, &more, 1), NORC_OK);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM ticks"), 1);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT tick_count FROM ticks"), 1003);
    //  Another reason: a new row; then a fire; then the first reason again: a new row
    norc_tick_fire_t paused = more;
    paused.prev = more.last;
    paused.nominal = paused.last = more.last + p;
    paused.outcome = NORC_TICK_SKIPPED;
    paused.reason = "paused";
    norc_tick_fire_t fire = paused;
    fire.prev = paused.last;
    fire.nominal = fire.last = paused.last + p;
    fire.outcome = 0;
    fire.reason = NULL;
    norc_tick_fire_t late = more;
    late.prev = fire.last;
    late.nominal = late.last = fire.last + p;
    norc_tick_fire_t round [3] = { paused, fire, late };
    cr_assert_eq (norc_store_tick_batch (s_db, round, 3), NORC_OK, "%s", norc_db_errstr (s_db));
    cr_expect_neq (round [1].instance_id, 0);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM ticks"), 3);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT SUM(tick_count) FROM ticks"), 1005);
    //  History shows each run with its ends and size, newest first
    norc_rows_t rows = { 0 };
    cr_assert_eq (norc_store_tick_history (s_db, schedule, 10, &rows), NORC_OK);
    cr_assert_eq (rows.count, 4);
    cr_expect_str_eq (s_cell (&rows, 0, "outcome"), "missed");
    cr_expect_str_eq (s_cell (&rows, 1, "outcome"), "fired");
    cr_expect_str_eq (s_cell (&rows, 2, "reason"), "paused");
    cr_expect_str_eq (s_cell (&rows, 3, "ticks"), "1003");
    cr_expect_str_eq (s_cell (&rows, 3, "nominal"), "2026-05-01T12:00:00.000000Z");
    char last [40];
    cr_expect_str_eq (s_cell (&rows, 3, "last"), norc_time_iso (more.last, last, sizeof last));
    norc_schedule_t s = { 0 };
    cr_assert_eq (norc_store_schedule_get (s_db, schedule, &s), NORC_OK);
    cr_expect_eq (s.last_nominal, late.nominal);
    norc_schedule_clear (&s);
    norc_rows_clear (&rows);
}
