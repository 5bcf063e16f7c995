//  Integration tests of the store's schedules and the leases schedulers hold on them, against the real MariaDB.
#include "store_fixture.h"
#include <limits.h>

TestSuite (store_schedules, .init = s_setup, .fini = s_teardown);

Test (store_schedules, schedules_add_get_list_pause_delete)
{
    uint64_t task = s_task ("T", "true");
    uint64_t queue = s_queue ("Q");
    norc_schedule_t s = { 0 };
    s.task_id = task;
    s.queue_id = queue;
    s.kind = NORC_SCHED_CRON;
    s.cron = norc_strdup ("0 */5 * * * *");
    s.tz = norc_strdup ("Europe/London");
    s.start = INT64_C (1777636800000000);
    s.catchup = 3;
    s.catchup_window_s = 600;
    s.concurrency = NORC_CONCURRENCY_FORBID;
    s.deadline_s = 30;
    cr_assert_eq (norc_store_schedule_add (s_db, &s), NORC_OK, "%s", norc_db_errstr (s_db));
    norc_schedule_t got = { 0 };
    cr_assert_eq (norc_store_schedule_get (s_db, s.id, &got), NORC_OK);
    cr_expect_str_eq (got.cron, "0 */5 * * * *");
    cr_expect_str_eq (got.tz, "Europe/London");
    cr_expect_str_eq (got.task, "T");
    cr_expect_str_eq (got.queue, "Q");
    cr_expect_eq (got.start, s.start);
    cr_expect_eq (got.catchup, 3);
    cr_expect_eq (got.catchup_window_s, 600);
    cr_expect_eq (got.concurrency, NORC_CONCURRENCY_FORBID);
    cr_expect_eq (got.deadline_s, 30);
    cr_expect_eq (got.repetitions, 0);
    cr_expect (!got.paused);
    cr_expect_eq (got.lease_owner, 0);

    cr_assert_eq (norc_store_schedule_set_paused (s_db, s.id, true), NORC_OK);
    cr_assert_eq (norc_store_schedule_get (s_db, s.id, &got), NORC_OK);
    cr_expect (got.paused);
    cr_expect_eq (norc_store_schedule_set_paused (s_db, 9999, true), NORC_NOTFOUND);

    norc_rows_t rows = { 0 };
    norc_schedule_filter_t live = { 0 }, all = { .all = true };
    cr_assert_eq (norc_store_schedule_list (s_db, &live, &rows), NORC_OK);
    cr_assert_eq (rows.count, 1);
    cr_expect_str_eq (s_cell (&rows, 0, "timing"), "0 */5 * * * *");
    cr_expect_str_eq (s_cell (&rows, 0, "catchup"), "within");
    cr_expect_str_eq (s_cell (&rows, 0, "concurrency"), "forbid");

    cr_assert_eq (norc_store_schedule_delete (s_db, s.id, "bad expression"), NORC_OK);
    cr_expect_eq (norc_store_schedule_delete (s_db, s.id, "again"), NORC_OK, "idempotent");
    cr_expect_eq (norc_store_schedule_delete (s_db, 9999, "x"), NORC_NOTFOUND);
    cr_assert_eq (norc_store_schedule_get (s_db, s.id, &got), NORC_OK);
    cr_expect_neq (got.deleted_at, 0);
    cr_expect_str_eq (got.deleted_reason, "bad expression");
    cr_assert_eq (norc_store_schedule_list (s_db, &live, &rows), NORC_OK);
    cr_expect_eq (rows.count, 0);
    cr_assert_eq (norc_store_schedule_list (s_db, &all, &rows), NORC_OK);
    cr_expect_eq (rows.count, 1);
    //  One by its id (ended or not), and pages newest first
    norc_schedule_filter_t one = { .id = s.id };
    cr_assert_eq (norc_store_schedule_list (s_db, &one, &rows), NORC_OK);
    cr_expect_eq (rows.count, 1);
    norc_schedule_t more [3];
    for (int i = 0; i < 3; i++) {
        more [i] = (norc_schedule_t) { .task_id = s.task_id, .queue_id = s.queue_id, .kind = 1, .period_s = 60 };
        cr_assert_eq (norc_store_schedule_add (s_db, &more [i]), NORC_OK);
    }
    norc_schedule_filter_t page = { .limit = 2 };
    cr_assert_eq (norc_store_schedule_list (s_db, &page, &rows), NORC_OK);
    cr_assert_eq (rows.count, 2);
    cr_expect_eq (strtoull (s_cell (&rows, 0, "id"), NULL, 10), more [2].id, "newest first");
    cr_expect_eq (strtoull (s_cell (&rows, 1, "id"), NULL, 10), more [1].id);
    page.before = more [1].id;
    cr_assert_eq (norc_store_schedule_list (s_db, &page, &rows), NORC_OK);
    cr_assert_eq (rows.count, 1, "the page after: the one live schedule left");
    cr_expect_eq (strtoull (s_cell (&rows, 0, "id"), NULL, 10), more [0].id);
    for (int i = 0; i < 3; i++)
        norc_store_schedule_delete (s_db, more [i].id, "test");
    cr_expect_eq (norc_store_schedule_set_paused (s_db, s.id, false), NORC_NOTFOUND);
    cr_expect_eq (norc_store_schedule_get (s_db, 9999, &got), NORC_NOTFOUND);

    //  A schedule for a task that does not exist
    norc_schedule_t bad = { 0 };
    bad.task_id = 4242;
    bad.queue_id = queue;
    bad.kind = NORC_SCHED_PERIOD;
    bad.period_s = 1;
    cr_expect_eq (norc_store_schedule_add (s_db, &bad), NORC_NOTFOUND);
    norc_rows_clear (&rows);
    norc_schedule_clear (&s);
    norc_schedule_clear (&got);
}

//  Claim the free shards; the schedules loaded come back (freed here); their count
static size_t
s_claim (uint64_t owner, norc_us_t now, uint64_t *first_epoch)
{
    norc_schedule_t *rows = NULL;
    size_t count = 0;
    cr_assert_eq (norc_store_schedule_claim (s_db, owner, now, &rows, &count), NORC_OK, "%s",
                  norc_db_errstr (s_db));
    for (size_t i = 0; i < count; i++) {
        cr_expect_eq (rows [i].lease_owner, owner);
        if (i == 0 && first_epoch)
            *first_epoch = rows [i].lease_epoch;
        norc_schedule_clear (&rows [i]);
    }
    free (rows);
    return count;
}

static bool
s_lease (uint64_t owner, norc_us_t now, norc_us_t until)
{
    bool was_live = true;
    cr_assert_eq (norc_store_scheduler_lease (s_db, owner, now, until, &was_live), NORC_OK, "%s",
                  norc_db_errstr (s_db));
    return was_live;
}

//  Every live schedule an owner holds, read as a scheduler reads them
//  again after its lease expired: its shards marked, then loaded
static size_t
s_owned (uint64_t owner)
{
    size_t shards = 0, count = 0;
    uint64_t token = 0;
    cr_assert_eq (norc_store_shard_mark_held (s_db, owner, &shards, &token), NORC_OK);
    norc_schedule_t *owned = NULL;
    cr_assert_eq (norc_store_schedule_load (s_db, owner, token, shards, 0, INT_MAX, &owned, &count), NORC_OK);
    for (size_t i = 0; i < count; i++) {
        cr_expect_eq (owned [i].lease_owner, owner);
        norc_schedule_clear (&owned [i]);
    }
    free (owned);
    return count;
}

Test (store_schedules, shards_claimed_whatever_they_hold_expired_and_released)
{
    uint64_t task = s_task ("T", "true");
    uint64_t queue = s_queue ("Q");
    for (int i = 0; i < 3; i++)
        s_period_schedule (task, queue, 0);
    uint64_t finished = s_period_schedule (task, queue, 1);
    norc_test_db_exec (s_db, "UPDATE schedules SET remaining = 0 WHERE repetitions = 1");
    norc_us_t now = norc_now_us ();
    cr_expect_not (s_lease (101, now, now + 10 * NORC_US_PER_SEC), "no lease before");
    cr_expect (s_lease (101, now, now + 10 * NORC_US_PER_SEC), "renewed while live");
    cr_expect_not (s_lease (102, now, now + 10 * NORC_US_PER_SEC));
    //  Every shard is taken by the first claim, at epoch 1; the finished
    //  schedule is not loaded
    norc_shard_t *shards = NULL;
    size_t nshards = 0;
    uint64_t token = 0;
    cr_assert_eq (norc_store_shard_claim (s_db, 101, now, &shards, &nshards, &token), NORC_OK);
    cr_expect_eq (nshards, NORC_SCHEDULE_SHARDS);
    cr_expect_eq (nshards ? shards [0].epoch : 0, 1);
    cr_expect_neq (token, 0);
    free (shards);
    //  In pages, in id order
    norc_schedule_t *rows = NULL;
    size_t count = 0;
    cr_assert_eq (norc_store_schedule_load (s_db, 101, token, nshards, 0, 2, &rows, &count), NORC_OK);
    cr_assert_eq (count, 2);
    cr_expect_lt (rows [0].id, rows [1].id);
    uint64_t after = rows [1].id;
    for (size_t i = 0; i < count; i++) {
        cr_expect_neq (rows [i].id, finished);
        cr_expect_eq (rows [i].lease_epoch, 1);
        norc_schedule_clear (&rows [i]);
    }
    free (rows);
    cr_assert_eq (norc_store_schedule_load (s_db, 101, token, nshards, after, 2, &rows, &count), NORC_OK);
    cr_assert_eq (count, 1, "the last page");
    cr_expect_gt (rows [0].id, after);
    cr_expect_neq (rows [0].id, finished);
    norc_schedule_clear (&rows [0]);
    free (rows);
    //  Loading what 102 does not hold gives nothing
    cr_assert_eq (norc_store_schedule_load (s_db, 102, token, nshards, 0, 10, &rows, &count), NORC_OK);
    cr_expect_eq (count, 0);
    free (rows);
    cr_expect_eq (s_claim (102, now, NULL), 0, "the owner's lease is live: nothing is free");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM schedule_shards WHERE owner = 101"),
                  NORC_SCHEDULE_SHARDS);
    cr_expect_eq (s_owned (101), 3);

    //  A pause and a new schedule are found among the changes to what 101 holds
    norc_test_db_exec (s_db, "UPDATE schedules SET changed_at = NULL");
    uint64_t paused = norc_test_db_int (s_db, "SELECT MIN(id) FROM schedules");
    cr_assert_eq (norc_store_schedule_set_paused (s_db, paused, true), NORC_OK);
    uint64_t fresh = s_period_schedule (task, queue, 0);
    uint64_t *ids = NULL;
    cr_assert_eq (norc_store_schedule_changed (s_db, 101, now - 60 * NORC_US_PER_SEC, &ids, &count), NORC_OK);
    cr_expect_eq (count, 2);
    cr_expect_eq (count == 2 ? ids [0] : 0, paused);
    cr_expect_eq (count == 2 ? ids [1] : 0, fresh);
    free (ids);
    cr_assert_eq (norc_store_schedule_changed (s_db, 102, now - 60 * NORC_US_PER_SEC, &ids, &count), NORC_OK);
    cr_expect_eq (count, 0);
    free (ids);

    //  102 renews; 101's lease expires: 102 takes every shard over, with a
    //  new epoch, and 101's lease row goes (nothing is left under it)
    uint64_t epoch = 0;
    cr_expect (s_lease (102, now + 5 * NORC_US_PER_SEC, now + 30 * NORC_US_PER_SEC));
    cr_expect_eq (s_claim (102, now + 15 * NORC_US_PER_SEC, &epoch), 4);
    cr_expect_eq (epoch, 2);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM scheduler_leases WHERE owner = 101"), 0);
    cr_expect_not (s_lease (101, now + 15 * NORC_US_PER_SEC, now + 40 * NORC_US_PER_SEC),
                   "101 comes back: its lease had expired (it reads what it holds again: nothing)");
    cr_expect_eq (s_owned (101), 0);
    cr_expect_eq (s_owned (102), 4);
    //  102 ends: its lease ends at once, whatever it held (one row), and the others take its shards
    cr_assert_eq (norc_store_schedule_release (s_db, 102), NORC_OK);
    cr_expect_eq (s_claim (103, now + 16 * NORC_US_PER_SEC, &epoch), 4);
    cr_expect_eq (epoch, 3);
    cr_expect_eq (s_owned (102), 0);
}

//  A scheduler takes only the shards that are free, and loads only theirs
Test (store_schedules, only_free_shards_are_claimed)
{
    uint64_t task = s_task ("T", "true");
    uint64_t queue = s_queue ("Q");
    uint64_t a = s_period_schedule (task, queue, 0);
    uint64_t b = s_period_schedule (task, queue, 0);
    char *sql = norc_asprintf ("UPDATE schedules SET shard = IF(id = %llu, 3, 700)", (unsigned long long) a);
    norc_test_db_exec (s_db, sql);
    free (sql);
    norc_us_t now = norc_now_us ();
    s_lease (101, now, now + 10 * NORC_US_PER_SEC);
    s_lease (102, now, now + 10 * NORC_US_PER_SEC);
    cr_expect_eq (s_claim (101, now, NULL), 2);
    //  Shard 700 left by its owner (as if never taken): only it is claimed
    norc_test_db_exec (s_db, "UPDATE schedule_shards SET owner = NULL WHERE shard = 700");
    norc_schedule_t *rows = NULL;
    size_t count = 0;
    cr_assert_eq (norc_store_schedule_claim (s_db, 102, now, &rows, &count), NORC_OK);
    cr_assert_eq (count, 1);
    cr_expect_eq (rows [0].id, b);
    cr_expect_eq (rows [0].shard, 700);
    cr_expect_eq (rows [0].lease_owner, 102);
    cr_expect_eq (rows [0].lease_epoch, 2);
    norc_schedule_clear (&rows [0]);
    free (rows);
    //  Read alone, each schedule names its shard's holder
    norc_schedule_t row = { 0 };
    cr_assert_eq (norc_store_schedule_get (s_db, a, &row), NORC_OK);
    cr_expect_eq (row.shard, 3);
    cr_expect_eq (row.lease_owner, 101);
    cr_expect_eq (row.lease_epoch, 1);
    norc_schedule_clear (&row);
    cr_expect_eq (s_owned (101), 1);
    cr_expect_eq (s_owned (102), 1);
}
