//  End to end: CURVE on every endpoint (security.curve). The services and
//  norcctl each use their own key pair and pin their servers' keys; work
//  runs as without it; a client with no key, or with a key the keys
//  directory does not hold, gets no answer and changes nothing.
#include <criterion/criterion.h>
#include <czmq.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_keys.h"
#include "norc_mem.h"
#include "norc_msg.h"
#include "norc_log.h"

static norc_test_system_t *s_sys;
static norc_db_t *s_db;
static char *s_keys;

static void
s_setup (void)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    s_sys = norc_test_system_new ();
    s_keys = norc_asprintf ("%s/keys", s_sys->dir);
    const char *names [] = { "aggregator", "archiver", "scheduler", "executor", "norcctl" };
    char err [512];
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        cr_assert_eq (norc_keys_generate (s_keys, names [i], NULL, err, sizeof err), NORC_OK, "%s", err);
    norc_test_system_setenv (s_sys, "NORC_SECURITY_CURVE=true");
    char *dir = norc_asprintf ("NORC_SECURITY_KEYS_DIR=%s", s_keys);
    norc_test_system_setenv (s_sys, dir);
    free (dir);
    norc_test_system_start_core (s_sys);
    s_db = norc_test_system_db (s_sys);
}

static void
s_teardown (void)
{
    norc_db_destroy (&s_db);
    norc_test_system_destroy (&s_sys);
    free (s_keys);
}

TestSuite (curve, .init = s_setup, .fini = s_teardown, .timeout = 120);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

//  One API request from a client with this key pair (NULL: none at all);
//  true when it was answered within a second.
static bool
s_answered (zcert_t *cert)
{
    zsock_t *client = zsock_new (ZMQ_DEALER);
    zsock_set_linger (client, 0);
    zsock_set_sndtimeo (client, 1000);
    if (cert) {
        char err [256];
        zcert_t *server = norc_keys_load (s_keys, "aggregator", false, err, sizeof err);
        cr_assert_not_null (server, "%s", err);
        zcert_apply (cert, client);
        zsock_set_curve_serverkey (client, zcert_public_txt (server));
        zcert_destroy (&server);
    }
    cr_assert_eq (zsock_connect (client, "%s", norc_test_system_env (s_sys, "NORC_AGGREGATOR_API")), 0);
    norc_msg_t *reply = norc_test_api_ask (client, "queue.add", "name", "Intruder", 1000);
    bool answered = reply != NULL;
    norc_msg_destroy (&reply);
    zsock_destroy (&client);
    return answered;
}

Test (curve, work_runs_and_strangers_get_nothing)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "echo over curve");
    const char *args [] = { "Q", "-c", "1", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "T", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 15000);
    cr_expect (norc_test_log_has (s_sys, 1, "over curve", 5000), "its output came through the archiver");
    char *out = NULL, *err = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "logs", "1", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "over curve"), "%s", out);
    free (out);
    free (err);

    //  No key, or a key the directory does not hold: nothing, and nothing changes
    cr_expect (!s_answered (NULL), "a client without CURVE gets no answer");
    zcert_t *stranger = zcert_new ();
    cr_expect (!s_answered (stranger), "an unknown key gets no answer");
    zcert_destroy (&stranger);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM queues WHERE name = 'Intruder'"), 0);
    //  The same request with a key the directory holds is answered (so the
    //  silence above is the key's doing)
    char error [256];
    zcert_t *ours = norc_keys_load (s_keys, "norcctl", true, error, sizeof error);
    cr_assert_not_null (ours, "%s", error);
    cr_expect (s_answered (ours), "a known key is answered");
    zcert_destroy (&ours);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM queues WHERE name = 'Intruder'"), 1);
}

//  A request on a connection that stays open; true when answered within
//  a second
static bool
s_ask (zsock_t *client)
{
    norc_msg_t *reply = norc_test_api_ask (client, "queue.list", NULL, NULL, 1000);
    bool answered = reply != NULL;
    norc_msg_destroy (&reply);
    return answered;
}

//  A key removed from the directory is refused within a second, on a
//  connection that was admitted and is still open.
Test (curve, a_key_removed_is_refused_on_an_open_connection)
{
    char err [256];
    cr_assert_eq (norc_keys_generate (s_keys, "tester", NULL, err, sizeof err), NORC_OK, "%s", err);
    usleep (1100000);           //  the second within which an added key is admitted
    zcert_t *cert = norc_keys_load (s_keys, "tester", true, err, sizeof err);
    zcert_t *server = norc_keys_load (s_keys, "aggregator", false, err, sizeof err);
    cr_assert (cert && server, "%s", err);
    zsock_t *client = zsock_new (ZMQ_DEALER);
    zsock_set_linger (client, 0);
    zsock_set_sndtimeo (client, 1000);
    zcert_apply (cert, client);
    zsock_set_curve_serverkey (client, zcert_public_txt (server));
    cr_assert_eq (zsock_connect (client, "%s", norc_test_system_env (s_sys, "NORC_AGGREGATOR_API")), 0);
    cr_expect (s_ask (client), "admitted");
    char *files = norc_asprintf ("rm %s/tester.key %s/tester.key_secret", s_keys, s_keys);
    cr_assert_eq (system (files), 0);
    free (files);
    usleep (1100000);           //  the second within which a removal takes effect
    cr_expect (!s_ask (client), "refused on the same connection");
    zsock_destroy (&client);
    zcert_destroy (&server);
    zcert_destroy (&cert);
}
