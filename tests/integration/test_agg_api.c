//  The status-aggregator's API as a part, in one process: agg_api_handle
//  against the real database, with its change notifications published on
//  a publisher bound to inproc:// and read back by a SUB, as the scheduler reads
//  them. A fault in an operation shows here, in a fraction of a second,
//  before any service binary is started.
#include "store_fixture.h"
#include "agg_api.h"
#include "norc_msg.h"
#include "norc_api_json.h"
#include "norc_tick.h"

static zsock_t *s_pub;
static zsock_t *s_sub;
static agg_api_t s_api;

static void
s_api_setup (void)
{
    s_setup ();
    //  An XPUB, so the test knows when the subscription has arrived (a
    //  PUB drops what it publishes before that)
    s_pub = zsock_new_xpub ("inproc://agg-api-test");
    s_sub = zsock_new_sub ("inproc://agg-api-test", "schedule.");
    cr_assert (s_pub && s_sub);
    zsock_set_rcvtimeo (s_pub, 2000);
    zframe_t *subscription = zframe_recv (s_pub);
    cr_assert (subscription && zframe_size (subscription) > 0 && zframe_data (subscription) [0] == 1,
               "the subscription reached the publisher");
    zframe_destroy (&subscription);
    zsock_set_rcvtimeo (s_sub, 2000);
    s_api = (agg_api_t) { .db = s_db, .stream = s_pub, .alive_ms = 2000 };
}

static void
s_api_teardown (void)
{
    zsock_destroy (&s_sub);
    zsock_destroy (&s_pub);
    s_teardown ();
}

TestSuite (agg_api, .init = s_api_setup, .fini = s_api_teardown, .timeout = 60);

//  Run one operation with arguments given as key, value pairs (NULL
//  ends them). The caller destroys the API-REPLY.
static norc_msg_t *
s_call (const char *op, ...)
{
    norc_msg_t *request = norc_msg_new (NORC_MSG_API_REQUEST);
    request->api_request.request_id = 7;
    request->api_request.op = norc_strdup (op);
    va_list ap;
    va_start (ap, op);
    const char *key;
    while ((key = va_arg (ap, const char *))) {
        const char *value = va_arg (ap, const char *);
        norc_strmap_set (&request->api_request.args, key, value);
    }
    va_end (ap);
    norc_msg_t *reply = norc_msg_new (NORC_MSG_API_REPLY);
    agg_api_handle (&s_api, &request->api_request, &reply->api_reply);
    cr_assert_eq (reply->api_reply.request_id, 7, "the reply answers its request");
    //  Every reply holds only the columns its operation declares, each
    //  value of its column's type (proto/norc_api.xml)
    const norc_api_op_t *known = norc_api_op (op);
    for (size_t r = 0; known && r < reply->api_reply.rows.count; r++) {
        char why [256];
        cr_expect (norc_api_row_check (known, &reply->api_reply.rows.rows [r], why, sizeof why), "%s", why);
    }
    norc_msg_destroy (&request);
    return reply;
}

//  The operation must succeed
#define CALL_OK(...) do { \
        norc_msg_t *ok_reply = s_call (__VA_ARGS__, (const char *) NULL); \
        cr_assert_eq (ok_reply->api_reply.code, NORC_OK, "%s", ok_reply->api_reply.error); \
        norc_msg_destroy (&ok_reply); \
    } while (0)

//  The operation must be refused with this code and this text in its one line
static void
s_refused (int code, const char *text, norc_msg_t *reply)
{
    cr_expect_eq (reply->api_reply.code, code, "code %d: %s", reply->api_reply.code, reply->api_reply.error);
    cr_expect_not_null (reply->api_reply.error);
    if (reply->api_reply.error) {
        cr_expect_not_null (strstr (reply->api_reply.error, text), "%s", reply->api_reply.error);
        cr_expect_null (strchr (reply->api_reply.error, '\n'), "one line: %s", reply->api_reply.error);
    }
    norc_msg_destroy (&reply);
}

//  The next notification on the stream: its schedule and its op
static void
s_expect_notice (uint64_t schedule_id, const char *op)
{
    zmsg_t *frames = zmsg_recv (s_sub);
    cr_assert_not_null (frames, "a notification was published");
    cr_assert_eq (zmsg_size (frames), 2);
    char *topic = zmsg_popstr (frames);
    zframe_t *body = zmsg_pop (frames);
    cr_expect_str_eq (topic, "schedule.changed");
    const char *why = NULL;
    norc_msg_t *msg = norc_msg_decode (zframe_data (body), zframe_size (body), &why);
    cr_assert_not_null (msg, "%s", why);
    cr_assert_eq (msg->id, NORC_MSG_SCHEDULE_CHANGED);
    cr_expect_eq (msg->schedule_changed.schedule_id, schedule_id);
    cr_expect_str_eq (msg->schedule_changed.op, op);
    norc_msg_destroy (&msg);
    zframe_destroy (&body);
    free (topic);
    zmsg_destroy (&frames);
}

Test (agg_api, a_schedule_is_defined_changed_and_removed_and_each_change_is_told)
{
    CALL_OK ("queue.add", "name", "Q");
    CALL_OK ("task.add", "name", "T", "command", "echo ran");
    norc_msg_t *reply = s_call ("schedule.add", "task", "T", "queue", "Q", "period", "60", NULL);
    cr_assert_eq (reply->api_reply.code, NORC_OK, "%s", reply->api_reply.error);
    uint64_t id = 0;
    cr_assert_eq (norc_id_parse (s_cell (&reply->api_reply.rows, 0, "id"), &id), NORC_OK);
    norc_msg_destroy (&reply);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM schedules WHERE period_s = 60 AND deleted_at IS NULL"), 1);
    s_expect_notice (id, "add");

    char id_text [24];
    snprintf (id_text, sizeof id_text, "%llu", (unsigned long long) id);
    CALL_OK ("schedule.pause", "id", id_text);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM schedules WHERE paused = 1"), 1);
    s_expect_notice (id, "change");
    CALL_OK ("schedule.rm", "id", id_text);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM schedules WHERE deleted_at IS NULL"), 0);
    s_expect_notice (id, "delete");
}

Test (agg_api, bad_requests_are_refused_in_one_line_and_change_nothing)
{
    CALL_OK ("queue.add", "name", "Q");
    CALL_OK ("group.add", "name", "G", "members", "Q:1");
    CALL_OK ("task.add", "name", "T", "command", "true");
    s_refused (NORC_NOTFOUND, "unknown queue \"Nope\"",
               s_call ("schedule.add", "task", "T", "queue", "Nope", "period", "5", NULL));
    s_refused (NORC_CONFLICT, "is a queue group",
               s_call ("schedule.add", "task", "T", "queue", "G", "period", "5", NULL));
    s_refused (NORC_NOTFOUND, "unknown task \"U\"",
               s_call ("schedule.add", "task", "U", "queue", "Q", "period", "5", NULL));
    s_refused (NORC_ERROR, "bad period", s_call ("schedule.add", "task", "T", "queue", "Q", "period", "-1", NULL));
    s_refused (NORC_ERROR, "bad task name", s_call ("task.add", "name", "#x", "command", "true", NULL));
    s_refused (NORC_ERROR, "unknown operation \"nope\"", s_call ("nope", NULL));
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM schedules"), 0, "nothing was written");
    //  Nothing was told either
    zsock_set_rcvtimeo (s_sub, 200);
    zmsg_t *frames = zmsg_recv (s_sub);
    cr_expect_null (frames, "no notification for a refused request");
    zmsg_destroy (&frames);
}

//  Every operation of the schema, each asked so that it succeeds, answers
//  with rows whose columns and values are the ones the schema declares (the
//  check is in s_call); JSON typed by the schema reads them back as numbers,
//  times, booleans and names. An operation added to the schema and not here
//  fails this test. keys.rotate and keys.enrol need CURVE and a token's
//  key: test_curve asks them; session.close a session's credential: the
//  next test asks it.
Test (agg_api, every_operation_answers_with_the_columns_the_schema_declares)
{
    static const char *elsewhere [] = { "keys.rotate", "keys.enrol", "session.close" };
    zhashx_t *asked = zhashx_new ();
    norc_msg_t *reply;
    char id [32], instance [32], daemon [32], schedule [32];
#define ASK(...) do { \
        reply = s_call (__VA_ARGS__, (const char *) NULL); \
        cr_assert_eq (reply->api_reply.code, NORC_OK, "%s: %s", #__VA_ARGS__, reply->api_reply.error); \
        zhashx_update (asked, reply_op_name (__VA_ARGS__, NULL), (void *) 1); \
    } while (0)
#define reply_op_name(op, ...) (op)
#define FIRST_ID(buf) snprintf (buf, sizeof buf, "%s", s_cell (&reply->api_reply.rows, 0, "id"))
    ASK ("queue.add", "name", "Q"); norc_msg_destroy (&reply);
    ASK ("queue.add", "name", "Spare"); norc_msg_destroy (&reply);
    ASK ("group.add", "name", "G", "members", "Q:1"); norc_msg_destroy (&reply);
    ASK ("task.add", "name", "T", "command", "echo hi", "timeout", "30", "env.A", "1", "secret.S", "x");
    norc_msg_destroy (&reply);
    ASK ("task.add", "name", "Step", "command", "true"); norc_msg_destroy (&reply);
    ASK ("task.list"); norc_msg_destroy (&reply);
    ASK ("task.show", "name", "T");
    json_t *rows = norc_api_rows_json (norc_api_op ("task.show"), &reply->api_reply.rows);
    json_t *row = json_array_get (rows, 0);
    cr_expect (json_is_integer (json_object_get (row, "id")));
    cr_expect_eq (json_integer_value (json_object_get (row, "timeout")), 30);
    cr_expect_str_eq (json_string_value (json_object_get (json_object_get (row, "env"), "A")), "1");
    cr_expect_str_eq (json_string_value (json_object_get (json_object_get (row, "env"), "S")), "(secret)");
    json_decref (rows);
    norc_msg_destroy (&reply);
    ASK ("job.add", "name", "J", "node.a", "Step", "node.b", "Step", "edge.1", "a:b"); norc_msg_destroy (&reply);
    ASK ("job.show", "name", "J"); norc_msg_destroy (&reply);
    ASK ("queue.list"); norc_msg_destroy (&reply);
    ASK ("status.queues"); norc_msg_destroy (&reply);
    //  One queue, and what it promises
    ASK ("queue.show", "name", "Q");
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "kind"), "db");
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "mode"), "database");
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "waiting"), "0");
    cr_expect (strncmp (s_cell (&reply->api_reply.rows, 0, "one_run_per_tick"), "yes: ", 5) == 0);
    norc_msg_destroy (&reply);
    ASK ("queue.show", "name", "G");
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "mode"), "by member");
    norc_msg_destroy (&reply);
    reply = s_call ("queue.show", "name", "Nowhere", (const char *) NULL);
    cr_expect_eq (reply->api_reply.code, NORC_NOTFOUND);
    cr_expect_str_eq (reply->api_reply.error, "unknown queue \"Nowhere\"");
    norc_msg_destroy (&reply);
    ASK ("schedule.add", "task", "T", "queue", "Q", "cron", "0 0 * * * *", "tz", "Europe/Paris");
    FIRST_ID (schedule);
    norc_msg_destroy (&reply);
    ASK ("schedule.list"); norc_msg_destroy (&reply);
    ASK ("schedule.show", "id", schedule);
    rows = norc_api_rows_json (norc_api_op ("schedule.show"), &reply->api_reply.rows);
    row = json_array_get (rows, 0);
    cr_expect (json_is_false (json_object_get (row, "paused")));
    cr_expect_str_eq (json_string_value (json_object_get (row, "catchup")), "none");
    const char *next = json_string_value (json_object_get (row, "next"));
    cr_expect (next && strlen (next) == 27 && next [26] == 'Z', "RFC 3339 UTC with microseconds: %s", next);
    cr_expect (json_is_null (json_object_get (row, "deleted")), "an empty time is null");
    json_decref (rows);
    norc_msg_destroy (&reply);
    ASK ("cron.next", "expr", "0 30 1 * * *", "tz", "Europe/London", "from", "2026-10-20T00:00:00Z", "n", "10");
    rows = norc_api_rows_json (norc_api_op ("cron.next"), &reply->api_reply.rows);
    int changes = 0;
    for (size_t r = 0; r < json_array_size (rows); r++)
        changes += json_is_true (json_object_get (json_array_get (rows, r), "dst_change"));
    cr_expect_eq (changes, 1, "the end of summer time on 25 October is marked once");
    json_decref (rows);
    norc_msg_destroy (&reply);
    ASK ("schedule.pause", "id", schedule); norc_msg_destroy (&reply);
    ASK ("schedule.resume", "id", schedule); norc_msg_destroy (&reply);
    ASK ("schedule.history", "id", schedule); norc_msg_destroy (&reply);
    ASK ("run", "task", "T", "queue", "Q"); FIRST_ID (instance); norc_msg_destroy (&reply);
    ASK ("status.instances", "since", "all");
    rows = norc_api_rows_json (norc_api_op ("status.instances"), &reply->api_reply.rows);
    row = json_array_get (rows, 0);
    cr_expect_eq (json_integer_value (json_object_get (row, "status")), NORC_ST_CREATED);
    cr_expect_str_eq (json_string_value (json_object_get (row, "status_name")), "CREATED");
    cr_expect (json_is_null (json_object_get (row, "executor_id")), "no executor yet: null");
    json_decref (rows);
    norc_msg_destroy (&reply);
    ASK ("instance.show", "id", instance); norc_msg_destroy (&reply);
    ASK ("instance.log", "id", instance, "tail", "100"); norc_msg_destroy (&reply);
    ASK ("instance.kill", "id", instance); norc_msg_destroy (&reply);
    ASK ("instance.rerun", "id", instance); norc_msg_destroy (&reply);
    char *sql = norc_asprintf ("UPDATE instances SET status = 13, ended_at = UTC_TIMESTAMP(6) WHERE id = %s", instance);
    norc_test_db_exec (s_db, sql);
    free (sql);
    ASK ("instance.handle", "id", instance); norc_msg_destroy (&reply);
    ASK ("daemon.register", "kind", "executor", "host", "h1", "pid", "42", "queue", "Q", "concurrency", "2");
    FIRST_ID (daemon);
    norc_msg_destroy (&reply);
    //  A tick carried by SQS, claimed for the executor, then given back
    ASK ("queue.add", "name", "Far", "kind", "sqs", "url", "http://127.0.0.1:1/123456789012/far");
    norc_msg_destroy (&reply);
    ASK ("queue.show", "name", "Far");
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "mode"), "connected or disconnected, by site");
    cr_expect (strstr (s_cell (&reply->api_reply.rows, 0, "dead_host"), "bridge.site_failure_s") != NULL);
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "url"), "http://127.0.0.1:1/123456789012/far");
    cr_expect (strstr (s_cell (&reply->api_reply.rows, 0, "one_run_per_tick"), "a claim in the record") != NULL);
    norc_msg_destroy (&reply);
    ASK ("run", "task", "T", "queue", "Far"); FIRST_ID (instance); norc_msg_destroy (&reply);
    norc_strmap_t env = { 0 };
    norc_strmap_set (&env, "S", "x");
    norc_strmap_set (&env, "A", "1");
    char digest [65];
    norc_tick_digest ("echo hi", NULL, 30, 0, &env, digest);
    norc_strmap_clear (&env);
    ASK ("sqs.claim", "instance", instance, "attempt", "1", "digest", digest, "executor", daemon);
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "outcome"), "accepted");
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "command"), "echo hi");
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "env.A"), "1");
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "digest"), digest);
    norc_msg_destroy (&reply);
    ASK ("sqs.release", "instance", instance, "executor", daemon); norc_msg_destroy (&reply);
    ASK ("sqs.waiting", "instance", instance, "reason", "sent to SQS 2 times, claimed by no site yet");
    norc_msg_destroy (&reply);
    ASK ("instance.show", "id", instance);
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "reason"), "sent to SQS 2 times, claimed by no site yet");
    norc_msg_destroy (&reply);
    //  Its log archived to S3: recorded (twice the same: answered the same), shown
    static const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    ASK ("instance.archived", "instance", instance, "key", "norc/instances/0/1", "size", "12", "sha256", sha);
    norc_msg_destroy (&reply);
    ASK ("instance.archived", "instance", instance, "key", "norc/instances/0/1", "size", "12", "sha256", sha);
    norc_msg_destroy (&reply);
    reply = s_call ("instance.archived", "instance", instance, "key", "norc/instances/0/1", "size", "13",
                    "sha256", sha, (const char *) NULL);
    cr_expect_eq (reply->api_reply.code, NORC_CONFLICT, "another size for an archived log: %s",
                  reply->api_reply.error);
    norc_msg_destroy (&reply);
    reply = s_call ("instance.archived", "instance", instance, "key", "k", "size", "1", "sha256", "xyz",
                    (const char *) NULL);
    cr_expect_eq (reply->api_reply.code, NORC_ERROR, "not a SHA-256");
    norc_msg_destroy (&reply);
    ASK ("instance.show", "id", instance);
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "archive_sha256"), sha);
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "archive_size"), "12");
    norc_msg_destroy (&reply);
    ASK ("daemon.show", "id", daemon); norc_msg_destroy (&reply);
    ASK ("status.executors", "since", "all"); norc_msg_destroy (&reply);
    ASK ("status.schedulers", "since", "all"); norc_msg_destroy (&reply);
    ASK ("status.bridges", "since", "all"); norc_msg_destroy (&reply);
    ASK ("status.archivers", "since", "all"); norc_msg_destroy (&reply);
    ASK ("control", "request", "pause", "daemon", daemon); norc_msg_destroy (&reply);
    //  Keys: one added, one that knocked and is accepted, one rejected
    char pub [41], secret [41], fp [41];
    cr_assert_eq (zmq_curve_keypair (pub, secret), 0);
    ASK ("keys.add", "name", "alice", "key", pub, "roles", "viewer"); norc_msg_destroy (&reply);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq (zmq_curve_keypair (pub, secret), 0);
        cr_assert (norc_key_fingerprint (pub, fp));
        cr_assert_eq (norc_store_principal_knock (s_db, pub, fp, "tcp://10.0.0.1"), NORC_OK);
        if (i == 0)
            ASK ("keys.accept", "ref", fp, "name", "bob", "roles", "operator");
        else
            ASK ("keys.reject", "ref", fp);
        norc_msg_destroy (&reply);
    }
    ASK ("keys.pending"); norc_msg_destroy (&reply);
    ASK ("keys.token", "name", "exec-9", "roles", "executor"); norc_msg_destroy (&reply);
    ASK ("keys.list"); norc_msg_destroy (&reply);
    ASK ("keys.revoke", "ref", "alice"); norc_msg_destroy (&reply);
    ASK ("token.add", "name", "ci", "roles", "viewer");
    cr_expect_eq (strncmp (s_cell (&reply->api_reply.rows, 0, "token"), "norc_", 5), 0);
    norc_msg_destroy (&reply);
    ASK ("token.list"); norc_msg_destroy (&reply);
    ASK ("token.revoke", "ref", "ci"); norc_msg_destroy (&reply);
    ASK ("user.add", "name", "ada", "password", "correct horse battery", "roles", "operator");
    norc_msg_destroy (&reply);
    ASK ("user.list"); norc_msg_destroy (&reply);
    ASK ("session.open", "name", "ada", "password", "correct horse battery"); norc_msg_destroy (&reply);
    ASK ("user.rm", "name", "ada"); norc_msg_destroy (&reply);
    ASK ("whoami"); norc_msg_destroy (&reply);
    ASK ("audit.list"); norc_msg_destroy (&reply);
    ASK ("audit.verify"); norc_msg_destroy (&reply);
    ASK ("schedule.rm", "id", schedule); norc_msg_destroy (&reply);
    ASK ("queue.rm", "name", "Spare"); norc_msg_destroy (&reply);
    ASK ("task.add", "name", "Gone", "command", "true"); norc_msg_destroy (&reply);
    ASK ("task.rm", "name", "Gone"); norc_msg_destroy (&reply);
    (void) id;
#undef ASK
#undef FIRST_ID
#undef reply_op_name
    for (size_t i = 0; i < sizeof elsewhere / sizeof elsewhere [0]; i++)
        zhashx_update (asked, elsewhere [i], (void *) 1);
    for (size_t i = 0; norc_api_op_at (i); i++)
        cr_expect_not_null (zhashx_lookup (asked, norc_api_op_at (i)->name), "%s is not asked here",
                            norc_api_op_at (i)->name);
    zhashx_destroy (&asked);
}

//  A request with a credential is authorised and audited as the
//  credential's principal, with its roles: a viewer token reads and is
//  denied a change; a token unknown, revoked or expired is refused as not
//  authenticated (-6), a code apart from a denial (-5).
static norc_msg_t *
s_call_as (const char *credential, const char *op, const char *key, const char *value)
{
    norc_msg_t *request = norc_msg_new (NORC_MSG_API_REQUEST);
    request->api_request.request_id = 7;
    request->api_request.op = norc_strdup (op);
    request->api_request.credential = norc_strdup (credential);
    if (key)
        norc_strmap_set (&request->api_request.args, key, value);
    norc_msg_t *reply = norc_msg_new (NORC_MSG_API_REPLY);
    agg_api_handle (&s_api, &request->api_request, &reply->api_reply);
    for (size_t r = 0; reply->api_reply.code == NORC_OK && r < reply->api_reply.rows.count; r++) {
        char why [256];
        cr_expect (norc_api_row_check (norc_api_op (op), &reply->api_reply.rows.rows [r], why, sizeof why), "%s", why);
    }
    norc_msg_destroy (&request);
    return reply;
}

Test (agg_api, a_credential_acts_with_its_tokens_roles_and_a_dead_one_is_not_authenticated)
{
    norc_msg_t *reply = s_call ("token.add", "name", "reader", "roles", "viewer", NULL);
    cr_assert_eq (reply->api_reply.code, NORC_OK, "%s", reply->api_reply.error);
    char *token = norc_strdup (s_cell (&reply->api_reply.rows, 0, "token"));
    norc_msg_destroy (&reply);
    reply = s_call_as (token, "whoami", NULL, NULL);
    cr_expect_eq (reply->api_reply.code, NORC_OK, "%s", reply->api_reply.error);
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "name"), "reader");
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "roles"), "viewer");
    norc_msg_destroy (&reply);
    reply = s_call_as (token, "task.list", NULL, NULL);
    cr_expect_eq (reply->api_reply.code, NORC_OK, "%s", reply->api_reply.error);
    norc_msg_destroy (&reply);
    s_refused (NORC_CONFLICT, "not a session", s_call_as (token, "session.close", NULL, NULL));
    reply = s_call_as (token, "whoami", NULL, NULL);
    cr_expect_eq (reply->api_reply.code, NORC_OK, "a logout with an API token leaves it alive: %s", reply->api_reply.error);
    norc_msg_destroy (&reply);
    s_refused (NORC_DENIED, "denied: reader may not queue.add", s_call_as (token, "queue.add", "name", "Q"));
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE principal = 'reader' AND "
                                          "verb = 'queue.add' AND outcome = 2"), 1, "the denial is audited as the token's");
    s_refused (NORC_UNAUTHENTICATED, "not valid", s_call_as ("norc_nonsense", "whoami", NULL, NULL));
    reply = s_call ("token.revoke", "ref", "reader", NULL);
    cr_expect_eq (reply->api_reply.code, NORC_OK, "%s", reply->api_reply.error);
    norc_msg_destroy (&reply);
    s_refused (NORC_UNAUTHENTICATED, "not valid", s_call_as (token, "whoami", NULL, NULL));
    //  Expired
    reply = s_call ("token.add", "name", "brief", "roles", "admin", "expires", "1", NULL);
    char *brief = norc_strdup (s_cell (&reply->api_reply.rows, 0, "token"));
    norc_msg_destroy (&reply);
    norc_test_db_exec (s_db, "UPDATE api_token SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND "
                             "WHERE name = 'brief'");
    s_refused (NORC_UNAUTHENTICATED, "not valid", s_call_as (brief, "whoami", NULL, NULL));
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM api_token WHERE secret_hash LIKE 'norc_%'"), 0,
                  "only hashes are kept");
    free (brief);
    free (token);
}

//  A local user logs in (session.open): a session is a credential with the
//  user's roles, until it is closed; a wrong password is refused as not
//  authenticated, the same for a name that does not exist, and five in a
//  row lock the user out.
Test (agg_api, a_login_opens_a_session_with_the_users_roles_and_failures_lock_it_out)
{
    CALL_OK ("user.add", "name", "ada", "password", "correct horse battery", "roles", "viewer");
    s_refused (NORC_ERROR, "12 characters at least",
               s_call ("user.add", "name", "bob", "password", "short", "roles", "viewer", NULL));
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM web_user WHERE password_hash LIKE '$argon2id$%'"), 1,
                  "an Argon2id hash, never the password");
    norc_msg_t *reply = s_call ("session.open", "name", "ada", "password", "correct horse battery", NULL);
    cr_assert_eq (reply->api_reply.code, NORC_OK, "%s", reply->api_reply.error);
    char *session = norc_strdup (s_cell (&reply->api_reply.rows, 0, "token"));
    norc_msg_destroy (&reply);
    reply = s_call_as (session, "whoami", NULL, NULL);
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "name"), "ada");
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "roles"), "viewer");
    norc_msg_destroy (&reply);
    s_refused (NORC_DENIED, "may not run", s_call_as (session, "run", "task", "T"));
    reply = s_call_as (session, "session.close", NULL, NULL);
    cr_expect_eq (reply->api_reply.code, NORC_OK, "%s", reply->api_reply.error);
    cr_expect_str_eq (s_cell (&reply->api_reply.rows, 0, "closed"), "1");
    norc_msg_destroy (&reply);
    s_refused (NORC_UNAUTHENTICATED, "not valid", s_call_as (session, "whoami", NULL, NULL));
    free (session);
    //  Wrong passwords, and a name that does not exist: the same refusal
    s_refused (NORC_UNAUTHENTICATED, "wrong name or password",
               s_call ("session.open", "name", "nobody", "password", "correct horse battery", NULL));
    for (int i = 0; i < 5; i++)
        s_refused (NORC_UNAUTHENTICATED, "wrong name or password",
                   s_call ("session.open", "name", "ada", "password", "wrong horse", NULL));
    s_refused (NORC_DENIED, "locked out",
               s_call ("session.open", "name", "ada", "password", "correct horse battery", NULL));
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE verb = 'session.open' AND outcome = 3"), 6,
                  "every failed login is audited");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM audit WHERE verb = 'session.open' AND outcome = 2"), 1,
                  "and the one refused while locked out");
}
