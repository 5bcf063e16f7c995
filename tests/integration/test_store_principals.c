//  Integration tests: the registry of principals (common/store/
//  store_principals.c) against the real database.
#include "store_fixture.h"
#include "norc_principal.h"

TestSuite (store_principals, .init = s_setup, .fini = s_teardown, .timeout = 60);

static norc_principal_t
s_key (const char *name, uint32_t roles)
{
    norc_principal_t p = { .name = (char *) name, .kind = NORC_PRINCIPAL_USER, .roles = roles,
                           .state = NORC_PRINCIPAL_ACCEPTED };
    char secret [41];
    cr_assert_eq (zmq_curve_keypair (p.key, secret), 0);
    norc_key_fingerprint (p.key, p.fingerprint);
    return p;
}

//  The registry as the handlers read it now: the entry for key
static norc_principal_t
s_loaded (const char *key, bool *found)
{
    norc_registry_t *registry = norc_registry_new ();
    cr_assert_eq (norc_store_principals_load (s_db, registry), NORC_OK, "%s", norc_db_errstr (s_db));
    const norc_principal_t *p = norc_registry_find (registry, key);
    norc_principal_t copy = { 0 };
    *found = p != NULL;
    if (p) {
        copy = *p;
        copy.name = NULL;
    }
    norc_registry_destroy (&registry);
    return copy;
}

Test (store_principals, keys_are_added_seeded_revoked_and_rotated)
{
    norc_principal_t alice = s_key ("alice", NORC_ROLE_OPERATOR | NORC_ROLE_LOGS);
    cr_assert_eq (norc_store_principal_add (s_db, &alice, "admin"), NORC_OK, "%s", norc_db_errstr (s_db));
    cr_expect_eq (norc_store_principal_add (s_db, &alice, "admin"), NORC_CONFLICT, "a key is added once");
    bool found;
    norc_principal_t p = s_loaded (alice.key, &found);
    cr_assert (found);
    cr_expect_eq (p.roles, NORC_ROLE_OPERATOR | NORC_ROLE_LOGS);
    cr_expect (norc_principal_admitted (&p, norc_now_us (), NULL));
    //  Revoked: never seeded back from a file
    uint64_t count = 0;
    cr_expect_eq (norc_store_principal_revoke (s_db, "alice", &count), NORC_OK);
    cr_expect_eq (count, 1);
    cr_expect_eq (norc_store_principal_revoke (s_db, "alice", &count), NORC_NOTFOUND, "nothing live left");
    cr_expect_eq (norc_store_principal_seed (s_db, &alice, "keys_dir"), NORC_OK);
    p = s_loaded (alice.key, &found);
    cr_expect (found && p.revoked_us, "still revoked");
    cr_expect (!norc_principal_admitted (&p, norc_now_us (), NULL));
    //  Rotation: the new key with the same roles, the old one expires after the overlap
    norc_principal_t bob = s_key ("bob", NORC_ROLE_VIEWER);
    cr_assert_eq (norc_store_principal_seed (s_db, &bob, "keys_dir"), NORC_OK);
    norc_principal_t bob2 = s_key ("bob", 0);
    cr_assert_eq (norc_store_principal_rotate (s_db, "bob", bob2.key, 60 * NORC_US_PER_SEC, "bob"), NORC_OK,
                  "%s", norc_db_errstr (s_db));
    p = s_loaded (bob.key, &found);
    int64_t now = norc_now_us ();
    cr_expect (found && p.expires_us > now + 50 * NORC_US_PER_SEC && p.expires_us < now + 70 * NORC_US_PER_SEC,
               "the old key has a minute left");
    p = s_loaded (bob2.key, &found);
    cr_expect (found && p.roles == NORC_ROLE_VIEWER && p.expires_us == 0, "the new key: bob's roles, no expiry");
    cr_expect_eq (norc_store_principal_rotate (s_db, "nobody", bob2.key, 0, "x"), NORC_NOTFOUND);
    //  One key by fingerprint
    char ref [13];
    snprintf (ref, sizeof ref, "%.12s", bob.fingerprint);
    cr_expect_eq (norc_store_principal_revoke (s_db, ref, &count), NORC_OK);
    cr_expect_eq (count, 1);
    p = s_loaded (bob2.key, &found);
    cr_expect (found && !p.revoked_us, "the other key of bob is live");
}

Test (store_principals, a_knock_is_pending_until_accepted_or_rejected)
{
    norc_principal_t k1 = s_key ("", 0), k2 = s_key ("", 0);
    cr_assert_eq (norc_store_principal_knock (s_db, k1.key, k1.fingerprint, "tcp://10.0.0.7"), NORC_OK);
    cr_assert_eq (norc_store_principal_knock (s_db, k1.key, k1.fingerprint, "tcp://10.0.0.8"), NORC_OK);
    cr_assert_eq (norc_store_principal_knock (s_db, k2.key, k2.fingerprint, "tcp://10.0.0.9"), NORC_OK);
    norc_rows_t rows = { 0 };
    cr_assert_eq (norc_store_principal_list (s_db, true, &rows), NORC_OK);
    cr_expect_eq (rows.count, 2, "one row per key");
    cr_expect_str_eq (norc_strmap_get (&rows.rows [0], "address"), "tcp://10.0.0.8", "the last knock");
    norc_rows_clear (&rows);
    bool found;
    norc_principal_t p = s_loaded (k1.key, &found);
    cr_expect (found && !norc_principal_admitted (&p, norc_now_us (), NULL), "pending: not admitted");
    char ref [9];
    snprintf (ref, sizeof ref, "%.8s", k1.fingerprint);
    cr_expect_eq (norc_store_principal_accept (s_db, ref, "exec-1", NORC_PRINCIPAL_SERVICE, NORC_ROLE_EXECUTOR,
                                               "admin"), NORC_OK);
    p = s_loaded (k1.key, &found);
    cr_expect (found && norc_principal_admitted (&p, norc_now_us (), NULL) && p.roles == NORC_ROLE_EXECUTOR);
    cr_expect_eq (norc_store_principal_accept (s_db, ref, "again", NORC_PRINCIPAL_USER, 0, "admin"), NORC_NOTFOUND,
                  "no longer pending");
    snprintf (ref, sizeof ref, "%.8s", k2.fingerprint);
    cr_expect_eq (norc_store_principal_reject (s_db, ref), NORC_OK);
    cr_expect_eq (norc_store_principal_knock (s_db, k2.key, k2.fingerprint, "x"), NORC_OK);
    cr_assert_eq (norc_store_principal_list (s_db, true, &rows), NORC_OK);
    cr_expect_eq (rows.count, 0, "a rejected key knocks in vain");
    norc_rows_clear (&rows);
}

Test (store_principals, a_token_enrols_one_key_once)
{
    norc_principal_t token = s_key ("exec-9", NORC_ROLE_EXECUTOR);
    token.kind = NORC_PRINCIPAL_TOKEN;
    token.expires_us = norc_now_us () + 600 * NORC_US_PER_SEC;
    cr_assert_eq (norc_store_principal_add (s_db, &token, "admin"), NORC_OK);
    norc_principal_t own = s_key ("", 0), other = s_key ("", 0);
    char name [65] = "";
    cr_assert_eq (norc_store_principal_enrol (s_db, token.key, own.key, name), NORC_OK, "%s", norc_db_errstr (s_db));
    cr_expect_str_eq (name, "exec-9");
    bool found;
    norc_principal_t p = s_loaded (own.key, &found);
    cr_expect (found && p.kind == NORC_PRINCIPAL_SERVICE && p.roles == NORC_ROLE_EXECUTOR
               && norc_principal_admitted (&p, norc_now_us (), NULL));
    cr_expect_eq (norc_store_principal_enrol (s_db, token.key, other.key, name), NORC_NOTFOUND, "spent");
    //  An expired token enrols nothing
    norc_principal_t old = s_key ("exec-10", NORC_ROLE_EXECUTOR);
    old.kind = NORC_PRINCIPAL_TOKEN;
    old.expires_us = norc_now_us () - 1;
    cr_assert_eq (norc_store_principal_add (s_db, &old, "admin"), NORC_OK);
    cr_expect_eq (norc_store_principal_enrol (s_db, old.key, other.key, name), NORC_NOTFOUND, "expired");
}
