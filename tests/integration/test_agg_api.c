//  The status-aggregator's API as a part, in one process: agg_api_handle
//  against the real database, with its change notifications published on
//  a publisher bound to inproc:// and read back by a SUB, as the scheduler reads
//  them. A fault in an operation shows here, in a fraction of a second,
//  before any service binary is started.
#include "store_fixture.h"
#include "agg_api.h"
#include "norc_msg.h"

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
    norc_msg_destroy (&request);
    cr_assert_eq (reply->api_reply.request_id, 7, "the reply answers its request");
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
