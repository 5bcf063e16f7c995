//  Integration tests of the store's tasks, against the real MariaDB.
#include "store_fixture.h"

TestSuite (store_tasks, .init = s_setup, .fini = s_teardown);

Test (store_tasks, tasks_with_environment_and_soft_delete)
{
    norc_task_t task = { 0 };
    task.name = norc_strdup ("DemoTask");
    task.command = norc_strdup ("echo 'Demo successful!'");
    task.timeout_s = 30;
    task.cwd = norc_strdup ("/tmp");
    task.retry_max = 2;
    norc_strmap_set (&task.env, "GREETING", "hello");
    norc_strmap_set (&task.env, "EMPTY", "");
    norc_strmap_set (&task.env, "TOKEN", "s3cret");
    norc_strmap_set (&task.secret, "TOKEN", "1");
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
    cr_expect_eq (got.env.count, 3);
    cr_expect_str_eq (norc_strmap_get (&got.env, "GREETING"), "hello");
    cr_expect_str_eq (norc_strmap_get (&got.env, "TOKEN"), "s3cret", "the task gets the value");
    cr_expect_eq (got.secret.count, 1, "and knows it is secret");
    cr_expect_not_null (norc_strmap_get (&got.secret, "TOKEN"));
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
    cr_expect_str_eq (s_cell (&rows, 0, "last_instance"), "", "no instance yet");

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
