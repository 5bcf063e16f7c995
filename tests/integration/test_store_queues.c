//  Integration tests of the store's queues and groups of queues, against the real MariaDB.
#include "store_fixture.h"

TestSuite (store_queues, .init = s_setup, .fini = s_teardown);

Test (store_queues, queues_and_groups_share_a_name_space)
{
    uint64_t q1 = s_queue ("Q1");
    s_queue ("Q2");
    s_queue ("Q3");
    uint64_t again;
    cr_expect_eq (norc_store_queue_add (s_db, "Q1", NORC_QUEUE_DB, NULL, &again), NORC_CONFLICT);
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
    cr_expect_eq (norc_store_queue_add (s_db, "G", NORC_QUEUE_DB, NULL, NULL), NORC_CONFLICT);
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
