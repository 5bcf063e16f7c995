//  Integration tests: every store function against the real MariaDB,
//  including two processes racing for the same tick key and a stale
//  scheduler fenced off by the lease epoch.
#include <criterion/criterion.h>
#include <sys/wait.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_store.h"
#include "norc_log.h"
#include "norc_mem.h"

static char *s_url;
static norc_db_t *s_db;

static void
s_setup (void)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    s_url = norc_test_db_create ();
    s_db = norc_test_db_open (s_url);
}

static void
s_teardown (void)
{
    norc_db_destroy (&s_db);
    norc_test_db_drop (&s_url);
}

TestSuite (norc_store, .init = s_setup, .fini = s_teardown);

static const char *
s_cell (norc_rows_t *rows, size_t row, const char *key)
{
    cr_assert_lt (row, rows->count);
    const char *value = norc_strmap_get (&rows->rows [row], key);
    cr_assert_not_null (value, "no column %s", key);
    return value;
}

//  A start as the aggregator records it: a batch of one
static void
s_start (uint64_t id, uint64_t executor_id, norc_us_t started)
{
    norc_instance_t start = { .id = id, .executor_id = executor_id, .status = NORC_ST_RUNNING, .started = started };
    cr_assert_eq (norc_store_instance_apply (s_db, &start, 1, NULL), NORC_OK, "%s", norc_db_errstr (s_db));
}

//  The dispatch lease for holder, taken now for a minute: the fence of
//  its assignments
static norc_fence_t
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

static uint64_t
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

static uint64_t
s_queue (const char *name)
{
    uint64_t id = 0;
    cr_assert_eq (norc_store_queue_add (s_db, name, NORC_QUEUE_DB, &id), NORC_OK);
    return id;
}

static uint64_t
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

Test (norc_store, queues_and_groups_share_a_name_space)
{
    uint64_t q1 = s_queue ("Q1");
    s_queue ("Q2");
    s_queue ("Q3");
    uint64_t again;
    cr_expect_eq (norc_store_queue_add (s_db, "Q1", NORC_QUEUE_DB, &again), NORC_CONFLICT);
    norc_queue_t queue = { 0 };
    cr_assert_eq (norc_store_queue_get (s_db, "Q1", &queue), NORC_OK);
    cr_expect_eq (queue.id, q1);
    cr_expect_str_eq (queue.name, "Q1");
    cr_expect_eq (queue.kind, NORC_QUEUE_DB);
    cr_expect_eq (norc_store_queue_get (s_db, "nope", &queue), NORC_NOTFOUND);

    const char *members [] = { "Q3", "Q1", "Q2" };
    int priorities [] = { 3, 1, 2 };
    uint64_t group = 0;
    cr_assert_eq (norc_store_group_add (s_db, "G", members, priorities, 3, &group), NORC_OK,
                  "%s", norc_db_errstr (s_db));
    //  A queue may be in several groups
    const char *other [] = { "Q1" };
    int prio [] = { 5 };
    cr_expect_eq (norc_store_group_add (s_db, "H", other, prio, 1, NULL), NORC_OK);
    //  The group's name is taken for queues too, groups hold no groups,
    //  members must exist
    cr_expect_eq (norc_store_queue_add (s_db, "G", NORC_QUEUE_DB, NULL), NORC_CONFLICT);
    const char *nested [] = { "G" };
    cr_expect_eq (norc_store_group_add (s_db, "GG", nested, prio, 1, NULL), NORC_CONFLICT);
    const char *missing [] = { "Q9" };
    cr_expect_eq (norc_store_group_add (s_db, "GX", missing, prio, 1, NULL), NORC_NOTFOUND);
    cr_expect_eq (norc_store_queue_get (s_db, "GX", &queue), NORC_NOTFOUND, "rolled back");

    norc_rows_t rows = { 0 };
    cr_assert_eq (norc_store_group_members (s_db, "G", &rows), NORC_OK);
    cr_assert_eq (rows.count, 3);
    cr_expect_str_eq (s_cell (&rows, 0, "queue"), "Q1");
    cr_expect_str_eq (s_cell (&rows, 1, "queue"), "Q2");
    cr_expect_str_eq (s_cell (&rows, 2, "queue"), "Q3");
    cr_expect_str_eq (s_cell (&rows, 2, "priority"), "3");
    cr_expect_eq (norc_store_group_members (s_db, "nope", &rows), NORC_NOTFOUND);

    cr_assert_eq (norc_store_queue_list (s_db, 0, &rows), NORC_OK);
    cr_expect_eq (rows.count, 5);
    cr_expect_str_eq (s_cell (&rows, 0, "name"), "G");
    cr_expect_str_eq (s_cell (&rows, 0, "kind"), "group");
    cr_expect_str_eq (s_cell (&rows, 2, "waiting"), "0");

    //  A queue in use cannot be removed; an unused one can
    cr_expect_eq (norc_store_queue_rm (s_db, "Q2"), NORC_CONFLICT);
    s_queue ("Lonely");
    cr_expect_eq (norc_store_queue_rm (s_db, "Lonely"), NORC_OK);
    cr_expect_eq (norc_store_queue_rm (s_db, "Lonely"), NORC_NOTFOUND);
    norc_rows_clear (&rows);
    norc_queue_clear (&queue);
}

Test (norc_store, tasks_with_environment_and_soft_delete)
{
    norc_task_t task = { 0 };
    task.name = norc_strdup ("DemoTask");
    task.command = norc_strdup ("echo 'Demo successful!'");
    task.timeout_s = 30;
    task.cwd = norc_strdup ("/tmp");
    task.retry_max = 2;
    norc_strmap_set (&task.env, "GREETING", "hello");
    norc_strmap_set (&task.env, "EMPTY", "");
    cr_assert_eq (norc_store_task_add (s_db, &task), NORC_OK, "%s", norc_db_errstr (s_db));
    uint64_t id = task.id;
    cr_expect_neq (id, 0);
    cr_expect_eq (norc_store_task_add (s_db, &task), NORC_CONFLICT);
    norc_task_clear (&task);

    norc_task_t got = { 0 };
    cr_assert_eq (norc_store_task_get (s_db, "DemoTask", &got), NORC_OK);
    cr_expect_eq (got.id, id);
    cr_expect_str_eq (got.command, "echo 'Demo successful!'");
    cr_expect_eq (got.kind, NORC_TASK_COMMAND);
    cr_expect_eq (got.timeout_s, 30);
    cr_expect_str_eq (got.cwd, "/tmp");
    cr_expect_eq (got.retry_max, 2);
    cr_expect_eq (got.retry_backoff_s, 10);
    cr_expect_eq (got.env.count, 2);
    cr_expect_str_eq (norc_strmap_get (&got.env, "GREETING"), "hello");
    cr_expect_str_eq (norc_strmap_get (&got.env, "EMPTY"), "");
    char byid [32];
    snprintf (byid, sizeof byid, "#%llu", (unsigned long long) id);
    cr_assert_eq (norc_store_task_get (s_db, byid, &got), NORC_OK);
    cr_expect_str_eq (got.name, "DemoTask");
    cr_expect_eq (norc_store_task_get (s_db, "Other", &got), NORC_NOTFOUND);

    norc_rows_t rows = { 0 };
    cr_assert_eq (norc_store_task_list (s_db, &rows), NORC_OK);
    cr_expect_eq (rows.count, 1);
    cr_expect_str_eq (s_cell (&rows, 0, "kind"), "command");
    cr_expect_str_eq (s_cell (&rows, 0, "instances"), "0");

    //  In use by a schedule: refused; then the name is free again
    uint64_t queue = s_queue ("DemoQueue");
    uint64_t schedule = s_period_schedule (id, queue, 5);
    cr_expect_eq (norc_store_task_rm (s_db, "DemoTask"), NORC_CONFLICT);
    cr_assert_eq (norc_store_schedule_delete (s_db, schedule, "test"), NORC_OK);
    cr_expect_eq (norc_store_task_rm (s_db, "DemoTask"), NORC_OK);
    cr_expect_eq (norc_store_task_rm (s_db, "DemoTask"), NORC_NOTFOUND);
    cr_expect_eq (norc_store_task_get (s_db, "DemoTask", &got), NORC_NOTFOUND);
    cr_assert_eq (norc_store_task_get (s_db, byid, &got), NORC_OK);
    cr_expect_neq (got.deleted_at, 0);
    cr_assert_eq (norc_store_task_list (s_db, &rows), NORC_OK);
    cr_expect_eq (rows.count, 0);
    s_task ("DemoTask", "true");
    norc_rows_clear (&rows);
    norc_task_clear (&got);
}

Test (norc_store, schedules_add_get_list_pause_delete)
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
    cr_assert_eq (norc_store_schedule_list (s_db, false, &rows), NORC_OK);
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
    cr_assert_eq (norc_store_schedule_list (s_db, false, &rows), NORC_OK);
    cr_expect_eq (rows.count, 0);
    cr_assert_eq (norc_store_schedule_list (s_db, true, &rows), NORC_OK);
    cr_expect_eq (rows.count, 1);
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

Test (norc_store, leases_claim_renew_release_and_expire)
{
    uint64_t task = s_task ("T", "true");
    uint64_t queue = s_queue ("Q");
    for (int i = 0; i < 3; i++)
        s_period_schedule (task, queue, 0);
    uint64_t finished = s_period_schedule (task, queue, 1);
    norc_test_db_exec (s_db, "UPDATE schedules SET remaining = 0 WHERE repetitions = 1");
    norc_us_t now = norc_now_us ();
    int claimed = 0;
    cr_assert_eq (norc_store_schedule_claim (s_db, 101, now, now + 10 * NORC_US_PER_SEC, 2, &claimed), NORC_OK);
    cr_expect_eq (claimed, 2, "limit respected");
    cr_assert_eq (norc_store_schedule_claim (s_db, 102, now, now + 10 * NORC_US_PER_SEC, 10, &claimed), NORC_OK);
    cr_expect_eq (claimed, 1, "only the free one; the finished schedule is not claimed");
    cr_assert_eq (norc_store_schedule_claim (s_db, 102, now, now + 10 * NORC_US_PER_SEC, 10, &claimed), NORC_OK);
    cr_expect_eq (claimed, 0);

    norc_schedule_t *owned = NULL;
    size_t count = 0;
    cr_assert_eq (norc_store_schedule_owned (s_db, 101, &owned, &count), NORC_OK);
    cr_expect_eq (count, 2);
    cr_expect_eq (owned [0].lease_owner, 101);
    cr_expect_eq (owned [0].lease_epoch, 1);
    cr_expect_neq (owned [0].id, finished);
    for (size_t i = 0; i < count; i++)
        norc_schedule_clear (&owned [i]);
    free (owned);

    int renewed = 0;
    cr_assert_eq (norc_store_schedule_renew (s_db, 101, now + 20 * NORC_US_PER_SEC, &renewed), NORC_OK);
    cr_expect_eq (renewed, 2);
    //  102's lease expires: 101 takes it over, with a new epoch
    cr_assert_eq (norc_store_schedule_claim (s_db, 101, now + 15 * NORC_US_PER_SEC,
                                             now + 30 * NORC_US_PER_SEC, 10, &claimed), NORC_OK);
    cr_expect_eq (claimed, 1);
    cr_assert_eq (norc_store_schedule_owned (s_db, 101, &owned, &count), NORC_OK);
    cr_expect_eq (count, 3);
    cr_expect_eq (owned [2].lease_epoch, 2);
    for (size_t i = 0; i < count; i++)
        norc_schedule_clear (&owned [i]);
    free (owned);
    int released = 0;
    cr_assert_eq (norc_store_schedule_release (s_db, 101, &released), NORC_OK);
    cr_expect_eq (released, 3);
    cr_assert_eq (norc_store_schedule_owned (s_db, 101, &owned, &count), NORC_OK);
    cr_expect_eq (count, 0);
    free (owned);
}

static norc_tick_fire_t
s_claim_one (uint64_t owner, uint64_t *schedule_out)
{
    uint64_t task = s_task ("T", "true");
    uint64_t queue = s_queue ("Q");
    uint64_t schedule = s_period_schedule (task, queue, 5);
    norc_us_t now = norc_now_us ();
    int claimed = 0;
    cr_assert_eq (norc_store_schedule_claim (s_db, owner, now, now + 60 * NORC_US_PER_SEC, 10, &claimed), NORC_OK);
    cr_assert_eq (claimed, 1);
    norc_schedule_t s = { 0 };
    cr_assert_eq (norc_store_schedule_get (s_db, schedule, &s), NORC_OK);
    norc_tick_fire_t tick = { .schedule_id = schedule, .owner = owner, .epoch = s.lease_epoch,
                              .nominal = INT64_C (1777636800000000),
                              .next_nominal = INT64_C (1777636805000000), .remaining = 4 };
    norc_schedule_clear (&s);
    if (schedule_out)
        *schedule_out = schedule;
    return tick;
}

Test (norc_store, tick_fire_writes_instance_and_advances_schedule)
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
    norc_instance_clear (&inst);
    norc_schedule_clear (&s);
}

//  Two processes, two connections, one tick key: exactly one instance.
Test (norc_store, two_connections_race_for_one_tick_key)
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

Test (norc_store, skipped_and_missed_ticks_and_history)
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

Test (norc_store, instance_lifecycle_is_idempotent)
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

Test (norc_store, batched_apply_and_reports)
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
Test (norc_store, a_retry_follows_the_reason_code_not_the_text)
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

Test (norc_store, daemons_heartbeat_die_and_get_handled)
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
    cr_assert_eq (norc_store_daemon_heartbeat (s_db, sched.id, NORC_ST_PAUSED, now), NORC_OK);
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
    cr_expect_eq (norc_store_daemon_heartbeat (s_db, exec.id, NORC_ST_RUNNING, now), NORC_CONFLICT);
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

Test (norc_store, control_requests_are_stored_and_marked)
{
    norc_daemon_t exec = { .kind = NORC_DAEMON_EXECUTOR, .host = (char *) "h", .pid = 1 };
    cr_assert_eq (norc_store_daemon_register (s_db, &exec), NORC_OK);
    uint64_t r1, r2;
    cr_assert_eq (norc_store_control_add (s_db, exec.id, NORC_REQ_PAUSE, "alice", &r1), NORC_OK);
    cr_assert_eq (norc_store_control_add (s_db, exec.id, NORC_REQ_STOP, "bob", &r2), NORC_OK);
    cr_expect_eq (norc_store_control_add (s_db, 999, NORC_REQ_STOP, "bob", &r2), NORC_NOTFOUND);
    norc_rows_t rows = { 0 };
    cr_assert_eq (norc_store_control_pending (s_db, exec.id, &rows), NORC_OK);
    cr_assert_eq (rows.count, 2);
    cr_expect_str_eq (s_cell (&rows, 0, "request"), "7");
    cr_expect_str_eq (s_cell (&rows, 0, "requested_by"), "alice");
    cr_assert_eq (norc_store_control_mark (s_db, r1, NORC_CONTROL_DELIVERED, NULL), NORC_OK);
    cr_assert_eq (norc_store_control_pending (s_db, exec.id, &rows), NORC_OK);
    cr_expect_eq (rows.count, 2, "delivered but not answered is still pending");
    cr_assert_eq (norc_store_control_mark (s_db, r1, NORC_CONTROL_DONE, NULL), NORC_OK);
    cr_assert_eq (norc_store_control_mark (s_db, r2, NORC_CONTROL_REFUSED, "not paused"), NORC_OK);
    cr_assert_eq (norc_store_control_pending (s_db, exec.id, &rows), NORC_OK);
    cr_expect_eq (rows.count, 0);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM control_requests "
                                          "WHERE done_at IS NOT NULL AND delivered_at IS NOT NULL"), 1);
    cr_expect_eq (norc_store_control_mark (s_db, 999, NORC_CONTROL_DONE, NULL), NORC_NOTFOUND);
    norc_rows_clear (&rows);
}

Test (norc_store, tick_batch_writes_each_tick_and_reports_each_outcome)
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

Test (norc_store, assign_batch_records_each_assignment)
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
Test (norc_store, assignments_are_fenced_by_the_dispatch_lease)
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

Test (norc_store, named_lease_has_one_holder_and_an_epoch)
{
    norc_us_t now = norc_now_us ();
    norc_us_t later = now + 10 * NORC_US_PER_SEC;
    bool held = false;
    uint64_t epoch = 0;
    cr_assert_eq (norc_store_lease_acquire (s_db, "dispatch", 1, now, later, &held, &epoch), NORC_OK);
    cr_expect (held);
    cr_expect_eq (epoch, 1);
    //  Held and not expired: the second daemon does not get it
    cr_assert_eq (norc_store_lease_acquire (s_db, "dispatch", 2, now, later, &held, &epoch), NORC_OK);
    cr_expect_not (held);
    //  The holder renews without a new epoch
    cr_assert_eq (norc_store_lease_acquire (s_db, "dispatch", 1, now, later, &held, &epoch), NORC_OK);
    cr_expect (held);
    cr_expect_eq (epoch, 1);
    //  Expired: the second takes it with a new epoch, and the first has lost it
    norc_us_t after = later + NORC_US_PER_SEC;
    cr_assert_eq (norc_store_lease_acquire (s_db, "dispatch", 2, after, after + later - now, &held, &epoch),
                  NORC_OK);
    cr_expect (held);
    cr_expect_eq (epoch, 2);
    cr_assert_eq (norc_store_lease_acquire (s_db, "dispatch", 1, after, after + 1, &held, &epoch), NORC_OK);
    cr_expect_not (held);
    //  Release by a non-holder changes nothing; by the holder frees it at once
    cr_assert_eq (norc_store_lease_release (s_db, "dispatch", 1), NORC_OK);
    cr_assert_eq (norc_store_lease_acquire (s_db, "dispatch", 1, after, after + 1, &held, &epoch), NORC_OK);
    cr_expect_not (held);
    cr_assert_eq (norc_store_lease_release (s_db, "dispatch", 2), NORC_OK);
    cr_assert_eq (norc_store_lease_acquire (s_db, "dispatch", 1, after, after + 1, &held, &epoch), NORC_OK);
    cr_expect (held);
    cr_expect_eq (epoch, 3);
    //  Another name is independent
    cr_assert_eq (norc_store_lease_acquire (s_db, "other", 2, now, later, &held, &epoch), NORC_OK);
    cr_expect (held);
    cr_expect_eq (epoch, 1);
}

//  --------------------------------------------------------------------------
//  Jobs

//  The original's six-node graph, node i running task Ti
static uint64_t
s_six_node_job (const char *name, int timeout_s)
{
    static const norc_dag_edge_t edges [] = {
        { 0, 2 }, { 0, 3 }, { 1, 4 }, { 2, 3 }, { 2, 5 }, { 3, 5 }, { 4, 5 }
    };
    norc_job_graph_t graph = { 0 };
    graph.node_count = 6;
    graph.nodes = (norc_job_node_t *) norc_calloc (6, sizeof (norc_job_node_t));
    for (int n = 0; n < 6; n++) {
        char task [64];
        snprintf (task, sizeof task, "%s-T%d", name, n);
        graph.nodes [n].task_id = s_task (task, "true");
        graph.nodes [n].name = norc_asprintf ("n%d", n);
    }
    graph.edges = (norc_dag_edge_t *) norc_calloc (7, sizeof (norc_dag_edge_t));
    memcpy (graph.edges, edges, sizeof edges);
    graph.edge_count = 7;
    norc_task_t job = { 0 };
    job.name = norc_strdup (name);
    job.timeout_s = timeout_s;
    cr_assert_eq (norc_store_job_add (s_db, &job, &graph), NORC_OK, "%s", norc_db_errstr (s_db));
    uint64_t id = job.id;
    norc_task_clear (&job);
    norc_job_graph_clear (&graph);
    //  Read back
    cr_assert_eq (norc_store_job_get (s_db, id, &graph), NORC_OK);
    cr_expect_eq (graph.node_count, 6);
    cr_expect_eq (graph.edge_count, 7);
    cr_expect_str_eq (graph.nodes [5].name, "n5");
    norc_job_graph_clear (&graph);
    return id;
}

//  The nodes (by name digit) among a step's created instances, as a bit set
static unsigned
s_created_nodes (uint64_t job_task, const norc_job_step_t *step)
{
    norc_job_graph_t graph = { 0 };
    cr_assert_eq (norc_store_job_get (s_db, job_task, &graph), NORC_OK);
    unsigned set = 0;
    for (size_t i = 0; i < step->created_count; i++)
        for (size_t n = 0; n < graph.node_count; n++)
            if (graph.nodes [n].id == step->created [i].job_node_id)
                set |= 1u << (graph.nodes [n].name [1] - '0');
    norc_job_graph_clear (&graph);
    return set;
}

static void
s_end (uint64_t id, int status)
{
    norc_instance_t end = { .id = id, .status = status, .executor_id = 0, .has_exit = true,
                            .exit_code = status == NORC_ST_SUCCESS ? 0 : 1 };
    cr_assert_eq (norc_store_instance_apply (s_db, &end, 1, NULL), NORC_OK);
}

Test (norc_store, a_job_run_releases_the_original_ready_sets_in_order)
{
    uint64_t job = s_six_node_job ("Six", 0);
    uint64_t q = s_queue ("Q");
    uint64_t run = 0;
    cr_assert_eq (norc_store_instance_manual (s_db, job, q, &run), NORC_OK);
    norc_instance_t inst = { 0 };
    cr_assert_eq (norc_store_instance_get (s_db, run, &inst), NORC_OK);
    cr_expect_eq (inst.task_kind, NORC_TASK_JOB);
    norc_instance_clear (&inst);

    norc_job_step_t step = { 0 };
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect (step.started);
    cr_expect_eq (step.status, NORC_ST_RUNNING);
    cr_expect_eq (s_created_nodes (job, &step), 0x03, "{0, 1}");
    cr_expect_str_eq (step.created [0].queue, "Q");
    uint64_t first [2] = { step.created [0].id, step.created [1].id };
    norc_job_step_clear (&step);
    //  Again: nothing new (safe to repeat)
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_not (step.started);
    cr_expect_eq (step.created_count, 0);
    cr_expect_eq (step.active_count, 2);
    norc_job_step_clear (&step);

    s_end (first [0], NORC_ST_SUCCESS);
    s_end (first [1], NORC_ST_SUCCESS);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (s_created_nodes (job, &step), (1u << 2) | (1u << 4), "{2, 4}");
    for (size_t i = 0; i < step.created_count; i++)
        s_end (step.created [i].id, NORC_ST_SUCCESS);
    norc_job_step_clear (&step);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (s_created_nodes (job, &step), 1u << 3, "{3}");
    s_end (step.created [0].id, NORC_ST_SUCCESS);
    norc_job_step_clear (&step);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (s_created_nodes (job, &step), 1u << 5, "{5}");
    cr_expect_not (step.ended);
    s_end (step.created [0].id, NORC_ST_SUCCESS);
    norc_job_step_clear (&step);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect (step.ended);
    cr_expect_eq (step.status, NORC_ST_SUCCESS);
    norc_job_step_clear (&step);
    cr_assert_eq (norc_store_instance_get (s_db, run, &inst), NORC_OK);
    cr_expect_eq (inst.status, NORC_ST_SUCCESS);
    cr_expect_neq (inst.ended, 0);
    norc_instance_clear (&inst);
    //  Not a job: refused
    cr_expect_eq (norc_store_job_advance (s_db, first [0], 0, &step), NORC_CONFLICT);
    cr_expect_eq (norc_store_job_advance (s_db, 999999, 0, &step), NORC_NOTFOUND);
}

Test (norc_store, a_failed_node_skips_its_downstream_and_fails_the_job)
{
    uint64_t job = s_six_node_job ("Six", 0);
    uint64_t q = s_queue ("Q");
    uint64_t run = 0;
    cr_assert_eq (norc_store_instance_manual (s_db, job, q, &run), NORC_OK);
    norc_job_step_t step = { 0 };
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    uint64_t n0 = step.created [0].id, n1 = step.created [1].id;
    norc_job_step_clear (&step);
    //  n0 fails while n1 still runs: 2, 3 and 5 are skipped, 4 waits for n1
    s_end (n0, NORC_ST_FAILURE);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (step.created_count, 0);
    cr_expect_eq (step.closed_count, 3);
    for (size_t i = 0; i < step.closed_count; i++) {
        cr_expect_eq (step.closed [i].status, NORC_ST_SKIPPED);
        cr_expect (strstr (step.closed [i].reason, "upstream node"), "%s", step.closed [i].reason);
    }
    cr_expect_not (step.ended);
    norc_job_step_clear (&step);
    s_end (n1, NORC_ST_SUCCESS);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (s_created_nodes (job, &step), 1u << 4, "the independent branch goes on");
    s_end (step.created [0].id, NORC_ST_SUCCESS);
    norc_job_step_clear (&step);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect (step.ended);
    cr_expect_eq (step.status, NORC_ST_FAILURE);
    cr_expect_str_eq (step.reason, "1 of 6 nodes failed: n0");
    norc_job_step_clear (&step);
}

Test (norc_store, an_ended_job_stops_what_is_left_of_it)
{
    uint64_t job = s_six_node_job ("Six", 5);
    uint64_t q = s_queue ("Q");
    uint64_t run = 0, exec = 0;
    cr_assert_eq (norc_store_instance_manual (s_db, job, q, &run), NORC_OK);
    norc_daemon_t d = { .kind = NORC_DAEMON_EXECUTOR, .host = "h", .pid = 1 };
    cr_assert_eq (norc_store_daemon_register (s_db, &d), NORC_OK);
    exec = d.id;
    norc_job_step_t step = { 0 };
    norc_us_t t0 = norc_now_us ();
    cr_assert_eq (norc_store_job_advance (s_db, run, t0, &step), NORC_OK);
    cr_expect_eq (step.timeout_s, 5);
    uint64_t n0 = step.created [0].id, n1 = step.created [1].id;
    norc_job_step_clear (&step);
    //  n0 runs on an executor, n1 still waits
    s_start (n0, exec, 0);
    cr_assert_eq (norc_store_job_advance (s_db, run, t0 + 4 * NORC_US_PER_SEC, &step), NORC_OK);
    cr_expect_not (step.ended, "not yet");
    norc_job_step_clear (&step);
    cr_assert_eq (norc_store_job_advance (s_db, run, t0 + 6 * NORC_US_PER_SEC, &step), NORC_OK);
    cr_expect (step.ended);
    cr_expect_eq (step.status, NORC_ST_TIMEDOUT);
    cr_expect_str_eq (step.reason, "the job timed out after 5 s");
    cr_expect_eq (step.stop_count, 1);
    cr_expect_eq (step.stop [0], n0, "the running node is to be stopped");
    cr_expect_eq (step.closed_count, 5, "n1 killed before it started, four nodes skipped");
    size_t killed = 0;
    for (size_t i = 0; i < step.closed_count; i++)
        if (step.closed [i].status == NORC_ST_KILLED) {
            cr_expect_eq (step.closed [i].id, n1);
            killed++;
        }
    cr_expect_eq (killed, 1);
    norc_job_step_clear (&step);
    //  Later steps change nothing but still name the node to stop
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_not (step.ended);
    cr_expect_eq (step.closed_count, 0);
    cr_expect_eq (step.stop_count, 1);
    norc_job_step_clear (&step);
    uint64_t *ids = NULL;
    size_t count = 0;
    cr_assert_eq (norc_store_job_running (s_db, &ids, &count), NORC_OK);
    cr_expect_eq (count, 0);
    free (ids);
}

Test (norc_store, a_retried_node_keeps_its_job_waiting)
{
    //  r (one retry allowed) -> after
    norc_job_graph_t graph = { 0 };
    graph.node_count = 2;
    graph.nodes = (norc_job_node_t *) norc_calloc (2, sizeof (norc_job_node_t));
    graph.nodes [0].name = norc_strdup ("r");
    graph.nodes [0].task_id = s_task ("Retried", "false");
    graph.nodes [1].name = norc_strdup ("after");
    graph.nodes [1].task_id = s_task ("After", "true");
    graph.edges = (norc_dag_edge_t *) norc_calloc (1, sizeof (norc_dag_edge_t));
    graph.edges [0].parent = 0;
    graph.edges [0].child = 1;
    graph.edge_count = 1;
    norc_task_t job = { 0 };
    job.name = norc_strdup ("J");
    cr_assert_eq (norc_store_job_add (s_db, &job, &graph), NORC_OK, "%s", norc_db_errstr (s_db));
    norc_job_graph_clear (&graph);
    uint64_t q = s_queue ("Q");
    uint64_t run = 0;
    cr_assert_eq (norc_store_instance_manual (s_db, job.id, q, &run), NORC_OK);
    norc_task_clear (&job);
    norc_job_step_t step = { 0 };
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_assert_eq (step.created_count, 1);
    uint64_t r1 = step.created [0].id;
    norc_job_step_clear (&step);
    uint64_t *ids = NULL;
    size_t count = 0;
    cr_assert_eq (norc_store_job_running (s_db, &ids, &count), NORC_OK);
    cr_expect_eq (count, 1);
    cr_expect_eq (ids [0], run);
    free (ids);
    //  r fails; its retry belongs to the same run and node
    s_end (r1, NORC_ST_FAILURE);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (step.closed_count, 0, "nothing skipped while a retry waits");
    cr_expect_not (step.ended);
    cr_assert_eq (step.active_count, 1);
    uint64_t r2 = step.active [0];
    cr_expect_neq (r2, r1);
    norc_job_step_clear (&step);
    norc_instance_t inst = { 0 };
    cr_assert_eq (norc_store_instance_get (s_db, r2, &inst), NORC_OK);
    cr_expect_eq (inst.attempt, 2);
    cr_expect_eq (inst.job_instance_id, run);
    cr_expect_eq (inst.retry_of, r1);
    norc_instance_clear (&inst);
    s_end (r2, NORC_ST_SUCCESS);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (step.created_count, 1, "the retry succeeded: after runs");
    norc_job_step_clear (&step);
}

//  Ticks that fire nothing are recorded as runs: consecutive ones of a
//  schedule with the same outcome and reason are one row, within a batch
//  and across batches; a fire or another reason starts a new row; a retried
//  batch counts nothing twice.
Test (norc_store, skipped_ticks_are_recorded_as_runs)
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
