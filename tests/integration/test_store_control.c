//  Integration tests of the store's control requests, against the real MariaDB.
#include "store_fixture.h"

TestSuite (store_control, .init = s_setup, .fini = s_teardown);

Test (store_control, control_requests_are_stored_and_marked)
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
