//  Integration tests of the store's named leases, against the real MariaDB.
#include "store_fixture.h"

TestSuite (store_leases, .init = s_setup, .fini = s_teardown);

Test (store_leases, named_lease_has_one_holder_and_an_epoch)
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
