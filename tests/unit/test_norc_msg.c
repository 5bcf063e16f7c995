//  Unit tests: the generated codec. Every message round-trips; hostile frames
//  decode to a clean error; unknown keys are ignored; missing keys default.
#include <criterion/criterion.h>
#include "norc_msg.h"
#include "norc_zmq.h"
#include "norc_mem.h"
#include "norc_log.h"
#include "proto_cases.inc"

#define N_CASES (sizeof (s_proto_case_ids) / sizeof (s_proto_case_ids [0]))

static norc_msg_t *
s_case (int id)
{
    norc_msg_t *msg = norc_msg_new (id);
    s_proto_case_fill (msg);
    return msg;
}

static norc_buf_t *
s_encode (const norc_msg_t *msg)
{
    norc_buf_t *buf = norc_buf_new (NORC_MSG_MAX);
    cr_assert_eq (norc_msg_encode (msg, buf), NORC_OK, "encode %s", norc_msg_name (msg));
    return buf;
}

//  A frame built by hand: a map with the given number of entries; the caller
//  writes them.
static norc_writer_t *
s_frame (norc_buf_t *buf, uint32_t entries, const char *type)
{
    norc_writer_t *w = norc_writer_new (buf);
    norc_writer_map (w, entries);
    if (type) {
        norc_writer_str (w, "type");
        norc_writer_str (w, type);
    }
    return w;
}

static norc_msg_t *
s_decode (norc_buf_t *buf, const char **why)
{
    *why = NULL;
    return norc_msg_decode (norc_buf_data (buf), norc_buf_size (buf), why);
}

Test (norc_msg, every_message_round_trips)
{
    cr_expect_geq (N_CASES, 20);
    for (size_t i = 0; i < N_CASES; i++) {
        norc_msg_t *msg = s_case (s_proto_case_ids [i]);
        norc_buf_t *buf = s_encode (msg);
        const char *why;
        norc_msg_t *copy = s_decode (buf, &why);
        cr_assert_not_null (copy, "%s: %s", norc_msg_name (msg), why);
        cr_expect (norc_msg_equal (msg, copy), "%s differs after decode", norc_msg_name (msg));
        //  And an empty message of the same id differs from the filled one
        norc_msg_t *empty = norc_msg_new (msg->id);
        cr_expect (!norc_msg_equal (msg, empty), "%s: equal() sees no field", norc_msg_name (msg));
        norc_msg_destroy (&empty);
        norc_msg_destroy (&copy);
        norc_msg_destroy (&msg);
        norc_buf_destroy (&buf);
    }
}

Test (norc_msg, names_and_ids)
{
    cr_expect_str_eq (norc_msg_id_name (NORC_MSG_INSTANCE_ENDED), "INSTANCE-ENDED");
    cr_expect_eq (norc_msg_id_of ("ASSIGN", 6), NORC_MSG_ASSIGN);
    cr_expect_eq (norc_msg_id_of ("ASSIGNX", 7), -1);
    cr_expect_str_eq (norc_msg_id_name (9999), "?");
}

Test (norc_msg, every_truncation_is_a_clean_error)
{
    for (size_t i = 0; i < N_CASES; i++) {
        norc_msg_t *msg = s_case (s_proto_case_ids [i]);
        norc_buf_t *buf = s_encode (msg);
        for (size_t len = 0; len < norc_buf_size (buf); len++) {
            //  Copy to a block of exactly len bytes so ASan sees any overread
            uint8_t *part = (uint8_t *) norc_malloc (len);
            memcpy (part, norc_buf_data (buf), len);
            const char *why = NULL;
            norc_msg_t *bad = norc_msg_decode (part, len, &why);
            cr_expect_null (bad, "%s cut at %zu decoded", norc_msg_name (msg), len);
            cr_expect_not_null (why);
            norc_msg_destroy (&bad);
            free (part);
        }
        norc_msg_destroy (&msg);
        norc_buf_destroy (&buf);
    }
}

Test (norc_msg, unknown_keys_are_ignored_and_missing_keys_default)
{
    norc_buf_t *buf = norc_buf_new (4096);
    norc_writer_t *w = s_frame (buf, 5, "CREDIT");
    norc_writer_str (w, "future_key");
    norc_writer_map (w, 1);                 //  nested unknown value
    norc_writer_str (w, "a");
    norc_writer_array (w, 2);
    norc_writer_u64 (w, 1);
    norc_writer_bin (w, "xy", 2);
    norc_writer_str (w, "credits");
    norc_writer_i64 (w, 3);
    norc_writer_str (w, "v");
    norc_writer_u64 (w, 7);                 //  a newer version still decodes
    norc_writer_str (w, "executor_id");
    norc_writer_u64 (w, 0);
    const char *why;
    norc_msg_t *msg = s_decode (buf, &why);
    cr_assert_not_null (msg, "%s", why);
    cr_expect_eq (msg->id, NORC_MSG_CREDIT);
    cr_expect_eq (msg->credit.credits, 3);
    cr_expect_eq (msg->credit.executor_id, 0);
    norc_msg_destroy (&msg);
    norc_writer_destroy (&w);

    //  Only the type: every field takes its default; nil means default too
    norc_buf_reset (buf);
    w = s_frame (buf, 2, "ASSIGN");
    norc_writer_str (w, "command");
    cr_assert_eq (norc_buf_append (buf, "\xc0", 1), NORC_OK);
    msg = s_decode (buf, &why);
    cr_assert_not_null (msg, "%s", why);
    cr_expect_null (msg->assign.command);
    cr_expect_eq (msg->assign.env.count, 0);
    cr_expect_eq (msg->assign.timeout_s, 0);
    norc_msg_destroy (&msg);
    norc_writer_destroy (&w);
    norc_buf_destroy (&buf);
}

//  Each hostile frame, and the reason we expect.
Test (norc_msg, hostile_frames_are_rejected_with_a_reason)
{
    norc_buf_t *buf = norc_buf_new (NORC_MSG_MAX);
    const char *why;
    norc_writer_t *w;

    //  Not a map
    w = norc_writer_new (buf);
    norc_writer_array (w, 0);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "expected a map");
    norc_writer_destroy (&w);

    //  No type
    norc_buf_reset (buf);
    w = s_frame (buf, 1, NULL);
    norc_writer_str (w, "v");
    norc_writer_u64 (w, 1);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "no type key");
    norc_writer_destroy (&w);

    //  Unknown type
    norc_buf_reset (buf);
    w = s_frame (buf, 1, "LAUNCH-MISSILES");
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "unknown message type");
    norc_writer_destroy (&w);

    //  Type of the wrong msgpack type
    norc_buf_reset (buf);
    w = norc_writer_new (buf);
    norc_writer_map (w, 1);
    norc_writer_str (w, "type");
    norc_writer_u64 (w, 3);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "expected a string");
    norc_writer_destroy (&w);

    //  Version 0
    norc_buf_reset (buf);
    w = s_frame (buf, 2, "ACK");
    norc_writer_str (w, "v");
    norc_writer_u64 (w, 0);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "protocol version 0");
    norc_writer_destroy (&w);

    //  Wrong type for a known key
    norc_buf_reset (buf);
    w = s_frame (buf, 2, "ACK");
    norc_writer_str (w, "seq");
    norc_writer_str (w, "12");
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "expected an integer");
    norc_writer_destroy (&w);

    //  Negative for unsigned, out of range for i32
    norc_buf_reset (buf);
    w = s_frame (buf, 2, "ACK");
    norc_writer_str (w, "seq");
    norc_writer_i64 (w, -5);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "negative value for an unsigned field");
    norc_writer_destroy (&w);
    norc_buf_reset (buf);
    w = s_frame (buf, 2, "CREDIT");
    norc_writer_str (w, "credits");
    norc_writer_i64 (w, INT64_C (1) << 40);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "integer out of range");
    norc_writer_destroy (&w);

    //  A string over its limit (host: 255 bytes)
    norc_buf_reset (buf);
    w = s_frame (buf, 2, "HELLO");
    norc_writer_str (w, "host");
    char big [300];
    memset (big, 'h', sizeof big - 1);
    big [sizeof big - 1] = 0;
    norc_writer_str (w, big);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "string over its size limit");
    norc_writer_destroy (&w);

    //  A string with a NUL byte
    norc_buf_reset (buf);
    norc_buf_append (buf, "\x82\xa4type\xa7RELEASE\xa6reason\xa3" "a\0b", 25);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "string holds a NUL byte");

    //  A container over its entry limit (env: 1024 entries)
    norc_buf_reset (buf);
    w = s_frame (buf, 2, "ASSIGN");
    norc_writer_str (w, "env");
    norc_writer_map (w, 1100);
    for (int i = 0; i < 1100; i++) {
        char key [16];
        snprintf (key, sizeof key, "K%d", i);
        norc_writer_str (w, key);
        norc_writer_str (w, "v");
    }
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "map over its entry limit");
    norc_writer_destroy (&w);

    //  A declared length far beyond the frame: nothing is allocated for it
    norc_buf_reset (buf);
    norc_buf_append (buf, "\x82\xa4type\xa5HELLO\xa7running\xdd\xff\xff\xff\xff", 25);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "array longer than the frame");
    norc_buf_reset (buf);
    norc_buf_append (buf, "\xdf\xff\xff\xff\xff", 5);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "map longer than the frame");
    norc_buf_reset (buf);
    norc_buf_append (buf, "\x81\xa4type\xdb\x7f\xff\xff\xff", 11);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "string longer than the frame");

    //  Deep nesting under an unknown key
    norc_buf_reset (buf);
    w = s_frame (buf, 2, "ACK");
    norc_writer_str (w, "deep");
    for (int i = 0; i < 100; i++)
        norc_writer_array (w, 1);
    norc_writer_u64 (w, 1);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "nested too deeply");
    norc_writer_destroy (&w);

    //  Trailing bytes after the map
    norc_buf_reset (buf);
    w = s_frame (buf, 1, "ACK");
    norc_writer_u64 (w, 1);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "bytes after the message");
    norc_writer_destroy (&w);

    //  An invalid msgpack byte
    norc_buf_reset (buf);
    norc_buf_append (buf, "\x82\xa4type\xa3" "ACK\xa1x\xc1", 13);
    cr_expect_null (s_decode (buf, &why));
    cr_expect_str_eq (why, "invalid msgpack byte");

    //  Empty frame
    cr_expect_null (norc_msg_decode ((const uint8_t *) "", 0, &why));
    cr_expect_str_eq (why, "truncated");
    norc_buf_destroy (&buf);
}

Test (norc_msg, encode_fails_cleanly_past_the_cap)
{
    norc_msg_t *msg = s_case (NORC_MSG_ASSIGN);
    norc_buf_t *small = norc_buf_new (16);
    cr_expect_eq (norc_msg_encode (msg, small), NORC_ERROR);
    norc_buf_destroy (&small);
    norc_msg_destroy (&msg);
}

Test (norc_msg, travels_over_real_sockets_with_routing_and_topics)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    zsock_t *router = zsock_new_router ("inproc://codec-router");
    zsock_t *dealer = zsock_new_dealer (">inproc://codec-router");
    cr_assert_not_null (router);
    cr_assert_not_null (dealer);
    norc_msg_t *msg = s_case (NORC_MSG_HELLO);
    norc_msg_t *copy = s_case (NORC_MSG_HELLO);
    cr_assert_eq (norc_msg_send (&msg, dealer), NORC_OK);
    cr_expect_null (msg);
    norc_msg_t *got = norc_msg_recv (router);
    cr_assert_not_null (got);
    cr_expect (norc_msg_equal (got, copy));
    cr_assert_not_null (got->routing_id);
    //  Reply through the routing id
    norc_msg_t *ack = norc_msg_new (NORC_MSG_ACK);
    ack->ack.seq = 99;
    norc_msg_set_routing_id (ack, got->routing_id);
    cr_assert_eq (norc_msg_send (&ack, router), NORC_OK);
    norc_msg_t *reply = norc_msg_recv (dealer);
    cr_assert_not_null (reply);
    cr_expect_eq (reply->id, NORC_MSG_ACK);
    cr_expect_eq (reply->ack.seq, 99);
    //  A malformed frame is dropped and the socket keeps working
    zstr_send (dealer, "not msgpack");
    cr_expect_null (norc_msg_recv (router));
    zstr_sendm (dealer, "a");
    zstr_sendm (dealer, "b");
    zstr_send (dealer, "c");
    cr_expect_null (norc_msg_recv (router));
    norc_msg_t *again = s_case (NORC_MSG_CREDIT);
    norc_msg_send (&again, dealer);
    norc_msg_t *got2 = norc_msg_recv (router);
    cr_assert_not_null (got2);
    cr_expect_eq (got2->id, NORC_MSG_CREDIT);
    //  PUB/SUB with a topic frame
    zsock_t *pub = zsock_new_pub ("inproc://codec-pub");
    zsock_t *sub = zsock_new_sub (">inproc://codec-pub", "instance.");
    zclock_sleep (50);
    norc_msg_t *event = s_case (NORC_MSG_EVENT);
    norc_msg_publish (&event, pub, "instance.ended");
    zsock_set_rcvtimeo (sub, 2000);
    norc_msg_t *seen = norc_msg_recv (sub);
    cr_assert_not_null (seen);
    cr_expect_eq (seen->id, NORC_MSG_EVENT);
    char *topic = zframe_strdup (seen->routing_id);
    cr_expect_str_eq (topic, "instance.ended");
    free (topic);
    norc_msg_destroy (&seen);
    zsock_destroy (&sub);
    zsock_destroy (&pub);
    norc_msg_destroy (&got2);
    norc_msg_destroy (&reply);
    norc_msg_destroy (&got);
    norc_msg_destroy (&copy);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
}

//  Every socket takes the largest message: its frame limit is above it
Test (norc_msg, the_sockets_frame_limit_holds_the_largest_message)
{
    cr_expect_geq ((long long) NORC_ZMQ_MAXMSGSIZE, (long long) NORC_MSG_MAX + 1024);
}
