//  Integration tests: the audit chain (common/store/store_audit.c).
#include "store_fixture.h"

TestSuite (store_audit, .init = s_setup, .fini = s_teardown, .timeout = 60);

static uint64_t
s_append (const char *verb, const char *target, int outcome, const char *reason, const char *after)
{
    norc_audit_entry_t e = { .principal = "anonymous", .key_fingerprint = "", .source = "ipc://api",
                             .verb = verb, .target = target, .outcome = outcome, .reason = reason,
                             .before = NULL, .after = after };
    uint64_t id = 0;
    char hash [65] = "";
    cr_assert_eq (norc_store_audit_append (s_db, &e, &id, hash), NORC_OK, "%s", norc_db_errstr (s_db));
    cr_expect_eq (strlen (hash), 64, "a SHA-256 in hex: %s", hash);
    return id;
}

static uint64_t
s_broken (uint64_t *count)
{
    uint64_t broken = 99;
    cr_assert_eq (norc_store_audit_verify (s_db, count, &broken), NORC_OK, "%s", norc_db_errstr (s_db));
    return broken;
}

Test (store_audit, the_chain_holds_and_finds_an_edit_a_deletion_and_an_insertion)
{
    uint64_t count = 0;
    cr_expect_eq (s_broken (&count), 0, "an empty audit holds");
    cr_expect_eq (count, 0);
    cr_expect_eq (s_append ("task.add", "T", NORC_AUDIT_ACCEPTED, "", "{\"name\": \"T\"}"), 1);
    cr_expect_eq (s_append ("task.add", "#x", NORC_AUDIT_FAILED, "bad task name", NULL), 2);
    cr_expect_eq (s_append ("schedule.rm", "1", NORC_AUDIT_ACCEPTED, "", NULL), 3);
    cr_expect_eq (s_append ("control", "4", NORC_AUDIT_ACCEPTED, "", NULL), 4);
    cr_expect_eq (s_broken (&count), 0, "the chain holds");
    cr_expect_eq (count, 4);
    //  Each row follows the one before
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit a JOIN audit b ON b.id = a.id + 1 "
                                          "WHERE b.prev_hash = a.hash"), 3);
    //  An edit: found at the edited row
    norc_test_db_exec (s_db, "UPDATE audit SET reason = 'nothing to see' WHERE id = 2");
    cr_expect_eq (s_broken (&count), 2);
    norc_test_db_exec (s_db, "UPDATE audit SET reason = 'bad task name' WHERE id = 2");
    cr_expect_eq (s_broken (&count), 0, "put back, it holds again");
    //  An edit that recomputes the row's own hash is found at the next row
    norc_test_db_exec (s_db, "UPDATE audit SET outcome = 1, reason = '', "
                             "hash = SHA2(CONCAT('forged', id), 256) WHERE id = 2");
    cr_expect_eq (s_broken (&count), 2);
    //  A deletion: found at the row after it
    norc_test_db_exec (s_db, "UPDATE audit SET outcome = 3, reason = 'bad task name' WHERE id = 2");
    norc_test_db_exec (s_db, "DELETE FROM audit WHERE id = 3");
    cr_expect_eq (s_broken (&count), 2, "row 2 was left forged above");
    cr_expect_eq (count, 3);
}

Test (store_audit, a_deleted_row_breaks_the_chain_at_the_next)
{
    for (int i = 0; i < 5; i++)
        s_append ("queue.add", "Q", NORC_AUDIT_ACCEPTED, "", NULL);
    uint64_t count;
    norc_test_db_exec (s_db, "DELETE FROM audit WHERE id = 3");
    cr_expect_eq (s_broken (&count), 4);
    //  The list: newest first, outcomes by name
    norc_rows_t rows = { 0 };
    cr_assert_eq (norc_store_audit_list (s_db, 0, 2, &rows), NORC_OK);
    cr_assert_eq (rows.count, 2);
    cr_expect_str_eq (s_cell (&rows, 0, "id"), "5");
    cr_expect_str_eq (s_cell (&rows, 0, "outcome"), "accepted");
    cr_expect_str_eq (s_cell (&rows, 0, "verb"), "queue.add");
    cr_expect_eq (strlen (s_cell (&rows, 0, "at")), strlen ("2026-01-01T00:00:00.000000Z"));
    norc_rows_clear (&rows);
}
