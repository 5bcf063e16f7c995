//  store_fixture.h - what the store's integration tests share: a database
//  of their own per test (created and dropped), and helpers that make the
//  record's usual rows. Each test file is one concept of the store
//  (common/store/store_<concept>.c) against the real MariaDB.
#ifndef STORE_FIXTURE_H_INCLUDED
#define STORE_FIXTURE_H_INCLUDED
#include <criterion/criterion.h>
#include <sys/wait.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_store.h"
#include "norc_log.h"
#include "norc_mem.h"

static char *s_url;
static norc_db_t *s_db;

static inline void
s_setup (void)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    s_url = norc_test_db_create ();
    s_db = norc_test_db_open (s_url);
}

static inline void
s_teardown (void)
{
    norc_db_destroy (&s_db);
    norc_test_db_drop (&s_url);
}

static inline const char *
s_cell (norc_rows_t *rows, size_t row, const char *key)
{
    cr_assert_lt (row, rows->count);
    const char *value = norc_strmap_get (&rows->rows [row], key);
    cr_assert_not_null (value, "no column %s", key);
    return value;
}

//  A start as the aggregator records it: a batch of one
static inline void
s_start (uint64_t id, uint64_t executor_id, norc_us_t started)
{
    norc_instance_t start = { .id = id, .executor_id = executor_id, .status = NORC_ST_RUNNING, .started = started };
    cr_assert_eq (norc_store_instance_apply (s_db, &start, 1, NULL), NORC_OK, "%s", norc_db_errstr (s_db));
}

//  The dispatch lease for holder, taken now for a minute: the fence of
//  its assignments
static inline norc_fence_t
s_fence (uint64_t holder)
{
    bool held = false;
    uint64_t epoch = 0;
    norc_us_t now = norc_now_us ();
    cr_assert_eq (norc_store_lease_acquire (s_db, "dispatch", holder, now, now + 60 * NORC_US_PER_SEC, &held, &epoch),
                  NORC_OK, "%s", norc_db_errstr (s_db));
    cr_assert (held);
    return (norc_fence_t) { holder, epoch };
}

static inline uint64_t
s_task (const char *name, const char *command)
{
    norc_task_t task = { 0 };
    task.name = norc_strdup (name);
    task.command = norc_strdup (command);
    task.retry_max = strcmp (name, "Retried") == 0 ? 1 : 0;
    int rc = norc_store_task_add (s_db, &task);
    cr_assert_eq (rc, NORC_OK, "%s", norc_db_errstr (s_db));
    uint64_t id = task.id;
    norc_task_clear (&task);
    return id;
}

static inline uint64_t
s_queue (const char *name)
{
    uint64_t id = 0;
    cr_assert_eq (norc_store_queue_add (s_db, name, NORC_QUEUE_DB, NULL, &id), NORC_OK);
    return id;
}

static inline uint64_t
s_period_schedule (uint64_t task_id, uint64_t queue_id, int64_t reps)
{
    norc_schedule_t s = { 0 };
    s.task_id = task_id;
    s.queue_id = queue_id;
    s.kind = NORC_SCHED_PERIOD;
    s.start = norc_now_us ();
    s.period_s = 5;
    s.repetitions = reps;
    cr_assert_eq (norc_store_schedule_add (s_db, &s), NORC_OK, "%s", norc_db_errstr (s_db));
    cr_expect_eq (s.remaining, reps);
    return s.id;
}

//  A schedule claimed by owner, and its first tick ready to fire
static inline norc_tick_fire_t
s_claim_one (uint64_t owner, uint64_t *schedule_out)
{
    uint64_t task = s_task ("T", "true");
    uint64_t queue = s_queue ("Q");
    uint64_t schedule = s_period_schedule (task, queue, 5);
    norc_us_t now = norc_now_us ();
    cr_assert_eq (norc_store_scheduler_lease (s_db, owner, now, now + 60 * NORC_US_PER_SEC, NULL), NORC_OK);
    norc_schedule_t *rows = NULL;
    size_t claimed = 0;
    cr_assert_eq (norc_store_schedule_claim (s_db, owner, now, &rows, &claimed), NORC_OK);
    cr_assert_eq (claimed, 1);
    norc_schedule_clear (&rows [0]);
    free (rows);
    norc_schedule_t s = { 0 };
    cr_assert_eq (norc_store_schedule_get (s_db, schedule, &s), NORC_OK);
    norc_tick_fire_t tick = { .schedule_id = schedule, .shard = s.shard, .owner = owner, .epoch = s.lease_epoch,
                              .nominal = INT64_C (1777636800000000),
                              .next_nominal = INT64_C (1777636805000000), .remaining = 4 };
    norc_schedule_clear (&s);
    if (schedule_out)
        *schedule_out = schedule;
    return tick;
}

#endif
