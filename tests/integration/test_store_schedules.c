//  Integration tests of the store's schedules and the leases schedulers hold on them, against the real MariaDB.
#include "store_fixture.h"

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

//  Claim up to limit; the rows taken come back (freed here); their count
static size_t
s_claim (uint64_t owner, norc_us_t now, int limit, uint64_t *first_epoch)
{
    norc_schedule_t *rows = NULL;
    size_t count = 0;
    cr_assert_eq (norc_store_schedule_claim (s_db, owner, now, limit, &rows, &count), NORC_OK, "%s",
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

Test (store_schedules, leases_one_per_scheduler_claim_expire_and_release)
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
    uint64_t epoch = 0;
    cr_expect_eq (s_claim (101, now, 2, &epoch), 2, "limit respected");
    cr_expect_eq (epoch, 1);
    cr_expect_eq (s_claim (102, now, 10, NULL), 1, "only the free one; the finished schedule is not claimed");
    cr_expect_eq (s_claim (102, now, 10, NULL), 0);
    cr_expect_eq (s_claim (103, now, 10, NULL), 0, "the owners' leases are live: nothing is free");

    norc_schedule_t *owned = NULL;
    size_t count = 0;
    cr_assert_eq (norc_store_schedule_owned (s_db, 101, &owned, &count), NORC_OK);
    cr_expect_eq (count, 2);
    cr_expect_eq (owned [0].lease_owner, 101);
    cr_expect_neq (owned [0].id, finished);
    uint64_t paused = owned [1].id;
    for (size_t i = 0; i < count; i++)
        norc_schedule_clear (&owned [i]);
    free (owned);

    //  A pause is found among the changes to what 101 holds
    cr_assert_eq (norc_store_schedule_set_paused (s_db, paused, true), NORC_OK);
    uint64_t *ids = NULL;
    cr_assert_eq (norc_store_schedule_changed (s_db, 101, now - 60 * NORC_US_PER_SEC, &ids, &count), NORC_OK);
    cr_expect_eq (count, 1);
    cr_expect_eq (count ? ids [0] : 0, paused);
    free (ids);
    cr_assert_eq (norc_store_schedule_changed (s_db, 102, now - 60 * NORC_US_PER_SEC, &ids, &count), NORC_OK);
    cr_expect_eq (count, 0);
    free (ids);

    //  101 renews; 102's lease expires: 101 takes its schedule over, with a
    //  new epoch, and 102's lease row goes (nothing is left under it)
    cr_expect (s_lease (101, now + 5 * NORC_US_PER_SEC, now + 30 * NORC_US_PER_SEC));
    cr_expect_eq (s_claim (101, now + 15 * NORC_US_PER_SEC, 10, &epoch), 1);
    cr_expect_eq (epoch, 2);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM scheduler_leases WHERE owner = 102"), 0);
    cr_expect_not (s_lease (102, now + 15 * NORC_US_PER_SEC, now + 40 * NORC_US_PER_SEC),
                   "102 comes back: its lease had expired (it reads what it holds again: nothing)");
    cr_assert_eq (norc_store_schedule_owned (s_db, 102, &owned, &count), NORC_OK);
    cr_expect_eq (count, 0);
    free (owned);
    //  101 ends: its lease ends at once, whatever it held (one row), and the others take its schedules
    cr_assert_eq (norc_store_schedule_release (s_db, 101), NORC_OK);
    cr_expect_eq (s_claim (103, now + 16 * NORC_US_PER_SEC, 10, &epoch), 3);
    cr_assert_eq (norc_store_schedule_owned (s_db, 101, &owned, &count), NORC_OK);
    cr_expect_eq (count, 0);
    free (owned);
}

//  A new schedule is claimed alone, and read in the same transaction
Test (store_schedules, one_schedule_is_claimed_alone)
{
    uint64_t task = s_task ("T", "true");
    uint64_t queue = s_queue ("Q");
    uint64_t other = s_period_schedule (task, queue, 0);
    uint64_t fresh = s_period_schedule (task, queue, 0);
    norc_us_t now = norc_now_us ();
    norc_schedule_t row = { 0 };
    s_lease (101, now, now + 10 * NORC_US_PER_SEC);
    cr_assert_eq (norc_store_schedule_claim_one (s_db, 101, fresh, now, &row), NORC_OK,
                  "%s", norc_db_errstr (s_db));
    cr_expect_eq (row.id, fresh);
    cr_expect_eq (row.lease_owner, 101);
    cr_expect_eq (row.lease_epoch, 1);
    cr_expect_eq (row.period_s, 5);
    norc_schedule_clear (&row);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM schedules WHERE lease_owner IS NOT NULL"), 1,
                  "only that one (schedule %llu is left alone)", (unsigned long long) other);
    cr_expect_eq (norc_store_schedule_claim_one (s_db, 102, fresh, now, &row),
                  NORC_CONFLICT, "held by another");
    cr_expect_eq (norc_store_schedule_claim_one (s_db, 102, 9999, now, &row),
                  NORC_CONFLICT, "no such schedule");
    cr_assert_eq (norc_store_schedule_delete (s_db, other, "gone"), NORC_OK);
    cr_expect_eq (norc_store_schedule_claim_one (s_db, 102, other, now, &row),
                  NORC_CONFLICT, "deleted");
    //  Past the lease, another takes it over with a new epoch
    cr_assert_eq (norc_store_schedule_claim_one (s_db, 102, fresh, now + 11 * NORC_US_PER_SEC, &row), NORC_OK);
    cr_expect_eq (row.lease_epoch, 2);
    norc_schedule_clear (&row);
}
