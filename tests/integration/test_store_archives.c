//  Integration tests of the record of logs archived to S3, against the real MariaDB.
#include "store_fixture.h"

TestSuite (store_archives, .init = s_setup, .fini = s_teardown);

static const char *s_sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

Test (store_archives, a_log_is_recorded_once_and_read_back)
{
    uint64_t task = s_task ("T", "true"), queue = s_queue ("Q"), id = 0;
    cr_assert_eq (norc_store_instance_manual (s_db, task, queue, &id), NORC_OK);
    norc_archive_t got = { 0 };
    cr_expect_eq (norc_store_archive_get (s_db, id, &got), NORC_NOTFOUND, "nothing archived yet");
    norc_archive_t a = { .instance_id = id, .object_key = (char *) "norc/instances/0/1", .size = 4 };
    snprintf (a.sha256, sizeof a.sha256, "%s", s_sha);
    cr_assert_eq (norc_store_archive_put (s_db, &a), NORC_OK, "%s", norc_db_errstr (s_db));
    //  The same again (an archiver that did not hear the answer): accepted, nothing changes
    cr_expect_eq (norc_store_archive_put (s_db, &a), NORC_OK);
    cr_assert_eq (norc_store_archive_get (s_db, id, &got), NORC_OK);
    cr_expect_str_eq (got.object_key, "norc/instances/0/1");
    cr_expect_eq (got.size, 4);
    cr_expect_str_eq (got.sha256, s_sha);
    cr_expect_gt (got.archived_at, 0);
    norc_archive_clear (&got);
    //  Another size, hash or key for the same log: refused, the first kept
    a.size = 5;
    cr_expect_eq (norc_store_archive_put (s_db, &a), NORC_CONFLICT);
    a.size = 4;
    a.sha256 [0] = '0';
    cr_expect_eq (norc_store_archive_put (s_db, &a), NORC_CONFLICT);
    a.sha256 [0] = '9';
    a.object_key = (char *) "elsewhere/1";
    cr_expect_eq (norc_store_archive_put (s_db, &a), NORC_CONFLICT);
    cr_assert_eq (norc_store_archive_get (s_db, id, &got), NORC_OK);
    cr_expect_eq (got.size, 4);
    norc_archive_clear (&got);
    //  No such instance; not a hash
    a.instance_id = id + 100;
    a.object_key = (char *) "norc/instances/0/101";
    cr_expect_eq (norc_store_archive_put (s_db, &a), NORC_NOTFOUND);
    a.sha256 [10] = 0;
    cr_expect_eq (norc_store_archive_put (s_db, &a), NORC_ERROR);
}
