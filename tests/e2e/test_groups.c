//  End to end: queue groups. The original's priority test: 10 instances
//  each in Q3, Q2 and Q1 (pushed in that order), one executor serving the
//  group runs Q1's, then Q2's, then Q3's, FIFO within each queue.
#include <criterion/criterion.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"

NORC_TEST_E2E_SUITE (groups, 120);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

Test (groups, highest_priority_queue_first_fifo_within)
{
    OK ("queue", "add", "Q1");
    OK ("queue", "add", "Q2");
    OK ("queue", "add", "Q3");
    OK ("group", "add", "G", "Q1:1", "Q2:2", "Q3:3");
    OK ("task", "add", "T", "--command", "true");
    const char *queues [] = { "Q3", "Q2", "Q1" };
    for (int q = 0; q < 3; q++)
        for (int i = 0; i < 10; i++)
            OK ("run", "T", "--queue", queues [q]);
    //  A group is served, never pushed to
    char *out, *err;
    cr_expect_eq (norc_test_system_ctl (s_sys, &out, &err, "run", "T", "--queue", "G", NULL), 1);
    cr_expect_not_null (strstr (err, "group"), "%s", err);
    free (out);
    free (err);
    const char *args [] = { "G", "-c", "1", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 30, 30000);
    //  The order they ran in: by start time (one slot: one at a time)
    norc_stmt_t *st = norc_db_stmt (s_db, "SELECT q.name, i.id FROM instances i JOIN queues q ON q.id = i.queue_id "
                                          "ORDER BY i.started_at, i.id");
    cr_assert_eq (norc_stmt_exec (st), NORC_OK);
    const char *want [] = { "Q1", "Q2", "Q3" };
    uint64_t last_id = 0;
    for (int n = 0; n < 30; n++) {
        cr_assert_eq (norc_stmt_fetch (st), NORC_OK);
        const char *queue = norc_stmt_str (st, 0);
        uint64_t id = norc_stmt_u64 (st, 1);
        cr_expect_str_eq (queue, want [n / 10], "run %d came from %s", n + 1, queue);
        if (n % 10)
            cr_expect_gt (id, last_id, "FIFO within %s", queue);
        last_id = id;
    }
}
