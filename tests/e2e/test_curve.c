//  End to end: CURVE on every endpoint (security.curve) with the registry
//  of principals. The services and norcctl each use their own key pair and
//  pin their servers' keys; work runs as without it; a client with no key
//  or an unknown key gets nothing on any endpoint and changes nothing (an
//  unknown key is recorded as pending); each role may ask only what it
//  allows, by the key its connection was admitted with, and each refusal
//  is audited; a revoked key is refused on an open connection within a
//  second; an executor enrols with a single-use token.
#include <criterion/criterion.h>
#include <czmq.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_keys.h"
#include "norc_principal.h"
#include "norc_mem.h"
#include "norc_msg.h"
#include "norc_log.h"
#include "norc_authz.h"
#include "norc_api.h"

static norc_test_system_t *s_sys;
static norc_db_t *s_db;
static char *s_keys;
static zcert_t *s_stranger;     //  a key nobody registered

static void
s_setup (void)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    s_sys = norc_test_system_new ();
    s_keys = norc_asprintf ("%s/keys", s_sys->dir);
    //  The services' own keys (their role by name) and the first admin:
    //  the registry is seeded from the directory at the first start
    const char *names [] = { "aggregator", "archiver", "scheduler", "executor", "norcctl" };
    char err [512];
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        cr_assert_eq (norc_keys_generate (s_keys, names [i], i == 4 ? "admin" : NULL, NULL, err, sizeof err),
                      NORC_OK, "%s", err);
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
    zcert_destroy (&s_stranger);
    norc_test_system_destroy (&s_sys);
    free (s_keys);
}

TestSuite (curve, .init = s_setup, .fini = s_teardown, .timeout = 120);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

//  A client of endpoint (an environment name such as NORC_AGGREGATOR_API)
//  with the pair NAME from the keys directory, a new unknown pair ("?"),
//  or no CURVE at all (NULL), pinning server's key
static zsock_t *
s_client_as (int type, const char *endpoint, const char *server, zcert_t *cert)
{
    zsock_t *client = zsock_new (type);
    zsock_set_linger (client, 0);
    zsock_set_sndtimeo (client, 1000);
    if (cert) {
        char err [256];
        zcert_t *server_cert = norc_keys_load (s_keys, server, false, err, sizeof err);
        cr_assert (server_cert, "%s", err);
        zcert_apply (cert, client);
        zsock_set_curve_serverkey (client, zcert_public_txt (server_cert));
        zcert_destroy (&server_cert);
    }
    cr_assert_eq (zsock_connect (client, "%s", norc_test_system_env (s_sys, endpoint)), 0);
    return client;
}

//  The pair NAME from the keys directory, a new unknown pair ("?"), or
//  none (NULL)
static zcert_t *
s_cert (const char *name)
{
    zcert_t *cert = NULL;
    if (name) {
        char err [256];
        if (strcmp (name, "?") == 0 && !s_stranger)
            s_stranger = zcert_new ();
        cert = strcmp (name, "?") == 0 ? zcert_dup (s_stranger) : norc_keys_load (s_keys, name, true, err, sizeof err);
        cr_assert (cert, "%s", err);
    }
    return cert;
}

static zsock_t *
s_client (int type, const char *endpoint, const char *server, const char *name)
{
    zcert_t *cert = s_cert (name);
    zsock_t *client = s_client_as (type, endpoint, server, cert);
    zcert_destroy (&cert);
    return client;
}

//  One API request with cert (NULL: no CURVE): the reply's code, or 1 when
//  nothing answered within a second
static int
s_api_as (zcert_t *cert, const char *op, const char *key, const char *value)
{
    zsock_t *client = s_client_as (ZMQ_DEALER, "NORC_AGGREGATOR_API", "aggregator", cert);
    norc_msg_t *reply = norc_test_api_ask (client, op, key, value, 1000);
    int code = reply ? reply->api_reply.code : 1;
    norc_msg_destroy (&reply);
    zsock_destroy (&client);
    return code;
}

//  One API request as NAME (see s_client)
static int
s_api (const char *name, const char *op, const char *key, const char *value)
{
    zcert_t *cert = s_cert (name);
    int code = s_api_as (cert, op, key, value);
    zcert_destroy (&cert);
    return code;
}

//  Whether a message from this client is answered within a second
static bool
s_answers (zsock_t *client, norc_msg_t **msg_p)
{
    norc_msg_send (msg_p, client);
    zpoller_t *poller = zpoller_new (client, NULL);
    bool answered = zpoller_wait (poller, 1000) != NULL;
    zpoller_destroy (&poller);
    return answered;
}

//  Whether an instance 999 created as NAME (see s_client) is acknowledged
static bool
s_forged_instance (const char *name)
{
    zsock_t *events = s_client (ZMQ_DEALER, "NORC_AGGREGATOR_EVENTS", "aggregator", name);
    norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_CREATED);
    msg->instance_created.seq = 1;
    msg->instance_created.instance_id = 999;
    msg->instance_created.task = norc_strdup ("T");
    bool answered = s_answers (events, &msg);
    zsock_destroy (&events);
    return answered;
}

//  Whether sub hears an event on the stream within 3 s, queues being
//  added (as the admin: each change is published as audit.) until it does
static bool
s_hears (zsock_t *sub, const char *tag)
{
    zpoller_t *poller = zpoller_new (sub, NULL);
    bool heard = false;
    for (int i = 0; i < 10 && !heard; i++) {
        char name [64];
        snprintf (name, sizeof name, "Q-%s-%d", tag, i);
        OK ("queue", "add", name);
        heard = zpoller_wait (poller, 300) != NULL;
    }
    zpoller_destroy (&poller);
    return heard;
}

//  Forget what sub has received so far
static void
s_drain (zsock_t *sub)
{
    zsock_set_rcvtimeo (sub, 0);
    zmsg_t *msg;
    while ((msg = zmsg_recv (sub)))
        zmsg_destroy (&msg);
}

//  A user key NAME with roles, made and registered by the admin
static void
s_user (const char *name, const char *roles)
{
    char err [256];
    cr_assert_eq (norc_keys_generate (s_keys, name, NULL, NULL, err, sizeof err), NORC_OK, "%s", err);
    char *file = norc_asprintf ("%s/%s.key", s_keys, name);
    OK ("keys", "add", name, "--file", file, "--role", roles);
    free (file);
}

Test (curve, work_runs_and_strangers_get_nothing_anywhere)
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

    //  No key, or an unknown key, on every endpoint: no answer, no change
    const char *strangers [] = { NULL, "?" };
    for (int s = 0; s < 2; s++) {
        cr_expect_eq (s_api (strangers [s], "queue.add", "name", "Intruder"), 1, "api: no answer");
        cr_expect (!s_forged_instance (strangers [s]), "events: no ACK");
        norc_msg_t *msg;
        zsock_t *dispatch = s_client (ZMQ_DEALER, "NORC_SCHEDULER_DISPATCH", "scheduler", strangers [s]);
        msg = norc_msg_new (NORC_MSG_HELLO);
        cr_expect (!s_answers (dispatch, &msg), "dispatch: nothing");
        zsock_destroy (&dispatch);
        zsock_t *fetch = s_client (ZMQ_DEALER, "NORC_ARCHIVER_FETCH", "archiver", strangers [s]);
        msg = norc_msg_new (NORC_MSG_LOG_FETCH);
        msg->log_fetch.instance_id = 1;
        msg->log_fetch.max_bytes = 1000;
        cr_expect (!s_answers (fetch, &msg), "logs: no byte");
        zsock_destroy (&fetch);
        zsock_t *logs = s_client (ZMQ_DEALER, "NORC_ARCHIVER_LOGS", "archiver", strangers [s]);
        msg = norc_msg_new (NORC_MSG_LOG_CHUNK);
        msg->log_chunk.instance_id = 1;
        msg->log_chunk.path = norc_strdup ("forged.log");
        cr_expect (!s_answers (logs, &msg), "log chunks: no ACK");
        zsock_destroy (&logs);
        zsock_t *stream = s_client (ZMQ_SUB, "NORC_AGGREGATOR_STREAM", "aggregator", strangers [s]);
        zsock_set_subscribe (stream, "");
        usleep (300000);
        OK ("queue", "add", s ? "Seen1" : "Seen0");     //  published on the stream
        zpoller_t *poller = zpoller_new (stream, NULL);
        cr_expect_null (zpoller_wait (poller, 1000), "stream: no event");
        zpoller_destroy (&poller);
        zsock_destroy (&stream);
    }
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM queues WHERE name = 'Intruder'"), 0);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE id = 999"), 0);
    //  The same request with the admin's key is answered (the silence above
    //  is the keys' doing)
    cr_expect_eq (s_api ("norcctl", "queue.add", "name", "Intruder"), 0, "the admin is answered");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM queues WHERE name = 'Intruder'"), 1);
    //  The unknown key that knocked waits as pending, with its fingerprint
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM principal WHERE state = 1"), 1);
}

//  Each role may ask what it allows and nothing more, decided by the key of
//  its connection; every refusal is an audit row naming the principal and
//  its key's fingerprint
Test (curve, roles_allow_what_they_say_and_refusals_are_audited)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    s_user ("vera", "viewer");
    s_user ("otto", "operator");
    s_user ("nobody", "");
    usleep (700000);            //  the half second within which the registry is read again
    cr_expect_eq (s_api ("nobody", "queue.list", NULL, NULL), NORC_DENIED, "no role: told so, nothing more");
    cr_expect_eq (s_api ("nobody", "whoami", NULL, NULL), 0, "but who it is");
    cr_expect_eq (s_api ("vera", "status.queues", NULL, NULL), 0, "a viewer reads");
    cr_expect_eq (s_api ("vera", "instance.rerun", "id", "1"), NORC_DENIED, "a viewer does not run");
    cr_expect_eq (s_api ("vera", "control", "daemon", "1"), NORC_DENIED, "a viewer does not control");
    cr_expect_eq (s_api ("vera", "audit.list", NULL, NULL), NORC_DENIED, "a viewer does not read the audit");
    cr_expect_eq (s_api ("otto", "task.show", "name", "T"), 0, "an operator reads");
    cr_expect_eq (s_api ("otto", "task.add", "name", "Evil"), NORC_DENIED, "an operator does not define");
    cr_expect_eq (s_api ("otto", "keys.add", "name", "mallory"), NORC_DENIED, "nor admit keys");
    cr_expect_eq (s_api ("executor", "queue.rm", "name", "Q"), NORC_DENIED, "an executor's key has no user role");
    cr_expect_eq (s_api ("executor", "run", "name", "T"), NORC_DENIED, "an executor's key does not run");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM tasks WHERE name = 'Evil'"), 0);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM queues WHERE name = 'Q'"), 1);

    //  A forged sender: a viewer (and the archiver's key) sending what only
    //  a scheduler may send is refused, whatever the body claims
    const char *forgers [] = { "vera", "archiver" };
    for (int f = 0; f < 2; f++) {
        cr_expect (!s_forged_instance (forgers [f]), "no ACK for a forged event");
    }
    //  An executor's key cannot act as a scheduler
    zsock_t *events = s_client (ZMQ_DEALER, "NORC_AGGREGATOR_EVENTS", "aggregator", "executor");
    norc_msg_t *msg = norc_msg_new (NORC_MSG_TICK_SKIPPED);
    msg->tick_skipped.seq = 1;
    cr_expect (!s_answers (events, &msg), "no ACK for an executor's tick");
    zsock_destroy (&events);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE id = 999"), 0);
    //  Nor may a viewer ask the scheduler for work: refused there, and
    //  audited as the scheduler's refusal
    zsock_t *dispatch = s_client (ZMQ_DEALER, "NORC_SCHEDULER_DISPATCH", "scheduler", "vera");
    msg = norc_msg_new (NORC_MSG_HELLO);
    msg->hello.queue = norc_strdup ("Q");
    msg->hello.concurrency = 4;
    norc_msg_send (&msg, dispatch);
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM audit WHERE outcome = 2 AND principal = 'vera' "
                                   "AND verb = 'HELLO' AND target = 'scheduler'", 1, 5000);
    zsock_destroy (&dispatch);
    //  Nor read a log without logs:read: refused at the archiver, which has
    //  the aggregator record it
    zsock_t *fetch = s_client (ZMQ_DEALER, "NORC_ARCHIVER_FETCH", "archiver", "vera");
    msg = norc_msg_new (NORC_MSG_LOG_FETCH);
    msg->log_fetch.instance_id = 1;
    msg->log_fetch.max_bytes = 1000;
    cr_expect (!s_answers (fetch, &msg), "no log byte for a viewer");
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM audit WHERE outcome = 2 AND principal = 'vera' "
                                   "AND verb = 'LOG-FETCH' AND target = 'archiver'", 1, 5000);
    zsock_destroy (&fetch);

    //  One audit row per refusal, with who and their key
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE outcome = 2 AND principal = 'vera' "
                                          "AND verb IN ('instance.rerun', 'control', 'audit.list')"), 3);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE outcome = 2 AND principal = 'otto'"), 2);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE outcome = 2 AND principal = 'executor' "
                                          "AND verb IN ('queue.rm', 'run', 'TICK-SKIPPED')"), 3);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE outcome = 2 AND verb = 'INSTANCE-CREATED' "
                                          "AND principal IN ('vera', 'archiver')"), 2);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit a JOIN principal p ON "
                                          "p.fingerprint = a.key_fingerprint WHERE a.outcome = 2"), 13,
                  "each refusal names its key's fingerprint");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE outcome = 1 AND verb = 'task.add' "
                                          "AND principal = 'norcctl'"), 1, "the admin's change names the admin");
    OK ("audit", "verify");
}

//  A request on a connection that stays open; true when answered within
//  a second
static bool
s_ask (zsock_t *client)
{
    norc_msg_t *reply = norc_test_api_ask (client, "queue.list", NULL, NULL, 1000);
    bool answered = reply != NULL && reply->api_reply.code == 0;
    norc_msg_destroy (&reply);
    return answered;
}

//  A key revoked is refused within a second, on a connection that was
//  admitted and is still open; a pending key accepted is admitted
Test (curve, revoked_keys_are_refused_on_open_connections_and_pending_keys_accepted)
{
    s_user ("tester", "viewer");
    s_user ("watcher", "viewer");
    usleep (700000);
    zsock_t *client = s_client (ZMQ_DEALER, "NORC_AGGREGATOR_API", "aggregator", "tester");
    cr_expect (s_ask (client), "admitted");
    //  Both subscribed to the stream, and hearing it
    zsock_t *tester = s_client (ZMQ_SUB, "NORC_AGGREGATOR_STREAM", "aggregator", "tester");
    zsock_t *watcher = s_client (ZMQ_SUB, "NORC_AGGREGATOR_STREAM", "aggregator", "watcher");
    zsock_set_subscribe (tester, "audit.");
    zsock_set_subscribe (watcher, "audit.");
    cr_expect (s_hears (tester, "a"), "the tester hears the stream");
    cr_expect (s_hears (watcher, "b"), "the watcher hears the stream");
    OK ("keys", "revoke", "tester");
    usleep (1000000);           //  the second within which a revocation holds everywhere
    cr_expect (!s_ask (client), "refused on the same connection");
    zsock_destroy (&client);
    //  The stream too: the revoked subscriber hears nothing more; the
    //  other one hears it again once it has reconnected
    s_drain (tester);
    cr_expect (s_hears (watcher, "c"), "the watcher hears the stream after the revocation");
    cr_expect (!s_hears (tester, "d"), "the revoked subscriber hears nothing more");
    zsock_destroy (&tester);
    zsock_destroy (&watcher);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE principal = 'tester' AND outcome = 2 "
                                          "AND verb = 'API-REQUEST' AND reason = 'revoked'"), 1,
                  "the refusal is audited");
    cr_expect_eq (s_api ("tester", "queue.list", NULL, NULL), 1, "and on a new one");

    //  A key nobody knows knocks: pending, then accepted by its fingerprint
    char err [256];
    cr_assert_eq (norc_keys_generate (s_keys, "newcomer.pair", NULL, NULL, err, sizeof err), NORC_OK, "%s", err);
    cr_expect_eq (s_api ("newcomer.pair", "queue.list", NULL, NULL), 1, "unknown: no answer");
    zcert_t *cert = norc_keys_load (s_keys, "newcomer.pair", false, err, sizeof err);
    char fp [41];
    norc_key_fingerprint (zcert_public_txt (cert), fp);
    zcert_destroy (&cert);
    char *out = NULL, *errs = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &errs, "keys", "pending", NULL), 0, "%s", errs);
    cr_expect_not_null (strstr (out, fp), "pending shows the fingerprint: %s", out);
    free (out);
    free (errs);
    fp [12] = 0;
    OK ("keys", "accept", fp, "--name", "newcomer", "--role", "viewer");
    usleep (700000);
    cr_expect_eq (s_api ("newcomer.pair", "queue.list", NULL, NULL), 0, "accepted: answered");
    cr_expect_eq (s_api ("newcomer.pair", "queue.add", "name", "X"), NORC_DENIED, "as a viewer");
}

//  An executor without a key makes its pair at its first start and, with a
//  single-use token, is admitted as the principal the token names
Test (curve, an_executor_enrols_with_a_token)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "echo enrolled");
    char *out = NULL, *err = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "keys", "token", "exec-9", "--role", "executor",
                                        "--expires", "600", NULL), 0, "%s", err);
    out [strcspn (out, "\n")] = 0;
    cr_assert_eq (strlen (out), 40, "a token: %s", out);
    char *token = norc_strdup (out);
    free (out);
    free (err);
    //  Its own settings (not the system's: norcctl keeps its key)
    const char *args [] = { "Q", "-c", "1", "--security.key", "exec-9", "--security.enrol_token", token, NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "T", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 15000);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM principal WHERE name = 'exec-9' AND kind = 2 "
                                          "AND state = 2 AND revoked_at IS NULL AND roles = 'executor'"), 1,
                  "the executor's own key is admitted as exec-9");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM principal WHERE name = 'exec-9' AND kind = 3 "
                                          "AND revoked_at IS NOT NULL"), 1, "the token is spent");
    char *secret = norc_asprintf ("%s/exec-9.key_secret", s_keys);
    cr_expect_eq (access (secret, F_OK), 0, "the pair was made at the first start");
    free (secret);
    free (token);
}

//  A principal rotates its own key: the new pair takes the old one's
//  place, and the old key works until the overlap ends
Test (curve, a_key_rotates_with_an_overlap)
{
    s_user ("rita", "viewer");
    usleep (700000);
    cr_expect_eq (s_api ("rita", "queue.list", NULL, NULL), 0, "the first key");
    char *out = NULL, *err = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "--security.key", "rita", "keys", "rotate", "--overlap",
                                        "3", NULL), 0, "%s%s", out, err);
    free (out);
    free (err);
    //  The old pair, kept beside the new one, under a name it loads by
    char *copy = norc_asprintf ("cp %s/rita.key.old %s/old.pair && cp %s/rita.key_secret.old %s/old.pair_secret",
                                s_keys, s_keys, s_keys, s_keys);
    cr_assert_eq (system (copy), 0);
    free (copy);
    char *rename_them = norc_asprintf ("mv %s/old.pair %s/rita-old.key && mv %s/old.pair_secret %s/rita-old.key_secret",
                                       s_keys, s_keys, s_keys, s_keys);
    cr_assert_eq (system (rename_them), 0);
    free (rename_them);
    usleep (700000);
    cr_expect_eq (s_api ("rita", "queue.list", NULL, NULL), 0, "the new key");
    cr_expect_eq (s_api ("rita-old", "queue.list", NULL, NULL), 0, "the old key, within the overlap");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM principal WHERE name = 'rita' AND roles = 'viewer' "
                                          "AND revoked_at IS NULL"), 2, "two keys, the same roles");
    usleep (3000000);
    cr_expect_eq (s_api ("rita-old", "queue.list", NULL, NULL), 1, "the old key, after it");
    cr_expect_eq (s_api ("rita", "queue.list", NULL, NULL), 0, "the new key still");
}

//  The code of op asked as who (the audit rows it left: *rows)
static int
s_audited (zcert_t *cert, const char *who, const char *op, int outcome_min, int outcome_max, int64_t *rows)
{
    char sql [512];
    snprintf (sql, sizeof sql, "SELECT COUNT(*) FROM audit WHERE verb = '%s' AND principal = '%s' "
                               "AND outcome BETWEEN %d AND %d", op, who, outcome_min, outcome_max);
    int64_t before = norc_test_db_int (s_db, sql);
    int code = s_api_as (cert, op, NULL, NULL);
    *rows = norc_test_db_int (s_db, sql) - before;
    return code;
}

//  Every operation of the API, from its schema (proto/norc_api.xml):
//  asked by a principal whose roles do not allow it, it is refused and
//  leaves exactly one audit row (denied); asked by one whose roles allow
//  it, a change leaves exactly one row (accepted, or failed: asked here
//  without its arguments) and a plain read none
Test (curve, every_operation_is_audited_once_allowed_or_denied)
{
    s_user ("lena", "logs:read");
    s_user ("vera", "viewer");
    s_user ("front", "web");
    s_user ("carrier", "bridge");
    //  An enrolment token's pair: the token is its secret half
    char *out = NULL, *errs = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &errs, "keys", "token", "tok", "--role", "executor", NULL), 0,
                  "%s", errs);
    out [strcspn (out, "\n")] = 0;
    char public_txt [41];
    byte public_key [32], secret_key [32];
    cr_assert_eq (zmq_curve_public (public_txt, out), 0);
    cr_assert (zmq_z85_decode (public_key, public_txt) && zmq_z85_decode (secret_key, out));
    zcert_t *token = zcert_new_from (public_key, secret_key);
    free (out);
    free (errs);
    usleep (700000);
    char err [256];
    zcert_t *lena = norc_keys_load (s_keys, "lena", true, err, sizeof err);
    zcert_t *admin = norc_keys_load (s_keys, "norcctl", true, err, sizeof err);
    zcert_t *scheduler = norc_keys_load (s_keys, "scheduler", true, err, sizeof err);
    zcert_t *front = norc_keys_load (s_keys, "front", true, err, sizeof err);
    zcert_t *vera = norc_keys_load (s_keys, "vera", true, err, sizeof err);
    zcert_t *carrier = norc_keys_load (s_keys, "carrier", true, err, sizeof err);
    zcert_t *archiver = norc_keys_load (s_keys, "archiver", true, err, sizeof err);
    cr_assert (token && lena && admin && scheduler && front && vera && carrier && archiver, "%s", err);
    size_t ops = 0;
    for (const norc_api_op_t *each; (each = norc_api_op_at (ops)); ops++) {
        const char *op = each->name;
        uint32_t needs = norc_authz_op (op);
        bool read = !each->change;
        int64_t rows;
        //  Denied: any principal may ask whoami and keys.rotate (its own key)
        if (needs != NORC_ROLE_ANY) {
            //  (a log's reader is denied as a viewer)
            zcert_t *denied = needs & NORC_ROLE_LOGS ? vera : lena;
            const char *name = needs & NORC_ROLE_LOGS ? "vera" : "lena";
            cr_expect_eq (s_audited (denied, name, op, 2, 2, &rows), NORC_DENIED, "%s: %s is denied", op, name);
            cr_expect_eq (rows, 1, "%s denied: %lld audit rows", op, (long long) rows);
        }
        //  Allowed
        zcert_t *cert = admin;
        const char *who = "norcctl";
        if (needs & NORC_ROLE_ENROL) {
            cert = token;
            who = "tok";
        }
        else
        if (needs & NORC_ROLE_WEB) {
            cert = front;
            who = "front";
        }
        else
        if (needs == NORC_ROLE_BRIDGE) {
            cert = carrier;
            who = "carrier";
        }
        else
        if (needs == NORC_ROLE_ARCHIVER) {
            cert = archiver;
            who = "archiver";
        }
        else
        if (!(needs & (NORC_ROLE_VIEWER | NORC_ROLE_LOGS | NORC_ROLE_OPERATOR | NORC_ROLE_ADMIN)) && needs != NORC_ROLE_ANY) {
            cert = scheduler;
            who = "scheduler";
        }
        int code = s_audited (cert, who, op, 1, 3, &rows);
        cr_expect (code != NORC_DENIED && code != 1, "%s: %s is answered, not denied (%d)", op, who, code);
        cr_expect_eq (rows, read ? 0 : 1, "%s allowed: %lld audit rows", op, (long long) rows);
    }
    cr_expect_geq (ops, 40, "the table names every operation (%zu)", ops);
    zcert_destroy (&token);
    zcert_destroy (&lena);
    zcert_destroy (&admin);
    zcert_destroy (&scheduler);
    zcert_destroy (&front);
    zcert_destroy (&carrier);
    zcert_destroy (&archiver);
    zcert_destroy (&vera);
    OK ("audit", "verify");
}
